//! `runtime.goroutine_leak` and `runtime.heap_growth`: judging the series a `--soak` kept
//! ([`super::soak::SoakFacts`]). A leak is growth that follows the work and does not come
//! back; one high reading is noise, so heap growth needs a trend over the rounds and
//! goroutines get a settle period before they are counted.

use super::soak::{Round, SoakFacts};
use crate::human::{self, sparkline};
use crate::model::data::{GoroutineLeakData, HeapGrowthData, facts};
use crate::model::{Check, CheckBuilder};
use crate::pprof::profile::Profile;
use crate::pprof::regression::SiteShares;
use crate::pprof::units;

/// The soak thresholds (`--max-goroutine-growth`, `--max-heap-growth`).
#[derive(Debug, Clone, Copy)]
pub struct SoakLimits {
    /// Goroutines more after the settle period than after the first load that still pass.
    pub max_goroutine_growth: u64,
    /// Fitted HeapInuse growth over the soak that still passes, in MiB.
    pub max_heap_growth_mb: f64,
}

impl Default for SoakLimits {
    fn default() -> Self {
        SoakLimits {
            max_goroutine_growth: 10,
            max_heap_growth_mb: 2.0,
        }
    }
}

/// How strongly the heap must rise with the rounds (Spearman's rank correlation) to count
/// as a trend: a steady service's readings wander up and down around a level.
const MIN_TREND: f64 = 0.7;

/// Readings needed before a trend means anything.
const MIN_ROUNDS: usize = 4;

const MIB: f64 = 1024.0 * 1024.0;

/// A size in bytes that arithmetic made a float (a fitted growth).
fn size(bytes: f64) -> String {
    human::bytes(bytes as u64)
}

/// Why the soak rules cannot judge, if they cannot.
fn not_judged(soak: &SoakFacts) -> Option<String> {
    if let Some(d) = &soak.died {
        return Some(format!(
            "not evaluated: the service exited ({}) during soak round {} (see runtime.start)",
            d.exit.description, d.round
        ));
    }
    if soak.interrupted {
        return Some("not evaluated: goready was interrupted during the soak".into());
    }
    None
}

/// `runtime.goroutine_leak`.
pub fn goroutine_leak(soak: &SoakFacts, limits: &SoakLimits, c: CheckBuilder) -> Check {
    let series: Vec<u64> = soak.rounds.iter().map(|r| r.goroutines).collect();
    let c = c.data(GoroutineLeakData {
        rounds: soak.rounds.clone(),
        settled_goroutines: soak.settled_goroutines,
        settle_ms: soak.settle_ms,
        grown_stacks: facts(&soak.grown_stacks),
        max_goroutine_growth: limits.max_goroutine_growth,
        scrape_errors: soak.scrape_errors.clone(),
    });
    if let Some(why) = not_judged(soak) {
        return c.skip(why);
    }
    let (Some(first), Some(settled)) = (soak.rounds.first(), soak.settled_goroutines) else {
        return c.error(format!(
            "the goroutine counts could not be read: {}",
            soak.scrape_errors.join("; ")
        ));
    };
    // Round 0 is read right after the first load: a pass needs soak rounds after it whose
    // requests succeeded, or nothing sustained was observed.
    let soak_ok: u64 = soak.rounds.iter().skip(1).map(|r| r.ok).sum();
    if soak_ok == 0 {
        return c.skip(format!(
            "not evaluated: {} soak round(s) after the first load with {soak_ok} successful \
             request(s): no sustained load to judge the goroutines by; give a longer --soak or \
             a --load that succeeds",
            soak.rounds.len().saturating_sub(1)
        ));
    }
    let peak = series.iter().copied().max().unwrap_or(first.goroutines);
    let settle = crate::duration::format(std::time::Duration::from_millis(soak.settle_ms));
    let story = format!(
        "{} goroutines after the first load, {peak} at the peak of {} round(s) ({soak_ok} \
         successful requests; {}), {settled} after {settle} without load",
        first.goroutines,
        soak.rounds.len().saturating_sub(1),
        sparkline(&series)
    );
    let grew = settled.saturating_sub(first.goroutines);
    if grew <= limits.max_goroutine_growth {
        return c.pass(format!(
            "{story}: {grew} more (at most {} allowed)",
            limits.max_goroutine_growth
        ));
    }
    let stacks: Vec<String> = soak
        .grown_stacks
        .iter()
        .take(3)
        .map(|g| g.describe())
        .collect();
    let named = if stacks.is_empty() {
        String::new()
    } else {
        format!("; {}", stacks.join("; "))
    };
    c.fail(format!(
        "{story}: {} more did not come back{named}. Give each goroutine a way to end (a \
         context, a closed channel, a timeout); reproduce with curl 'ADMIN/debug/pprof/goroutine?debug=1'",
        goroutines_word(grew)
    ))
}

fn goroutines_word(n: u64) -> String {
    super::goroutines::thousands(n)
}

/// Least-squares slope of y over x.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

/// Ranks with ties averaged.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// Spearman's rank correlation of the readings with their order.
fn trend(values: &[f64]) -> f64 {
    let r = ranks(values);
    let idx: Vec<f64> = (0..values.len()).map(|i| i as f64).collect();
    let pts: Vec<(f64, f64)> = idx.iter().copied().zip(r.iter().copied()).collect();
    let sd = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>()).sqrt()
    };
    let (si, sr) = (sd(&idx), sd(&r));
    if si == 0.0 || sr == 0.0 {
        return 0.0;
    }
    slope(&pts) * si / sr
}

/// One function's in-use bytes in the first and the last heap profile.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SiteGrowth {
    /// pprof's node name.
    pub function: String,
    /// Flat inuse_space in the first profile.
    pub first: i64,
    /// In the last.
    pub last: i64,
    /// last − first: the `flat` of `go tool pprof -top -diff_base first last`.
    pub growth: i64,
}

/// The functions whose flat inuse_space grew from `first` to `last`, largest first.
pub fn growing_sites(first: &[u8], last: &[u8]) -> Result<Vec<SiteGrowth>, String> {
    let sites = |bytes: &[u8], which: &str| -> Result<SiteShares, String> {
        let p = Profile::parse(bytes).map_err(|e| format!("the {which} heap profile: {e}"))?;
        let i = p
            .sample_index(Some("inuse_space"))
            .map_err(|e| format!("the {which} heap profile: {e}"))?;
        Ok(SiteShares::from_profile(&p, i))
    };
    let (a, b) = (sites(first, "first")?, sites(last, "last")?);
    let mut out: Vec<SiteGrowth> = b
        .sites
        .iter()
        .map(|(f, &v)| {
            let old = a.sites.get(f).copied().unwrap_or(0);
            SiteGrowth {
                function: f.clone(),
                first: old,
                last: v,
                growth: v - old,
            }
        })
        .filter(|g| g.growth > 0)
        .collect();
    out.sort_by(|x, y| y.growth.cmp(&x.growth).then(x.function.cmp(&y.function)));
    out.truncate(10);
    Ok(out)
}

/// `runtime.heap_growth`. `sites` is [`growing_sites`] of the first and last heap profile
/// (or why they could not be compared).
pub fn heap_growth(
    soak: &SoakFacts,
    sites: Option<Result<Vec<SiteGrowth>, String>>,
    limits: &SoakLimits,
    c: CheckBuilder,
) -> Check {
    let rounds: &[Round] = &soak.rounds;
    let series: Vec<u64> = rounds.iter().map(|r| r.heap_inuse).collect();
    let points: Vec<(f64, f64)> = rounds
        .iter()
        .map(|r| (r.requests as f64, r.heap_inuse as f64))
        .collect();
    let per_request = if points.len() >= 2 {
        slope(&points)
    } else {
        0.0
    };
    let span = match (rounds.first(), rounds.last()) {
        (Some(a), Some(b)) => b.requests.saturating_sub(a.requests) as f64,
        _ => 0.0,
    };
    let fitted = per_request * span;
    let rank = trend(&series.iter().map(|&v| v as f64).collect::<Vec<_>>());
    let (site_list, site_error) = match &sites {
        Some(Ok(s)) => (s.clone(), None),
        Some(Err(e)) => (Vec::new(), Some(e.clone())),
        None => (Vec::new(), None),
    };
    let c = c.data(HeapGrowthData {
        rounds: rounds.to_vec(),
        fitted_growth_bytes: fitted,
        bytes_per_request: per_request,
        trend: rank,
        max_heap_growth_mb: limits.max_heap_growth_mb,
        growing_sites: facts(&site_list),
        sites_error: site_error.clone(),
        reproduce: "go tool pprof -top -sample_index=inuse_space -diff_base heap-first.pb.gz \
                    heap-last.pb.gz"
            .into(),
        scrape_errors: soak.scrape_errors.clone(),
    });
    if let Some(why) = not_judged(soak) {
        return c.skip(why);
    }
    if rounds.len() < MIN_ROUNDS {
        if rounds.is_empty() {
            return c.error(format!(
                "HeapInuse could not be read: {}",
                soak.scrape_errors.join("; ")
            ));
        }
        return c.skip(format!(
            "only {} reading(s) of HeapInuse: {MIN_ROUNDS} are needed for a trend; give a longer --soak",
            rounds.len()
        ));
    }
    let (first, last) = (series[0] as f64, series[series.len() - 1] as f64);
    let story = format!(
        "HeapInuse after forced GCs {} → {} over {} round(s) ({}; fitted {}{}, {:+.0} B per request)",
        size(first),
        size(last),
        rounds.len() - 1,
        sparkline(&series),
        if fitted >= 0.0 { "+" } else { "−" },
        size(fitted.abs()),
        per_request
    );
    let soak_ok: u64 = rounds.iter().skip(1).map(|r| r.ok).sum();
    if soak_ok == 0 {
        return c.skip(format!(
            "not evaluated: {story}, but no request of the {} soak round(s) succeeded: no work \
             to judge the heap by",
            rounds.len() - 1
        ));
    }
    let limit = limits.max_heap_growth_mb * MIB;
    if fitted < limit || rank < MIN_TREND {
        // Say which of the two criteria held, with its number.
        let why = if fitted < limit {
            format!(
                "fitted growth below the {} MiB allowed",
                limits.max_heap_growth_mb
            )
        } else {
            format!("rank trend {rank:.2} below {MIN_TREND}: the readings do not rise steadily")
        };
        return c.pass(format!(
            "{story} after {soak_ok} successful soak requests: {why} (rank trend {rank:.2})"
        ));
    }
    let named = if site_list.is_empty() {
        site_error
            .map(|e| format!("; the growing sites could not be named: {e}"))
            .unwrap_or_default()
    } else {
        let s: Vec<String> = site_list
            .iter()
            .take(3)
            .map(|g| {
                format!(
                    "{} +{}",
                    g.function,
                    units::scaled_label(g.growth, "bytes", "auto")
                )
            })
            .collect();
        format!(
            "; growing by inuse_space: {} (go tool pprof -top -sample_index=inuse_space \
             -diff_base heap-first.pb.gz heap-last.pb.gz)",
            s.join(", ")
        )
    };
    c.fail(format!(
        "{story}: the heap rises with the work (more than {} MiB, rank trend {rank:.2}){named}. \
         Bound what is kept per request (caches with eviction, maps that are cleaned up)",
        limits.max_heap_growth_mb
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probe::goroutines::Growth;
    use crate::registry;

    fn soak(heap: &[u64], goroutines: &[u64], settled: u64) -> SoakFacts {
        SoakFacts {
            rounds: heap
                .iter()
                .zip(goroutines)
                .enumerate()
                .map(|(i, (&h, &g))| Round {
                    round: i as u32,
                    at_ms: i as u64 * 100,
                    requests: 200 * (i as u64 + 1),
                    ok: 200,
                    heap_inuse: h,
                    goroutines: g,
                })
                .collect(),
            settled_goroutines: Some(settled),
            settle_ms: 1000,
            ..SoakFacts::default()
        }
    }

    #[test]
    fn a_steady_heap_that_wanders_passes() {
        let m = 1 << 20;
        let s = soak(
            &[
                3 * m,
                3 * m + 300_000,
                3 * m - 100_000,
                3 * m + 200_000,
                3 * m,
                3 * m + 50_000,
            ],
            &[7; 6],
            7,
        );
        let c = heap_growth(
            &s,
            None,
            &SoakLimits::default(),
            Check::of(&registry::RUNTIME_HEAP_GROWTH),
        );
        assert_eq!(c.status, Status::Pass, "{}", c.message);
    }

    #[test]
    fn a_heap_rising_every_round_fails_naming_the_site() {
        let m = 1u64 << 20;
        let heap: Vec<u64> = (0..8).map(|i| 3 * m + i * 3 * m).collect();
        let s = soak(&heap, &[7; 8], 7);
        let sites = vec![SiteGrowth {
            function: "main.keepRequest".into(),
            first: 0,
            last: 21 << 20,
            growth: 21 << 20,
        }];
        let c = heap_growth(
            &s,
            Some(Ok(sites)),
            &SoakLimits::default(),
            Check::of(&registry::RUNTIME_HEAP_GROWTH),
        );
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message.contains("main.keepRequest +21MB"),
            "{}",
            c.message
        );
        assert!(c.message.contains("▁"), "{}", c.message);
    }

    #[test]
    fn one_jump_is_not_a_trend() {
        let m = 1u64 << 20;
        // One high reading in the middle: fitted growth may be large, the rank trend is not.
        let s = soak(&[3 * m, 3 * m, 40 * m, 3 * m, 3 * m, 3 * m], &[7; 6], 7);
        let c = heap_growth(
            &s,
            None,
            &SoakLimits::default(),
            Check::of(&registry::RUNTIME_HEAP_GROWTH),
        );
        assert_eq!(c.status, Status::Pass, "{}", c.message);
    }

    #[test]
    fn goroutines_that_do_not_come_back_fail_naming_the_stack() {
        let mut s = soak(&[1, 1, 1], &[7, 1807, 3607], 3607);
        s.grown_stacks = vec![Growth {
            added: 3600,
            count: 3600,
            state: "chan receive".into(),
            function: "main.waitForever".into(),
            created_by: Some("main.leakyHandler".into()),
            frames: vec!["main.waitForever".into()],
        }];
        let c = goroutine_leak(
            &s,
            &SoakLimits::default(),
            Check::of(&registry::RUNTIME_GOROUTINE_LEAK),
        );
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message.contains(
                "+3,600 goroutines blocked in main.waitForever [chan receive] (created by main.leakyHandler)"
            ),
            "{}",
            c.message
        );
        let back = soak(&[1, 1, 1], &[7, 40, 41], 8);
        let c = goroutine_leak(
            &back,
            &SoakLimits::default(),
            Check::of(&registry::RUNTIME_GOROUTINE_LEAK),
        );
        assert_eq!(c.status, Status::Pass, "{}", c.message);
    }

    #[test]
    fn goroutine_leak_pass_needs_soak_rounds_with_work() {
        let limits = SoakLimits::default();
        let c = || Check::of(&registry::RUNTIME_GOROUTINE_LEAK);
        // Nothing read at all.
        let nothing = SoakFacts::default();
        assert_ne!(goroutine_leak(&nothing, &limits, c()).status, Status::Pass);
        // Round 0 only: the first load's state, no sustained load after it.
        let only_first = soak(&[1], &[7], 7);
        let r = goroutine_leak(&only_first, &limits, c());
        assert_eq!(r.status, Status::Skip, "{}", r.message);
        // Soak rounds ran, but not one of their requests succeeded.
        let mut failed = soak(&[1, 1, 1], &[7, 7, 7], 7);
        for round in &mut failed.rounds {
            round.ok = 0;
        }
        let r = goroutine_leak(&failed, &limits, c());
        assert_eq!(r.status, Status::Skip, "{}", r.message);
        // Rounds with work: the pass gives the counts.
        let back = soak(&[1, 1, 1], &[7, 40, 41], 8);
        let r = goroutine_leak(&back, &limits, c());
        assert_eq!(r.status, Status::Pass, "{}", r.message);
        assert!(
            r.message.contains("7 goroutines after the first load")
                && r.message
                    .contains("41 at the peak of 2 round(s) (400 successful requests")
                && r.message.contains("8 after 1s without load: 1 more"),
            "{}",
            r.message
        );
    }

    #[test]
    fn heap_growth_pass_needs_readings_with_work() {
        let limits = SoakLimits::default();
        let c = || Check::of(&registry::RUNTIME_HEAP_GROWTH);
        let nothing = SoakFacts::default();
        assert_ne!(
            heap_growth(&nothing, None, &limits, c()).status,
            Status::Pass
        );
        let m = 1u64 << 20;
        let few = soak(&[3 * m, 3 * m], &[7, 7], 7);
        assert_eq!(heap_growth(&few, None, &limits, c()).status, Status::Skip);
        let mut failed = soak(&[3 * m; 6], &[7; 6], 7);
        for round in &mut failed.rounds {
            round.ok = 0;
        }
        let r = heap_growth(&failed, None, &limits, c());
        assert_eq!(r.status, Status::Skip, "{}", r.message);
        let steady = soak(&[3 * m; 6], &[7; 6], 7);
        let r = heap_growth(&steady, None, &limits, c());
        assert_eq!(r.status, Status::Pass, "{}", r.message);
        assert!(
            r.message.contains("over 5 round(s)")
                && r.message.contains("after 1000 successful soak requests")
                && r.message.contains("fitted growth below the 2 MiB allowed"),
            "{}",
            r.message
        );
    }
}
