//! Data of the profile rules: `runtime.allocs` and `runtime.cpu` (a ranked profile),
//! `runtime.alloc_regression` and `runtime.cpu_regression`, `runtime.contention`
//! (src/pprof/profile_rules.rs and src/probe/cpu.rs write it). The ranking types are the ones
//! src/pprof/top.rs computes; their methods live there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A sample value's type and unit, e.g. `alloc_space` in `bytes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueType {
    /// `alloc_space`, `inuse_objects`, `cpu`, ...
    #[serde(rename = "type")]
    pub ty: String,
    /// `bytes`, `count`, `nanoseconds`, ...
    pub unit: String,
}

/// What `Profile::drop_samples_with_frames` took out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedSamples {
    /// The frame prefixes asked for.
    pub frames: Vec<String>,
    /// How many samples were dropped.
    pub samples: usize,
    /// Their values summed, one per sample type (in `Profile::sample_types` order).
    pub values: Vec<i64>,
}

/// How a function was reached, when inlining is involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Inline {
    /// Only ever inlined into its callers.
    Inline,
    /// Inlined into some callers, called by others.
    PartialInline,
}

/// One row of the table, values in the sample type's unit (bytes, objects, ns).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopRow {
    /// The function (`main.handler`, `[binary]`, `<unknown>`).
    pub function: String,
    /// Value of the samples allocated (or spent) directly in this function.
    pub flat: i64,
    /// `flat` as a percentage of the total.
    #[serde(deserialize_with = "super::number")]
    pub flat_pct: f64,
    /// Running sum of `flat_pct` down the table.
    #[serde(deserialize_with = "super::number")]
    pub sum_pct: f64,
    /// Value of the samples with this function anywhere on the stack.
    pub cum: i64,
    /// `cum` as a percentage of the total.
    #[serde(deserialize_with = "super::number")]
    pub cum_pct: f64,
    /// `(inline)`/`(partial-inline)` mark, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<Inline>,
}

/// The ranking of one sample type of a profile (`go tool pprof -top`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Top {
    /// The sample type ranked, e.g. `alloc_space`/`bytes`.
    pub sample_type: ValueType,
    /// Its index in the profile.
    pub sample_index: usize,
    /// The sum of |value| over all samples: what percentages are of.
    pub total: i64,
    /// The sum of `flat` over the rows shown.
    pub shown: i64,
    /// Nodes left after the `nodefraction` cut.
    pub nodes: usize,
    /// Nodes below the cut (`Dropped N nodes`).
    pub dropped_nodes: usize,
    /// The |cum| a node needed to be kept.
    pub node_cutoff: i64,
    /// The unit the text table prints values in (pprof's `-unit=minimum` choice).
    pub output_unit: String,
    /// Samples left out before ranking (the profiler's own scrape), if any were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_out: Option<DroppedSamples>,
    /// The rows, largest |flat| first.
    pub rows: Vec<TopRow>,
    /// `nodefraction` used (for the `Dropped` line); not recorded.
    #[serde(skip)]
    pub node_fraction: f64,
    /// Rows asked for (for the `Showing top` line), 0 = all; not recorded.
    #[serde(skip)]
    pub node_count: usize,
}

/// Every allocation site's flat value of one sample type, with the total it is a share of.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteShares {
    /// The sample type, e.g. `alloc_space`.
    pub sample_type: String,
    /// Its unit, e.g. `bytes`.
    pub unit: String,
    /// The sum of |value| over all samples (what shares are of).
    pub total: i64,
    /// Flat value per function (pprof's node name).
    pub sites: BTreeMap<String, i64>,
    /// Sites whose |share| was below this (percent) were left out; 0 means none were.
    #[serde(default)]
    #[serde(deserialize_with = "super::number")]
    pub min_share: f64,
    /// The sampling events the shares are estimated from (CPU samples; heap samples, one
    /// per 512 KiB allocated on average): what a comparison's noise is measured in. Absent
    /// in result files written before comparisons needed it, and for profiles whose
    /// sampling goready does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
}

/// How one site's share changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Growth {
    /// The function.
    pub function: String,
    /// Its flat value in the base profile (0 if absent).
    pub old_flat: i64,
    /// Its flat value in the new profile (0 if absent).
    pub new_flat: i64,
    /// Its share in the base profile, percent.
    #[serde(deserialize_with = "super::number")]
    pub old_share: f64,
    /// Its share in the new profile, percent.
    #[serde(deserialize_with = "super::number")]
    pub new_share: f64,
    /// `new_share - old_share`, percentage points.
    #[serde(deserialize_with = "super::number")]
    pub growth: f64,
    /// Half-width of the old share's 99 % interval, points (absent: not judged on counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_margin: Option<f64>,
    /// Half-width of the new share's 99 % interval, points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_margin: Option<f64>,
    /// The least the share grew, points, at the comparison's family-wise confidence: what
    /// is held against the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<f64>,
}

/// `runtime.allocs` / `runtime.cpu`: a decoded profile's rankings and compact shares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileData {
    /// CPU: the seconds profiled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    /// Samples in the profile.
    pub samples: usize,
    /// Its sample types (`alloc_space`, …).
    pub sample_types: Vec<String>,
    /// Samples left out before ranking.
    pub left_out: Option<DroppedSamples>,
    /// One ranking per sample type ranked: the `go tool pprof -top` tables.
    pub rankings: Vec<Top>,
    /// Compact site shares, for a later `--base`.
    pub shares: Vec<SiteShares>,
    /// The command that reproduces the ranking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<String>,
    /// The live probe's profile URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Profiles saved by the probe (name → path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<BTreeMap<String, String>>,
    /// `go test -memprofile`: where the profile was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// `runtime.alloc_regression` / `runtime.cpu_regression`: a failing check names one site's
/// growth; the passing one the limit and the largest growth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegressionData {
    /// The profile compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The sample type compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_type: Option<String>,
    /// Its unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Its flat value in the base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_flat: Option<i64>,
    /// Its flat value now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_flat: Option<i64>,
    /// Its share in the base, percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_share: Option<f64>,
    /// Its share now, percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_share: Option<f64>,
    /// The growth, percentage points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth_points: Option<f64>,
    /// The limit.
    #[serde(deserialize_with = "super::number")]
    pub max_growth_points: f64,
    /// The base's compaction threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_min_share: Option<f64>,
    /// Sampling events behind the base's shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_events: Option<u64>,
    /// Sampling events behind the new shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_events: Option<u64>,
    /// Functions compared (the Bonferroni count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared: Option<usize>,
    /// The family-wise confidence a growth is held to (0.99).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The growth's lower bound at that confidence, points (failing checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<f64>,
    /// Passing: the largest growth (absent when the profiles share no site).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub largest: Option<Growth>,
}

/// One contention profile's ranking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileRanking {
    /// `mutex` or `block`.
    pub profile: String,
    /// Its ranking.
    pub ranking: Top,
}

/// `runtime.contention`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContentionData {
    /// The profiles with samples.
    pub rankings: Vec<ProfileRanking>,
    /// Those without (and why).
    pub without_samples: Vec<String>,
}
