//! Before/after comparisons on real services: `runtime.cpu_regression` and
//! `runtime.alloc_regression` against a baseline taken from the same code report nothing,
//! while a function planted in the handler (the runtime fixture's `-mode burn`, which burns
//! CPU in `main.burnCPU`, and `-mode keep`, which allocates 4 KiB per request in
//! `main.keepRequest`) is reported by name every time. The fixture is built once (with the
//! other services); every probe is checked to leave no process behind. The sample counts the
//! verdicts rest on are cross-checked with `go tool pprof`.

#![cfg(unix)]

mod common;

use std::path::Path;

use common::pprof::{IGNORE_PROFILER, go_rows};
use common::probe::{Run, probe_in};
use common::{repo, service};
use serde_json::Value;

fn runtime_svc(mode: &str) -> String {
    format!(
        "'{}' -mode {mode} --addr {{addr}} --admin {{admin}}",
        service("svc-runtime").display()
    )
}

/// A probe of the runtime fixture in `mode` with load and a 2 s soak (the CPU profile covers
/// it), profiles saved under `artifacts`, compared with `baseline` when given.
fn probe(mode: &str, artifacts: &Path, baseline: Option<&Path>) -> Run {
    probe_to(mode, artifacts, baseline, None)
}

/// [`probe`], its result file also written to `json`.
fn probe_to(mode: &str, artifacts: &Path, baseline: Option<&Path>, json: Option<&Path>) -> Run {
    let exec = runtime_svc(mode);
    let mut args = vec![
        "--exec",
        exec.as_str(),
        "--load",
        "GET /hello",
        "--requests",
        "200",
        "--soak",
        "2s",
        "--artifacts",
        artifacts.to_str().unwrap(),
    ];
    if let Some(b) = baseline {
        args.extend(["--baseline", b.to_str().unwrap()]);
    }
    if let Some(j) = json {
        args.extend(["--json", j.to_str().unwrap()]);
    }
    probe_in(&repo(), &args)
}

fn checks<'a>(run: &'a Run, id: &str) -> Vec<&'a Value> {
    run.json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

/// The CPU samples in a saved profile, the profiler's own left out, as `go tool pprof`
/// counts them: the sum of the flat `samples` column over every node.
fn go_cpu_samples(file: &Path) -> u64 {
    let (rows, _) = go_rows("samples", &["-nodefraction=0", IGNORE_PROFILER], file);
    rows.iter().map(|r| r.flat as u64).sum()
}

/// The steady fixture's result file, written as the base branch's probe would be.
fn baseline(dir: &Path) -> (std::path::PathBuf, u64) {
    let art = dir.join("base-art");
    let path = dir.join("base.json");
    let run = probe_to("steady", &art, None, Some(&path));
    assert_eq!(run.status("runtime.cpu"), "pass", "{}", run.stderr);
    let events = run.check("runtime.cpu")["data"]["shares"][0]["events"]
        .as_u64()
        .unwrap_or_else(|| panic!("runtime.cpu records no events: {}", run.stdout));
    assert_eq!(events, go_cpu_samples(&art.join("cpu.pb.gz")));
    (path, events)
}

#[test]
fn comparisons_flag_a_planted_hot_function_every_time_and_never_the_same_code() {
    let dir = tempfile::tempdir().unwrap();
    let (base, base_events) = baseline(dir.path());

    // The same code twice against its own baseline: both comparisons pass, with their
    // evidence: the sample counts of both sides, the new side's as go tool pprof counts it.
    for i in 0..2 {
        let art = dir.path().join(format!("same-{i}"));
        let run = probe("steady", &art, Some(&base));
        for id in ["runtime.cpu_regression", "runtime.alloc_regression"] {
            assert_eq!(
                run.status(id),
                "pass",
                "run {i}, {id}: {}\n{}",
                run.message(id),
                run.stderr
            );
        }
        let cpu = run.check("runtime.cpu_regression");
        let new_events = go_cpu_samples(&art.join("cpu.pb.gz"));
        assert_eq!(cpu["data"]["old_events"].as_u64(), Some(base_events));
        assert_eq!(cpu["data"]["new_events"].as_u64(), Some(new_events));
        let m = run.message("runtime.cpu_regression");
        assert!(
            m.contains(&format!(", {base_events}/{new_events} samples)")),
            "{m}"
        );
        assert!(
            m.contains("beyond the noise") && m.contains("99% confidence"),
            "{m}"
        );
        let a = run.check("runtime.alloc_regression");
        assert!(a["data"]["new_events"].as_u64().unwrap() > 0, "{a}");
    }

    // A function planted in the handler burns most of the CPU: a failing check names it,
    // with both shares and their margins, every run.
    for i in 0..2 {
        let art = dir.path().join(format!("burn-{i}"));
        let run = probe("burn", &art, Some(&base));
        let failing: Vec<&Value> = checks(&run, "runtime.cpu_regression")
            .into_iter()
            .filter(|c| c["status"] == "fail")
            .collect();
        let burn = failing
            .iter()
            .find(|c| c["target"] == "main.burnCPU")
            .unwrap_or_else(|| panic!("run {i}: main.burnCPU not flagged: {}", run.stdout));
        let d = &burn["data"];
        assert!(d["old_share"].as_f64().unwrap() < 1.0, "{d}");
        assert!(d["lower_bound"].as_f64().unwrap() > 10.0, "{d}");
        assert!(
            d["new_share"].as_f64().unwrap() - d["lower_bound"].as_f64().unwrap() > 0.0,
            "{d}"
        );
        let m = burn["message"].as_str().unwrap();
        assert!(m.starts_with("main.burnCPU: share of cpu 0.0% ± "), "{m}");
        assert!(m.contains(" samples (+") && m.contains("more than"), "{m}");
    }

    // 4 KiB kept per request: the allocation comparison names the site.
    let art = dir.path().join("keep");
    let run = probe("keep", &art, Some(&base));
    let keep = checks(&run, "runtime.alloc_regression")
        .into_iter()
        .find(|c| c["status"] == "fail" && c["target"] == "main.keepRequest")
        .unwrap_or_else(|| panic!("main.keepRequest not flagged: {}", run.stdout));
    assert!(
        keep["message"]
            .as_str()
            .unwrap()
            .contains(" heap samples (+"),
        "{keep}"
    );

    // A baseline written before sample counts were recorded: not evaluated, never guessed.
    let mut old: Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    for c in old["checks"].as_array_mut().unwrap() {
        if let Some(shares) = c["data"]["shares"].as_array_mut() {
            for s in shares {
                s.as_object_mut().unwrap().remove("events");
            }
        }
    }
    let old_path = dir.path().join("old-base.json");
    std::fs::write(&old_path, serde_json::to_vec(&old).unwrap()).unwrap();
    let run = probe("burn", &dir.path().join("old"), Some(&old_path));
    for id in ["runtime.cpu_regression", "runtime.alloc_regression"] {
        assert_eq!(run.status(id), "skip", "{id}: {}", run.message(id));
        let m = run.message(id);
        assert!(
            m.contains("not evaluated") && m.contains("no sample counts"),
            "{m}"
        );
        assert_eq!(checks(&run, id).len(), 1);
    }
}
