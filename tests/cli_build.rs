//! `goready build` against real Go projects: the example service copied into a scratch
//! directory, and small projects the tests write (a compile error, a cgo preamble that embeds
//! `__TIME__`). Every build is a real `go build`; the results are cross-checked with
//! `go version -m`, `readelf`, `cmp` and by running the binaries. The Go build cache is shared
//! with the other tests (builds use -trimpath, so the copies' directories do not matter).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The default matrix's labels, in matrix order.
const DEFAULT_LABELS: [&str; 5] = [
    "linux/amd64 cgo=0",
    "linux/arm64 cgo=0",
    "darwin/arm64 cgo=0",
    "windows/amd64 cgo=0",
    "linux/amd64 cgo=1",
];

/// A scratch directory under target/tmp (kept apart per test, deleted on drop).
fn scratch() -> tempfile::TempDir {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("build-tests");
    std::fs::create_dir_all(&root).unwrap();
    tempfile::tempdir_in(root).unwrap()
}

/// Writes `files` (path, contents) under `dir`.
fn write_project(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A copy of examples/hello-svc.
fn hello_copy(dir: &Path) {
    for name in ["go.mod", "main.go", "main_test.go"] {
        std::fs::copy(repo().join("examples/hello-svc").join(name), dir.join(name)).unwrap();
    }
}

const TINY_MOD: &str = "module example.com/tiny\n\ngo 1.24\n";
const TINY_MAIN: &str = "package main\n\nimport \"fmt\"\n\nvar Version = \"dev\"\n\n\
                         func main() { fmt.Println(Version) }\n";

/// Runs goready in `cwd` with extra environment; returns (exit code, stdout, stderr).
fn goready_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = goready();
    cmd.current_dir(cwd).args(args).env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run goready");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_report(path: &Path) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(doc["schema"], "goready/v1");
    doc["checks"].as_array().unwrap().clone()
}

fn check<'a>(checks: &'a [Value], id: &str, target: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["id"] == id && c["target"] == target)
        .unwrap_or_else(|| panic!("no {id} check for {target}: {checks:#?}"))
}

fn labels_of(checks: &[Value], id: &str) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c["id"] == id)
        .map(|c| c["target"].as_str().unwrap().to_string())
        .collect()
}

/// `go version -m` settings of a binary, as `key=value`.
fn go_version_m(bin: &Path) -> String {
    tool("go", &["version", "-m"], bin)
}

/// The default matrix of the example service, built once with a version and
/// `--require-static`; several tests read it.
struct DefaultRun {
    _dir: tempfile::TempDir,
    project: PathBuf,
    code: i32,
    checks: Vec<Value>,
    stderr: String,
}

fn default_run() -> &'static DefaultRun {
    static RUN: OnceLock<DefaultRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = scratch();
        let project = dir.path().join("svc");
        std::fs::create_dir(&project).unwrap();
        hello_copy(&project);
        let json = dir.path().join("build.json");
        let (code, _out, stderr) = goready_in(
            dir.path(),
            &[
                "build",
                "svc",
                "--version",
                "1.4.2",
                "--require-static",
                "--json",
                json.to_str().unwrap(),
            ],
            &[],
        );
        DefaultRun {
            checks: read_report(&json),
            _dir: dir,
            project,
            code,
            stderr,
        }
    })
}

#[test]
fn default_matrix_builds_five_labelled_targets_into_dist() {
    let run = default_run();
    assert_eq!(labels_of(&run.checks, "build.compile"), DEFAULT_LABELS);
    for label in DEFAULT_LABELS {
        assert_eq!(
            check(&run.checks, "build.compile", label)["status"],
            "pass",
            "{}",
            run.stderr
        );
    }
    // Every check of the step names its target.
    for c in &run.checks {
        let target = c["target"].as_str().unwrap_or_default();
        assert!(DEFAULT_LABELS.contains(&target), "{c:#}");
    }
    // The outputs, cross-checked with `go version -m`.
    let dist = run.project.join("dist");
    let expect = [
        ("hello-svc_linux_amd64", "linux", "amd64", "0"),
        ("hello-svc_linux_arm64", "linux", "arm64", "0"),
        ("hello-svc_darwin_arm64", "darwin", "arm64", "0"),
        ("hello-svc_windows_amd64.exe", "windows", "amd64", "0"),
        ("hello-svc_linux_amd64_cgo", "linux", "amd64", "1"),
    ];
    let names: BTreeSet<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let want: BTreeSet<String> = expect.iter().map(|e| e.0.to_string()).collect();
    assert_eq!(names, want);
    for (name, goos, goarch, cgo) in expect {
        let m = go_version_m(&dist.join(name));
        for setting in [
            format!("GOOS={goos}"),
            format!("GOARCH={goarch}"),
            format!("CGO_ENABLED={cgo}"),
            "-trimpath=true".to_string(),
        ] {
            assert!(m.contains(&setting), "{name}: no {setting} in\n{m}");
        }
    }
    // Plain progress lines when stderr is not a terminal.
    assert!(
        run.stderr.contains("goready build: 5 targets"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("goready build: [").count(),
        5,
        "{}",
        run.stderr
    );
}

#[test]
fn dynamic_glibc_cgo_build_fails_static_rule_next_to_static_one() {
    let run = default_run();
    assert_eq!(
        run.code, 1,
        "the dynamic build fails the step: {}",
        run.stderr
    );
    let dynamic = check(&run.checks, "binary.static", "linux/amd64 cgo=1");
    assert_eq!(dynamic["status"], "fail");
    assert_eq!(
        dynamic["severity"], "error",
        "--require-static makes it an error"
    );
    assert!(dynamic["message"].as_str().unwrap().contains("libc.so.6"));
    let flags = check(&run.checks, "build.static", "linux/amd64 cgo=1");
    assert_eq!(flags["status"], "fail");
    assert!(flags["message"].as_str().unwrap().contains("-extldflags"));
    for label in ["linux/amd64 cgo=0", "linux/arm64 cgo=0"] {
        assert_eq!(check(&run.checks, "binary.static", label)["status"], "pass");
        assert_eq!(check(&run.checks, "build.static", label)["status"], "pass");
    }
    assert_eq!(
        check(&run.checks, "build.static", "darwin/arm64 cgo=0")["status"],
        "skip"
    );
    // readelf agrees: an interpreter and libc for the cgo build, neither for the other.
    let dist = run.project.join("dist");
    let cgo = tool(
        "readelf",
        &["-l", "-d", "-W"],
        &dist.join("hello-svc_linux_amd64_cgo"),
    );
    assert!(
        cgo.contains("INTERP") && cgo.contains("Shared library: [libc.so.6]"),
        "{cgo}"
    );
    let pure = tool(
        "readelf",
        &["-l", "-d", "-W"],
        &dist.join("hello-svc_linux_amd64"),
    );
    assert!(
        !pure.contains("INTERP") && !pure.contains("NEEDED"),
        "{pure}"
    );
}

#[test]
fn injected_version_is_proven_in_every_binary_and_by_running_the_native_ones() {
    let run = default_run();
    for label in DEFAULT_LABELS {
        let v = check(&run.checks, "binary.version", label);
        assert_eq!(v["status"], "pass", "{v:#}");
        assert_eq!(v["data"]["expected"], "1.4.2");
    }
    for label in ["linux/amd64 cgo=0", "linux/amd64 cgo=1"] {
        let v = check(&run.checks, "build.version", label);
        assert_eq!(v["status"], "pass", "{v:#}");
        assert_eq!(v["data"]["output"], "1.4.2");
    }
    for label in [
        "linux/arm64 cgo=0",
        "darwin/arm64 cgo=0",
        "windows/amd64 cgo=0",
    ] {
        assert_eq!(check(&run.checks, "build.version", label)["status"], "skip");
    }
    // Independently: the native binaries print it, and `go tool nm` finds the variable's
    // string data symbol in every binary (the linker emits main.Version.str for an -X value).
    let dist = run.project.join("dist");
    for name in ["hello-svc_linux_amd64", "hello-svc_linux_amd64_cgo"] {
        let out = run_ok(Command::new(dist.join(name)).arg("--version"));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.4.2");
    }
    for name in ["hello-svc_darwin_arm64", "hello-svc_windows_amd64.exe"] {
        let nm = tool("go", &["tool", "nm"], &dist.join(name));
        assert!(
            nm.contains("main.Version.str"),
            "{name}: no main.Version.str"
        );
        let bytes = std::fs::read(dist.join(name)).unwrap();
        assert!(bytes.windows(5).any(|w| w == b"1.4.2"), "{name}");
    }
}

#[test]
fn version_set_on_a_misspelt_variable_is_reported_as_not_injected() {
    let dir = scratch();
    hello_copy(dir.path());
    let json = dir.path().join("r.json");
    let (code, out, err) = goready_in(
        dir.path(),
        &[
            "build",
            "--target",
            "linux/amd64",
            "--version",
            "9.9.9",
            "--version-var",
            "main.Versoin",
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{out}{err}");
    let checks = read_report(&json);
    let label = "linux/amd64 cgo=0";
    assert_eq!(check(&checks, "build.compile", label)["status"], "pass");
    let embedded = check(&checks, "binary.version", label);
    assert_eq!(embedded["status"], "fail");
    assert!(
        embedded["message"]
            .as_str()
            .unwrap()
            .contains("main.Version = \"dev\""),
        "{embedded:#}"
    );
    let ran = check(&checks, "build.version", label);
    assert_eq!(ran["status"], "fail");
    assert_eq!(ran["data"]["output"], "dev");
    // The binary really prints the default.
    let bin = dir.path().join("dist/hello-svc_linux_amd64");
    let printed = run_ok(Command::new(&bin).arg("--version"));
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), "dev");
}

#[test]
fn compile_error_fails_build_compile_with_file_and_line() {
    let dir = scratch();
    let project = dir.path().join("proj");
    write_project(
        &project,
        &[
            ("go.mod", "module example.com/broken\n\ngo 1.24\n"),
            (
                "cmd/svc/main.go",
                "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n\
                 \tundefinedThing()\n}\n",
            ),
        ],
    );
    // The reference: go itself points at line 7.
    let reference = Command::new("go")
        .current_dir(&project)
        .args(["build", "-o", "/dev/null", "./cmd/svc"])
        .output()
        .unwrap();
    let reference = String::from_utf8_lossy(&reference.stderr);
    assert!(
        reference.contains("cmd/svc/main.go:7:2: undefined: undefinedThing"),
        "{reference}"
    );

    let json = dir.path().join("r.json");
    let (code, out, err) = goready_in(
        dir.path(),
        &[
            "build",
            "proj",
            "--pkg",
            "./cmd/svc",
            "--target",
            "linux/amd64,windows/amd64",
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{out}{err}");
    let checks = read_report(&json);
    assert_eq!(
        checks.len(),
        2,
        "only build.compile for targets that did not build"
    );
    for label in ["linux/amd64 cgo=0", "windows/amd64 cgo=0"] {
        let c = check(&checks, "build.compile", label);
        assert_eq!(c["status"], "fail");
        assert_eq!(c["severity"], "error");
        // Relative to where goready runs, so annotations find the file in the repository.
        assert_eq!(c["file"], "proj/cmd/svc/main.go");
        assert_eq!(c["line"], 7);
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("undefined: undefinedThing"),
            "{c:#}"
        );
        assert_eq!(c["data"]["diagnostics"][0]["column"], 2);
    }
    assert!(out.contains("proj/cmd/svc/main.go:7:2"), "{out}");
    let dist: Vec<_> = std::fs::read_dir(project.join("dist")).unwrap().collect();
    assert!(
        dist.is_empty(),
        "no binary is left for a target that did not compile"
    );
}

#[test]
fn missing_c_compiler_is_an_error_check_not_a_crash() {
    let dir = scratch();
    // The cgo half needs a C compiler (a program without cgo code links without one).
    write_project(dir.path(), STAMP_FILES);
    let json = dir.path().join("r.json");
    let (code, out, err) = goready_in(
        dir.path(),
        &[
            "build",
            "--target",
            "linux/amd64",
            "--cgo",
            "0,1",
            "--json",
            json.to_str().unwrap(),
        ],
        &[("CC", "/nonexistent/cc")],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(!err.contains("panicked"), "{err}");
    let checks = read_report(&json);
    assert_eq!(
        check(&checks, "build.compile", "linux/amd64 cgo=0")["status"],
        "pass"
    );
    let cgo = check(&checks, "build.compile", "linux/amd64 cgo=1");
    assert_eq!(cgo["status"], "error");
    let msg = cgo["message"].as_str().unwrap();
    assert!(
        msg.contains("needs a C compiler") && msg.contains("/nonexistent/cc"),
        "{msg}"
    );
    assert!(
        msg.contains("--cgo 0"),
        "the message says what to do: {msg}"
    );
}

/// A program whose cgo half embeds the compile time: each fresh compile differs.
const STAMP_FILES: &[(&str, &str)] = &[
    ("go.mod", TINY_MOD),
    (
        "main.go",
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(stamp()) }\n",
    ),
    (
        "stamp_cgo.go",
        "//go:build cgo\n\npackage main\n\n\
         // static const char *goready_stamp(void) { return \"built at \" __TIME__; }\n\
         import \"C\"\n\nfunc stamp() string { return C.GoString(C.goready_stamp()) }\n",
    ),
    (
        "stamp_nocgo.go",
        "//go:build !cgo\n\npackage main\n\nfunc stamp() string { return \"no cgo\" }\n",
    ),
];

#[test]
fn time_stamped_cgo_build_is_not_reproducible_next_to_a_reproducible_one() {
    let dir = scratch();
    write_project(dir.path(), STAMP_FILES);
    // With the build cache, two builds are identical: the cache would hide the problem.
    let go_build = |out: &str| {
        run_ok(
            Command::new("go")
                .current_dir(dir.path())
                .args(["build", "-trimpath", "-o", out, "."])
                .env("CGO_ENABLED", "1")
                .env("GOOS", "linux")
                .env("GOARCH", "amd64"),
        );
    };
    go_build("cached-1");
    go_build("cached-2");
    assert_eq!(
        std::fs::read(dir.path().join("cached-1")).unwrap(),
        std::fs::read(dir.path().join("cached-2")).unwrap()
    );

    let json = dir.path().join("r.json");
    let (code, out, err) = goready_in(
        dir.path(),
        &[
            "build",
            "--target",
            "linux/amd64",
            "--cgo",
            "0,1",
            "--reproducible",
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{out}{err}");
    let checks = read_report(&json);
    let pure = check(&checks, "build.reproducible", "linux/amd64 cgo=0");
    assert_eq!(pure["status"], "pass", "{pure:#}");
    let stamped = check(&checks, "build.reproducible", "linux/amd64 cgo=1");
    assert_eq!(stamped["status"], "fail", "{stamped:#}");
    let first = &stamped["data"]["comparison"]["first_difference"];
    assert_eq!(first["section"], ".rodata", "{stamped:#}");
    assert!(
        stamped["message"]
            .as_str()
            .unwrap()
            .contains("differs first in .rodata")
    );

    // Cross-check with cmp and readelf: the first differing byte outside the build-id notes
    // lies in .rodata, at the offset goready named; and the two programs print other times.
    let a = dir.path().join("dist/tiny_linux_amd64_cgo");
    let b = dir.path().join(stamped["data"]["kept"].as_str().unwrap());
    assert!(
        b.starts_with(dir.path().join("dist/.rebuild")),
        "{}",
        b.display()
    );
    let cmp = Command::new("cmp")
        .arg("-l")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let sections = readelf_sections(&a);
    let first_cause = String::from_utf8_lossy(&cmp.stdout)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().parse::<u64>().unwrap() - 1)
        .find(|&off| {
            !sections
                .iter()
                .any(|(n, r)| n.starts_with(".note") && r.contains(&off))
        })
        .expect("a difference outside the notes");
    assert_eq!(first["offset"], first_cause);
    let (name, _) = sections
        .iter()
        .find(|(_, r)| r.contains(&first_cause))
        .unwrap();
    assert_eq!(name, ".rodata");
    let print = |p: &Path| String::from_utf8(run_ok(&mut Command::new(p)).stdout).unwrap();
    assert!(print(&a).starts_with("built at "));
    assert_ne!(print(&a), print(&b));
    // The reproducible target leaves no second copy behind.
    assert!(!dir.path().join("dist/.rebuild/tiny_linux_amd64").exists());
}

/// Section name → file range, from `readelf -S -W`.
fn readelf_sections(bin: &Path) -> Vec<(String, std::ops::Range<u64>)> {
    let text = tool("readelf", &["-S", "-W"], bin);
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix('[')?;
            let (_, rest) = rest.split_once(']')?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            // Name Type Address Off Size ...
            if f.len() < 5 || f[1] == "NOBITS" {
                return None;
            }
            let off = u64::from_str_radix(f[3], 16).ok()?;
            let size = u64::from_str_radix(f[4], 16).ok()?;
            Some((f[0].to_string(), off..off + size))
        })
        .collect()
}

#[test]
fn two_shards_together_build_the_full_matrix_once() {
    let dir = scratch();
    write_project(dir.path(), &[("go.mod", TINY_MOD), ("main.go", TINY_MAIN)]);
    let mut seen = Vec::new();
    for (shard, want) in [("1/2", 3), ("2/2", 2)] {
        let json = dir.path().join(format!("shard-{}.json", &shard[..1]));
        let (code, out, err) = goready_in(
            dir.path(),
            &["build", "--shard", shard, "--json", json.to_str().unwrap()],
            &[("CI", "true")],
        );
        assert!(code == 0 || code == 1, "{out}{err}");
        let labels = labels_of(&read_report(&json), "build.compile");
        assert_eq!(labels.len(), want, "shard {shard}: {labels:?}");
        assert_eq!(err.matches("goready build: [").count(), want, "{err}");
        seen.extend(labels);
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a target was built twice: {seen:?}"
    );
    let want: BTreeSet<String> = DEFAULT_LABELS.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), want);

    let (code, _, err) = goready_in(dir.path(), &["build", "--shard", "3/2"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("1 <= I <= N"), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_stops_the_build_and_leaves_no_process_behind() {
    let dir = scratch();
    write_project(dir.path(), STAMP_FILES);
    // A "C compiler" that hangs: cgo's first call to it never returns.
    let pids = dir.path().join("cc-pids");
    let cc = dir.path().join("hanging-cc");
    std::fs::write(
        &cc,
        format!("#!/bin/sh\necho $$ >> {}\nexec sleep 300\n", pids.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut child = goready()
        .current_dir(dir.path())
        .args(["build", "--target", "linux/amd64", "--cgo", "1"])
        .env("CC", &cc)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::fs::read_to_string(&pids)
        .map(|s| s.trim().is_empty())
        .unwrap_or(true)
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "go never ran the C compiler"
        );
        assert!(child.try_wait().unwrap().is_none(), "goready ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    run_ok(Command::new("kill").args(["-TERM", &child.id().to_string()]));
    let status = child.wait().unwrap();
    // goready dies of the signal it got, as the shell and CI runners expect.
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");

    // Nothing started for this build survives: not the hanging compiler, not go, not cgo.
    let marker = dir.path().to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let survivors = processes_mentioning(&marker);
        if survivors.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "left behind: {survivors:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
        assert!(!alive(pid), "the C compiler {pid} outlived goready");
    }
}

/// Live (not zombie) processes whose command line or environment mentions `marker`.
#[cfg(target_os = "linux")]
fn processes_mentioning(marker: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()) && *pid != me && alive(pid))
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (text.contains(marker) || String::from_utf8_lossy(&environ).contains(marker))
                .then(|| format!("{pid}: {text}"))
        })
        .collect()
}

#[cfg(target_os = "linux")]
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start())
                .unwrap_or("");
            !state.starts_with('Z') && !state.starts_with('X')
        })
        .unwrap_or(false)
}

/// Sections of a Mach-O or PE file from `llvm-readobj --sections`: (name, file offset, size).
/// Mach-O names are `SEGMENT,section`, as goready prints them.
fn readobj_sections(bin: &Path) -> Vec<(String, u64, u64)> {
    let text = tool("llvm-readobj", &["--sections"], bin);
    let num = |v: &str| match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => v.parse().unwrap(),
    };
    let mut out = Vec::new();
    for block in text.split("Section {").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                let rest = l.trim().strip_prefix(key)?.strip_prefix(':')?;
                Some(rest.split_whitespace().next().unwrap_or("").to_string())
            })
        };
        let name = field("Name").unwrap();
        let name = match field("Segment") {
            Some(seg) => format!("{seg},{name}"),
            None => name,
        };
        let offset = field("Offset").or_else(|| field("PointerToRawData"));
        let size = field("Size").or_else(|| field("RawDataSize"));
        if let (Some(o), Some(s)) = (offset, size) {
            out.push((name, num(&o), num(&s)));
        }
    }
    out
}

/// The file offset of an ELF fixture's `.note.go.buildid` (per readelf); `None` for others.
fn readelf_or_none(name: &str) -> Option<u64> {
    if !name.contains("linux") {
        return None;
    }
    readelf_sections(&fixture_dir().join(name))
        .into_iter()
        .find(|(n, _)| n == ".note.go.buildid")
        .map(|(_, r)| r.start)
}

#[test]
fn first_differing_section_is_named_in_elf_macho_and_pe() {
    use goready::build::reproducible::compare;
    let cases = [
        ("hello-linux-amd64", ".rodata"),
        ("hello-darwin-arm64", "__TEXT,__rodata"),
        ("hello-windows-amd64.exe", ".rdata"),
    ];
    for (name, section) in cases {
        let spec = SPECS.iter().find(|s| s.name == name).unwrap();
        let original = std::fs::read(build(spec)).unwrap();
        // Where the reference tools say the section is.
        let (offset, size) = if name.contains("linux") {
            let (_, r) = readelf_sections(&fixture_dir().join(name))
                .into_iter()
                .find(|(n, _)| n == section)
                .unwrap();
            (r.start, r.end - r.start)
        } else {
            let (_, o, s) = readobj_sections(&fixture_dir().join(name))
                .into_iter()
                .find(|(n, _, _)| n == section)
                .unwrap_or_else(|| panic!("{name}: no {section}"));
            (o, s)
        };
        // A changed byte in the section, and one in Go's build ID before it (which a real
        // rebuild changes too): the section is named, the build ID passed over.
        let mut changed = original.clone();
        let target = (offset + size / 2) as usize;
        changed[target] ^= 0xff;
        // ELF keeps it in a note; Mach-O and PE at the start of the text.
        let id = match readelf_or_none(name) {
            Some(note) => note as usize,
            None => original
                .windows(16)
                .position(|w| w == b"\xff Go build ID: \"")
                .unwrap(),
        };
        assert!(id < target, "{name}: build ID after the section");
        changed[id + 20] ^= 0xff;
        let c = compare(&original, &changed);
        assert!(!c.identical);
        assert_eq!(c.differing_bytes, 2, "{name}");
        let first = c.first_difference.unwrap();
        assert_eq!(first.section, section, "{name}");
        assert_eq!(first.offset, target as u64, "{name}");
        assert_eq!(first.section_offset, Some(size / 2), "{name}");
        assert_eq!(
            c.differing_sections.len(),
            2,
            "{name}: {:?}",
            c.differing_sections
        );
    }
}
