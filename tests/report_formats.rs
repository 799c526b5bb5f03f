//! `goready report` end to end on realistic result files: shards merged, JUnit read back by
//! junitparser, SARIF validated against the official 2.1.0 schema, Code Quality against
//! GitLab's rules, the verdict by --fail-on, and the terminal table's colours.

mod common;
mod reportkit;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use goready::model::{Check, Report};
use goready::registry;
use reportkit::*;
use serde_json::Value;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Four shards: a real inspect of two builds, and env/runtime/test results.
fn shards(dir: &Path) -> Vec<std::path::PathBuf> {
    vec![
        binary_report(dir),
        write(dir, "env.json", &env_report()),
        write(dir, "runtime.json", &runtime_report()),
        write(dir, "test.json", &test_report()),
    ]
}

#[test]
fn shards_merge_into_junit_that_junitparser_reads_with_every_count_matching() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = shards(dir.path());
    // One rule failing twice on one target must still give distinct testcases.
    let twice = Report::new(vec![
        Check::of(&registry::BINARY_VERSION)
            .target("dist/hello")
            .fail("9.9.9 is not embedded: not in the symbol table"),
        Check::of(&registry::BINARY_VERSION)
            .target("dist/hello")
            .fail("9.9.9 is not embedded: not in the data either"),
    ]);
    inputs.push(write(dir.path(), "twice.json", &twice));
    // The same shard passed twice (a re-run artifact) must not double-count.
    inputs.push(inputs[1].clone());
    let junit = dir.path().join("out/junit.xml");
    let merged = dir.path().join("out/merged.json");
    let mut args = vec!["report"];
    args.extend(inputs.iter().map(|i| p(i)));
    args.extend(["--junit", p(&junit), "--json", p(&merged)]);
    let (code, stdout, stderr) = run_with(&args, &[]);
    // env.mod_tidy is a warning, TEST_GO and binary.version fail as errors → exit 1.
    assert_eq!(code, 1, "{stdout}{stderr}");

    let report = Report::read_json(&merged).unwrap();
    let original: usize = inputs[..5]
        .iter()
        .map(|i| Report::read_json(i).unwrap().checks.len())
        .sum();
    assert_eq!(
        report.checks.len(),
        original,
        "the repeated shard was merged away"
    );

    let seen = assert_junit_matches(&junit, &report);
    let suites = seen["suites"].as_array().unwrap();

    // Go tests keep their own names under their package; time is in seconds; file/line are
    // attributes; the failure text is the test's output.
    let test_suite = suites
        .iter()
        .find(|s| s["name"] == "test: example.com/hello-svc")
        .unwrap();
    let hello = test_suite["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "TestHello")
        .unwrap();
    assert_eq!(hello["classname"], "goready.test example.com/hello-svc");
    assert_eq!(hello["time"].as_f64().unwrap(), 1.5);
    assert_eq!(hello["file"], "examples/hello-svc/main_test.go");
    assert_eq!(hello["line"], "41");
    assert_eq!(hello["type"][0], "error");
    assert!(
        hello["text"][0]
            .as_str()
            .unwrap()
            .contains("body: \"internal error\"")
    );
    let twice: Vec<&str> = suites
        .iter()
        .find(|s| s["name"] == "binary: dist/hello")
        .unwrap()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(twice, ["binary.version", "binary.version #2"]);
    // A passing check's message is in system-out.
    let real = suites
        .iter()
        .find(|s| s["name"].as_str().unwrap().ends_with("hello-linux-amd64"))
        .expect("the real inspect shard");
    let static_case = real["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "binary.static")
        .unwrap();
    assert_eq!(static_case["kind"].as_array().unwrap().len(), 0);
    assert!(
        static_case["system_out"]
            .as_str()
            .unwrap()
            .contains("statically linked")
    );
}

#[test]
fn sarif_validates_against_the_official_schema_and_every_result_has_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = shards(dir.path());
    let sarif = dir.path().join("goready.sarif");
    let mut args = vec!["report"];
    args.extend(inputs.iter().map(|i| p(i)));
    args.extend([
        "--sarif",
        p(&sarif),
        "--fallback-file",
        "examples/hello-svc/goready.toml",
    ]);
    let (code, _, stderr) = run_with(&args, &[]);
    assert_eq!(code, 1, "{stderr}");
    tool_ok(
        tool("check-jsonschema")
            .arg("--schemafile")
            .arg(sarif_schema())
            .arg(&sarif),
    );
    let log: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let run = &log["runs"][0];
    let rules_list = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    // One result per finding (a rule and a cause, on all its targets).
    assert_eq!(results.len(), findings_of(&inputs));
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1, "{r}");
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules_list[idx]["id"], r["ruleId"]);
        let help = rules_list[idx]["helpUri"].as_str().unwrap();
        let anchor = goready::report::anchor(r["ruleId"].as_str().unwrap());
        assert!(
            help.ends_with(&format!("docs/checks.md#{anchor}")),
            "{help}"
        );
        if r["ruleId"] == "env.mod_tidy" {
            assert_eq!(loc["artifactLocation"]["uri"], "examples/hello-svc/go.mod");
            assert_eq!(loc["region"]["startLine"], 3);
        }
        if r["ruleId"] == "runtime.allocs" {
            assert_eq!(
                loc["artifactLocation"]["uri"],
                "examples/hello-svc/goready.toml"
            );
            assert_eq!(loc["region"]["startLine"], 1);
        }
    }
    // Every anchor a helpUri names exists in docs/checks.md for the rules goready knows.
    let docs = std::fs::read_to_string(common::repo().join("docs/checks.md")).unwrap();
    for rule in registry::all() {
        assert!(
            docs.contains(&format!(
                "<a id=\"{}\"></a>",
                goready::report::anchor(rule.id)
            )),
            "{}",
            rule.id
        );
    }
}

#[test]
fn code_quality_follows_gitlabs_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = shards(dir.path());
    let dup = Report::new(vec![
        Check::of(&registry::BINARY_VERSION)
            .target("dist/x")
            .fail("one"),
        Check::of(&registry::BINARY_VERSION)
            .target("dist/x")
            .fail("two"),
    ]);
    inputs.push(write(dir.path(), "dup.json", &dup));
    let cq = dir.path().join("gl-code-quality-report.json");
    let mut args = vec!["report"];
    args.extend(inputs.iter().map(|i| p(i)));
    args.extend(["--gitlab-codequality", p(&cq)]);
    let (code, _, stderr) = run_with(&args, &[]);
    assert_eq!(code, 1, "{stderr}");
    tool_ok(
        tool("check-jsonschema")
            .arg("--schemafile")
            .arg(common::repo().join("tests/schemas/gitlab-codequality.json"))
            .arg(&cq),
    );
    let bytes = std::fs::read(&cq).unwrap();
    assert!(!bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
    let issues: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    let fps: HashSet<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps.len(), issues.len(), "fingerprints are unique");
    // One issue per finding.
    assert_eq!(issues.len(), findings_of(&inputs));
    // Stable across runs: the same inputs give the same fingerprints.
    let again = dir.path().join("again.json");
    let mut args2 = vec!["report"];
    args2.extend(inputs.iter().map(|i| p(i)));
    args2.extend(["--gitlab-codequality", p(&again)]);
    run_with(&args2, &[]);
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
}

#[test]
fn fail_on_decides_the_exit_code_of_the_merged_report() {
    let dir = tempfile::tempdir().unwrap();
    let warn_only = write(
        dir.path(),
        "w.json",
        &Report::new(vec![Check::of(&ENV_MOD_TIDY).fail("not tidy")]),
    );
    let notice_only = write(
        dir.path(),
        "n.json",
        &Report::new(vec![
            Check::of(&registry::BINARY_DWARF).target("d").fail("dwarf"),
        ]),
    );
    let both = [p(&warn_only), p(&notice_only)];
    for (level, want) in [("error", 0), ("warning", 1), ("notice", 1)] {
        let mut args = vec!["report"];
        args.extend(both);
        args.extend(["--fail-on", level]);
        assert_eq!(run_with(&args, &[]).0, want, "--fail-on {level}");
    }
    let (code, _, _) = run_with(&["report", p(&notice_only), "--fail-on", "warning"], &[]);
    assert_eq!(code, 0);
}

#[test]
fn an_unreadable_shard_exits_2_but_the_others_are_still_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.json", &test_report());
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema\": \"goready/v1\", \"checks\": [tru").unwrap();
    let missing = dir.path().join("missing.json");
    let junit = dir.path().join("j.xml");
    let (code, stdout, stderr) = run_with(
        &[
            "report",
            p(&good),
            p(&bad),
            p(&missing),
            "--junit",
            p(&junit),
        ],
        &[],
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("bad.json") && stderr.contains("missing.json"),
        "{stderr}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("TestHello"), "{xml}");
    assert!(
        stdout.contains("1 passed, 1 skipped, 0 not evaluated; 1 finding in 1 checks"),
        "{stdout}"
    );
}

#[test]
fn a_directory_of_downloaded_artifacts_is_read_like_its_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("shard-linux")).unwrap();
    std::fs::create_dir_all(dir.path().join("shard-test")).unwrap();
    write(
        &dir.path().join("shard-linux"),
        "result.json",
        &env_report(),
    );
    write(
        &dir.path().join("shard-test"),
        "result.json",
        &test_report(),
    );
    let merged = dir.path().join("merged.json");
    let (code, _, stderr) = run_with(&["report", p(dir.path()), "--json", p(&merged)], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(Report::read_json(&merged).unwrap().checks.len(), 5);
}

/// Runs goready under a pseudo-terminal (util-linux `script`), as a person at a terminal would.
fn on_a_terminal(args: &str, no_color: Option<&str>) -> String {
    let bin = env!("CARGO_BIN_EXE_goready");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{bin} {args}"), "/dev/null"]);
    cmd.env_remove("NO_COLOR").env_remove("GITHUB_ACTIONS");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd
        .output()
        .expect("util-linux `script` runs a pseudo-terminal (apt-get install bsdutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colours_appear_only_on_a_terminal_and_no_color_turns_them_off() {
    let dir = tempfile::tempdir().unwrap();
    let r = write(dir.path(), "t.json", &test_report());
    let args = format!("report {}", p(&r));
    let tty = on_a_terminal(&args, None);
    assert!(
        tty.contains("TestHello") || tty.contains("test.go_test"),
        "{tty}"
    );
    assert!(tty.contains("\u{1b}["), "a terminal gets colours: {tty:?}");
    let no_color = on_a_terminal(&args, Some("1"));
    assert!(no_color.contains("test.go_test"), "{no_color}");
    assert!(
        !no_color.contains("\u{1b}["),
        "NO_COLOR is honoured: {no_color:?}"
    );
    let (_, piped, _) = run_with(&["report", p(&r)], &[]);
    assert!(!piped.contains('\u{1b}'), "a pipe gets no colours");
    // The table is compact: the headline, one row per finding or check (a multi-line message
    // indented under it) and the tally.
    assert_eq!(piped.lines().count(), 6, "{piped}");
    assert!(piped.starts_with("goready: not ready: 1 finding failed at --fail-on error; findings: 1 error, 0 warnings, 0 notices\n"), "{piped}");
    assert!(piped.contains("TestHello: main_test.go:41: got status 500, want 200 (examples/hello-svc/main_test.go:41)\n    body: \"internal error\"\n"), "{piped}");
}

#[test]
fn hostile_strings_in_result_files_stay_data_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let nasty = "nul\u{0} esc\u{1b}[31m bell\u{7} </failure>]]><script>alert(1)</script> \
                 ::error::x @octocat | a | `b` \u{202e}evil\r\nnext";
    let report = Report::new(vec![
        Check::of(&TEST_GO)
            .target(format!("example.com/{nasty}"))
            .location(format!("dir/{nasty}.go"), Some(0))
            .data(goready::model::data::TestData {
                test: nasty.into(),
                package: nasty.into(),
                ..Default::default()
            })
            .fail(nasty),
        Check {
            id: "runtime.allocs".into(),
            suite: "runtime".into(),
            ..Check::of(&RUNTIME_ALLOCS)
                .target(nasty)
                .data(alloc_space(&[(nasty, -5, i64::MAX)]))
                .fail(nasty)
        },
        Check::of(&registry::BINARY_STATIC)
            .target(nasty)
            .skip(nasty),
    ]);
    let input = write(dir.path(), "nasty.json", &report);
    let junit = dir.path().join("j.xml");
    let sarif = dir.path().join("s.sarif");
    let cq = dir.path().join("cq.json");
    let summary = dir.path().join("summary.md");
    let (code, stdout, stderr) = run_with(
        &[
            "report",
            p(&input),
            "--github",
            "--junit",
            p(&junit),
            "--sarif",
            p(&sarif),
            "--gitlab-codequality",
            p(&cq),
        ],
        &[("GITHUB_STEP_SUMMARY", p(&summary))],
    );
    assert_eq!(code, 1, "{stderr}");
    // Only goready's own commands start a line; the table never carries raw control bytes.
    for line in stdout.lines() {
        assert!(!line.starts_with("::error::x"), "{line:?}");
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{0}'),
            "{line:?}"
        );
    }
    tool_ok(
        python_with("junitparser")
            .arg(common::repo().join("tests/tools/junit_readback.py"))
            .arg(&junit),
    );
    tool_ok(
        tool("check-jsonschema")
            .arg("--schemafile")
            .arg(sarif_schema())
            .arg(&sarif),
    );
    tool_ok(
        tool("check-jsonschema")
            .arg("--schemafile")
            .arg(common::repo().join("tests/schemas/gitlab-codequality.json"))
            .arg(&cq),
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(!md.contains("<script>"), "{md}");
    assert!(!md.contains("@octocat"), "no mention: {md}");
    assert!(md.contains("&lt;script&gt;"));
    // Every table row still has its four cells: no `|` from the data split a row.
    for row in md
        .lines()
        .filter(|l| l.starts_with("| ❌") || l.starts_with("| ⏭️"))
    {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 5, "{row}");
    }
}

#[test]
fn goready_toml_rules_apply_to_the_merged_report_and_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.json", &test_report());
    let config = dir.path().join("goready.toml");
    std::fs::write(
        &config,
        "[rules]\n\"test.go_test\" = \"warning\"\n\"binary.static\" = \"off\"\n",
    )
    .unwrap();
    let static_shard = write(
        dir.path(),
        "b.json",
        &Report::new(vec![
            Check::of(&registry::BINARY_STATIC)
                .target("d")
                .fail("dynamic"),
        ]),
    );
    let junit = dir.path().join("j.xml");
    let (code, stdout, stderr) = run_with(
        &[
            "report",
            p(&input),
            p(&static_shard),
            "--config",
            p(&config),
            "--junit",
            p(&junit),
        ],
        &[],
    );
    assert_eq!(code, 0, "a failing test is a warning now: {stdout}{stderr}");
    assert!(
        stdout.contains("warning           test.go_test"),
        "{stdout}"
    );
    assert!(stdout.starts_with("goready: ready: nothing fails at --fail-on error; findings: 0 errors, 1 warning, 0 notices"), "{stdout}");
    assert!(!stdout.contains("binary.static"), "turned off: {stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("type=\"warning\""), "{xml}");
    assert!(!xml.contains("binary.static"));
    // fail_on from the file is the default for --fail-on.
    std::fs::write(
        &config,
        "fail_on = \"warning\"\n[rules]\n\"test.go_test\" = \"warning\"\n",
    )
    .unwrap();
    let (code, _, _) = run_with(&["report", p(&input), "--config", p(&config)], &[]);
    assert_eq!(code, 1);
    let (code, _, stderr) = run_with(
        &[
            "report",
            p(&input),
            "--config",
            p(&dir.path().join("nope.toml")),
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
}

/// The findings `goready report` makes of these result files.
fn findings_of(inputs: &[std::path::PathBuf]) -> usize {
    let mut merged = goready::report::merge(inputs.iter().map(|i| Report::read_json(i).unwrap()));
    goready::model::findings::judge(&mut merged, goready::registry::find, None, false);
    goready::model::findings::findings(&merged).len()
}

/// `goready report` publishes where the `[report]` settings say, layered exactly as `goready
/// check` layers them: goready.toml, then `GOREADY_REPORT_*` variables (booleans read the
/// one way: `1`, `yes`, `on`, `true`), then the flags.
#[test]
fn report_honours_report_settings_and_goready_report_variables_as_check_does() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.json", &test_report());
    let junit = dir.path().join("from-file.xml");
    let sarif = dir.path().join("from-file.sarif");
    let config = dir.path().join("goready.toml");
    std::fs::write(
        &config,
        format!(
            "[report]\njunit = '{}'\nsarif = '{}'\nfallback_file = \"svc/goready.toml\"\n",
            p(&junit),
            p(&sarif)
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = run_with(&["report", p(&input), "--config", p(&config)], &[]);
    assert_eq!(code, 1, "the failing test is an error: {stdout}{stderr}");
    assert_junit_matches(&junit, &Report::read_json(&input).unwrap());
    tool_ok(
        tool("check-jsonschema")
            .arg("--schemafile")
            .arg(sarif_schema())
            .arg(&sarif),
    );
    let log: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let uris: HashSet<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(!uris.is_empty(), "{log}");

    // A variable beats the file, a flag beats the variable.
    let by_var = dir.path().join("from-var.xml");
    let by_flag = dir.path().join("from-flag.xml");
    std::fs::remove_file(&junit).unwrap();
    let (code, _, stderr) = run_with(
        &["report", p(&input), "--config", p(&config)],
        &[("GOREADY_REPORT_JUNIT", p(&by_var))],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(by_var.is_file() && !junit.exists());
    let (code, _, stderr) = run_with(
        &[
            "report",
            p(&input),
            "--config",
            p(&config),
            "--junit",
            p(&by_flag),
        ],
        &[("GOREADY_REPORT_JUNIT", p(&by_var))],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(by_flag.is_file());

    // GOREADY_REPORT_FAIL_ON_NEW=1 with a baseline of the same result: nothing is new.
    let baseline = [("GOREADY_REPORT_BASELINE", p(&input))];
    let (code, stdout, stderr) = run_with(&["report", p(&input)], &baseline);
    assert_eq!(code, 1, "an existing error still fails: {stdout}{stderr}");
    for one in ["1", "yes", "on", "TRUE"] {
        let (code, stdout, stderr) = run_with(
            &["report", p(&input)],
            &[baseline[0], ("GOREADY_REPORT_FAIL_ON_NEW", one)],
        );
        assert_eq!(
            code, 0,
            "GOREADY_REPORT_FAIL_ON_NEW={one}: {stdout}{stderr}"
        );
        assert!(
            stdout.starts_with("goready: ready: nothing new fails"),
            "{stdout}"
        );
    }
    // The same from goready.toml, and a variable set to 0 turns the file's setting off.
    std::fs::write(&config, "[report]\nfail_on_new = true\n").unwrap();
    let (code, stdout, _) = run_with(&["report", p(&input), "--config", p(&config)], &baseline);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = run_with(
        &["report", p(&input), "--config", p(&config)],
        &[baseline[0], ("GOREADY_REPORT_FAIL_ON_NEW", "0")],
    );
    assert_eq!(code, 1, "{stdout}");
    // What is not a boolean, or not a [report] setting, is a usage error that says where.
    let (code, _, stderr) = run_with(
        &["report", p(&input)],
        &[("GOREADY_REPORT_FAIL_ON_NEW", "maybe")],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("GOREADY_REPORT_FAIL_ON_NEW: give true or false"),
        "{stderr}"
    );
    std::fs::write(&config, "[report]\njunt = \"j.xml\"\n").unwrap();
    let (code, _, stderr) = run_with(&["report", p(&input), "--config", p(&config)], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("did you mean \"junit\""), "{stderr}");
}
