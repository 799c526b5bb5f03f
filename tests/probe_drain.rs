//! `runtime.drain` against real Go services (tests/fixtures/svc/drain, built once with the
//! other services): one that calls os.Exit(0) on SIGTERM, one that drains with
//! http.Server.Shutdown, each with a `GET /slow` of 300 ms and a `GET /fast` that answers at
//! once. Where a race could hide, a probe is repeated; every run is checked to leave no
//! process behind.

#![cfg(unix)]

mod common;

use common::probe::{Run, probe_in};
use common::{repo, service};
use serde_json::Value;

/// The fixture's `GET /slow`, ms.
const SLOW_MS: f64 = 300.0;

/// Runs the probe on the drain fixture stopping as `stop` (`exit` or `shutdown`).
fn drain_probe(stop: &str, request: &str) -> Run {
    let exec = format!(
        "'{}' -stop {stop} -slow {}ms --addr {{addr}} --admin {{admin}}",
        service("svc-drain").display(),
        SLOW_MS
    );
    probe_in(&repo(), &["--exec", &exec, "--drain", request])
}

fn drain_facts(run: &Run) -> &Value {
    &run.check("runtime.drain")["data"]["drain"]
}

/// The drain requests the facts prove in flight at SIGTERM, by the same evidence the rule
/// documents: written before it, no answer read before it, none waiting in the socket.
fn held(run: &Run) -> Vec<Value> {
    drain_facts(run)["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["sent_ms"].as_f64().is_some_and(|t| t < 0.0)
                && r["unanswered_at_sigterm"] == true
                && r["answered_ms"].as_f64().is_none_or(|t| t >= 0.0)
        })
        .cloned()
        .collect()
}

/// Three latency probes were made before the stop, each answered.
fn assert_probes_measured_the_handler(run: &Run) {
    let probes = drain_facts(run)["probe_ms"].as_array().unwrap().clone();
    assert_eq!(probes.len(), 3, "{probes:?}");
    assert!(
        probes.iter().all(|p| p.as_f64().unwrap() > 0.0),
        "{probes:?}"
    );
}

#[test]
fn a_service_that_exits_0_on_sigterm_fails_drain_on_every_run() {
    for round in 0..5 {
        let run = drain_probe("exit", "GET /slow");
        let m = run.message("runtime.drain");
        assert_eq!(
            run.status("runtime.drain"),
            "fail",
            "round {round}: {m}\n{}",
            run.stderr
        );
        // The exit code alone says nothing: it is 0, and runtime.shutdown passes.
        assert_eq!(run.status("runtime.shutdown"), "pass", "round {round}");
        assert_probes_measured_the_handler(&run);
        let held = held(&run);
        assert!(!held.is_empty(), "round {round}: {m}");
        // Every request held in flight was cut off: no status, an EOF or a reset, at or
        // after SIGTERM.
        for r in &held {
            assert!(r["status"].is_null(), "round {round}: {r}");
            assert!(
                matches!(r["cut"].as_str(), Some("EOF" | "reset")),
                "round {round}: {r}"
            );
            assert!(r["ended_ms"].as_f64().unwrap() >= 0.0, "round {round}: {r}");
        }
        assert!(
            m.starts_with(&format!(
                "{} of 8 × GET /slow in flight at SIGTERM (written ",
                held.len()
            )) && m.contains(&format!("unanswered): {} cut off (", held.len())),
            "round {round}: {m}"
        );
    }
}

#[test]
fn a_service_that_drains_with_shutdown_passes_on_every_run() {
    for round in 0..5 {
        let run = drain_probe("shutdown", "GET /slow");
        let m = run.message("runtime.drain");
        assert_eq!(
            run.status("runtime.drain"),
            "pass",
            "round {round}: {m}\n{}",
            run.stderr
        );
        assert_probes_measured_the_handler(&run);
        let held = held(&run);
        assert!(!held.is_empty(), "round {round}: {m}");
        for r in &held {
            assert_eq!(r["status"], 200, "round {round}: {r}");
            // Its answer began after SIGTERM and was read whole after that.
            let answered = r["answered_ms"].as_f64().unwrap();
            assert!(answered >= 0.0, "round {round}: {r}");
            assert!(
                r["ended_ms"].as_f64().unwrap() >= answered,
                "round {round}: {r}"
            );
        }
        assert!(
            m.starts_with(&format!(
                "{} of 8 × GET /slow in flight at SIGTERM (written ",
                held.len()
            )) && m.contains("unanswered): all completed, ")
                && m.contains("; exited 0 "),
            "round {round}: {m}"
        );
    }
}

#[test]
fn a_handler_too_fast_to_hold_in_flight_is_not_evaluated_never_passed() {
    // The service that cuts requests off must not pass on a request it answers at once.
    for stop in ["exit", "shutdown"] {
        let run = drain_probe(stop, "GET /fast");
        let m = run.message("runtime.drain");
        assert_eq!(run.status("runtime.drain"), "skip", "{stop}: {m}");
        let facts = drain_facts(&run);
        let probes: Vec<f64> = facts["probe_ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_f64().unwrap())
            .collect();
        assert_eq!(probes.len(), 3, "{stop}: {facts}");
        if probes.iter().any(|&p| p < 20.0) {
            // The usual case: too fast to try, and no request was sent.
            assert!(
                m.starts_with("not evaluated: GET /fast answered in ")
                    && m.contains("too fast to be held in flight")
                    && m.contains("at least 20 ms"),
                "{stop}: {m}"
            );
            assert_eq!(facts["requests"], serde_json::json!([]), "{stop}: {facts}");
        } else {
            // A machine so busy that even GET /fast took 20 ms: the requests were sent, and
            // none was proven in flight.
            assert!(held(&run).is_empty(), "{stop}: {facts}");
            assert!(
                m.starts_with("not evaluated: none of 8 × GET /fast was in flight at SIGTERM"),
                "{stop}: {m}"
            );
        }
    }
}

#[test]
fn a_drain_request_that_fails_before_sigterm_is_not_evaluated() {
    let run = drain_probe("shutdown", "GET /missing/slow");
    let m = run.message("runtime.drain");
    assert_eq!(run.status("runtime.drain"), "skip", "{m}");
    assert!(
        m.starts_with("not evaluated: GET /missing/slow answered 404 before any SIGTERM"),
        "{m}"
    );
}
