//! Judging allocation profiles: `runtime.allocs` (the top allocation sites, with the data
//! anyone can compare against `go tool pprof -top`) and `runtime.alloc_regression` (sites
//! whose share grew beyond a limit). Used by `goready pprof` on saved files, by
//! `goready probe` on a live scrape and by `goready test --memprofile` on each package's
//! profile; the facts come from [`super::top`] and [`super::regression`].

use std::fmt::Display;
use std::path::Path;

use anyhow::Context;

use super::profile::{DroppedSamples, Profile, ProfileError};
use super::regression::{Growth, Ranking, SiteShares, judge, shares_text};
use super::units;
use crate::model::data::{ProfileData, RegressionData};
use crate::model::{Check, CheckData, Report, Severity};
use crate::registry;

/// Frames of the profiler's own work: a scrape of `/debug/pprof/allocs` allocates (in
/// runtime/pprof, compress/flate under it, net/http/pprof), and those allocations show up
/// in the next scrape. Samples with these frames are left out before ranking.
pub const PROFILER_FRAMES: &[&str] = &["runtime/pprof.", "net/http/pprof."];

/// The `go tool pprof -ignore` regexp equivalent to dropping [`PROFILER_FRAMES`].
pub const PROFILER_IGNORE_REGEXP: &str = r"^(runtime/pprof|net/http/pprof)\.";

/// How many sites the `runtime.allocs` message names per sample type.
const MESSAGE_SITES: usize = 3;

/// A value with its unit scaled for reading (`2.50MB`, `12000`).
fn human(v: i64, unit: &str) -> String {
    units::scaled_label(v, unit, "auto")
}

/// The sentence about left-out samples, or "" when none were.
pub fn left_out_sentence(dropped: Option<&DroppedSamples>, profile: &Profile) -> String {
    // Samples whose values are all zero change nothing in any table: not worth a word.
    let Some(d) = dropped.filter(|d| d.samples > 0 && d.values.iter().any(|&v| v != 0)) else {
        return String::new();
    };
    let values: Vec<String> = profile
        .sample_types
        .iter()
        .zip(&d.values)
        .map(|(t, v)| format!("{} {}", human(*v, &t.unit), t.ty))
        .collect();
    format!(
        "left out {} sample{} with {} frames (the profiler's own scrape: {})",
        d.samples,
        if d.samples == 1 { "" } else { "s" },
        d.frames.join(", "),
        values.join(", ")
    )
}

/// The sample types to rank: the ones asked for (names or indexes), else the profile's
/// default — and `alloc_objects` next to `alloc_space`, as `runtime.allocs` reports both.
pub fn sample_indexes(profile: &Profile, asked: &[String]) -> Result<Vec<usize>, String> {
    if !asked.is_empty() {
        let mut out = Vec::new();
        for name in asked {
            let i = profile.sample_index(Some(name))?;
            if !out.contains(&i) {
                out.push(i);
            }
        }
        return Ok(out);
    }
    let default = profile.sample_index(None)?;
    let mut out = vec![default];
    if profile.sample_types[default].ty == "alloc_space"
        && let Ok(objects) = profile.sample_index(Some("alloc_objects"))
        && objects != default
    {
        out.push(objects);
    }
    Ok(out)
}

/// An allocation profile as `runtime.allocs` sees it: decoded from the bytes as served or
/// saved, the profiler's own samples left out ([`PROFILER_FRAMES`]), and its default sample
/// types ranked (top `n` rows, 0 for all). What `goready probe` does with its scrape and
/// `goready test --memprofile` with each package's profile.
pub fn rank_allocs(bytes: &[u8], n: usize) -> Result<(Profile, Vec<Ranking>), ProfileError> {
    let mut profile = Profile::parse(bytes)?;
    profile.drop_samples_with_frames(PROFILER_FRAMES);
    let indexes = sample_indexes(&profile, &[]).map_err(ProfileError::Malformed)?;
    let rankings = indexes.iter().map(|&i| profile.rank(i, n)).collect();
    Ok((profile, rankings))
}

/// The base's shares of `sample_type` for a regression check: from a profile (the
/// profiler's own samples left out unless `keep_profiler`), or from a goready result file's
/// `runtime.allocs` check.
pub fn base_shares(
    path: &Path,
    sample_type: &str,
    keep_profiler: bool,
) -> anyhow::Result<SiteShares> {
    let data = std::fs::read(path).context("cannot read it")?;
    if data.trim_ascii_start().starts_with(b"{") {
        let report = Report::read_json(path)?;
        return shares_from_report(&report, sample_type).with_context(|| {
            format!("the result file has no runtime.allocs check with {sample_type} shares")
        });
    }
    let mut base = Profile::parse(&data).context("cannot decode it")?;
    let index = base
        .sample_types
        .iter()
        .position(|t| t.ty == sample_type)
        .with_context(|| {
            format!(
                "it has no {sample_type} samples (it has {})",
                base.sample_type_names().join(", ")
            )
        })?;
    if !keep_profiler {
        base.drop_samples_with_frames(PROFILER_FRAMES);
    }
    Ok(SiteShares::from_profile(&base, index))
}

/// `runtime.allocs` for a decoded profile: passes, naming the top sites of each ranking,
/// and carries the rankings (`function`, `flat`, `cum` in the profile's unit) and the
/// compact site shares (for a later `--base`) in its data.
pub fn allocs_check(target: &str, profile: &Profile, rankings: &[Ranking]) -> Check {
    let mut parts = Vec::new();
    for Ranking { top, .. } in rankings {
        let unit = &top.sample_type.unit;
        let sites: Vec<String> = top
            .rows
            .iter()
            .filter(|r| r.flat != 0)
            .take(MESSAGE_SITES)
            .map(|r| {
                format!(
                    "{} {} ({:.1}%)",
                    r.function,
                    human(r.flat, unit),
                    r.flat_pct
                )
            })
            .collect();
        let sites = if sites.is_empty() {
            "no allocations".to_string()
        } else {
            sites.join(", ")
        };
        parts.push(format!(
            "{}: {sites} of {}",
            top.sample_type.ty,
            human(top.total, unit)
        ));
    }
    let left_out = left_out_sentence(profile.dropped.as_ref(), profile);
    if !left_out.is_empty() {
        parts.push(left_out);
    }
    let shares: Vec<SiteShares> = rankings.iter().map(|r| r.shares.compact()).collect();
    let c = Check::of(&registry::RUNTIME_ALLOCS)
        .target(target)
        .data(ProfileData {
            samples: profile.sample_count(),
            sample_types: names(profile),
            left_out: profile.dropped.clone(),
            rankings: rankings.iter().map(|r| r.top.clone()).collect(),
            shares,
            ..ProfileData::default()
        });
    // A profile without a single allocation ranks nothing: it decodes, but names no site.
    if rankings.iter().all(|r| r.top.total == 0) {
        return c.skip(format!(
            "not evaluated: the profile decodes but its {} sample(s) record no allocation, so \
             there is no site to rank ({})",
            profile.sample_count(),
            parts.join("; ")
        ));
    }
    c.pass(format!(
        "{} sample(s): {}",
        profile.sample_count(),
        parts.join("; ")
    ))
}

/// `runtime.allocs` for bytes that are not a usable profile.
pub fn undecodable(target: &str, err: &dyn Display) -> Check {
    Check::of(&registry::RUNTIME_ALLOCS)
        .target(target)
        .severity(Severity::Error)
        .error(format!("{target}: {err}"))
}

/// The site shares of `sample_type` recorded by an earlier `runtime.allocs` check in a
/// result file (so that `--base` can be a result JSON from the base branch).
pub fn shares_from_report(report: &Report, sample_type: &str) -> Option<SiteShares> {
    report
        .checks
        .iter()
        .filter(|c| c.id == registry::RUNTIME_ALLOCS.id)
        .find_map(|c| recorded_shares(c, sample_type))
}

/// The site shares of `sample_type` a `runtime.allocs` or `runtime.cpu` check recorded.
pub fn recorded_shares(c: &Check, sample_type: &str) -> Option<SiteShares> {
    match &c.data {
        CheckData::Profile(p) => p
            .shares
            .iter()
            .find(|s| s.sample_type == sample_type)
            .cloned(),
        _ => None,
    }
}

/// A profile's sample type names, owned for a check's data.
pub fn names(profile: &Profile) -> Vec<String> {
    profile
        .sample_type_names()
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// `runtime.alloc_regression`: one failing check per site whose share grew by more than
/// `max_growth` percentage points from `base` to `new` beyond the profiles' sampling noise
/// (the growth's lower bound at 99 % over every site compared, [`judge`]), or one passing
/// check naming the largest growth with its uncertainty. A comparison that cannot be judged
/// (a base without sample counts) is a skip that says why.
pub fn regression_checks(
    target: &str,
    base: &SiteShares,
    new: &SiteShares,
    max_growth: f64,
) -> Vec<Check> {
    let at = || Check::of(&registry::RUNTIME_ALLOC_REGRESSION).target(target);
    let j = match judge(base, new) {
        Ok(j) => j,
        Err(why) => return vec![at().skip(format!("not evaluated: {why}"))],
    };
    let of = j.of_events("heap samples");
    let pct = j.confidence * 100.0;
    let describe = |g: &Growth| {
        format!(
            "{}: share of {} {} {of} ({:+.1} points; {} → {}",
            g.function,
            new.sample_type,
            shares_text(g),
            g.growth,
            human(g.old_flat, &new.unit),
            human(g.new_flat, &new.unit)
        )
    };
    let data = |g: Option<&Growth>| match g {
        Some(g) => RegressionData {
            unit: Some(new.unit.clone()),
            old_flat: Some(g.old_flat),
            new_flat: Some(g.new_flat),
            base_min_share: Some(base.min_share),
            ..j.data(target, &new.sample_type, max_growth, Some(g))
        },
        None => j.data(target, &new.sample_type, max_growth, None),
    };
    let mut checks: Vec<Check> = j
        .beyond(max_growth)
        .map(|g| {
            Check::of(&registry::RUNTIME_ALLOC_REGRESSION)
                .target(g.function.clone())
                .data(data(Some(g)))
                .fail(format!(
                    "{}; at least {:+.1} points at {pct:.0}% confidence over {} sites) — more \
                     than the {max_growth} points allowed",
                    describe(g),
                    g.lower_bound.unwrap_or(f64::NAN),
                    j.compared
                ))
        })
        .collect();
    if checks.is_empty() {
        let largest = j
            .growths
            .first()
            .filter(|g| g.growth > 0.0)
            .map(|g| {
                format!(
                    "; largest growth {}; at least {:+.1} points)",
                    describe(g),
                    g.lower_bound.unwrap_or(f64::NAN)
                )
            })
            .unwrap_or_default();
        checks.push(
            at().data(RegressionData {
                largest: j.growths.first().cloned(),
                ..data(None)
            })
            .pass(format!(
                "no allocation site's share of {} grew more than {max_growth} points beyond the \
                 noise ({} sites compared at {pct:.0}% confidence, {}/{} heap samples){largest}",
                new.sample_type, j.compared, j.old_events, j.new_events
            )),
        );
    }
    checks
}

/// `runtime.alloc_regression` when the comparison cannot be made (no such sample type in
/// the base, unreadable base).
pub fn regression_error(target: &str, why: impl Display) -> Check {
    Check::of(&registry::RUNTIME_ALLOC_REGRESSION)
        .target(target)
        .error(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    /// Shares of `events` heap samples, each site's flat value in the unit of shares (the
    /// value is the share × 1000 of a total of 100 000 bytes).
    fn shares(events: Option<u64>, sites: &[(&str, f64)]) -> SiteShares {
        SiteShares {
            sample_type: "alloc_space".into(),
            unit: "bytes".into(),
            total: 100_000,
            sites: sites
                .iter()
                .map(|(k, pct)| (k.to_string(), (pct * 1000.0) as i64))
                .collect(),
            min_share: 0.0,
            events,
        }
    }

    fn data(c: &Check) -> &RegressionData {
        match &c.data {
            CheckData::Regression(d) => d,
            other => panic!("not regression data: {other:?}"),
        }
    }

    #[test]
    fn noise_of_a_few_hundred_samples_passes_and_says_its_evidence() {
        // The issue's numbers: +10.0 points is more than the limit of 9, yet within noise.
        let base = shares(Some(340), &[("Syscall6", 27.2), ("other", 72.8)]);
        let new = shares(Some(352), &[("Syscall6", 37.2), ("other", 62.8)]);
        let checks = regression_checks("allocs", &base, &new, 9.0);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Pass, "{}", checks[0].message);
        let m = &checks[0].message;
        assert!(
            m.contains("2 sites compared at 99% confidence, 340/352 heap samples"),
            "{m}"
        );
        assert!(m.contains("27.2% ± 6.2 → 37.2% ± 6.6"), "{m}");
        let d = data(&checks[0]);
        assert_eq!((d.old_events, d.new_events), (Some(340), Some(352)));
        let lb = d.largest.as_ref().unwrap().lower_bound.unwrap();
        assert!(lb < 9.0, "{lb}");
    }

    #[test]
    fn a_growth_beyond_the_noise_and_the_limit_fails_naming_the_site() {
        let base = shares(Some(340), &[("a", 10.0), ("b", 90.0)]);
        let new = shares(Some(350), &[("a", 10.0), ("b", 45.0), ("hot", 45.0)]);
        let checks = regression_checks("allocs", &base, &new, 10.0);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Fail);
        assert_eq!(checks[0].target.as_deref(), Some("hot"));
        let d = data(&checks[0]);
        // Three sites compared: z = Φ⁻¹(1 − 0.01/3) = 2.7131; bound = 44.74 − 2.7131 ×
        // 2.668 = 37.50 points (Python's statistics.NormalDist, computed apart).
        assert_eq!(d.compared, Some(3));
        assert!((d.lower_bound.unwrap() - 37.50).abs() < 0.01, "{d:?}");
    }

    #[test]
    fn a_large_growth_of_few_samples_is_not_a_regression() {
        // 0 % → 30 % of 10 samples each side: 3 samples moved, which chance does often
        // (bound -15.6 points, Python as above).
        let base = shares(Some(10), &[("a", 100.0)]);
        let new = shares(Some(10), &[("a", 70.0), ("b", 30.0)]);
        let checks = regression_checks("allocs", &base, &new, 10.0);
        assert_eq!(checks[0].status, Status::Pass, "{}", checks[0].message);
    }

    #[test]
    fn a_base_without_sample_counts_is_not_evaluated_never_passed() {
        let base = shares(None, &[("a", 10.0), ("b", 90.0)]);
        let new = shares(Some(350), &[("a", 80.0), ("b", 20.0)]);
        let checks = regression_checks("allocs", &base, &new, 10.0);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Skip);
        assert!(checks[0].message.starts_with("not evaluated: "));
        assert!(checks[0].message.contains("re-create the baseline"));
        let empty = shares(Some(0), &[]);
        let checks = regression_checks("allocs", &empty, &new, 10.0);
        assert_eq!(checks[0].status, Status::Skip, "{}", checks[0].message);
    }

    #[test]
    fn hostile_counts_and_values_in_a_baseline_give_a_verdict_not_a_panic() {
        let new = shares(Some(350), &[("a", 80.0), ("b", 20.0)]);
        for (events, total) in [(u64::MAX, 100_000), (1, 0), (7, i64::MIN), (3, -5)] {
            let mut base = shares(Some(events), &[("a", 10.0), ("b", 90.0)]);
            base.total = total;
            base.sites.insert("c".into(), i64::MAX);
            let checks = regression_checks("allocs", &base, &new, 10.0);
            assert!(!checks.is_empty());
            for c in &checks {
                assert!(!c.message.is_empty());
            }
        }
    }

    /// An allocation profile as Go writes one, with `samples` samples in `main.alloc`.
    fn allocs_profile(samples: usize) -> Profile {
        let bytes = crate::pprof::sample_profiles::one_function(
            [("alloc_objects", "count"), ("alloc_space", "bytes")],
            "main.alloc",
            samples,
            [2, 4096],
            None,
        );
        Profile::parse(&bytes).unwrap()
    }

    fn ranked(p: &Profile) -> Vec<Ranking> {
        sample_indexes(p, &[])
            .unwrap()
            .into_iter()
            .map(|i| p.rank(i, 10))
            .collect()
    }

    #[test]
    fn allocs_pass_needs_an_allocation() {
        let empty = allocs_profile(0);
        let c = allocs_check("allocs.pb.gz", &empty, &ranked(&empty));
        assert_eq!(c.status, Status::Skip, "{}", c.message);
        let full = allocs_profile(3);
        let c = allocs_check("allocs.pb.gz", &full, &ranked(&full));
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(
            c.message.starts_with("3 sample(s): ") && c.message.contains("main.alloc"),
            "{}",
            c.message
        );
    }
}
