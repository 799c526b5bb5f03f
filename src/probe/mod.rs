//! `goready probe` and `goready pprof`: start the service the way it will run, prove its
//! pprof wiring works and is not exposed, read its heap, limits and allocation profile, stop
//! it — leaving no process behind; and the same profile analysis offline.
//!
//! Facts and judging are apart: `service` starts/watches/stops, `exposure` and `procs` read
//! /proc, `pprof` talks to the endpoints (over `crate::http`), `gctrace`, `memlimit` and `load` gather
//! numbers, `run` puts one probe together into [`run::ProbeFacts`], `rules` turns those
//! into checks of the `runtime` suite, and `allocs` judges the scraped allocation profile
//! with the offline code below (Unix only: process groups, /proc).
//!
//! Profiles (every platform): `profile` decodes profile.proto, `top` ranks it like
//! `go tool pprof -top`, `regression` compares two profiles, `flame` draws them,
//! `profile_rules` turns them into `runtime.allocs`/`runtime.alloc_regression`, and
//! `offline` is `goready pprof`.

#[cfg(unix)]
pub mod allocs;
#[cfg(unix)]
pub mod exposure;
#[cfg(unix)]
pub mod gctrace;
#[cfg(unix)]
pub mod load;
#[cfg(unix)]
pub mod memlimit;
#[cfg(unix)]
pub mod pprof;
#[cfg(unix)]
pub mod procs;
#[cfg(unix)]
pub mod rules;
#[cfg(unix)]
pub mod run;
#[cfg(unix)]
pub mod service;
#[cfg(unix)]
pub mod text;

pub mod flame;
pub mod offline;
pub mod profile;
pub mod profile_rules;
pub mod regression;
pub mod top;
pub mod units;

pub use profile::{ParseOptions, Profile, ProfileError, ValueType};
pub use top::{Top, TopOptions, TopRow};
