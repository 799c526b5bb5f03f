//! `goready probe`'s front door: [`run`] starts the service, probes it, stops it and judges
//! what it saw. It knows nothing of the command line; the CLI builds the [`Options`] and
//! prints the [`ProbeRun`].

use super::allocs::{self, AllocOptions, Allocations};
use super::gather::{self, ProbeFacts, ProbeOptions};
use super::rules::{self, RuleOptions};
use crate::cancel::Cancel;
use crate::model::Check;
use crate::progress::{Say, Sink};
use crate::step::Step;

/// What `goready probe` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// How to start the service and what to gather from it.
    pub probe: ProbeOptions,
    /// What the runtime rules judge against (`--max-heap`, `--expect-version`, …).
    pub rules: RuleOptions,
    /// The allocation rankings, the baseline they are compared with, and where the raw
    /// profiles go.
    pub allocs: AllocOptions,
}

/// One probe: the facts gathered, the allocation rankings, and every check.
#[derive(Debug)]
pub struct ProbeRun {
    /// What the service showed (a `launch_error` means it could not be probed: exit 2).
    pub facts: ProbeFacts,
    /// The scraped allocation profile, ranked and compared.
    pub allocs: Allocations,
    /// The runtime checks, then the allocation checks.
    pub checks: Vec<Check>,
}

/// Runs `goready probe`, saying what happens to `sink`. Cancelled (a signal, or past its
/// time bound), it stops the service and returns [`crate::cancel::Stopped`] (in the
/// `anyhow::Error`), since a report of a half-finished probe would only mislead.
pub fn run(opts: &Options, sink: &dyn Sink, cancel: &Cancel) -> anyhow::Result<ProbeRun> {
    let say = Say::new(Step::Probe, sink);
    let mut facts = gather::run(&opts.probe, say, cancel)?;
    let mut checks = rules::evaluate(&facts, &opts.rules);
    let allocs = allocs::evaluate(&mut facts, &opts.allocs, say);
    checks.extend(allocs.checks.iter().cloned());
    Ok(ProbeRun {
        facts,
        allocs,
        checks,
    })
}
