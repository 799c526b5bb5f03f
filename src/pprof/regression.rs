//! Allocation regressions between two profiles: each function's *share* of the total
//! (its flat value over the sum of |value|, in percent), old against new. Shares rather
//! than bytes, so that a run that served twice the requests is not a regression; growth
//! in percentage points, so that a site going from 0.1 % to 0.3 % is not either. A growth
//! counts only when it is larger than the profiles' sampling noise ([`judge`], with the
//! statistics of [`super::stats`]): each side carries the number of sampling events its
//! shares are estimated from.

use std::collections::BTreeMap;

use serde::Serialize;

use super::profile::Profile;
use super::stats::{self, Sampled};
use super::top::{Graph, Top, TopOptions, report_total};

pub use crate::model::data::{Growth, SiteShares};

/// Sites below this share (percent) are left out of [`SiteShares::compact`]: they are
/// noise for a regression check, and would bloat result files of large profiles.
pub const COMPACT_MIN_SHARE: f64 = 0.1;

impl SiteShares {
    /// The shares of one sample type of a profile (after any samples it dropped).
    ///
    /// # Panics
    /// If `sample_index` is not below `profile.sample_types.len()`.
    pub fn from_profile(profile: &Profile, sample_index: usize) -> SiteShares {
        let graph = Graph::new(profile);
        let (flat, _) = graph.values(profile, sample_index);
        SiteShares::from_values(profile, &graph, &flat, sample_index)
    }

    fn from_values(
        profile: &Profile,
        graph: &Graph<'_>,
        flat: &[i64],
        sample_index: usize,
    ) -> SiteShares {
        let mut sites = BTreeMap::new();
        for (node, &v) in flat.iter().enumerate() {
            if v != 0 {
                let slot = sites.entry(graph.name(node)).or_insert(0i64);
                *slot = slot.wrapping_add(v);
            }
        }
        let t = &profile.sample_types[sample_index];
        SiteShares {
            sample_type: t.ty.clone(),
            unit: t.unit.clone(),
            total: report_total(profile, sample_index),
            sites,
            min_share: 0.0,
            events: sampling_events(profile, sample_index),
        }
    }

    /// A copy without the sites below [`COMPACT_MIN_SHARE`], for result files.
    pub fn compact(&self) -> SiteShares {
        let mut out = self.clone();
        out.sites
            .retain(|_, v| self.share_of(*v).abs() >= COMPACT_MIN_SHARE);
        if out.sites.len() != self.sites.len() {
            out.min_share = COMPACT_MIN_SHARE;
        }
        out
    }

    /// A function's share in percent (0 when it did not allocate).
    pub fn share(&self, function: &str) -> f64 {
        self.share_of(self.sites.get(function).copied().unwrap_or(0))
    }

    fn share_of(&self, value: i64) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            value as f64 / self.total as f64 * 100.0
        }
    }
}

/// A sample type's top table and every site's share, computed in one pass.
#[derive(Debug, Clone, Serialize)]
pub struct Ranking {
    /// The `go tool pprof -top` table.
    pub top: Top,
    /// Every site's flat value, for regression checks.
    pub shares: SiteShares,
}

impl Profile {
    /// [`Profile::top`] and [`SiteShares::from_profile`] together, sharing the work.
    ///
    /// # Panics
    /// If `sample_index` is not below `sample_types.len()`.
    pub fn rank(&self, sample_index: usize, n: usize) -> Ranking {
        let graph = Graph::new(self);
        let (flat, cum) = graph.values(self, sample_index);
        let opts = TopOptions {
            node_count: n,
            ..TopOptions::default()
        };
        Ranking {
            top: self.top_from(&graph, &flat, &cum, sample_index, &opts),
            shares: SiteShares::from_values(self, &graph, &flat, sample_index),
        }
    }
}

/// The sampling events behind one sample type's values, when goready knows how the profile
/// was sampled: a CPU profile's `samples` count (one per profiler tick), or a heap profile's
/// samples recovered from its scaled values. Go's heap profiler records an allocation of
/// `s` bytes with probability `1 - e^(-s/rate)` and scales each record's counts up by the
/// inverse (runtime/pprof's `scaleHeapSample`), so a record of `objects` objects of average
/// size `avg` holds `objects · (1 - e^(-avg/rate))` sampled allocations. Any other profile:
/// `None`, and comparisons say they cannot judge its noise.
pub fn sampling_events(profile: &Profile, sample_index: usize) -> Option<u64> {
    let ty = &profile.sample_types.get(sample_index)?.ty;
    let index = |name: &str| profile.sample_types.iter().position(|t| t.ty == name);
    if profile.period_type.ty == "cpu" {
        let i = profile
            .sample_types
            .iter()
            .position(|t| t.ty == "samples" && t.unit == "count")?;
        let sum: f64 = profile
            .samples
            .iter()
            .map(|(_, v)| v.get(i).copied().unwrap_or(0).max(0) as f64)
            .sum();
        return Some(sum.round() as u64);
    }
    let prefix = ty
        .strip_suffix("_space")
        .or_else(|| ty.strip_suffix("_objects"))?;
    let objects = index(&format!("{prefix}_objects"))?;
    let space = index(&format!("{prefix}_space"))?;
    let rate = profile.period as f64;
    let sum: f64 = profile
        .samples
        .iter()
        .map(|(_, v)| {
            let n = v.get(objects).copied().unwrap_or(0) as f64;
            let bytes = v.get(space).copied().unwrap_or(0) as f64;
            if n <= 0.0 || bytes <= 0.0 {
                0.0
            } else if rate <= 1.0 {
                // Every allocation was recorded.
                n
            } else {
                n * -(-(bytes / n) / rate).exp_m1()
            }
        })
        .sum();
    Some(sum.round() as u64)
}

/// A comparison judged against its noise: every function's growth with its interval.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// Every function of either side, largest growth first (its margins and lower bound
    /// filled in).
    pub growths: Vec<Growth>,
    /// Sampling events of the base.
    pub old_events: u64,
    /// Sampling events now.
    pub new_events: u64,
    /// Functions compared (what the confidence is shared among).
    pub compared: usize,
    /// The family-wise confidence ([`stats::CONFIDENCE`]).
    pub confidence: f64,
}

impl Judgement {
    /// What both comparisons record: the profile, the limit, each side's sampling events and
    /// the confidence, and for a function `g` its shares, growth and lower bound (a rule adds
    /// what only it knows, such as flat values in a unit).
    pub fn data(
        &self,
        profile: &str,
        sample_type: &str,
        max_growth: f64,
        g: Option<&Growth>,
    ) -> crate::model::data::RegressionData {
        use crate::model::data::RegressionData;
        RegressionData {
            profile: Some(profile.to_string()),
            sample_type: Some(sample_type.to_string()),
            max_growth_points: max_growth,
            old_events: Some(self.old_events),
            new_events: Some(self.new_events),
            compared: Some(self.compared),
            confidence: Some(self.confidence),
            ..g.map(|g| RegressionData {
                function: Some(g.function.clone()),
                old_share: Some(g.old_share),
                new_share: Some(g.new_share),
                growth_points: Some(g.growth),
                lower_bound: g.lower_bound,
                ..RegressionData::default()
            })
            .unwrap_or_default()
        }
    }

    /// The growths that are beyond both the noise and `limit` points: their lower bound
    /// exceeds the limit.
    pub fn beyond(&self, limit: f64) -> impl Iterator<Item = &Growth> {
        self.growths
            .iter()
            .filter(move |g| g.lower_bound.is_some_and(|lb| lb > limit))
    }

    /// `of 340/352 samples`-style words for the message.
    pub fn of_events(&self, what: &str) -> String {
        format!("of {}/{} {what}", self.old_events, self.new_events)
    }
}

/// [`compare`], with each growth's uncertainty from both sides' sampling events. An `Err`
/// says why the comparison cannot be judged (no event counts on a side, or no events at
/// all): never guessed, since a guess either flags noise or hides a change.
pub fn judge(base: &SiteShares, new: &SiteShares) -> Result<Judgement, String> {
    let Some(old_events) = base.events else {
        return Err(format!(
            "the baseline records no sample counts for its {} shares (a result file written \
             by an older goready), so a change cannot be told from noise; re-create the \
             baseline with this goready, or give the base's profile file",
            base.sample_type
        ));
    };
    let Some(new_events) = new.events else {
        return Err(format!(
            "goready does not know how this profile's {} values were sampled, so a change \
             cannot be told from noise",
            new.sample_type
        ));
    };
    if old_events == 0 || new_events == 0 {
        return Err(format!(
            "{} has no samples to compare ({old_events} in the baseline, {new_events} now)",
            new.sample_type
        ));
    }
    let mut growths = compare(base, new);
    let compared = growths.len();
    for g in &mut growths {
        let old = Sampled {
            share: g.old_share,
            events: old_events,
        };
        let now = Sampled {
            share: g.new_share,
            events: new_events,
        };
        g.old_margin = Some(old.margin(stats::CONFIDENCE));
        g.new_margin = Some(now.margin(stats::CONFIDENCE));
        g.lower_bound = Some(stats::growth_lower_bound(
            old,
            now,
            stats::CONFIDENCE,
            compared,
        ));
    }
    Ok(Judgement {
        growths,
        old_events,
        new_events,
        compared,
        confidence: stats::CONFIDENCE,
    })
}

/// `27.2% ± 6.2 → 37.2% ± 6.6` for a message (the margins when judged).
pub fn shares_text(g: &Growth) -> String {
    let pm = |m: Option<f64>| m.map(|m| format!(" ± {m:.1}")).unwrap_or_default();
    format!(
        "{:.1}%{} → {:.1}%{}",
        g.old_share,
        pm(g.old_margin),
        g.new_share,
        pm(g.new_margin)
    )
}

/// Every site of either profile with its old and new share, largest growth first (then by
/// name, so the order is stable).
pub fn compare(base: &SiteShares, new: &SiteShares) -> Vec<Growth> {
    let mut names: Vec<&String> = base.sites.keys().chain(new.sites.keys()).collect();
    names.sort();
    names.dedup();
    let mut out: Vec<Growth> = names
        .into_iter()
        .map(|name| {
            let old_share = base.share(name);
            let new_share = new.share(name);
            Growth {
                function: name.clone(),
                old_flat: base.sites.get(name).copied().unwrap_or(0),
                new_flat: new.sites.get(name).copied().unwrap_or(0),
                old_share,
                new_share,
                growth: new_share - old_share,
                ..Growth::default()
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.growth
            .total_cmp(&a.growth)
            .then_with(|| a.function.cmp(&b.function))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(total: i64, sites: &[(&str, i64)]) -> SiteShares {
        SiteShares {
            sample_type: "alloc_space".into(),
            unit: "bytes".into(),
            total,
            sites: sites.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            min_share: 0.0,
            events: None,
        }
    }

    #[test]
    fn growth_is_in_percentage_points_of_share() {
        let base = shares(1000, &[("a", 100), ("b", 900)]);
        // Twice the work, same mix: no growth.
        let same = shares(2000, &[("a", 200), ("b", 1800)]);
        assert!(compare(&base, &same).iter().all(|g| g.growth.abs() < 1e-9));
        // a goes from 10 % to 40 %; a new site c appears at 10 %.
        let new = shares(1000, &[("a", 400), ("b", 500), ("c", 100)]);
        let g = compare(&base, &new);
        assert_eq!(g[0].function, "a");
        assert!((g[0].growth - 30.0).abs() < 1e-9);
        assert_eq!(g[1].function, "c");
        assert!((g[1].old_share).abs() < 1e-9 && (g[1].new_share - 10.0).abs() < 1e-9);
        assert_eq!(g[2].function, "b");
        assert!((g[2].growth + 40.0).abs() < 1e-9);
    }

    #[test]
    fn judged_growths_carry_margins_and_only_those_beyond_noise_and_limit_count() {
        let mut base = shares(1000, &[("a", 300), ("b", 700)]);
        let mut new = shares(1000, &[("a", 380), ("b", 320), ("c", 300)]);
        // Without counts on either side there is nothing to judge on.
        assert!(judge(&base, &new).unwrap_err().contains("no sample counts"));
        base.events = Some(400);
        new.events = None;
        assert!(judge(&base, &new).unwrap_err().contains("does not know"));
        new.events = Some(400);
        let j = judge(&base, &new).unwrap();
        assert_eq!((j.compared, j.old_events, j.new_events), (3, 400, 400));
        assert!(j.growths.iter().all(|g| g.lower_bound.unwrap() < g.growth));
        // c: 0 % → 30 % is beyond noise and a 10-point limit; a: +8 points is neither.
        let flagged: Vec<String> = j.beyond(10.0).map(shares_text).collect();
        assert_eq!(flagged, ["0.0% ± 0.6 → 30.0% ± 5.9"]);
        assert_eq!(j.beyond(10.0).next().unwrap().function, "c");
        assert_eq!(j.of_events("samples"), "of 400/400 samples");
    }

    #[test]
    fn compact_drops_tiny_sites_and_says_so() {
        let s = shares(100_000, &[("big", 99_950), ("tiny", 50)]);
        let c = s.compact();
        assert_eq!(c.sites.len(), 1);
        assert_eq!(c.min_share, COMPACT_MIN_SHARE);
        assert_eq!(s.compact().share("big"), s.share("big"));
        let whole = shares(100, &[("x", 100)]).compact();
        assert_eq!(whole.min_share, 0.0);
    }
}
