//! `goready test` on real Go packages written by these tests into temporary git checkouts
//! (the module in `svc/`, so locations must come out relative to the checkout): passing,
//! failing, skipped, panicking, subtests, a package that does not compile, one without
//! tests, a test that outlives `-timeout`, a TestMain that exits non-zero. Each scenario
//! group is one real `goready test` run; every run ends with no process left behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const MODULE: &str = "example.com/m";

/// One Go package: its directory under the module and its files (name, source).
struct Pkg {
    dir: &'static str,
    files: &'static [(&'static str, &'static str)],
}

const PASS: Pkg = Pkg {
    dir: "pass",
    files: &[
        (
            "add.go",
            "package pass\n\nfunc Add(a, b int) int { return a + b }\n",
        ),
        (
            "add_test.go",
            r#"package pass

import "testing"

func TestAdd(t *testing.T) {
	if Add(1, 2) != 3 {
		t.Fatal("1+2 != 3")
	}
	t.Log("chatter of a passing test")
}
"#,
        ),
    ],
};

const FAIL: Pkg = Pkg {
    dir: "fail",
    files: &[(
        "fail_test.go",
        r#"package fail

import "testing"

func TestFail(t *testing.T) {
	t.Log("setting up")
	got := 2
	t.Errorf("got %d, want %d", got, 3) // MARK:errorf
}
"#,
    )],
};

const SKIP: Pkg = Pkg {
    dir: "skip",
    files: &[(
        "skip_test.go",
        r#"package skip

import "testing"

func TestNeedsDB(t *testing.T) {
	t.Skip("needs a database") // MARK:skip
}
"#,
    )],
};

const PANICKY: Pkg = Pkg {
    dir: "panicky",
    files: &[
        (
            "store.go",
            r#"package panicky

func Put(m map[string]int) {
	m["x"] = 1 // MARK:nilmap
}
"#,
        ),
        (
            "store_test.go",
            r#"package panicky

import "testing"

func TestFine(t *testing.T) {}

func TestPanic(t *testing.T) {
	var m map[string]int
	Put(m)
}
"#,
        ),
    ],
};

const SUBTESTS: Pkg = Pkg {
    dir: "subs",
    files: &[(
        "subs_test.go",
        r#"package subs_test

import "testing"

func deref(p *int) int { return *p } // MARK:deref

func TestSubtests(t *testing.T) {
	t.Run("good", func(t *testing.T) {})
	t.Run("bad", func(t *testing.T) {
		t.Error("bad one") // MARK:bad
	})
	t.Run("skipped", func(t *testing.T) { t.Skip("later") })
	t.Run("nested", func(t *testing.T) {
		t.Run("deep bad", func(t *testing.T) { t.Fatal("deep") }) // MARK:deep
	})
}

func TestSubPanic(t *testing.T) {
	t.Run("ok", func(t *testing.T) {})
	t.Run("boom", func(t *testing.T) {
		t.Log("about to dereference nil")
		deref(nil)
	})
}
"#,
    )],
};

const BROKEN: Pkg = Pkg {
    dir: "broken",
    files: &[
        ("broken.go", "package broken\n\nfunc X() int { return 1 }\n"),
        (
            "broken_test.go",
            r#"package broken

import "testing"

func TestX(t *testing.T) {
	_ = undefinedThing // MARK:undefined
}
"#,
        ),
    ],
};

const VETBAD: Pkg = Pkg {
    dir: "vetbad",
    files: &[(
        "vet_test.go",
        r#"package vetbad

import (
	"fmt"
	"testing"
)

func TestPrintf(t *testing.T) {
	fmt.Printf("%d\n", "not a number") // MARK:vet
}
"#,
    )],
};

const NOTESTS: Pkg = Pkg {
    dir: "notests",
    files: &[("lib.go", "package notests\n\nfunc Y() {}\n")],
};

const SLEEPY: Pkg = Pkg {
    dir: "sleepy",
    files: &[(
        "sleepy_test.go",
        r#"package sleepy

import (
	"os/exec"
	"testing"
	"time"
)

func TestQuick(t *testing.T) {}

// Starts a process and forgets it: goready must not leave it behind.
func TestOrphan(t *testing.T) {
	if err := exec.Command("sleep", "300").Start(); err != nil {
		t.Fatal(err)
	}
}

func TestSleep(t *testing.T) {
	time.Sleep(time.Hour) // MARK:sleep
}
"#,
    )],
};

const MAINEXIT: Pkg = Pkg {
    dir: "mainexit",
    files: &[(
        "main_test.go",
        r#"package mainexit

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	m.Run()
	os.Exit(3)
}

func TestA(t *testing.T) {}
"#,
    )],
};

/// A git checkout with the module in `svc/`.
struct Checkout {
    root: tempfile::TempDir,
}

impl Checkout {
    fn new(pkgs: &[&Pkg]) -> Checkout {
        let root = tempfile::Builder::new()
            .prefix("goready-test-")
            .tempdir()
            .unwrap();
        run_ok(Command::new("git").arg("init").arg("-q").arg(root.path()));
        let module = root.path().join("svc");
        std::fs::create_dir_all(&module).unwrap();
        std::fs::write(
            module.join("go.mod"),
            format!("module {MODULE}\n\ngo 1.22\n"),
        )
        .unwrap();
        for pkg in pkgs {
            let dir = module.join(pkg.dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, src) in pkg.files {
                std::fs::write(dir.join(name), src).unwrap();
            }
        }
        Checkout { root }
    }

    fn module(&self) -> PathBuf {
        self.root.path().join("svc")
    }
}

/// The 1-based line of `// MARK:name` in a package's sources: (repo-relative file, line).
fn mark(pkg: &Pkg, name: &str) -> (String, u64) {
    let tag = format!("// MARK:{name}");
    for (file, src) in pkg.files {
        if let Some(i) = src.lines().position(|l| l.contains(&tag)) {
            return (format!("svc/{}/{file}", pkg.dir), i as u64 + 1);
        }
    }
    panic!("no {tag} in {}", pkg.dir)
}

/// Processes (not zombies) whose working directory is inside `dir`: `go`, test binaries
/// (they run in their package directory) and anything a test started.
fn processes_in(dir: &Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let p = entry.path();
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(cwd) = std::fs::read_link(p.join("cwd")) else {
            continue;
        };
        let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'));
        if cwd.starts_with(&dir) && !zombie {
            let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{} {}",
                entry.file_name().to_string_lossy(),
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    found
}

/// Waits (bounded) until no process runs inside `dir`; returns what is still there.
fn leftovers(dir: &Path) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_in(dir);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A finished `goready test` run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    report: Value,
}

impl Run {
    fn checks(&self) -> &Vec<Value> {
        self.report["checks"].as_array().unwrap()
    }

    fn check(&self, id: &str, pkg: &str, title: &str) -> &Value {
        let target = format!("{MODULE}/{pkg}");
        self.checks()
            .iter()
            .find(|c| c["id"] == id && c["target"] == target.as_str() && c["title"] == title)
            .unwrap_or_else(|| {
                panic!(
                    "no {id} check {title:?} for {target} in\n{:#}\nstderr:\n{}",
                    self.report, self.stderr
                )
            })
    }

    fn test(&self, pkg: &str, title: &str) -> &Value {
        self.check("test.go_test", pkg, title)
    }
}

fn goready_test(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let json = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = goready();
    cmd.current_dir(cwd)
        .arg("test")
        .arg("--json")
        .arg(json.path())
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run goready");
    let text = std::fs::read_to_string(json.path()).unwrap_or_default();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        report: serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("no result file ({e}): {text}")),
    }
}

/// The big scenario group: every kind of package in one module, one `goready test ./...`
/// with a short `-timeout`, run once and shared by the tests below.
fn full_run() -> &'static (Run, Vec<String>) {
    static RUN: OnceLock<(Run, Vec<String>)> = OnceLock::new();
    RUN.get_or_init(|| {
        let checkout = Checkout::new(&[
            &PASS, &FAIL, &SKIP, &PANICKY, &SUBTESTS, &BROKEN, &NOTESTS, &SLEEPY, &MAINEXIT,
        ]);
        let run = goready_test(&checkout.module(), &["./...", "--", "-timeout", "4s"], &[]);
        let left = leftovers(checkout.root.path());
        (run, left)
    })
}

#[test]
fn failing_module_exits_1_and_leaves_no_process_behind() {
    let (run, left) = full_run();
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    // TestOrphan started `sleep 300` and returned; the test binary of sleepy was killed by
    // its own -timeout panic. Neither they nor `go` may outlive goready.
    assert!(left.is_empty(), "left behind: {left:#?}");
    assert_eq!(run.report["schema"], "goready/v1");
    for c in run.checks() {
        assert_eq!(c["suite"], "test", "{c:#}");
        assert_eq!(c["fingerprint"].as_str().unwrap().len(), 16);
    }
    // Every check's fingerprint is its own: tests of one package stay apart.
    let mut prints: Vec<&str> = run
        .checks()
        .iter()
        .map(|c| c["fingerprint"].as_str().unwrap())
        .collect();
    prints.sort();
    let n = prints.len();
    prints.dedup();
    assert_eq!(prints.len(), n, "duplicate fingerprints");
}

#[test]
fn passing_test_is_a_passing_check_named_after_the_test() {
    let (run, _) = full_run();
    let c = run.test("pass", "TestAdd");
    assert_eq!(c["status"], "pass");
    assert_eq!(c["severity"], "error");
    assert!(
        c["message"].as_str().unwrap().starts_with("passed"),
        "{c:#}"
    );
    assert!(c.get("file").is_none(), "a pass has no location: {c:#}");
    // The table on stdout names the test.
    assert!(
        run.stdout
            .contains(&format!("[{MODULE}/pass] TestAdd: passed")),
        "{}",
        run.stdout
    );
    // Package summaries stream to stderr.
    assert!(
        run.stderr.contains(&format!("ok  \t{MODULE}/pass")),
        "{}",
        run.stderr
    );
}

#[test]
fn errorf_failure_points_at_its_line_relative_to_the_checkout() {
    let (run, _) = full_run();
    let c = run.test("fail", "TestFail");
    assert_eq!(c["status"], "fail");
    let (file, line) = mark(&FAIL, "errorf");
    assert_eq!(c["file"], file.as_str(), "{c:#}");
    assert_eq!(c["line"], line, "{c:#}");
    let msg = c["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("fail_test.go:{line}: got 2, want 3")),
        "{msg}"
    );
    assert!(msg.contains("setting up"), "the test's log is kept: {msg}");
    assert!(
        !msg.contains("=== RUN") && !msg.contains("--- FAIL"),
        "{msg}"
    );
    assert!(!msg.starts_with(' '), "dedented: {msg:?}");
    assert_eq!(c["data"]["locations"].as_array().unwrap().len(), 2);
}

#[test]
fn skipped_test_is_skipped_with_its_reason() {
    let (run, _) = full_run();
    let c = run.test("skip", "TestNeedsDB");
    assert_eq!(c["status"], "skip");
    assert_eq!(c["message"], "skipped: needs a database");
    let (file, line) = mark(&SKIP, "skip");
    assert_eq!(
        (c["file"].as_str().unwrap(), &c["line"]),
        (file.as_str(), &line.into())
    );
}

#[test]
fn subtests_are_checks_of_their_own_and_parents_name_their_failed_subtests() {
    let (run, _) = full_run();
    assert_eq!(run.test("subs", "TestSubtests/good")["status"], "pass");
    let bad = run.test("subs", "TestSubtests/bad");
    assert_eq!(bad["status"], "fail");
    let (file, line) = mark(&SUBTESTS, "bad");
    assert_eq!(
        (bad["file"].as_str().unwrap(), &bad["line"]),
        (file.as_str(), &line.into())
    );
    assert!(
        bad["message"].as_str().unwrap().ends_with("bad one"),
        "{bad:#}"
    );
    let skipped = run.test("subs", "TestSubtests/skipped");
    assert_eq!(skipped["status"], "skip");
    assert_eq!(skipped["message"], "skipped: later");
    // `go test` writes the space of "deep bad" as `_`.
    let deep = run.test("subs", "TestSubtests/nested/deep_bad");
    assert_eq!(deep["status"], "fail");
    assert_eq!(deep["line"], mark(&SUBTESTS, "deep").1);
    let parent = run.test("subs", "TestSubtests");
    assert_eq!(parent["status"], "fail");
    let msg = parent["message"].as_str().unwrap();
    assert!(
        msg.contains("failed subtests: TestSubtests/bad, TestSubtests/nested"),
        "{msg}"
    );
    assert!(!msg.contains("skipped"), "a skip is not a failure: {msg}");
}

#[test]
fn panicking_test_fails_at_the_deepest_frame_of_its_package() {
    let (run, _) = full_run();
    assert_eq!(run.test("panicky", "TestFine")["status"], "pass");
    let c = run.test("panicky", "TestPanic");
    assert_eq!(c["status"], "fail");
    // The panic is in Put (store.go), called by the test: the innermost frame wins.
    let (file, line) = mark(&PANICKY, "nilmap");
    assert_eq!(
        (c["file"].as_str().unwrap(), &c["line"]),
        (file.as_str(), &line.into())
    );
    assert_eq!(c["data"]["panic"], "assignment to entry in nil map");
    let msg = c["message"].as_str().unwrap();
    assert!(
        msg.starts_with("panic: assignment to entry in nil map"),
        "{msg}"
    );
    assert!(msg.contains(&format!("{MODULE}/panicky.Put")), "{msg}");
    assert!(
        msg.contains(&format!("\t{file}:{line}")),
        "paths repo-relative: {msg}"
    );
    assert!(
        !msg.contains("testing.tRunner"),
        "testing frames dropped: {msg}"
    );
}

#[test]
fn panicking_subtest_gets_the_panic_not_its_parent() {
    let (run, _) = full_run();
    assert_eq!(run.test("subs", "TestSubPanic/ok")["status"], "pass");
    let boom = run.test("subs", "TestSubPanic/boom");
    assert_eq!(boom["status"], "fail");
    assert!(
        boom["data"]["panic"]
            .as_str()
            .unwrap()
            .contains("nil pointer dereference"),
        "{boom:#}"
    );
    // The external test package's helper is the innermost frame of the package.
    let (file, line) = mark(&SUBTESTS, "deref");
    assert_eq!(
        (boom["file"].as_str().unwrap(), &boom["line"]),
        (file.as_str(), &line.into())
    );
    let parent = run.test("subs", "TestSubPanic");
    assert_eq!(parent["status"], "fail");
    assert!(
        parent["message"]
            .as_str()
            .unwrap()
            .contains("subtest TestSubPanic/boom panicked"),
        "{parent:#}"
    );
    assert!(parent.get("file").is_none(), "{parent:#}");
}

#[test]
fn non_compiling_package_is_a_failing_build_check_at_the_compiler_line() {
    let (run, _) = full_run();
    let c = run.check("test.build", "broken", "test binary builds");
    assert_eq!(c["status"], "fail");
    let (file, line) = mark(&BROKEN, "undefined");
    assert_eq!(
        (c["file"].as_str().unwrap(), &c["line"]),
        (file.as_str(), &line.into())
    );
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("undefined: undefinedThing"),
        "{c:#}"
    );
    assert_eq!(c["data"]["packages"][0], format!("{MODULE}/broken"));
    // Its tests never ran: no test checks, no package check.
    let target = format!("{MODULE}/broken");
    let others: Vec<_> = run
        .checks()
        .iter()
        .filter(|c| c["target"] == target.as_str() && c["id"] != "test.build")
        .collect();
    assert!(others.is_empty(), "{others:#?}");
}

#[test]
fn package_without_test_files_is_skipped() {
    let (run, _) = full_run();
    let c = run.check(
        "test.package",
        "notests",
        "package test binary runs to completion",
    );
    assert_eq!(c["status"], "skip");
    assert_eq!(c["message"], "no test files");
}

#[test]
fn timeout_fails_the_running_test_at_the_line_it_blocks_on() {
    let (run, _) = full_run();
    assert_eq!(run.test("sleepy", "TestQuick")["status"], "pass");
    assert_eq!(run.test("sleepy", "TestOrphan")["status"], "pass");
    let c = run.test("sleepy", "TestSleep");
    assert_eq!(c["status"], "fail");
    assert_eq!(c["data"]["timeout"], "4s");
    let (file, line) = mark(&SLEEPY, "sleep");
    assert_eq!(
        (c["file"].as_str().unwrap(), &c["line"]),
        (file.as_str(), &line.into())
    );
    let msg = c["message"].as_str().unwrap();
    assert!(msg.contains("timed out"), "{msg}");
    assert!(msg.contains(&format!("{MODULE}/sleepy.TestSleep")), "{msg}");
    // The failure is the test's; the package needs no check of its own.
    let target = format!("{MODULE}/sleepy");
    assert!(
        !run.checks()
            .iter()
            .any(|c| c["id"] == "test.package" && c["target"] == target.as_str()),
        "{:#}",
        run.report
    );
}

#[test]
fn testmain_exiting_non_zero_fails_the_package_not_a_test() {
    let (run, _) = full_run();
    assert_eq!(run.test("mainexit", "TestA")["status"], "pass");
    let c = run.check(
        "test.package",
        "mainexit",
        "package test binary runs to completion",
    );
    assert_eq!(c["status"], "fail");
    assert!(c["message"].as_str().unwrap().contains("TestMain"), "{c:#}");
}

#[test]
fn passing_packages_exit_0_with_dir_given_from_elsewhere() {
    let checkout = Checkout::new(&[&PASS, &SKIP, &NOTESTS]);
    let module = checkout.module();
    // Run from the checkout's parent: --dir says where the module is.
    let run = goready_test(
        checkout.root.path().parent().unwrap(),
        &["--dir", module.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.test("pass", "TestAdd")["status"], "pass");
    let skip = run.test("skip", "TestNeedsDB");
    assert_eq!(skip["status"], "skip");
    assert_eq!(skip["file"], mark(&SKIP, "skip").0.as_str());
    assert_eq!(run.checks().len(), 3, "{:#}", run.report);
    // Skips never fail, whatever the level.
    let strict = goready_test(&module, &["./skip", "--fail-on", "notice"], &[]);
    assert_eq!(strict.code, 0, "{}", strict.stdout);
    assert_eq!(strict.checks().len(), 1);
    assert!(leftovers(checkout.root.path()).is_empty());
}

#[test]
fn build_output_on_stderr_of_older_go_still_gives_build_checks() {
    // GODEBUG=gotestjsonbuildtext=1 makes Go 1.24+ print build output as Go 1.23 did: as
    // text on stderr, with no build events and no FailedBuild.
    let checkout = Checkout::new(&[&BROKEN, &VETBAD, &PASS]);
    for godebug in ["gotestjsonbuildtext=1", "gotestjsonbuildtext=0"] {
        let run = goready_test(&checkout.module(), &[], &[("GODEBUG", godebug)]);
        assert_eq!(run.code, 1, "{godebug}: {}\n{}", run.stdout, run.stderr);
        let broken = run.check("test.build", "broken", "test binary builds");
        let (file, line) = mark(&BROKEN, "undefined");
        assert_eq!(broken["file"], file.as_str(), "{godebug}: {broken:#}");
        assert_eq!(broken["line"], line, "{godebug}");
        // go vet's printf check fails the build of the test binary.
        let vet = run.check("test.build", "vetbad", "test binary builds");
        let (file, line) = mark(&VETBAD, "vet");
        assert_eq!(vet["file"], file.as_str(), "{godebug}: {vet:#}");
        assert_eq!(vet["line"], line, "{godebug}");
        assert!(
            vet["message"].as_str().unwrap().contains("wrong type"),
            "{vet:#}"
        );
        assert_eq!(run.test("pass", "TestAdd")["status"], "pass");
    }
    // goready.toml's [rules] apply to this step like to every other: build failures as
    // warnings no longer fail the job, and the tests' checks can be turned off.
    std::fs::write(
        checkout.module().join("goready.toml"),
        "[rules]\n\"test.build\" = \"warning\"\n\"test.go_test\" = \"off\"\n",
    )
    .unwrap();
    let run = goready_test(&checkout.module(), &[], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let ids: Vec<&str> = run
        .checks()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["test.build", "test.build"], "{:#}", run.report);
    assert!(run.checks().iter().all(|c| c["severity"] == "warning"));
}

#[test]
fn bad_go_test_flags_are_a_usage_error_with_gos_message() {
    let checkout = Checkout::new(&[&PASS]);
    let out = goready()
        .current_dir(checkout.module())
        .args(["test", "./pass", "--", "-count", "notanumber"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("invalid value \"notanumber\""), "{stderr}");
    let (code, _, err) = run_goready(&["test", "--dir", "/nonexistent/module"]);
    assert_eq!(code, 2);
    assert!(err.contains("--dir"), "{err}");
}

#[test]
fn interrupted_goready_leaves_no_go_test_binary_or_test_child_behind() {
    let checkout = Checkout::new(&[&SLEEPY]);
    let module = checkout.module();
    let mut child = goready()
        .current_dir(&module)
        .args(["test", "./sleepy", "--", "-run", "TestOrphan|TestSleep"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until the test binary sleeps and the orphan `sleep 300` runs.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let procs = processes_in(&module);
        let binary = procs.iter().any(|p| p.contains("sleepy.test"));
        let orphan = procs.iter().any(|p| p.contains("sleep 300"));
        if binary && orphan {
            break;
        }
        assert!(Instant::now() < deadline, "tests never started: {procs:#?}");
        assert!(child.try_wait().unwrap().is_none(), "goready ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ctrl-C reaches goready (the terminal's foreground group); go runs in a group of its
    // own, so only goready can stop it.
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    let left = leftovers(checkout.root.path());
    assert!(left.is_empty(), "left behind: {left:#?}");
}

/// Allocates 64 MiB in 64 KiB buffers: `alpha.Fill` is where the bytes go.
const ALPHA: Pkg = Pkg {
    dir: "alpha",
    files: &[
        (
            "alpha.go",
            r#"package alpha

//go:noinline
func Fill(n int) []byte { return make([]byte, n) }
"#,
        ),
        (
            "alpha_test.go",
            r#"package alpha

import "testing"

var sink []byte

func TestFill(t *testing.T) {
	for i := 0; i < 1024; i++ {
		sink = Fill(64 << 10)
	}
}
"#,
        ),
    ],
};

/// Allocates 32 MiB of 32 KiB int tables: `beta.Table` is where the bytes go.
const BETA: Pkg = Pkg {
    dir: "beta",
    files: &[
        (
            "beta.go",
            r#"package beta

//go:noinline
func Table(n int) []int { return make([]int, n) }
"#,
        ),
        (
            "beta_test.go",
            r#"package beta

import "testing"

var sink []int

func TestTable(t *testing.T) {
	for i := 0; i < 1024; i++ {
		sink = Table(4 << 10)
	}
}
"#,
        ),
    ],
};

#[test]
fn memprofile_gives_each_package_a_runtime_allocs_check_ranked_like_go_tool_pprof() {
    use common::pprof::{IGNORE_PROFILER, go_rows, ranking, rows_of};
    let checkout = Checkout::new(&[&ALPHA, &BETA, &NOTESTS]);
    let module = checkout.module();
    let keep = tempfile::tempdir().unwrap();
    let run = goready_test(
        &module,
        &["--memprofile-dir", keep.path().to_str().unwrap(), "./..."],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(leftovers(checkout.root.path()).is_empty());
    assert_eq!(run.test("alpha", "TestFill")["status"], "pass");
    assert_eq!(run.test("beta", "TestTable")["status"], "pass");

    let allocs: Vec<&Value> = run
        .checks()
        .iter()
        .filter(|c| c["id"] == "runtime.allocs")
        .collect();
    let targets: Vec<&str> = allocs
        .iter()
        .map(|c| c["target"].as_str().unwrap())
        .collect();
    // One per package that ran tests, none for the package without tests.
    assert_eq!(
        targets,
        [format!("{MODULE}/alpha"), format!("{MODULE}/beta")],
        "{:#}",
        run.report
    );
    for (check, own) in allocs.iter().zip(["alpha.Fill", "beta.Table"]) {
        assert_eq!(check["status"], "pass", "{check:#}");
        assert_eq!(check["suite"], "runtime");
        let target = check["target"].as_str().unwrap();
        let file = keep
            .path()
            .join(format!("{}.mem.pprof", target.replace('/', "_")));
        assert_eq!(check["data"]["profile"], file.display().to_string());
        for si in ["alloc_space", "alloc_objects"] {
            let (want, _) = go_rows(
                si,
                &["-nodecount=20", "-relative_percentages", IGNORE_PROFILER],
                &file,
            );
            let got = rows_of(ranking(check, si));
            assert!(!got.is_empty(), "{target}: no {si} rows");
            assert_eq!(got[0], want[0], "{target} {si}: top row, goready vs pprof");
            assert_eq!(got, want, "{target} {si}: goready (left) vs pprof (right)");
        }
        // The package's own allocator tops the bytes.
        let top = &rows_of(ranking(check, "alloc_space"))[0];
        assert_eq!(top.name, format!("{MODULE}/{own}"), "{check:#}");
    }
    // go test keeps the test binary in the current directory when profiling unless told
    // otherwise: nothing may land in the module.
    let strays: Vec<String> = std::fs::read_dir(&module)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".test") || n.ends_with(".pprof") || n.ends_with(".out"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}

#[test]
fn memprofile_refuses_go_test_flags_it_sets_itself() {
    let checkout = Checkout::new(&[&PASS]);
    for flag in ["-outputdir=out", "-memprofile=m.out", "-o"] {
        let out = goready()
            .current_dir(checkout.module())
            .args(["test", "--memprofile", "./...", "--", flag])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains(&format!("leave {flag} out of the go test arguments")),
            "{stderr}"
        );
    }
}
