//! `goready probe`: start the service the way it will run, prove its pprof wiring works and
//! is not exposed, read its heap and limits, stop it — leaving no process behind.
//!
//! Facts and judging are apart: `service` starts/watches/stops, `exposure` and `procs` read
//! /proc, `pprof` and `http` talk to the endpoints, `gctrace`, `memlimit` and `load` gather
//! numbers, `run` puts one probe together into [`run::ProbeFacts`], and `rules` turns those
//! into checks of the `runtime` suite.

pub mod exposure;
pub mod gctrace;
pub mod http;
pub mod load;
pub mod memlimit;
pub mod pprof;
pub mod procs;
pub mod rules;
pub mod run;
pub mod service;
pub mod text;
