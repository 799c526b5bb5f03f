//! `goready check [DIR]`: every step on one module, as goready.toml configures it, published
//! as one merged report.
//!
//! Each step runs as goready's own subcommand in a child process — `goready env DIR …`,
//! `goready build DIR …`, `goready probe --dir DIR …`, `goready test --dir DIR …` — with the
//! command line the settings give it, and writes its result file; `check` merges the results
//! and publishes them the way `goready report` does. Running a step as it runs alone keeps
//! every guarantee it makes (process groups, timeouts, signal handling), and makes `check`
//! exactly the sum of its steps: `goready check --dry-run` prints the commands.
//!
//! The [`Plan`] — each step's command line — is made on the CLI's side (`cli/check.rs`):
//! it layers goready.toml, `GOREADY_*` variables, `--set` and `check`'s own flags, and
//! validates each step's settings by parsing them with that step's clap `Args`, which only
//! the CLI knows. What stays here knows none of the CLI's types: the plan's types, the step
//! table's shape ([`Step`]: the CLI fills in each step's clap command as a function, which
//! `init` reads to document every setting), the binary `{bin}` names, the dry-run text, and
//! running the plan ([`run`]).
//!
//! A step that cannot run is a skipped check that says why (no service configured, nothing
//! to test); a step that fails does not stop the others, except the probe of the binary the
//! build made (`{bin}`), which needs that build.

pub mod init;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::Context;

use crate::build::matrix;
use crate::config::Config;
use crate::model::{Check, Report};
use crate::report::Env;
use crate::report::publish::Outputs;
use crate::rules;

/// A step table of goready.toml: its name, the clap command of the step's `Args` struct (the
/// keys are its arguments' ids), and the keys `check` sets itself. The CLI, which owns the
/// `Args` structs, makes the table (`cli::check::steps`).
#[derive(Clone, Copy)]
pub struct Step {
    /// `env`, `build`, `probe`, `test` or `report`.
    pub name: &'static str,
    /// The step's command line, as its `Args` struct declares it.
    pub command: fn() -> clap::Command,
    /// Keys `goready check` refuses, with the reason.
    pub reserved: &'static [(&'static str, &'static str)],
    /// What the table configures, for goready.toml's comments.
    pub about: &'static str,
}

/// What `check` will do for one step.
#[derive(Debug, Clone)]
pub enum Action {
    /// Run `goready STEP ARGV…`.
    Run {
        /// The step's command line (after the step name).
        argv: Vec<OsString>,
        /// The build this run needs: the probe of `{bin}`.
        needs: Option<Native>,
    },
    /// Do not run it; report this (skipped) check instead.
    Skip(Check),
}

/// The binary the build step makes for this machine: what `{bin}` stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Native {
    /// Its target's label (`linux/amd64 cgo=0`), as the build's checks carry it.
    pub label: String,
    /// Its path, absolute.
    pub bin: PathBuf,
}

/// Everything `check` will do, decided before anything runs: a bad setting is a usage error
/// (exit 2) before minutes of building, not after.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The module directory.
    pub dir: PathBuf,
    /// env, build, probe, test — in that order.
    pub steps: Vec<(&'static str, Action)>,
    /// The `[report]` settings as flags (for `--dry-run`).
    pub report_argv: Vec<OsString>,
}

/// The GOOS/GOARCH of the machine goready runs on, in Go's names: a binary for it runs here.
pub fn host() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    };
    (os, arch)
}

/// The matrix target that runs on this machine (CGO 0 preferred) and the path the binary of
/// `package` gets, or why there is none.
pub fn native(dir: &Path, package: &str, targets: &[matrix::Target]) -> Result<Native, String> {
    let (os, arch) = host();
    let target = targets
        .iter()
        .filter(|t| t.goos == os && t.goarch == arch)
        .min_by_key(|t| t.cgo)
        .ok_or_else(|| {
            format!(
                "[probe] exec starts {{bin}}, the {os}/{arch} binary of the build step, but the \
                 build matrix has no {os}/{arch} target: add it to [build] targets, or start \
                 the service with go_test"
            )
        })?;
    let name = matrix::binary_name(dir, package).map_err(|e| format!("{e:#}"))?;
    let bin = std::path::absolute(dir.join("dist").join(target.output_name(&name)))
        .map_err(|e| format!("resolving {}: {e}", dir.display()))?;
    Ok(Native {
        label: target.label(),
        bin,
    })
}

/// What `goready check` runs: the plan, the goready.toml every step reads, and where the
/// merged report goes.
pub struct Options<'a> {
    /// Every step's command line, decided by the CLI.
    pub plan: Plan,
    /// The goready.toml file every step reads (None: none, and no step reads one by accident).
    pub config_file: Option<PathBuf>,
    /// Its contents: `[rules]` apply to the merged report.
    pub config: &'a Config,
    /// Where the merged report goes.
    pub outputs: Outputs,
    /// The environment the CI outputs read.
    pub env: Env<'a>,
}

/// `goready check`: runs every step of the plan, merges their results, applies goready.toml's
/// `[rules]` and publishes the merged report the way `goready report` does.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let mut report = execute(&opts.plan, opts.config_file.as_deref())?;
    opts.config.apply(&mut report);
    crate::report::command::publish_merged(&report, &opts.outputs, &[], opts.env)?;
    Ok(report)
}

/// The root of the git checkout holding `path`, if any.
pub fn git_root(path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(path).ok()?;
    abs.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// `path` relative to `root`, with `/` separators (`.` for the root itself).
pub fn relative_to(path: &Path, root: &Path) -> Option<String> {
    let abs = std::path::absolute(path).ok()?;
    let rel = abs.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// `path` relative to the root of its git checkout, when it is in one.
pub fn repo_relative(path: &Path) -> Option<String> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let root = git_root(dir.unwrap_or(Path::new(".")))?;
    relative_to(path, &root)
}

/// A command line for people: shell-quoted, header values hidden.
fn shell_line(words: &[OsString]) -> String {
    let words: Vec<String> = words
        .iter()
        .map(|w| {
            let w = w.to_string_lossy();
            match w.strip_prefix("--header=").and_then(|h| h.split_once(':')) {
                Some((name, _)) => format!("--header={name}: ***"),
                None => w.into_owned(),
            }
        })
        .collect();
    let quoted: Vec<String> = words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-./=:,@%+^$".contains(&b));
            if plain {
                w.clone()
            } else {
                shlex::try_quote(w).map_or_else(|_| w.clone(), |q| q.into_owned())
            }
        })
        .collect();
    quoted.join(" ")
}

/// What `--dry-run` prints: the command each step would run.
pub fn describe_plan(plan: &Plan, config: Option<&Path>) -> String {
    let mut out = format!(
        "# goready check {} (settings from {})\n",
        plan.dir.display(),
        config.map_or("defaults, variables and flags".into(), |p| p
            .display()
            .to_string())
    );
    for (name, action) in &plan.steps {
        match action {
            Action::Skip(check) => {
                out.push_str(&format!("# {name}: skipped: {}\n", check.message));
            }
            Action::Run { argv, needs } => {
                if let Some(native) = needs {
                    out.push_str(&format!(
                        "# {name}: after the build of {} ({})\n",
                        native.label,
                        native.bin.display()
                    ));
                }
                let mut words = vec![OsString::from("goready"), OsString::from(*name)];
                words.extend(argv.iter().cloned());
                out.push_str(&shell_line(&words));
                out.push('\n');
            }
        }
    }
    let mut words = vec![
        OsString::from("goready"),
        OsString::from("report"),
        OsString::from("RESULTS…"),
    ];
    words.extend(plan.report_argv.iter().cloned());
    out.push_str(&shell_line(&words).replace("'RESULTS…'", "RESULTS…"));
    out.push('\n');
    out
}

/// The rule whose error stands for "this step could not run at all".
fn could_not_run_rule(step: &str) -> &'static rules::Rule {
    match step {
        "env" => &rules::ENV_TOOLCHAIN_CONSISTENT,
        "build" => &rules::BUILD_COMPILE,
        "probe" => &rules::RUNTIME_START,
        _ => &rules::TEST_PACKAGE,
    }
}

/// Runs the plan's steps in order and merges their results.
pub fn execute(plan: &Plan, config: Option<&Path>) -> anyhow::Result<Report> {
    let tmp = tempfile::Builder::new()
        .prefix("goready-check-")
        .tempdir()
        .context("creating a directory for the steps' results")?;
    // Every step reads the same goready.toml ([rules]); none reads one by accident.
    let config_file = match config {
        Some(path) => std::path::absolute(path)?,
        None => {
            let empty = tmp.path().join("goready.toml");
            std::fs::write(&empty, "")?;
            empty
        }
    };
    #[cfg(unix)]
    signals::forward();
    let total = plan.steps.len();
    let mut reports = Vec::new();
    let mut build: Option<Report> = None;
    let started = std::time::Instant::now();
    let mut in_steps = std::time::Duration::ZERO;
    for (i, (name, action)) in plan.steps.iter().enumerate() {
        let n = i + 1;
        let step_started = std::time::Instant::now();
        let checks = match action {
            Action::Skip(check) => {
                eprintln!(
                    "goready check: [{n}/{total}] {name} skipped: {}",
                    check.message
                );
                vec![check.clone()]
            }
            Action::Run { argv, needs } => {
                let unbuilt = needs
                    .as_ref()
                    .and_then(|native| unbuilt(native, build.as_ref()));
                if let Some(why) = unbuilt {
                    eprintln!("goready check: [{n}/{total}] {name} skipped: {why}");
                    vec![Check::of(&rules::RUNTIME_START).skip(why)]
                } else {
                    let mut words = vec![OsString::from("goready"), OsString::from(*name)];
                    words.extend(argv.iter().cloned());
                    eprintln!("goready check: [{n}/{total}] {}", shell_line(&words));
                    let json = tmp.path().join(format!("{name}.json"));
                    let ran = run_step(name, argv, &json, &config_file)?;
                    let mut checks = match Report::read_json(&json) {
                        Ok(report) => report.checks,
                        Err(_) => vec![Check::of(could_not_run_rule(name)).error(format!(
                            "goready {name} stopped without a result ({}){}",
                            describe_status(&ran.status),
                            ran.reason().map(|r| format!(": {r}")).unwrap_or_default()
                        ))],
                    };
                    if *name == "test" && checks.is_empty() {
                        checks.push(Check::of(&rules::TEST_PACKAGE).skip(format!(
                            "go test found no Go packages in {}: nothing to test",
                            plan.dir.display()
                        )));
                    }
                    checks
                }
            }
        };
        let report = Report::new(checks);
        let (pass, fail, skip, error) = report.counts();
        let took = step_started.elapsed();
        in_steps += took;
        eprintln!(
            "goready check: {name}: {pass} passed, {fail} failed, {skip} skipped, {error} errors \
             ({:.2} s)",
            took.as_secs_f64()
        );
        if *name == "build" {
            build = Some(report.clone());
        }
        reports.push(report);
    }
    eprintln!(
        "goready check: steps done in {:.2} s ({:.2} s in the steps themselves)",
        started.elapsed().as_secs_f64(),
        in_steps.as_secs_f64()
    );
    Ok(crate::report::merge(reports))
}

/// Why `{bin}` cannot be started: its target did not build (or the build did not run).
fn unbuilt(native: &Native, build: Option<&Report>) -> Option<String> {
    let compiled = build.is_some_and(|r| {
        r.checks.iter().any(|c| {
            c.id == rules::BUILD_COMPILE.id
                && c.target.as_deref() == Some(native.label.as_str())
                && c.status == crate::model::Status::Pass
        })
    });
    if compiled && native.bin.is_file() {
        return None;
    }
    Some(format!(
        "{{bin}} is {}, and the build of {} did not produce it (see build.compile): nothing to \
         start",
        native.bin.display(),
        native.label
    ))
}

fn describe_status(status: &ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => status.to_string(),
    }
}

/// How a step's process ended, and the end of what it printed on stderr.
struct StepRun {
    status: ExitStatus,
    stderr_tail: Vec<u8>,
}

impl StepRun {
    /// The step's own words for why it stopped: its `goready: error:` line, else its last
    /// line.
    fn reason(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.stderr_tail);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("goready: error: "))
            .or_else(|| lines.last().copied())
            .map(str::to_string)
    }
}

/// How much of a step's stderr is kept for the reason it stopped.
const STDERR_TAIL: usize = 16 * 1024;

/// Runs `goready STEP --json JSON --config CONFIG ARGV…`: stdout (the step's own table) is
/// dropped, stderr (progress, go's output) passes through.
fn run_step(name: &str, argv: &[OsString], json: &Path, config: &Path) -> anyhow::Result<StepRun> {
    let exe = std::env::current_exe().context("finding goready's own executable")?;
    let mut cmd = Command::new(exe);
    // The options go before ARGV: `goready test`'s ARGV may end in `-- GO_TEST_ARGS`.
    cmd.arg(name)
        .arg("--json")
        .arg(json)
        .arg("--config")
        .arg(config)
        .args(argv)
        .env_remove("GOREADY_FAIL_ON")
        .env_remove("GOREADY_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    let mut child = signals::spawn(&mut cmd)?;
    #[cfg(not(unix))]
    let mut child = cmd.spawn().context("starting a goready step")?;
    let mut tail = Vec::new();
    if let Some(mut stderr) = child.stderr.take() {
        let mut buf = [0u8; 8192];
        let mut out = std::io::stderr();
        loop {
            match stderr.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let _ = out.write_all(&buf[..n]);
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > STDERR_TAIL {
                        tail.drain(..tail.len() - STDERR_TAIL);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    #[cfg(unix)]
    let status = signals::wait(child)?;
    #[cfg(not(unix))]
    let status = child.wait().context("waiting for a goready step")?;
    Ok(StepRun {
        status,
        stderr_tail: tail,
    })
}

/// Signals to `check` go to the step that is running, which stops its own children the way
/// it does when run alone; `check` then dies of the same signal, publishing nothing.
#[cfg(unix)]
mod signals {
    use std::process::{Child, Command};
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::{Mutex, Once};

    use anyhow::Context;

    /// The running step's pid.
    static CURRENT: Mutex<Option<u32>> = Mutex::new(None);
    /// The signal received, or 0.
    static SIGNALLED: AtomicI32 = AtomicI32::new(0);

    fn exit_if_signalled() {
        let sig = SIGNALLED.load(Ordering::SeqCst);
        if sig != 0 {
            die_of(sig);
        }
    }

    /// Dies of `sig`, as every goready step does, so that the caller sees the usual status.
    fn die_of(sig: i32) -> ! {
        let _ = signal_hook::low_level::emulate_default_handler(sig);
        std::process::exit(128 + sig);
    }

    /// Installs the forwarding thread (once).
    pub fn forward() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                eprintln!("goready: warning: cannot watch for interrupts");
                return;
            };
            std::thread::spawn(move || {
                for sig in signals.forever() {
                    SIGNALLED.store(sig, Ordering::SeqCst);
                    let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
                    match *current {
                        Some(pid) => {
                            if let Ok(pid) = libc::pid_t::try_from(pid) {
                                // SAFETY: kill only sends a signal, to our own child, which
                                // is not reaped before CURRENT is cleared under this lock.
                                unsafe {
                                    libc::kill(pid, sig);
                                }
                            }
                        }
                        None => die_of(sig),
                    }
                }
            });
        });
    }

    /// Starts a step in its own process group (so that a terminal's Ctrl-C reaches it once,
    /// through `check`), told to stop (SIGTERM) if `check` itself dies.
    pub fn spawn(cmd: &mut Command) -> anyhow::Result<Child> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent; it runs in
        // the forked child before exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        exit_if_signalled();
        let child = cmd.spawn().context("starting a goready step")?;
        *current = Some(child.id());
        Ok(child)
    }

    /// Waits for the step. It is reaped only after signals stop going to it, so that its pid
    /// cannot have been reused by the time one is sent.
    pub fn wait(mut child: Child) -> anyhow::Result<std::process::ExitStatus> {
        let pid = child.id();
        loop {
            // SAFETY: `info` is a valid, zeroed siginfo_t that waitid fills in; WNOWAIT leaves
            // the child to be reaped below.
            let rc = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if rc == 0 {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                break;
            }
        }
        {
            let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
            *current = None;
        }
        let status = child.wait().context("waiting for a goready step")?;
        exit_if_signalled();
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_of_bin_is_skipped_when_its_target_did_not_build() {
        let native = Native {
            label: "linux/amd64 cgo=0".into(),
            bin: PathBuf::from("/nonexistent/dist/svc_linux_amd64"),
        };
        let failed = Report::new(vec![
            Check::of(&rules::BUILD_COMPILE)
                .target("linux/amd64 cgo=0")
                .fail("main.go:3: syntax error"),
        ]);
        let why = unbuilt(&native, Some(&failed)).unwrap();
        assert!(
            why.contains("build.compile") && why.contains("linux/amd64 cgo=0"),
            "{why}"
        );
        assert!(unbuilt(&native, None).is_some());
        // Built, but the file is gone: still nothing to start.
        let built = Report::new(vec![
            Check::of(&rules::BUILD_COMPILE)
                .target("linux/amd64 cgo=0")
                .pass("built"),
        ]);
        assert!(unbuilt(&native, Some(&built)).is_some());
        let exe = std::env::current_exe().unwrap();
        let here = Native { bin: exe, ..native };
        assert_eq!(unbuilt(&here, Some(&built)), None);
    }
}
