//! `goready probe` against real Go services started on 127.0.0.1: the example service (as a
//! binary and as a Go test), and fixtures for every way pprof wiring goes wrong — on the
//! default mux on all interfaces, never mounted, behind auth, shadowed by a catch-all
//! route, a service that never gets ready, one that crashes, and one that ignores SIGTERM
//! and forks. After every run, no process of the run may be left: each run tags its
//! processes with a unique environment variable and /proc is searched for it.

#![cfg(unix)]

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::pprof::{
    IGNORE_PROFILER, assert_svg, go_pprof, go_rows, ranking, rows_of, xml_escaped,
};
use common::probe::{
    MARKER_VAR, Run, assert_nothing_left, marker, probe_env, probe_in, processes_with_marker,
};
use common::{goready, repo, service};

fn probe(args: &[&str]) -> Run {
    probe_in(&repo(), args)
}

/// `'PATH' --addr {addr} --admin {admin} EXTRA`
fn exec_line(fixture: &str, extra: &str) -> String {
    format!(
        "'{}' --addr {{addr}} --admin {{admin}} {extra}",
        service(fixture).display()
    )
}

fn endpoint<'a>(run: &'a Run, name: &str) -> &'a Value {
    run.service()["pprof"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no endpoint {name}"))
}

fn go_tool_pprof_raw(file: &Path) -> String {
    let out = Command::new("go")
        .args(["tool", "pprof", "-raw"])
        .arg(file)
        .output()
        .expect("go tool pprof");
    assert!(
        out.status.success(),
        "go tool pprof -raw {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn hello_svc_passes_every_runtime_check_and_saves_profiles_pprof_can_read() {
    let art = tempfile::tempdir().unwrap();
    let art_dir = art.path().display().to_string();
    let exec = exec_line("svc-hello", "");
    let run = probe(&[
        "--exec",
        &exec,
        "--expect-version",
        "1.2.3",
        "--max-heap",
        "64",
        "--gctrace",
        "--load",
        "GET /hello?name=probe",
        "--requests",
        "300",
        "--concurrency",
        "3",
        "--artifacts",
        &art_dir,
    ]);
    for id in [
        "runtime.start",
        "runtime.pprof_registered",
        "runtime.pprof_exposed",
        "runtime.heap_budget",
        "runtime.version",
        "runtime.load",
        "runtime.shutdown",
        "runtime.allocs",
    ] {
        assert_eq!(run.status(id), "pass", "{id}: {}", run.message(id));
    }
    assert_eq!(run.code, 0, "{}", run.stdout);
    let svc = run.service();

    // The index lists the runtime/pprof profiles; each one answered with a gzipped profile.
    let listed: Vec<&str> = svc["pprof"]["listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for p in [
        "allocs",
        "block",
        "goroutine",
        "heap",
        "mutex",
        "threadcreate",
        "cmdline",
        "profile",
        "symbol",
        "trace",
    ] {
        assert!(listed.contains(&p), "{p} not in {listed:?}");
    }
    for name in ["allocs", "heap", "goroutine", "profile?seconds=1"] {
        let e = endpoint(&run, name);
        assert_eq!(e["class"], "ok", "{e}");
        assert!(e["decoded_bytes"].as_u64().unwrap() > 0, "{e}");
    }
    assert_eq!(endpoint(&run, "trace?seconds=1")["class"], "ok");
    assert_eq!(
        endpoint(&run, "(unknown profile)")["class"],
        "pprof_not_found"
    );
    assert_eq!(
        endpoint(&run, "cmdline")["detail"],
        "matches the process's command line"
    );

    // Sockets: the main port does not route pprof, the admin port serves it, both loopback.
    let sockets = svc["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), 2, "{sockets:?}");
    let main = sockets.iter().find(|s| s["public"] == true).unwrap();
    assert_eq!(main["addr"], svc["addr"]);
    assert_eq!(main["answer"]["class"], "not_routed");
    let admin = sockets.iter().find(|s| s["addr"] == svc["admin"]).unwrap();
    assert_eq!(admin["answer"]["class"], "ok");

    // MemStats and the GC trace: goready's own heap?gc=1 forces at least one cycle.
    assert!(svc["memstats"]["heap_inuse"].as_u64().unwrap() > 0);
    assert!(svc["memstats"]["num_gc"].as_u64().unwrap() >= 1);
    let gc = &svc["gctrace"];
    assert!(gc["count"].as_u64().unwrap() >= 1, "{gc}");
    assert!(gc["forced"].as_u64().unwrap() >= 1, "{gc}");
    assert!(gc["last_goal_mb"].as_u64().unwrap() >= 1, "{gc}");
    assert!(run.message("runtime.heap_budget").contains("HeapInuse"));

    // Load: every request answered 200 by the real service.
    assert_eq!(svc["load"]["ok"], 300);
    assert_eq!(svc["load"]["statuses"]["200"], 300);

    // The artifacts are the profiles as served: Go's own pprof reads them.
    let allocs = art.path().join("allocs.pb.gz");
    let heap = art.path().join("heap.pb.gz");
    let check_data = &run.check("runtime.pprof_registered")["data"]["artifacts"];
    assert_eq!(check_data["allocs.pb.gz"], allocs.display().to_string());
    let raw = go_tool_pprof_raw(&allocs);
    assert!(raw.contains("alloc_space/bytes"), "{raw}");
    let raw = go_tool_pprof_raw(&heap);
    assert!(raw.contains("inuse_space/bytes"), "{raw}");
    let stderr_log = std::fs::read_to_string(art.path().join("service.stderr.log")).unwrap();
    assert!(
        stderr_log.contains("hello-svc 1.2.3: public on"),
        "{stderr_log}"
    );
    assert!(
        stderr_log.contains(" MB goal"),
        "gctrace lines reach the log"
    );
}

#[test]
fn hello_svc_over_budget_and_wrong_version_fail() {
    let exec = exec_line("svc-hello", "");
    let run = probe(&[
        "--exec",
        &exec,
        "--expect-version",
        "9.9.9",
        "--max-heap",
        "0.01",
    ]);
    assert_eq!(run.status("runtime.heap_budget"), "fail");
    assert!(
        run.message("runtime.heap_budget")
            .contains("exceeds the budget of 0.01 MiB")
    );
    assert_eq!(run.status("runtime.version"), "fail");
    assert!(
        run.message("runtime.version")
            .contains("\"1.2.3\", expected 9.9.9")
    );
    assert_eq!(run.code, 1);
}

#[test]
fn hello_svc_under_go_test_runs_the_test_binary() {
    let run = probe_in(
        &repo().join("examples/hello-svc"),
        &[
            "--go-test",
            ".",
            "--run",
            "^TestServe$",
            "--expect-version",
            "1.0",
        ],
    );
    for id in [
        "runtime.start",
        "runtime.pprof_registered",
        "runtime.pprof_exposed",
        "runtime.shutdown",
    ] {
        assert_eq!(run.status(id), "pass", "{id}: {}", run.message(id));
    }
    assert_eq!(run.status("runtime.version"), "skip");
    let svc = run.service();
    let argv: Vec<&str> = svc["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(argv[0].ends_with(".test"), "{argv:?}");
    assert!(argv.contains(&"-test.run=^TestServe$"), "{argv:?}");
    // One process: the test binary itself, not `go test` in front of it.
    let procs = svc["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 1, "{procs:?}");
    assert!(procs[0]["exe"].as_str().unwrap().ends_with(".test"));
    // The test got the addresses goready picked.
    let ports: Vec<&str> = svc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["addr"].as_str().unwrap())
        .collect();
    assert!(ports.contains(&svc["addr"].as_str().unwrap()), "{ports:?}");
    assert!(ports.contains(&svc["admin"].as_str().unwrap()), "{ports:?}");
    assert_eq!(run.code, 0);
}

#[test]
fn go_test_of_a_package_without_tests_is_a_clear_error() {
    let run = probe_in(
        &repo().join("tests/fixtures/svc/nopprof"),
        &["--go-test", "."],
    );
    assert_eq!(run.status("runtime.start"), "error");
    assert!(
        run.message("runtime.start").contains("no test files"),
        "{}",
        run.message("runtime.start")
    );
    assert_eq!(run.code, 2);
}

#[test]
fn pprof_on_the_default_mux_on_all_interfaces_fails_exposure() {
    let exec = exec_line("svc-defaultmux", "");
    let run = probe(&["--exec", &exec]);
    assert_eq!(
        run.status("runtime.pprof_registered"),
        "pass",
        "{}",
        run.message("runtime.pprof_registered")
    );
    assert_eq!(run.status("runtime.pprof_exposed"), "fail");
    let msg = run.message("runtime.pprof_exposed");
    assert!(msg.contains("all interfaces"), "{msg}");
    let socket = &run.service()["sockets"][0];
    assert_eq!(socket["wildcard"], true);
    assert_eq!(socket["answer"]["class"], "ok");
    assert_eq!(run.check("runtime.pprof_exposed")["severity"], "error");
    assert_eq!(run.code, 1);
}

#[test]
fn pprof_on_the_main_port_fails_exposure_even_on_loopback() {
    let exec = exec_line("svc-defaultmux", "-loopback");
    let run = probe(&["--exec", &exec]);
    assert_eq!(run.status("runtime.pprof_exposed"), "fail");
    let msg = run.message("runtime.pprof_exposed");
    assert!(msg.contains("(loopback, the main port)"), "{msg}");

    // Declared elsewhere, the loopback port is an admin port: fine.
    let run = probe(&["--exec", &exec, "--public-port", "1"]);
    assert_eq!(
        run.status("runtime.pprof_exposed"),
        "pass",
        "{}",
        run.message("runtime.pprof_exposed")
    );
}

#[test]
fn a_mux_that_never_mounts_pprof_fails_registration_as_not_routed() {
    let exec = exec_line("svc-nopprof", "");
    let run = probe(&["--exec", &exec, "--ready", "/healthz", "--max-heap", "64"]);
    assert_eq!(run.status("runtime.start"), "pass");
    assert_eq!(run.status("runtime.pprof_registered"), "fail");
    let msg = run.message("runtime.pprof_registered");
    assert!(msg.contains("404 not routed"), "{msg}");
    assert_eq!(run.status("runtime.pprof_exposed"), "pass");
    assert_eq!(run.status("runtime.heap_budget"), "skip");
    assert_eq!(endpoint(&run, "allocs")["class"], "not_routed");
    assert_eq!(endpoint(&run, "(unknown profile)")["class"], "not_routed");
    // No allocs profile to rank: skipped, pointing at the check that says why.
    assert_eq!(run.status("runtime.allocs"), "skip");
    assert!(
        run.message("runtime.allocs")
            .contains("(see runtime.pprof_registered)"),
        "{}",
        run.message("runtime.allocs")
    );
    // pprof_registered is a warning: the default --fail-on error passes...
    assert_eq!(run.code, 0);
    // ...unless goready.toml makes it an error.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("goready.toml");
    std::fs::write(
        &config,
        "[rules]\n\"runtime.pprof_registered\" = \"error\"\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let run = probe(&["--exec", &exec, "--ready", "/healthz", "--config", &config]);
    assert_eq!(run.check("runtime.pprof_registered")["severity"], "error");
    assert_eq!(run.code, 1);

    // Waiting for the default ready path (pprof) says what to do instead.
    let run = probe(&["--exec", &exec, "--ready-timeout", "1s"]);
    assert_eq!(run.status("runtime.start"), "fail");
    let msg = run.message("runtime.start");
    assert!(msg.contains("GET /debug/pprof/ answered 404"), "{msg}");
    assert!(msg.contains("--ready"), "{msg}");
    assert_eq!(run.status("runtime.pprof_registered"), "skip");
    assert_eq!(
        run.status("runtime.shutdown"),
        "pass",
        "{}",
        run.message("runtime.shutdown")
    );
}

#[test]
fn a_method_pattern_answers_405_and_is_told_apart() {
    let exec = exec_line("svc-nopprof", "-post-only-pprof");
    let run = probe(&["--exec", &exec, "--ready", "/healthz"]);
    assert_eq!(run.status("runtime.pprof_registered"), "fail");
    let socket = &run.service()["sockets"][0];
    assert_eq!(socket["answer"]["class"], "method_not_allowed", "{socket}");
    assert!(
        run.message("runtime.pprof_registered")
            .contains("405 method not allowed")
    );
}

#[test]
fn auth_middleware_is_told_apart_and_credentials_let_goready_in() {
    let exec = exec_line("svc-authpprof", "");
    let run = probe(&["--exec", &exec, "--ready", "/healthz"]);
    assert_eq!(run.status("runtime.pprof_registered"), "skip");
    let msg = run.message("runtime.pprof_registered");
    assert!(
        msg.contains("authentication required") && msg.contains("--header"),
        "{msg}"
    );
    // Bound to all interfaces, but nobody gets in without the token: not exposed.
    assert_eq!(run.status("runtime.pprof_exposed"), "pass");
    let admin = run.service()["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["wildcard"] == true)
        .unwrap()
        .clone();
    assert_eq!(admin["answer"]["status"], 401);
    assert_eq!(admin["answer"]["class"], "unauthorized");

    let token = "s3cret-admin-token";
    let header = format!("Authorization: Bearer {token}");
    let run = probe(&["--exec", &exec, "--ready", "/healthz", "--header", &header]);
    assert_eq!(
        run.status("runtime.pprof_registered"),
        "pass",
        "{}",
        run.message("runtime.pprof_registered")
    );
    assert_eq!(run.status("runtime.pprof_exposed"), "pass");
    assert!(
        !run.stdout.contains(token) && !run.stderr.contains(token),
        "the token leaked"
    );
}

#[test]
fn a_catch_all_route_is_not_mistaken_for_pprof() {
    let exec = exec_line("svc-catchall", "");
    let run = probe(&["--exec", &exec]);
    // The catch-all answers 200 at /debug/pprof/, so the service counts as ready...
    assert_eq!(run.status("runtime.start"), "pass");
    // ...but nothing there is pprof.
    assert_eq!(run.status("runtime.pprof_registered"), "fail");
    let msg = run.message("runtime.pprof_registered");
    assert!(msg.contains("catch-all"), "{msg}");
    for name in [
        "allocs",
        "heap",
        "cmdline",
        "symbol",
        "(unknown profile)",
        "profile?seconds=1",
    ] {
        assert_eq!(endpoint(&run, name)["class"], "catch_all", "{name}");
    }
    assert_eq!(run.status("runtime.pprof_exposed"), "pass");
}

#[test]
fn a_service_that_never_gets_ready_times_out_and_is_stopped() {
    let exec = exec_line("svc-neverready", "");
    let run = probe(&[
        "--exec",
        &exec,
        "--ready-timeout",
        "1500ms",
        "--grace",
        "1s",
    ]);
    assert_eq!(run.status("runtime.start"), "fail");
    let msg = run.message("runtime.start");
    assert!(msg.contains("not ready after 1.5s"), "{msg}");
    assert!(msg.contains("answered 503"), "{msg}");
    assert_eq!(run.status("runtime.pprof_registered"), "skip");
    assert_eq!(run.status("runtime.pprof_exposed"), "skip");
    assert_eq!(run.status("runtime.allocs"), "skip");
    // No SIGTERM handler: the Go runtime's default action kills it.
    assert_eq!(run.status("runtime.shutdown"), "fail");
    assert_eq!(run.check("runtime.shutdown")["severity"], "notice");
    assert!(
        run.message("runtime.shutdown")
            .contains("without handling it")
    );
    assert_eq!(run.code, 1);
}

#[test]
fn a_crash_at_start_is_reported_at_once_with_exit_code_and_stderr() {
    let exec = exec_line("svc-crash", "");
    let run = probe(&["--exec", &exec, "--ready-timeout", "60s"]);
    assert_eq!(run.status("runtime.start"), "fail");
    let msg = run.message("runtime.start");
    assert!(msg.contains("exit code 3"), "{msg}");
    assert!(
        msg.contains("cannot read config /etc/crash-svc/config.yaml"),
        "{msg}"
    );
    assert_eq!(
        run.check("runtime.start")["data"]["readiness"]["exit"]["code"],
        3
    );
    assert!(
        run.json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != "runtime.shutdown")
    );
    assert_eq!(run.code, 1);
    // Reported as an exit, not left to run into the 60 s ready timeout.
    assert_eq!(
        run.check("runtime.start")["data"]["readiness"]["state"],
        "exited"
    );
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let run = probe(&["--exec", "/nonexistent/svc --addr {addr}"]);
    assert_eq!(run.status("runtime.start"), "error");
    assert!(run.message("runtime.start").contains("/nonexistent/svc"));
    assert_eq!(run.code, 2);
}

#[test]
fn a_service_that_ignores_sigterm_and_forks_is_killed_with_its_child() {
    let exec = exec_line("svc-stubborn", "");
    let run = probe(&["--exec", &exec, "--grace", "500ms"]);
    assert_eq!(
        run.status("runtime.start"),
        "pass",
        "{}",
        run.message("runtime.start")
    );
    assert_eq!(run.status("runtime.pprof_registered"), "pass");
    // The parent and its child (in a process group of its own) were both seen...
    let procs = run.service()["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 2, "{procs:?}");
    assert!(procs.iter().all(|p| p["comm"] == "svc-stubborn"));
    // ...and both needed SIGKILL.
    assert_eq!(run.status("runtime.shutdown"), "fail");
    let msg = run.message("runtime.shutdown");
    assert!(msg.contains("ignored SIGTERM"), "{msg}");
    let killed = run.check("runtime.shutdown")["data"]["killed"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(killed, 2, "{msg}");
    assert!(
        run.check("runtime.shutdown")["data"]["leftover"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_grandchild_that_escaped_into_its_own_session_is_found_and_stopped() {
    // The shell starts a daemon (new session, new process group) from a subshell that exits
    // at once: the daemon's parent is gone before goready ever looks, and it is in none of the
    // service's process groups. goready is a child subreaper, so it is re-parented there.
    let exec = format!(
        "sh -c '(setsid sleep 300 &); exec \"$0\" --addr {{addr}} --admin {{admin}}' '{}'",
        service("svc-hello").display()
    );
    let run = probe(&["--exec", &exec]);
    assert_eq!(
        run.status("runtime.start"),
        "pass",
        "{}",
        run.message("runtime.start")
    );
    let procs = run.service()["processes"].as_array().unwrap();
    let comms: Vec<&str> = procs.iter().map(|p| p["comm"].as_str().unwrap()).collect();
    assert!(
        comms.contains(&"sleep") && comms.contains(&"svc-hello"),
        "{comms:?}"
    );
    // probe() has already asserted that no process of the run is left.
}

#[test]
fn ctrl_c_stops_the_service_and_its_children() {
    let exec = exec_line("svc-stubborn", "");
    let marker = marker();
    let mut child = goready()
        .current_dir(repo())
        .args(["probe", "--exec", &exec, "--grace", "500ms"])
        .env(MARKER_VAR, &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut seen = String::new();
    loop {
        let line = lines
            .next()
            .expect("goready ended before the service was ready")
            .unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("ready after") {
            break;
        }
    }
    // Two processes of the run are up (the service and its child).
    let until = Instant::now() + Duration::from_secs(5);
    while processes_with_marker(&marker).len() < 3 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = processes_with_marker(&marker);
    assert_eq!(before.len(), 3, "goready, service, child: {before:?}");
    // SAFETY: sending SIGINT to the goready process this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    // Dies of the signal it got, as every goready command does.
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(libc::SIGINT),
        "{seen}{}",
        rest.join("\n")
    );
    assert!(
        rest.iter().any(|l| l.contains("SIGINT received")),
        "{rest:?}"
    );
    assert_nothing_left(&marker);
}

#[test]
fn an_explicit_pprof_url_is_probed() {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (addr, admin) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    drop((a, b));
    let exec = format!(
        "'{}' --addr {addr} --admin {admin}",
        service("svc-hello").display()
    );
    let url = format!("http://{admin}/debug/pprof/");
    let run = probe(&["--exec", &exec, "--pprof", &url]);
    assert_eq!(
        run.status("runtime.pprof_registered"),
        "pass",
        "{}",
        run.message("runtime.pprof_registered")
    );
    assert_eq!(run.service()["pprof"]["url"], url);
}

/// A fresh self-signed certificate for 127.0.0.1 (made by the fixture's `gencert` mode with
/// Go's crypto/x509), and the --exec line of the service that serves pprof only over https
/// with it.
fn tls_service(extra: &str) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let bin = service("svc-tlspprof");
    let out = Command::new(&bin)
        .arg("gencert")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert = dir.path().join("cert.pem").display().to_string();
    let key = dir.path().join("key.pem").display().to_string();
    let exec = exec_line(
        "svc-tlspprof",
        &format!("--cert '{cert}' --key '{key}' {extra}"),
    );
    (dir, cert, exec)
}

#[test]
fn pprof_over_tls_is_discovered_and_verified_with_the_given_ca() {
    let (_dir, cert, exec) = tls_service("");
    let run = probe(&["--exec", &exec, "--ready", "/healthz", "--ca-cert", &cert]);
    let msg = run.message("runtime.pprof_registered");
    assert_eq!(run.status("runtime.pprof_registered"), "pass", "{msg}");
    assert!(msg.starts_with("https://127.0.0.1:"), "{msg}");
    // The file holds the server's own certificate: trusted as such.
    assert!(msg.contains("TLS verified by pin"), "{msg}");
    let tls_socket = run.service()["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["answer"]["tls"] == true)
        .unwrap_or_else(|| panic!("no socket answered over TLS: {}", run.stdout));
    assert_eq!(tls_socket["answer"]["class"], "ok");
    // Loopback only: not exposed, over TLS as over plain HTTP.
    assert_eq!(run.status("runtime.pprof_exposed"), "pass");
    assert_eq!(run.status("runtime.heap_budget"), "skip");
    assert!(run.service()["memstats"]["heap_inuse"].as_u64().unwrap() > 0);
    assert_eq!(
        run.status("runtime.allocs"),
        "pass",
        "{}",
        run.message("runtime.allocs")
    );
}

#[test]
fn pprof_over_tls_with_insecure_says_verification_was_skipped() {
    let (_dir, _cert, exec) = tls_service("");
    let run = probe(&["--exec", &exec, "--ready", "/healthz", "--insecure"]);
    let msg = run.message("runtime.pprof_registered");
    assert_eq!(run.status("runtime.pprof_registered"), "pass", "{msg}");
    assert!(msg.contains("not verified (--insecure)"), "{msg}");
    assert!(
        run.stderr.contains("--insecure: the TLS certificate"),
        "{}",
        run.stderr
    );
}

#[test]
fn pprof_over_tls_with_an_untrusted_certificate_names_the_problem() {
    let (_dir, _cert, exec) = tls_service("");
    let run = probe(&["--exec", &exec, "--ready", "/healthz"]);
    let msg = run.message("runtime.pprof_registered");
    assert_eq!(run.status("runtime.pprof_registered"), "fail", "{msg}");
    assert!(msg.contains("TLS certificate is not trusted"), "{msg}");
    assert!(msg.contains("unknown issuer"), "{msg}");
    assert!(msg.contains("--ca-cert FILE"), "{msg}");
    // A bad --ca-cert file is a usage error before anything starts.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let out = goready()
        .args(["probe", "--exec", &exec, "--ca-cert"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no PEM certificate"));
}

#[test]
fn pprof_over_tls_on_all_interfaces_is_still_exposed() {
    let (_dir, cert, exec) = tls_service("--wildcard");
    let run = probe(&["--exec", &exec, "--ready", "/healthz", "--ca-cert", &cert]);
    let msg = run.message("runtime.pprof_exposed");
    assert_eq!(run.status("runtime.pprof_exposed"), "fail", "{msg}");
    assert!(msg.contains("all interfaces"), "{msg}");
}

#[test]
fn an_explicit_https_pprof_url_is_probed() {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (addr, admin) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    drop((a, b));
    let (_dir, cert, _) = tls_service("");
    let exec = format!(
        "'{}' --addr {addr} --admin {admin} --cert '{cert}' --key '{}'",
        service("svc-tlspprof").display(),
        cert.replace("cert.pem", "key.pem")
    );
    let url = format!("https://{admin}/debug/pprof/");
    let run = probe(&["--exec", &exec, "--pprof", &url, "--ca-cert", &cert]);
    let msg = run.message("runtime.pprof_registered");
    assert_eq!(run.status("runtime.pprof_registered"), "pass", "{msg}");
    assert_eq!(run.service()["pprof"]["url"], url);
}

/// `openssl req -x509` exactly as the user ran it: an EC P-256 self-signed certificate
/// for 127.0.0.1 that openssl marks `basicConstraints CA:TRUE` by default. Returns the paths of
/// `NAME.pem` and `NAME.key` in `dir`.
fn openssl_cert(dir: &Path, name: &str, subject: &str) -> (String, String) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-subj", subject])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "2",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("CA:TRUE"),
        "openssl's default is no longer CA:TRUE: the test no longer proves the issue's case"
    );
    (cert.display().to_string(), key.display().to_string())
}

/// svc-tlspprof serving pprof over https on `{admin}` with an openssl-made certificate; the
/// main port serves /healthz over plain HTTP but not pprof, so the default `--ready
/// /debug/pprof/` is only reachable over TLS.
fn openssl_tls_service() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_cert(dir.path(), "server", "/CN=127.0.0.1");
    let exec = exec_line("svc-tlspprof", &format!("--cert '{cert}' --key '{key}'"));
    (dir, cert, exec)
}

#[test]
fn curl_accepts_the_openssl_certificate_that_goready_now_pins() {
    // The reference: curl trusts a CA:TRUE certificate given with --cacert when the server
    // presents it. goready must do as much (the probe tests below).
    let (dir, cert, _) = openssl_tls_service();
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (addr, admin) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    drop((a, b));
    let mut svc = Command::new(service("svc-tlspprof"))
        .args(["--addr", &addr.to_string(), "--admin", &admin.to_string()])
        .args(["--cert", &cert, "--key"])
        .arg(dir.path().join("server.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("https://{admin}/debug/pprof/");
    let until = Instant::now() + Duration::from_secs(10);
    let curl = loop {
        let out = Command::new("curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
                &cert,
                &url,
            ])
            .output()
            .expect("curl");
        if out.status.success() || Instant::now() > until {
            break out;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = svc.kill();
    let _ = svc.wait();
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&curl.stdout), "200");
}

#[test]
fn pprof_over_tls_with_an_openssl_certificate_is_waited_for_and_probed_over_tls() {
    // The case: no --ready, only --ca-cert with the server's own CA:TRUE certificate.
    let (_dir, cert, exec) = openssl_tls_service();
    let run = probe(&["--exec", &exec, "--ca-cert", &cert]);
    let start = run.message("runtime.start");
    assert_eq!(run.status("runtime.start"), "pass", "{start}");
    assert!(start.contains("https://127.0.0.1:"), "{start}");
    assert!(start.contains("TLS verified by pin"), "{start}");
    assert_eq!(run.service()["readiness"]["tls"], "pinned");
    let msg = run.message("runtime.pprof_registered");
    assert_eq!(run.status("runtime.pprof_registered"), "pass", "{msg}");
    assert!(msg.contains("TLS verified by pin"), "{msg}");
    assert_eq!(run.service()["pprof"]["tls"], "pinned");
    assert_eq!(run.status("runtime.pprof_exposed"), "pass");
    let allocs = run.message("runtime.allocs");
    assert_eq!(run.status("runtime.allocs"), "pass", "{allocs}");
    assert!(run.service()["memstats"]["heap_inuse"].as_u64().unwrap() > 0);
    // The second case: ready on the plain /healthz, then pprof over TLS with the
    // same certificate, which webpki alone refused as "CaUsedAsEndEntity".
    let run = probe(&["--exec", &exec, "--ca-cert", &cert, "--ready", "/healthz"]);
    let start = run.message("runtime.start");
    assert_eq!(run.status("runtime.start"), "pass", "{start}");
    assert!(!start.contains("TLS"), "ready over plain HTTP: {start}");
    let msg = run.message("runtime.pprof_registered");
    assert_eq!(run.status("runtime.pprof_registered"), "pass", "{msg}");
    assert!(msg.contains("TLS verified by pin"), "{msg}");
}

#[test]
fn pprof_over_tls_with_an_openssl_certificate_and_insecure_says_it_was_not_verified() {
    let (_dir, _cert, exec) = openssl_tls_service();
    let run = probe(&["--exec", &exec, "--insecure"]);
    let start = run.message("runtime.start");
    assert_eq!(run.status("runtime.start"), "pass", "{start}");
    assert!(
        start.contains("TLS certificate not verified (--insecure)"),
        "{start}"
    );
    let msg = run.message("runtime.pprof_registered");
    assert_eq!(run.status("runtime.pprof_registered"), "pass", "{msg}");
    assert!(msg.contains("not verified (--insecure)"), "{msg}");
    assert_eq!(run.service()["pprof"]["tls"], "insecure");
}

#[test]
fn pprof_over_tls_with_the_wrong_certificate_names_the_cause() {
    let (dir, _cert, exec) = openssl_tls_service();
    let (wrong, _) = openssl_cert(dir.path(), "wrong", "/CN=127.0.0.1");
    // Waiting for /debug/pprof/: only the TLS socket serves it, and its certificate is not
    // the one given.
    let run = probe(&[
        "--exec",
        &exec,
        "--ca-cert",
        &wrong,
        "--ready-timeout",
        "2s",
    ]);
    let start = run.message("runtime.start");
    assert_eq!(run.status("runtime.start"), "fail", "{start}");
    assert!(start.contains("GET https://127.0.0.1:"), "{start}");
    assert!(start.contains("TLS certificate is not trusted"), "{start}");
    assert!(
        start.contains("CA certificate (basicConstraints CA:TRUE)"),
        "{start}"
    );
    assert!(start.contains("pass --ca-cert FILE"), "{start}");
    assert_eq!(run.service()["readiness"]["certificate_refused"], true);
    // Ready on the plain /healthz, pprof itself is refused for the same cause.
    let run = probe(&["--exec", &exec, "--ca-cert", &wrong, "--ready", "/healthz"]);
    let msg = run.message("runtime.pprof_registered");
    assert_eq!(run.status("runtime.pprof_registered"), "fail", "{msg}");
    assert!(msg.contains("TLS certificate is not trusted"), "{msg}");
    assert!(msg.contains("--ca-cert FILE"), "{msg}");
}

#[test]
fn an_explicit_https_pprof_url_is_honoured_by_readiness() {
    let (_dir, cert, exec) = openssl_tls_service();
    let run = probe(&[
        "--exec",
        &exec,
        "--pprof",
        "https://{admin}",
        "--ca-cert",
        &cert,
    ]);
    let start = run.message("runtime.start");
    assert_eq!(run.status("runtime.start"), "pass", "{start}");
    let admin = run.service()["admin"].as_str().unwrap().to_string();
    let url = format!("https://{admin}/debug/pprof/");
    assert_eq!(run.service()["readiness"]["url"], url.as_str());
    assert_eq!(run.service()["pprof"]["url"], url.as_str());
    assert_eq!(run.status("runtime.pprof_registered"), "pass");
    // The same socket named with http:// is answered as a TLS server answers plain HTTP,
    // and the message says what to write instead.
    let run = probe(&[
        "--exec",
        &exec,
        "--pprof",
        "http://{admin}",
        "--ready-timeout",
        "2s",
    ]);
    let start = run.message("runtime.start");
    assert_eq!(run.status("runtime.start"), "fail", "{start}");
    assert!(
        start.contains("write the --pprof URL with https://"),
        "{start}"
    );
}

#[test]
fn pprof_over_tls_signed_by_a_private_ca_is_verified_by_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ca, ca_key) = openssl_cert(d, "ca", "/CN=goready test CA");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
    ]);
    std::fs::write(
        d.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "leaf.pem",
    ]);
    let exec = exec_line(
        "svc-tlspprof",
        &format!(
            "--cert '{}' --key '{}'",
            d.join("leaf.pem").display(),
            d.join("leaf.key").display()
        ),
    );
    let run = probe(&["--exec", &exec, "--ca-cert", &ca]);
    let start = run.message("runtime.start");
    assert_eq!(run.status("runtime.start"), "pass", "{start}");
    assert!(start.contains("TLS verified by CA"), "{start}");
    let msg = run.message("runtime.pprof_registered");
    assert_eq!(run.status("runtime.pprof_registered"), "pass", "{msg}");
    assert!(msg.contains("TLS verified by CA"), "{msg}");
}

#[test]
fn a_slow_tail_fails_max_p99_and_a_fast_endpoint_passes() {
    let exec = exec_line("svc-slowtail", "--slow 300ms");
    let slow = probe(&[
        "--exec",
        &exec,
        "--load",
        "GET /work",
        "--requests",
        "200",
        "--concurrency",
        "2",
        "--max-p99",
        "100ms",
    ]);
    let msg = slow.message("runtime.latency");
    assert_eq!(slow.status("runtime.latency"), "fail", "{msg}");
    assert!(msg.contains("exceeds --max-p99 100ms"), "{msg}");
    assert!(msg.contains("closed loop over 2 connections"), "{msg}");
    let data = &slow.check("runtime.latency")["data"];
    // One request in ten sleeps 300 ms: p90 of the fast ones is below it, p99 above.
    assert!(data["p99_ms"].as_f64().unwrap() >= 300.0, "{data}");
    assert!(data["max_ms"].as_f64().unwrap() >= data["p99_ms"].as_f64().unwrap());
    assert_eq!(slow.status("runtime.load"), "pass");

    let fast = probe(&[
        "--exec",
        &exec,
        "--load",
        "GET /fast",
        "--requests",
        "200",
        "--concurrency",
        "2",
        "--max-p99",
        "100ms",
    ]);
    let msg = fast.message("runtime.latency");
    assert_eq!(fast.status("runtime.latency"), "pass", "{msg}");

    // Open loop: the same slow tail, measured from each request's intended send time.
    let open = probe(&[
        "--exec",
        &exec,
        "--load",
        "GET /work",
        "--requests",
        "100",
        "--concurrency",
        "4",
        "--rate",
        "200/s",
        "--max-p99",
        "100ms",
    ]);
    let msg = open.message("runtime.latency");
    assert_eq!(open.status("runtime.latency"), "fail", "{msg}");
    assert!(msg.contains("open loop at 200 req/s"), "{msg}");
    assert_eq!(
        open.check("runtime.latency")["data"]["latency_from"],
        "intended send time"
    );
    // Without a budget the distribution is still reported.
    let none = probe(&["--exec", &exec, "--load", "GET /fast", "--requests", "20"]);
    assert_eq!(none.status("runtime.latency"), "skip");
    assert!(none.message("runtime.latency").contains("p90"));
}

/// hello-svc probed twice with every allocation recorded (`GODEBUG=memprofilerate=1`, so
/// the values are exact and the profiler's own index requests show up): once idle, its
/// allocs profile the baseline; once under 2000 × GET /hello with `--baseline` pointing at
/// the idle profile and a low `--max-alloc-growth`. Shared by the allocation tests.
struct AllocRuns {
    idle: tempfile::TempDir,
    loaded: tempfile::TempDir,
    run: Run,
}

const MAX_GROWTH: f64 = 2.0;

fn alloc_runs() -> &'static AllocRuns {
    static RUNS: std::sync::OnceLock<AllocRuns> = std::sync::OnceLock::new();
    RUNS.get_or_init(|| {
        let env = [("GODEBUG", "memprofilerate=1")];
        let exec = exec_line("svc-hello", "");
        let idle = tempfile::tempdir().unwrap();
        let idle_dir = idle.path().display().to_string();
        let idle_json = idle.path().join("result.json").display().to_string();
        let first = probe_env(
            &repo(),
            &[
                "--exec",
                &exec,
                "--artifacts",
                &idle_dir,
                "--json",
                &idle_json,
            ],
            &env,
        );
        assert_eq!(first.status("runtime.allocs"), "pass", "{}", first.stdout);
        let loaded = tempfile::tempdir().unwrap();
        let loaded_dir = loaded.path().display().to_string();
        let baseline = idle.path().join("allocs.pb.gz").display().to_string();
        let growth = MAX_GROWTH.to_string();
        let run = probe_env(
            &repo(),
            &[
                "--exec",
                &exec,
                "--load",
                "GET /hello",
                "--requests",
                "2000",
                "--artifacts",
                &loaded_dir,
                "--top",
                "10",
                "--baseline",
                &baseline,
                "--max-alloc-growth",
                &growth,
            ],
            &env,
        );
        AllocRuns { idle, loaded, run }
    })
}

/// `go tool pprof`'s flat% per function over every node (`-nodefraction=0`), the profiler's
/// frames ignored as goready ignores them.
fn go_flat_pct(sample_index: &str, file: &Path) -> std::collections::HashMap<String, f64> {
    let si = format!("-sample_index={sample_index}");
    let (_, table) = go_pprof(
        &[
            &si,
            "-nodefraction=0",
            "-relative_percentages",
            IGNORE_PROFILER,
        ],
        file,
    );
    table
        .iter()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let name = f[5..].join(" ");
            let name = name
                .trim_end_matches(" (inline)")
                .trim_end_matches(" (partial-inline)")
                .to_string();
            (name, f[1].trim_end_matches('%').parse().unwrap())
        })
        .collect()
}

#[test]
fn hello_svc_under_load_ranks_allocations_exactly_like_go_tool_pprof() {
    let runs = alloc_runs();
    let run = &runs.run;
    assert_eq!(
        run.status("runtime.allocs"),
        "pass",
        "{}",
        run.message("runtime.allocs")
    );
    assert_eq!(run.status("runtime.load"), "pass");
    // alloc_regression is a warning: the default --fail-on error lets the run pass.
    assert_eq!(run.code, 0, "{}", run.stdout);
    let check = run.check("runtime.allocs");
    let data = &check["data"];

    // The raw profiles and their flame graphs, named in the check's data.
    let dir = runs.loaded.path();
    for name in ["allocs.pb.gz", "heap.pb.gz", "allocs.svg", "heap.svg"] {
        let path = dir.join(name);
        assert_eq!(
            data["artifacts"][name],
            path.display().to_string(),
            "{}",
            data["artifacts"]
        );
        assert!(path.is_file(), "{name} not written");
    }
    let allocs = dir.join("allocs.pb.gz");

    // Row for row, value for value, what go tool pprof prints for the saved profile.
    for si in ["alloc_space", "alloc_objects"] {
        let (want, _) = go_rows(
            si,
            &["-nodecount=10", "-relative_percentages", IGNORE_PROFILER],
            &allocs,
        );
        let got = rows_of(ranking(check, si));
        assert_eq!(got.len(), 10, "--top 10");
        assert_eq!(got, want, "{si}: goready (left) vs go tool pprof (right)");
    }

    // The load is in the profile (the GC before the scrape published it): the /hello
    // handler allocates at least one object per request, and its flat value is pprof's.
    let handler = "main.publicMux.func2";
    let objects = data["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sample_type"] == "alloc_objects")
        .unwrap();
    let flat = objects["sites"][handler].as_i64().unwrap_or(0);
    assert!(
        flat >= 2000,
        "{handler} allocated {flat} objects for 2000 requests"
    );
    let (all, _) = go_rows(
        "alloc_objects",
        &["-nodefraction=0", "-relative_percentages", IGNORE_PROFILER],
        &allocs,
    );
    let theirs = all.iter().find(|r| r.name == handler).unwrap();
    assert_eq!(flat, theirs.flat);

    // With every allocation recorded, the probe's own requests to pprof are in the profile:
    // left out, counted, and said so.
    let left = data["left_out"]["samples"].as_u64().unwrap();
    assert!(left > 0, "{}", data["left_out"]);
    let message = run.message("runtime.allocs");
    assert!(
        message.contains(&format!("left out {left} samples with runtime/pprof."))
            && message.contains("profiler's own scrape"),
        "{message}"
    );

    // Flame graphs: well-formed SVG, the top allocation site drawn in it.
    let top = &ranking(check, "alloc_space")["rows"][0]["function"];
    let svg = assert_svg(&dir.join("allocs.svg"));
    assert!(svg.contains(&xml_escaped(top.as_str().unwrap())), "{top}");
    assert!(svg.contains("alloc_space"));
    assert!(!svg.contains("runtime/pprof.writeHeapProto"));
    let heap = assert_svg(&dir.join("heap.svg"));
    assert!(heap.contains("inuse_space"));
    // The service's artifact list names them too.
    assert_eq!(
        run.service()["artifacts"]["allocs.svg"],
        dir.join("allocs.svg").display().to_string()
    );
}

#[test]
fn allocation_sites_grown_by_load_fail_alloc_regression_with_old_and_new_share() {
    let runs = alloc_runs();
    let run = &runs.run;
    let failed: Vec<&Value> = run.json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "runtime.alloc_regression" && c["status"] == "fail")
        .collect();
    assert!(!failed.is_empty(), "{}", run.stdout);
    let new = go_flat_pct("alloc_space", &runs.loaded.path().join("allocs.pb.gz"));
    let old = go_flat_pct("alloc_space", &runs.idle.path().join("allocs.pb.gz"));
    for c in &failed {
        assert_eq!(c["severity"], "warning");
        let d = &c["data"];
        let function = d["function"].as_str().unwrap();
        assert_eq!(c["target"], function);
        let (was, now) = (
            d["old_share"].as_f64().unwrap(),
            d["new_share"].as_f64().unwrap(),
        );
        assert!(now - was > MAX_GROWTH, "{function}: {was} → {now}");
        // Each share is the flat% go tool pprof prints for the function (0 where the idle
        // service never allocated there).
        let go_new = new[function];
        let go_old = old.get(function).copied().unwrap_or(0.0);
        assert!(
            (now - go_new).abs() < 0.006,
            "{function}: {now} vs pprof {go_new}"
        );
        assert!(
            (was - go_old).abs() < 0.006,
            "{function}: {was} vs pprof {go_old}"
        );
        let message = c["message"].as_str().unwrap();
        // Each share with its 99 % margin, then the sampled allocations of both sides.
        assert!(
            message.starts_with(&format!("{function}: share of alloc_space {was:.1}% ± ")),
            "{message}"
        );
        assert!(message.contains(&format!(" → {now:.1}% ± ")), "{message}");
        let of = format!(
            " of {}/{} heap samples (",
            d["old_events"].as_u64().unwrap(),
            d["new_events"].as_u64().unwrap()
        );
        assert!(message.contains(&of), "{message}");
        assert!(d["lower_bound"].as_f64().unwrap() > MAX_GROWTH, "{d}");
    }
    // What grew is request handling.
    assert!(
        failed.iter().any(|c| {
            let f = c["target"].as_str().unwrap();
            f.starts_with("net/http.") || f.starts_with("net/textproto.")
        }),
        "{failed:#?}"
    );

    // The idle probe's result file serves as a baseline too (its runtime.allocs check
    // carries the shares). It keeps only sites of at least 0.1 %, the rest count as 0, so
    // every site that failed against the profile fails against it as well.
    let idle_json = runs.idle.path().join("result.json");
    let loaded = runs.loaded.path().join("allocs.pb.gz");
    let out = goready()
        .args(["pprof", loaded.to_str().unwrap(), "--format", "json"])
        .args(["--base", idle_json.to_str().unwrap()])
        .args(["--max-alloc-growth", &MAX_GROWTH.to_string()])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let from_json: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "runtime.alloc_regression" && c["status"] == "fail")
        .map(|c| c["target"].as_str().unwrap())
        .collect();
    for c in &failed {
        let f = c["target"].as_str().unwrap();
        assert!(from_json.contains(&f), "{f} not in {from_json:?}");
    }
}

/// A memory cgroup this test may create (v1 memory controller, or v2 with memory enabled),
/// or None where the machine does not allow it.
fn make_memory_cgroup(limit: u64) -> Option<PathBuf> {
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let name = format!("goready-test-{}", marker());
    for line in cg.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (base, file) = if ctrls.split(',').any(|c| c == "memory") {
            (
                Path::new("/sys/fs/cgroup/memory").join(path.trim_start_matches('/')),
                "memory.limit_in_bytes",
            )
        } else if ctrls.is_empty() && Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            let base = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
            let subtree =
                std::fs::read_to_string(base.join("cgroup.subtree_control")).unwrap_or_default();
            if !subtree.split_whitespace().any(|c| c == "memory") {
                continue;
            }
            (base, "memory.max")
        } else {
            continue;
        };
        let dir = base.join(&name);
        if std::fs::create_dir(&dir).is_err() {
            continue;
        }
        if std::fs::write(dir.join(file), limit.to_string()).is_ok() {
            return Some(dir);
        }
        let _ = std::fs::remove_dir(&dir);
    }
    None
}

#[test]
#[ignore = "needs root to create a memory cgroup; .ci/run runs it with --include-ignored"]
fn a_cgroup_memory_limit_needs_gomemlimit_below_it() {
    let cgroup = make_memory_cgroup(256 << 20)
        .expect("cannot create a memory cgroup: this test needs root and a memory controller");
    let procs_file = cgroup.join("cgroup.procs");
    let exec = exec_line("svc-hello", "");
    let run_in_cgroup = |gomemlimit: Option<&str>| {
        let marker = marker();
        let mut cmd = goready();
        cmd.current_dir(repo())
            .args(["probe", "--exec", &exec, "--format", "json"])
            .env(MARKER_VAR, &marker)
            .env_remove("GOMEMLIMIT");
        if let Some(v) = gomemlimit {
            cmd.env("GOMEMLIMIT", v);
        }
        let path = std::ffi::CString::new(procs_file.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: between fork and exec only open/write/close, no allocation.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(fd);
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        assert_nothing_left(&marker);
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "runtime.memlimit")
            .unwrap()
            .clone()
    };
    let unset = run_in_cgroup(None);
    let below = run_in_cgroup(Some("200MiB"));
    let above = run_in_cgroup(Some("1GiB"));
    let _ = std::fs::remove_dir(&cgroup);
    assert_eq!(unset["status"], "fail", "{unset}");
    assert!(
        unset["message"]
            .as_str()
            .unwrap()
            .contains("GOMEMLIMIT is unset")
    );
    assert_eq!(unset["data"]["cgroup"]["bytes"], 256u64 << 20);
    assert_eq!(below["status"], "pass", "{below}");
    assert!(
        below["message"].as_str().unwrap().contains("78%"),
        "{below}"
    );
    assert_eq!(above["status"], "fail", "{above}");
    assert!(above["message"].as_str().unwrap().contains("above it"));
}

#[test]
fn max_time_stops_a_probe_that_would_wait_longer_and_leaves_nothing_behind() {
    // Readiness alone could take 30 s; --max-time cuts the whole probe at 2 s.
    let exec = exec_line("svc-neverready", "");
    let marker = marker();
    let out = goready()
        .current_dir(repo())
        .args([
            "probe",
            "--exec",
            &exec,
            "--ready-timeout",
            "30s",
            "--grace",
            "1s",
            "--max-time",
            "2s",
            "--format",
            "json",
        ])
        .env(MARKER_VAR, &marker)
        .stdin(Stdio::null())
        .output()
        .expect("run goready");
    assert_nothing_left(&marker);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ran past its time limit of 2s (--max-time)"),
        "{stderr}"
    );
    assert!(stderr.contains("stopping the service"), "{stderr}");
    assert!(out.stdout.is_empty(), "no report of a half-done probe");
}
