//! One probe from start to stop: start the service, wait until it is ready, find its
//! listening sockets and pprof, optionally load it, probe the endpoints, read MemStats and
//! limits, stop it. The result is [`ProbeFacts`]; `probe::rules` judges them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::drain::{self, DrainFacts, DrainPlan};
use super::endpoints::{self, Class, MemStats, PprofProbe, SocketAnswer};
use super::exposure::ListenSocket;
use super::gctrace::GcStats;
use super::live::{self, Admin};
use super::load::{LoadSpec, LoadStats};
use super::memlimit::{self, CgroupLimit};
use super::procs;
use super::service::{
    self, ExitFacts, Launch, Readiness, ReadyOptions, Service, SpawnOptions, StopReport,
};
use super::soak::{self, SoakFacts, SoakPlan};
use crate::cancel::{Cancel, Stopped};
use crate::gotool::Go;
use crate::http::{Endpoint, Tls};
use crate::process::Stopper;
use crate::progress::Say;

/// Load to send before profiling.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// `GET /path`.
    pub spec: LoadSpec,
    /// Number of requests.
    pub requests: u64,
    /// Parallel connections.
    pub concurrency: usize,
    /// Stop sending after this long, whatever is left.
    pub limit: Duration,
    /// `--rate`: requests per second in an open loop (none: closed loop).
    pub rate: Option<f64>,
}

/// Everything `goready probe` was asked to do.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// How to start the service.
    pub launch: Launch,
    /// Directory for `go test -c` and relative paths.
    pub dir: PathBuf,
    /// `--pprof URL`: use this pprof mount instead of discovering one (`{admin}` and
    /// `{admin_port}` are replaced like in `--exec`).
    pub pprof: Option<String>,
    /// `--ca-cert`/`--insecure`: how a TLS pprof listener's certificate is checked.
    pub tls: Tls,
    /// `--max-time`: the whole probe's limit (default: the sum of its phases' limits).
    pub max_time: Option<Duration>,
    /// `--ready PATH`.
    pub ready_path: String,
    /// `--ready-timeout`.
    pub ready_timeout: Duration,
    /// `--grace`: time between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// `--public-port`: the port the world reaches (default: the `{addr}` port).
    pub public_port: Option<u16>,
    /// `--header`: sent to pprof and the ready path (never logged).
    pub headers: Vec<(String, String)>,
    /// `--gctrace`.
    pub gctrace: bool,
    /// `--load`.
    pub load: Option<LoadPlan>,
    /// `--artifacts DIR`.
    pub artifacts: Option<PathBuf>,
    /// `--expect-version`.
    pub expect_version: Option<String>,
    /// `--soak`: keep the `--load` going in rounds.
    pub soak: Option<SoakPlan>,
    /// `--drain`: stop the service with these requests in flight.
    pub drain: Option<DrainPlan>,
}

/// A process of the service.
#[derive(Debug, Clone, Serialize)]
pub struct ProcFacts {
    /// Process id.
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Kernel command name.
    pub comm: String,
    /// Executable path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
}

/// A listening socket and what it answers at the pprof index without credentials.
#[derive(Debug, Clone, Serialize)]
pub struct SocketFacts {
    /// Bound address.
    pub addr: String,
    /// Holding process.
    pub pid: i32,
    /// Reachable only from this machine.
    pub loopback: bool,
    /// Bound to all interfaces.
    pub wildcard: bool,
    /// The service's main (public) port.
    pub public: bool,
    /// The index's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<SocketAnswer>,
}

impl SocketFacts {
    /// Serves pprof's index to anyone who connects.
    pub fn serves_pprof(&self) -> bool {
        self.answer.as_ref().is_some_and(|a| a.class == Class::Ok)
    }

    /// `0.0.0.0:8080 (all interfaces)`.
    pub fn describe(&self) -> String {
        let scope = if self.wildcard {
            "all interfaces"
        } else if self.loopback {
            "loopback"
        } else {
            "a network interface"
        };
        let public = if self.public { ", the main port" } else { "" };
        format!("{} ({scope}{public})", self.addr)
    }
}

/// The service's `--version` run.
#[derive(Debug, Clone, Serialize)]
pub struct VersionFacts {
    /// The command run.
    pub argv: Vec<String>,
    /// How it ended (none: killed after the timeout).
    pub exit: Option<ExitFacts>,
    /// What it printed (stdout, else stderr), trimmed.
    pub output: String,
}

/// The memory limit facts.
#[derive(Debug, Clone, Serialize)]
pub struct MemLimitFacts {
    /// The cgroup limit, when a memory controller is visible.
    pub cgroup: Option<CgroupLimit>,
    /// GOMEMLIMIT as the service got it.
    pub gomemlimit: Option<String>,
}

/// The service exited while it was being probed.
#[derive(Debug, Clone, Serialize)]
pub struct Died {
    /// Time from start.
    pub after_ms: u64,
    /// How.
    pub exit: ExitFacts,
}

/// Everything a probe observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeFacts {
    /// What the checks are about: the command, or `go test PKG -run RE`.
    pub target: String,
    /// The command as run.
    pub command: Vec<String>,
    /// `{addr}` / GOREADY_ADDR.
    pub addr: String,
    /// `{admin}` / GOREADY_ADMIN_ADDR.
    pub admin: String,
    /// The port treated as public.
    pub public_port: Option<u16>,
    /// The main process.
    pub pid: Option<i32>,
    /// The service could not be launched (bad command, test binary did not build).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_error: Option<String>,
    /// How waiting for readiness ended.
    pub readiness: Option<Readiness>,
    /// The last lines the service printed (stderr, else stdout).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub output_tail: String,
    /// The service's processes once it was ready.
    pub processes: Vec<ProcFacts>,
    /// Its listening sockets.
    pub sockets: Vec<SocketFacts>,
    /// True when a pprof mount was found (or given with --pprof).
    pub pprof_found: bool,
    /// The probe of the pprof mount (or, when none was found, of the likeliest socket).
    pub pprof: Option<PprofProbe>,
    /// MemStats after a forced GC.
    pub memstats: Option<MemStats>,
    /// Why MemStats could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memstats_error: Option<String>,
    /// GC trace summary (`--gctrace`).
    pub gctrace: Option<GcStats>,
    /// Load results (`--load`).
    pub load: Option<LoadStats>,
    /// The service exited during the probe.
    pub died: Option<Died>,
    /// Why the load (and the checks that need it) did not run: the main port does not
    /// speak HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_skipped: Option<String>,
    /// The `--soak` series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soak: Option<SoakFacts>,
    /// The length of the CPU profile taken during the load (`profile?seconds=N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<u64>,
    /// Why that CPU profile could not be taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_error: Option<String>,
    /// The requests in flight at SIGTERM (`--drain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainFacts>,
    /// How long the whole probe took.
    pub elapsed_ms: u64,
    /// The most it could take: every phase has its own limit.
    pub bound_ms: u64,
    /// `--version` output (`--expect-version`).
    pub version: Option<VersionFacts>,
    /// Why the version could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_error: Option<String>,
    /// cgroup limit and GOMEMLIMIT.
    pub memlimit: Option<MemLimitFacts>,
    /// How the stop went.
    pub stop: Option<StopReport>,
    /// Files written under `--artifacts` (name → path).
    pub artifacts: BTreeMap<String, String>,
    /// Raw profiles as served (`allocs`, `heap`), for decoding and artifacts.
    #[serde(skip)]
    pub profiles: BTreeMap<String, Vec<u8>>,
}

impl ProbeFacts {
    /// The service got ready.
    pub fn ready(&self) -> bool {
        matches!(self.readiness, Some(Readiness::Ready { .. }))
    }
}

fn target_name(launch: &Launch) -> String {
    match launch {
        Launch::Exec(line) => shlex::split(line)
            .and_then(|w| w.into_iter().next())
            .unwrap_or_else(|| line.clone()),
        Launch::GoTest { pkg, run } => format!("go test {pkg} -run {run}"),
    }
}

fn cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut args: Vec<String> = raw
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if args.last().is_some_and(|a| a.is_empty()) {
        args.pop();
    }
    Some(args)
}

/// The length of the CPU profile taken while the load runs: the soak's length (at least a
/// second, at most a minute), else one second.
fn cpu_seconds(opts: &ProbeOptions) -> u64 {
    opts.soak
        .map(|s| s.duration.as_secs_f64().ceil() as u64)
        .unwrap_or(1)
        .clamp(1, 60)
}

/// The most a probe can take: each phase is bounded on its own (requests have deadlines,
/// the load a time limit, the soak its duration, the stop its grace period); the margin
/// covers the scrapes' own deadlines.
fn time_bound(opts: &ProbeOptions) -> Duration {
    let mut bound = opts.ready_timeout + opts.grace * 2 + Duration::from_secs(60);
    if let Some(l) = &opts.load {
        bound += l.limit + Duration::from_secs(cpu_seconds(opts));
        if let Some(s) = &opts.soak {
            bound += s.duration + l.limit.min(s.duration) + s.settle + Duration::from_secs(30);
        }
    }
    if opts.drain.is_some() {
        bound += drain::EXTRA_TIME;
    }
    bound
}

/// Runs the whole probe. Errors are goready's own (no free port, a bad `--pprof` URL) and
/// [`Stopped`]: cancelled by a signal, or past its time bound (`--max-time`, else the sum of
/// its phases' limits), it stops the service and returns no facts, since a report of a
/// half-finished probe would only mislead. Everything about the service, including a
/// command that does not start, ends up in the facts. What it does, and the time it took,
/// are said to `say`.
pub fn run(opts: &ProbeOptions, say: Say<'_>, cancel: &Cancel) -> anyhow::Result<ProbeFacts> {
    let started = Instant::now();
    let bound = opts.max_time.unwrap_or_else(|| time_bound(opts));
    let named = match opts.max_time {
        Some(_) => "--max-time",
        None => "the sum of its phases' limits",
    };
    let limit = format!(
        "the probe ran past its time limit of {} ({named})",
        crate::duration::format(bound)
    );
    // The backstop behind every phase's own limit: past the bound the token says TimedOut
    // and the service gets its SIGTERM, which ends whatever a phase was waiting for.
    let service: Mutex<Option<Stopper>> = Mutex::new(None);
    let (done, watched) = std::sync::mpsc::channel::<()>();
    let facts = std::thread::scope(|s| {
        let (service, limit) = (&service, &limit);
        s.spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = watched.recv_timeout(bound) {
                cancel.cancel(Stopped::TimedOut);
                let stopper = service.lock().unwrap_or_else(|e| e.into_inner()).clone();
                if let Some(stopper) = stopper {
                    say.warn(format!(
                        "{limit}: stopping the service (SIGTERM, SIGKILL after {})",
                        crate::duration::format(opts.grace)
                    ));
                    stopper.stop();
                } else {
                    say.warn(format!("{limit}: stopping"));
                }
            }
        });
        let facts = run_bounded(opts, say, cancel, service);
        drop(done);
        facts
    });
    if let Some(why) = cancel.reason() {
        let stopped = anyhow::Error::new(why);
        return Err(match why {
            Stopped::TimedOut => stopped.context(format!("{limit}; no report is written")),
            Stopped::Interrupted => stopped,
        });
    }
    let mut facts = facts?;
    facts.elapsed_ms = started.elapsed().as_millis() as u64;
    facts.bound_ms = bound.as_millis() as u64;
    say.info(format!(
        "probe took {} (bounded by {})",
        crate::duration::format(Duration::from_millis(facts.elapsed_ms)),
        crate::duration::format(bound)
    ));
    Ok(facts)
}

/// Stops the service of a cancelled probe (gracefully, as at the end of a probe: the signal
/// watcher or the watchdog sent the SIGTERM already, and it goes out once) and returns why.
fn halted(svc: &mut Service, opts: &ProbeOptions, why: Stopped) -> anyhow::Result<ProbeFacts> {
    svc.stop(opts.grace);
    Err(why.into())
}

fn run_bounded(
    opts: &ProbeOptions,
    say: Say<'_>,
    cancel: &Cancel,
    service: &Mutex<Option<Stopper>>,
) -> anyhow::Result<ProbeFacts> {
    let ports = service::free_ports()?;
    let uses_addr = match &opts.launch {
        Launch::Exec(line) => service::names_main_address(line),
        Launch::GoTest { .. } => true,
    };
    let pprof_ep = opts
        .pprof
        .as_deref()
        .map(|url| Endpoint::parse(&service::substitute(url, &ports), &opts.tls))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--pprof {e}"))?;
    let mut facts = ProbeFacts {
        target: target_name(&opts.launch),
        addr: ports.addr.to_string(),
        admin: ports.admin.to_string(),
        public_port: opts.public_port.or(uses_addr.then_some(ports.addr.port())),
        ..ProbeFacts::default()
    };
    if let Some(dir) = &opts.artifacts {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create --artifacts {}: {e}", dir.display()))?;
    }
    if opts.expect_version.is_some() {
        check_version(opts, &ports, &mut facts);
    }
    let prepared = match service::prepare(&opts.launch, &ports, &opts.dir, &Go::default()) {
        Ok(p) => p,
        Err(e) => {
            facts.launch_error = Some(format!("{e:#}"));
            return Ok(facts);
        }
    };
    cancel.check()?;
    facts.command = prepared.argv.clone();
    let spawn_opts = SpawnOptions {
        gctrace: opts.gctrace,
        log_dir: opts.artifacts.clone(),
        grace: opts.grace,
    };
    let mut svc = match Service::spawn(&prepared, &spawn_opts) {
        Ok(s) => s,
        Err(e) => {
            facts.launch_error = Some(format!("{e:#}"));
            return Ok(facts);
        }
    };
    if let Some(dir) = &opts.artifacts {
        for name in ["service.stdout.log", "service.stderr.log"] {
            facts
                .artifacts
                .insert(name.into(), dir.join(name).display().to_string());
        }
    }
    facts.pid = Some(svc.pid);
    *service.lock().unwrap_or_else(|e| e.into_inner()) = Some(svc.stopper());
    say.info(format!("started {} (pid {})", facts.target, svc.pid));
    let prefix = pprof_ep
        .as_ref()
        .map(|e| e.path.clone())
        .filter(|p| !p.is_empty() && p != "/")
        .unwrap_or_else(|| endpoints::DEFAULT_PREFIX.to_string());
    let readiness = match svc.wait_ready(&ReadyOptions {
        path: &opts.ready_path,
        timeout: opts.ready_timeout,
        headers: &opts.headers,
        extra: pprof_ep.as_ref(),
        tls: &opts.tls,
        cancel,
    }) {
        Ok(r) => r,
        Err(why) => return halted(&mut svc, opts, why),
    };
    facts.readiness = Some(readiness.clone());
    match &readiness {
        Readiness::Ready { after_ms, url, tls } => say.info(format!(
            "ready after {after_ms} ms ({url} answered 200{})",
            tls.map(|t| format!("; {}", t.describe()))
                .unwrap_or_default()
        )),
        Readiness::Exited { exit, .. } => say.warn(format!(
            "the service exited before it was ready ({})",
            exit.description
        )),
        Readiness::TimedOut { after_ms, .. } => {
            say.warn(format!("the service was not ready after {after_ms} ms"))
        }
    }
    facts.processes = describe_processes(&svc);
    facts.sockets = describe_sockets(&svc.sockets(), facts.public_port, &prefix);
    if !facts.ready() {
        facts.output_tail = svc.output_tail(20);
        facts.stop = Some(svc.stop(opts.grace));
        if matches!(readiness, Readiness::TimedOut { .. }) {
            facts.gctrace = opts.gctrace.then(|| svc.gc_stats());
        }
        return Ok(facts);
    }

    let (endpoint, pid) = choose_pprof(opts, pprof_ep.as_ref(), &facts, &svc, &prefix);
    let main = Endpoint::at(ports.addr);
    if let Some(plan) = &opts.load {
        let admin = endpoint
            .as_ref()
            .filter(|(_, found)| *found)
            .map(|(ep, _)| Admin {
                endpoint: ep,
                prefix: &prefix,
                headers: &opts.headers,
            });
        under_load(opts, plan, &main, admin, &mut svc, &mut facts, say, cancel);
    }
    if let Some(why) = cancel.reason() {
        return halted(&mut svc, opts, why);
    }

    if let Some((ep, found)) = endpoint {
        facts.pprof_found = found;
        // MemStats first: `heap?gc=1` runs a full GC, and the runtime publishes allocation
        // records only at the end of a GC cycle. Without it the allocs scrape below could
        // miss the --load work entirely (or, in a service that has not collected yet, show
        // nothing at all); with it, the profile holds every allocation made so far.
        if found {
            match endpoints::memstats(&ep, &prefix, &opts.headers) {
                Ok(m) => facts.memstats = Some(m),
                Err(e) => facts.memstats_error = Some(e),
            }
        }
        let expected = cmdline(pid);
        let probe = endpoints::probe(&ep, &prefix, &opts.headers, expected.as_deref(), say);
        facts.profiles.extend(probe.raw.clone());
        facts.pprof = Some(probe);
        if found {
            let admin = Admin {
                endpoint: &ep,
                prefix: &prefix,
                headers: &opts.headers,
            };
            // Empty unless the service enabled them; `runtime.contention` says which.
            for name in ["mutex", "block"] {
                if let Ok(b) = admin.profile(name, Duration::from_secs(20)) {
                    facts.profiles.insert(name.into(), b);
                }
            }
        }
    }
    if let Some(dir) = &opts.artifacts {
        for (name, bytes) in &facts.profiles {
            let file = format!("{name}.pb.gz");
            let path = dir.join(&file);
            std::fs::write(&path, bytes)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            facts.artifacts.insert(file, path.display().to_string());
        }
        if let Some(bytes) = facts.profiles.get("cpu").cloned() {
            draw_cpu(&bytes, dir, &mut facts, say);
        }
    }
    if let Some(why) = cancel.reason() {
        return halted(&mut svc, opts, why);
    }
    facts.memlimit = Some(MemLimitFacts {
        cgroup: memlimit::cgroup_limit(Path::new("/proc"), svc.pid),
        gomemlimit: procs::environ_var(svc.pid, "GOMEMLIMIT"),
    });
    if svc.poll_exit().is_some() {
        facts.died = svc
            .exited_after()
            .zip(svc.poll_exit())
            .map(|(after, s)| Died {
                after_ms: after.as_millis() as u64,
                exit: s.into(),
            });
        facts.output_tail = svc.output_tail(20);
    }
    match &opts.drain {
        Some(plan) if facts.died.is_none() && facts.load_skipped.is_none() => {
            say.info(format!(
                "timing SIGTERM by {} probes of {} {}, then stopping with {} of them sent",
                drain::PROBES,
                plan.spec.method,
                plan.spec.target,
                plan.requests
            ));
            let (stop, drained) = drain::stop_draining(&mut svc, &main, plan, opts.grace);
            facts.stop = Some(stop);
            facts.drain = Some(drained);
        }
        _ => facts.stop = Some(svc.stop(opts.grace)),
    }
    if opts.gctrace {
        facts.gctrace = Some(svc.gc_stats());
    }
    Ok(facts)
}

/// The first `--load`, then any `--soak`, with a CPU profile taken meanwhile; skipped, with
/// the reason, when the main port does not answer HTTP.
#[allow(clippy::too_many_arguments)]
fn under_load(
    opts: &ProbeOptions,
    plan: &LoadPlan,
    main: &Endpoint,
    admin: Option<Admin<'_>>,
    svc: &mut Service,
    facts: &mut ProbeFacts,
    say: Say<'_>,
    cancel: &Cancel,
) {
    if let Some(why) = live::speaks_http(main, &plan.spec) {
        let why = format!("the main port {} does not answer HTTP: {why}", main.addr);
        say.warn(format!("load skipped: {why}"));
        facts.load_skipped = Some(why);
        return;
    }
    say.info(format!(
        "load: {} requests of {} {} over {} connections{}",
        plan.requests,
        plan.spec.method,
        plan.spec.target,
        plan.concurrency,
        opts.soak
            .map(|s| format!(
                ", then again in rounds for {}",
                crate::duration::format(s.duration)
            ))
            .unwrap_or_default()
    ));
    let seconds = cpu_seconds(opts);
    std::thread::scope(|s| {
        // The CPU profile starts with the load and covers it (and the soak).
        let cpu = admin.map(|a| {
            s.spawn(move || {
                a.profile(
                    &format!("profile?seconds={seconds}"),
                    Duration::from_secs(seconds + 30),
                )
            })
        });
        let first = super::load::run(
            main,
            &plan.spec,
            plan.requests,
            plan.concurrency,
            plan.limit,
            plan.rate,
            cancel,
        );
        let sent = first.answered + first.errors;
        facts.load = Some(first);
        if let (Some(soak_plan), Some(a)) = (&opts.soak, &admin)
            && !cancel.is_cancelled()
        {
            let soaked = soak::run(svc, a, main, plan, soak_plan, sent, say, cancel);
            if let Some(d) = &soaked.died {
                facts.died = svc.exited_after().map(|after| Died {
                    after_ms: after.as_millis() as u64,
                    exit: d.exit.clone(),
                });
                facts.output_tail = d.output_tail.clone();
            }
            for (name, bytes) in [
                ("heap-first", &soaked.heap_first),
                ("heap-last", &soaked.heap_last),
            ] {
                if let Some(b) = bytes {
                    facts.profiles.insert(name.into(), b.clone());
                }
            }
            facts.soak = Some(soaked);
        }
        if let Some(handle) = cpu {
            facts.cpu_seconds = Some(seconds);
            match handle.join() {
                Ok(Ok(bytes)) => {
                    facts.profiles.insert("cpu".into(), bytes);
                }
                Ok(Err(e)) => facts.cpu_error = Some(e),
                Err(_) => facts.cpu_error = Some("the CPU profile's thread panicked".into()),
            }
        }
    });
}

/// `cpu.svg` next to the saved `cpu.pb.gz`; a flame graph that cannot be drawn is a warning,
/// not a failed probe.
fn draw_cpu(bytes: &[u8], dir: &Path, facts: &mut ProbeFacts, say: Say<'_>) {
    let drawn = super::cpu::rank(bytes, 0).and_then(|(profile, ranking)| {
        let title = format!("{}: cpu ({})", facts.target, ranking.top.sample_type.ty);
        let mut svg = Vec::new();
        crate::pprof::flame::write_svg(&profile, ranking.top.sample_index, &title, &mut svg)
            .map_err(|e| format!("{e:#}"))?;
        let path = dir.join("cpu.svg");
        std::fs::write(&path, &svg).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    });
    match drawn {
        Ok(path) => {
            facts
                .artifacts
                .insert("cpu.svg".into(), path.display().to_string());
        }
        Err(e) => say.warn(format!("no flame graph of the CPU profile: {e}")),
    }
}

fn describe_processes(svc: &Service) -> Vec<ProcFacts> {
    svc.processes()
        .into_iter()
        .map(|p| ProcFacts {
            pid: p.pid,
            ppid: p.ppid,
            exe: procs::exe(p.pid),
            comm: p.comm,
        })
        .collect()
}

fn describe_sockets(
    sockets: &[ListenSocket],
    public_port: Option<u16>,
    prefix: &str,
) -> Vec<SocketFacts> {
    sockets
        .iter()
        .map(|s| SocketFacts {
            addr: s.addr.to_string(),
            pid: s.pid,
            loopback: s.is_loopback(),
            wildcard: s.is_wildcard(),
            public: public_port == Some(s.addr.port()),
            answer: endpoints::ask_socket(&s.connect_addrs(), prefix, Duration::from_secs(3)),
        })
        .collect()
}

/// The pprof mount to probe, and whether it really is one: `--pprof`, else a socket that
/// serves the index (loopback and non-public first), else one that does with `--header`,
/// else — only to show what is there instead — the admin socket or the first one.
fn choose_pprof(
    opts: &ProbeOptions,
    given: Option<&Endpoint>,
    facts: &ProbeFacts,
    svc: &Service,
    prefix: &str,
) -> (Option<(Endpoint, bool)>, i32) {
    if let Some(ep) = given {
        return (Some((ep.clone(), true)), svc.pid);
    }
    let endpoint_of = |s: &SocketFacts| {
        s.answer
            .as_ref()
            .map(|a| a.endpoint(&opts.tls))
            .or_else(|| s.addr.parse().ok().map(Endpoint::at))
    };
    let mut serving: Vec<&SocketFacts> =
        facts.sockets.iter().filter(|s| s.serves_pprof()).collect();
    serving.sort_by_key(|s| (s.public, !s.loopback));
    if let Some(s) = serving.first() {
        return (endpoint_of(s).map(|e| (e, true)), s.pid);
    }
    if !opts.headers.is_empty() {
        for s in &facts.sockets {
            if s.answer
                .as_ref()
                .is_some_and(|a| a.class == Class::Unauthorized)
            {
                if let Some(ep) = endpoint_of(s) {
                    let (r, _) = endpoints::fetch(
                        &ep,
                        "(index)",
                        prefix,
                        endpoints::Expect::Index,
                        &opts.headers,
                        Duration::from_secs(3),
                    );
                    if r.ok {
                        return (Some((ep, true)), s.pid);
                    }
                }
            }
        }
    }
    let fallback = facts
        .sockets
        .iter()
        .find(|s| s.addr == facts.admin)
        .or_else(|| facts.sockets.iter().find(|s| !s.public))
        .or(facts.sockets.first());
    match fallback {
        Some(s) => (endpoint_of(s).map(|e| (e, false)), s.pid),
        None => (None, svc.pid),
    }
}

fn check_version(opts: &ProbeOptions, ports: &service::Ports, facts: &mut ProbeFacts) {
    let Launch::Exec(line) = &opts.launch else {
        return;
    };
    let Some(program) = shlex::split(line).and_then(|w| w.into_iter().next()) else {
        return;
    };
    let argv = vec![
        service::substitute(&program, ports),
        "--version".to_string(),
    ];
    match service::run_briefly(&argv, Duration::from_secs(5)) {
        Ok((exit, out, err)) => {
            let output = if out.trim().is_empty() { err } else { out };
            facts.version = Some(VersionFacts {
                argv,
                exit,
                output: output.trim().chars().take(2000).collect(),
            });
        }
        Err(e) => facts.version_error = Some(format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> service::Ports {
        service::Ports {
            addr: "127.0.0.1:4222".parse().unwrap(),
            admin: "127.0.0.1:8222".parse().unwrap(),
        }
    }

    #[test]
    fn bare_port_placeholders_are_replaced_beside_the_addresses() {
        let p = ports();
        assert_eq!(
            service::substitute("-p {port} -m {admin_port} --a {addr} --b {admin}", &p),
            "-p 4222 -m 8222 --a 127.0.0.1:4222 --b 127.0.0.1:8222"
        );
        assert!(service::names_main_address("nats-server -p {port}"));
        assert!(!service::names_main_address("svc --admin {admin}"));
    }

    #[test]
    fn the_time_bound_grows_with_every_phase_asked_for() {
        let opts = |soak: Option<SoakPlan>, drain: bool| ProbeOptions {
            launch: Launch::Exec("svc".into()),
            dir: PathBuf::from("."),
            pprof: None,
            tls: Tls::insecure(),
            max_time: None,
            ready_path: "/".into(),
            ready_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(5),
            public_port: None,
            headers: vec![],
            gctrace: false,
            load: Some(LoadPlan {
                spec: LoadSpec::parse("GET /").unwrap(),
                requests: 10,
                concurrency: 1,
                limit: Duration::from_secs(60),
                rate: None,
            }),
            artifacts: None,
            expect_version: None,
            soak,
            drain: drain.then(|| DrainPlan {
                spec: LoadSpec::parse("GET /slow").unwrap(),
                requests: 8,
            }),
        };
        let soak = SoakPlan {
            duration: Duration::from_secs(30),
            settle: Duration::from_secs(1),
        };
        let plain = time_bound(&opts(None, false));
        let soaked = time_bound(&opts(Some(soak), false));
        assert!(soaked >= plain + soak.duration + soak.settle);
        assert!(time_bound(&opts(Some(soak), true)) > soaked);
        assert_eq!(cpu_seconds(&opts(Some(soak), false)), 30);
        assert_eq!(cpu_seconds(&opts(None, false)), 1);
    }
}
