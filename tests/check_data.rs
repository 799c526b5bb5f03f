//! Check data is typed (`goready::model::CheckData`) and its JSON keeps the goready/v1 shape:
//! result files written by goready 0.1.0 before the data was typed (real runs of `env`,
//! `inspect`, `build`, `test` and `probe`, kept in tests/fixtures/results/goready-0.1.0/)
//! read into the typed variant of each rule and write back the same `data` object; a fresh
//! `goready inspect` of real Go builds round-trips byte for byte; and the job summary's
//! columns come from the typed fields, not from the message.

mod common;
mod reportkit;

use std::path::{Path, PathBuf};

use goready::model::{CheckData, Report};
use serde_json::Value;

/// The result files goready 0.1.0 wrote.
fn old_results() -> Vec<PathBuf> {
    let dir = common::repo().join("tests/fixtures/results/goready-0.1.0");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn raw(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Where two JSON values differ, as `path: old → new` lines.
fn differences(at: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let (x, y) = (a.get(key), b.get(key));
                match (x, y) {
                    (Some(x), Some(y)) => differences(&format!("{at}.{key}"), x, y, out),
                    _ => out.push(format!("{at}.{key}: {x:?} → {y:?}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{at}[{i}]"), x, y, out);
            }
        }
        // 6 and 6.0 are one number to every JSON reader.
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        _ if old == new => {}
        _ => out.push(format!("{at}: {old} → {new}")),
    }
}

#[test]
fn result_files_of_goready_0_1_0_read_into_typed_data_and_write_the_same_data_back() {
    let files = old_results();
    assert!(files.len() >= 5, "{files:?}");
    let mut typed = std::collections::BTreeSet::new();
    for path in &files {
        let raw = raw(path);
        let report = Report::read_json(path).unwrap();
        let checks = raw["checks"].as_array().unwrap();
        assert_eq!(checks.len(), report.checks.len(), "{}", path.display());
        for (old, new) in checks.iter().zip(&report.checks) {
            let id = old["id"].as_str().unwrap();
            assert_eq!(id, new.id);
            let Some(data) = old.get("data") else {
                assert!(new.data.is_none(), "{id}: no data became {:?}", new.data);
                continue;
            };
            assert!(
                CheckData::IDS.contains(&id),
                "{}: {id} writes data but has no CheckData variant",
                path.display()
            );
            assert!(
                !new.data.is_none(),
                "{}: {id}'s data did not read as its variant: {data}",
                path.display()
            );
            typed.insert(id.to_string());
            let back = serde_json::to_value(&new.data).unwrap();
            let mut diffs = Vec::new();
            differences("data", data, &back, &mut diffs);
            assert!(
                diffs.is_empty(),
                "{}: {id}'s data changed shape on the way through its type:\n{}",
                path.display(),
                diffs.join("\n")
            );
        }
    }
    // Every suite's data is in the fixtures, the renderers' favourites included.
    for id in [
        "binary.static",
        "binary.buildinfo",
        "binary.version",
        "env.goflags",
        "build.compile",
        "build.reproducible",
        "test.go_test",
        "test.build",
        "runtime.allocs",
        "runtime.cpu",
        "runtime.heap_growth",
        "runtime.alloc_regression",
        "runtime.contention",
    ] {
        assert!(
            typed.contains(id),
            "no {id} data in the fixtures: {typed:?}"
        );
    }
}

#[test]
fn a_fresh_inspect_of_real_builds_round_trips_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = reportkit::binary_report(dir.path());
    let report = Report::read_json(&path).unwrap();
    let readable: Vec<u64> = report
        .checks
        .iter()
        .filter_map(|c| match &c.data {
            CheckData::BinaryReadable(r) => Some(r.size),
            _ => None,
        })
        .collect();
    // Both binaries: their size as `ls -l` has it.
    let sizes: Vec<u64> = report
        .checks
        .iter()
        .filter(|c| c.id == "binary.readable")
        .map(|c| {
            std::fs::metadata(c.target.as_deref().unwrap())
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(readable.len(), 2, "{readable:?}");
    assert_eq!(readable, sizes);
    let again = dir.path().join("again.json");
    report.write_json(&again).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        std::fs::read_to_string(&again).unwrap()
    );
}

#[test]
fn the_job_summary_reads_the_old_files_typed_data() {
    // goready 0.1.0's result files, merged and rendered by this goready: the binary matrix's
    // columns, the allocation table and the soak chart come from the typed data.
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let mut cmd = common::goready();
    cmd.arg("report").args(old_results()).arg("--github");
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("### Binary matrix"), "{md}");
    assert!(md.contains("### Top allocation sites"), "{md}");
    assert!(md.contains("| 1 | main.keepRequest |"), "{md}");
    assert!(
        md.contains("### Soak: after each round's forced GC"),
        "{md}"
    );
    // binary.version's expected version and binary.buildinfo's Go version reach their
    // columns (the size is blank: 0.1.0 did not record it).
    let row = md
        .lines()
        .find(|l| l.starts_with("| /tmp/oldres/plain-cgo |"))
        .unwrap_or_else(|| panic!("no matrix row for the cgo build: {md}"));
    assert_eq!(
        row,
        "| /tmp/oldres/plain-cgo |  | ✅ static | ❌ no | ❌ 1.2.3 missing | go1.26.8 |"
    );
}

/// What the `result` fuzz target does with one input (fuzz/fuzz_targets/result.rs): read,
/// judge, render, write back and read again to the same JSON.
fn read_render_and_write_back(bytes: &[u8]) -> Option<Report> {
    let mut report = serde_json::from_slice::<Report>(bytes).ok()?;
    goready::model::findings::judge(&mut report, goready::registry::find, None, false);
    let opts = goready::report::markdown::Options {
        fail_on: goready::model::Severity::Error,
        max_bytes: 65_536,
        full_report_url: None,
        marker: None,
    };
    std::hint::black_box(goready::report::markdown::render(&report, &opts));
    let written = serde_json::to_string(&report).unwrap();
    let again: Report = serde_json::from_str(&written).unwrap();
    assert_eq!(serde_json::to_string(&again).unwrap(), written);
    Some(report)
}

#[test]
fn hostile_data_reads_as_no_data_and_never_fails_the_file() {
    let check = |id: &str, data: &str| {
        format!(
            r#"{{"schema":"goready/v1","tool":{{"name":"goready","version":"9"}},"checks":[{{"id":"{id}","suite":"x","status":"fail","severity":"error","title":"t","message":"m","fingerprint":"f","data":{data}}}]}}"#
        )
    };
    let deep = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
    for (id, data, typed) in [
        ("binary.static", r#"{"linkage": "sideways"}"#, false),
        ("binary.static", r#"{"needed": "libc.so.6"}"#, false),
        ("binary.buildinfo", r#"{"main": {"path": 1}}"#, false),
        ("binary.buildinfo", r#"{"deps": -1}"#, false),
        (
            "runtime.heap_growth",
            r#"{"rounds": [{"heap_inuse": -5}]}"#,
            false,
        ),
        (
            "runtime.heap_growth",
            r#"{"rounds": [{"heap_inuse": 1e300}]}"#,
            false,
        ),
        (
            "runtime.heap_growth",
            r#"{"trend": null, "rounds": []}"#,
            true,
        ),
        (
            "runtime.allocs",
            r#"{"rankings": [{"rows": [{"function": "f"}]}]}"#,
            false,
        ),
        (
            "runtime.allocs",
            r#"{"rankings": [{"rows": []}], "unknown": [1, 2]}"#,
            true,
        ),
        ("runtime.load", r#"{"anything": {"goes": [true]}}"#, true),
        ("binary.vuln", r#"{"id": "GO-2024-0001"}"#, false),
        ("env.goflags", r#""-mod=mod""#, false),
        ("env.goflags", "[1, 2]", false),
        ("env.goflags", &deep, true),
        ("no.such_rule", r#"{"GOFLAGS": "x"}"#, false),
    ] {
        let json = check(id, data);
        let report = read_render_and_write_back(json.as_bytes())
            .unwrap_or_else(|| panic!("{id} {data}: the file did not read"));
        assert_eq!(
            !report.checks[0].data.is_none(),
            typed,
            "{id} {data}: {:?}",
            report.checks[0].data
        );
    }
    // The real files are read, rendered and written back stably too (the fuzz seeds).
    for path in old_results() {
        read_render_and_write_back(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|| panic!("{} did not read", path.display()));
    }
}
