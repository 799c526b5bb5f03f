//! goready: tells a Go team, in CI, whether its service is production-ready — and exactly
//! why not. The binary (`src/main.rs`) is a thin CLI over these modules; ARCHITECTURE.md is the map.

pub mod build;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod duration;
pub mod env;
pub mod gotest;
pub mod gotool;
pub mod http;
pub mod human;
pub mod image;
pub mod inspect;
pub mod model;
pub mod plan;
pub mod pool;
pub mod pprof;
pub mod probe;
pub mod process;
pub mod progress;
pub mod registry;
pub mod repo;
pub mod report;
pub mod sbom;
pub mod settings;
pub mod step;
pub mod vuln;
