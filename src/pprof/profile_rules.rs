//! Judging allocation profiles: `runtime.allocs` (the top allocation sites, with the data
//! anyone can compare against `go tool pprof -top`) and `runtime.alloc_regression` (sites
//! whose share grew beyond a limit). Used by `goready pprof` on saved files, by
//! `goready probe` on a live scrape and by `goready test --memprofile` on each package's
//! profile; the facts come from [`super::top`] and [`super::regression`].

use std::fmt::Display;
use std::path::Path;

use anyhow::Context;

use super::profile::{DroppedSamples, Profile, ProfileError};
use super::regression::{Ranking, SiteShares, compare};
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
/// `max_growth` percentage points from `base` to `new`, or one passing check naming the
/// largest growth.
pub fn regression_checks(
    target: &str,
    base: &SiteShares,
    new: &SiteShares,
    max_growth: f64,
) -> Vec<Check> {
    let growths = compare(base, new);
    let describe = |g: &super::regression::Growth| {
        format!(
            "{}: share of {} {:.1}% → {:.1}% ({:+.1} points; {} → {})",
            g.function,
            new.sample_type,
            g.old_share,
            g.new_share,
            g.growth,
            human(g.old_flat, &new.unit),
            human(g.new_flat, &new.unit)
        )
    };
    let mut checks: Vec<Check> = growths
        .iter()
        .filter(|g| g.growth > max_growth)
        .map(|g| {
            Check::of(&registry::RUNTIME_ALLOC_REGRESSION)
                .target(g.function.clone())
                .data(RegressionData {
                    profile: Some(target.to_string()),
                    sample_type: Some(new.sample_type.clone()),
                    unit: Some(new.unit.clone()),
                    function: Some(g.function.clone()),
                    old_flat: Some(g.old_flat),
                    new_flat: Some(g.new_flat),
                    old_share: Some(g.old_share),
                    new_share: Some(g.new_share),
                    growth_points: Some(g.growth),
                    max_growth_points: max_growth,
                    base_min_share: Some(base.min_share),
                    largest: None,
                })
                .fail(format!(
                    "{} — more than the {max_growth} points allowed",
                    describe(g)
                ))
        })
        .collect();
    if checks.is_empty() {
        let largest = growths
            .first()
            .filter(|g| g.growth > 0.0)
            .map(|g| format!("; largest growth {}", describe(g)))
            .unwrap_or_default();
        checks.push(
            Check::of(&registry::RUNTIME_ALLOC_REGRESSION)
                .target(target)
                .data(RegressionData {
                    sample_type: Some(new.sample_type.clone()),
                    max_growth_points: max_growth,
                    largest: growths.first().cloned(),
                    ..RegressionData::default()
                })
                .pass(format!(
                    "no allocation site's share of {} grew more than {max_growth} points{largest}",
                    new.sample_type
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
    use crate::pprof::proto;
    use prost::Message;

    /// An allocation profile as Go writes one, with `samples` samples in `main.alloc`.
    fn allocs_profile(samples: usize) -> Profile {
        let strings = [
            "",
            "alloc_objects",
            "count",
            "alloc_space",
            "bytes",
            "main.alloc",
        ];
        let p = proto::Profile {
            sample_type: vec![
                proto::ValueType { r#type: 1, unit: 2 },
                proto::ValueType { r#type: 3, unit: 4 },
            ],
            sample: (0..samples)
                .map(|_| proto::Sample {
                    location_id: vec![1],
                    value: vec![2, 4096],
                    label: vec![],
                })
                .collect(),
            location: vec![proto::Location {
                id: 1,
                line: vec![proto::Line {
                    function_id: 1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            function: vec![proto::Function {
                id: 1,
                name: 5,
                system_name: 5,
                ..Default::default()
            }],
            string_table: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        };
        Profile::parse(&p.encode_to_vec()).unwrap()
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
