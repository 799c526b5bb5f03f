//! Allocation regressions between two profiles: each function's *share* of the total
//! (its flat value over the sum of |value|, in percent), old against new. Shares rather
//! than bytes, so that a run that served twice the requests is not a regression; growth
//! in percentage points, so that a site going from 0.1 % to 0.3 % is not either.

use std::collections::BTreeMap;

use serde::Serialize;

use super::profile::Profile;
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
