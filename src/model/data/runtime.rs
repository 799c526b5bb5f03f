//! Data of the `runtime` suite's live rules (src/probe/ writes it).

use serde::{Deserialize, Serialize};

use super::Facts;

/// One soak round's reading, after its forced GC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Round {
    /// 0 for the state after the first load.
    pub round: u32,
    /// Since the first load ended.
    pub at_ms: u64,
    /// Requests sent in all rounds so far (the first load's included).
    pub requests: u64,
    /// Of this round's requests, those that got a 2xx.
    pub ok: u64,
    /// `runtime.MemStats.HeapInuse` after the GC.
    pub heap_inuse: u64,
    /// `goroutine profile: total N`.
    pub goroutines: u64,
}

/// `runtime.start`: how the service was started and got ready (or did not).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StartData {
    /// The command line.
    pub command: Facts,
    /// Its pid.
    pub pid: Facts,
    /// The address probed.
    pub addr: Facts,
    /// The admin (pprof) address, if apart.
    pub admin: Facts,
    /// How readiness went.
    pub readiness: Facts,
    /// Its process tree.
    pub processes: Facts,
    /// How it died, if it did.
    pub died: Facts,
    /// The last lines it printed.
    pub output_tail: String,
    /// Files saved (name → path).
    pub artifacts: Facts,
}

/// `runtime.pprof_registered`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegisteredData {
    /// The pprof index as scraped.
    pub pprof: Facts,
    /// The service's listening sockets.
    pub sockets: Facts,
    /// Files saved.
    pub artifacts: Facts,
}

/// `runtime.pprof_exposed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExposedData {
    /// The service's listening sockets and what answered on each.
    pub sockets: Facts,
    /// The main (public) port.
    pub public_port: Facts,
}

/// `runtime.heap_budget`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeapBudgetData {
    /// `runtime.MemStats` as the heap profile's debug text has it.
    pub memstats: Facts,
    /// The budget.
    pub max_heap_mb: Option<f64>,
    /// Where the number comes from.
    pub source: String,
    /// GODEBUG=gctrace=1 lines seen.
    pub gctrace: Facts,
    /// Files saved.
    pub artifacts: Facts,
}

/// `runtime.load`: the load run's statistics as the probe records them (`LoadStats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LoadData(pub Facts);

/// `runtime.latency`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LatencyData {
    /// `closed-loop` or `open-loop`.
    pub mode: String,
    /// An open-loop run's rate, requests per second.
    pub rate: Option<f64>,
    /// `send` or `intended send time`.
    pub latency_from: String,
    /// Connections used.
    pub concurrency: usize,
    /// Requests answered.
    pub answered: u64,
    /// Median, ms.
    #[serde(deserialize_with = "super::number")]
    pub p50_ms: f64,
    /// 90th percentile, ms.
    #[serde(deserialize_with = "super::number")]
    pub p90_ms: f64,
    /// 99th percentile, ms.
    #[serde(deserialize_with = "super::number")]
    pub p99_ms: f64,
    /// Slowest, ms.
    #[serde(deserialize_with = "super::number")]
    pub max_ms: f64,
    /// The `--max-p99` budget, ms.
    pub max_p99_ms: Option<f64>,
    /// Where the numbers come from.
    pub source: String,
}

/// `runtime.version`: the service's `--version` run as the probe records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VersionRunData(pub Facts);

/// `runtime.memlimit`: the cgroup limit and GOMEMLIMIT as the probe records them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MemlimitData(pub Facts);

/// `runtime.shutdown`: how the service stopped, as the probe records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShutdownData(pub Facts);

/// `runtime.drain`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DrainData {
    /// The requests in flight at SIGTERM and how each ended.
    pub drain: Facts,
    /// How the service stopped.
    pub stop: Facts,
}

/// `runtime.goroutine_leak`: the soak's goroutine series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoroutineLeakData {
    /// The rounds.
    pub rounds: Vec<Round>,
    /// Goroutines after the settle period.
    pub settled_goroutines: Option<u64>,
    /// The settle period.
    pub settle_ms: u64,
    /// The stacks that grew.
    pub grown_stacks: Facts,
    /// The limit.
    pub max_goroutine_growth: u64,
    /// Scrapes that failed.
    pub scrape_errors: Vec<String>,
}

/// `runtime.heap_growth`: the soak's heap series; the job summary draws `rounds`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeapGrowthData {
    /// The rounds.
    pub rounds: Vec<Round>,
    /// The fitted growth over the soak, bytes.
    #[serde(deserialize_with = "super::number")]
    pub fitted_growth_bytes: f64,
    /// The fitted growth per request, bytes.
    #[serde(deserialize_with = "super::number")]
    pub bytes_per_request: f64,
    /// Spearman's rank correlation of the heap with the rounds.
    #[serde(deserialize_with = "super::number")]
    pub trend: f64,
    /// The limit.
    #[serde(deserialize_with = "super::number")]
    pub max_heap_growth_mb: f64,
    /// The sites that grew most (first heap profile → last).
    pub growing_sites: Facts,
    /// Why the sites are unknown.
    pub sites_error: Option<String>,
    /// The command that reproduces the site list.
    pub reproduce: String,
    /// Scrapes that failed.
    pub scrape_errors: Vec<String>,
}
