//! `runtime.cpu` (a CPU profile taken while the load ran, ranked like `go tool pprof -top`
//! with the code that ranks allocations), `runtime.cpu_regression` (CPU shares against a
//! baseline, compared like allocation shares) and `runtime.contention` (the mutex and block
//! profiles, when the service turned them on).

use std::path::Path;

use crate::model::data::{ContentionData, ProfileData, ProfileRanking, RegressionData};
use crate::model::{Check, CheckBuilder, Report};
use crate::pprof::profile::Profile;
use crate::pprof::profile_rules::{PROFILER_FRAMES, left_out_sentence, names, recorded_shares};
use crate::pprof::regression::{Growth, Ranking, SiteShares, judge, shares_text};
use crate::pprof::units;
use crate::registry;

/// Sites named per ranking in a message.
const MESSAGE_SITES: usize = 3;

/// A profile decoded as `go tool pprof` reads it, the profiler's own samples left out, and
/// its default sample type ranked (`n` rows, 0 for all).
pub fn rank(bytes: &[u8], n: usize) -> Result<(Profile, Ranking), String> {
    let mut p = Profile::parse(bytes).map_err(|e| e.to_string())?;
    p.drop_samples_with_frames(PROFILER_FRAMES);
    let i = p.sample_index(None)?;
    let r = p.rank(i, n);
    Ok((p, r))
}

fn sites(r: &Ranking) -> String {
    let unit = &r.top.sample_type.unit;
    let s: Vec<String> = r
        .top
        .rows
        .iter()
        .filter(|row| row.flat != 0)
        .take(MESSAGE_SITES)
        .map(|row| {
            format!(
                "{} {} ({:.1}%)",
                row.function,
                units::scaled_label(row.flat, unit, "auto"),
                row.flat_pct
            )
        })
        .collect();
    if s.is_empty() {
        "no samples".into()
    } else {
        s.join(", ")
    }
}

/// `runtime.cpu` for the profile as served; `seconds` is what was asked for.
pub fn cpu_check(
    bytes: &[u8],
    seconds: u64,
    top: usize,
    c: CheckBuilder,
) -> (Check, Option<Ranking>) {
    match rank(bytes, top) {
        Err(e) => (
            c.error(format!(
                "the CPU profile served ({} bytes) does not decode: {e}",
                bytes.len()
            )),
            None,
        ),
        Ok((p, r)) => {
            let total = units::scaled_label(r.top.total, &r.top.sample_type.unit, "auto");
            let left_out = left_out_sentence(p.dropped.as_ref(), &p);
            let c = c.data(ProfileData {
                seconds: Some(seconds),
                samples: p.sample_count(),
                sample_types: names(&p),
                left_out: p.dropped.clone(),
                rankings: vec![r.top.clone()],
                shares: vec![r.shares.compact()],
                reproduce: Some("go tool pprof -top cpu.pb.gz".into()),
                ..ProfileData::default()
            });
            // An empty profile ranks nothing: it is no evidence of where the time goes.
            if r.top.total == 0 {
                return (
                    c.skip(format!(
                        "not evaluated: the {seconds} s CPU profile taken under load holds {} \
                         sample(s) with {total} of {} ({} bytes served): nothing to rank",
                        p.sample_count(),
                        r.top.sample_type.ty,
                        bytes.len()
                    )),
                    None,
                );
            }
            let check = c.pass(format!(
                "{} of {total} in {} sample(s) of {seconds} s under load: {}{}",
                r.top.sample_type.ty,
                p.sample_count(),
                sites(&r),
                if left_out.is_empty() {
                    String::new()
                } else {
                    format!("; {left_out}")
                }
            ));
            (check, Some(r))
        }
    }
}

/// The baseline's CPU shares: a CPU profile, or a goready result file's `runtime.cpu` check.
fn base_shares(path: &Path, sample_type: &str) -> Result<SiteShares, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    if data.trim_ascii_start().starts_with(b"{") {
        let report = Report::read_json(path).map_err(|e| format!("{e:#}"))?;
        return report
            .checks
            .iter()
            .filter(|c| c.id == registry::RUNTIME_CPU.id)
            .find_map(|c| recorded_shares(c, sample_type))
            .ok_or_else(|| {
                format!("the result file has no runtime.cpu check with {sample_type} shares")
            });
    }
    let mut p = Profile::parse(&data).map_err(|e| format!("cannot decode it: {e}"))?;
    let Some(i) = p.sample_types.iter().position(|t| t.ty == sample_type) else {
        return Err(format!(
            "it is not a CPU profile (it has {}); give a CPU profile or the result file of an \
             earlier `goready probe --json`",
            p.sample_type_names().join(", ")
        ));
    };
    p.drop_samples_with_frames(PROFILER_FRAMES);
    Ok(SiteShares::from_profile(&p, i))
}

/// `runtime.cpu_regression`: a failing check per function whose CPU share grew by more
/// than `max_growth` points beyond the profiles' sampling noise (the growth's lower bound at
/// 99 % over every function compared, [`judge`]), else one passing check naming the largest
/// growth with its uncertainty. A baseline without CPU shares (an allocs profile) or without
/// sample counts (a result file of an older goready) is a skip saying so, not an error:
/// `--baseline` also serves the allocation comparison.
pub fn regression(target: &str, base: &Path, new: &SiteShares, max_growth: f64) -> Vec<Check> {
    let at = || Check::of(&registry::RUNTIME_CPU_REGRESSION).target(target);
    let old = match base_shares(base, &new.sample_type) {
        Ok(o) => o,
        Err(e) => return vec![at().skip(format!("baseline {}: {e}", base.display()))],
    };
    let j = match judge(&old, new) {
        Ok(j) => j,
        Err(why) => {
            return vec![at().skip(format!("not evaluated: baseline {}: {why}", base.display()))];
        }
    };
    let of = j.of_events("samples");
    let pct = j.confidence * 100.0;
    let describe = |g: &Growth| {
        format!(
            "{}: share of {} {} {of} ({:+.1} points",
            g.function,
            new.sample_type,
            shares_text(g),
            g.growth
        )
    };
    let data = |g: Option<&Growth>| j.data(target, &new.sample_type, max_growth, g);
    let failing: Vec<Check> = j
        .beyond(max_growth)
        .map(|g| {
            Check::of(&registry::RUNTIME_CPU_REGRESSION)
                .target(g.function.clone())
                .data(data(Some(g)))
                .fail(format!(
                    "{}; at least {:+.1} points at {pct:.0}% confidence over {} functions) — more than \
                     the {max_growth} points allowed",
                    describe(g),
                    g.lower_bound.unwrap_or(f64::NAN),
                    j.compared
                ))
        })
        .collect();
    if !failing.is_empty() {
        return failing;
    }
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
    vec![
        at().data(RegressionData {
            largest: j.growths.first().cloned(),
            ..data(None)
        })
        .pass(format!(
            "no function's share of {} grew more than {max_growth} points beyond the noise \
             ({} functions compared at {pct:.0}% confidence, {}/{} samples){largest}",
            new.sample_type, j.compared, j.old_events, j.new_events
        )),
    ]
}

/// `runtime.contention` from the mutex and block profiles as served (name → bytes).
pub fn contention(profiles: &[(&str, Option<&Vec<u8>>)], top: usize, c: CheckBuilder) -> Check {
    let mut found = Vec::new();
    let mut empty = Vec::new();
    let mut rankings = Vec::new();
    for (name, bytes) in profiles {
        let Some(bytes) = bytes else {
            empty.push(format!("{name} (not served)"));
            continue;
        };
        match rank(bytes, top) {
            Ok((_, r)) if r.top.total != 0 => {
                found.push(format!("{name}: {}", sites(&r)));
                rankings.push(ProfileRanking {
                    profile: name.to_string(),
                    ranking: r.top,
                });
            }
            Ok(_) => empty.push(name.to_string()),
            Err(e) => empty.push(format!("{name} (does not decode: {e})")),
        }
    }
    let c = c.data(ContentionData {
        rankings,
        without_samples: empty.clone(),
    });
    let enable = "runtime.SetMutexProfileFraction(5) for the mutex profile, \
                  runtime.SetBlockProfileRate(10000) for the block profile";
    if found.is_empty() {
        return c.skip(format!(
            "no contention recorded in {}: they stay empty unless the service enables them at \
             start ({enable})",
            empty.join(", ")
        ));
    }
    let rest = if empty.is_empty() {
        String::new()
    } else {
        format!("; no samples in {} ({enable})", empty.join(", "))
    };
    c.pass(format!(
        "{}{rest}; reproduce with go tool pprof -top mutex.pb.gz",
        found.join("; ")
    ))
}
