//! Shared by the integration tests: real Go binaries built once with the local toolchain
//! (cached across runs under target/tmp by a stamp of the sources, flags and Go version), and
//! helpers to run goready and the reference tools.

#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

pub mod pprof;
pub mod probe;
pub mod vulndb;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where built fixtures live (kept between runs; rebuilt when their stamp changes).
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-fixtures")
}

/// One Go build: a source directory, environment and flags.
#[derive(Debug, Clone)]
pub struct Spec {
    /// File name of the output.
    pub name: &'static str,
    /// Source directory, relative to the repository root.
    pub src: &'static str,
    /// GOOS, GOARCH, CGO_ENABLED.
    pub goos: &'static str,
    pub goarch: &'static str,
    pub cgo: bool,
    /// Extra `go build` flags (before `-o`).
    pub flags: &'static [&'static str],
}

const HELLO: &str = "examples/hello-svc";
const PLAIN: &str = "tests/fixtures/plain";

/// The fixture matrix every binary test draws from.
pub const SPECS: &[Spec] = &[
    Spec {
        name: "hello-linux-amd64",
        src: HELLO,
        goos: "linux",
        goarch: "amd64",
        cgo: false,
        flags: &["-ldflags=-X main.Version=1.2.3"],
    },
    Spec {
        name: "hello-linux-amd64-cgo",
        src: HELLO,
        goos: "linux",
        goarch: "amd64",
        cgo: true,
        flags: &["-ldflags=-X main.Version=1.2.3"],
    },
    Spec {
        name: "hello-linux-amd64-sw-trimpath",
        src: HELLO,
        goos: "linux",
        goarch: "amd64",
        cgo: false,
        flags: &["-trimpath", "-ldflags=-s -w -X main.Version=1.2.3"],
    },
    Spec {
        name: "hello-linux-amd64-pie",
        src: HELLO,
        goos: "linux",
        goarch: "amd64",
        cgo: false,
        flags: &["-buildmode=pie"],
    },
    Spec {
        name: "hello-linux-arm64",
        src: HELLO,
        goos: "linux",
        goarch: "arm64",
        cgo: false,
        flags: &["-ldflags=-X main.Version=2.0.0-arm"],
    },
    Spec {
        name: "hello-linux-386",
        src: HELLO,
        goos: "linux",
        goarch: "386",
        cgo: false,
        flags: &["-ldflags=-s -X main.Version=3.0.0"],
    },
    Spec {
        name: "hello-darwin-arm64",
        src: HELLO,
        goos: "darwin",
        goarch: "arm64",
        cgo: false,
        flags: &["-ldflags=-X main.Version=1.2.3"],
    },
    Spec {
        name: "hello-darwin-amd64-sw",
        src: HELLO,
        goos: "darwin",
        goarch: "amd64",
        cgo: false,
        flags: &["-ldflags=-s -w -X main.Version=1.2.3"],
    },
    Spec {
        name: "hello-windows-amd64.exe",
        src: HELLO,
        goos: "windows",
        goarch: "amd64",
        cgo: false,
        flags: &["-ldflags=-X main.Version=1.2.3"],
    },
    Spec {
        name: "hello-windows-amd64-sw.exe",
        src: HELLO,
        goos: "windows",
        goarch: "amd64",
        cgo: false,
        flags: &["-trimpath", "-ldflags=-s -w -X main.Version=1.2.3"],
    },
    Spec {
        name: "plain-linux-amd64",
        src: PLAIN,
        goos: "linux",
        goarch: "amd64",
        cgo: false,
        flags: &[],
    },
    Spec {
        name: "plain-linux-arm",
        src: PLAIN,
        goos: "linux",
        goarch: "arm",
        cgo: false,
        flags: &["-ldflags=-X main.Version=arm-1"],
    },
    Spec {
        name: "plain-linux-ppc64",
        src: PLAIN,
        goos: "linux",
        goarch: "ppc64",
        cgo: false,
        flags: &["-ldflags=-X main.Version=be-1"],
    },
    Spec {
        name: "plain-windows-386.exe",
        src: PLAIN,
        goos: "windows",
        goarch: "386",
        cgo: false,
        flags: &[],
    },
];

/// The Go toolchain's version (`go env GOVERSION`).
pub fn go_version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let out = run_ok(Command::new("go").args(["env", "GOVERSION"]));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    })
}

/// `go env KEY`.
pub fn go_env(key: &str) -> String {
    let out = run_ok(Command::new("go").args(["env", key]));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Runs a command, panicking with its output when it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn hash_dir(dir: &Path, h: &mut DefaultHasher) {
    // `dist/` is what `goready build`/`check` write into a module (gitignored), not source.
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_none_or(|n| n != "dist"))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            hash_dir(&path, h);
        } else {
            path.file_name().hash(h);
            std::fs::read(&path).unwrap().hash(h);
        }
    }
}

/// Builds `spec` unless an up-to-date build exists; returns the binary's path.
pub fn build(spec: &Spec) -> PathBuf {
    let dir = fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(spec.name);
    let stamp_path = dir.join(format!("{}.stamp", spec.name));
    let mut h = DefaultHasher::new();
    hash_dir(&repo().join(spec.src), &mut h);
    (go_version(), spec.goos, spec.goarch, spec.cgo, spec.flags).hash(&mut h);
    let stamp = format!("{:016x}", h.finish());
    if out.exists() && std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(&stamp) {
        return out;
    }
    let mut cmd = Command::new("go");
    cmd.current_dir(repo().join(spec.src))
        .args(["build", "-buildvcs=false"])
        .args(spec.flags)
        .arg("-o")
        .arg(&out)
        .arg(".")
        .env("GOOS", spec.goos)
        .env("GOARCH", spec.goarch)
        .env("CGO_ENABLED", if spec.cgo { "1" } else { "0" })
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local");
    run_ok(&mut cmd);
    std::fs::write(&stamp_path, stamp).unwrap();
    out
}

/// Every fixture of [`SPECS`], built once per test process (two builds at a time: the
/// machine has two cores and `go build` is itself parallel).
pub fn fixtures() -> &'static Vec<(Spec, PathBuf)> {
    static ALL: OnceLock<Vec<(Spec, PathBuf)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let queue = Mutex::new(SPECS.iter().collect::<Vec<_>>());
        let done = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    loop {
                        let Some(spec) = queue.lock().unwrap().pop() else {
                            break;
                        };
                        let path = build(spec);
                        done.lock().unwrap().push((spec.clone(), path));
                    }
                });
            }
        });
        let mut all = done.into_inner().unwrap();
        all.sort_by_key(|(s, _)| s.name);
        all
    })
}

/// The path of one fixture by name.
pub fn fixture(name: &str) -> PathBuf {
    fixtures()
        .iter()
        .find(|(s, _)| s.name == name)
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// The gosymcheck oracle (Go's own debug/gosym), built once.
pub fn gosymcheck() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        build(&Spec {
            name: "gosymcheck",
            src: "tests/tools/gosymcheck",
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

/// The goready binary under test.
pub fn goready() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_goready"));
    // Hermetic: `build` and `check` scan their binaries against this (absent) database, a
    // skipped binary.vuln check, rather than whatever https://vuln.go.dev says today.
    // tests/vuln_scan.rs gives its own database.
    cmd.env("GOREADY_VULN_DB", "/nonexistent/goready-test-vulndb");
    cmd
}

/// Runs goready, returning (exit code, stdout, stderr).
pub fn run_goready(args: &[&str]) -> (i32, String, String) {
    let out = goready().args(args).output().expect("run goready");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The path of an llvm tool: `llvm-nm`, or Debian's versioned `llvm-nm-14` when only that is
/// installed. `.ci/run` installs llvm when neither is there.
pub fn llvm(name: &str) -> String {
    let on_path = |candidate: &str| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(candidate).is_file()))
            .unwrap_or(false)
    };
    if on_path(name) {
        return name.to_string();
    }
    (10..=25)
        .rev()
        .map(|v| format!("{name}-{v}"))
        .find(|c| on_path(c))
        .unwrap_or_else(|| panic!("{name} is not installed (apt-get install llvm)"))
}

/// A reference tool's stdout (e.g. `readelf`), panicking if it fails.
pub fn tool(program: &str, args: &[&str], file: &Path) -> String {
    let program = if program.starts_with("llvm-") {
        llvm(program)
    } else {
        program.to_string()
    };
    let out = run_ok(Command::new(program).args(args).arg(file));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The architecture of this machine, in Go's words.
pub fn host_goarch() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "amd64"
    }
}

/// Services `goready probe` starts in the tests (tests/fixtures/svc and the example), built
/// for this machine.
pub fn service_specs() -> Vec<Spec> {
    let svc = |name: &'static str, src: &'static str| Spec {
        name,
        src,
        goos: std::env::consts::OS,
        goarch: host_goarch(),
        cgo: false,
        flags: &[],
    };
    vec![
        Spec {
            flags: &["-ldflags=-X main.Version=1.2.3"],
            ..svc("svc-hello", HELLO)
        },
        svc("svc-defaultmux", "tests/fixtures/svc/defaultmux"),
        svc("svc-nopprof", "tests/fixtures/svc/nopprof"),
        svc("svc-authpprof", "tests/fixtures/svc/authpprof"),
        svc("svc-catchall", "tests/fixtures/svc/catchall"),
        svc("svc-neverready", "tests/fixtures/svc/neverready"),
        svc("svc-crash", "tests/fixtures/svc/crash"),
        svc("svc-stubborn", "tests/fixtures/svc/stubborn"),
        svc("svc-runtime", "tests/fixtures/svc/runtime"),
        svc("svc-tlspprof", "tests/fixtures/svc/tlspprof"),
        svc("svc-slowtail", "tests/fixtures/svc/slowtail"),
        svc("svc-drain", "tests/fixtures/svc/drain"),
    ]
}

/// A service fixture by name (`svc-hello`, `svc-stubborn`, ...); all of them are built once
/// per test process, two at a time.
pub fn service(name: &str) -> PathBuf {
    static ALL: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let queue = Mutex::new(service_specs());
        let done = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    loop {
                        let Some(spec) = queue.lock().unwrap().pop() else {
                            break;
                        };
                        let path = build(&spec);
                        done.lock().unwrap().push((spec.name.to_string(), path));
                    }
                });
            }
        });
        done.into_inner().unwrap()
    });
    all.iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| panic!("no service fixture {name}"))
}

/// Deterministic pseudo-random bytes (xorshift64*), so failures reproduce.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}
