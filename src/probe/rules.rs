//! The `runtime` suite: rules that judge [`ProbeFacts`]. Each rule is documented in
//! docs/checks.md under its id.

use std::path::PathBuf;

use super::endpoints::{self, Class, EndpointResult};
use super::gather::{ProbeFacts, SocketFacts};
use super::service::Readiness;
use super::soak_rules::{self, SoakLimits};
use super::{cpu, drain};
use super::{gather::VersionFacts, memlimit};
use crate::human;
use crate::model::data::{
    ExposedData, HeapBudgetData, LoadData, MemlimitData, RegisteredData, ShutdownData, StartData,
    VersionRunData, facts,
};
use crate::model::{Check, CheckData, Severity};
use crate::registry::{self as ids, Rule};

/// What the runtime rules compare against.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
    /// `--max-heap` in MiB.
    pub max_heap_mb: Option<f64>,
    /// `--expect-version`.
    pub expect_version: Option<String>,
    /// The service was started from a Go test (no `--version` to ask).
    pub go_test: bool,
    /// `--header` was given (credentials for pprof).
    pub headers_given: bool,
    /// `--ready` path, for messages.
    pub ready_path: String,
    /// `--load` was given.
    pub load: bool,
    /// `--drain` was given.
    pub drain: bool,
    /// `--soak` was given.
    pub soak: bool,
    /// `--max-goroutine-growth`, `--max-heap-growth`.
    pub soak_limits: SoakLimits,
    /// Rows per ranking (`--top`).
    pub top: usize,
    /// `--baseline` (for `runtime.cpu_regression`).
    pub baseline: Option<PathBuf>,
    /// `--max-cpu-growth`, in percentage points.
    pub max_cpu_growth: f64,
    /// `--max-p99`: budget for the load's 99th percentile latency.
    pub max_p99: Option<std::time::Duration>,
}

const MIB: f64 = 1024.0 * 1024.0;

/// Every runtime check for one probe.
pub fn evaluate(f: &ProbeFacts, o: &RuleOptions) -> Vec<Check> {
    let at = |rule: &Rule| Check::of(rule).target(f.target.clone());
    let mut checks = vec![start(f, o, at(&ids::RUNTIME_START))];
    if let Some(v) = &o.expect_version {
        checks.push(version(f, o, v, at(&ids::RUNTIME_VERSION)));
    }
    if !f.ready() {
        let why = if f.launch_error.is_some() {
            "not evaluated: the service could not be started"
        } else {
            "not evaluated: the service did not get ready"
        };
        checks.push(at(&ids::RUNTIME_PPROF_REGISTERED).skip(why));
        checks.push(at(&ids::RUNTIME_PPROF_EXPOSED).skip(why));
        if o.max_heap_mb.is_some() {
            checks.push(at(&ids::RUNTIME_HEAP_BUDGET).skip(why));
        }
        checks.extend(load_rules(o).into_iter().map(|rule| at(rule).skip(why)));
        if matches!(f.readiness, Some(Readiness::TimedOut { .. })) {
            if let Some(c) = shutdown(f, at(&ids::RUNTIME_SHUTDOWN)) {
                checks.push(c);
            }
        }
        return checks;
    }
    checks.push(pprof_registered(f, o, at(&ids::RUNTIME_PPROF_REGISTERED)));
    checks.push(pprof_exposed(f, at(&ids::RUNTIME_PPROF_EXPOSED)));
    checks.push(heap_budget(f, o, at(&ids::RUNTIME_HEAP_BUDGET)));
    if let Some(why) = &f.load_skipped {
        let why = format!("not evaluated: {why}");
        checks.extend(
            load_rules(o)
                .into_iter()
                .map(|rule| at(rule).skip(why.clone())),
        );
    } else {
        checks.extend(under_load(f, o));
    }
    if f.pprof_found {
        let profiles = [
            ("mutex", f.profiles.get("mutex")),
            ("block", f.profiles.get("block")),
        ];
        checks.push(cpu::contention(
            &profiles,
            o.top,
            at(&ids::RUNTIME_CONTENTION),
        ));
    } else {
        checks.push(
            at(&ids::RUNTIME_CONTENTION)
                .skip("no pprof endpoint to read the mutex and block profiles from"),
        );
    }
    if let Some(load) = &f.load {
        checks.push(load_rule(load, at(&ids::RUNTIME_LOAD)));
    }
    checks.extend(super::load::judge_latency(
        f.load.as_ref(),
        o.max_p99,
        at(&ids::RUNTIME_LATENCY),
    ));
    checks.push(memlimit_rule(f, at(&ids::RUNTIME_MEMLIMIT)));
    if let Some(c) = shutdown(f, at(&ids::RUNTIME_SHUTDOWN)) {
        checks.push(c);
    }
    if let Some(d) = &f.drain {
        checks.push(drain::check(d, f.stop.as_ref(), at(&ids::RUNTIME_DRAIN)));
    } else if o.drain && f.load_skipped.is_none() {
        checks.push(
            at(&ids::RUNTIME_DRAIN)
                .skip("not evaluated: the service exited before goready stopped it"),
        );
    }
    checks
}

/// `runtime.load`: a pass needs requests that were sent and answered, every one 2xx.
fn load_rule(load: &super::load::LoadStats, c: crate::model::CheckBuilder) -> Check {
    let c = c.data(LoadData(facts(load)));
    if load.requested == 0 {
        return c.skip(format!(
            "not evaluated: no {} request was asked for, so none could succeed",
            load.request
        ));
    }
    let failed = load.requested.saturating_sub(load.ok);
    if failed == 0 && !load.cut_short {
        return c.pass(format!(
            "{} of {} × {} answered 2xx in {} ms over {} connection(s): {:.0} req/s, p50 {:.1} ms, \
             p99 {:.1} ms",
            load.ok,
            load.requested,
            load.request,
            load.elapsed_ms,
            load.concurrency,
            load.rps,
            load.p50_ms,
            load.p99_ms
        ));
    }
    let statuses: Vec<String> = load
        .statuses
        .iter()
        .filter(|(s, _)| !(200..300).contains(*s))
        .map(|(s, n)| format!("{n} × {s}"))
        .collect();
    let mut parts = statuses;
    if load.errors > 0 {
        parts.push(format!(
            "{} without an answer ({})",
            load.errors,
            load.first_error.as_deref().unwrap_or("?")
        ));
    }
    if load.cut_short {
        parts.push(format!(
            "{} never sent: the time limit ran out",
            load.requested.saturating_sub(load.answered + load.errors)
        ));
    }
    c.fail(format!(
        "{failed} of {} × {} did not succeed: {}; the allocation profile does not reflect the intended work",
        load.requested,
        load.request,
        parts.join(", ")
    ))
}

/// The rules that need the `--load` traffic (and `--soak`, `--drain`), in report order.
fn load_rules(o: &RuleOptions) -> Vec<&'static Rule> {
    let mut rules = Vec::new();
    if o.load {
        rules.push(&ids::RUNTIME_LOAD);
        rules.push(&ids::RUNTIME_CPU);
        if o.baseline.is_some() {
            rules.push(&ids::RUNTIME_CPU_REGRESSION);
        }
    }
    if o.soak {
        rules.push(&ids::RUNTIME_GOROUTINE_LEAK);
        rules.push(&ids::RUNTIME_HEAP_GROWTH);
    }
    if o.drain {
        rules.push(&ids::RUNTIME_DRAIN);
    }
    rules
}

/// The checks of the load's CPU profile and of the soak (the drain is judged with the stop).
fn under_load(f: &ProbeFacts, o: &RuleOptions) -> Vec<Check> {
    let at = |rule: &Rule| Check::of(rule).target(f.target.clone());
    let mut checks = Vec::new();
    if o.load {
        let cpu_check = match (f.profiles.get("cpu"), &f.cpu_error) {
            (Some(bytes), _) => {
                let (mut c, ranking) =
                    cpu::cpu_check(bytes, f.cpu_seconds.unwrap_or(0), o.top, at(&ids::RUNTIME_CPU));
                if let CheckData::Profile(data) = &mut c.data {
                    data.artifacts = Some(
                        f.artifacts
                            .iter()
                            .filter(|(n, _)| n.starts_with("cpu."))
                            .map(|(n, p)| (n.clone(), p.clone()))
                            .collect(),
                    );
                }
                let why = c.message.clone();
                checks.push(c);
                match (&o.baseline, ranking) {
                    (Some(base), Some(r)) => checks.extend(cpu::regression(
                        &f.target,
                        base,
                        &r.shares,
                        o.max_cpu_growth,
                    )),
                    // A profile that does not decode or holds no sample compares with nothing:
                    // the comparison is reported as not made, never silently left out.
                    (Some(_), None) => checks.push(
                        at(&ids::RUNTIME_CPU_REGRESSION)
                            .skip(format!("not evaluated: runtime.cpu: {why}")),
                    ),
                    (None, _) => {}
                }
                None
            }
            (None, _) if f.died.is_some() => Some(at(&ids::RUNTIME_CPU).skip(
                "not evaluated: the service exited while the CPU profile was taken (see runtime.start)",
            )),
            (None, Some(e)) => Some(at(&ids::RUNTIME_CPU).error(format!(
                "no CPU profile could be taken during the load: {e}"
            ))),
            (None, None) => Some(at(&ids::RUNTIME_CPU).skip(
                "not evaluated: no pprof endpoint to take a CPU profile from",
            )),
        };
        if let Some(c) = cpu_check {
            let why = c.message.clone();
            checks.push(c);
            if o.baseline.is_some() {
                checks.push(at(&ids::RUNTIME_CPU_REGRESSION).skip(format!("not evaluated: {why}")));
            }
        }
    }
    if o.soak {
        match &f.soak {
            Some(s) => {
                let sites = match (f.profiles.get("heap-first"), f.profiles.get("heap-last")) {
                    (Some(a), Some(b)) => Some(soak_rules::growing_sites(a, b)),
                    _ => None,
                };
                checks.push(soak_rules::goroutine_leak(
                    s,
                    &o.soak_limits,
                    at(&ids::RUNTIME_GOROUTINE_LEAK),
                ));
                checks.push(soak_rules::heap_growth(
                    s,
                    sites,
                    &o.soak_limits,
                    at(&ids::RUNTIME_HEAP_GROWTH),
                ));
            }
            None => {
                let why = "not evaluated: no pprof endpoint to read HeapInuse and goroutines from";
                checks.push(at(&ids::RUNTIME_GOROUTINE_LEAK).skip(why));
                checks.push(at(&ids::RUNTIME_HEAP_GROWTH).skip(why));
            }
        }
    }
    checks
}

fn start(f: &ProbeFacts, o: &RuleOptions, c: crate::model::CheckBuilder) -> Check {
    if let Some(e) = &f.launch_error {
        return c.error(format!("cannot start the service: {e}"));
    }
    let tail = |f: &ProbeFacts| {
        if f.output_tail.trim().is_empty() {
            " (it printed nothing)".to_string()
        } else {
            format!("; last output:\n{}", f.output_tail)
        }
    };
    let data = StartData {
        command: facts(&f.command),
        pid: facts(f.pid),
        addr: facts(&f.addr),
        admin: facts(&f.admin),
        readiness: facts(&f.readiness),
        processes: facts(&f.processes),
        died: facts(&f.died),
        output_tail: f.output_tail.clone(),
        artifacts: facts(&f.artifacts),
    };
    let c = c.data(data);
    match &f.readiness {
        None => c.error("the service was not started"),
        Some(Readiness::Exited { after_ms, exit }) => c.fail(format!(
            "exited ({}) after {after_ms} ms, before GET {} answered 200{}",
            exit.description,
            o.ready_path,
            tail(f)
        )),
        Some(Readiness::TimedOut {
            after_ms,
            answers,
            certificate_refused,
        }) => {
            let seen = if answers.is_empty() {
                "it never listened on a TCP socket".to_string()
            } else {
                answers
                    .iter()
                    .map(|(sock, a)| format!("{sock}: {a}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let advice = if *certificate_refused {
                "A socket answers over TLS with a certificate goready does not trust: pass \
                 --ca-cert FILE (the server's own certificate, or the CA that signed it) or \
                 --insecure"
                    .to_string()
            } else {
                format!(
                    "If the service does not serve {} on any socket, point --ready at a path \
                     that answers 200 once it is up (e.g. /healthz); if it needs longer, raise \
                     --ready-timeout",
                    o.ready_path
                )
            };
            c.fail(format!(
                "not ready after {}: {seen}. {advice}",
                crate::duration::format(std::time::Duration::from_millis(*after_ms)),
            ))
        }
        Some(Readiness::Ready { after_ms, url, tls }) => match &f.died {
            Some(d) => c.fail(format!(
                "ready after {after_ms} ms, then exited ({}) {} ms after start, while being probed{}",
                d.exit.description,
                d.after_ms,
                tail(f)
            )),
            None => c.pass(format!(
                "ready after {after_ms} ms ({url} answered 200{}); {} process(es), {} listening \
                 socket(s)",
                tls.map(|t| format!("; {}", t.describe()))
                    .unwrap_or_default(),
                f.processes.len(),
                f.sockets.len()
            )),
        },
    }
}

fn version(f: &ProbeFacts, o: &RuleOptions, want: &str, c: crate::model::CheckBuilder) -> Check {
    if o.go_test {
        return c.skip(
            "a test binary has no --version; check the built service with `goready inspect --expect-version`",
        );
    }
    if let Some(e) = &f.version_error {
        return c.error(format!("cannot run the service with --version: {e}"));
    }
    let Some(VersionFacts { argv, exit, output }) = &f.version else {
        return c.error("the service's --version was not run");
    };
    let c = c.data(VersionRunData(facts(&f.version)));
    let shown = argv.join(" ");
    let Some(exit) = exit else {
        return c.fail(format!("`{shown}` did not finish within 5 s (killed)"));
    };
    if exit.code != Some(0) {
        return c.fail(format!(
            "`{shown}` failed ({}): {}",
            exit.description,
            first_line(output)
        ));
    }
    let bare = want.trim_start_matches('v');
    let found = output
        .split_whitespace()
        .any(|t| t == want || t.trim_start_matches('v') == bare);
    if found {
        c.pass(format!("`{shown}` printed {}", first_line(output)))
    } else {
        c.fail(format!(
            "`{shown}` printed {:?}, expected {want}: inject it with -ldflags \"-X main.Version={want}\"",
            first_line(output)
        ))
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

fn endpoint_problem(e: &EndpointResult) -> String {
    let hint = match (e.class, e.name.as_str()) {
        (Class::PprofNotFound, "cmdline" | "profile" | "symbol" | "trace") => {
            let handler = match e.name.as_str() {
                "cmdline" => "Cmdline",
                "profile" => "Profile",
                "symbol" => "Symbol",
                _ => "Trace",
            };
            format!(" — pprof.Index is mounted but not pprof.{handler}")
        }
        (Class::PprofNotFound, _) => " — pprof is mounted but has no such profile".into(),
        (Class::NotRouted, _) => " — nothing is routed there".into(),
        (Class::MethodNotAllowed, _) => " — a method pattern excludes GET".into(),
        (Class::Unauthorized, _) => " — behind authentication".into(),
        _ => String::new(),
    };
    let status = e.status.map(|s| format!("{s} ")).unwrap_or_default();
    let detail = if e.detail.is_empty() {
        String::new()
    } else {
        format!(" ({})", e.detail)
    };
    format!("{}: {status}{}{detail}{hint}", e.path, e.class.describe())
}

fn socket_summary(s: &SocketFacts) -> String {
    match &s.answer {
        Some(a) => {
            let status = a.status.map(|s| format!("{s} ")).unwrap_or_default();
            format!("{}: {status}{}", s.addr, a.class.describe())
        }
        None => format!("{}: not probed", s.addr),
    }
}

fn pprof_registered(f: &ProbeFacts, o: &RuleOptions, c: crate::model::CheckBuilder) -> Check {
    let c = c.data(RegisteredData {
        pprof: facts(&f.pprof),
        sockets: facts(&f.sockets),
        artifacts: facts(&f.artifacts),
    });
    if f.sockets.is_empty() && f.pprof.is_none() {
        return c.fail("the service listens on no TCP socket, so no pprof endpoint can be reached");
    }
    if !f.pprof_found {
        let protected: Vec<&SocketFacts> = f
            .sockets
            .iter()
            .filter(|s| {
                s.answer
                    .as_ref()
                    .is_some_and(|a| a.class == Class::Unauthorized)
            })
            .collect();
        if !protected.is_empty() {
            let addrs: Vec<&str> = protected.iter().map(|s| s.addr.as_str()).collect();
            let advice = if o.headers_given {
                "and the --header credentials were not accepted"
            } else {
                "pass --header 'Authorization: …' so goready can verify pprof behind it"
            };
            return c.skip(format!(
                "{} answer{} {} with authentication required: goready cannot see whether pprof is \
                 behind it; {advice}",
                addrs.join(", "),
                if addrs.len() == 1 { "s" } else { "" },
                endpoints::DEFAULT_PREFIX,
            ));
        }
        let summary: Vec<String> = f.sockets.iter().map(socket_summary).collect();
        return c.fail(format!(
            "no listening socket serves net/http/pprof at {}: {}. Mount it on an admin listener \
             bound to 127.0.0.1 (see examples/hello-svc), or pass --pprof URL if it lives elsewhere",
            endpoints::DEFAULT_PREFIX,
            summary.join("; ")
        ));
    }
    let Some(p) = &f.pprof else {
        return c.error("pprof was found but not probed");
    };
    // The index alone proves nothing about the profiles: a pass needs them fetched too.
    if p.all_ok() && p.endpoints.is_empty() {
        return c.error(format!(
            "{}: the index was fetched, but no profile endpoint was probed",
            p.url
        ));
    }
    if p.all_ok() {
        let profiles: Vec<&str> = p
            .endpoints
            .iter()
            .filter(|e| e.decoded_bytes.is_some() && !e.name.contains('?'))
            .map(|e| e.name.as_str())
            .collect();
        let tls = p
            .tls
            .map(|t| format!(" ({})", t.describe()))
            .unwrap_or_default();
        c.pass(format!(
            "{}{tls}: the index, {} profile(s) ({}), cmdline, symbol, a 1 s CPU profile and a 1 s trace \
             answer as net/http/pprof does; unknown profiles get pprof's own 404",
            p.url,
            profiles.len(),
            profiles.join(", ")
        ))
    } else {
        let problems: Vec<String> = p.failures().into_iter().map(endpoint_problem).collect();
        let n = p.endpoints.len() + 1;
        c.fail(format!(
            "{}: {} of {n} endpoints do not answer as net/http/pprof does: {}",
            p.url,
            problems.len(),
            problems.join("; ")
        ))
    }
}

fn pprof_exposed(f: &ProbeFacts, c: crate::model::CheckBuilder) -> Check {
    let c = c.data(ExposedData {
        sockets: facts(&f.sockets),
        public_port: facts(f.public_port),
    });
    let exposed: Vec<&SocketFacts> = f
        .sockets
        .iter()
        .filter(|s| s.serves_pprof() && (!s.loopback || s.public))
        .collect();
    if !exposed.is_empty() {
        let what: Vec<String> = exposed.iter().map(|s| s.describe()).collect();
        let on_public_loopback = exposed.iter().all(|s| s.loopback && s.public);
        let why = if on_public_loopback {
            "the main port is what a load balancer or ingress forwards"
        } else {
            "anyone who reaches this host can download heap dumps, goroutine stacks and CPU profiles"
        };
        return c.fail(format!(
            "pprof answers without authentication on {}: {why}. Serve it on a separate listener \
             bound to 127.0.0.1 (never on http.DefaultServeMux of a public server)",
            what.join(", ")
        ));
    }
    // A pass says where pprof is not: it needs every listening socket found and asked.
    if f.sockets.is_empty() {
        return c.skip(
            "not evaluated: no listening TCP socket of the service's processes was found, so \
             none could be asked whether it serves pprof",
        );
    }
    let unasked: Vec<&str> = f
        .sockets
        .iter()
        .filter(|s| s.answer.is_none())
        .map(|s| s.addr.as_str())
        .collect();
    if !unasked.is_empty() {
        return c.skip(format!(
            "not evaluated: {} of {} listening socket(s) could not be asked for {} ({})",
            unasked.len(),
            f.sockets.len(),
            endpoints::DEFAULT_PREFIX,
            unasked.join(", ")
        ));
    }
    let asked: Vec<String> = f.sockets.iter().map(socket_summary).collect();
    let loopback: Vec<String> = f
        .sockets
        .iter()
        .filter(|s| s.serves_pprof())
        .map(|s| s.describe())
        .collect();
    let protected: Vec<String> = f
        .sockets
        .iter()
        .filter(|s| {
            s.answer
                .as_ref()
                .is_some_and(|a| a.class == Class::Unauthorized)
        })
        .map(|s| s.describe())
        .collect();
    let mut parts = Vec::new();
    if !loopback.is_empty() {
        parts.push(format!("pprof only on {}", loopback.join(", ")));
    }
    if !protected.is_empty() {
        parts.push(format!(
            "authentication required on {}",
            protected.join(", ")
        ));
    }
    if parts.is_empty() {
        parts.push(format!(
            "none of the {} listening socket(s) serves pprof",
            f.sockets.len()
        ));
    }
    // What was asked and answered first, then the verdict (findings quote the last part
    // when this check settles binary.pprof_linked).
    c.pass(format!(
        "asked each of the {} listening socket(s) for {} without credentials ({}): {}",
        f.sockets.len(),
        endpoints::DEFAULT_PREFIX,
        asked.join("; "),
        parts.join("; ")
    ))
}

fn heap_budget(f: &ProbeFacts, o: &RuleOptions, c: crate::model::CheckBuilder) -> Check {
    let c = c.data(HeapBudgetData {
        memstats: facts(&f.memstats),
        max_heap_mb: o.max_heap_mb,
        source: "runtime.MemStats.HeapInuse from /debug/pprof/heap?gc=1&debug=1".into(),
        gctrace: facts(&f.gctrace),
        artifacts: facts(&f.artifacts),
    });
    let gc = f
        .gctrace
        .as_ref()
        .map(|g| format!("; gctrace: {}", g.summary()))
        .unwrap_or_default();
    let Some(m) = &f.memstats else {
        if !f.pprof_found {
            return c.skip("no pprof endpoint to read the heap's MemStats from");
        }
        return c.error(format!(
            "cannot read MemStats: {}",
            f.memstats_error.as_deref().unwrap_or("unknown error")
        ));
    };
    let inuse = format!("HeapInuse {} after a forced GC", human::bytes(m.heap_inuse));
    let more = format!(
        "(HeapAlloc {}, {} objects, Sys {}; runtime.MemStats from heap?gc=1&debug=1){gc}",
        human::bytes(m.heap_alloc),
        m.heap_objects,
        human::bytes(m.sys)
    );
    match o.max_heap_mb {
        None => c.skip(format!("no --max-heap budget given; {inuse} {more}")),
        Some(max) if (m.heap_inuse as f64) <= max * MIB => {
            c.pass(format!("{inuse} ≤ budget {max} MiB {more}"))
        }
        Some(max) => c.fail(format!(
            "{inuse} exceeds the budget of {max} MiB {more}: the heap profile (inuse_space) shows what holds it"
        )),
    }
}

fn memlimit_rule(f: &ProbeFacts, c: crate::model::CheckBuilder) -> Check {
    let Some(m) = &f.memlimit else {
        return c.skip("not evaluated");
    };
    let c = c.data(MemlimitData(facts(m)));
    let Some(cg) = &m.cgroup else {
        return c.skip("no cgroup memory controller is visible to the service");
    };
    let Some(limit) = cg.bytes else {
        return c.skip(format!(
            "no cgroup memory limit applies (cgroup v{}: {} says no limit)",
            cg.version, cg.file
        ));
    };
    let suggest = limit / 10 * 9;
    let advice = format!(
        "set GOMEMLIMIT to about 90% of it ({}MiB) so the GC works harder before the kernel's OOM killer strikes",
        suggest >> 20
    );
    let limit_text = format!(
        "cgroup v{} limit {} ({})",
        cg.version,
        human::bytes(limit),
        cg.file
    );
    match m.gomemlimit.as_deref() {
        None | Some("") => c.fail(format!("{limit_text}, but GOMEMLIMIT is unset: {advice}")),
        Some(raw) => match memlimit::parse_gomemlimit(raw) {
            Err(e) => c.fail(format!("{limit_text}; {e}: {advice}")),
            Ok(None) => c.fail(format!("{limit_text}, but GOMEMLIMIT=off: {advice}")),
            Ok(Some(v)) if v > limit => c.fail(format!(
                "{limit_text}, but GOMEMLIMIT={raw} ({}) is above it: {advice}",
                human::bytes(v)
            )),
            Ok(Some(v)) => c.pass(format!(
                "GOMEMLIMIT={raw} ({}) is {:.0}% of the {limit_text}",
                human::bytes(v),
                v as f64 * 100.0 / limit as f64
            )),
        },
    }
}

fn shutdown(f: &ProbeFacts, c: crate::model::CheckBuilder) -> Option<Check> {
    let s = f.stop.as_ref()?;
    let c = c.data(ShutdownData(facts(s)));
    if s.exited_before_stop {
        return Some(c.skip("the service had already exited before goready stopped it"));
    }
    if !s.leftover.is_empty() {
        return Some(c.severity(Severity::Error).fail(format!(
            "processes survived SIGKILL: {}",
            s.leftover.join(", ")
        )));
    }
    let grace = crate::duration::format(std::time::Duration::from_millis(s.grace_ms));
    let exit = s
        .exit
        .as_ref()
        .map(|e| e.description.clone())
        .unwrap_or_else(|| "unknown exit".into());
    if !s.graceful {
        let main = match s.main_exit_ms {
            Some(ms) => format!(
                "the main process exited ({exit}) {ms} ms after SIGTERM but left processes running"
            ),
            None => format!("the main process ignored SIGTERM for {grace}"),
        };
        return Some(c.fail(format!(
            "{main}; SIGKILL after {grace} to {}. Handle SIGTERM (signal.NotifyContext, \
             http.Server.Shutdown) and stop child processes before exiting",
            s.killed.join(", ")
        )));
    }
    // The time is shown only when it was measured.
    let ms = match s.main_exit_ms {
        Some(ms) => format!("{ms} ms"),
        None => format!("within the grace period of {grace}"),
    };
    let exit_facts = s.exit.as_ref();
    Some(match exit_facts.and_then(|e| e.signal) {
        Some(sig) if sig == libc::SIGTERM => c.severity(Severity::Notice).fail(format!(
            "died of SIGTERM {ms} after it was sent, without handling it: in-flight requests \
             are cut on every deploy. Use signal.NotifyContext and http.Server.Shutdown"
        )),
        Some(_) => c.fail(format!("{exit} {ms} after SIGTERM")),
        None if exit_facts.and_then(|e| e.code) == Some(0) => {
            c.pass(format!("exited 0 {ms} after SIGTERM (grace {grace})"))
        }
        None => c.fail(format!(
            "exited with {exit} {ms} after SIGTERM: a clean shutdown exits 0"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::probe::gather::MemLimitFacts;
    use crate::probe::memlimit::CgroupLimit;
    use crate::probe::service::{ExitFacts, StopReport};

    fn ready_facts() -> ProbeFacts {
        ProbeFacts {
            target: "svc".into(),
            readiness: Some(Readiness::Ready {
                after_ms: 5,
                url: "http://127.0.0.1:1/debug/pprof/".into(),
                tls: None,
            }),
            ..ProbeFacts::default()
        }
    }

    fn find<'a>(checks: &'a [Check], id: &str) -> &'a Check {
        checks.iter().find(|c| c.id == id).unwrap()
    }

    fn memlimit_check(bytes: Option<u64>, gomemlimit: Option<&str>) -> Check {
        let mut f = ready_facts();
        f.memlimit = Some(MemLimitFacts {
            cgroup: Some(CgroupLimit {
                version: 2,
                file: "/sys/fs/cgroup/memory.max".into(),
                bytes,
            }),
            gomemlimit: gomemlimit.map(str::to_string),
        });
        let checks = evaluate(&f, &RuleOptions::default());
        find(&checks, "runtime.memlimit").clone()
    }

    #[test]
    fn gomemlimit_must_be_set_below_the_cgroup_limit() {
        let limit = Some(512 << 20);
        let unset = memlimit_check(limit, None);
        assert_eq!(unset.status, Status::Fail);
        assert!(unset.message.contains("GOMEMLIMIT is unset") && unset.message.contains("460MiB"));
        assert_eq!(memlimit_check(limit, Some("off")).status, Status::Fail);
        assert_eq!(memlimit_check(limit, Some("600MiB")).status, Status::Fail);
        assert_eq!(memlimit_check(limit, Some("lots")).status, Status::Fail);
        let ok = memlimit_check(limit, Some("460MiB"));
        assert_eq!(ok.status, Status::Pass, "{}", ok.message);
        assert_eq!(memlimit_check(None, None).status, Status::Skip);
    }

    fn shutdown_check(stop: StopReport) -> Check {
        let mut f = ready_facts();
        f.stop = Some(stop);
        let checks = evaluate(&f, &RuleOptions::default());
        find(&checks, "runtime.shutdown").clone()
    }

    fn stop(exit: ExitFacts, graceful: bool) -> StopReport {
        StopReport {
            exited_before_stop: false,
            exit: Some(exit),
            graceful,
            main_exit_ms: graceful.then_some(12),
            killed: if graceful {
                vec![]
            } else {
                vec!["svc (pid 9)".into()]
            },
            leftover: vec![],
            grace_ms: 5000,
        }
    }

    fn code(c: i32) -> ExitFacts {
        ExitFacts {
            code: Some(c),
            signal: None,
            description: format!("exit code {c}"),
        }
    }

    #[test]
    fn shutdown_outcomes_have_their_own_severity() {
        let clean = shutdown_check(stop(code(0), true));
        assert_eq!(clean.status, Status::Pass);
        let nonzero = shutdown_check(stop(code(1), true));
        assert_eq!(
            (nonzero.status, nonzero.severity),
            (Status::Fail, Severity::Warning)
        );
        let term = ExitFacts {
            code: None,
            signal: Some(libc::SIGTERM),
            description: "killed by SIGTERM".into(),
        };
        let unhandled = shutdown_check(stop(term, true));
        assert_eq!(
            (unhandled.status, unhandled.severity),
            (Status::Fail, Severity::Notice)
        );
        let kill = ExitFacts {
            code: None,
            signal: Some(libc::SIGKILL),
            description: "killed by SIGKILL".into(),
        };
        let killed = shutdown_check(stop(kill.clone(), false));
        assert_eq!(
            (killed.status, killed.severity),
            (Status::Fail, Severity::Warning)
        );
        assert!(killed.message.contains("ignored SIGTERM") && killed.message.contains("pid 9"));
        let mut survived = stop(kill, false);
        survived.leftover = vec!["svc (pid 9)".into()];
        let survived = shutdown_check(survived);
        assert_eq!(
            (survived.status, survived.severity),
            (Status::Fail, Severity::Error)
        );
    }

    #[test]
    fn a_service_that_did_not_start_skips_the_pprof_rules() {
        let f = ProbeFacts {
            target: "svc".into(),
            launch_error: Some("cannot start \"svc\": No such file or directory".into()),
            ..ProbeFacts::default()
        };
        let opts = RuleOptions {
            max_heap_mb: Some(10.0),
            ..RuleOptions::default()
        };
        let checks = evaluate(&f, &opts);
        assert_eq!(find(&checks, "runtime.start").status, Status::Error);
        for id in [
            "runtime.pprof_registered",
            "runtime.pprof_exposed",
            "runtime.heap_budget",
        ] {
            let c = find(&checks, id);
            assert_eq!(c.status, Status::Skip, "{id}");
            assert!(c.message.contains("could not be started"));
        }
    }

    #[test]
    fn a_refused_certificate_while_waiting_says_how_to_trust_it() {
        let timed_out = |refused: bool| ProbeFacts {
            target: "svc".into(),
            readiness: Some(Readiness::TimedOut {
                after_ms: 2000,
                answers: [(
                    "127.0.0.1:1".to_string(),
                    "GET https://127.0.0.1:1/debug/pprof/: the server's TLS certificate is not \
                     trusted: it is signed by an unknown issuer"
                        .to_string(),
                )]
                .into(),
                certificate_refused: refused,
            }),
            ..ProbeFacts::default()
        };
        let checks = evaluate(&timed_out(true), &RuleOptions::default());
        let start = find(&checks, "runtime.start");
        assert_eq!(start.status, Status::Fail);
        assert!(
            start.message.contains("pass --ca-cert FILE"),
            "{}",
            start.message
        );
        assert!(
            !start.message.contains("raise --ready-timeout"),
            "{}",
            start.message
        );
        let checks = evaluate(&timed_out(false), &RuleOptions::default());
        let start = find(&checks, "runtime.start");
        assert!(
            start.message.contains("raise --ready-timeout"),
            "{}",
            start.message
        );
    }

    #[test]
    fn ready_over_tls_says_how_the_certificate_was_trusted() {
        let mut f = ready_facts();
        f.readiness = Some(Readiness::Ready {
            after_ms: 5,
            url: "https://127.0.0.1:1/debug/pprof/".into(),
            tls: Some(crate::http::Trust::Pinned),
        });
        let checks = evaluate(&f, &RuleOptions::default());
        let start = find(&checks, "runtime.start");
        assert_eq!(start.status, Status::Pass);
        assert!(
            start.message.contains("TLS verified by pin"),
            "{}",
            start.message
        );
        let plain = evaluate(&ready_facts(), &RuleOptions::default());
        assert!(!find(&plain, "runtime.start").message.contains("TLS"));
    }

    // A pass needs its evidence (docs/checks.md): each rule fed absent or empty evidence is
    // not a pass; fed evidence, its pass shows the numbers.

    fn load_stats(requested: u64, ok: u64) -> super::super::load::LoadStats {
        super::super::load::LoadStats {
            request: "GET /hello".into(),
            url: "http://127.0.0.1:1/hello".into(),
            mode: "closed-loop",
            rate: None,
            latency_from: "send",
            requested,
            answered: ok,
            ok,
            statuses: if ok > 0 {
                [(200, ok)].into()
            } else {
                Default::default()
            },
            errors: 0,
            first_error: None,
            cut_short: false,
            concurrency: 4,
            elapsed_ms: 321,
            rps: 600.0,
            p50_ms: 1.5,
            p90_ms: 2.5,
            p99_ms: 4.25,
            max_ms: 9.0,
        }
    }

    fn socket(addr: &str, loopback: bool, answer: Option<Class>) -> SocketFacts {
        SocketFacts {
            addr: addr.into(),
            pid: 9,
            loopback,
            wildcard: !loopback,
            public: !loopback,
            answer: answer.map(|class| endpoints::SocketAnswer {
                via: addr.parse().unwrap(),
                tls: false,
                status: Some(if class == Class::Ok { 200 } else { 404 }),
                class,
                detail: String::new(),
            }),
        }
    }

    #[test]
    fn start_pass_needs_a_ready_answer() {
        let never = evaluate(&ProbeFacts::default(), &RuleOptions::default());
        assert_ne!(find(&never, "runtime.start").status, Status::Pass);
        let ready = evaluate(&ready_facts(), &RuleOptions::default());
        let c = find(&ready, "runtime.start");
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(
            c.message.contains("ready after 5 ms")
                && c.message
                    .contains("http://127.0.0.1:1/debug/pprof/ answered 200"),
            "{}",
            c.message
        );
    }

    #[test]
    fn version_pass_needs_the_run_output() {
        let opts = RuleOptions {
            expect_version: Some("v1.2.3".into()),
            ..RuleOptions::default()
        };
        let checks = evaluate(&ready_facts(), &opts);
        assert_ne!(find(&checks, "runtime.version").status, Status::Pass);
        let mut f = ready_facts();
        f.version = Some(VersionFacts {
            argv: vec!["svc".into(), "--version".into()],
            exit: Some(code(0)),
            output: "svc v1.2.3".into(),
        });
        let c = find(&evaluate(&f, &opts), "runtime.version").clone();
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(c.message.contains("printed svc v1.2.3"), "{}", c.message);
    }

    #[test]
    fn pprof_exposed_pass_needs_every_socket_asked() {
        // No socket found: nothing was asked, so nothing is known about pprof's exposure.
        let checks = evaluate(&ready_facts(), &RuleOptions::default());
        assert_eq!(find(&checks, "runtime.pprof_exposed").status, Status::Skip);
        // One socket found but never asked.
        let mut f = ready_facts();
        f.sockets = vec![
            socket("127.0.0.1:6060", true, Some(Class::Ok)),
            socket("0.0.0.0:8080", false, None),
        ];
        let c = find(
            &evaluate(&f, &RuleOptions::default()),
            "runtime.pprof_exposed",
        )
        .clone();
        assert_eq!(c.status, Status::Skip, "{}", c.message);
        assert!(c.message.contains("0.0.0.0:8080"), "{}", c.message);
        // Both asked: the pass names each socket and what it answered.
        f.sockets[1] = socket("0.0.0.0:8080", false, Some(Class::NotRouted));
        let c = find(
            &evaluate(&f, &RuleOptions::default()),
            "runtime.pprof_exposed",
        )
        .clone();
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(
            c.message.contains("127.0.0.1:6060: 200 ok")
                && c.message.contains("0.0.0.0:8080: 404 not routed"),
            "{}",
            c.message
        );
    }

    /// The exposure check settles `binary.pprof_linked` as proof: an exposure that was never
    /// observed must not turn a linked pprof into a pass.
    #[test]
    fn an_unobserved_exposure_does_not_settle_pprof_linked() {
        let linked = Check::of(&ids::BINARY_PPROF_LINKED)
            .target("dist/svc")
            .fail("net/http/pprof is compiled in");
        let checks = evaluate(&ready_facts(), &RuleOptions::default());
        let exposed = find(&checks, "runtime.pprof_exposed").clone();
        let mut report = crate::model::Report::new(vec![linked, exposed]);
        crate::model::findings::judge(&mut report, ids::find, None, false);
        assert_eq!(
            report.checks[0].status,
            Status::Fail,
            "{:?}",
            report.checks[0]
        );
        assert_eq!(report.checks[0].settled_by, None);
    }

    #[test]
    fn pprof_registered_pass_needs_the_endpoints_probed() {
        let checks = evaluate(&ready_facts(), &RuleOptions::default());
        assert_ne!(
            find(&checks, "runtime.pprof_registered").status,
            Status::Pass
        );
        let mut f = ready_facts();
        f.pprof_found = true;
        let checks = evaluate(&f, &RuleOptions::default());
        assert_ne!(
            find(&checks, "runtime.pprof_registered").status,
            Status::Pass
        );
    }

    #[test]
    fn heap_budget_pass_needs_memstats() {
        let opts = RuleOptions {
            max_heap_mb: Some(64.0),
            ..RuleOptions::default()
        };
        let mut f = ready_facts();
        f.pprof_found = true;
        let checks = evaluate(&f, &opts);
        assert_ne!(find(&checks, "runtime.heap_budget").status, Status::Pass);
        f.memstats = Some(endpoints::MemStats {
            heap_inuse: 3 << 20,
            heap_alloc: 2 << 20,
            heap_objects: 1234,
            ..endpoints::MemStats::default()
        });
        let c = find(&evaluate(&f, &opts), "runtime.heap_budget").clone();
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(
            c.message.contains("HeapInuse 3.0 MiB") && c.message.contains("1234 objects"),
            "{}",
            c.message
        );
    }

    #[test]
    fn load_pass_needs_requests_that_were_answered() {
        let opts = RuleOptions {
            load: true,
            ..RuleOptions::default()
        };
        let mut f = ready_facts();
        f.load = Some(load_stats(0, 0));
        let c = find(&evaluate(&f, &opts), "runtime.load").clone();
        assert_eq!(c.status, Status::Skip, "{}", c.message);
        f.load = Some(load_stats(200, 0));
        let c = find(&evaluate(&f, &opts), "runtime.load").clone();
        assert_eq!(c.status, Status::Fail, "{}", c.message);
        f.load = Some(load_stats(200, 200));
        let c = find(&evaluate(&f, &opts), "runtime.load").clone();
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(
            c.message
                .contains("200 of 200 × GET /hello answered 2xx in 321 ms"),
            "{}",
            c.message
        );
    }

    #[test]
    fn latency_pass_needs_answered_requests() {
        let budget = Some(std::time::Duration::from_millis(50));
        let c = || Check::of(&ids::RUNTIME_LATENCY);
        let none = super::super::load::judge_latency(None, budget, c()).unwrap();
        assert_eq!(none.status, Status::Skip);
        let unanswered = load_stats(200, 0);
        let c0 = super::super::load::judge_latency(Some(&unanswered), budget, c()).unwrap();
        assert_eq!(c0.status, Status::Skip, "{}", c0.message);
        let answered = load_stats(200, 200);
        let ok = super::super::load::judge_latency(Some(&answered), budget, c()).unwrap();
        assert_eq!(ok.status, Status::Pass, "{}", ok.message);
        assert!(
            ok.message.contains("p99 4.25 ms") && ok.message.contains("200 answers"),
            "{}",
            ok.message
        );
    }

    #[test]
    fn memlimit_pass_needs_a_cgroup_limit_and_gomemlimit() {
        let checks = evaluate(&ready_facts(), &RuleOptions::default());
        assert_eq!(find(&checks, "runtime.memlimit").status, Status::Skip);
        let mut f = ready_facts();
        f.memlimit = Some(MemLimitFacts {
            cgroup: None,
            gomemlimit: Some("100MiB".into()),
        });
        let checks = evaluate(&f, &RuleOptions::default());
        assert_eq!(find(&checks, "runtime.memlimit").status, Status::Skip);
        let ok = memlimit_check(Some(512 << 20), Some("460MiB"));
        assert!(
            ok.message.contains("GOMEMLIMIT=460MiB") && ok.message.contains("90%"),
            "{}",
            ok.message
        );
    }

    #[test]
    fn shutdown_pass_needs_a_stop_that_was_watched() {
        let checks = evaluate(&ready_facts(), &RuleOptions::default());
        assert!(checks.iter().all(|c| c.id != "runtime.shutdown"));
        let mut gone = stop(code(0), true);
        gone.exited_before_stop = true;
        assert_eq!(shutdown_check(gone).status, Status::Skip);
        let clean = shutdown_check(stop(code(0), true));
        assert!(
            clean.message.contains("exited 0 12 ms after SIGTERM"),
            "{}",
            clean.message
        );
        // Without a measured exit time the pass does not invent one.
        let mut untimed = stop(code(0), true);
        untimed.main_exit_ms = None;
        let c = shutdown_check(untimed);
        assert!(!c.message.contains(" ms after"), "{}", c.message);
    }

    /// A CPU profile as Go writes one (samples/count, cpu/nanoseconds), with `samples`
    /// samples in `main.spin`.
    fn cpu_profile(samples: usize) -> Vec<u8> {
        crate::pprof::sample_profiles::one_function(
            [("samples", "count"), ("cpu", "nanoseconds")],
            "main.spin",
            samples,
            [1, 10_000_000],
            Some(10_000_000),
        )
    }

    #[test]
    fn cpu_pass_needs_samples() {
        let c = || Check::of(&ids::RUNTIME_CPU).target("svc");
        let (empty, ranking) = cpu::cpu_check(&cpu_profile(0), 5, 10, c());
        assert_eq!(empty.status, Status::Skip, "{}", empty.message);
        assert!(ranking.is_none());
        let (full, _) = cpu::cpu_check(&cpu_profile(7), 5, 10, c());
        assert_eq!(full.status, Status::Pass, "{}", full.message);
        assert!(
            full.message.contains("in 7 sample(s) of 5 s") && full.message.contains("main.spin"),
            "{}",
            full.message
        );
        // No profile at all: not evaluated.
        let opts = RuleOptions {
            load: true,
            ..RuleOptions::default()
        };
        let mut f = ready_facts();
        f.load = Some(load_stats(10, 10));
        let checks = evaluate(&f, &opts);
        assert_ne!(find(&checks, "runtime.cpu").status, Status::Pass);
        // An empty profile against a baseline: the comparison is a skip that says why, not
        // left out of the report.
        let opts = RuleOptions {
            baseline: Some("base.json".into()),
            ..opts
        };
        f.profiles.insert("cpu".into(), cpu_profile(0));
        f.cpu_seconds = Some(5);
        let checks = evaluate(&f, &opts);
        let compared = find(&checks, "runtime.cpu_regression");
        assert_eq!(compared.status, Status::Skip, "{}", compared.message);
        assert!(
            compared.message.contains("nothing to rank"),
            "{}",
            compared.message
        );
    }

    #[test]
    fn contention_pass_needs_samples() {
        let c = || Check::of(&ids::RUNTIME_CONTENTION);
        let none = cpu::contention(&[("mutex", None), ("block", None)], 10, c());
        assert_eq!(none.status, Status::Skip);
        let empty = cpu_profile(0);
        let zero = cpu::contention(&[("mutex", Some(&empty)), ("block", None)], 10, c());
        assert_eq!(zero.status, Status::Skip, "{}", zero.message);
    }
}
