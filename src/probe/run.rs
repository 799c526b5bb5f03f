//! One probe from start to stop: start the service, wait until it is ready, find its
//! listening sockets and pprof, optionally load it, probe the endpoints, read MemStats and
//! limits, stop it. The result is [`ProbeFacts`]; `probe::rules` judges them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::exposure::ListenSocket;
use super::gctrace::GcStats;
use super::load::{self, LoadSpec, LoadStats};
use super::memlimit::{self, CgroupLimit};
use super::pprof::{self, Class, MemStats, PprofProbe, SocketAnswer};
use super::procs;
use super::service::{
    self, ExitFacts, Launch, Readiness, ReadyOptions, Service, SpawnOptions, StopReport,
};
use crate::gotool::Go;
use crate::http::{Endpoint, Tls};

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
    /// `--pprof URL`: use this pprof mount instead of discovering one.
    pub pprof: Option<Endpoint>,
    /// `--ca-cert`/`--insecure`: how a TLS pprof listener's certificate is checked.
    pub tls: Tls,
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

/// Runs the whole probe. Errors are goready's own (no free port); everything about the
/// service, including a command that does not start, ends up in the facts.
pub fn run(opts: &ProbeOptions) -> anyhow::Result<ProbeFacts> {
    let ports = service::free_ports()?;
    let uses_addr = match &opts.launch {
        Launch::Exec(line) => line.contains("{addr}"),
        Launch::GoTest { .. } => true,
    };
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
    if let Some(v) = &opts.expect_version {
        check_version(opts, v, &ports, &mut facts);
    }
    let prepared = match service::prepare(&opts.launch, &ports, &opts.dir, &Go::default()) {
        Ok(p) => p,
        Err(e) => {
            facts.launch_error = Some(format!("{e:#}"));
            return Ok(facts);
        }
    };
    facts.command = prepared.argv.clone();
    let spawn_opts = SpawnOptions {
        gctrace: opts.gctrace,
        log_dir: opts.artifacts.clone(),
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
    eprintln!("goready: started {} (pid {})", facts.target, svc.pid);
    let prefix = opts
        .pprof
        .as_ref()
        .map(|e| e.path.clone())
        .filter(|p| !p.is_empty() && p != "/")
        .unwrap_or_else(|| pprof::DEFAULT_PREFIX.to_string());
    let readiness = svc.wait_ready(&ReadyOptions {
        path: &opts.ready_path,
        timeout: opts.ready_timeout,
        headers: &opts.headers,
        extra: opts.pprof.as_ref(),
    });
    facts.readiness = Some(readiness.clone());
    match &readiness {
        Readiness::Ready { after_ms, url } => {
            eprintln!("goready: ready after {after_ms} ms ({url} answered 200)")
        }
        Readiness::Exited { exit, .. } => {
            eprintln!(
                "goready: the service exited before it was ready ({})",
                exit.description
            )
        }
        Readiness::TimedOut { after_ms, .. } => {
            eprintln!("goready: the service was not ready after {after_ms} ms")
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

    if let Some(plan) = &opts.load {
        eprintln!(
            "goready: load: {} requests of {} {} over {} connections",
            plan.requests, plan.spec.method, plan.spec.target, plan.concurrency
        );
        let ep = Endpoint::at(ports.addr);
        facts.load = Some(match plan.rate {
            Some(rate) => load::run_at_rate(
                &ep,
                &plan.spec,
                plan.requests,
                plan.concurrency,
                plan.limit,
                rate,
            ),
            None => load::run(&ep, &plan.spec, plan.requests, plan.concurrency, plan.limit),
        });
    }

    let (endpoint, pid) = choose_pprof(opts, &facts, &svc, &prefix);
    if let Some((ep, found)) = endpoint {
        facts.pprof_found = found;
        // MemStats first: `heap?gc=1` runs a full GC, and the runtime publishes allocation
        // records only at the end of a GC cycle. Without it the allocs scrape below could
        // miss the --load work entirely (or, in a service that has not collected yet, show
        // nothing at all); with it, the profile holds every allocation made so far.
        if found {
            match pprof::memstats(&ep, &prefix, &opts.headers) {
                Ok(m) => facts.memstats = Some(m),
                Err(e) => facts.memstats_error = Some(e),
            }
        }
        let expected = cmdline(pid);
        let probe = pprof::probe(&ep, &prefix, &opts.headers, expected.as_deref());
        facts.profiles = probe.raw.clone();
        facts.pprof = Some(probe);
    }
    if let Some(dir) = &opts.artifacts {
        for (name, bytes) in &facts.profiles {
            let file = format!("{name}.pb.gz");
            let path = dir.join(&file);
            std::fs::write(&path, bytes)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            facts.artifacts.insert(file, path.display().to_string());
        }
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
    facts.stop = Some(svc.stop(opts.grace));
    if opts.gctrace {
        facts.gctrace = Some(svc.gc_stats());
    }
    Ok(facts)
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
            answer: pprof::ask_socket(&s.connect_addrs(), prefix, Duration::from_secs(3)),
        })
        .collect()
}

/// The pprof mount to probe, and whether it really is one: `--pprof`, else a socket that
/// serves the index (loopback and non-public first), else one that does with `--header`,
/// else — only to show what is there instead — the admin socket or the first one.
fn choose_pprof(
    opts: &ProbeOptions,
    facts: &ProbeFacts,
    svc: &Service,
    prefix: &str,
) -> (Option<(Endpoint, bool)>, i32) {
    if let Some(ep) = &opts.pprof {
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
                    let (r, _) = pprof::fetch(
                        &ep,
                        "(index)",
                        prefix,
                        pprof::Expect::Index,
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

fn check_version(
    opts: &ProbeOptions,
    _expected: &str,
    ports: &service::Ports,
    facts: &mut ProbeFacts,
) {
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
