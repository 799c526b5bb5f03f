//! pprof profiles, read and analysed the way `go tool pprof` does: used by `goready probe`
//! on a live scrape, by `goready pprof` on saved files, by `goready test --memprofile` on
//! each package's profile, and by the fuzz target.
//!
//! `profile` is the decoded, validated [`Profile`] and its queries: `decode` reads it from
//! the bytes into the `samples` storage, `validate` checks it, `drop_frames` prunes it, and
//! `proto` is the profile.proto schema. `top` ranks it like `go tool pprof -top` (with
//! `units` for pprof's number formatting), `regression` compares two profiles' site shares (judged by `stats`),
//! `flame` draws them, `profile_rules` turns them into `runtime.allocs` and
//! `runtime.alloc_regression` checks, and `command` is `goready pprof`.
//! Every platform: nothing here needs a process or /proc.

pub mod command;
mod decode;
mod drop_frames;
pub mod flame;
pub mod profile;
pub mod profile_rules;
pub mod proto;
pub mod regression;
#[cfg(test)]
pub(crate) mod sample_profiles;
mod samples;
pub mod stats;
pub mod top;
pub mod units;
mod validate;

pub use decode::gunzip_into;
pub use profile::{ParseOptions, Profile, ProfileError, ValueType};
pub use top::{Top, TopOptions, TopRow};
