//! A bounded load generator: N requests over C kept-alive connections to the service's main
//! address, so the allocation profile reflects real work. Bounded in count and in time; every
//! request has its own deadline.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::http::{Conn, Endpoint, Request};

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
    /// Latency percentiles of answered requests, ms.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// Sends `requests` requests over `concurrency` connections, stopping at `limit`.
pub fn run(
    ep: &Endpoint,
    spec: &LoadSpec,
    requests: u64,
    concurrency: usize,
    limit: Duration,
) -> LoadStats {
    let concurrency = concurrency.clamp(1, 1024).min(requests.max(1) as usize);
    let next = AtomicU64::new(0);
    let started = Instant::now();
    let deadline = started + limit;
    let per_request = Duration::from_secs(10);
    let shared = Mutex::new((
        Vec::<f64>::new(),
        BTreeMap::<u16, u64>::new(),
        0u64,
        None::<String>,
    ));
    let cut_short = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..concurrency {
            s.spawn(|| {
                let mut conn: Option<Conn> = None;
                let mut latencies = Vec::new();
                let mut statuses = BTreeMap::new();
                let mut errors = 0u64;
                let mut first_error = None;
                loop {
                    if next.fetch_add(1, Ordering::Relaxed) >= requests {
                        break;
                    }
                    let now = Instant::now();
                    if now >= deadline {
                        cut_short.store(true, Ordering::Relaxed);
                        break;
                    }
                    let req = Request {
                        method: &spec.method,
                        target: &spec.target,
                        headers: &[],
                        timeout: per_request,
                        max_body: 16 << 20,
                    };
                    let req_deadline = (now + per_request).min(deadline + per_request);
                    let result = match conn.as_mut() {
                        Some(c) => c.exchange(&req, req_deadline, true),
                        None => match Conn::open(ep, per_request) {
                            Ok(c) => conn.insert(c).exchange(&req, req_deadline, true),
                            Err(e) => Err(e),
                        },
                    };
                    match result {
                        Ok(resp) => {
                            latencies.push(now.elapsed().as_secs_f64() * 1000.0);
                            *statuses.entry(resp.status).or_insert(0) += 1;
                            if !resp.keep_alive {
                                conn = None;
                            }
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| e.to_string());
                            conn = None;
                        }
                    }
                }
                let mut all = shared.lock().unwrap_or_else(|p| p.into_inner());
                all.0.extend(latencies);
                for (k, v) in statuses {
                    *all.1.entry(k).or_insert(0) += v;
                }
                all.2 += errors;
                if all.3.is_none() {
                    all.3 = first_error;
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let (mut lat, statuses, errors, first_error) =
        shared.into_inner().unwrap_or_else(|p| p.into_inner());
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
        lat[i.min(lat.len() - 1)]
    };
    let answered = lat.len() as u64;
    LoadStats {
        request: format!("{} {}", spec.method, spec.target),
        url: ep.url(&spec.target),
        requested: requests,
        answered,
        ok: statuses
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum(),
        statuses,
        errors,
        first_error,
        cut_short: cut_short.load(Ordering::Relaxed),
        concurrency,
        elapsed_ms: elapsed.as_millis() as u64,
        rps: answered as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: lat.last().copied().unwrap_or(0.0),
    }
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
        );
        assert_eq!((stats.answered, stats.errors), (0, 5));
        assert!(stats.first_error.is_some());
    }
}
