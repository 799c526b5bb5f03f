//! `goready probe` under sustained load against real Go services: one fixture binary
//! (tests/fixtures/svc/runtime, built once with the other services) whose `-mode` makes it
//! steady, leak a goroutine per request, keep memory per request, die on SIGTERM, burn CPU
//! in a named function, die mid-soak, or speak another protocol on its main port. Soaks
//! are kept to a few seconds; every run is checked to leave no process behind.

#![cfg(unix)]

mod common;

use std::path::Path;

use common::pprof::{IGNORE_PROFILER, go_pprof};
use common::probe::{Run, probe_in};
use common::{repo, service};

fn runtime_svc(mode: &str, extra: &str) -> String {
    format!(
        "'{}' -mode {mode} --addr {{addr}} --admin {{admin}} {extra}",
        service("svc-runtime").display()
    )
}

fn probe(args: &[&str]) -> Run {
    probe_in(&repo(), args)
}

fn assert_status(run: &Run, id: &str, want: &str) {
    assert_eq!(
        run.status(id),
        want,
        "{id}: {}\nstderr:\n{}",
        run.message(id),
        run.stderr
    );
}

#[test]
fn a_steady_service_passes_every_rule_under_soak_drain_and_cpu_profile() {
    let art = tempfile::tempdir().unwrap();
    let exec = runtime_svc("steady", "-slow 500ms -contention");
    let run = probe(&[
        "--exec",
        &exec,
        "--load",
        "GET /hello",
        "--requests",
        "100",
        "--soak",
        "2s",
        "--drain",
        "GET /slow",
        "--artifacts",
        art.path().to_str().unwrap(),
    ]);
    for id in [
        "runtime.start",
        "runtime.pprof_registered",
        "runtime.pprof_exposed",
        "runtime.load",
        "runtime.cpu",
        "runtime.contention",
        "runtime.goroutine_leak",
        "runtime.heap_growth",
        "runtime.shutdown",
        "runtime.drain",
        "runtime.allocs",
    ] {
        assert_status(&run, id, "pass");
    }
    assert_eq!(run.code, 0, "{}", run.stdout);
    let rounds = run.check("runtime.heap_growth")["data"]["rounds"]
        .as_array()
        .unwrap()
        .clone();
    assert!(rounds.len() >= 4, "{rounds:?}");
    for r in &rounds {
        assert!(r["heap_inuse"].as_u64().unwrap() > 0 && r["goroutines"].as_u64().unwrap() > 0);
    }
    let m = run.message("runtime.drain");
    assert!(
        m.contains(" of 8 × GET /slow in flight at SIGTERM (written ")
            && m.contains("unanswered): all completed,"),
        "{m}"
    );
    // The service enabled the mutex profile and contends in main.contend.
    let contention = &run.check("runtime.contention")["data"]["rankings"];
    assert!(
        contention.to_string().contains("main.contend"),
        "{contention}"
    );
    for file in [
        "cpu.pb.gz",
        "cpu.svg",
        "heap-first.pb.gz",
        "heap-last.pb.gz",
        "mutex.pb.gz",
    ] {
        assert!(art.path().join(file).is_file(), "{file} not saved");
    }
    assert!(
        run.stderr.contains("goready: probe took "),
        "{}",
        run.stderr
    );
    assert!(
        run.service()["bound_ms"].as_u64().unwrap()
            >= run.service()["elapsed_ms"].as_u64().unwrap()
    );
}

#[test]
fn a_goroutine_leaked_per_request_fails_naming_the_leaking_stack() {
    let exec = runtime_svc("leak", "");
    let run = probe(&[
        "--exec",
        &exec,
        "--load",
        "GET /hello",
        "--requests",
        "100",
        "--soak",
        "2s",
    ]);
    assert_status(&run, "runtime.goroutine_leak", "fail");
    let m = run.message("runtime.goroutine_leak");
    assert!(
        m.contains(
            "goroutines blocked in main.waitForever [chan receive] (created by main.leakyHandler)"
        ),
        "{m}"
    );
    let stacks = &run.check("runtime.goroutine_leak")["data"]["grown_stacks"];
    assert!(stacks[0]["added"].as_u64().unwrap() > 100, "{stacks}");
}

/// `go tool pprof -top -diff_base FIRST LAST` rows (name, flat in bytes).
fn go_diff_rows(first: &Path, last: &Path) -> Vec<(String, i64)> {
    let base = format!("-diff_base={}", first.display());
    let (_, table) = go_pprof(&["-sample_index=inuse_space", "-unit=B", &base], last);
    table
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let flat = f[0].trim_end_matches('B').parse().unwrap();
            (f[5..].join(" "), flat)
        })
        .collect()
}

#[test]
fn memory_kept_per_request_fails_heap_growth_naming_the_site_pprof_names() {
    let art = tempfile::tempdir().unwrap();
    let exec = runtime_svc("keep", "");
    let run = probe(&[
        "--exec",
        &exec,
        "--load",
        "GET /hello",
        "--requests",
        "100",
        "--soak",
        "2s",
        "--artifacts",
        art.path().to_str().unwrap(),
    ]);
    assert_status(&run, "runtime.heap_growth", "fail");
    assert_status(&run, "runtime.goroutine_leak", "pass");
    let m = run.message("runtime.heap_growth");
    assert!(
        m.contains("growing by inuse_space: main.keepRequest +"),
        "{m}"
    );
    let sites = &run.check("runtime.heap_growth")["data"]["growing_sites"];
    let ours = (
        sites[0]["function"].as_str().unwrap().to_string(),
        sites[0]["growth"].as_i64().unwrap(),
    );
    let go = go_diff_rows(
        &art.path().join("heap-first.pb.gz"),
        &art.path().join("heap-last.pb.gz"),
    );
    assert_eq!(go.first(), Some(&ours), "go tool pprof -diff_base: {go:?}");
}

#[test]
fn a_service_that_exits_at_once_on_sigterm_fails_drain_saying_what_was_cut_off() {
    let exec = runtime_svc("abrupt", "-slow 2s");
    let run = probe(&[
        "--exec",
        &exec,
        "--drain",
        "GET /slow",
        "--drain-requests",
        "4",
    ]);
    assert_status(&run, "runtime.drain", "fail");
    let m = run.message("runtime.drain");
    assert!(
        m.starts_with("4 of 4 × GET /slow in flight at SIGTERM (written ")
            && m.contains("unanswered): 4 cut off ("),
        "{m}"
    );
    assert!(m.contains("killed by SIGTERM"), "{m}");
    let drained = run.check("runtime.drain")["data"]["drain"]["requests"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        drained
            .iter()
            .all(|r| r["cut"].is_string() && r["unanswered_at_sigterm"] == true),
        "{drained:?}"
    );
}

/// `go tool pprof -top -unit=ns` rows (name, flat, cum) of a CPU profile.
fn go_cpu_rows(file: &Path) -> Vec<(String, i64, i64)> {
    let (_, table) = go_pprof(&["-unit=ns", IGNORE_PROFILER], file);
    let ns = |s: &str| s.trim_end_matches("ns").parse::<i64>().unwrap();
    table
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = f[5..].join(" ");
            let name = name
                .trim_end_matches(" (inline)")
                .trim_end_matches(" (partial-inline)")
                .to_string();
            (name, ns(f[0]), ns(f[3]))
        })
        .collect()
}

#[test]
fn cpu_burned_in_a_named_function_is_ranked_exactly_like_go_tool_pprof() {
    let art = tempfile::tempdir().unwrap();
    let exec = runtime_svc("burn", "");
    let dir = art.path().to_str().unwrap();
    let run = probe(&[
        "--exec",
        &exec,
        "--load",
        "GET /hello",
        "--requests",
        "50",
        "--soak",
        "2s",
        "--artifacts",
        dir,
        "--top",
        "0",
    ]);
    assert_status(&run, "runtime.cpu", "pass");
    let m = run.message("runtime.cpu");
    assert!(m.contains(": main.burnCPU "), "{m}");
    let rows: Vec<(String, i64, i64)> = run.check("runtime.cpu")["data"]["rankings"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["function"].as_str().unwrap().to_string(),
                r["flat"].as_i64().unwrap(),
                r["cum"].as_i64().unwrap(),
            )
        })
        .collect();
    let saved = art.path().join("cpu.pb.gz");
    assert_eq!(rows, go_cpu_rows(&saved));
    assert_eq!(rows[0].0, "main.burnCPU");

    // The same profile as the baseline: no function's share grew.
    let base = tempfile::tempdir().unwrap();
    let base_file = base.path().join("base-cpu.pb.gz");
    std::fs::copy(&saved, &base_file).unwrap();
    let again = probe(&[
        "--exec",
        &exec,
        "--load",
        "GET /hello",
        "--requests",
        "50",
        "--soak",
        "2s",
        "--baseline",
        base_file.to_str().unwrap(),
        "--max-cpu-growth",
        "60",
    ]);
    assert_status(&again, "runtime.cpu_regression", "pass");
}

#[test]
fn bare_port_numbers_and_a_non_http_main_port_skip_the_load_checks_with_the_reason() {
    let exec = format!(
        "'{}' -mode nats -p {{port}} -m {{admin_port}}",
        service("svc-runtime").display()
    );
    let run = probe(&[
        "--exec",
        &exec,
        "--pprof",
        "http://127.0.0.1:{admin_port}/debug/pprof/",
        "--load",
        "GET /hello",
        "--soak",
        "2s",
        "--drain",
        "GET /slow",
    ]);
    assert_status(&run, "runtime.start", "pass");
    assert_status(&run, "runtime.pprof_registered", "pass");
    assert_status(&run, "runtime.shutdown", "pass");
    for id in [
        "runtime.load",
        "runtime.cpu",
        "runtime.goroutine_leak",
        "runtime.heap_growth",
        "runtime.drain",
    ] {
        assert_status(&run, id, "skip");
        let m = run.message(id);
        assert!(
            m.contains("does not answer HTTP") && m.contains("INFO"),
            "{id}: {m}"
        );
    }
    let command: Vec<String> = serde_json::from_value(run.service()["command"].clone()).unwrap();
    let port = run.service()["addr"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let admin = run.service()["admin"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        command[command.len() - 4..],
        ["-p", port.as_str(), "-m", admin.as_str()]
    );
}

#[test]
fn a_service_dying_mid_soak_is_reported_with_its_exit_code_and_stderr() {
    let exec = runtime_svc("die", "-die-after 400");
    let run = probe(&[
        "--exec",
        &exec,
        "--load",
        "GET /hello",
        "--requests",
        "100",
        "--soak",
        "20s",
    ]);
    assert_status(&run, "runtime.start", "fail");
    let m = run.message("runtime.start");
    assert!(
        m.contains("exit code 3") && m.contains("fatal: out of widgets"),
        "{m}"
    );
    for id in ["runtime.goroutine_leak", "runtime.heap_growth"] {
        assert_status(&run, id, "skip");
        assert!(
            run.message(id)
                .contains("exited (exit code 3) during soak round")
        );
    }
    assert!(
        run.stderr
            .contains("the service exited (exit code 3) during soak round"),
        "{}",
        run.stderr
    );
    // Reported at once: the soak ended with the service, long before its 20 s.
    let rounds = run.service()["soak"]["rounds"].as_array().unwrap().len();
    assert!(rounds < 10, "{rounds} rounds");
}
