//! The terminal rendering of a probe's facts, printed before the checks.

use std::fmt::Write;

use super::gather::ProbeFacts;
use super::service::Readiness;

/// What goready saw of the running service: command, sockets, pprof endpoints, heap, GC,
/// load and the stop.
pub fn facts_table(f: &ProbeFacts) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "service   {}", f.target);
    if !f.command.is_empty() {
        let _ = writeln!(out, "command   {}", f.command.join(" "));
    }
    let _ = writeln!(out, "addr      {{addr}} {}  {{admin}} {}", f.addr, f.admin);
    if let Some(port) = f.public_port {
        let _ = writeln!(out, "public    port {port}");
    }
    if let Some(pid) = f.pid {
        let _ = writeln!(out, "pid       {pid}");
    }
    match &f.readiness {
        Some(Readiness::Ready { after_ms, url, tls }) => {
            let tls = tls
                .map(|t| format!(" ({})", t.describe()))
                .unwrap_or_default();
            let _ = writeln!(out, "ready     after {after_ms} ms at {url}{tls}");
        }
        Some(Readiness::Exited { after_ms, exit }) => {
            let _ = writeln!(out, "exited    after {after_ms} ms, {}", exit.description);
        }
        Some(Readiness::TimedOut { after_ms, .. }) => {
            let _ = writeln!(out, "not ready after {after_ms} ms");
        }
        None => {}
    }
    for p in &f.processes {
        let _ = writeln!(
            out,
            "process   {} {} (parent {}){}",
            p.pid,
            p.comm,
            p.ppid,
            p.exe
                .as_deref()
                .map(|e| format!(" {e}"))
                .unwrap_or_default()
        );
    }
    for s in &f.sockets {
        let answer = s
            .answer
            .as_ref()
            .map(|a| {
                let status = a.status.map(|s| format!("{s} ")).unwrap_or_default();
                format!("{status}{}", a.class.describe())
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "listen    {:<40} /debug/pprof/: {answer}",
            s.describe()
        );
    }
    if let Some(p) = &f.pprof {
        let _ = writeln!(
            out,
            "pprof     {}{}",
            p.url,
            if f.pprof_found { "" } else { " (not pprof)" }
        );
        for e in std::iter::once(&p.index).chain(&p.endpoints) {
            let status = e
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into());
            let size = match e.decoded_bytes {
                Some(d) => format!("{} B ({d} B gunzipped)", e.bytes),
                None => format!("{} B", e.bytes),
            };
            let _ = writeln!(
                out,
                "  {:<22} {status:>3}  {:<40} {size}, {} ms",
                e.name,
                e.class.describe(),
                e.ms
            );
        }
    }
    if let Some(m) = &f.memstats {
        let _ = writeln!(
            out,
            "heap      HeapInuse {} B, HeapAlloc {} B, {} objects, Sys {} B, NumGC {}",
            m.heap_inuse, m.heap_alloc, m.heap_objects, m.sys, m.num_gc
        );
    }
    if let Some(g) = &f.gctrace {
        let _ = writeln!(out, "gctrace   {}", g.summary());
    }
    if let Some(l) = &f.load {
        let _ = writeln!(
            out,
            "load      {} × {}: {} ok, {} errors, {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms",
            l.requested, l.request, l.ok, l.errors, l.rps, l.p50_ms, l.p99_ms
        );
    }
    if let Some(s) = &f.stop {
        let exit = s
            .exit
            .as_ref()
            .map(|e| e.description.as_str())
            .unwrap_or("?");
        let how = if s.graceful {
            "after SIGTERM".to_string()
        } else {
            format!("SIGKILL to {}", s.killed.join(", "))
        };
        let _ = writeln!(out, "stopped   {exit}, {how}");
    }
    for (name, path) in &f.artifacts {
        let _ = writeln!(out, "artifact  {name}: {path}");
    }
    out.push('\n');
    out
}
