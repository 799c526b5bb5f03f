//! `--drain 'GET /slow'`: the stop of the probe, with N such requests in flight when SIGTERM
//! is sent. Each must still get its answer, and the service must exit 0 within `--grace`
//! (`runtime.drain`); what cut a request off — a reset, an EOF, a 5xx — is named.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::live::{InFlight, Outcome};
use super::load::LoadSpec;
use super::service::{Service, StopReport};
use crate::http::Endpoint;
use crate::model::data::{DrainData, facts};
use crate::model::{Check, CheckBuilder};

/// What `--drain` asks for.
#[derive(Debug, Clone)]
pub struct DrainPlan {
    /// The slow request.
    pub spec: LoadSpec,
    /// `--drain-requests`: how many are in flight at SIGTERM.
    pub requests: usize,
}

/// How long the requests get to reach their handlers before SIGTERM: the request is
/// written right after the thread starts; a loopback round trip takes well under this.
const IN_FLIGHT_AFTER: Duration = Duration::from_millis(300);

/// One drained request's end.
#[derive(Debug, Clone, Serialize)]
pub struct Drained {
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

/// What the drain saw.
#[derive(Debug, Clone, Serialize)]
pub struct DrainFacts {
    /// `GET /slow`.
    pub request: String,
    /// Requests in flight at SIGTERM.
    pub in_flight: usize,
    /// Each one's end, in the order they were sent.
    pub requests: Vec<Drained>,
}

/// Stops the service (SIGTERM, SIGKILL after `grace`) with the drain requests in flight.
pub fn stop_draining(
    svc: &mut Service,
    main: &Endpoint,
    plan: &DrainPlan,
    grace: Duration,
) -> (StopReport, DrainFacts) {
    let n = plan.requests.clamp(1, 256);
    // Every request may take the whole grace period plus its own time; then it is cut.
    let limit = grace + IN_FLIGHT_AFTER + Duration::from_secs(5);
    let flights: Vec<InFlight> = (0..n)
        .map(|_| InFlight::open(main, &plan.spec, limit))
        .collect();
    let (stop, outcomes) = std::thread::scope(|s| {
        let handles: Vec<_> = flights
            .into_iter()
            .map(|f| s.spawn(move || f.finish()))
            .collect();
        std::thread::sleep(IN_FLIGHT_AFTER);
        let stop = svc.stop(grace);
        let outcomes: Vec<Outcome> = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or(Outcome::Cut(
                    "EOF",
                    "the request's thread panicked".to_string(),
                ))
            })
            .collect();
        (stop, outcomes)
    });
    let requests = outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Status(s) => Drained {
                status: Some(s),
                cut: None,
                error: None,
            },
            Outcome::Cut(kind, e) => Drained {
                status: None,
                cut: Some(kind.to_string()),
                error: Some(e),
            },
        })
        .collect();
    (
        stop,
        DrainFacts {
            request: format!("{} {}", plan.spec.method, plan.spec.target),
            in_flight: n,
            requests,
        },
    )
}

/// `runtime.drain`: every drained request got a 2xx or 3xx, and the service exited 0 within
/// the grace period.
pub fn check(d: &DrainFacts, stop: Option<&StopReport>, c: CheckBuilder) -> Check {
    let c = c.data(DrainData {
        drain: facts(d),
        stop: facts(stop),
    });
    let mut how: BTreeMap<String, usize> = BTreeMap::new();
    for r in &d.requests {
        match (&r.status, &r.cut) {
            (Some(s), _) if (200..400).contains(s) => {}
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
    if cut == 0 && exit.is_none() {
        let ms = stop.and_then(|s| s.main_exit_ms).unwrap_or(0);
        return c.pass(format!(
            "all {} × {} in flight at SIGTERM completed; exited 0 {ms} ms after SIGTERM",
            d.in_flight, d.request
        ));
    }
    let mut parts = Vec::new();
    if cut > 0 {
        let kinds: Vec<String> = how.iter().map(|(k, n)| format!("{n} × {k}")).collect();
        parts.push(format!(
            "{cut} of {} × {} in flight at SIGTERM were cut off ({})",
            d.in_flight,
            d.request,
            kinds.join(", ")
        ));
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

    fn facts(outcomes: &[Drained]) -> DrainFacts {
        DrainFacts {
            request: "GET /slow".into(),
            in_flight: outcomes.len(),
            requests: outcomes.to_vec(),
        }
    }

    fn ok() -> Drained {
        Drained {
            status: Some(200),
            cut: None,
            error: None,
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

    #[test]
    fn every_request_answered_and_exit_0_passes() {
        let c = check(
            &facts(&[ok(), ok()]),
            Some(&stop(Some(0), None)),
            Check::of(&registry::RUNTIME_DRAIN),
        );
        assert_eq!(c.status, Status::Pass, "{}", c.message);
    }

    #[test]
    fn cut_requests_are_counted_by_how() {
        let reset = Drained {
            status: None,
            cut: Some("reset".into()),
            error: Some("connection reset".into()),
        };
        let five = Drained {
            status: Some(503),
            cut: None,
            error: None,
        };
        let c = check(
            &facts(&[ok(), reset.clone(), reset, five]),
            Some(&stop(None, Some(15))),
            Check::of(&registry::RUNTIME_DRAIN),
        );
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message.contains(
                "3 of 4 × GET /slow in flight at SIGTERM were cut off (1 × 503, 2 × reset)"
            ),
            "{}",
            c.message
        );
    }
}
