//! Starting, watching and stopping the service under test.
//!
//! The service runs in its own process group with `PR_SET_PDEATHSIG`, so that
//! - a stop reaches every process it forked: SIGTERM to the group (and to every process of
//!   its tree, in case one moved to a group of its own), SIGKILL after the grace period;
//! - Ctrl-C or SIGTERM to goready stops the service the same way before goready exits
//!   ([`install_signal_handlers`]);
//! - if goready itself is killed outright, the kernel kills the service's main process.
//!
//! Every process seen in the tree is remembered (pid and start time), so a child that
//! outlives its parent and leaves the group is still found and stopped.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use super::exposure::{self, ListenSocket};
use super::gctrace::{self, GcStats};
use super::procs::{self, ProcStat};
use crate::gotool::Go;
use crate::http::{self, Endpoint, Request};

/// How much of each output stream is kept in memory.
const TAIL_BYTES: usize = 64 * 1024;

/// The two loopback addresses goready hands the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// The main (public) address: `{addr}`, `GOREADY_ADDR`.
    pub addr: SocketAddr,
    /// The admin address: `{admin}`, `GOREADY_ADMIN_ADDR`.
    pub admin: SocketAddr,
}

/// Two free loopback ports, found by binding both at once (so they differ) and releasing
/// them for the service.
pub fn free_ports() -> std::io::Result<Ports> {
    let a = TcpListener::bind("127.0.0.1:0")?;
    let b = TcpListener::bind("127.0.0.1:0")?;
    Ok(Ports {
        addr: a.local_addr()?,
        admin: b.local_addr()?,
    })
}

/// How the service is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// A command line; `{addr}` and `{admin}` are replaced in each argument.
    Exec(String),
    /// A Go test, run from its test binary (`go test -c`) with `-test.run`.
    GoTest {
        /// The package, as `go test` takes it (`./cmd/svc`).
        pkg: String,
        /// The `-test.run` pattern.
        run: String,
    },
}

/// A launch resolved to a program, arguments, directory and environment.
#[derive(Debug)]
pub struct Prepared {
    /// Program and arguments, as run.
    pub argv: Vec<String>,
    /// Working directory (the package directory for a Go test).
    pub cwd: Option<PathBuf>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Keeps a built test binary alive until the service is done.
    _build_dir: Option<tempfile::TempDir>,
}

/// Replaces `{addr}` and `{admin}` in one argument.
pub fn substitute(arg: &str, ports: &Ports) -> String {
    arg.replace("{addr}", &ports.addr.to_string())
        .replace("{admin}", &ports.admin.to_string())
}

/// Resolves a launch: splits the command line (shell quoting rules, no shell), or builds the
/// test binary with `go test -c` in `dir`.
pub fn prepare(launch: &Launch, ports: &Ports, dir: &Path, go: &Go) -> anyhow::Result<Prepared> {
    let env = vec![
        ("GOREADY_ADDR".to_string(), ports.addr.to_string()),
        ("GOREADY_ADMIN_ADDR".to_string(), ports.admin.to_string()),
    ];
    match launch {
        Launch::Exec(line) => {
            let words = shlex::split(line)
                .with_context(|| format!("--exec {line:?}: unbalanced quotes"))?;
            if words.is_empty() {
                bail!("--exec is empty: give the service's command line");
            }
            let mut argv: Vec<String> = words.iter().map(|w| substitute(w, ports)).collect();
            // The service runs in `dir`; a relative program path means a file there, not one
            // beside goready (std leaves that case to the platform).
            let program = Path::new(&argv[0]);
            if program.is_relative() && program.components().count() > 1 {
                argv[0] = dir.join(program).display().to_string();
            }
            Ok(Prepared {
                argv,
                cwd: Some(dir.to_path_buf()),
                env,
                _build_dir: None,
            })
        }
        Launch::GoTest { pkg, run } => {
            let build_dir = tempfile::Builder::new()
                .prefix("goready-probe-")
                .tempdir()
                .context("creating a directory for the test binary")?;
            let name = pkg
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty() && *n != "." && *n != "...")
                .unwrap_or("svc");
            let bin = build_dir.path().join(format!("{name}.test"));
            go.test_binary(dir, pkg, &bin)?;
            let pkg_dir = go.package_dir(dir, pkg)?;
            Ok(Prepared {
                argv: vec![
                    bin.display().to_string(),
                    format!("-test.run={run}"),
                    "-test.v=true".to_string(),
                ],
                cwd: Some(pkg_dir),
                env,
                _build_dir: Some(build_dir),
            })
        }
    }
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExitFacts {
    /// Exit code, when it exited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Signal number, when a signal killed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// `exit code 3`, `killed by SIGKILL`.
    pub description: String,
}

impl From<ExitStatus> for ExitFacts {
    fn from(s: ExitStatus) -> Self {
        match (s.code(), s.signal()) {
            (Some(code), _) => ExitFacts {
                code: Some(code),
                signal: None,
                description: format!("exit code {code}"),
            },
            (None, Some(sig)) => ExitFacts {
                code: None,
                signal: Some(sig),
                description: format!("killed by {}", signal_name(sig)),
            },
            _ => ExitFacts {
                code: None,
                signal: None,
                description: s.to_string(),
            },
        }
    }
}

/// `SIGTERM` for 15, `signal 99` for the unnamed.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGQUIT => "SIGQUIT".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGPIPE => "SIGPIPE".into(),
        libc::SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}

/// One output stream of the service: its tail, and for stderr the GC trace.
#[derive(Debug, Default)]
struct Capture {
    tail: Vec<u8>,
    total: u64,
    line: Vec<u8>,
    gc: GcStats,
    log: Option<std::fs::File>,
}

impl Capture {
    fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        if let Some(f) = self.log.as_mut() {
            let _ = f.write_all(data);
        }
        self.tail.extend_from_slice(data);
        if self.tail.len() > 2 * TAIL_BYTES {
            let cut = self.tail.len() - TAIL_BYTES;
            self.tail.drain(..cut);
        }
        for &b in data {
            if b == b'\n' {
                if let Some(c) = gctrace::parse_line(&String::from_utf8_lossy(&self.line)) {
                    self.gc.add(&c);
                }
                self.line.clear();
            } else if self.line.len() < 4096 {
                self.line.push(b);
            }
        }
    }
}

fn pump(mut from: impl Read, to: Arc<Mutex<Capture>>) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => lock(&to).push(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The processes goready is responsible for: a process group and every process ever seen in
/// the service's tree, by pid and start time.
#[derive(Debug, Default)]
struct Known {
    leader: i32,
    pgid: i32,
    seen: BTreeMap<i32, (u64, String)>,
}

impl Known {
    /// Live (non-zombie) processes of the service now.
    fn alive(&mut self) -> Vec<ProcStat> {
        let all = procs::snapshot(Path::new("/proc"));
        let mut live: Vec<ProcStat> = procs::tree(&all, self.leader, self.pgid);
        let subreaper = SUBREAPER.load(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        for p in &all {
            let remembered = self
                .seen
                .get(&p.pid)
                .is_some_and(|(start, _)| *start == p.start_time);
            // An orphan re-parented to goready: goready's own children are the services
            // (each a leader of its own tree) and finished `go` runs, so this one escaped a
            // service's tree before goready saw it.
            let orphan = subreaper && p.ppid == me && p.pid != self.leader && !is_leader(p.pid);
            if (remembered || orphan) && !live.iter().any(|l| l.pid == p.pid) {
                // Still ours, wherever it moved; its own children too.
                live.extend(procs::tree(&all, p.pid, 0));
            }
        }
        live.retain(|p| !p.is_zombie());
        live.sort_by_key(|p| p.pid);
        live.dedup_by_key(|p| p.pid);
        for p in &live {
            self.seen.insert(p.pid, (p.start_time, p.comm.clone()));
        }
        live
    }

    fn signal(&mut self, sig: i32) -> Vec<ProcStat> {
        let live = self.alive();
        // Only while a member is alive: an empty group's id may be reused by another.
        if live.iter().any(|p| p.pgrp == self.pgid) {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory is
            // involved.
            unsafe {
                libc::kill(-self.pgid, sig);
            }
        }
        for p in &live {
            // SAFETY: as above, for one process that is part of the service's tree.
            unsafe {
                libc::kill(p.pid, sig);
            }
        }
        live
    }
}

/// True when `pid` is the main process of a running service.
fn is_leader(pid: i32) -> bool {
    lock(registry()).iter().any(|k| match k.try_lock() {
        Ok(k) => k.leader == pid,
        // Locked: the caller holds it, and the caller knows its own leader.
        Err(_) => false,
    })
}

/// Services that are running, for the signal handler to stop.
fn registry() -> &'static Mutex<Vec<Arc<Mutex<Known>>>> {
    static R: OnceLock<Mutex<Vec<Arc<Mutex<Known>>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(Vec::new()))
}

/// Stops every running service: SIGTERM, then SIGKILL after `grace` (or at once).
fn stop_all(grace: Duration) {
    let all: Vec<_> = lock(registry()).clone();
    let until = Instant::now() + grace;
    for k in &all {
        lock(k).signal(libc::SIGTERM);
    }
    while Instant::now() < until && all.iter().any(|k| !lock(k).alive().is_empty()) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..50 {
        let mut any = false;
        for k in &all {
            any |= !lock(k).signal(libc::SIGKILL).is_empty();
        }
        if !any {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// goready is a child subreaper: every child of goready's other than the ones it started
/// itself is an orphan of a service's tree.
static SUBREAPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True once goready got SIGINT/SIGTERM/SIGHUP: the signal thread is stopping the service
/// and will exit the process; the main thread must not report or exit on its own.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Makes Ctrl-C (SIGINT), SIGTERM and SIGHUP to goready stop the service before goready
/// exits (with 128 + the signal's number): SIGTERM to the service, SIGKILL after `grace`.
/// A second signal kills at once. Call once, from the CLI.
pub fn install_signal_handlers(grace: Duration) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("installing signal handlers")?;
    std::thread::Builder::new()
        .name("goready-signals".into())
        .spawn(move || {
            let mut first = true;
            for sig in signals.forever() {
                INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
                if first {
                    first = false;
                    eprintln!(
                        "goready: {} received: stopping the service (SIGTERM, SIGKILL after {})",
                        signal_name(sig),
                        crate::duration::format(grace)
                    );
                    std::thread::spawn(move || {
                        stop_all(grace);
                        std::process::exit(128 + sig);
                    });
                } else {
                    stop_all(Duration::ZERO);
                    std::process::exit(128 + sig);
                }
            }
        })
        .context("starting the signal thread")?;
    // Orphaned grandchildren are re-parented to goready rather than to init, so they stay
    // visible (and reapable) until the service is stopped.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0 {
        SUBREAPER.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    Ok(())
}

/// A process run in its own process group that dies with goready.
fn supervised(argv: &[String]) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).process_group(0).stdin(Stdio::null());
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: between fork and exec only async-signal-safe calls (prctl, getppid, _exit).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // goready died between fork and prctl: do not start an orphan.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
    cmd
}

/// Where a service's output goes besides goready's memory.
#[derive(Debug, Default, Clone)]
pub struct SpawnOptions {
    /// Run with `GODEBUG=gctrace=1` (added to an existing GODEBUG).
    pub gctrace: bool,
    /// Write the full stdout/stderr to `service.stdout.log`/`service.stderr.log` here.
    pub log_dir: Option<PathBuf>,
}

/// The running service.
pub struct Service {
    child: Child,
    /// The main process.
    pub pid: i32,
    /// When it was started.
    pub started: Instant,
    known: Arc<Mutex<Known>>,
    stdout: Arc<Mutex<Capture>>,
    stderr: Arc<Mutex<Capture>>,
    exit: Option<(ExitStatus, Instant)>,
    stopped: bool,
}

/// The outcome of waiting for readiness.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Readiness {
    /// The ready path answered 200.
    Ready {
        /// Time from start.
        after_ms: u64,
        /// `http://127.0.0.1:PORT/debug/pprof/`.
        url: String,
    },
    /// The service exited first.
    Exited {
        /// Time from start.
        after_ms: u64,
        /// How it ended.
        exit: ExitFacts,
    },
    /// Nothing answered 200 in time.
    TimedOut {
        /// The timeout.
        after_ms: u64,
        /// The last answer of each listening socket (status or error).
        answers: BTreeMap<String, String>,
    },
}

/// What readiness means.
#[derive(Debug, Clone)]
pub struct ReadyOptions<'a> {
    /// The path that must answer 200 (`/debug/pprof/`).
    pub path: &'a str,
    /// How long to wait.
    pub timeout: Duration,
    /// Sent with each request (`--header`).
    pub headers: &'a [(String, String)],
    /// An endpoint to try besides the discovered sockets (`--pprof URL`).
    pub extra: Option<&'a Endpoint>,
}

/// How the stop went.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    /// The main process had already exited when the stop began.
    pub exited_before_stop: bool,
    /// How the main process ended.
    pub exit: Option<ExitFacts>,
    /// Every process was gone within the grace period after SIGTERM.
    pub graceful: bool,
    /// Time from SIGTERM until the main process was gone, ms, when that happened within the
    /// grace period.
    pub main_exit_ms: Option<u64>,
    /// Processes still running after the grace period, which got SIGKILL.
    pub killed: Vec<String>,
    /// Processes still running even after SIGKILL (should never happen).
    pub leftover: Vec<String>,
    /// The grace period, ms.
    pub grace_ms: u64,
}

fn describe_proc(p: &ProcStat) -> String {
    format!("{} (pid {})", p.comm, p.pid)
}

impl Service {
    /// Starts the prepared command, capturing its output.
    pub fn spawn(prepared: &Prepared, opts: &SpawnOptions) -> anyhow::Result<Service> {
        let mut cmd = supervised(&prepared.argv);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(cwd) = &prepared.cwd {
            cmd.current_dir(cwd);
        }
        cmd.envs(prepared.env.iter().map(|(k, v)| (k, v)));
        if opts.gctrace {
            let godebug = match std::env::var("GODEBUG") {
                Ok(v) if !v.is_empty() => format!("{v},gctrace=1"),
                _ => "gctrace=1".to_string(),
            };
            cmd.env("GODEBUG", godebug);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {:?}", prepared.argv[0]))?;
        let pid = child.id() as i32;
        let known = Arc::new(Mutex::new(Known {
            leader: pid,
            pgid: pid,
            seen: BTreeMap::new(),
        }));
        lock(registry()).push(known.clone());
        let open_log = |name: &str| {
            opts.log_dir
                .as_ref()
                .and_then(|d| std::fs::File::create(d.join(name)).ok())
        };
        let stdout = Arc::new(Mutex::new(Capture {
            log: open_log("service.stdout.log"),
            ..Capture::default()
        }));
        let stderr = Arc::new(Mutex::new(Capture {
            log: open_log("service.stderr.log"),
            ..Capture::default()
        }));
        if let Some(out) = child.stdout.take() {
            let to = stdout.clone();
            std::thread::spawn(move || pump(out, to));
        }
        if let Some(err) = child.stderr.take() {
            let to = stderr.clone();
            std::thread::spawn(move || pump(err, to));
        }
        Ok(Service {
            child,
            pid,
            started: Instant::now(),
            known,
            stdout,
            stderr,
            exit: None,
            stopped: false,
        })
    }

    /// The main process's exit, if it has exited (checked now).
    pub fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some((status, Instant::now()));
            }
        }
        self.exit.map(|(s, _)| s)
    }

    /// Time from start to exit, if it exited.
    pub fn exited_after(&self) -> Option<Duration> {
        self.exit.map(|(_, at)| at.duration_since(self.started))
    }

    /// The live processes of the service now (main process first).
    pub fn processes(&self) -> Vec<ProcStat> {
        let mut live = lock(&self.known).alive();
        live.sort_by_key(|p| (p.pid != self.pid, p.pid));
        live
    }

    /// The listening TCP sockets of the service's processes.
    pub fn sockets(&self) -> Vec<ListenSocket> {
        let pids: Vec<i32> = self.processes().iter().map(|p| p.pid).collect();
        exposure::listening_sockets(&pids)
    }

    /// The last `max_lines` lines of stderr (or stdout when stderr is empty).
    pub fn output_tail(&self, max_lines: usize) -> String {
        let pick = |c: &Arc<Mutex<Capture>>| {
            let c = lock(c);
            let text = String::from_utf8_lossy(&c.tail).into_owned();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(max_lines)..].join("\n")
        };
        let err = pick(&self.stderr);
        if err.trim().is_empty() {
            pick(&self.stdout)
        } else {
            err
        }
    }

    /// Bytes written to (stdout, stderr) so far.
    pub fn output_bytes(&self) -> (u64, u64) {
        (lock(&self.stdout).total, lock(&self.stderr).total)
    }

    /// What `GODEBUG=gctrace=1` printed so far.
    pub fn gc_stats(&self) -> GcStats {
        lock(&self.stderr).gc.clone()
    }

    /// Waits until the ready path answers 200 on one of the service's listening sockets (or
    /// on `extra`), the service exits, or the timeout passes.
    pub fn wait_ready(&mut self, opts: &ReadyOptions<'_>) -> Readiness {
        let deadline = self.started + opts.timeout;
        let mut answers: BTreeMap<String, String> = BTreeMap::new();
        let mut pause = Duration::from_millis(20);
        loop {
            if let Some(status) = self.poll_exit() {
                // Give the output pumps a moment to drain what it printed last.
                std::thread::sleep(Duration::from_millis(50));
                return Readiness::Exited {
                    after_ms: self.exited_after().unwrap_or_default().as_millis() as u64,
                    exit: status.into(),
                };
            }
            let mut targets: Vec<(String, Endpoint)> = Vec::new();
            if let Some(e) = opts.extra {
                targets.push((e.host.clone(), e.clone()));
            }
            for s in self.sockets() {
                for addr in s.connect_addrs() {
                    targets.push((s.addr.to_string(), Endpoint::at(addr)));
                }
            }
            for (label, ep) in &targets {
                let left = deadline.saturating_duration_since(Instant::now());
                let mut req = Request::get(
                    opts.path,
                    left.clamp(Duration::from_millis(100), Duration::from_secs(2)),
                );
                req.headers = opts.headers;
                req.max_body = 1 << 20;
                let answer = match http::send(ep, &req) {
                    Ok(r) if r.status == 200 => {
                        return Readiness::Ready {
                            after_ms: self.started.elapsed().as_millis() as u64,
                            url: ep.url(opts.path),
                        };
                    }
                    Ok(r) => format!("GET {} answered {}", opts.path, r.status),
                    Err(e) => format!("GET {}: {e}", opts.path),
                };
                answers.insert(label.clone(), answer);
            }
            if Instant::now() >= deadline {
                return Readiness::TimedOut {
                    after_ms: opts.timeout.as_millis() as u64,
                    answers,
                };
            }
            std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Stops the service: SIGTERM to its process group and every process of its tree, then
    /// SIGKILL to whatever still runs after `grace`; reaps the main process.
    pub fn stop(&mut self, grace: Duration) -> StopReport {
        let exited_before_stop = self.poll_exit().is_some();
        let began = Instant::now();
        lock(&self.known).signal(libc::SIGTERM);
        let mut main_exit_ms = None;
        let mut live;
        loop {
            if self.poll_exit().is_some() && main_exit_ms.is_none() {
                main_exit_ms = Some(began.elapsed().as_millis() as u64);
            }
            live = lock(&self.known).alive();
            if live.is_empty() && self.exit.is_some() || began.elapsed() >= grace {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let graceful = live.is_empty() && self.exit.is_some();
        let killed: Vec<String> = live.iter().map(describe_proc).collect();
        let mut leftover = Vec::new();
        if !graceful {
            let until = Instant::now() + Duration::from_secs(5);
            loop {
                let still = lock(&self.known).signal(libc::SIGKILL);
                self.poll_exit();
                if still.is_empty() && self.exit.is_some() {
                    break;
                }
                if Instant::now() >= until {
                    leftover = still.iter().map(describe_proc).collect();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.reap_orphans();
        self.finish();
        StopReport {
            exited_before_stop,
            exit: self.exit.map(|(s, _)| s.into()),
            graceful,
            main_exit_ms: if exited_before_stop {
                None
            } else {
                main_exit_ms
            },
            killed,
            leftover,
            grace_ms: grace.as_millis() as u64,
        }
    }

    /// Reaps zombies of the service that were re-parented to goready (a subreaper).
    fn reap_orphans(&self) {
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        let seen: Vec<i32> = lock(&self.known).seen.keys().copied().collect();
        for p in procs::snapshot(Path::new("/proc")) {
            if p.ppid == me && p.is_zombie() && p.pid != self.pid && seen.contains(&p.pid) {
                let mut status = 0;
                // SAFETY: waitpid on a specific zombie child of ours, non-blocking.
                unsafe {
                    libc::waitpid(p.pid, &mut status, libc::WNOHANG);
                }
            }
        }
    }

    fn finish(&mut self) {
        self.stopped = true;
        let mut reg = lock(registry());
        reg.retain(|k| !Arc::ptr_eq(k, &self.known));
    }
}

impl Drop for Service {
    /// A service is never left behind, even when the probe returns early or panics.
    fn drop(&mut self) {
        if !self.stopped {
            let until = Instant::now() + Duration::from_secs(5);
            while !lock(&self.known).signal(libc::SIGKILL).is_empty() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.reap_orphans();
            self.finish();
        }
    }
}

/// Runs `argv` briefly (e.g. `svc --version`) in its own process group, killing the group
/// if it has not finished within `timeout`. Returns (exit, stdout, stderr).
pub fn run_briefly(
    argv: &[String],
    timeout: Duration,
) -> anyhow::Result<(Option<ExitFacts>, String, String)> {
    let mut cmd = supervised(argv);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {:?}", argv[0]))?;
    let pid = child.id() as i32;
    let out = Arc::new(Mutex::new(Capture::default()));
    let err = Arc::new(Mutex::new(Capture::default()));
    let mut pumps = Vec::new();
    if let Some(o) = child.stdout.take() {
        let to = out.clone();
        pumps.push(std::thread::spawn(move || pump(o, to)));
    }
    if let Some(e) = child.stderr.take() {
        let to = err.clone();
        pumps.push(std::thread::spawn(move || pump(e, to)));
    }
    let until = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if Instant::now() >= until {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut known = Known {
        leader: pid,
        pgid: pid,
        seen: BTreeMap::new(),
    };
    // Whatever it left behind, and itself on a timeout.
    for _ in 0..100 {
        if known.signal(libc::SIGKILL).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    for p in pumps {
        let _ = p.join();
    }
    let text = |c: &Arc<Mutex<Capture>>| String::from_utf8_lossy(&lock(c).tail).into_owned();
    Ok((status.map(Into::into), text(&out), text(&err)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_ports_in_each_argument() {
        let ports = Ports {
            addr: "127.0.0.1:1000".parse().unwrap(),
            admin: "127.0.0.1:2000".parse().unwrap(),
        };
        let p = prepare(
            &Launch::Exec("dist/svc --addr {addr} --admin={admin} 'a b'".into()),
            &ports,
            Path::new("/srv/app"),
            &Go::default(),
        )
        .unwrap();
        // The service runs in the directory given, and a relative program path is found there.
        assert_eq!(p.cwd.as_deref(), Some(Path::new("/srv/app")));
        assert_eq!(
            p.argv,
            vec![
                "/srv/app/dist/svc",
                "--addr",
                "127.0.0.1:1000",
                "--admin=127.0.0.1:2000",
                "a b"
            ]
        );
        assert!(
            p.env
                .contains(&("GOREADY_ADDR".into(), "127.0.0.1:1000".into()))
        );
        assert!(
            prepare(
                &Launch::Exec("svc 'open".into()),
                &ports,
                Path::new("."),
                &Go::default()
            )
            .is_err()
        );
        assert!(
            prepare(
                &Launch::Exec("  ".into()),
                &ports,
                Path::new("."),
                &Go::default()
            )
            .is_err()
        );
    }

    #[test]
    fn free_ports_differ() {
        let p = free_ports().unwrap();
        assert_ne!(p.addr, p.admin);
        assert!(p.addr.ip().is_loopback());
    }

    #[test]
    fn a_crashing_process_is_seen_with_its_exit_code_and_stderr() {
        let prepared = Prepared {
            argv: vec![
                "sh".into(),
                "-c".into(),
                "echo 'config missing' >&2; exit 3".into(),
            ],
            cwd: None,
            env: vec![],
            _build_dir: None,
        };
        let mut svc = Service::spawn(&prepared, &SpawnOptions::default()).unwrap();
        let r = svc.wait_ready(&ReadyOptions {
            path: "/",
            timeout: Duration::from_secs(10),
            headers: &[],
            extra: None,
        });
        match r {
            Readiness::Exited { exit, .. } => assert_eq!(exit.code, Some(3)),
            other => panic!("{other:?}"),
        }
        assert!(svc.output_tail(5).contains("config missing"));
        let stop = svc.stop(Duration::from_secs(1));
        assert!(stop.exited_before_stop && stop.killed.is_empty());
    }

    #[test]
    fn stop_kills_a_process_that_ignores_sigterm_and_its_child() {
        // The shell ignores TERM and starts a child that ignores it too.
        let prepared = Prepared {
            argv: vec![
                "sh".into(),
                "-c".into(),
                "trap '' TERM; sh -c \"trap '' TERM; sleep 60; :\" & sleep 60; :".into(),
            ],
            cwd: None,
            env: vec![],
            _build_dir: None,
        };
        let mut svc = Service::spawn(&prepared, &SpawnOptions::default()).unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while svc.processes().len() < 3 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        let pids: Vec<i32> = svc.processes().iter().map(|p| p.pid).collect();
        assert!(pids.len() >= 3, "{pids:?}");
        let stop = svc.stop(Duration::from_millis(300));
        assert!(!stop.graceful);
        assert!(!stop.killed.is_empty());
        assert!(stop.leftover.is_empty(), "{:?}", stop.leftover);
        for pid in pids {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let alive = procs::parse_stat(&stat).is_some_and(|p| !p.is_zombie());
            assert!(!alive, "pid {pid} survived: {stat}");
        }
    }

    #[test]
    fn run_briefly_times_out_and_kills() {
        let started = Instant::now();
        let (exit, _, _) =
            run_briefly(&["sleep".into(), "30".into()], Duration::from_millis(200)).unwrap();
        assert!(exit.is_none());
        assert!(started.elapsed() < Duration::from_secs(10));
        let (exit, out, _) =
            run_briefly(&["echo".into(), "1.2.3".into()], Duration::from_secs(5)).unwrap();
        assert_eq!(exit.unwrap().code, Some(0));
        assert_eq!(out.trim(), "1.2.3");
    }
}
