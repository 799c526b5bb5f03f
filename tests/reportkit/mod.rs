//! Shared by the report tests: realistic result files (the binary suite from a real
//! `goready inspect` of real Go builds; the other suites built with `Check::of` the way their
//! steps do), a clean environment to run goready in, and the Python tools CI installs from
//! ci/requirements.txt.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use goready::model::data::{GoSupportedData, ProfileData, TestData, Top, TopRow, ValueType};
use goready::model::{Check, Report, Severity};
use goready::registry::Rule;

use crate::common;

// Rules from the registry, as the steps use them.
pub use goready::registry::{
    ENV_GO_SUPPORTED, RUNTIME_ALLOCS, RUNTIME_PPROF_EXPOSED, TEST_GO_TEST as TEST_GO,
};

// A rule this goready does not know: result files from a newer goready carry such ids, and
// every output must handle them (`rules::lookup` finds nothing for it; a test checks).
pub const ENV_MOD_TIDY: Rule = Rule {
    id: "env.mod_tidy",
    suite: "env",
    severity: Severity::Warning,
    title: "go.mod and go.sum are tidy",
    settled_by: &[],
};

/// The binary suite for two real builds of examples/hello-svc (static, and cgo/dynamic),
/// as `goready inspect --json` writes it; inspected once per test process.
pub fn binary_report(dir: &Path) -> PathBuf {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let json = JSON.get_or_init(|| {
        let spec = |name: &str| {
            common::SPECS
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no fixture spec {name}"))
        };
        let a = common::build(spec("hello-linux-amd64"));
        let b = common::build(spec("hello-linux-amd64-cgo"));
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("binary.json");
        let run = common::goready()
            .args(["inspect", "--expect-version", "1.2.3", "--json"])
            .arg(&out)
            .arg(&a)
            .arg(&b)
            .output()
            .expect("run goready inspect");
        // 0 or 1 are verdicts; 2 would be a broken fixture.
        assert!(
            matches!(run.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        std::fs::read_to_string(&out).unwrap()
    });
    let path = dir.join("binary.json");
    std::fs::write(&path, json).unwrap();
    path
}

/// The env suite as `goready env` would report it.
pub fn env_report() -> Report {
    Report::new(vec![
        Check::of(&ENV_GO_SUPPORTED)
            .target("go1.26.8")
            .data(GoSupportedData {
                go_version: "go1.26.8".into(),
                supported_lines: vec!["go1.26".into(), "go1.25".into()],
                newest_release: "go1.26.8".into(),
                ..GoSupportedData::default()
            })
            .duration_ms(12)
            .pass("go1.26.8 is in the supported window (go1.26, go1.25)"),
        Check::of(&ENV_MOD_TIDY)
            .location("examples/hello-svc/go.mod", Some(3))
            .duration_ms(840)
            .fail("go mod tidy would change go.mod: 1 requirement to drop (golang.org/x/text v0.14.0, unused)"),
    ])
}

/// The runtime suite with an allocation profile, as `goready probe` would report it.
pub fn runtime_report() -> Report {
    Report::new(vec![
        Check::of(&RUNTIME_ALLOCS)
            .target("hello-svc")
            .data(alloc_space(&[
                ("compress/flate.NewWriter", 4_194_304, 4_194_304),
                (
                    "runtime/pprof.(*profileBuilder).build",
                    2_097_152,
                    6_291_456,
                ),
                ("main.handleHello", 1_048_576, 1_572_864),
                ("bufio.NewWriterSize", 524_288, 524_288),
            ]))
            .duration_ms(2_310)
            .fail("main.handleHello allocates 1.0 MiB per 1000 requests (budget 512.0 KiB)"),
        Check::of(&RUNTIME_PPROF_EXPOSED)
            .target("127.0.0.1:8080")
            .duration_ms(4)
            .pass("GET /debug/pprof/ on the public listener answers 404 without X-Go-Pprof"),
    ])
}

/// The test suite as `goready test` would report it: one check per Go test.
pub fn test_report() -> Report {
    let pkg = "example.com/hello-svc";
    let t = |name: &str| {
        Check::of(&TEST_GO).target(pkg).title(name).data(TestData {
            test: name.into(),
            package: pkg.into(),
            ..TestData::default()
        })
    };
    Report::new(vec![
        t("TestHealthz").duration_ms(3).pass("ok"),
        t("TestHello")
            .location("examples/hello-svc/main_test.go", Some(41))
            .duration_ms(1_500)
            .fail("main_test.go:41: got status 500, want 200\nbody: \"internal error\""),
        t("TestShutdownDrains")
            .duration_ms(0)
            .skip("main_test.go:77: needs -race"),
    ])
}

/// A `runtime.allocs` ranking of `alloc_space` over (function, flat, cum) rows, the way
/// goready's profile rules record it.
pub fn alloc_space(rows: &[(&str, i64, i64)]) -> ProfileData {
    let total: i64 = 9_437_184;
    let pct = |v: i64| 100.0 * v as f64 / total as f64;
    let mut sum = 0.0;
    let rows = rows
        .iter()
        .map(|&(function, flat, cum)| {
            sum += pct(flat);
            TopRow {
                function: function.into(),
                flat,
                flat_pct: pct(flat),
                sum_pct: sum,
                cum,
                cum_pct: pct(cum),
                inline: None,
            }
        })
        .collect();
    ProfileData {
        sample_types: vec!["alloc_space".into()],
        rankings: vec![Top {
            sample_type: ValueType {
                ty: "alloc_space".into(),
                unit: "bytes".into(),
            },
            total,
            rows,
            ..Top::default()
        }],
        ..ProfileData::default()
    }
}

/// Writes `report` to `dir/name`.
pub fn write(dir: &Path, name: &str, report: &Report) -> PathBuf {
    let path = dir.join(name);
    report.write_json(&path).unwrap();
    path
}

/// Every variable that would steer goready's CI integrations, removed so that a test run
/// inside GitHub Actions or GitLab CI does not post to the real job.
pub const CI_VARS: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_OUTPUT",
    "GITHUB_EVENT_PATH",
    "GITHUB_EVENT_NAME",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "GITHUB_SERVER_URL",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_TOKEN",
    "GITLAB_CI",
    "GITLAB_TOKEN",
    "CI_API_V4_URL",
    "CI_PROJECT_ID",
    "CI_MERGE_REQUEST_IID",
    "CI_JOB_URL",
    "CI_PIPELINE_URL",
    "NO_COLOR",
    "GOREADY_FAIL_ON",
    "GOREADY_CONFIG",
];

/// goready with the CI variables removed and `vars` set, run outside the repository so that
/// no goready.toml is picked up by accident (tests pass absolute paths).
pub fn goready_with(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = common::goready();
    cmd.args(args).current_dir(std::env::temp_dir());
    for v in CI_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run goready")
}

/// (exit code, stdout, stderr) of [`goready_with`].
pub fn run_with(args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let out = goready_with(args, vars);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const INSTALL: &str =
    "install the test tools with `pip install -r ci/requirements.txt` (.ci/run does)";

/// A command-line tool from ci/requirements.txt; fails the test (never skips it) when missing.
pub fn tool(name: &str) -> Command {
    let found = Command::new(name).arg("--version").output();
    match found {
        Ok(o) if o.status.success() => Command::new(name),
        _ => panic!("{name} is not installed: {INSTALL}"),
    }
}

/// Python with a module from ci/requirements.txt importable; fails the test when it is not.
pub fn python_with(module: &str) -> Command {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "python3 cannot import {module}: {INSTALL}");
    Command::new("python3")
}

/// Runs a tool and returns its output, asserting success with the tool's words on failure.
pub fn tool_ok(cmd: &mut Command) -> Output {
    common::run_ok(cmd)
}

/// The official SARIF 2.1.0 schema, vendored in tests/schemas (its source is noted in
/// tests/schemas/README.md) so that a clone anywhere runs the suite.
pub fn sarif_schema() -> PathBuf {
    common::repo().join("tests/schemas/sarif-schema-2.1.0.json")
}

/// A YAML file as JSON, read by ruamel.yaml (installed with check-jsonschema).
pub fn yaml(path: &Path) -> Value {
    let out = tool_ok(
        python_with("ruamel.yaml")
            .arg(common::repo().join("tests/tools/yaml2json.py"))
            .arg(path),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// action.yml as JSON.
pub fn action() -> Value {
    yaml(&common::repo().join("action.yml"))
}

/// One step of action.yml by its id.
pub fn step<'a>(action: &'a Value, id: &str) -> &'a Value {
    action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// Runs one step's script with bash as the runner would (`bash -e {0}` with the step's env,
/// resolved by the test), in `dir`, with the CI variables of the machine running the tests
/// removed.
pub fn run_step(script: &str, dir: &Path, env: &[(&str, String)]) -> Output {
    let file = dir.join("step.sh");
    std::fs::write(&file, script).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg("--noprofile")
        .arg("--norc")
        .arg("-eo")
        .arg("pipefail")
        .arg(&file)
        .current_dir(dir);
    for v in CI_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Reads `junit` back with junitparser and asserts that every count — per testsuite (one per
/// suite and target) and at the root — matches `report`, that no (classname, name) pair
/// repeats, and that every failure/error/skip carries its reason as element text. Returns
/// what junitparser saw.
pub fn assert_junit_matches(junit: &Path, report: &Report) -> Value {
    use goready::model::Status;
    use std::collections::{HashMap, HashSet};
    let out = tool_ok(
        python_with("junitparser")
            .arg(common::repo().join("tests/tools/junit_readback.py"))
            .arg(junit),
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut expect: HashMap<String, [usize; 4]> = HashMap::new();
    for c in &report.checks {
        let key = match &c.target {
            Some(t) => format!("{}: {t}", c.suite),
            None => c.suite.clone(),
        };
        let e = expect.entry(key).or_default();
        e[0] += 1;
        match c.status {
            Status::Fail => e[1] += 1,
            Status::Error => e[2] += 1,
            Status::Skip => e[3] += 1,
            Status::Pass => {}
        }
    }
    let suites = seen["suites"].as_array().unwrap();
    assert_eq!(
        suites.len(),
        expect.len(),
        "one testsuite per suite and target"
    );
    let mut pairs = HashSet::new();
    let mut total = [0usize; 4];
    for s in suites {
        let name = s["name"].as_str().unwrap();
        let e = expect
            .get(name)
            .unwrap_or_else(|| panic!("unexpected testsuite {name}"));
        let declared = [&s["tests"], &s["failures"], &s["errors"], &s["skipped"]]
            .map(|v| v.as_u64().unwrap() as usize);
        assert_eq!(&declared, e, "{name}: declared counts");
        let cases = s["cases"].as_array().unwrap();
        let kind = |k: &str| cases.iter().filter(|c| c["kind"][0] == k).count();
        let counted = [cases.len(), kind("failure"), kind("error"), kind("skipped")];
        assert_eq!(&counted, e, "{name}: counted cases");
        for (t, n) in total.iter_mut().zip(e) {
            *t += n;
        }
        for c in cases {
            let pair = (
                c["classname"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
            );
            assert!(
                pairs.insert(pair.clone()),
                "duplicate (classname, name) {pair:?}"
            );
            // The reason is the element text (GitLab shows that, not the attribute).
            if !c["kind"].as_array().unwrap().is_empty() {
                let text = c["text"][0].as_str().unwrap_or("");
                let message = c["message"][0].as_str().unwrap_or("");
                assert!(
                    !text.is_empty() && text.starts_with(message.trim_end_matches('…')),
                    "the reason is the element text: {c}"
                );
            }
        }
    }
    let root = [
        &seen["tests"],
        &seen["failures"],
        &seen["errors"],
        &seen["skipped"],
    ]
    .map(|v| v.as_u64().unwrap() as usize);
    assert_eq!(root, total, "root counts");
    let (pass, fail, skip, error) = report.counts();
    assert_eq!(total, [pass + fail + skip + error, fail, error, skip]);
    seen
}

/// A copy of examples/hello-svc — its sources and goready.toml — in `root/hello-svc`.
pub fn hello_copy(root: &Path) -> PathBuf {
    let dir = root.join("hello-svc");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["go.mod", "main.go", "main_test.go", "goready.toml"] {
        std::fs::copy(
            common::repo().join("examples/hello-svc").join(name),
            dir.join(name),
        )
        .unwrap();
    }
    dir
}

/// A release laid out as release.yml publishes it, at `root/<repo_path>/releases/download/<tag>`:
/// `goready-<tag>-<os>-<arch>.tar.gz` holding the goready binary under test, and SHA256SUMS
/// made with `sha256sum`. Returns the tag's folder.
pub fn release(root: &Path, repo_path: &str, tag: &str, asset_os_arch: &str) -> PathBuf {
    let dir = root.join(repo_path).join("releases/download").join(tag);
    std::fs::create_dir_all(&dir).unwrap();
    let stage = root.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_goready"), stage.join("goready")).unwrap();
    let asset = format!("goready-{tag}-{asset_os_arch}.tar.gz");
    common::run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(&stage)
            .arg("-czf")
            .arg(dir.join(&asset))
            .arg("goready"),
    );
    let sums = common::run_ok(
        Command::new("sh")
            .arg("-c")
            .arg("sha256sum goready-*")
            .current_dir(&dir),
    );
    std::fs::write(dir.join("SHA256SUMS"), sums.stdout).unwrap();
    dir
}
