//! `goready probe` and `goready pprof`: the running service's runtime, and the pprof
//! profiles it serves. `profile` decodes profile.proto, `top` ranks it like
//! `go tool pprof -top`, `regression` compares two profiles, `flame` draws them, and
//! `profile_rules` turns the facts into `runtime.*` checks.

pub mod flame;
pub mod offline;
pub mod profile;
pub mod profile_rules;
pub mod regression;
pub mod top;
pub mod units;

pub use profile::{ParseOptions, Profile, ProfileError, ValueType};
pub use top::{Top, TopOptions, TopRow};
