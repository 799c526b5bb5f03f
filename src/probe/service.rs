//! The service under test: how it is launched, its output (tail, GC trace), readiness, and
//! how it ended. Starting, watching and stopping its processes is the supervisor's
//! ([`crate::process`], policy [`Stop::Graceful`]): its own process group and
//! `PR_SET_PDEATHSIG`, SIGTERM to every process of its tree and SIGKILL after the grace
//! period, the same on Ctrl-C or SIGTERM to goready; a child that leaves its group is still
//! found and stopped.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use super::endpoints;
use super::exposure::{self, ListenSocket};
use super::gctrace::{self, GcStats};
use super::procs::ProcStat;
use crate::cancel::{Cancel, Stopped};
use crate::gotool::Go;
use crate::http::{self, Endpoint, HttpError, Request, Tls, Trust};
use crate::process::{self, Stop, Supervised, signal_name};

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
    /// A command line; `{addr}`, `{admin}`, `{port}` and `{admin_port}` are replaced in each
    /// argument.
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

/// Replaces `{addr}` and `{admin}` (host:port) and `{port}` and `{admin_port}` (bare port
/// numbers, for services such as nats-server that take `-p 4222`) in one argument.
pub fn substitute(arg: &str, ports: &Ports) -> String {
    arg.replace("{addr}", &ports.addr.to_string())
        .replace("{admin}", &ports.admin.to_string())
        .replace("{port}", &ports.addr.port().to_string())
        .replace("{admin_port}", &ports.admin.port().to_string())
}

/// True when a command line names the main address, as `{addr}` or as `{port}`.
pub fn names_main_address(line: &str) -> bool {
    line.contains("{addr}") || line.contains("{port}")
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

/// How the service runs: where its output goes besides goready's memory, and how long it
/// gets to stop.
#[derive(Debug, Default, Clone)]
pub struct SpawnOptions {
    /// Run with `GODEBUG=gctrace=1` (added to an existing GODEBUG).
    pub gctrace: bool,
    /// Write the full stdout/stderr to `service.stdout.log`/`service.stderr.log` here.
    pub log_dir: Option<PathBuf>,
    /// When goready is interrupted: the time between SIGTERM and SIGKILL (`--grace`).
    pub grace: Duration,
}

/// The running service.
pub struct Service {
    /// Its processes, stopped gracefully.
    proc: Supervised,
    /// The main process.
    pub pid: i32,
    /// When it was started.
    pub started: Instant,
    stdout: Arc<Mutex<Capture>>,
    stderr: Arc<Mutex<Capture>>,
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
        /// Over https: how the certificate was trusted.
        #[serde(skip_serializing_if = "Option::is_none")]
        tls: Option<Trust>,
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
        /// A socket that speaks TLS presented a certificate goready does not trust: no
        /// answer could be read there without `--ca-cert` or `--insecure`.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        certificate_refused: bool,
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
    /// An endpoint to try besides the discovered sockets (`--pprof URL`): its socket is
    /// asked only there, with the scheme the URL gives.
    pub extra: Option<&'a Endpoint>,
    /// How a TLS socket's certificate is checked (`--ca-cert`, `--insecure`): a socket that
    /// refuses plain HTTP as a TLS server does is asked over https.
    pub tls: &'a Tls,
    /// Asked between attempts: a cancelled probe stops waiting.
    pub cancel: &'a Cancel,
}

/// Where readiness is asked.
#[derive(Clone, Copy)]
enum Target<'e> {
    /// `--pprof URL`, with the scheme it gives.
    Given(&'e Endpoint),
    /// A listening socket: plain HTTP, or https once it refused plain HTTP as TLS servers do.
    Socket(SocketAddr),
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

/// A process of the service, for people: `svc (pid 42)`.
fn describe_proc(p: &ProcStat) -> String {
    format!("{} (pid {})", p.comm, p.pid)
}

impl Service {
    /// Starts the prepared command, capturing its output.
    pub fn spawn(prepared: &Prepared, opts: &SpawnOptions) -> anyhow::Result<Service> {
        let mut cmd = process::cmd(&prepared.argv[0], &prepared.argv[1..]);
        if let Some(cwd) = &prepared.cwd {
            cmd = cmd.dir(cwd);
        }
        for (k, v) in &prepared.env {
            cmd = cmd.env(k, v);
        }
        if opts.gctrace {
            let godebug = match std::env::var("GODEBUG") {
                Ok(v) if !v.is_empty() => format!("{v},gctrace=1"),
                _ => "gctrace=1".to_string(),
            };
            cmd = cmd.env("GODEBUG", godebug);
        }
        let mut proc = process::spawn(&cmd, Stop::Graceful(opts.grace))
            .with_context(|| format!("cannot start {:?}", prepared.argv[0]))?;
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
        if let Some(out) = proc.take_stdout() {
            let to = stdout.clone();
            std::thread::spawn(move || pump(out, to));
        }
        if let Some(err) = proc.take_stderr() {
            let to = stderr.clone();
            std::thread::spawn(move || pump(err, to));
        }
        Ok(Service {
            pid: proc.id() as i32,
            proc,
            started: Instant::now(),
            stdout,
            stderr,
        })
    }

    /// A way to stop the service from another thread (the probe's watchdog).
    pub fn stopper(&self) -> process::Stopper {
        self.proc.stopper()
    }

    /// The main process's exit, if it has exited (checked now).
    pub fn poll_exit(&mut self) -> Option<ExitStatus> {
        self.proc.try_wait()
    }

    /// Time from start to exit, if it exited.
    pub fn exited_after(&self) -> Option<Duration> {
        self.proc
            .exited_at()
            .map(|at| at.duration_since(self.started))
    }

    /// The live processes of the service now (main process first).
    pub fn processes(&self) -> Vec<ProcStat> {
        let mut live = self.proc.processes();
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

    /// What `GODEBUG=gctrace=1` printed so far.
    pub fn gc_stats(&self) -> GcStats {
        lock(&self.stderr).gc.clone()
    }

    /// Waits until the ready path answers 200 on one of the service's listening sockets (or
    /// on `extra`), the service exits, or the timeout passes; `Err` as soon as the token is
    /// cancelled (the service still runs: stopping it is the caller's). A socket that refuses
    /// plain HTTP the way a TLS server does is asked over https from then on.
    pub fn wait_ready(&mut self, opts: &ReadyOptions<'_>) -> Result<Readiness, Stopped> {
        let deadline = self.started + opts.timeout;
        let mut answers: BTreeMap<String, String> = BTreeMap::new();
        let mut refused: BTreeMap<String, bool> = BTreeMap::new();
        let mut speaks_tls: std::collections::HashSet<SocketAddr> = Default::default();
        let mut pause = Duration::from_millis(20);
        loop {
            opts.cancel.check()?;
            if let Some(status) = self.poll_exit() {
                // Give the output pumps a moment to drain what it printed last.
                std::thread::sleep(Duration::from_millis(50));
                return Ok(Readiness::Exited {
                    after_ms: self.exited_after().unwrap_or_default().as_millis() as u64,
                    exit: status.into(),
                });
            }
            // `--pprof URL` is asked as written; its socket is not asked again in plain HTTP.
            let mut targets: Vec<(String, Target<'_>)> = opts
                .extra
                .map(|e| (e.host.clone(), Target::Given(e)))
                .into_iter()
                .collect();
            for s in self.sockets() {
                for addr in s.connect_addrs() {
                    if opts.extra.is_none_or(|e| e.addr != addr) {
                        targets.push((s.addr.to_string(), Target::Socket(addr)));
                    }
                }
            }
            for (label, target) in targets {
                let left = deadline.saturating_duration_since(Instant::now());
                let mut req = Request::get(
                    opts.path,
                    left.clamp(Duration::from_millis(100), Duration::from_secs(2)),
                );
                req.headers = opts.headers;
                req.max_body = 1 << 20;
                let (ep, result) = match target {
                    Target::Given(ep) => (ep.clone(), http::send(ep, &req)),
                    Target::Socket(addr) if speaks_tls.contains(&addr) => {
                        let ep = Endpoint::https(addr, opts.tls.clone());
                        let result = http::send(&ep, &req);
                        (ep, result)
                    }
                    Target::Socket(addr) => {
                        let asked = endpoints::ask(addr, &req, opts.tls);
                        if asked.speaks_tls() {
                            speaks_tls.insert(addr);
                        }
                        (asked.endpoint, asked.result)
                    }
                };
                let given = matches!(target, Target::Given(_));
                let shown = if ep.is_tls() {
                    ep.url(opts.path)
                } else {
                    opts.path.to_string()
                };
                let answer = match &result {
                    Ok(r) if r.status == 200 => {
                        return Ok(Readiness::Ready {
                            after_ms: self.started.elapsed().as_millis() as u64,
                            url: ep.url(opts.path),
                            tls: r.tls,
                        });
                    }
                    Ok(_) if given && !ep.is_tls() && endpoints::maybe_tls(&result) => {
                        format!(
                            "GET {shown} answered 400 as a TLS server does to plain HTTP: write \
                             the --pprof URL with https://"
                        )
                    }
                    Ok(r) => format!("GET {shown} answered {}", r.status),
                    // A refused certificate's remedy is said once, after every answer.
                    Err(e) => format!("GET {shown}: {e}"),
                };
                refused.insert(
                    label.clone(),
                    matches!(result, Err(HttpError::Certificate(_))),
                );
                answers.insert(label, answer);
            }
            if Instant::now() >= deadline {
                return Ok(Readiness::TimedOut {
                    after_ms: opts.timeout.as_millis() as u64,
                    answers,
                    certificate_refused: refused.values().any(|r| *r),
                });
            }
            std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Stops the service: SIGTERM to its process group and every process of its tree, then
    /// SIGKILL to whatever still runs after `grace`; reaps the main process.
    pub fn stop(&mut self, grace: Duration) -> StopReport {
        let exited_before_stop = self.poll_exit().is_some();
        let stopped = self.proc.terminate(grace);
        StopReport {
            exited_before_stop,
            exit: self.poll_exit().map(Into::into),
            graceful: stopped.graceful,
            main_exit_ms: stopped.main_exit.map(|d| d.as_millis() as u64),
            killed: stopped.killed.iter().map(describe_proc).collect(),
            leftover: stopped.leftover.iter().map(describe_proc).collect(),
            grace_ms: grace.as_millis() as u64,
        }
    }
}

/// Runs `argv` briefly (e.g. `svc --version`), killing it and what it started if it has not
/// finished within `timeout`. Returns (exit, stdout, stderr).
pub fn run_briefly(
    argv: &[String],
    timeout: Duration,
) -> anyhow::Result<(Option<ExitFacts>, String, String)> {
    let done = process::capture(&process::cmd(&argv[0], &argv[1..]), Some(timeout))
        .with_context(|| format!("cannot start {:?}", argv[0]))?;
    Ok((done.status.map(Into::into), done.stdout, done.stderr))
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
        let r = svc
            .wait_ready(&ReadyOptions {
                path: "/",
                timeout: Duration::from_secs(10),
                headers: &[],
                extra: None,
                tls: &Tls::default(),
                cancel: &Cancel::new(),
            })
            .unwrap();
        match r {
            Readiness::Exited { exit, .. } => assert_eq!(exit.code, Some(3)),
            other => panic!("{other:?}"),
        }
        assert!(svc.output_tail(5).contains("config missing"));
        let stop = svc.stop(Duration::from_secs(1));
        assert!(stop.exited_before_stop && stop.killed.is_empty());
    }

    #[test]
    fn a_cancelled_wait_for_readiness_returns_the_reason_and_the_stop_still_works() {
        // Never ready: it listens nowhere. Only the token ends the 60 s wait.
        let prepared = Prepared {
            argv: vec!["sleep".into(), "60".into()],
            cwd: None,
            env: vec![],
            _build_dir: None,
        };
        let mut svc = Service::spawn(&prepared, &SpawnOptions::default()).unwrap();
        let cancel = Cancel::new();
        let waited = std::thread::scope(|s| {
            let watchdog = cancel.clone();
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                watchdog.cancel(Stopped::TimedOut);
            });
            svc.wait_ready(&ReadyOptions {
                path: "/",
                timeout: Duration::from_secs(60),
                headers: &[],
                extra: None,
                tls: &Tls::default(),
                cancel: &cancel,
            })
        });
        assert!(matches!(waited, Err(Stopped::TimedOut)), "{waited:?}");
        assert!(
            svc.poll_exit().is_none(),
            "the wait does not stop the service"
        );
        let stop = svc.stop(Duration::from_secs(2));
        assert!(stop.graceful, "sleep dies of SIGTERM: {stop:?}");
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
            let alive = crate::process::procs::parse_stat(&stat).is_some_and(|p| !p.is_zombie());
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
