//! The allocation half of `goready probe`: the allocs profile the probe scraped — after any
//! `--load` and after a forced GC, so it holds that work — becomes `runtime.allocs` and, with
//! `--baseline`, `runtime.alloc_regression`; with `--artifacts`, each saved profile gets a
//! flame graph next to it. Decoding, ranking and judging are `goready pprof`'s
//! ([`super::profile_rules`]), so a probe's table is the one `go tool pprof -top` prints for
//! the saved `allocs.pb.gz`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::gather::ProbeFacts;
use crate::model::{Check, CheckData};
use crate::pprof::flame;
use crate::pprof::profile::Profile;
use crate::pprof::profile_rules::{self, PROFILER_FRAMES};
use crate::pprof::regression::Ranking;
use crate::pprof::top::Top;
use crate::progress::Say;
use crate::registry;

/// What the allocation checks of a probe were asked for.
#[derive(Debug, Clone, Default)]
pub struct AllocOptions {
    /// Rows per ranking (`go tool pprof -top -nodecount=N`; 0 for all).
    pub top: usize,
    /// `--baseline`: an earlier profile or result file to compare shares with.
    pub baseline: Option<PathBuf>,
    /// `--max-alloc-growth`, in percentage points.
    pub max_growth: f64,
    /// `--artifacts DIR`: where the raw profiles were saved, and the flame graphs go.
    pub artifacts: Option<PathBuf>,
}

/// The allocation checks of one probe, and the ranked profile behind them.
#[derive(Debug)]
pub struct Allocations {
    /// `runtime.allocs`, then any `runtime.alloc_regression` checks.
    pub checks: Vec<Check>,
    /// The allocs profile (the profiler's own samples left out) and its rankings, when it
    /// was served and decoded.
    pub ranked: Option<(Profile, Vec<Ranking>)>,
}

/// Judges the allocs profile in `facts.profiles` and, with `--artifacts`, draws a flame
/// graph per saved profile (`allocs.svg`, `heap.svg`), adding them to `facts.artifacts`.
/// Flame graphs that cannot be drawn are warnings to `say`.
pub fn evaluate(facts: &mut ProbeFacts, opts: &AllocOptions, say: Say<'_>) -> Allocations {
    let target = facts.target.clone();
    let at = |rule: &registry::Rule| Check::of(rule).target(target.clone());
    let regression_skip = |why: &str| {
        opts.baseline
            .as_ref()
            .map(|_| at(&registry::RUNTIME_ALLOC_REGRESSION).skip(why))
    };
    let nothing = |checks: Vec<Check>| Allocations {
        checks,
        ranked: None,
    };
    if !facts.ready() {
        let why = if facts.launch_error.is_some() {
            "not evaluated: the service could not be started"
        } else {
            "not evaluated: the service did not get ready"
        };
        let mut checks = vec![at(&registry::RUNTIME_ALLOCS).skip(why)];
        checks.extend(regression_skip(why));
        return nothing(checks);
    }
    let url = profile_url(facts, "allocs");
    let Some(bytes) = facts.profiles.get("allocs") else {
        let why = format!("not evaluated: {url} served no profile (see runtime.pprof_registered)");
        let mut checks = vec![at(&registry::RUNTIME_ALLOCS).skip(why.clone())];
        checks.extend(regression_skip(&why));
        return nothing(checks);
    };

    let started = Instant::now();
    let (profile, rankings) = match profile_rules::rank_allocs(bytes, opts.top) {
        Ok(r) => r,
        Err(e) => {
            let what = format!("the allocs profile {url} served ({} bytes)", bytes.len());
            let mut checks = vec![profile_rules::undecodable(&target, &format!("{what}: {e}"))];
            checks.extend(regression_skip(&format!(
                "not evaluated: {what} does not decode"
            )));
            return nothing(checks);
        }
    };
    let mut allocs = profile_rules::allocs_check(&target, &profile, &rankings);
    allocs.duration_ms = started.elapsed().as_millis() as u64;

    if let Some(dir) = &opts.artifacts {
        let index = rankings.first().map(|r| r.top.sample_index);
        if let Some(i) = index {
            draw(&profile, i, &target, "allocs", dir, facts, say);
        }
        if let Some(heap) = facts.profiles.get("heap").cloned() {
            match Profile::parse(&heap) {
                Ok(mut heap) => {
                    heap.drop_samples_with_frames(PROFILER_FRAMES);
                    match heap.sample_index(None) {
                        Ok(i) => draw(&heap, i, &target, "heap", dir, facts, say),
                        Err(e) => say.warn(format!("no flame graph of the heap profile: {e}")),
                    }
                }
                Err(e) => say.warn(format!("no flame graph of the heap profile: {e}")),
            }
        }
    }
    if let CheckData::Profile(data) = &mut allocs.data {
        data.url = Some(url.clone());
        let saved: std::collections::BTreeMap<String, String> = facts
            .artifacts
            .iter()
            .filter(|(name, _)| name.starts_with("allocs.") || name.starts_with("heap."))
            .map(|(name, path)| (name.clone(), path.clone()))
            .collect();
        data.artifacts = Some(saved).filter(|s| !s.is_empty());
    }

    let mut checks = vec![allocs];
    if let (Some(base), Some(new)) = (&opts.baseline, rankings.first()) {
        let new = &new.shares;
        match profile_rules::base_shares(base, &new.sample_type, false) {
            Ok(old) => checks.extend(profile_rules::regression_checks(
                &target,
                &old,
                new,
                opts.max_growth,
            )),
            Err(e) => checks.push(profile_rules::regression_error(
                &target,
                format!("baseline {}: {e:#}", base.display()),
            )),
        }
    }
    Allocations {
        checks,
        ranked: Some((profile, rankings)),
    }
}

/// `http://127.0.0.1:6060/debug/pprof/allocs`, or the bare path when pprof was not found.
fn profile_url(facts: &ProbeFacts, name: &str) -> String {
    match &facts.pprof {
        Some(p) => format!("{}{name}", p.url),
        None => format!("{}{name}", super::endpoints::DEFAULT_PREFIX),
    }
}

/// Writes `DIR/NAME.svg` for one sample type of a profile and records it as an artifact; a
/// flame graph that cannot be drawn is a warning, not a failed probe.
fn draw(
    profile: &Profile,
    sample_index: usize,
    target: &str,
    name: &str,
    dir: &Path,
    facts: &mut ProbeFacts,
    say: Say<'_>,
) {
    let file = format!("{name}.svg");
    let path = dir.join(&file);
    let title = format!(
        "{target}: {name} ({})",
        profile.sample_types[sample_index].ty
    );
    let mut svg = Vec::new();
    let written = flame::write_svg(profile, sample_index, &title, &mut svg)
        .and_then(|()| std::fs::write(&path, &svg).map_err(anyhow::Error::from));
    match written {
        Ok(()) => {
            facts.artifacts.insert(file, path.display().to_string());
        }
        Err(e) => say.warn(format!("no flame graph {}: {e:#}", path.display())),
    }
}

/// The top tables as `goready pprof` prints them, with the `go tool pprof` command that
/// reproduces them on the saved `allocs.pb.gz` (or on the live URL without `--artifacts`).
pub fn text(allocs: &Allocations, facts: &ProbeFacts) -> String {
    let Some((profile, rankings)) = &allocs.ranked else {
        return String::new();
    };
    let file = facts
        .artifacts
        .get("allocs.pb.gz")
        .cloned()
        .unwrap_or_else(|| profile_url(facts, "allocs"));
    let tops: Vec<&Top> = rankings.iter().map(|r| &r.top).collect();
    crate::pprof::command::text(&file, profile, &tops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> Say<'static> {
        Say::new(crate::step::Step::Probe, &crate::progress::Discard)
    }
    use crate::model::Status;
    use crate::probe::service::Readiness;

    fn ready_facts() -> ProbeFacts {
        ProbeFacts {
            target: "svc".into(),
            readiness: Some(Readiness::Ready {
                after_ms: 1,
                url: "http://127.0.0.1:1/debug/pprof/".into(),
                tls: None,
            }),
            ..ProbeFacts::default()
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_of_bytes_that_are_no_profile_is_an_error_check_naming_why() {
        let mut facts = ready_facts();
        // Valid gzip (so pprof's classifier let it through), but protobuf field 1 with the
        // wrong wire type.
        facts
            .profiles
            .insert("allocs".into(), gzip(b"\x0d\x01\x02\x03\x04 not a profile"));
        let opts = AllocOptions {
            baseline: Some("base.pb.gz".into()),
            ..AllocOptions::default()
        };
        let a = evaluate(&mut facts, &opts, quiet());
        assert!(a.ranked.is_none());
        assert_eq!(a.checks[0].id, "runtime.allocs");
        assert_eq!(a.checks[0].status, Status::Error);
        let m = &a.checks[0].message;
        assert!(
            m.contains("/debug/pprof/allocs") && m.contains("not a pprof protobuf profile"),
            "{m}"
        );
        assert_eq!(a.checks[1].id, "runtime.alloc_regression");
        assert_eq!(a.checks[1].status, Status::Skip);
    }

    #[test]
    fn no_allocs_profile_is_a_skip_pointing_at_registration() {
        let mut facts = ready_facts();
        let a = evaluate(&mut facts, &AllocOptions::default(), quiet());
        assert_eq!(a.checks.len(), 1);
        assert_eq!(a.checks[0].status, Status::Skip);
        assert!(a.checks[0].message.contains("runtime.pprof_registered"));
    }

    #[test]
    fn a_service_that_never_got_ready_skips_allocs() {
        let mut facts = ready_facts();
        facts.readiness = None;
        facts.launch_error = Some("no such program".into());
        let a = evaluate(&mut facts, &AllocOptions::default(), quiet());
        assert_eq!(a.checks[0].status, Status::Skip);
        assert!(a.checks[0].message.contains("could not be started"));
    }
}
