//! New, existing, fixed: `goready check` and `goready report` against a baseline, on
//! examples/hello-svc ("base") and a copy whose public mux also mounts pprof.Index ("head"),
//! the change a pull request might make. A third copy ("strict") is the same code in another
//! directory with a goready.toml that makes `binary.stripped` an error: its fingerprints must
//! equal base's, and judged against its own earlier result only new findings fail.
//!
//! Each copy is checked once (this machine's linux target, offline release data) and shared
//! by the tests below.

#![cfg(target_os = "linux")]

mod common;
mod forge;
mod reportkit;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use goready::model::findings::findings;
use goready::model::{BaselineState, Change, Report, Status};
use reportkit::*;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// One `goready check` of a copy: its exit code, stdout (annotations included) and files.
struct Run {
    code: i32,
    stdout: String,
    result: PathBuf,
    summary: String,
}

struct Runs {
    _root: tempfile::TempDir,
    base: Run,
    head: Run,
    strict: Run,
}

/// `goready check DIR` for this machine's linux target, as GitHub Actions would run it.
fn check(dir: &Path, name: &str, extra: &[&str]) -> Run {
    let out = dir.parent().unwrap().join(format!("{name}-out"));
    std::fs::create_dir_all(&out).unwrap();
    let result = out.join("goready.json");
    let summary = out.join("summary.md");
    let target = format!("linux/{}", common::host_goarch());
    let mut args = vec![
        "check",
        p(dir),
        "--target",
        &target,
        "--set",
        "env.offline=true",
        "--json",
        p(&result),
        "--github",
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run_with(&args, &[("GITHUB_STEP_SUMMARY", p(&summary))]);
    assert!(result.is_file(), "{name}: {stdout}{stderr}");
    Run {
        code,
        stdout,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        result,
    }
}

/// A copy of hello-svc under `root/name` with `edit` applied to its files, committed to a git
/// repository of its own, as CI checks a checkout out.
fn copy(root: &Path, name: &str, edit: impl Fn(&Path)) -> PathBuf {
    let dir = hello_copy(&root.join(name));
    edit(&dir);
    let git = |args: &[&str]| {
        common::run_ok(
            std::process::Command::new("git")
                .args([
                    "-c",
                    "user.name=goready",
                    "-c",
                    "user.email=goready@example.com",
                ])
                .args(args)
                .current_dir(&dir),
        )
    };
    git(&["init", "-q"]);
    std::fs::write(dir.join(".gitignore"), "dist/\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", name]);
    dir
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{}: {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let root = tempfile::tempdir().unwrap();
        let base_dir = copy(root.path(), "base", |_| {});
        let head_dir = copy(root.path(), "head", |dir| {
            // The change under review: pprof on the public mux too, and the test that
            // guarded against it removed.
            edit(
                &dir.join("main.go"),
                "\t\tfmt.Fprintln(w, Version)\n\t})\n",
                "\t\tfmt.Fprintln(w, Version)\n\t})\n\tmux.HandleFunc(\"/debug/pprof/\", pprof.Index)\n",
            );
            edit(
                &dir.join("main_test.go"),
                "func TestPprofNotOnPublicMux(",
                "func unusedPprofNotOnPublicMux(",
            );
        });
        let strict_dir = copy(root.path(), "strict", |dir| {
            let toml = dir.join("goready.toml");
            let text = std::fs::read_to_string(&toml).unwrap();
            std::fs::write(toml, text + "\n[rules]\n\"binary.stripped\" = \"error\"\n").unwrap();
        });
        let base = check(&base_dir, "base", &[]);
        // Allocation and CPU shares of a service this small move by tens of points between
        // runs (a busy machine puts runtime.futex anywhere); runtime.alloc_regression and
        // runtime.cpu_regression run against base with their default limits, and must tell
        // that noise from a change (issue 19): no new finding of theirs.
        let head = check(&head_dir, "head", &["--baseline", p(&base.result)]);
        let strict = check(&strict_dir, "strict", &[]);
        Runs {
            _root: root,
            base,
            head,
            strict,
        }
    })
}

#[test]
fn the_exposure_a_change_adds_is_new_and_everything_else_existing() {
    let head = &runs().head;
    let report = Report::read_json(&head.result).unwrap();
    let baseline = report.baseline.as_ref().expect("the baseline is recorded");
    assert_eq!(baseline.state, BaselineState::Loaded);
    let found = findings(&report);
    let new: Vec<_> = found
        .iter()
        .filter(|f| f.change() == Some(Change::New))
        .collect();
    assert_eq!(new.len(), 1, "{:#?}", found);
    assert_eq!(new[0].lead().id, "runtime.pprof_exposed");
    // The static suspicion is part of that finding, pointing at the proof.
    assert!(
        new[0]
            .explains
            .iter()
            .any(|c| c.id == "binary.pprof_linked"),
        "{:#?}",
        new[0]
    );
    for c in report.checks.iter().filter(|c| c.status.is_problem()) {
        let expected = if c.id == "runtime.pprof_exposed"
            || c.settled_by.as_deref() == Some("runtime.pprof_exposed")
        {
            Change::New
        } else {
            Change::Existing
        };
        assert_eq!(c.change, Some(expected), "{c:?}");
        assert!(c.finding.is_some(), "{c:?}");
    }
    assert!(found.len() > 1, "hello-svc has existing findings too");
    // runtime.alloc_regression took its base from the same file, and both comparisons were
    // judged on sample counts (the base was written by this goready) and passed.
    for id in ["runtime.alloc_regression", "runtime.cpu_regression"] {
        let c = report
            .checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id} in {:?}", report.checks));
        assert_eq!(c.status, Status::Pass, "{c:?}");
        assert!(c.message.contains("beyond the noise"), "{c:?}");
    }
    // The exposure is an error: the job fails, with or without --fail-on-new.
    assert_eq!(head.code, 1, "{}", head.stdout);
}

#[test]
fn the_summary_and_the_first_lines_lead_with_what_is_new() {
    let head = &runs().head;
    let md = &head.summary;
    let new_at = md.find("### 🆕 New findings (1)").expect(md);
    let existing_at = md
        .find("existing findings (already on the base)</summary>")
        .expect(md);
    let exposed_at = md.find("[runtime.pprof_exposed]").expect(md);
    assert!(new_at < exposed_at && exposed_at < existing_at, "{md}");
    assert!(md.contains("**1 new**"), "{md}");
    assert!(
        head.stdout
            .starts_with("goready: not ready: 1 finding failed"),
        "{}",
        head.stdout
    );
    assert!(head.stdout.contains("goready: against "), "{}", head.stdout);
    // The new finding's annotation says so; existing ones do not.
    let annotated: Vec<&str> = head
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error ") || l.starts_with("::warning "))
        .collect();
    assert!(
        annotated[0].contains("title=new%3A runtime.pprof_exposed"),
        "{annotated:#?}"
    );
    assert!(
        !head.stdout.contains("title=binary.pprof_linked"),
        "{}",
        head.stdout
    );
}

#[test]
fn fail_on_new_fails_on_the_new_exposure_and_base_lists_it_as_fixed() {
    let runs = runs();
    let (code, stdout, stderr) = run_with(
        &[
            "report",
            p(&runs.head.result),
            "--baseline",
            p(&runs.base.result),
            "--fail-on-new",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("goready: not ready: 1 new finding failed"),
        "{stdout}"
    );

    // The other way round: judged against head, base fixed the exposure.
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("base-vs-head.json");
    let (code, stdout, stderr) = run_with(
        &[
            "report",
            p(&runs.base.result),
            "--baseline",
            p(&runs.head.result),
            "--json",
            p(&json),
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = Report::read_json(&json).unwrap();
    let fixed: BTreeSet<&str> = report.fixed.iter().map(|f| f.id.as_str()).collect();
    assert!(
        fixed.contains("runtime.pprof_exposed"),
        "{:?}",
        report.fixed
    );
    assert!(
        report
            .checks
            .iter()
            .filter(|c| c.status.is_problem())
            .all(|c| c.change == Some(Change::Existing)),
        "nothing is new on base"
    );
    assert!(
        stdout.contains("fixed             runtime.pprof_exposed"),
        "{stdout}"
    );

    // The same baseline through the environment layer, and fail_on_new through goready.toml.
    let config = out.path().join("goready.toml");
    std::fs::write(&config, "[report]\nfail_on_new = true\n").unwrap();
    let (code, stdout, stderr) = run_with(
        &["report", p(&runs.head.result), "--config", p(&config)],
        &[("GOREADY_REPORT_BASELINE", p(&runs.base.result))],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("goready: not ready: 1 new finding failed"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run_with(
        &["report", p(&runs.base.result), "--config", p(&config)],
        &[("GOREADY_REPORT_BASELINE", p(&runs.base.result))],
    );
    assert_eq!(code, 0, "nothing new against itself: {stdout}{stderr}");
}

#[test]
fn a_stricter_rule_fails_alone_and_passes_against_its_own_earlier_result() {
    let strict = &runs().strict;
    assert_eq!(
        strict.code, 1,
        "binary.stripped is an error: {}",
        strict.stdout
    );
    let (code, stdout, stderr) = run_with(
        &[
            "report",
            p(&strict.result),
            "--baseline",
            p(&strict.result),
            "--fail-on-new",
        ],
        &[],
    );
    assert_eq!(code, 0, "nothing is new: {stdout}{stderr}");
    assert!(
        stdout.starts_with("goready: ready: nothing new fails"),
        "{stdout}"
    );
    // Without --fail-on-new the existing error still fails the job.
    let (code, _, _) = run_with(
        &["report", p(&strict.result), "--baseline", p(&strict.result)],
        &[],
    );
    assert_eq!(code, 1);
}

#[test]
fn fingerprints_of_the_same_code_in_two_directories_are_equal() {
    let runs = runs();
    let prints = |run: &Run| -> BTreeSet<(String, Option<String>, String)> {
        Report::read_json(&run.result)
            .unwrap()
            .checks
            .into_iter()
            .map(|c| (c.id, c.target, c.fingerprint))
            .collect()
    };
    let base = prints(&runs.base);
    let strict = prints(&runs.strict);
    assert_eq!(
        base.symmetric_difference(&strict).collect::<Vec<_>>(),
        Vec::<&(String, Option<String>, String)>::new()
    );
    // Failed checks of one cause share the finding's identity across both directories too.
    let ids = |run: &Run| -> BTreeSet<String> {
        Report::read_json(&run.result)
            .unwrap()
            .checks
            .into_iter()
            .filter(|c| c.id != "binary.stripped")
            .filter_map(|c| c.finding)
            .collect()
    };
    assert_eq!(ids(&runs.base), ids(&runs.strict));
}

#[test]
fn a_missing_baseline_is_said_and_an_unreadable_one_warned_about() {
    let runs = runs();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here.json");
    let (code, stdout, stderr) = run_with(
        &["report", p(&runs.base.result), "--baseline", p(&missing)],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("no baseline at"), "{stdout}");
    assert!(stderr.contains("no baseline at"), "{stderr}");

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let (code, stdout, stderr) = run_with(
        &[
            "report",
            p(&runs.head.result),
            "--baseline",
            p(&garbage),
            "--fail-on-new",
        ],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(
        code, 1,
        "judged as none: every finding counts: {stdout}{stderr}"
    );
    assert!(stderr.contains("warning: the baseline"), "{stderr}");
    assert!(
        stdout.contains("::warning title=goready::the baseline"),
        "{stdout}"
    );
}

#[test]
fn junit_keeps_one_testcase_per_check() {
    let runs = runs();
    for run in [&runs.base, &runs.head] {
        let report = Report::read_json(&run.result).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let junit = dir.path().join("junit.xml");
        let (_, stdout, stderr) = run_with(&["report", p(&run.result), "--junit", p(&junit)], &[]);
        assert!(junit.is_file(), "{stdout}{stderr}");
        assert_junit_matches(&junit, &report);
        assert!(report.checks.iter().any(|c| c.status == Status::Pass));
    }
}

#[test]
fn the_pr_comment_leads_with_the_new_finding_and_folds_the_existing_ones() {
    let runs = runs();
    let forge = forge::Forge::start();
    let token = "ghs_verdictTOKEN1234";
    forge.token(token, forge::Perm::Write);
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, r#"{"number": 9, "pull_request": {"number": 9}}"#).unwrap();
    let (code, stdout, stderr) = run_with(
        &[
            "report",
            p(&runs.head.result),
            "--baseline",
            p(&runs.base.result),
            "--pr-comment",
        ],
        &[
            ("GITHUB_API_URL", forge.url.as_str()),
            ("GITHUB_REPOSITORY", "octo-org/hello-svc"),
            ("GITHUB_EVENT_PATH", p(&event)),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_TOKEN", token),
        ],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    let comments = forge.comments(9);
    assert_eq!(comments.len(), 1, "{stderr}");
    let body = &comments[0].body;
    let headline = body
        .find("## ❌ goready: not ready: 1 finding failed")
        .expect(body);
    let new_at = body.find("### 🆕 New findings (1)").expect(body);
    let exposed_at = body.find("[runtime.pprof_exposed]").expect(body);
    let existing_at = body
        .find("existing findings (already on the base)")
        .expect(body);
    assert!(
        headline < new_at && new_at < exposed_at && exposed_at < existing_at,
        "{body}"
    );
    if let Some(path) = std::env::var_os("GOREADY_WRITE_PR_COMMENT") {
        // How README's example is made: the comment of this very change.
        std::fs::write(path, body).unwrap();
    }
}

#[test]
fn sarif_and_code_quality_hold_one_entry_per_finding_and_sarif_says_which_is_new() {
    let runs = runs();
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("goready.sarif");
    let cq = dir.path().join("gl-code-quality.json");
    let (_, stdout, stderr) = run_with(
        &[
            "report",
            p(&runs.head.result),
            "--baseline",
            p(&runs.base.result),
            "--sarif",
            p(&sarif),
            "--gitlab-codequality",
            p(&cq),
        ],
        &[],
    );
    assert!(sarif.is_file() && cq.is_file(), "{stdout}{stderr}");
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
    let report = Report::read_json(&runs.head.result).unwrap();
    let found = findings(&report);
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), found.len());
    let new: Vec<&str> = results
        .iter()
        .filter(|r| r["baselineState"] == "new")
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(new, ["runtime.pprof_exposed"]);
    assert!(
        results
            .iter()
            .all(|r| r["baselineState"] == "new" || r["baselineState"] == "unchanged")
    );
    let issues: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&cq).unwrap()).unwrap();
    assert_eq!(issues.len(), found.len());
    // Code Quality fingerprints are the findings' identities, as the result JSON holds them.
    let ids: BTreeSet<&str> = found.iter().map(|f| f.id.as_str()).collect();
    for issue in &issues {
        assert!(
            ids.contains(issue["fingerprint"].as_str().unwrap()),
            "{issue}"
        );
    }
}
