//! `--drain 'GET /slow'`: the stop of the probe, with such requests in flight when SIGTERM
//! is sent. Each must still get its answer, and the service must exit 0 within `--grace`
//! (`runtime.drain`); what cut a request off — a reset, an EOF, a 5xx — is named.
//!
//! A request counts as in flight only when that is proven at SIGTERM: its bytes had been
//! written to the socket, no byte of its answer had been read, and a peek at the socket just
//! before the signal found none waiting. To get there, the request is first sent
//! [`PROBES`] times to learn how long it takes, and SIGTERM goes out a third of its fastest
//! answer after the drain's requests are written. A request too fast to be held, or a stop
//! at which none was held, leaves the rule not evaluated (a skip that says why), never a
//! pass.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::live::{InFlight, Outcome};
use super::load::LoadSpec;
use super::service::{Service, StopReport};
use crate::http::{Endpoint, Wire};
use crate::model::data::{DrainData, facts};
use crate::model::{Check, CheckBuilder};

/// What `--drain` asks for.
#[derive(Debug, Clone)]
pub struct DrainPlan {
    /// The slow request.
    pub spec: LoadSpec,
    /// `--drain-requests`: how many are sent before SIGTERM.
    pub requests: usize,
}

/// How many times the request is sent, one at a time each on its own connection but all at
/// once, to learn its latency before the stop.
pub const PROBES: usize = 3;

/// How long a latency probe may wait for its answer; one that gets none by then counts as
/// taking at least this long.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// The fastest answer a request may give and still be held in flight: SIGTERM goes out a
/// third of it after the requests are written, and below a few milliseconds thread wake-ups
/// on a busy CI machine are as long as that.
pub const MIN_LATENCY: Duration = Duration::from_millis(20);

/// The longest wait between the last request written and SIGTERM.
const MAX_HOLD: Duration = Duration::from_secs(1);

/// How long the drain's requests get to be written (they connect first, so this is only
/// their threads starting).
const WRITE_WITHIN: Duration = Duration::from_secs(2);

/// What a drain request may take beyond the grace period, the wait before SIGTERM and its
/// writing, before it is cut.
const REQUEST_MARGIN: Duration = Duration::from_secs(5);

/// The most a drain adds to a stop beyond the grace period, for the probe's time bound.
pub const EXTRA_TIME: Duration = PROBE_LIMIT
    .saturating_add(WRITE_WITHIN)
    .saturating_add(MAX_HOLD)
    .saturating_add(REQUEST_MARGIN);

/// One drain request: when its bytes crossed the socket, relative to SIGTERM, and how it
/// ended.
#[derive(Debug, Clone, Serialize)]
pub struct Drained {
    /// When its last byte was written, ms from SIGTERM (negative: before it); absent when it
    /// was never written (no connection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_ms: Option<f64>,
    /// When the first byte of its answer was read, ms from SIGTERM; absent when none came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_ms: Option<f64>,
    /// When its exchange ended (the whole answer read, or the connection cut), ms from
    /// SIGTERM.
    pub ended_ms: f64,
    /// A peek at its socket just before SIGTERM found no answer waiting and no close.
    pub unanswered_at_sigterm: bool,
    /// Its status, when it got an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `reset`, `EOF`, `timeout`, `refused`, when it got none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<String>,
    /// The error as read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Drained {
    /// In flight at SIGTERM, as proven: written before it, and unanswered then — no byte of
    /// an answer read before it, none waiting in the socket.
    pub fn in_flight(&self) -> bool {
        self.sent_ms.is_some_and(|t| t < 0.0)
            && self.unanswered_at_sigterm
            && self.answered_ms.is_none_or(|t| t >= 0.0)
    }

    /// It got a 2xx or 3xx answer.
    pub fn completed(&self) -> bool {
        self.status.is_some_and(|s| (200..400).contains(&s))
    }
}

/// What the drain saw.
#[derive(Debug, Clone, Serialize)]
pub struct DrainFacts {
    /// `GET /slow`.
    pub request: String,
    /// The request's latency in the probes before the stop, ms from its last byte written to
    /// the first byte of its answer (a probe without an answer within 5 s counts as 5000).
    pub probe_ms: Vec<f64>,
    /// Why the probes gave no latency to time SIGTERM by (an error status, a cut), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_problem: Option<String>,
    /// Time from the last drain request written to SIGTERM, ms; absent when none was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_ms: Option<f64>,
    /// Each drain request, in the order they were sent; empty when the probes showed that
    /// none could be held in flight.
    pub requests: Vec<Drained>,
}

impl DrainFacts {
    /// The requests proven in flight at SIGTERM.
    pub fn in_flight(&self) -> impl Iterator<Item = &Drained> {
        self.requests.iter().filter(|r| r.in_flight())
    }

    /// The fastest probe, ms.
    fn fastest_ms(&self) -> Option<f64> {
        self.probe_ms.iter().copied().reduce(f64::min)
    }
}

/// `t` in ms from `zero` (negative: before it).
fn ms_from(zero: Instant, t: Instant) -> f64 {
    if t >= zero {
        (t - zero).as_secs_f64() * 1e3
    } else {
        -((zero - t).as_secs_f64() * 1e3)
    }
}

/// Sends the request [`PROBES`] times at once and returns each latency, ms; an error status
/// or a cut is the reason no latency can be had.
fn probe_latency(main: &Endpoint, spec: &LoadSpec) -> Result<Vec<f64>, String> {
    let flights: Vec<InFlight> = (0..PROBES)
        .map(|_| InFlight::open(main, spec, PROBE_LIMIT))
        .collect();
    let wires: Vec<Option<Arc<Wire>>> = flights.iter().map(InFlight::wire).collect();
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = flights
            .into_iter()
            .map(|f| s.spawn(move || f.finish().0))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or(Outcome::Cut(
                    "EOF",
                    "the request's thread panicked".to_string(),
                ))
            })
            .collect()
    });
    let request = format!("{} {}", spec.method, spec.target);
    let mut latencies = Vec::new();
    for (wire, outcome) in wires.iter().zip(outcomes) {
        match outcome {
            Outcome::Status(s) if (200..400).contains(&s) => {
                let times = wire
                    .as_ref()
                    .and_then(|w| Some((w.written_at()?, w.answered_at()?)));
                if let Some((sent, answered)) = times {
                    latencies.push(ms_from(sent, answered));
                }
            }
            Outcome::Status(s) => {
                return Err(format!("{request} answered {s} before any SIGTERM"));
            }
            Outcome::Cut("timeout", _) => latencies.push(PROBE_LIMIT.as_secs_f64() * 1e3),
            Outcome::Cut(kind, e) => {
                return Err(format!(
                    "{request} got no answer before any SIGTERM ({kind}: {e})"
                ));
            }
        }
    }
    if latencies.is_empty() {
        return Err(format!("{request}'s latency could not be measured"));
    }
    Ok(latencies)
}

/// Stops the service (SIGTERM, SIGKILL after `grace`) with the drain requests in flight:
/// probes the request's latency, sends `plan.requests` of them, and signals a third of the
/// fastest latency after the last one is written; each request's times are kept, so that
/// [`check`] counts only those proven in flight.
pub fn stop_draining(
    svc: &mut Service,
    main: &Endpoint,
    plan: &DrainPlan,
    grace: Duration,
) -> (StopReport, DrainFacts) {
    let n = plan.requests.clamp(1, 256);
    let mut facts = DrainFacts {
        request: format!("{} {}", plan.spec.method, plan.spec.target),
        probe_ms: Vec::new(),
        probe_problem: None,
        hold_ms: None,
        requests: Vec::new(),
    };
    match probe_latency(main, &plan.spec) {
        Ok(ms) => facts.probe_ms = ms,
        Err(problem) => {
            facts.probe_problem = Some(problem);
            return (svc.stop(grace), facts);
        }
    }
    let fastest = facts.fastest_ms().unwrap_or(0.0);
    if fastest < MIN_LATENCY.as_secs_f64() * 1e3 {
        return (svc.stop(grace), facts);
    }
    let hold = Duration::from_secs_f64(fastest / 3e3).min(MAX_HOLD);
    // Every request may take the whole grace period plus its own time; then it is cut.
    let limit = grace + WRITE_WITHIN + hold + REQUEST_MARGIN;
    let flights: Vec<InFlight> = (0..n)
        .map(|_| InFlight::open(main, &plan.spec, limit))
        .collect();
    let wires: Vec<Option<Arc<Wire>>> = flights.iter().map(InFlight::wire).collect();
    let (stop, quiet, sigterm, last_sent, ends) = std::thread::scope(|s| {
        let handles: Vec<_> = flights
            .into_iter()
            .map(|f| s.spawn(move || f.finish()))
            .collect();
        let by = Instant::now() + WRITE_WITHIN;
        while Instant::now() < by
            && wires.iter().zip(&handles).any(|(w, h)| {
                w.as_ref().is_some_and(|w| w.written_at().is_none()) && !h.is_finished()
            })
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        let last_sent = wires.iter().filter_map(|w| w.as_ref()?.written_at()).max();
        if let Some(at) = last_sent {
            std::thread::sleep((at + hold).saturating_duration_since(Instant::now()));
        }
        // The proof, then at once the signal: a peek per socket takes microseconds.
        let quiet: Vec<bool> = wires
            .iter()
            .map(|w| w.as_ref().is_some_and(|w| w.unanswered_now()))
            .collect();
        let sigterm = Instant::now();
        let stop = svc.stop(grace);
        let ends: Vec<(Outcome, Instant)> = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    (
                        Outcome::Cut("EOF", "the request's thread panicked".to_string()),
                        Instant::now(),
                    )
                })
            })
            .collect();
        (stop, quiet, sigterm, last_sent, ends)
    });
    facts.hold_ms = last_sent.map(|at| ms_from(at, sigterm));
    facts.requests = ends
        .into_iter()
        .zip(wires.iter().zip(quiet))
        .map(|((outcome, ended), (wire, quiet))| {
            let (status, cut, error) = match outcome {
                Outcome::Status(s) => (Some(s), None, None),
                Outcome::Cut(kind, e) => (None, Some(kind.to_string()), Some(e)),
            };
            Drained {
                sent_ms: wire
                    .as_ref()
                    .and_then(|w| w.written_at())
                    .map(|t| ms_from(sigterm, t)),
                answered_ms: wire
                    .as_ref()
                    .and_then(|w| w.answered_at())
                    .map(|t| ms_from(sigterm, t)),
                ended_ms: ms_from(sigterm, ended),
                unanswered_at_sigterm: quiet,
                status,
                cut,
                error,
            }
        })
        .collect();
    (stop, facts)
}

/// A millisecond figure as people read it: whole above 10, one decimal below.
fn ms(v: f64) -> String {
    if v.abs() >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `a–b ms`, or `a ms` when both read the same.
fn span(values: impl Iterator<Item = f64>) -> String {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if ms(lo) == ms(hi) {
        format!("{} ms", ms(lo))
    } else {
        format!("{}–{} ms", ms(lo), ms(hi))
    }
}

/// `runtime.drain`: at least one request was proven in flight at SIGTERM, every one of them
/// got a 2xx or 3xx, and the service exited 0 within the grace period. With none proven in
/// flight the rule is not evaluated: a skip that says why and what to pass instead.
pub fn check(d: &DrainFacts, stop: Option<&StopReport>, c: CheckBuilder) -> Check {
    let c = c.data(DrainData {
        drain: facts(d),
        stop: facts(stop),
    });
    if let Some(problem) = &d.probe_problem {
        return c.skip(format!(
            "not evaluated: {problem}; give --drain a request that succeeds and takes at \
             least {} ms",
            MIN_LATENCY.as_millis()
        ));
    }
    let fastest = d.fastest_ms().unwrap_or(0.0);
    if d.requests.is_empty() {
        return c.skip(format!(
            "not evaluated: {} answered in {} ms at the fastest of {} probes, too fast to be \
             held in flight while SIGTERM goes out; give --drain a request that takes at least \
             {} ms (an endpoint that waits on a slow dependency, or a handler that sleeps)",
            d.request,
            ms(fastest),
            d.probe_ms.len(),
            MIN_LATENCY.as_millis()
        ));
    }
    let held: Vec<&Drained> = d.in_flight().collect();
    let sent = d.requests.len();
    if held.is_empty() {
        let answered = d
            .requests
            .iter()
            .filter(|r| r.sent_ms.is_some_and(|t| t < 0.0))
            .count();
        return c.skip(format!(
            "not evaluated: none of {sent} × {} was in flight at SIGTERM ({answered} written \
             before it, every one already answered or closed; fastest probe {} ms); give \
             --drain a slower request",
            d.request,
            ms(fastest)
        ));
    }
    let mut how: BTreeMap<String, usize> = BTreeMap::new();
    for r in &held {
        match (&r.status, &r.cut) {
            _ if r.completed() => {}
            (Some(s), _) => *how.entry(format!("{s}")).or_default() += 1,
            (None, Some(kind)) => *how.entry(kind.clone()).or_default() += 1,
            (None, None) => *how.entry("no answer".into()).or_default() += 1,
        }
    }
    let cut: usize = how.values().sum();
    let exit = match stop {
        None => Some("goready did not stop the service".to_string()),
        Some(s) if s.exited_before_stop => {
            Some("the service had already exited before SIGTERM".into())
        }
        Some(s) if !s.graceful => Some(format!(
            "it did not exit within the grace period ({}) and got SIGKILL",
            crate::duration::format(Duration::from_millis(s.grace_ms))
        )),
        Some(s) => match &s.exit {
            Some(e) if e.code == Some(0) => None,
            Some(e) => Some(format!(
                "it exited with {} {} ms after SIGTERM",
                e.description,
                s.main_exit_ms.unwrap_or(0)
            )),
            None => Some("its exit status is unknown".into()),
        },
    };
    let seen = format!(
        "{} of {sent} × {} in flight at SIGTERM (written {} before it, unanswered)",
        held.len(),
        d.request,
        span(held.iter().filter_map(|r| r.sent_ms).map(|t| -t)),
    );
    if cut == 0 && exit.is_none() {
        let exited = match stop.and_then(|s| s.main_exit_ms) {
            Some(ms) => format!("{ms} ms after SIGTERM"),
            None => "within the grace period".to_string(),
        };
        return c.pass(format!(
            "{seen}: all completed, {} after it; exited 0 {exited}",
            span(held.iter().map(|r| r.ended_ms)),
        ));
    }
    let mut parts = Vec::new();
    if cut > 0 {
        let kinds: Vec<String> = how.iter().map(|(k, n)| format!("{n} × {k}")).collect();
        parts.push(format!(
            "{seen}: {cut} cut off ({}), {} after it",
            kinds.join(", "),
            span(held.iter().filter(|r| !r.completed()).map(|r| r.ended_ms)),
        ));
    } else {
        parts.push(format!("{seen}: all completed"));
    }
    if let Some(e) = exit {
        parts.push(e);
    }
    c.fail(format!(
        "{}. On SIGTERM stop accepting, finish what is in flight and exit 0: \
         signal.NotifyContext, then http.Server.Shutdown with a deadline below the grace period",
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probe::service::ExitFacts;
    use crate::registry;

    fn facts(requests: &[Drained]) -> DrainFacts {
        DrainFacts {
            request: "GET /slow".into(),
            probe_ms: vec![301.0, 300.2, 300.5],
            probe_problem: None,
            hold_ms: Some(100.0),
            requests: requests.to_vec(),
        }
    }

    /// Written 100 ms before SIGTERM, unanswered then, answered 200 ms after it.
    fn held_ok() -> Drained {
        Drained {
            sent_ms: Some(-100.0),
            answered_ms: Some(200.0),
            ended_ms: 200.5,
            unanswered_at_sigterm: true,
            status: Some(200),
            cut: None,
            error: None,
        }
    }

    fn held_cut(kind: &str) -> Drained {
        Drained {
            answered_ms: None,
            ended_ms: 15.0,
            status: None,
            cut: Some(kind.into()),
            error: Some("connection failed".into()),
            ..held_ok()
        }
    }

    fn stop(code: Option<i32>, signal: Option<i32>) -> StopReport {
        StopReport {
            exited_before_stop: false,
            exit: Some(ExitFacts {
                code,
                signal,
                description: "x".into(),
            }),
            graceful: true,
            main_exit_ms: Some(900),
            killed: vec![],
            leftover: vec![],
            grace_ms: 5000,
        }
    }

    fn judge(d: &DrainFacts, s: &StopReport) -> Check {
        check(d, Some(s), Check::of(&registry::RUNTIME_DRAIN))
    }

    #[test]
    fn requests_held_in_flight_and_answered_with_exit_0_pass_saying_what_was_seen() {
        let c = judge(&facts(&[held_ok(), held_ok()]), &stop(Some(0), None));
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert_eq!(
            c.message,
            "2 of 2 × GET /slow in flight at SIGTERM (written 100 ms before it, unanswered): \
             all completed, 200 ms after it; exited 0 900 ms after SIGTERM"
        );
    }

    #[test]
    fn cut_requests_are_counted_by_how() {
        let five = Drained {
            status: Some(503),
            cut: None,
            error: None,
            ..held_ok()
        };
        let c = judge(
            &facts(&[held_ok(), held_cut("reset"), held_cut("reset"), five]),
            &stop(None, Some(15)),
        );
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message.starts_with(
                "4 of 4 × GET /slow in flight at SIGTERM (written 100 ms before it, \
                 unanswered): 3 cut off (1 × 503, 2 × reset)"
            ),
            "{}",
            c.message
        );
    }

    #[test]
    fn requests_answered_before_sigterm_are_not_counted_as_in_flight() {
        // The bug this rule once had: answered 15 ms before the signal, then "drained".
        let early = Drained {
            answered_ms: Some(-15.0),
            ended_ms: -14.0,
            ..held_ok()
        };
        assert!(!early.in_flight());
        let c = judge(&facts(&[early.clone(), early]), &stop(Some(0), None));
        assert_eq!(c.status, Status::Skip, "{}", c.message);
        assert!(
            c.message.starts_with(
                "not evaluated: none of 2 × GET /slow was in flight at SIGTERM (2 written"
            ),
            "{}",
            c.message
        );
        // One really held and cut among answered ones: the count says 1, and it fails.
        let answered = Drained {
            answered_ms: Some(-1.0),
            ..held_ok()
        };
        let c = judge(
            &facts(&[answered.clone(), held_cut("EOF"), answered]),
            &stop(Some(0), None),
        );
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message
                .starts_with("1 of 3 × GET /slow in flight at SIGTERM"),
            "{}",
            c.message
        );
    }

    #[test]
    fn a_request_too_fast_to_hold_is_not_evaluated_and_says_what_to_pass() {
        let mut d = facts(&[]);
        d.probe_ms = vec![0.4, 0.3, 0.5];
        d.hold_ms = None;
        let c = judge(&d, &stop(Some(0), None));
        assert_eq!(c.status, Status::Skip);
        assert!(
            c.message
                .contains("answered in 0.3 ms at the fastest of 3 probes")
                && c.message.contains("at least 20 ms"),
            "{}",
            c.message
        );
        let mut d = facts(&[]);
        d.probe_problem = Some("GET /slow answered 404 before any SIGTERM".into());
        let c = judge(&d, &stop(Some(0), None));
        assert_eq!(c.status, Status::Skip);
        assert!(c.message.contains("answered 404"), "{}", c.message);
    }

    /// Every combination of one request's evidence, two requests at a time and every kind of
    /// stop: a pass needs at least one request proven in flight (written before SIGTERM, no
    /// answer read before it, none waiting in its socket), every such request answered 2xx or
    /// 3xx, and an exit 0 within the grace period.
    #[test]
    fn a_pass_cannot_be_produced_without_its_evidence() {
        let mut each = Vec::new();
        for sent in [None, Some(-50.0), Some(5.0)] {
            for answered in [None, Some(-10.0), Some(40.0)] {
                for quiet in [false, true] {
                    for (status, cut) in [
                        (Some(200), None),
                        (Some(503), None),
                        (None, Some("EOF".to_string())),
                    ] {
                        each.push(Drained {
                            sent_ms: sent,
                            answered_ms: answered,
                            ended_ms: 60.0,
                            unanswered_at_sigterm: quiet,
                            status,
                            cut: cut.clone(),
                            error: None,
                        });
                    }
                }
            }
        }
        let stops = [
            stop(Some(0), None),
            stop(Some(1), None),
            stop(None, Some(15)),
            StopReport {
                graceful: false,
                ..stop(None, Some(9))
            },
            StopReport {
                exited_before_stop: true,
                ..stop(Some(0), None)
            },
        ];
        let mut passes = 0;
        for a in &each {
            for b in &each {
                for s in &stops {
                    let d = facts(&[a.clone(), b.clone()]);
                    let c = judge(&d, s);
                    if c.status != Status::Pass {
                        continue;
                    }
                    passes += 1;
                    let held: Vec<&Drained> =
                        [a, b].into_iter().filter(|r| r.in_flight()).collect();
                    assert!(!held.is_empty(), "{a:?} {b:?}: {}", c.message);
                    for r in &held {
                        assert!(r.sent_ms.unwrap() < 0.0 && r.unanswered_at_sigterm);
                        assert!(r.answered_ms.is_none_or(|t| t >= 0.0));
                        assert!((200..400).contains(&r.status.unwrap()));
                    }
                    assert_eq!(s.exit.as_ref().unwrap().code, Some(0));
                    assert!(s.graceful && !s.exited_before_stop);
                    assert!(
                        c.message
                            .starts_with(&format!("{} of 2 × GET /slow in flight", held.len())),
                        "{}",
                        c.message
                    );
                }
            }
        }
        // The evidence that does hold passes: the test above is not vacuous.
        assert!(passes > 0);
        // Without requests or with a probe problem, nothing passes whatever the stop.
        for s in &stops {
            assert_ne!(judge(&facts(&[]), s).status, Status::Pass);
            let mut d = facts(&[held_ok()]);
            d.probe_problem = Some("x".into());
            assert_ne!(judge(&d, s).status, Status::Pass);
        }
    }
}
