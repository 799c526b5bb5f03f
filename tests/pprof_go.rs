//! `goready pprof` on real profiles written by real Go programs, cross-checked row by row
//! and value by value against `go tool pprof -top` on the same files.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::pprof::{IGNORE_PROFILER, Row, dropped, go_pprof, go_rows, rows_of};
use common::{Spec, build, fixture_dir, run_goready, run_ok};
use goready::pprof::{Profile, flame};
use serde_json::Value;

const HOST_ARCH: &str = if cfg!(target_arch = "aarch64") {
    "arm64"
} else {
    "amd64"
};

/// The profiles the allocs fixture writes: a base run (after three scrapes of its own, so
/// the profiler's allocations are in it) and a run where one site allocates 10x more.
struct Profiles {
    base: PathBuf,
    grown: PathBuf,
    memprofile: PathBuf,
    /// The base run sampled as services are (one allocation per 512 KiB on average), and
    /// the same snapshot in the legacy text format, whose counts are the raw sampled ones.
    sampled: PathBuf,
    sampled_text: PathBuf,
}

fn profiles() -> &'static Profiles {
    static P: OnceLock<Profiles> = OnceLock::new();
    P.get_or_init(|| {
        let bin = build(&Spec {
            name: "allocs",
            src: "tests/fixtures/allocs",
            goos: std::env::consts::OS,
            goarch: HOST_ARCH,
            cgo: false,
            flags: &[],
        });
        let dir = fixture_dir().join("pprof-profiles");
        std::fs::create_dir_all(&dir).unwrap();
        let base = dir.join("base.pb.gz");
        let grown = dir.join("grown.pb.gz");
        run_ok(
            Command::new(&bin)
                .arg("-o")
                .arg(&base)
                .args(["-scrapes", "3"]),
        );
        run_ok(
            Command::new(&bin)
                .arg("-o")
                .arg(&grown)
                .args(["-mode", "grown", "-scrapes", "3"]),
        );
        // `go test -memprofile`, every allocation recorded.
        let memprofile = dir.join("mem.out");
        run_ok(
            Command::new("go")
                .current_dir(common::repo().join("tests/fixtures/memprof"))
                .args([
                    "test",
                    "-buildvcs=false",
                    "-count=1",
                    "-run",
                    "TestAllocations",
                ])
                .arg(format!("-memprofile={}", memprofile.display()))
                .arg("-memprofilerate=1")
                .arg("-o")
                .arg(dir.join("memprof.test"))
                .arg(".")
                .env("GOFLAGS", "-buildvcs=false")
                .env("GOTOOLCHAIN", "local"),
        );
        let sampled = dir.join("sampled.pb.gz");
        let sampled_text = dir.join("sampled.txt");
        run_ok(
            Command::new(&bin)
                .arg("-o")
                .arg(&sampled)
                .arg("-text")
                .arg(&sampled_text)
                .env("ALLOCS_RATE", "524288"),
        );
        Profiles {
            base,
            grown,
            memprofile,
            sampled,
            sampled_text,
        }
    })
}

/// goready's JSON for one sample type.
fn ours(file: &Path, sample_index: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "pprof",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--top",
        "0",
        "--sample-index",
        sample_index,
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run_goready(&args);
    assert_eq!(code, 0, "goready pprof failed: {stderr}\n{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

fn our_rows(doc: &Value) -> Vec<Row> {
    rows_of(&doc["rankings"][0])
}

fn assert_same_ranking(file: &Path, sample_index: &str, go_extra: &[&str], our_extra: &[&str]) {
    let (want, header) = go_rows(sample_index, go_extra, file);
    let doc = ours(file, sample_index, our_extra);
    let got = our_rows(&doc);
    assert!(
        want.len() >= 5,
        "too small a table to prove anything: {want:?}"
    );
    assert_eq!(
        got,
        want,
        "{sample_index} of {}: goready (left) vs go tool pprof (right)",
        file.display()
    );
    let ranking = &doc["rankings"][0];
    assert_eq!(ranking["sample_type"]["type"], sample_index);
    assert_eq!(ranking["dropped_nodes"].as_u64().unwrap(), dropped(&header));
}

#[test]
fn allocs_profile_top_equals_go_tool_pprof_on_alloc_space_and_alloc_objects() {
    let p = profiles();
    for file in [&p.base, &p.grown] {
        for si in ["alloc_space", "alloc_objects"] {
            assert_same_ranking(file, si, &[], &["--keep-profiler-frames"]);
        }
    }
}

#[test]
fn allocs_profile_has_the_fixture_sites_with_exact_values() {
    let p = profiles();
    let profile = Profile::parse(&std::fs::read(&p.base).unwrap()).unwrap();
    let top = profile.top(profile.sample_index(Some("alloc_space")).unwrap(), 0);
    let row = |name: &str| {
        top.rows
            .iter()
            .find(|r| r.function == name)
            .unwrap_or_else(|| panic!("{name} not ranked: {:?}", top.rows))
    };
    // MemProfileRate=1: exact values. 200 inlined makeBuf(4096) calls, flat in makeBuf
    // (the innermost inlined frame), cum of its caller covers it.
    assert_eq!(row("main.makeBuf").flat, 200 * 4096);
    assert_eq!(
        row("main.makeBuf").inline,
        Some(goready::pprof::top::Inline::Inline)
    );
    assert_eq!(row("main.viaInline").flat, 0);
    assert_eq!(row("main.viaInline").cum, 200 * 4096);
    // recursive(6), 20 times: 6 × 2 KiB + 8 KiB per call (and a few bytes of runtime
    // bookkeeping); recursion counted once, so cum is flat, not seven times it.
    let recursive = row("main.recursive");
    let want = 20 * (6 * 2048 + 8192);
    assert!(
        (want..want + 1024).contains(&recursive.flat),
        "{}",
        recursive.flat
    );
    assert_eq!(recursive.cum, recursive.flat);
    assert!(row("main.allocLarge").flat >= 40 * (64 << 10));
}

#[test]
fn text_table_is_the_same_text_as_go_tool_pprof_prints() {
    let p = profiles();
    let (code, stdout, stderr) = run_goready(&[
        "pprof",
        p.base.to_str().unwrap(),
        "--top",
        "0",
        "--keep-profiler-frames",
        "--sample-index",
        "alloc_space",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (header, table) = go_pprof(&["-sample_index=alloc_space"], &p.base);
    let ours: Vec<&str> = stdout.lines().collect();
    let at = ours
        .iter()
        .position(|l| l.trim_start().starts_with("flat  flat%"))
        .unwrap();
    let our_table: Vec<&str> = ours[at + 1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    assert_eq!(our_table, table);
    for line in header
        .iter()
        .filter(|l| l.starts_with("Showing") || l.starts_with("Dropped") || l.starts_with("Type"))
    {
        assert!(
            ours.contains(&line.as_str()),
            "missing {line:?} in\n{stdout}"
        );
    }
    // File and build id, as pprof prints them from mapping[0].
    for key in ["File: ", "Build ID: "] {
        let line = header.iter().find(|l| l.starts_with(key)).unwrap();
        assert!(ours.contains(&line.as_str()), "missing {line:?}");
    }
}

#[test]
fn profiler_scrape_is_left_out_like_go_tool_pprof_ignore() {
    let p = profiles();
    let ignore = IGNORE_PROFILER;
    for si in ["alloc_space", "alloc_objects"] {
        assert_same_ranking(&p.base, si, &["-relative_percentages", ignore], &[]);
    }
    let doc = ours(&p.base, "alloc_space", &[]);
    let left_out = &doc["rankings"][0]["left_out"];
    assert!(left_out["samples"].as_u64().unwrap() > 0, "{left_out}");
    let rows = our_rows(&doc);
    assert!(rows.iter().all(|r| !r.name.starts_with("runtime/pprof.")));
    // Without the filter the scrape ranks among the service's sites.
    let all = our_rows(&ours(&p.base, "alloc_space", &["--keep-profiler-frames"]));
    assert!(all.iter().any(|r| r.name.starts_with("runtime/pprof.")));
    // Percentages are of what is left, as with -relative_percentages.
    let (_, table) = go_pprof(
        &["-sample_index=alloc_space", "-relative_percentages", ignore],
        &p.base,
    );
    let first = &doc["rankings"][0]["rows"][0];
    let go_pct: f64 = table[0]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!((first["flat_pct"].as_f64().unwrap() - go_pct).abs() < 0.01);
    // The check's message says what was left out.
    let check = &doc["checks"][0];
    assert_eq!(check["id"], "runtime.allocs");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("profiler's own scrape")
    );
}

#[test]
fn go_test_memprofile_top_equals_go_tool_pprof() {
    let p = profiles();
    for si in ["alloc_space", "alloc_objects"] {
        assert_same_ranking(&p.memprofile, si, &[], &["--keep-profiler-frames"]);
    }
    // Without -sample_index both default to alloc_space.
    let profile = Profile::parse(&std::fs::read(&p.memprofile).unwrap()).unwrap();
    let (_, header) = go_rows("", &[], &p.memprofile);
    assert!(
        header.contains(&"Type: alloc_space".to_string()),
        "{header:?}"
    );
    assert_eq!(
        profile.sample_types[profile.sample_index(None).unwrap()].ty,
        "alloc_space"
    );
}

#[test]
fn grown_allocation_site_fails_alloc_regression_with_old_and_new_share() {
    let p = profiles();
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("result.json");
    let (code, stdout, stderr) = run_goready(&[
        "pprof",
        p.grown.to_str().unwrap(),
        "--base",
        p.base.to_str().unwrap(),
        "--max-alloc-growth",
        "10",
        "--json",
        result.to_str().unwrap(),
    ]);
    // A warning: the default --fail-on error lets it pass, --fail-on warning does not.
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "runtime.alloc_regression" && c["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    let check = failed[0];
    assert_eq!(check["target"], "main.makeBuf");
    let data = &check["data"];
    // viaInline(2000) more: makeBuf's flat grows by 2000 × 4 KiB (plus, at times, a few
    // bytes the runtime allocates on the same stack).
    let grew = data["new_flat"].as_i64().unwrap() - data["old_flat"].as_i64().unwrap();
    assert!((2000 * 4096..2001 * 4096).contains(&grew), "{grew}");
    let (old, new) = (
        data["old_share"].as_f64().unwrap(),
        data["new_share"].as_f64().unwrap(),
    );
    assert!(new - old > 10.0, "{old} → {new}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("main.makeBuf") && message.contains('→'),
        "{message}"
    );
    assert!(stdout.contains("\nwarning "), "{stdout}");

    let (code, _, _) = run_goready(&[
        "pprof",
        p.grown.to_str().unwrap(),
        "--base",
        p.base.to_str().unwrap(),
        "--fail-on",
        "warning",
    ]);
    assert_eq!(code, 1);
}

/// The sampled allocations goready recovers from a profile's scaled values (what the
/// comparisons' noise is measured in) are the raw counts Go itself kept: the legacy text
/// profile of the same snapshot prints them unscaled in its header,
/// `heap profile: I: IB [A: AB] @ heap/2·rate`, A being the sampled allocations.
#[test]
fn sampled_allocations_recovered_from_scaled_values_match_gos_raw_counts() {
    let p = profiles();
    let text = std::fs::read_to_string(&p.sampled_text).unwrap();
    let header = text.lines().next().unwrap();
    let raw: u64 = header
        .split('[')
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("no alloc count in {header:?}"));
    assert!(header.ends_with("@ heap/1048576"), "{header}");
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("r.json");
    let (code, _, stderr) = run_goready(&[
        "pprof",
        p.sampled.to_str().unwrap(),
        "--keep-profiler-frames",
        "--json",
        result.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    let allocs = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "runtime.allocs")
        .unwrap();
    let events: Vec<u64> = allocs["data"]["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["events"].as_u64().unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{allocs}");
    // Go truncates each scaled value to an integer, so the inversion may be a little off on
    // large profiles; on this one it rounds back exactly.
    for e in events {
        assert!(e.abs_diff(raw) <= raw / 100, "{e} vs {raw}");
    }
}

#[test]
fn alloc_regression_reads_the_base_from_an_earlier_result_file() {
    let p = profiles();
    let dir = tempfile::tempdir().unwrap();
    let base_result = dir.path().join("base.json");
    let (code, _, stderr) = run_goready(&[
        "pprof",
        p.base.to_str().unwrap(),
        "--json",
        base_result.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let doc = ours(
        &p.grown,
        "alloc_space",
        &["--base", base_result.to_str().unwrap()],
    );
    let checks = doc["checks"].as_array().unwrap();
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c["id"] == "runtime.alloc_regression" && c["status"] == "fail")
        .map(|c| c["target"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["main.makeBuf"]);

    // The same profile against itself passes.
    let doc = ours(
        &p.base,
        "alloc_space",
        &["--base", base_result.to_str().unwrap()],
    );
    let regression: Vec<&Value> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "runtime.alloc_regression")
        .collect();
    assert_eq!(regression.len(), 1);
    assert_eq!(regression[0]["status"], "pass", "{}", regression[0]);
}

#[test]
fn flame_graph_is_an_svg_of_the_profiles_stacks() {
    let p = profiles();
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("allocs.svg");
    let (code, _, stderr) = run_goready(&[
        "pprof",
        p.base.to_str().unwrap(),
        "--flame",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<?xml") && text.contains("<svg"),
        "not an SVG"
    );
    assert!(text.contains("main.allocLarge"));
    // The scrape was left out of the picture as it was of the table.
    assert!(!text.contains("runtime/pprof.writeHeapProto"));

    // Folded stacks carry every positive value once, root first, inlined frames marked.
    let mut profile = Profile::parse(&std::fs::read(&p.base).unwrap()).unwrap();
    profile.drop_samples_with_frames(goready::pprof::profile_rules::PROFILER_FRAMES);
    let si = profile.sample_index(Some("alloc_space")).unwrap();
    let stacks = flame::folded_stacks(&profile, si);
    let sum: u64 = stacks.iter().map(|(_, v)| v).sum();
    assert_eq!(sum as i64, profile.totals()[si]);
    assert!(
        stacks
            .iter()
            .any(|(s, _)| s.ends_with("main.main;main.work;main.viaInline;main.makeBuf_[i]")),
        "{:?}",
        &stacks[..stacks.len().min(5)]
    );
}

#[test]
fn truncated_real_allocs_profile_is_a_clear_error_at_every_cut() {
    use std::io::Read;
    let p = profiles();
    let gz = std::fs::read(&p.base).unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .unwrap();
    assert!(Profile::parse(&raw).is_ok());
    for i in 1..64 {
        let cut = raw.len() * i / 64;
        let err = Profile::parse(&raw[..cut]).unwrap_err();
        assert!(
            err.to_string().starts_with("malformed profile")
                || err.to_string().starts_with("not a pprof protobuf profile"),
            "cut at {cut}: {err}"
        );
    }
    for i in 1..16 {
        let cut = gz.len() * i / 16;
        let err = Profile::parse(&gz[..cut]).unwrap_err();
        assert!(
            err.to_string().contains("gunzip"),
            "gzip cut at {cut}: {err}"
        );
    }
}

#[test]
fn unknown_sample_index_is_a_usage_error_listing_the_types() {
    let p = profiles();
    let (code, _, stderr) =
        run_goready(&["pprof", p.base.to_str().unwrap(), "--sample-index", "cpu"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("alloc_objects, alloc_space, inuse_objects, inuse_space"),
        "{stderr}"
    );
}
