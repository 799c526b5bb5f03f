//! `--soak DURATION`: after the first `--load`, the same traffic again in rounds until the
//! duration is spent. After each round a forced GC (`heap?gc=1`), then HeapInuse and the
//! goroutine count are read; round 0 is the state right after the first load. Once the
//! rounds end, a settle period, then the goroutine dump and the heap profile are read again
//! so `runtime.goroutine_leak` and `runtime.heap_growth` can name what grew. A service that
//! dies mid-soak ends it at once. Facts only; `soak_rules` judges them.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::gather::LoadPlan;
use super::goroutines::{self, Dump, Growth};
use super::live::Admin;
use super::service::{ExitFacts, Service};
use crate::cancel::Cancel;
use crate::http::Endpoint;
use crate::progress::Say;

pub use crate::model::data::Round;

/// What `--soak` asks for.
#[derive(Debug, Clone, Copy)]
pub struct SoakPlan {
    /// `--soak`: how long to keep the load going.
    pub duration: Duration,
    /// `--settle`: how long goroutines get to finish after the load stops.
    pub settle: Duration,
}

/// The service ended during the soak.
#[derive(Debug, Clone, Serialize)]
pub struct DiedInSoak {
    /// In which round (0: while the settle period ran).
    pub round: u32,
    /// How it ended.
    pub exit: ExitFacts,
    /// The last lines it printed.
    pub output_tail: String,
}

/// Everything a soak observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SoakFacts {
    /// `--soak` in ms.
    pub duration_ms: u64,
    /// `--settle` in ms.
    pub settle_ms: u64,
    /// The readings, round 0 first.
    pub rounds: Vec<Round>,
    /// Goroutines once the settle period was over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_goroutines: Option<u64>,
    /// Stacks with more goroutines after the settle period than after the first load.
    pub grown_stacks: Vec<Growth>,
    /// Requests of the soak rounds that did not get a 2xx.
    pub failed_requests: u64,
    /// The first reason a request failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
    /// Readings that could not be taken.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scrape_errors: Vec<String>,
    /// The service exited mid-soak.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub died: Option<DiedInSoak>,
    /// goready was interrupted (Ctrl-C, SIGTERM) mid-soak.
    pub interrupted: bool,
    /// The heap profile (inuse_space) after round 0 and after the settle period, as served.
    #[serde(skip)]
    pub heap_first: Option<Vec<u8>>,
    /// See `heap_first`.
    #[serde(skip)]
    pub heap_last: Option<Vec<u8>>,
}

/// `goroutine profile: total 12` → 12.
fn goroutine_total(text: &str) -> Option<u64> {
    text.lines()
        .next()?
        .strip_prefix("goroutine profile: total ")?
        .trim()
        .parse()
        .ok()
}

fn reading(admin: &Admin<'_>) -> Result<(u64, u64), String> {
    let heap = admin.memstats()?.heap_inuse;
    let text = admin.text("goroutine?debug=1", Duration::from_secs(20))?;
    let total = goroutine_total(&text)
        .ok_or_else(|| "goroutine?debug=1: no `goroutine profile: total N` line".to_string())?;
    Ok((heap, total))
}

fn dump(admin: &Admin<'_>, facts: &mut SoakFacts) -> Option<Dump> {
    match admin.text("goroutine?debug=2", Duration::from_secs(30)) {
        Ok(t) => Some(goroutines::parse(&t)),
        Err(e) => {
            facts.scrape_errors.push(e);
            None
        }
    }
}

fn heap_profile(admin: &Admin<'_>, facts: &mut SoakFacts) -> Option<Vec<u8>> {
    match admin.profile("heap", Duration::from_secs(30)) {
        Ok(b) => Some(b),
        Err(e) => {
            facts.scrape_errors.push(e);
            None
        }
    }
}

/// Reports a dead service at once (a warning) and records it.
fn died(svc: &mut Service, round: u32, facts: &mut SoakFacts, say: Say<'_>) -> bool {
    let Some(status) = svc.poll_exit() else {
        return false;
    };
    let exit: ExitFacts = status.into();
    let tail = svc.output_tail(20);
    say.warn(format!(
        "the service exited ({}) during soak round {round}{}",
        exit.description,
        if tail.trim().is_empty() {
            String::new()
        } else {
            format!("; last output:\n{tail}")
        }
    ));
    facts.died = Some(DiedInSoak {
        round,
        exit,
        output_tail: tail,
    });
    true
}

/// Runs the soak. `first` is the first load's request count (already sent). A cancelled
/// token ends it between rounds (`interrupted`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    svc: &mut Service,
    admin: &Admin<'_>,
    main: &Endpoint,
    load: &LoadPlan,
    plan: &SoakPlan,
    first: u64,
    say: Say<'_>,
    cancel: &Cancel,
) -> SoakFacts {
    let mut facts = SoakFacts {
        duration_ms: plan.duration.as_millis() as u64,
        settle_ms: plan.settle.as_millis() as u64,
        ..SoakFacts::default()
    };
    let started = Instant::now();
    let mut requests = first;
    let before = dump(admin, &mut facts);
    match reading(admin) {
        Ok((heap_inuse, goroutines)) => facts.rounds.push(Round {
            round: 0,
            at_ms: 0,
            requests,
            ok: 0,
            heap_inuse,
            goroutines,
        }),
        Err(e) => {
            facts.scrape_errors.push(e);
            return facts;
        }
    }
    facts.heap_first = heap_profile(admin, &mut facts);
    let mut round = 0u32;
    while started.elapsed() < plan.duration {
        if cancel.is_cancelled() {
            facts.interrupted = true;
            return facts;
        }
        round += 1;
        let left = plan.duration.saturating_sub(started.elapsed());
        // A round may not outlast the soak by much: its time limit is what is left, at
        // least a second so a slow round still finishes its requests.
        let stats = super::load::run(
            main,
            &load.spec,
            load.requests,
            load.concurrency,
            left.max(Duration::from_secs(1)).min(load.limit),
            load.rate,
            cancel,
        );
        requests += stats.answered + stats.errors;
        let failed = (stats.answered + stats.errors).saturating_sub(stats.ok);
        facts.failed_requests += failed;
        if failed > 0 && facts.first_failure.is_none() {
            facts.first_failure = stats.first_error.clone().or_else(|| {
                stats
                    .statuses
                    .iter()
                    .find(|(s, _)| !(200..300).contains(*s))
                    .map(|(s, n)| format!("{n} × {s}"))
            });
        }
        if died(svc, round, &mut facts, say) {
            return facts;
        }
        match reading(admin) {
            Ok((heap_inuse, goroutines)) => facts.rounds.push(Round {
                round,
                at_ms: started.elapsed().as_millis() as u64,
                requests,
                ok: stats.ok,
                heap_inuse,
                goroutines,
            }),
            Err(e) => {
                // The reading failed: if the service died meanwhile, say that instead.
                if died(svc, round, &mut facts, say) {
                    return facts;
                }
                facts.scrape_errors.push(e);
            }
        }
    }
    let settle_until = Instant::now() + plan.settle;
    while Instant::now() < settle_until {
        if died(svc, round, &mut facts, say) {
            return facts;
        }
        std::thread::sleep(Duration::from_millis(50).min(plan.settle));
    }
    if let (Some(before), Some(after)) = (before, dump(admin, &mut facts)) {
        facts.settled_goroutines = Some(after.total());
        facts.grown_stacks = goroutines::grown(&before, &after);
        facts.grown_stacks.truncate(10);
    }
    // The heap profile shows the state of the last GC: force one first.
    if let Err(e) = admin.memstats() {
        facts.scrape_errors.push(e);
    }
    facts.heap_last = heap_profile(admin, &mut facts);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_goroutine_total() {
        assert_eq!(
            goroutine_total("goroutine profile: total 1842\n3 @ 0x1\n"),
            Some(1842)
        );
        assert_eq!(goroutine_total("<html>"), None);
        assert_eq!(goroutine_total(""), None);
    }
}
