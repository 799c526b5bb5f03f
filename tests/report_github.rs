//! GitHub Actions output of `goready report`: annotations (budget, escaping, order), the job
//! summary within 1 MiB, step outputs, and the sticky PR comment against a local server that
//! speaks GitHub's REST API (tests/forge).

mod common;
mod forge;
mod reportkit;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use forge::{Forge, Inject, Perm};
use goready::model::{Check, Report};
use goready::registry;
use reportkit::*;
use serde_json::json;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A workflow command as the runner parses it: level, properties, message — unescaped the
/// way actions/runner does (`%25` last).
fn parse_command(line: &str) -> Option<(String, HashMap<String, String>, String)> {
    let rest = line.strip_prefix("::")?;
    let (head, data) = rest.split_once("::")?;
    let (level, props) = head.split_once(' ').unwrap_or((head, ""));
    let unescape_data = |s: &str| {
        s.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%25", "%")
    };
    let unescape_prop = |s: &str| {
        s.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    };
    let mut map = HashMap::new();
    for kv in props.split(',').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=')?;
        map.insert(k.to_string(), unescape_prop(v));
    }
    Some((level.to_string(), map, unescape_data(data)))
}

fn hostile(i: usize) -> String {
    // A word of its own per case: messages that differ only in numbers are one finding.
    let word: String = i
        .to_string()
        .bytes()
        .map(|d| (b'a' + d - b'0') as char)
        .collect();
    format!("{i}% of 100 ({word}): a, b\nsecond line: c,d\r\n::error::injected {i}")
}

#[test]
fn annotations_keep_the_budget_most_severe_first_with_exact_escaping() {
    let dir = tempfile::tempdir().unwrap();
    let mut checks = Vec::new();
    // Interleaved so that ordering is goready's, not the input's.
    for i in 0..14 {
        if i < 13 {
            checks.push(
                Check::of(&ENV_MOD_TIDY)
                    .target(format!("linux/amd64, cgo=1: w{i}"))
                    .location(format!("cmd/svc,v2/main:{i}.go"), Some(i as u32 + 1))
                    .fail(hostile(i)),
            );
        }
        if i < 12 {
            checks.push(
                Check::of(&registry::BINARY_DWARF)
                    .target(format!("dist/n{i}"))
                    .fail(hostile(i)),
            );
        }
        checks.push(
            Check::of(&registry::BINARY_VERSION)
                .target(format!("dist/e{i}"))
                .fail(hostile(i)),
        );
    }
    // A check that could not be evaluated outranks plain failures of the same severity.
    checks.push(
        Check::of(&registry::BINARY_READABLE)
            .target("dist/broken")
            .error("truncated ELF header: 12 of 64 bytes"),
    );
    let input = write(dir.path(), "many.json", &Report::new(checks.clone()));
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs.txt");
    let (code, stdout, stderr) = run_with(
        &["report", p(&input), "--github"],
        &[
            ("GITHUB_STEP_SUMMARY", p(&summary)),
            ("GITHUB_OUTPUT", p(&outputs)),
        ],
    );
    assert_eq!(code, 1, "{stderr}");

    let commands: Vec<_> = stdout
        .lines()
        .filter(|l| l.starts_with("::"))
        .map(|l| parse_command(l).unwrap_or_else(|| panic!("unparsable command {l:?}")))
        .collect();
    // No message smuggled a command onto a line of its own.
    assert!(
        !stdout.lines().any(|l| l.starts_with("::error::injected")),
        "{stdout}"
    );
    let levels: Vec<&str> = commands.iter().map(|(l, _, _)| l.as_str()).collect();
    let count = |l: &str| levels.iter().filter(|x| **x == l).count();
    assert_eq!(count("error"), 10);
    assert_eq!(count("warning"), 10);
    assert_eq!(count("notice"), 10, "9 findings and the closing notice");
    // Most severe first: errors, then warnings, then notices.
    let rank = |l: &str| {
        ["error", "warning", "notice"]
            .iter()
            .position(|x| *x == l)
            .unwrap()
    };
    assert!(
        levels.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "{levels:?}"
    );
    // The unevaluable check comes first; then the errors in their own order.
    assert_eq!(commands[0].1["title"], "binary.readable (dist/broken)");
    let error_titles: Vec<&str> = commands[1..10]
        .iter()
        .map(|(_, p, _)| p["title"].as_str())
        .collect();
    let want: Vec<String> = (0..9)
        .map(|i| format!("binary.version (dist/e{i})"))
        .collect();
    assert_eq!(error_titles, want);
    // Messages and properties survive the round trip exactly.
    let by_title: HashMap<&str, &Check> = checks
        .iter()
        .map(|c| (c.target.as_deref().unwrap(), c))
        .collect();
    for (_, props, message) in &commands[..commands.len() - 1] {
        let title = &props["title"];
        let target = title
            .split_once(" (")
            .map(|(_, t)| t.trim_end_matches(')'))
            .unwrap();
        let c = by_title[target];
        assert!(
            message.starts_with(&c.message),
            "{message:?} vs {:?}",
            c.message
        );
        assert!(message.contains(&format!(
            "docs/checks.md#{}",
            goready::report::anchor(&c.id)
        )));
        match &c.file {
            Some(f) => {
                assert_eq!(&props["file"], f);
                assert_eq!(props["line"], c.line.unwrap().to_string());
            }
            None => assert!(!props.contains_key("file")),
        }
    }
    let (level, props, last) = commands.last().unwrap();
    assert_eq!(level, "notice");
    assert_eq!(props["title"], "goready: annotations left out");
    assert!(
        last.starts_with("11 more findings are not annotated (5 errors, 3 warnings, 3 notices)"),
        "{last}"
    );

    // Outputs: the verdict at --fail-on error (15 error-level problems).
    let text = std::fs::read_to_string(&outputs).unwrap();
    let out: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(out["passed"], "false");
    assert_eq!(out["failed"], "15");
    assert_eq!(out["junit"], "");
    // The summary was written too.
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("## ❌ goready: not ready: 15 findings failed at --fail-on error; findings: 15 errors, 13 warnings, 12 notices"),
        "{md}"
    );
}

#[test]
fn github_mode_switches_on_inside_actions_and_outputs_name_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.json", &test_report());
    let outputs = dir.path().join("outputs.txt");
    let junit = dir.path().join("reports/junit.xml");
    let merged = dir.path().join("reports/goready.json");
    let (code, stdout, _) = run_with(
        &[
            "report",
            p(&input),
            "--junit",
            p(&junit),
            "--json",
            p(&merged),
            "--fail-on",
            "warning",
        ],
        &[("GITHUB_ACTIONS", "true"), ("GITHUB_OUTPUT", p(&outputs))],
    );
    assert_eq!(code, 1);
    assert!(stdout.contains("::error file=examples/hello-svc/main_test.go,line=41,title=test.go_test (example.com/hello-svc TestHello)::"), "{stdout}");
    let text = std::fs::read_to_string(&outputs).unwrap();
    let out: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(out["passed"], "false");
    assert_eq!(out["failed"], "1");
    assert_eq!(Path::new(out["junit"]), junit.canonicalize().unwrap());
    assert_eq!(Path::new(out["report"]), merged.canonicalize().unwrap());
    // Outside Actions, and without --github, nothing of this is printed.
    let (_, plain, _) = run_with(&["report", p(&input)], &[]);
    assert!(!plain.lines().any(|l| l.starts_with("::")), "{plain}");
}

#[test]
fn the_job_summary_stays_under_one_mebibyte_and_links_the_full_report() {
    let dir = tempfile::tempdir().unwrap();
    let checks: Vec<Check> = (0..6000)
        .map(|i| {
            let c = Check::of(&TEST_GO)
                .target(format!("example.com/svc/pkg{}", i / 50))
                .title(format!("TestCase{i}"))
                .data(goready::model::data::TestData {
                    test: format!("TestCase{i}"),
                    ..Default::default()
                });
            if i % 3 == 0 {
                c.fail(format!(
                    "case {i} failed: {}",
                    "want 200, got 500; ".repeat(12)
                ))
            } else {
                c.pass(format!("ok in {i} ms"))
            }
        })
        .collect();
    let input = write(dir.path(), "big.json", &Report::new(checks));
    let summary = dir.path().join("summary.md");
    // An earlier command of the same step already wrote 200 KB.
    let earlier = "x".repeat(200 * 1024) + "\n";
    std::fs::write(&summary, &earlier).unwrap();
    let (code, _, stderr) = run_with(
        &["report", p(&input), "--github"],
        &[
            ("GITHUB_STEP_SUMMARY", p(&summary)),
            ("GITHUB_SERVER_URL", "https://github.example"),
            ("GITHUB_REPOSITORY", "octo-org/hello-svc"),
            ("GITHUB_RUN_ID", "4242"),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.len() <= 1024 * 1024, "{} bytes", text.len());
    assert!(text.starts_with(&earlier));
    let ours = &text[earlier.len()..];
    assert!(
        ours.len() > 700 * 1024,
        "it used the room it had: {}",
        ours.len()
    );
    assert!(ours.contains("(https://github.example/octo-org/hello-svc/actions/runs/4242)"));
    assert!(
        ours.contains("## ❌ goready: not ready: 2000 findings failed"),
        "one per failed test"
    );
}

// ---- the sticky PR comment ---------------------------------------------------------------

const TOKEN: &str = "ghs_c0ffee5ecretT0kenValue1234567890";
const REPO: &str = "octo-org/hello-svc";
const PR: u64 = 17;
const MARKER: &str = "<!-- goready:report -->";

struct Setup {
    forge: Forge,
    dir: tempfile::TempDir,
    event: PathBuf,
}

fn setup(perm: Perm) -> Setup {
    let forge = Forge::start();
    forge.token(TOKEN, perm);
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        json!({"action": "synchronize", "number": PR, "pull_request": {"number": PR, "head": {"repo": {"fork": perm == Perm::ReadOnly}}}}).to_string(),
    )
    .unwrap();
    Setup { forge, dir, event }
}

impl Setup {
    fn vars(&self, api_suffix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("GITHUB_API_URL", format!("{}{api_suffix}", self.forge.url)),
            ("GITHUB_REPOSITORY", REPO.into()),
            ("GITHUB_EVENT_PATH", p(&self.event).into()),
            ("GITHUB_EVENT_NAME", "pull_request".into()),
            ("GITHUB_SERVER_URL", "https://github.example".into()),
            ("GITHUB_RUN_ID", "4242".into()),
            ("GITHUB_TOKEN", TOKEN.into()),
        ]
    }

    /// Runs `goready report FILE --pr-comment EXTRA…`, asserting the token is never printed.
    fn comment(
        &self,
        report: &Report,
        extra: &[&str],
        vars: &[(&'static str, String)],
    ) -> (i32, String, String) {
        let input = write(self.dir.path(), "r.json", report);
        let mut args = vec!["report", p(&input), "--pr-comment"];
        args.extend(extra);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (code, stdout, stderr) = run_with(&args, &vars);
        assert!(
            !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
            "token printed:\n{stdout}\n{stderr}"
        );
        (code, stdout, stderr)
    }

    fn ours(&self, pr: u64) -> Vec<forge::Comment> {
        self.forge
            .comments(pr)
            .into_iter()
            .filter(|c| c.body.starts_with(MARKER))
            .collect()
    }
}

fn passing() -> Report {
    Report::new(vec![
        Check::of(&ENV_GO_SUPPORTED)
            .target("go1.26.8")
            .pass("supported"),
        Check::of(&registry::BINARY_STATIC)
            .target("dist/svc")
            .pass("statically linked"),
    ])
}

#[test]
fn pr_comment_is_created_once_then_updated_in_place_and_other_comments_are_untouched() {
    let s = setup(Perm::Write);
    let human = s.forge.seed(PR, "octocat", "LGTM once CI is green");
    let quoting = s
        .forge
        .seed(PR, "hubot", &format!("> the bot said\n{MARKER}\nquoted"));
    let vars = s.vars("");

    let (code, _, stderr) = s.comment(&test_report(), &[], &vars);
    assert_eq!(code, 1, "the verdict is the report's: {stderr}");
    assert!(
        stderr.contains("PR comment on octo-org/hello-svc#17 created"),
        "{stderr}"
    );
    let ours = s.ours(PR);
    assert_eq!(ours.len(), 1);
    assert!(
        ours[0]
            .body
            .contains("## ❌ goready: not ready: 1 finding failed"),
        "{}",
        ours[0].body
    );
    assert!(ours[0].body.contains("TestHello"));
    let seen = s.forge.seen();
    let post = seen.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.url, "/repos/octo-org/hello-svc/issues/17/comments");
    assert_eq!(
        post.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(
        post.header("content-type")
            .unwrap_or("")
            .starts_with("application/json")
    );
    let first_id = ours[0].id;

    s.forge.clear_seen();
    let (code, _, stderr) = s.comment(&passing(), &[], &vars);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("updated"), "{stderr}");
    let ours = s.ours(PR);
    assert_eq!(ours.len(), 1, "no second comment");
    assert_eq!(ours[0].id, first_id);
    assert!(ours[0].body.contains("## ✅ goready"), "{}", ours[0].body);
    let methods: Vec<(String, String)> = s
        .forge
        .seen()
        .iter()
        .map(|r| (r.method.clone(), r.url.clone()))
        .collect();
    assert_eq!(
        methods,
        [
            (
                "GET".to_string(),
                "/repos/octo-org/hello-svc/issues/17/comments?per_page=100".to_string()
            ),
            (
                "PATCH".to_string(),
                format!("/repos/octo-org/hello-svc/issues/comments/{first_id}")
            ),
        ]
    );

    // Nothing changed: nothing is written.
    s.forge.clear_seen();
    let (_, _, stderr) = s.comment(&passing(), &[], &vars);
    assert!(stderr.contains("unchanged"), "{stderr}");
    assert!(s.forge.seen().iter().all(|r| r.method == "GET"));

    let all = s.forge.comments(PR);
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter().find(|c| c.id == human).unwrap().body,
        "LGTM once CI is green"
    );
    assert!(
        all.iter()
            .find(|c| c.id == quoting)
            .unwrap()
            .body
            .starts_with("> the bot said")
    );
}

#[test]
fn duplicate_comments_are_cleaned_up_keeping_the_oldest_across_pages() {
    let s = setup(Perm::Write);
    for i in 0..104 {
        s.forge.seed(PR, "octocat", &format!("review note {i}"));
    }
    let oldest = s
        .forge
        .seed(PR, "github-actions[bot]", &format!("{MARKER}\nrun 1"));
    s.forge.seed(PR, "octocat", "one more human comment");
    let dup1 = s
        .forge
        .seed(PR, "github-actions[bot]", &format!("{MARKER}\nrun 2"));
    let dup2 = s
        .forge
        .seed(PR, "github-actions[bot]", &format!("{MARKER}\nrun 3"));
    let (code, _, stderr) = s.comment(&test_report(), &[], &s.vars(""));
    assert_eq!(code, 1);
    assert!(stderr.contains("removed 2 duplicates"), "{stderr}");
    let ours = s.ours(PR);
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].id, oldest);
    assert!(ours[0].body.contains("TestHello"));
    assert_eq!(
        s.forge.comments(PR).len(),
        106,
        "every human comment is still there"
    );
    let seen = s.forge.seen();
    assert!(
        seen.iter()
            .any(|r| r.method == "GET" && r.url.contains("page=2")),
        "pagination followed"
    );
    let deleted: Vec<&str> = seen
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.url.as_str())
        .collect();
    assert_eq!(
        deleted,
        [
            format!("/repos/octo-org/hello-svc/issues/comments/{dup1}"),
            format!("/repos/octo-org/hello-svc/issues/comments/{dup2}")
        ]
    );
}

#[test]
fn fork_pr_with_a_read_only_token_warns_and_the_verdict_stands() {
    let s = setup(Perm::ReadOnly);
    let mut vars = s.vars("");
    vars.push(("GITHUB_ACTIONS", "true".into()));
    let (code, stdout, stderr) = s.comment(&passing(), &[], &vars);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("HTTP 403: Resource not accessible by integration"),
        "{stderr}"
    );
    assert!(stderr.contains("workflow_run"), "{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("::warning title=goready::PR comment not posted")),
        "{stdout}"
    );
    let (code, _, _) = s.comment(&test_report(), &[], &s.vars(""));
    assert_eq!(code, 1);
    let posts = s.forge.seen().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 2, "one attempt per run: a 403 is not retried");
    assert!(s.forge.comments(PR).is_empty());
}

#[test]
fn server_errors_and_secondary_rate_limits_are_retried_then_succeed() {
    let s = setup(Perm::Write);
    s.forge.inject(Inject {
        method: "GET",
        path_contains: "/issues/17/comments",
        status: 500,
        body: json!({"message": "Server Error"}),
        headers: vec![],
        times: 1,
    });
    s.forge.inject(Inject {
        method: "POST",
        path_contains: "/issues/17/comments",
        status: 403,
        body: json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}),
        headers: vec![("retry-after", "1".into())],
        times: 1,
    });
    let (code, _, stderr) = s.comment(&test_report(), &[], &s.vars(""));
    assert_eq!(code, 1);
    assert!(stderr.contains("created"), "{stderr}");
    assert!(stderr.contains("retrying"), "{stderr}");
    let statuses: Vec<(String, u16)> = s
        .forge
        .seen()
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("GET".to_string(), 500),
            ("GET".to_string(), 200),
            ("POST".to_string(), 403),
            ("POST".to_string(), 201)
        ]
    );
    assert_eq!(s.ours(PR).len(), 1);
}

#[test]
fn an_api_that_keeps_failing_is_given_up_on_with_a_warning_and_no_token_in_it() {
    let s = setup(Perm::Write);
    s.forge.inject(Inject {
        method: "GET",
        path_contains: "/comments",
        status: 502,
        // A misbehaving proxy echoing the credentials back.
        body: json!({"message": format!("Bad gateway (upstream said: Authorization: Bearer {TOKEN})")}),
        headers: vec![],
        times: 100,
    });
    let (code, _, stderr) = s.comment(&passing(), &[], &s.vars(""));
    assert_eq!(code, 0, "the verdict never depends on the comment");
    assert!(
        stderr.contains("PR comment not posted: HTTP 502"),
        "{stderr}"
    );
    assert!(stderr.contains("Bearer ***"), "{stderr}");
    assert!(stderr.contains("gave up after 4 attempts"), "{stderr}");
    assert_eq!(s.forge.seen().len(), 4);
}

#[test]
fn github_enterprise_api_prefix_and_explicit_pr_and_token_variable_are_honoured() {
    let s = setup(Perm::Write);
    let mut vars: Vec<(&'static str, String)> = s
        .vars("/api/v3")
        .into_iter()
        .filter(|(k, _)| *k != "GITHUB_TOKEN" && *k != "GITHUB_EVENT_PATH")
        .collect();
    vars.push(("GOREADY_BOT_TOKEN", TOKEN.into()));
    let (code, _, stderr) = s.comment(
        &passing(),
        &["--pr", "23", "--token-env", "GOREADY_BOT_TOKEN"],
        &vars,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("octo-org/hello-svc#23 created"), "{stderr}");
    let seen = s.forge.seen();
    assert!(
        seen.iter().all(|r| r
            .url
            .starts_with("/api/v3/repos/octo-org/hello-svc/issues/")),
        "{seen:?}"
    );
    assert_eq!(s.ours(23).len(), 1);
}

#[test]
fn without_a_token_or_a_pull_request_the_comment_is_skipped_with_the_reason() {
    let s = setup(Perm::Write);
    let no_token: Vec<(&'static str, String)> = s
        .vars("")
        .into_iter()
        .filter(|(k, _)| *k != "GITHUB_TOKEN")
        .collect();
    let (code, _, stderr) = s.comment(&test_report(), &[], &no_token);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("PR comment skipped: $GITHUB_TOKEN is empty or not set"),
        "{stderr}"
    );
    let push_event = s.dir.path().join("push.json");
    std::fs::write(&push_event, r#"{"ref": "refs/heads/main", "after": "abc"}"#).unwrap();
    let mut push = s.vars("");
    push.retain(|(k, _)| *k != "GITHUB_EVENT_PATH" && *k != "GITHUB_EVENT_NAME");
    push.push(("GITHUB_EVENT_PATH", p(&push_event).into()));
    push.push(("GITHUB_EVENT_NAME", "push".into()));
    let (code, _, stderr) = s.comment(&passing(), &[], &push);
    assert_eq!(code, 0);
    assert!(
        stderr.contains("the push event is not about a pull request: pass --pr N"),
        "{stderr}"
    );
    assert!(s.forge.seen().is_empty(), "nothing was sent");
}

#[test]
fn a_huge_report_is_clipped_to_githubs_comment_limit_with_a_link() {
    let s = setup(Perm::Write);
    let checks: Vec<Check> = (0..3000)
        .map(|i| {
            Check::of(&TEST_GO)
                .target("example.com/svc")
                .title(format!("TestCase{i}"))
                .fail(format!("failed: {}", "é".repeat(40)))
        })
        .collect();
    let (code, _, stderr) = s.comment(&Report::new(checks), &[], &s.vars(""));
    assert_eq!(code, 1, "{stderr}");
    let ours = s.ours(PR);
    assert_eq!(ours.len(), 1);
    let body = &ours[0].body;
    assert!(body.chars().count() <= 65_536, "{}", body.chars().count());
    let mut cut = body.len().saturating_sub(600);
    while !body.is_char_boundary(cut) {
        cut += 1;
    }
    let tail = &body[cut..];
    assert!(
        body.contains("(https://github.example/octo-org/hello-svc/actions/runs/4242)"),
        "{tail}"
    );
    assert!(body.contains("more findings."), "{tail}");
}

// ---- the check run ----------------------------------------------------------------------

/// The pull request's head commit (where annotations show on the diff) and the merge commit
/// GitHub puts in GITHUB_SHA on a pull_request event.
const HEAD_SHA: &str = "4f2a9c0d5e8b7a6f1c3d2e0b9a8f7e6d5c4b3a21";
const MERGE_SHA: &str = "0000111122223333444455556666777788889999";

impl Setup {
    /// The PR's event with its head commit, and GITHUB_SHA set to the merge commit.
    fn check_vars(&self, api_suffix: &str, fork: bool) -> Vec<(&'static str, String)> {
        let event = self.dir.path().join("pr-event.json");
        let head_repo = if fork {
            "someone/hello-svc"
        } else {
            "octo-org/hello-svc"
        };
        std::fs::write(
            &event,
            json!({"action": "synchronize", "number": PR, "pull_request": {"number": PR,
                "head": {"sha": HEAD_SHA, "ref": "feature",
                    "repo": {"full_name": head_repo, "fork": fork}},
                "base": {"ref": "main", "repo": {"full_name": REPO}}}})
            .to_string(),
        )
        .unwrap();
        let mut vars: Vec<(&'static str, String)> = self
            .vars(api_suffix)
            .into_iter()
            .filter(|(k, _)| *k != "GITHUB_EVENT_PATH")
            .collect();
        vars.push(("GITHUB_EVENT_PATH", p(&event).into()));
        vars.push(("GITHUB_SHA", MERGE_SHA.into()));
        vars.push(("GITHUB_ACTIONS", "true".into()));
        vars
    }

    /// Runs `goready report FILE EXTRA…` (no --pr-comment unless asked), asserting the token
    /// is never printed.
    fn report(
        &self,
        report: &Report,
        extra: &[&str],
        vars: &[(&'static str, String)],
    ) -> (i32, String, String) {
        let input = write(self.dir.path(), "r.json", report);
        let mut args = vec!["report", p(&input)];
        args.extend(extra);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (code, stdout, stderr) = run_with(&args, &vars);
        assert!(
            !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
            "token printed:\n{stdout}\n{stderr}"
        );
        (code, stdout, stderr)
    }
}

/// 120 findings of their own causes: 40 errors with a source line, 40 warnings, 40 notices
/// without one.
fn many_findings() -> Vec<Check> {
    (0..120)
        .map(|i| {
            let word: String = i
                .to_string()
                .bytes()
                .map(|d| (b'a' + d - b'0') as char)
                .collect();
            match i % 3 {
                0 => Check::of(&registry::BINARY_VERSION)
                    .target(format!("dist/svc-{word}"))
                    .location(format!("cmd/svc{word}/main.go"), Some(i as u32 + 1))
                    .fail(format!("version missing in build {word}")),
                1 => Check::of(&ENV_MOD_TIDY)
                    .target(format!("mod-{word}"))
                    .location("go.mod", Some(3))
                    .fail(format!("go mod tidy would drop {word}")),
                _ => Check::of(&registry::BINARY_DWARF)
                    .target(format!("dist/dbg-{word}"))
                    .fail(format!("DWARF kept in {word}")),
            }
        })
        .collect()
}

#[test]
fn check_run_annotates_all_120_findings_50_per_request_on_the_head_commit() {
    let s = setup(Perm::Write);
    let checks = many_findings();
    let vars = s.check_vars("", false);
    let (code, stdout, stderr) = s.report(
        &Report::new(checks.clone()),
        &["--check-run", "--pr-comment"],
        &vars,
    );
    assert_eq!(code, 1, "the verdict is the report's: {stderr}");
    let runs = s.forge.check_runs();
    assert_eq!(runs.len(), 1, "{stderr}");
    let run = &runs[0];
    assert_eq!(run.name, "goready");
    assert_eq!(run.repo, REPO);
    assert_eq!(
        run.head_sha, HEAD_SHA,
        "the PR's head commit, not GITHUB_SHA"
    );
    assert_eq!(run.status, "completed");
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    // Created empty and in progress, then 50 + 50 + 20, completed with the last.
    assert_eq!(run.batches, [0, 50, 50, 20]);
    assert_eq!(
        run.statuses,
        ["in_progress", "in_progress", "in_progress", "completed"]
    );
    assert_eq!(run.annotations.len(), 120);
    assert_eq!(
        run.details_url.as_deref(),
        Some("https://github.example/octo-org/hello-svc/actions/runs/4242")
    );
    assert!(stderr.contains("120 annotations in 3 updates"), "{stderr}");

    // Every finding once, where it was found, at its level, with its rule and target.
    let mut seen_titles = std::collections::HashSet::new();
    for c in &checks {
        let target = c.target.as_deref().unwrap();
        let a = run
            .annotations
            .iter()
            .find(|a| {
                a["title"]
                    .as_str()
                    .is_some_and(|t| t == format!("{} ({target})", c.id))
            })
            .unwrap_or_else(|| panic!("no annotation for {} on {target}", c.id));
        assert!(seen_titles.insert(a["title"].as_str().unwrap().to_string()));
        assert!(
            a["message"].as_str().unwrap().starts_with(&c.message),
            "{a}"
        );
        assert!(a["message"].as_str().unwrap().contains(&format!(
            "docs/checks.md#{}",
            goready::report::anchor(&c.id)
        )));
        assert_eq!(
            a["raw_details"].as_str().unwrap(),
            format!("{} on {target}: {}", c.id, c.message)
        );
        let level = match c.severity {
            goready::model::Severity::Error => "failure",
            goready::model::Severity::Warning => "warning",
            goready::model::Severity::Notice => "notice",
        };
        assert_eq!(a["annotation_level"], level, "{a}");
        match (&c.file, c.line) {
            (Some(f), Some(l)) => {
                assert_eq!(a["path"], f.as_str());
                assert_eq!(
                    (a["start_line"].as_u64(), a["end_line"].as_u64()),
                    (Some(l as u64), Some(l as u64))
                );
            }
            _ => {
                // No source location: the fallback file's first line (the API wants a path).
                assert_eq!(a["path"], "goready.toml");
                assert_eq!(a["start_line"], 1);
            }
        }
    }
    // The title and summary are the verdict and the job summary's Markdown.
    assert!(
        run.title
            .as_deref()
            .unwrap()
            .starts_with("❌ goready: not ready: 40 findings failed"),
        "{:?}",
        run.title
    );
    let summary = run.summary.as_deref().unwrap();
    assert!(summary.chars().count() <= 65_535);
    assert!(summary.contains("version missing in build"), "{summary}");

    // All through octocrab: its API version header and the bearer token on every request.
    let seen = s.forge.seen();
    let check_calls: Vec<_> = seen
        .iter()
        .filter(|r| r.url.contains("/check-runs"))
        .collect();
    assert_eq!(check_calls.len(), 4);
    assert_eq!(check_calls[0].method, "POST");
    assert_eq!(check_calls[0].url, "/repos/octo-org/hello-svc/check-runs");
    for r in &check_calls[1..] {
        assert_eq!(r.method, "PATCH");
        assert_eq!(
            r.url,
            format!("/repos/octo-org/hello-svc/check-runs/{}", run.id)
        );
    }
    for r in &seen {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
    }
    // The check run carries the findings: no workflow-command annotations besides.
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with("::error ") || l.starts_with("::warning ")),
        "{stdout}"
    );
    // The PR comment links to the check run.
    let ours = s.ours(PR);
    assert_eq!(ours.len(), 1);
    assert!(
        ours[0].body.contains(&format!(
            "[goready check run](https://github.com/octo-org/hello-svc/runs/{})",
            run.id
        )),
        "{}",
        ours[0].body
    );
}

#[test]
fn a_passing_report_completes_the_check_run_with_success_and_no_annotations() {
    let s = setup(Perm::Write);
    let (code, _, stderr) = s.report(&passing(), &["--check-run"], &s.check_vars("", false));
    assert_eq!(code, 0, "{stderr}");
    let runs = s.forge.check_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].conclusion.as_deref(), Some("success"));
    assert_eq!(runs[0].batches, [0, 0]);
    assert!(runs[0].title.as_deref().unwrap().starts_with("✅ goready"));
}

#[test]
fn fork_pr_check_run_falls_back_to_workflow_commands_once_and_the_verdict_stands() {
    let s = setup(Perm::ReadOnly);
    let vars = s.check_vars("", true);
    // Asked for explicitly: tried, refused with 403, said once, workflow commands instead.
    let (code, stdout, stderr) = s.report(&test_report(), &["--check-run=true"], &vars);
    assert_eq!(code, 1, "the verdict is the report's: {stderr}");
    assert_eq!(
        stderr.matches("check run not written").count(),
        1,
        "said once: {stderr}"
    );
    assert!(
        stderr.contains("HTTP 403: Resource not accessible by integration"),
        "{stderr}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with(
            "::error file=examples/hello-svc/main_test.go,line=41,title=test.go_test"
        )),
        "the finding as a workflow command:\n{stdout}"
    );
    let posts: Vec<_> = s
        .forge
        .seen()
        .into_iter()
        .filter(|r| r.url.contains("/check-runs"))
        .collect();
    assert_eq!(posts.len(), 1, "a 403 is not retried");
    assert_eq!(posts[0].status, 403);
    assert!(s.forge.check_runs().is_empty());
    // A passing report still passes.
    let (code, _, _) = s.report(&passing(), &["--check-run=true"], &vars);
    assert_eq!(code, 0);

    // `auto` knows a fork's token is read-only: nothing is sent, no warning, the commands stand in.
    s.forge.clear_seen();
    let (code, stdout, stderr) = s.report(&test_report(), &["--check-run", "auto"], &vars);
    assert_eq!(code, 1);
    assert!(s.forge.seen().is_empty(), "{:?}", s.forge.seen());
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("::error ")),
        "{stdout}"
    );
}

#[test]
fn check_run_on_github_enterprise_keeps_the_api_prefix_on_every_request() {
    let s = setup(Perm::Write);
    let vars = s.check_vars("/api/v3", false);
    let (code, _, stderr) = s.report(
        &Report::new(many_findings()[..60].to_vec()),
        &["--check-run", "auto", "--pr-comment"],
        &vars,
    );
    assert_eq!(code, 1, "{stderr}");
    let runs = s.forge.check_runs();
    assert_eq!(runs.len(), 1, "{stderr}");
    assert_eq!(runs[0].batches, [0, 50, 10]);
    let seen = s.forge.seen();
    assert!(seen.len() >= 5, "{seen:?}");
    assert!(
        seen.iter()
            .all(|r| r.url.starts_with("/api/v3/repos/octo-org/hello-svc/")),
        "{seen:?}"
    );
    assert_eq!(s.ours(PR).len(), 1);
}

#[test]
fn check_run_rate_limits_and_server_errors_are_retried_within_the_budget() {
    let s = setup(Perm::Write);
    s.forge.inject(Inject {
        method: "POST",
        path_contains: "/check-runs",
        status: 502,
        body: json!({"message": "Server Error"}),
        headers: vec![],
        times: 1,
    });
    s.forge.inject(Inject {
        method: "PATCH",
        path_contains: "/check-runs/",
        status: 429,
        body: json!({"message": "API rate limit exceeded"}),
        headers: vec![("retry-after", "1".into())],
        times: 1,
    });
    s.forge.inject(Inject {
        method: "PATCH",
        path_contains: "/check-runs/",
        status: 403,
        body: json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}),
        headers: vec![("retry-after", "1".into())],
        times: 1,
    });
    let (code, _, stderr) = s.report(&test_report(), &["--check-run"], &s.check_vars("", false));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.matches("retrying in").count(), 3, "{stderr}");
    let statuses: Vec<(String, u16)> = s
        .forge
        .seen()
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("POST".to_string(), 502),
            ("POST".to_string(), 201),
            ("PATCH".to_string(), 429),
            ("PATCH".to_string(), 403),
            ("PATCH".to_string(), 200),
        ]
    );
    let runs = s.forge.check_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].conclusion.as_deref(), Some("failure"));
    assert_eq!(runs[0].annotations.len(), 1);
}

#[test]
fn an_answer_that_is_not_a_check_run_is_a_warning_and_the_workflow_commands_stand_in() {
    let s = setup(Perm::Write);
    s.forge.inject(Inject {
        method: "POST",
        path_contains: "/check-runs",
        status: 201,
        // A proxy's idea of a success: not a check run.
        body: json!({"id": "not-a-number", "html_url": 5, "echo": format!("Bearer {TOKEN}")}),
        headers: vec![],
        times: 1,
    });
    let (code, stdout, stderr) =
        s.report(&test_report(), &["--check-run"], &s.check_vars("", false));
    assert_eq!(code, 1, "the verdict is the report's: {stderr}");
    assert_eq!(
        stderr.matches("check run not written").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("not what GitHub sends"), "{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("::error file=")),
        "{stdout}"
    );
    // One attempt: a malformed answer is not retried, and nothing else was sent to the run.
    let calls: Vec<_> = s
        .forge
        .seen()
        .into_iter()
        .filter(|r| r.url.contains("/check-runs"))
        .collect();
    assert_eq!(calls.len(), 1);
}
