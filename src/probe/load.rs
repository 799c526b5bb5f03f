//! A bounded load generator: N requests over C kept-alive connections to the service's main
//! address, so the allocation profile reflects real work and the latency distribution is
//! measured. Bounded in count and in time; every request has its own deadline.
//!
//! Two ways to send, as load testers name them:
//! - **closed loop** (default): each connection sends its next request as soon as the last
//!   answer arrived, so the concurrency is fixed and the rate is whatever the service
//!   sustains. Latency runs from the send.
//! - **open loop** (`--rate N/s`): request *i* is due at start + i/N whatever happened before;
//!   a free connection sends it then. Latency runs from that intended send time, so a stall
//!   of the service shows in every request it delayed rather than in the one it held up
//!   (coordinated omission; the correction wrk2 makes). Timers tick in milliseconds, so
//!   open-loop latencies carry up to 1 ms of scheduling slack.
//!
//! Connections are spread over a few threads (one current-thread runtime each, as many as
//! cores), and latencies go into an HDR histogram (microseconds, 3 significant digits): the
//! percentiles are those `oha` and `wrk` report, without keeping every sample.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::time::Instant;

use crate::cancel::Cancel;
use crate::http::{Conn, Endpoint, Request};
use crate::model::data::LatencyData;
use crate::model::{Check, CheckBuilder};

/// `GET /path`: what each request sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSpec {
    /// Method, upper case.
    pub method: String,
    /// Origin-form target, starting with `/`.
    pub target: String,
}

impl LoadSpec {
    /// Parses `GET /path?x=1` (a bare `/path` means GET).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split_whitespace();
        let (method, target) = match (parts.next(), parts.next(), parts.next()) {
            (Some(t), None, _) if t.starts_with('/') => ("GET", t),
            (Some(m), Some(t), None) => (m, t),
            _ => return Err(format!("--load {text:?}: write it as 'GET /path'")),
        };
        let method = method.to_ascii_uppercase();
        if !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("--load {text:?}: {method:?} is not an HTTP method"));
        }
        if !target.starts_with('/') {
            return Err(format!("--load {text:?}: the path must start with /"));
        }
        Ok(LoadSpec {
            method,
            target: target.to_string(),
        })
    }
}

/// What the load run did.
#[derive(Debug, Clone, Serialize)]
pub struct LoadStats {
    /// `GET /hello`.
    pub request: String,
    /// Where it went.
    pub url: String,
    /// `closed-loop` (fixed concurrency) or `open-loop` (fixed rate).
    pub mode: &'static str,
    /// The intended rate of an open-loop run, requests per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// What latency is measured from: `send` or `intended send time`.
    pub latency_from: &'static str,
    /// Requests asked for.
    pub requested: u64,
    /// Requests that got an HTTP answer.
    pub answered: u64,
    /// Of those, 2xx.
    pub ok: u64,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests without an answer (refused, reset, timed out).
    pub errors: u64,
    /// The first such error, for the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// True when the time limit stopped the run before all requests were sent.
    pub cut_short: bool,
    /// Connections used.
    pub concurrency: usize,
    /// Wall time.
    pub elapsed_ms: u64,
    /// Answered requests per second.
    pub rps: f64,
    /// Latency percentiles of answered requests (HDR histogram), ms.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// What one connection saw.
struct Tally {
    latency_us: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            // Auto-resizing, so no latency is ever out of range.
            latency_us: Histogram::new(3).expect("3 significant digits is a valid precision"),
            statuses: BTreeMap::new(),
            errors: 0,
            first_error: None,
        }
    }

    fn merge(&mut self, other: Tally) {
        // Both auto-resize: adding cannot fail for lack of range.
        let _ = self.latency_us.add(&other.latency_us);
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_insert(0) += v;
        }
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// The plan every connection task reads.
struct Plan {
    ep: Endpoint,
    spec: LoadSpec,
    requests: u64,
    rate: Option<f64>,
    next: AtomicU64,
    cut_short: AtomicBool,
    /// Asked before each request: a cancelled probe sends no more.
    cancel: Cancel,
}

/// Sends `requests` requests over `concurrency` kept-alive connections, stopping at `limit`:
/// in a closed loop (each connection sends its next request when the last one is answered),
/// or, with `rate`, in an open loop at that many requests per second (latency counted from
/// each request's intended send time, so a slow answer cannot hide the ones queued behind it).
pub fn run(
    ep: &Endpoint,
    spec: &LoadSpec,
    requests: u64,
    concurrency: usize,
    limit: Duration,
    rate: Option<f64>,
    cancel: &Cancel,
) -> LoadStats {
    let rate = rate.filter(|r| r.is_finite() && *r > 0.0);
    let concurrency = concurrency.clamp(1, 1024).min(requests.max(1) as usize);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(concurrency);
    let plan = Arc::new(Plan {
        ep: ep.clone(),
        spec: spec.clone(),
        requests,
        rate,
        next: AtomicU64::new(0),
        cut_short: AtomicBool::new(false),
        cancel: cancel.clone(),
    });
    let started = std::time::Instant::now();
    let start = Instant::from_std(started);
    let deadline = start + limit;
    let mut total = Tally::new();
    // Not crate::pool: these threads are not a pool of work items but one async runtime per
    // core, each driving its share of the connections for the whole run.
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                // Connections t, t + threads, ... belong to thread t.
                let conns = (t..concurrency).step_by(threads).count();
                let plan = plan.clone();
                s.spawn(move || {
                    let rt = match crate::http::runtime() {
                        Ok(rt) => rt,
                        Err(e) => {
                            let mut t = Tally::new();
                            t.first_error = Some(format!("cannot start a runtime: {e}"));
                            return t;
                        }
                    };
                    let tally = rt.block_on(async {
                        let mut set = tokio::task::JoinSet::new();
                        for _ in 0..conns {
                            set.spawn(connection(plan.clone(), start, deadline));
                        }
                        let mut tally = Tally::new();
                        while let Some(r) = set.join_next().await {
                            if let Ok(t) = r {
                                tally.merge(t);
                            }
                        }
                        tally
                    });
                    rt.shutdown_background();
                    tally
                })
            })
            .collect();
        for w in workers {
            if let Ok(t) = w.join() {
                total.merge(t);
            }
        }
    });
    let elapsed = started.elapsed();
    let h = &total.latency_us;
    let answered = h.len();
    let ms = |us: u64| us as f64 / 1000.0;
    let pct = |q: f64| {
        if answered == 0 {
            0.0
        } else {
            ms(h.value_at_quantile(q))
        }
    };
    LoadStats {
        request: format!("{} {}", spec.method, spec.target),
        url: ep.url(&spec.target),
        mode: if rate.is_some() {
            "open-loop"
        } else {
            "closed-loop"
        },
        rate,
        latency_from: if rate.is_some() {
            "intended send time"
        } else {
            "send"
        },
        requested: requests,
        answered,
        ok: total
            .statuses
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum(),
        statuses: total.statuses.clone(),
        errors: total.errors,
        first_error: total.first_error.clone(),
        cut_short: plan.cut_short.load(Ordering::Relaxed),
        concurrency,
        elapsed_ms: elapsed.as_millis() as u64,
        rps: answered as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ms: pct(0.5),
        p90_ms: pct(0.9),
        p99_ms: pct(0.99),
        max_ms: if answered == 0 { 0.0 } else { ms(h.max()) },
    }
}

/// One kept-alive connection sending requests until the plan runs out or the time is up;
/// a failed or closed connection is opened again for the next request.
async fn connection(plan: Arc<Plan>, start: Instant, deadline: Instant) -> Tally {
    let per_request = Duration::from_secs(10);
    let mut tally = Tally::new();
    let mut conn: Option<Conn> = None;
    let req = Request {
        method: &plan.spec.method,
        target: &plan.spec.target,
        headers: &[],
        body: &[],
        timeout: per_request,
        max_body: 16 << 20,
    };
    loop {
        let i = plan.next.fetch_add(1, Ordering::Relaxed);
        if i >= plan.requests {
            break;
        }
        let due = match plan.rate {
            Some(rate) => start + Duration::from_secs_f64(i as f64 / rate),
            None => Instant::now(),
        };
        if due >= deadline || Instant::now() >= deadline || plan.cancel.is_cancelled() {
            plan.cut_short.store(true, Ordering::Relaxed);
            break;
        }
        // Only an open loop waits: a timer, even one already due, yields until the next
        // millisecond tick, which would idle a closed-loop connection for most of it.
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        // Closed loop: from the send. Open loop: from when the request was due.
        let t0 = if plan.rate.is_some() {
            due
        } else {
            Instant::now()
        };
        let req_deadline = Instant::now() + per_request;
        let c = match conn.take() {
            Some(c) if c.is_open() => Ok(c),
            _ => Conn::open(&plan.ep, req_deadline).await,
        };
        let result = match c {
            Ok(mut c) => {
                let r = c.exchange_discard(&req, req_deadline).await;
                if r.is_ok() {
                    conn = Some(c);
                }
                r
            }
            Err(e) => Err(e),
        };
        match result {
            Ok((status, _)) => {
                let us = t0.elapsed().as_micros().min(u64::MAX as u128) as u64;
                // `record` grows the auto-resizing histogram; `saturating_record` would clamp
                // to its current range instead.
                if tally.latency_us.record(us.max(1)).is_err() {
                    tally.latency_us.saturating_record(us.max(1));
                }
                *tally.statuses.entry(status).or_insert(0) += 1;
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    tally
}

/// `p50 1.2 ms, p90 …, p99 …, max …`.
fn percentiles(l: &LoadStats) -> String {
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
    )
}

/// How the load was sent, for messages: what the percentiles mean.
fn shape(l: &LoadStats) -> String {
    match l.rate {
        Some(rate) => format!(
            "open loop at {rate} req/s over up to {} connections, latency from the intended send time",
            l.concurrency
        ),
        None => format!(
            "closed loop over {} connections: a stall delays the requests queued behind it \
             without showing in their latency; --rate N/s measures from the intended send time",
            l.concurrency
        ),
    }
}

/// `runtime.latency`: the load's p99 against `--max-p99`. `None` when there is neither a
/// load nor a budget (nothing to say).
pub fn judge_latency(
    load: Option<&LoadStats>,
    max_p99: Option<Duration>,
    c: CheckBuilder,
) -> Option<Check> {
    let Some(l) = load else {
        return max_p99
            .map(|_| c.skip("--max-p99 needs --load 'GET /path': no latency was measured"));
    };
    let c = c.data(LatencyData {
        mode: l.mode.to_string(),
        rate: l.rate,
        latency_from: l.latency_from.to_string(),
        concurrency: l.concurrency,
        answered: l.answered,
        p50_ms: l.p50_ms,
        p90_ms: l.p90_ms,
        p99_ms: l.p99_ms,
        max_ms: l.max_ms,
        max_p99_ms: max_p99.map(|d| d.as_secs_f64() * 1000.0),
        source: "HDR histogram of the --load requests that got an answer".into(),
    });
    if l.answered == 0 {
        return Some(c.skip(format!(
            "no --load request got an answer ({}), so there is no latency to judge",
            l.first_error.as_deref().unwrap_or("no request was sent")
        )));
    }
    let Some(max) = max_p99 else {
        return Some(c.skip(format!(
            "no --max-p99 budget given; {} of {} answers ({})",
            percentiles(l),
            l.answered,
            shape(l)
        )));
    };
    let budget = crate::duration::format(max);
    let max_ms = max.as_secs_f64() * 1000.0;
    Some(if l.p99_ms <= max_ms {
        c.pass(format!(
            "p99 {:.2} ms ≤ {budget} ({}; {} answers, {})",
            l.p99_ms,
            percentiles(l),
            l.answered,
            shape(l)
        ))
    } else {
        c.fail(format!(
            "p99 {:.2} ms exceeds --max-p99 {budget} ({}; {} answers, {}): at least one request \
             in a hundred is that slow; the CPU and mutex profiles taken under the same load show \
             where the time goes",
            l.p99_ms,
            percentiles(l),
            l.answered,
            shape(l)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_load_specs() {
        assert_eq!(
            LoadSpec::parse("GET /hello?name=x").unwrap(),
            LoadSpec {
                method: "GET".into(),
                target: "/hello?name=x".into()
            }
        );
        assert_eq!(LoadSpec::parse("/x").unwrap().method, "GET");
        assert_eq!(LoadSpec::parse("post /x").unwrap().method, "POST");
        for bad in ["", "GET", "GET x", "G3T /x", "GET /a /b"] {
            assert!(LoadSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nothing_listening_counts_errors_not_panics() {
        let ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        drop(ln);
        let stats = run(
            &Endpoint::at(addr),
            &LoadSpec::parse("GET /").unwrap(),
            5,
            2,
            Duration::from_secs(5),
            None,
            &Cancel::new(),
        );
        assert_eq!((stats.answered, stats.errors), (0, 5));
        assert!(stats.first_error.is_some());
    }

    #[test]
    fn a_cancelled_probe_sends_no_more_requests() {
        let ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        drop(ln);
        let cancel = Cancel::new();
        cancel.cancel(crate::cancel::Stopped::Interrupted);
        let stats = run(
            &Endpoint::at(addr),
            &LoadSpec::parse("GET /").unwrap(),
            1000,
            4,
            Duration::from_secs(30),
            None,
            &cancel,
        );
        assert_eq!((stats.answered, stats.errors), (0, 0), "{stats:?}");
        assert!(stats.cut_short);
    }
}
