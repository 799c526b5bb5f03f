//! `goready probe`: start the service the way it will run, prove its pprof wiring works and
//! is not exposed, read its heap, limits and allocation profile, stop it — leaving no
//! process behind.
//!
//! Facts and judging are apart: `service` starts/watches/stops, `exposure` and `procs` read
//! /proc, `endpoints` finds and scrapes the pprof endpoints (over `crate::http`), `gctrace`, `memlimit` and `load` gather
//! numbers, `gather` puts one probe together into [`gather::ProbeFacts`], `rules` turns those
//! into checks of the `runtime` suite, and `allocs` judges the scraped allocation profile
//! with [`crate::pprof`]; `command` is the front door of `goready probe` (Unix only:
//! process groups, /proc). Under sustained load: `soak` keeps the `--load` going in rounds
//! and `soak_rules` judges its series (goroutine leaks, heap growth), `drain` stops the
//! service with requests in flight, `cpu` ranks the CPU, mutex and block profiles,
//! `goroutines` reads goroutine dumps, `crate::human` draws the series; `live` is their one door to
//! the HTTP layer.

#[cfg(unix)]
pub mod allocs;
#[cfg(unix)]
pub mod command;
#[cfg(unix)]
pub mod cpu;
#[cfg(unix)]
pub mod drain;
#[cfg(unix)]
pub mod endpoints;
#[cfg(unix)]
pub mod exposure;
#[cfg(unix)]
pub mod facts_text;
#[cfg(unix)]
pub mod gctrace;
#[cfg(unix)]
pub mod goroutines;
#[cfg(unix)]
pub mod live;
#[cfg(unix)]
pub mod load;
#[cfg(unix)]
pub mod memlimit;
#[cfg(unix)]
pub use crate::process::procs;
#[cfg(unix)]
pub mod gather;
#[cfg(unix)]
pub mod rules;
#[cfg(unix)]
pub mod service;
#[cfg(unix)]
pub mod soak;
#[cfg(unix)]
pub mod soak_rules;
