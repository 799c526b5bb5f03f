//! `goready env` against real Go modules the tests create, with the real local toolchain:
//! the support verdict by a release feed served on 127.0.0.1, by a feed file and by the
//! built-in snapshot; go.mod directives the local Go cannot satisfy; GOSUMDB, GOPATH, GOPROXY,
//! GOPRIVATE and GOFLAGS settings; go.sum missing, tampered with and untidy. Each verdict is
//! cross-checked against what `go` itself does in the same situation.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// Every env rule id, in documentation order.
const ENV_IDS: &[&str] = &[
    "env.go_supported",
    "env.go_mod_directive",
    "env.toolchain_consistent",
    "env.goroot_provenance",
    "env.gopath_overlap",
    "env.goproxy",
    "env.gosumdb",
    "env.goprivate",
    "env.goflags",
    "env.go_sum",
];

/// The result of one `goready env` run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    doc: Value,
}

impl Run {
    fn check(&self, id: &str) -> &Value {
        let all = self.doc["checks"].as_array().expect("checks");
        let found: Vec<_> = all.iter().filter(|c| c["id"] == id).collect();
        assert_eq!(found.len(), 1, "{id} once in {:#}", self.doc);
        found[0]
    }

    fn status(&self, id: &str) -> (String, String) {
        let c = self.check(id);
        (
            c["status"].as_str().unwrap().to_string(),
            c["severity"].as_str().unwrap().to_string(),
        )
    }

    fn message(&self, id: &str) -> String {
        self.check(id)["message"].as_str().unwrap().to_string()
    }
}

/// Runs `goready env DIR ARGS` with extra environment variables; the result file is read back.
fn env_run(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let out_dir = tempfile::tempdir().unwrap();
    let json_path = out_dir.path().join("env.json");
    let out = goready()
        .arg("env")
        .arg(dir)
        .args(args)
        .arg("--json")
        .arg(&json_path)
        .envs(vars.iter().copied())
        .output()
        .expect("run goready");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let text = std::fs::read_to_string(&json_path)
        .unwrap_or_else(|e| panic!("no result file ({e}); stdout:\n{stdout}\nstderr:\n{stderr}"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr,
        doc,
    }
}

/// The local Go's minor and patch (`go1.26.8` → (26, 8)).
fn local() -> (u32, u32) {
    let v = go_version().trim_start_matches("go1.");
    let (minor, patch) = v.split_once('.').expect("a release go1.N.P");
    (minor.parse().unwrap(), patch.parse().unwrap())
}

/// A release feed in the official format (with a `files` entry like go.dev's, which goready
/// must ignore).
fn feed(entries: &[(String, bool)]) -> String {
    let list: Vec<Value> = entries
        .iter()
        .map(|(v, stable)| {
            json!({"version": v, "stable": stable, "files": [{
                "filename": format!("{v}.linux-amd64.tar.gz"), "os": "linux", "arch": "amd64",
                "version": v, "sha256": "00", "size": 1, "kind": "archive"}]})
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap()
}

fn stable(v: String) -> (String, bool) {
    (v, true)
}

/// Serves `body` with `status` to up to `max` requests on 127.0.0.1, for at most 60 s; a
/// `status` of 0 accepts connections and never answers (a hung server).
fn serve(status: u16, body: String, max: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        let mut held = Vec::new();
        while served < max && Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, _)) => {
                    served += 1;
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    }
                    if status == 0 {
                        held.push(s);
                        continue;
                    }
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(head.as_bytes());
                    let _ = s.write_all(body.as_bytes());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        // A hung server keeps its connections open (bounded: 20 s) without answering.
        if !held.is_empty() {
            std::thread::sleep(Duration::from_secs(20));
        }
        drop(held);
    });
    format!("http://{addr}/dl/?mode=json&include=all")
}

/// Writes a module's files into a fresh directory.
fn module(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const MAIN: &str = "package main\n\nfunc main() {}\n";

fn go_in(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    Command::new("go")
        .current_dir(dir)
        .args(args)
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

// ---- env.go_supported: three sources of release data ------------------------------------

#[test]
fn supported_toolchain_passes_by_a_feed_served_on_localhost_and_rc_entries_do_not_count() {
    let (minor, patch) = local();
    let body = feed(&[
        (format!("go1.{}rc1", minor + 2), false),
        (format!("go1.{}rc2", minor + 1), false),
        stable(format!("go1.{minor}.{patch}")),
        stable(format!("go1.{minor}.0")),
        stable(format!("go1.{}.9", minor - 1)),
        stable(format!("go1.{}.20", minor - 2)),
    ]);
    let url = serve(200, body, 1);
    let dir = module(&[]);
    let r = env_run(dir.path(), &["--releases", &url], &[]);
    assert_eq!(
        r.status("env.go_supported"),
        ("pass".into(), "error".into())
    );
    let msg = r.message("env.go_supported");
    assert!(
        msg.contains(&format!("newest patch of go1.{minor}")),
        "{msg}"
    );
    assert!(msg.contains(&url), "names its source: {msg}");
    let data = &r.check("env.go_supported")["data"];
    assert_eq!(data["source"]["kind"], "url");
    assert_eq!(
        data["supported_lines"],
        json!([format!("go1.{minor}"), format!("go1.{}", minor - 1)])
    );
    assert_eq!(data["go_version"], go_version());
}

#[test]
fn end_of_life_toolchain_fails_by_a_feed_file_naming_the_newest_releases() {
    let (minor, patch) = local();
    let dir = module(&[]);
    let file = dir.path().join("releases.json");
    std::fs::write(
        &file,
        feed(&[
            stable(format!("go1.{}.2", minor + 2)),
            stable(format!("go1.{}.0", minor + 2)),
            stable(format!("go1.{}.7", minor + 1)),
            stable(format!("go1.{minor}.{}", patch + 4)),
            stable(format!("go1.{minor}.{patch}")),
        ]),
    )
    .unwrap();
    let r = env_run(dir.path(), &["--releases", file.to_str().unwrap()], &[]);
    assert_eq!(
        r.status("env.go_supported"),
        ("fail".into(), "error".into())
    );
    let msg = r.message("env.go_supported");
    assert!(msg.contains("end-of-life"), "{msg}");
    assert!(
        msg.contains(&format!("go1.{minor}.{}", patch + 4)),
        "newest of its line: {msg}"
    );
    assert!(
        msg.contains(&format!("upgrade to go1.{}.2", minor + 2)),
        "newest release: {msg}"
    );
    assert_eq!(r.code, 1, "an error-severity failure fails the job");
    assert!(r.stdout.contains("end-of-life"), "{}", r.stdout);
}

#[test]
fn a_patch_behind_is_a_warning_naming_the_newest_patch() {
    let (minor, patch) = local();
    let dir = module(&[]);
    let file = dir.path().join("releases.json");
    std::fs::write(
        &file,
        feed(&[
            stable(format!("go1.{minor}.{}", patch + 2)),
            stable(format!("go1.{minor}.{patch}")),
            stable(format!("go1.{}.3", minor - 1)),
        ]),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let r = env_run(dir.path(), &["--releases", path], &[]);
    assert_eq!(
        r.status("env.go_supported"),
        ("fail".into(), "warning".into())
    );
    let msg = r.message("env.go_supported");
    assert!(
        msg.contains(&format!(
            "2 patch releases behind go1.{minor}.{}",
            patch + 2
        )),
        "{msg}"
    );
    // A warning alone passes the default --fail-on error; with --fail-on warning it fails.
    let strict = env_run(
        dir.path(),
        &[
            "--releases",
            path,
            "--fail-on",
            "warning",
            "--private",
            "x.test",
        ],
        &[("GOPRIVATE", "x.test"), ("GOFLAGS", "-trimpath")],
    );
    assert_eq!(strict.code, 1);
    let failing: Vec<_> = strict.doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail" && c["severity"] != "notice")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        failing,
        ["env.go_supported"],
        "the warning alone decides the exit code"
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn a_toolchain_newer_than_the_release_data_is_not_evaluated_with_a_stale_notice() {
    let (minor, _) = local();
    let dir = module(&[]);
    let file = dir.path().join("old.json");
    std::fs::write(
        &file,
        feed(&[
            stable(format!("go1.{}.3", minor - 1)),
            stable(format!("go1.{}.11", minor - 2)),
        ]),
    )
    .unwrap();
    let r = env_run(dir.path(), &["--releases", file.to_str().unwrap()], &[]);
    // The data does not know the running line: no evidence it is supported, so no pass.
    assert_eq!(r.status("env.go_supported").0, "skip");
    let msg = r.message("env.go_supported");
    assert!(msg.contains("stale"), "{msg}");
    assert!(msg.contains(&format!("go1.{}.3", minor - 1)), "{msg}");
}

/// The snapshot compiled into goready, read independently of goready's own code.
fn snapshot() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
        let text = std::fs::read_to_string(repo().join("src/env/releases-snapshot.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

#[test]
fn offline_snapshot_judges_the_local_toolchain_and_says_how_old_it_is() {
    let snap = snapshot();
    let date = snap["date"].as_str().unwrap();
    // The expected verdict, computed here from the snapshot's stable go1.N.P entries.
    let mut newest: std::collections::BTreeMap<u32, u32> = Default::default();
    for r in snap["releases"].as_array().unwrap() {
        let v = r["version"].as_str().unwrap();
        if r["stable"] != true {
            continue;
        }
        let parts: Vec<u32> = v
            .trim_start_matches("go")
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        if parts.len() == 3 {
            let e = newest.entry(parts[1]).or_insert(0);
            *e = (*e).max(parts[2]);
        }
    }
    let lines: Vec<u32> = newest.keys().rev().take(2).copied().collect();
    let (minor, patch) = local();
    let expected = if minor > lines[0] || newest.get(&minor).is_some_and(|&n| patch > n) {
        ("pass", "error")
    } else if !lines.contains(&minor) {
        ("fail", "error")
    } else if newest[&minor] > patch {
        ("fail", "warning")
    } else {
        ("pass", "error")
    };
    let dir = module(&[]);
    let r = env_run(dir.path(), &["--offline"], &[]);
    assert_eq!(
        r.status("env.go_supported"),
        (expected.0.to_string(), expected.1.to_string()),
        "{}",
        r.message("env.go_supported")
    );
    let msg = r.message("env.go_supported");
    assert!(msg.contains(&format!("snapshot of {date}")), "{msg}");
    assert!(msg.contains("days old") || msg.contains("day old"), "{msg}");
    let data = &r.check("env.go_supported")["data"];
    assert_eq!(data["source"]["kind"], "snapshot");
    assert_eq!(data["source"]["date"], date);
    if expected == ("fail", "warning") {
        assert!(
            msg.contains(&format!("go1.{minor}.{}", newest[&minor])),
            "{msg}"
        );
    }
}

#[test]
fn default_release_data_is_the_feed_or_a_fallback_that_says_why() {
    let dir = module(&[]);
    let r = env_run(dir.path(), &[], &[]);
    let data = &r.check("env.go_supported")["data"]["source"];
    match data["kind"].as_str().unwrap() {
        "url" => assert_eq!(data["url"], "https://go.dev/dl/?mode=json&include=all"),
        "snapshot" => {
            let reason = data["reason"].as_str().unwrap();
            assert!(reason.contains("go.dev"), "{reason}");
        }
        other => panic!("unexpected source {other}"),
    }
}

#[test]
fn unusable_release_data_is_a_clear_error_with_exit_code_2() {
    let dir = module(&[]);
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "<html>not a feed</html>").unwrap();
    let r = env_run(dir.path(), &["--releases", junk.to_str().unwrap()], &[]);
    assert_eq!(r.code, 2);
    assert_eq!(r.status("env.go_supported").0, "error");
    assert!(r.stderr.contains("junk.json"), "{}", r.stderr);
    // Every other rule still ran and is in the result file.
    for id in ENV_IDS {
        r.check(id);
    }

    let url = serve(500, "oops".into(), 1);
    let r = env_run(dir.path(), &["--releases", &url], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.message("env.go_supported").contains("HTTP 500"),
        "{}",
        r.message("env.go_supported")
    );

    let only_rc = serve(200, feed(&[("go1.99rc1".into(), false)]), 1);
    let r = env_run(dir.path(), &["--releases", &only_rc], &[]);
    assert_eq!(r.code, 2);
    assert!(r.message("env.go_supported").contains("no stable"));

    // A server that accepts and never answers: goready gives up at its timeout.
    let hung = serve(0, String::new(), 1);
    let started = Instant::now();
    let r = env_run(dir.path(), &["--releases", &hung], &[]);
    assert_eq!(r.code, 2);
    assert!(started.elapsed() < Duration::from_secs(50));
    let msg = r.message("env.go_supported");
    assert!(
        msg.to_lowercase().contains("timeout") || msg.contains("timed out"),
        "{msg}"
    );
}

// ---- env.go_mod_directive ----------------------------------------------------------------

#[test]
fn a_go_line_the_local_go_cannot_satisfy_fails_like_go_build_does() {
    let gomod = "module example.com/future\n\ngo 1.99.0\n";
    let dir = module(&[("go.mod", gomod), ("main.go", MAIN)]);
    let vars = [("GOTOOLCHAIN", "local")];
    let r = env_run(dir.path(), &["--offline"], &vars);
    assert_eq!(
        r.status("env.go_mod_directive"),
        ("fail".into(), "error".into())
    );
    let c = r.check("env.go_mod_directive");
    assert_eq!(c["line"], 3);
    assert!(c["file"].as_str().unwrap().ends_with("go.mod"));
    let msg = r.message("env.go_mod_directive");
    assert!(msg.contains("requires go >= 1.99.0"), "{msg}");
    // go agrees: the build fails, with the message goready quotes.
    let build = go_in(dir.path(), &["build", "-o", "/dev/null", "."], &vars);
    assert!(!build.status.success());
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(stderr.contains("go.mod requires go >= 1.99.0"), "{stderr}");
    assert!(
        msg.contains(stderr.trim().trim_start_matches("go: ")),
        "{msg}\n{stderr}"
    );
    // go.sum's checks need a Go that can load the module: skipped, not failed.
    assert_eq!(r.status("env.go_sum").0, "skip");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("go.mod")).unwrap(),
        gomod
    );
    assert_eq!(r.code, 1);
}

#[test]
fn a_newer_toolchain_line_is_ignored_under_local_and_downloaded_under_auto() {
    let (minor, _) = local();
    let gomod = format!("module example.com/pinned\n\ngo 1.{minor}.0\n\ntoolchain go1.99.1\n");
    let dir = module(&[("go.mod", &gomod), ("main.go", MAIN)]);

    // GOTOOLCHAIN=local: go builds with the local Go anyway (cross-checked), so a warning.
    let local_vars = [("GOTOOLCHAIN", "local")];
    let r = env_run(dir.path(), &["--offline"], &local_vars);
    assert_eq!(
        r.status("env.go_mod_directive"),
        ("fail".into(), "warning".into())
    );
    assert_eq!(r.check("env.go_mod_directive")["line"], 5);
    assert!(r.message("env.go_mod_directive").contains("ignores it"));
    let build = go_in(dir.path(), &["build", "-o", "/dev/null", "."], &local_vars);
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    assert_eq!(
        r.status("env.go_sum").0,
        "pass",
        "{}",
        r.message("env.go_sum")
    );

    // GOTOOLCHAIN=auto: go would download go1.99.1; goready says so and downloads nothing.
    let cache = tempfile::tempdir().unwrap();
    let cache_path = cache.path().to_str().unwrap();
    let auto_vars = [("GOTOOLCHAIN", "auto"), ("GOMODCACHE", cache_path)];
    let r = env_run(dir.path(), &["--offline"], &auto_vars);
    assert_eq!(
        r.status("env.go_mod_directive"),
        ("fail".into(), "warning".into())
    );
    let msg = r.message("env.go_mod_directive");
    assert!(msg.contains("download go1.99.1 at build time"), "{msg}");
    assert!(
        !cache.path().join("golang.org").exists()
            && !cache.path().join("cache/download/golang.org").exists(),
        "goready must not fetch a toolchain"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("go.mod")).unwrap(),
        gomod
    );

    // ...and with GOPROXY=off that download cannot happen: an error.
    let off = env_run(
        dir.path(),
        &["--offline"],
        &[
            ("GOTOOLCHAIN", "auto"),
            ("GOMODCACHE", cache_path),
            ("GOPROXY", "off"),
        ],
    );
    assert_eq!(
        off.status("env.go_mod_directive"),
        ("fail".into(), "error".into())
    );
}

#[test]
fn a_module_the_local_go_satisfies_passes() {
    let (minor, _) = local();
    let dir = module(&[
        (
            "go.mod",
            &format!("module example.com/ok\n\ngo 1.{}\n", minor - 1),
        ),
        ("main.go", MAIN),
    ]);
    let r = env_run(dir.path(), &["--offline"], &[("GOTOOLCHAIN", "local")]);
    assert_eq!(
        r.status("env.go_mod_directive").0,
        "pass",
        "{}",
        r.message("env.go_mod_directive")
    );
    assert_eq!(
        r.status("env.go_sum").0,
        "pass",
        "{}",
        r.message("env.go_sum")
    );
    assert!(r.message("env.go_sum").contains("no go.sum needed"));
}

// ---- toolchain, GOROOT, GOPATH -----------------------------------------------------------

#[test]
fn the_local_toolchain_is_consistent_and_a_hand_set_goroot_is_not() {
    let dir = module(&[]);
    let r = env_run(dir.path(), &["--offline"], &[]);
    assert_eq!(
        r.status("env.toolchain_consistent").0,
        "pass",
        "{}",
        r.message("env.toolchain_consistent")
    );
    let goroot = go_env("GOROOT");
    // Cross-check what goready read from $GOROOT/bin/go against `go version FILE`.
    let reference = run_ok(
        Command::new("go")
            .args(["version"])
            .arg(Path::new(&goroot).join("bin/go")),
    );
    let reference = String::from_utf8_lossy(&reference.stdout);
    let data = &r.check("env.toolchain_consistent")["data"];
    let read = data["goroot_go"]["kind"]["version"]
        .as_str()
        .expect("a Go binary");
    assert!(
        reference.contains(&format!(": {read}")),
        "{reference} vs {read}"
    );

    // GOROOT pointing at another tree (its VERSION says go1.19.13, its bin/go is ours).
    let fake = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(fake.path().join("bin")).unwrap();
    std::os::unix::fs::symlink(
        Path::new(&goroot).join("bin/go"),
        fake.path().join("bin/go"),
    )
    .unwrap();
    std::fs::write(
        fake.path().join("VERSION"),
        "go1.19.13\ntime 2023-09-06T15:40:07Z\n",
    )
    .unwrap();
    let r = env_run(
        dir.path(),
        &["--offline"],
        &[("GOROOT", fake.path().to_str().unwrap())],
    );
    assert_eq!(
        r.status("env.toolchain_consistent"),
        ("fail".into(), "error".into())
    );
    assert!(
        r.message("env.toolchain_consistent")
            .contains("VERSION says go1.19.13")
    );
}

#[test]
fn a_version_manager_shim_on_path_is_explained_not_failed() {
    let shims = tempfile::tempdir().unwrap();
    let real = Path::new(&go_env("GOROOT")).join("bin/go");
    std::fs::write(
        shims.path().join("go"),
        format!("#!/bin/sh\nexec {} \"$@\"\n", real.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        shims.path().join("go"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        shims.path().display(),
        std::env::var("PATH").unwrap()
    );
    let dir = module(&[]);
    let r = env_run(dir.path(), &["--offline"], &[("PATH", path.as_str())]);
    assert_eq!(r.status("env.toolchain_consistent").0, "pass");
    assert!(
        r.message("env.toolchain_consistent")
            .contains("is a script"),
        "{}",
        r.message("env.toolchain_consistent")
    );
}

#[test]
fn gopath_equal_to_goroot_is_an_overlap_go_itself_warns_about() {
    let goroot = go_env("GOROOT");
    let modcache_in_goroot = Path::new(&goroot).join("pkg/mod");
    let existed = modcache_in_goroot.exists();
    let dir = module(&[]);
    let vars = [("GOPATH", goroot.as_str())];
    let r = env_run(dir.path(), &["--offline"], &vars);
    assert_eq!(
        r.status("env.gopath_overlap"),
        ("fail".into(), "error".into())
    );
    let msg = r.message("env.gopath_overlap");
    assert!(
        msg.contains(&format!("GOPATH entry {goroot} is GOROOT")),
        "{msg}"
    );
    assert!(
        msg.contains("GOMODCACHE"),
        "the default module cache lands in GOROOT too: {msg}"
    );
    let go = go_in(dir.path(), &["env", "GOPATH"], &vars);
    assert!(
        String::from_utf8_lossy(&go.stderr).contains("GOPATH and GOROOT are the same directory"),
        "go warns too"
    );
    assert_eq!(
        modcache_in_goroot.exists(),
        existed,
        "goready wrote nothing into GOROOT"
    );
    assert_eq!(r.code, 1);
}

// ---- GOSUMDB, GOPROXY, GOPRIVATE, GOFLAGS --------------------------------------------------

#[test]
fn gosumdb_off_fails() {
    let dir = module(&[]);
    let vars = [("GOSUMDB", "off")];
    let r = env_run(dir.path(), &["--offline"], &vars);
    assert_eq!(r.status("env.gosumdb"), ("fail".into(), "error".into()));
    assert!(r.message("env.gosumdb").starts_with("GOSUMDB=off"));
    assert_eq!(r.code, 1);
    let go = go_in(dir.path(), &["env", "GOSUMDB"], &vars);
    assert_eq!(String::from_utf8_lossy(&go.stdout).trim(), "off");
    // Switched off more quietly: flagged as warnings.
    let r = env_run(
        dir.path(),
        &["--offline"],
        &[("GOINSECURE", "example.com"), ("GONOSUMCHECK", "1")],
    );
    assert_eq!(r.status("env.gosumdb"), ("fail".into(), "warning".into()));
    let msg = r.message("env.gosumdb");
    assert!(
        msg.contains("GOINSECURE=example.com") && msg.contains("GONOSUMCHECK=1"),
        "{msg}"
    );
}

#[test]
fn private_modules_leak_to_the_public_proxy_unless_goprivate_covers_them() {
    let dir = module(&[]);
    let r = env_run(
        dir.path(),
        &["--offline", "--private", "git.acme.test/*"],
        &[("GOPRIVATE", "")],
    );
    assert_eq!(r.status("env.goprivate"), ("fail".into(), "error".into()));
    let msg = r.message("env.goprivate");
    assert!(
        msg.contains("proxy.golang.org") && msg.contains("sum.golang.org"),
        "{msg}"
    );
    let vars = [("GOPRIVATE", "git.acme.test")];
    let r = env_run(
        dir.path(),
        &["--offline", "--private", "git.acme.test/*"],
        &vars,
    );
    assert_eq!(
        r.status("env.goprivate").0,
        "pass",
        "{}",
        r.message("env.goprivate")
    );
    // GOPRIVATE is what go copies into GONOPROXY and GONOSUMDB.
    let go = go_in(dir.path(), &["env", "GONOPROXY", "GONOSUMDB"], &vars);
    assert_eq!(
        String::from_utf8_lossy(&go.stdout),
        "git.acme.test\ngit.acme.test\n"
    );
    let r = env_run(dir.path(), &["--offline"], &[]);
    assert_eq!(r.status("env.goprivate").0, "skip");
}

#[test]
fn goproxy_direct_and_goflags_mod_mod_are_flagged() {
    let dir = module(&[]);
    let r = env_run(
        dir.path(),
        &["--offline"],
        &[("GOPROXY", "direct"), ("GOFLAGS", "-mod=mod")],
    );
    assert_eq!(r.status("env.goproxy"), ("fail".into(), "warning".into()));
    assert_eq!(r.status("env.goflags"), ("fail".into(), "warning".into()));
    assert!(r.message("env.goflags").contains("-mod=mod"));
}

// ---- env.go_sum: real dependencies through a file:// GOPROXY -------------------------------

/// The modproxy tool, built once.
fn modproxy() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        build(&Spec {
            name: "modproxy",
            src: "tests/tools/modproxy",
            goos: std::env::consts::OS,
            goarch: if cfg!(target_arch = "aarch64") {
                "arm64"
            } else {
                "amd64"
            },
            cgo: false,
            flags: &[],
        })
    })
    .clone()
}

/// A module `example.com/app` that imports `example.com/dep v1.0.0`, served from a GOPROXY
/// directory, with its own module cache; the environment to use it with.
struct DepWorld {
    _root: tempfile::TempDir,
    app: PathBuf,
    cache: PathBuf,
    vars: Vec<(String, String)>,
}

impl DepWorld {
    fn new() -> DepWorld {
        let root = tempfile::tempdir().unwrap();
        let dep = root.path().join("dep");
        std::fs::create_dir_all(&dep).unwrap();
        std::fs::write(dep.join("go.mod"), "module example.com/dep\n\ngo 1.22\n").unwrap();
        std::fs::write(
            dep.join("dep.go"),
            "package dep\n\nfunc Answer() int { return 42 }\n",
        )
        .unwrap();
        let proxy = root.path().join("proxy");
        run_ok(
            Command::new(modproxy())
                .arg(&proxy)
                .args(["example.com/dep", "v1.0.0"])
                .arg(&dep),
        );
        let app = root.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        let (minor, _) = local();
        std::fs::write(
            app.join("go.mod"),
            format!("module example.com/app\n\ngo 1.{minor}.0\n\nrequire example.com/dep v1.0.0\n"),
        )
        .unwrap();
        std::fs::write(
            app.join("main.go"),
            "package main\n\nimport \"example.com/dep\"\n\nfunc main() { println(dep.Answer()) }\n",
        )
        .unwrap();
        let cache = root.path().join("modcache");
        let vars = vec![
            ("GOPROXY".into(), format!("file://{}", proxy.display())),
            ("GOMODCACHE".into(), cache.display().to_string()),
            ("GONOSUMDB".into(), "example.com".into()),
            ("GOTOOLCHAIN".into(), "local".into()),
            ("GOFLAGS".into(), "-modcacherw".into()),
        ];
        DepWorld {
            _root: root,
            app,
            cache,
            vars,
        }
    }

    fn vars(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn run(&self) -> Run {
        env_run(&self.app, &["--offline"], &self.vars())
    }
}

#[test]
fn a_missing_go_sum_with_dependencies_fails_as_go_build_does() {
    let w = DepWorld::new();
    let r = w.run();
    assert_eq!(r.status("env.go_sum"), ("fail".into(), "error".into()));
    let msg = r.message("env.go_sum");
    assert!(
        msg.contains("no go.sum") && msg.contains("example.com/dep"),
        "{msg}"
    );
    let build = go_in(
        &w.app,
        &["build", "-mod=readonly", "-o", "/dev/null", "."],
        &w.vars(),
    );
    assert!(!build.status.success());
    assert!(String::from_utf8_lossy(&build.stderr).contains("missing go.sum entry"));
    assert!(
        !w.app.join("go.sum").exists(),
        "goready did not create go.sum"
    );
}

#[test]
fn a_tidy_verified_module_passes_and_a_tampered_cache_fails_verify() {
    let w = DepWorld::new();
    run_ok(
        Command::new("go")
            .current_dir(&w.app)
            .args(["mod", "tidy"])
            .envs(w.vars()),
    );
    let sum = std::fs::read_to_string(w.app.join("go.sum")).unwrap();
    let r = w.run();
    assert_eq!(
        r.status("env.go_sum").0,
        "pass",
        "{}",
        r.message("env.go_sum")
    );
    assert!(
        r.message("env.go_sum").contains("go.sum has 2 lines"),
        "{}",
        r.message("env.go_sum")
    );
    let verify = go_in(&w.app, &["mod", "verify"], &w.vars());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("all modules verified"));
    // The GONOSUMDB this world needs is flagged, as it should be.
    assert_eq!(r.status("env.gosumdb"), ("fail".into(), "warning".into()));

    // Someone edits a dependency in the module cache.
    let file = w.cache.join("example.com/dep@v1.0.0/dep.go");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\nfunc Backdoor() {}\n");
    std::fs::write(&file, text).unwrap();
    let r = w.run();
    assert_eq!(r.status("env.go_sum"), ("fail".into(), "error".into()));
    let msg = r.message("env.go_sum");
    assert!(msg.contains("dir has been modified"), "{msg}");
    let verify = go_in(&w.app, &["mod", "verify"], &w.vars());
    assert!(!verify.status.success(), "go mod verify agrees");
    assert_eq!(
        std::fs::read_to_string(w.app.join("go.sum")).unwrap(),
        sum,
        "go.sum untouched"
    );
}

#[test]
fn an_untidy_go_mod_fails_with_the_diff_go_mod_tidy_prints() {
    let gomod = "module example.com/untidy\n\ngo 1.22\n\nrequire example.com/unused v0.0.0\n\nreplace example.com/unused => ./unused\n";
    let dir = module(&[
        ("go.mod", gomod),
        ("main.go", MAIN),
        ("unused/go.mod", "module example.com/unused\n\ngo 1.22\n"),
        ("unused/u.go", "package unused\n"),
    ]);
    let vars = [("GOTOOLCHAIN", "local")];
    let r = env_run(dir.path(), &["--offline"], &vars);
    assert_eq!(r.status("env.go_sum"), ("fail".into(), "error".into()));
    let msg = r.message("env.go_sum");
    let reference = go_in(dir.path(), &["mod", "tidy", "-diff"], &vars);
    assert!(!reference.status.success());
    let diff = String::from_utf8_lossy(&reference.stdout);
    assert!(
        diff.contains("-require example.com/unused v0.0.0"),
        "{diff}"
    );
    assert!(
        msg.contains(diff.trim_end()),
        "message carries go's diff:\n{msg}\n---\n{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("go.mod")).unwrap(),
        gomod,
        "go.mod untouched"
    );
    assert!(!dir.path().join("go.sum").exists());
}

// ---- the contract ---------------------------------------------------------------------------

#[test]
fn every_env_rule_reports_once_in_suite_env_and_the_table_matches_the_result_file() {
    let dir = module(&[
        ("go.mod", "module example.com/c\n\ngo 1.22\n"),
        ("main.go", MAIN),
    ]);
    let r = env_run(dir.path(), &["--offline"], &[("GOTOOLCHAIN", "local")]);
    assert_eq!(r.doc["schema"], "goready/v1");
    let checks = r.doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), ENV_IDS.len());
    for id in ENV_IDS {
        let c = r.check(id);
        assert_eq!(c["suite"], "env");
        assert_eq!(c["fingerprint"].as_str().unwrap().len(), 16);
        assert!(r.stdout.contains(id), "{id} in the table");
    }
    let [pass, fail, skip, error] = ["pass", "fail", "skip", "error"]
        .map(|s| checks.iter().filter(|c| c["status"] == s).count());
    assert!(r.stdout.contains(&format!(
        "{pass} passed, {skip} skipped, {error} not evaluated; "
    )));
    assert!(r.stdout.contains(&format!(" in {fail} checks: ")));
    let (code, _, err) = run_goready(&["env", "/nonexistent/dir"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a directory"), "{err}");
    // No Go at all: exit 2, a clear reason, and still a result file with every rule.
    let r = env_run(
        dir.path(),
        &["--offline"],
        &[("GOREADY_GO", "/nonexistent/go")],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is Go installed"), "{}", r.stderr);
    assert_eq!(r.status("env.go_supported").0, "error");
    assert_eq!(r.status("env.gosumdb").0, "error");
}
