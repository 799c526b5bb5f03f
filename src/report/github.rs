//! GitHub Actions: workflow-command annotations, the job summary, step outputs and the sticky
//! PR comment (through octocrab's issues API, `report::hub`; the check run is
//! `report::checkrun`).
//!
//! Limits this module lives within (GitHub's documentation of workflow commands, the job
//! summary and the REST API; docs/ci.md lists them): GitHub shows at most 10 error and 10 warning
//! annotations per step and silently drops the rest, so goready picks the most severe and
//! ends with one notice that says how many were left out; the step summary holds 1 MiB; a
//! comment body 65,536 characters.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::model::findings::findings;
use crate::model::{Change, Finding, Report, Severity};
use crate::report::api::{self, ApiError, Note, Sticky, Thread};
use crate::report::hub::Hub;
use crate::report::{Env, docs_url, markdown, rule_title, subject};

/// The hidden first line of goready's PR comment: how later runs find it again.
pub const COMMENT_MARKER: &str = "<!-- goready:report -->";
/// GitHub's limit on a comment body is 65,536 characters; bytes bound characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// The job summary's limit per step.
pub const SUMMARY_LIMIT: usize = 1024 * 1024;
/// Annotations GitHub shows per step and level.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

/// Replaces control characters other than newlines and tabs (terminal escapes captured from a
/// test, a NUL) with spaces: the runner would pass them to the log and the UI as they are.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Escapes a workflow command's message (`%`, `\r`, `\n`); other control characters become
/// spaces.
pub fn escape_data(s: &str) -> String {
    clean(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    }
}

/// A finding's annotation title: its rule, and the target(s) and subject it holds on;
/// `new: ` in front when a baseline says it is new.
pub(crate) fn annotation_title(f: &Finding) -> String {
    let c = f.lead();
    let targets = f.targets();
    let on = match targets.as_slice() {
        [] => None,
        [one] => Some(one.to_string()),
        many => Some(format!("{} targets", many.len())),
    };
    let new = if f.change() == Some(Change::New) {
        "new: "
    } else {
        ""
    };
    match (on, subject(c)) {
        (Some(t), Some(s)) => format!("{new}{} ({t} {s})", c.id),
        (Some(t), None) => format!("{new}{} ({t})", c.id),
        (None, Some(s)) => format!("{new}{} ({s})", c.id),
        (None, None) => format!("{new}{}", c.id),
    }
}

/// A finding's annotation text: the lead message, the targets when several, what its cause
/// explains, and the rule's docs.
pub(crate) fn annotation_message(f: &Finding) -> String {
    let c = f.lead();
    let targets = f.targets();
    let mut message = c.message.clone();
    if targets.len() > 1 {
        message.push_str(&format!("\non {}", targets.join(", ")));
    }
    if let Some(line) = f.explains_line() {
        message.push('\n');
        message.push_str(&line);
    }
    message.push_str(&format!("\n{}: {}", rule_title(c), docs_url(&c.id)));
    message
}

/// One `::level file=…,line=…,title=…::message` line for a finding.
fn annotation(f: &Finding) -> String {
    let c = f.lead();
    let mut props = Vec::new();
    if let Some(file) = &c.file {
        props.push(format!("file={}", escape_property(file)));
        if let Some(line) = c.line.filter(|l| *l > 0) {
            props.push(format!("line={line}"));
        }
    }
    props.push(format!("title={}", escape_property(&annotation_title(f))));
    format!(
        "::{} {}::{}",
        level(f.severity()),
        props.join(","),
        escape_data(&annotation_message(f))
    )
}

/// Workflow-command annotations, one per finding, within GitHub's per-step budget: at most
/// 10 errors, 10 warnings and 10 notices, the most severe first and new before existing; when
/// anything is left out, the last notice says how many and where to find them.
pub fn annotations(report: &Report) -> Vec<String> {
    let mut problems = findings(report);
    // Stable: most severe first stays, new findings take the budget before existing ones.
    problems.sort_by_key(|f| {
        (
            std::cmp::Reverse(f.severity()),
            f.change() == Some(Change::Existing),
        )
    });
    let count = |s: Severity| problems.iter().filter(|f| f.severity() == s).count();
    let (errors, warnings, notices) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Notice),
    );
    let shown_errors = errors.min(ANNOTATIONS_PER_LEVEL);
    let shown_warnings = warnings.min(ANNOTATIONS_PER_LEVEL);
    let overflow = errors > shown_errors || warnings > shown_warnings;
    // The closing notice takes one of the ten notice slots when anything is left out.
    let notice_room = if overflow || notices > ANNOTATIONS_PER_LEVEL {
        ANNOTATIONS_PER_LEVEL - 1
    } else {
        ANNOTATIONS_PER_LEVEL
    };
    let shown_notices = notices.min(notice_room);
    let mut out = Vec::new();
    let mut taken = [0usize; 3];
    for f in &problems {
        let (slot, cap) = match f.severity() {
            Severity::Error => (0, shown_errors),
            Severity::Warning => (1, shown_warnings),
            Severity::Notice => (2, shown_notices),
        };
        if taken[slot] < cap {
            taken[slot] += 1;
            out.push(annotation(f));
        }
    }
    let left = [
        (errors - shown_errors, "error"),
        (warnings - shown_warnings, "warning"),
        (notices - shown_notices, "notice"),
    ];
    let total: usize = left.iter().map(|(n, _)| n).sum();
    if total > 0 {
        let parts: Vec<String> = left
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
            .collect();
        let message = format!(
            "{total} more finding{} not annotated ({}): GitHub shows at most {ANNOTATIONS_PER_LEVEL} errors and {ANNOTATIONS_PER_LEVEL} warnings per step. All of them are in the job summary and the JUnit report.",
            if total == 1 { " is" } else { "s are" },
            parts.join(", ")
        );
        out.push(format!(
            "::notice title={}::{}",
            escape_property("goready: annotations left out"),
            escape_data(&message)
        ));
    }
    out
}

/// A warning as a workflow command, so it shows on the run page too.
pub fn warning_command(message: &str) -> String {
    format!("::warning title=goready::{}", escape_data(message))
}

/// The workflow run's page, where the job summary is shown.
pub fn run_url(env: Env) -> Option<String> {
    let server = env("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
    let repo = env("GITHUB_REPOSITORY")?;
    let run = env("GITHUB_RUN_ID")?;
    let mut url = format!("{}/{repo}/actions/runs/{run}", server.trim_end_matches('/'));
    if let Some(attempt) = env("GITHUB_RUN_ATTEMPT").filter(|a| a != "1") {
        url.push_str(&format!("/attempts/{attempt}"));
    }
    Some(url)
}

/// Appends the Markdown report to `$GITHUB_STEP_SUMMARY`, within what is left of the step's
/// 1 MiB. Returns the file written, or `None` when the variable is not set.
pub fn write_step_summary(
    report: &Report,
    fail_on: Severity,
    env: Env,
) -> anyhow::Result<Option<PathBuf>> {
    let Some(path) = env("GITHUB_STEP_SUMMARY").map(PathBuf::from) else {
        return Ok(None);
    };
    let used = std::fs::metadata(&path)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    // The limit is per step and counts what earlier commands of this step wrote.
    let room = SUMMARY_LIMIT.saturating_sub(used + 2);
    if room < 1024 {
        anyhow::bail!(
            "the job summary {} already holds {used} bytes of GitHub's 1 MiB per step: no room for goready's",
            path.display()
        );
    }
    let url = run_url(env);
    let text = markdown::render(
        report,
        &markdown::Options {
            fail_on,
            max_bytes: room,
            full_report_url: url.as_deref(),
            marker: None,
        },
    );
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening the job summary {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.write_all(b"\n"))
        .with_context(|| format!("writing the job summary {}", path.display()))?;
    Ok(Some(path))
}

/// Appends `name=value` step outputs to the `$GITHUB_OUTPUT` file; multi-line values use the
/// heredoc form with a delimiter that does not occur in the value.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs {
        if value.contains('\n') || value.contains('\r') {
            let mut delimiter = format!("goready_{:x}", std::process::id());
            while value.contains(&delimiter) {
                delimiter.push('_');
            }
            text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening the step outputs {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing the step outputs {}", path.display()))
}

/// The pull request number: `--pr`, else the event payload at `$GITHUB_EVENT_PATH`
/// (`pull_request`, `pull_request_target`, `issue_comment` on a PR, `workflow_run`).
pub fn pr_number(explicit: Option<u64>, env: Env) -> Result<u64, String> {
    if let Some(n) = explicit {
        return Ok(n);
    }
    let Some(path) = env("GITHUB_EVENT_PATH") else {
        return Err("no pull request: pass --pr N or run in a pull_request workflow (GITHUB_EVENT_PATH is not set)".into());
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the event payload {path}: {e}"))?;
    let event: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the event payload {path} is not JSON: {e}"))?;
    let candidates = [
        event.pointer("/pull_request/number"),
        event
            .pointer("/issue/pull_request")
            .and(event.pointer("/issue/number")),
        event.pointer("/workflow_run/pull_requests/0/number"),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(Value::as_u64)
        .ok_or_else(|| {
            format!(
                "the {} event is not about a pull request: pass --pr N (a workflow_run for a fork PR carries no PR number; see docs/ci.md)",
                env("GITHUB_EVENT_NAME").unwrap_or_else(|| "current".into())
            )
        })
}

/// Where and how to post the PR comment.
#[derive(Debug, Clone)]
pub struct CommentTarget {
    /// `owner/name`.
    pub repo: String,
    /// The pull request.
    pub pr: u64,
    /// The API root (`$GITHUB_API_URL`).
    pub api_url: String,
    /// The variable the token was read from (for messages; never the token).
    pub token_env: String,
}

struct PrThread<'a> {
    hub: &'a Hub<'a>,
    owner: String,
    name: String,
    pr: u64,
}

impl PrThread<'_> {
    fn issues(&self) -> octocrab::issues::IssueHandler<'_> {
        self.hub.octocrab().issues(&self.owner, &self.name)
    }
}

fn note(c: octocrab::models::issues::Comment) -> Note {
    Note {
        id: c.id.into_inner(),
        body: c.body,
        created_at: Some(c.created_at.to_rfc3339()),
        system: false,
    }
}

impl Thread for PrThread<'_> {
    fn list(&self) -> Result<Vec<Note>, ApiError> {
        let issues = self.issues();
        let mut notes = Vec::new();
        // Pages by number rather than by the `Link` URL, which names a host: octocrab sends
        // the token only with requests that leave the host to the base. 100 pages of 100
        // comments are far more than a pull request has; a server linking pages in a cycle
        // cannot keep us here.
        for page in 1u32..=100 {
            let mut list = issues.list_comments(self.pr).per_page(100u8);
            if page > 1 {
                list = list.page(page);
            }
            let got = self.hub.run("listing PR comments", list.send())?;
            notes.extend(got.items.into_iter().map(note));
            if got.next.is_none() {
                break;
            }
        }
        Ok(notes)
    }
    fn create(&self, body: &str) -> Result<u64, ApiError> {
        let issues = self.issues();
        let c = self.hub.run(
            "creating the PR comment",
            issues.create_comment(self.pr, body),
        )?;
        Ok(c.id.into_inner())
    }
    fn update(&self, id: u64, body: &str) -> Result<(), ApiError> {
        // GitHub documents PATCH for this route; octocrab's `update_comment` sends POST (an
        // alias GitHub has accepted), so the documented verb is sent through octocrab's own
        // typed `patch`.
        let route = format!("/repos/{}/{}/issues/comments/{id}", self.owner, self.name);
        let body = serde_json::json!({ "body": body });
        self.hub
            .run(
                "updating the PR comment",
                self.hub
                    .octocrab()
                    .patch::<octocrab::models::issues::Comment, _, _>(route, Some(&body)),
            )
            .map(drop)
    }
    fn delete(&self, id: u64) -> Result<(), ApiError> {
        let issues = self.issues();
        self.hub.run(
            "deleting a duplicate PR comment",
            issues.delete_comment(id.into()),
        )
    }
}

fn valid_repo(repo: &str) -> bool {
    let mut parts = repo.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// Works out where the comment goes from the environment, as a workflow step would.
pub fn comment_target(pr: Option<u64>, token_env: &str, env: Env) -> Result<CommentTarget, String> {
    let repo = repository(env)?;
    let pr = pr_number(pr, env)?;
    Ok(CommentTarget {
        repo,
        pr,
        api_url: api_url(env),
        token_env: token_env.to_string(),
    })
}

/// `$GITHUB_API_URL`, GitHub's own API when it is not set.
pub fn api_url(env: Env) -> String {
    env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into())
}

/// `$GITHUB_REPOSITORY`, checked to be `owner/name` before it reaches a URL.
pub fn repository(env: Env) -> Result<String, String> {
    let repo = env("GITHUB_REPOSITORY")
        .ok_or("GITHUB_REPOSITORY is not set: the GitHub API calls need owner/name")?;
    if !valid_repo(&repo) {
        return Err(format!("GITHUB_REPOSITORY={repo:?} is not owner/name"));
    }
    Ok(repo)
}

/// Creates or updates the sticky PR comment through `hub`; `check_run` (the check run's page)
/// is linked under the headline. `Err` is a warning to print: the verdict never depends on
/// the comment.
pub fn publish_pr_comment(
    report: &Report,
    fail_on: Severity,
    target: &CommentTarget,
    hub: &Hub<'_>,
    check_run: Option<&str>,
    env: Env,
) -> Result<Sticky, String> {
    let url = run_url(env);
    let link = check_run.map(|u| {
        format!("Every finding is annotated on the diff by the [goready check run]({u}).\n")
    });
    let link_len = link.as_ref().map_or(0, |l| l.len() + 1);
    let mut body = markdown::render(
        report,
        &markdown::Options {
            fail_on,
            max_bytes: COMMENT_LIMIT - link_len,
            full_report_url: url.as_deref(),
            marker: Some(COMMENT_MARKER),
        },
    );
    if let Some(link) = link {
        // Right under the headline (the first `## ` line), where it is seen.
        let at = body
            .find("\n## ")
            .and_then(|h| body[h + 1..].find('\n').map(|e| h + 1 + e + 1))
            .unwrap_or(body.len());
        body.insert_str(at, &format!("\n{link}"));
    }
    let (owner, name) = target.repo.split_once('/').unwrap_or((&target.repo, ""));
    let thread = PrThread {
        hub,
        owner: owner.to_string(),
        name: name.to_string(),
        pr: target.pr,
    };
    api::upsert_sticky(&thread, COMMENT_MARKER, &body).map_err(|e| {
        let hint = match e.status {
            Some(403) => format!(
                " — the token cannot write to {}#{}. On pull requests from forks GITHUB_TOKEN is read-only: post the comment from a workflow_run workflow (docs/ci.md), or grant `permissions: pull-requests: write`",
                target.repo, target.pr
            ),
            Some(401) => format!(" — the token in ${} was refused", target.token_env),
            Some(404) => format!(
                " — {}#{} was not found, or the token cannot see it",
                target.repo, target.pr
            ),
            _ => String::new(),
        };
        hub.scrub(&format!("PR comment not posted: {e}{hint}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Check;
    use crate::registry;

    #[test]
    fn data_and_properties_are_escaped_as_the_runner_expects() {
        assert_eq!(escape_data("50% a:b, c\r\nd"), "50%25 a:b, c%0D%0Ad");
        assert_eq!(escape_property("50% a:b, c\nd"), "50%25 a%3Ab%2C c%0Ad");
    }

    #[test]
    fn one_cause_on_five_targets_is_annotated_once() {
        let report = Report::new(
            ["a", "b", "c", "d", "e"]
                .iter()
                .map(|t| {
                    Check::of(&registry::BINARY_STRIPPED)
                        .target(*t)
                        .fail("symbols")
                })
                .collect(),
        );
        let lines = annotations(&report);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("title=binary.stripped (5 targets)"),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains("%0Aon a%2C b%2C c%2C d%2C e%0A")
                || lines[0].contains("%0Aon a, b, c, d, e%0A"),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn an_annotation_carries_file_line_and_title() {
        let c = Check::of(&registry::BINARY_VERSION)
            .target("dist/a,b")
            .location("cmd/main.go", Some(7))
            .fail("100% missing: v1");
        let line = annotation(&Finding {
            id: "f".into(),
            checks: vec![&c],
            explains: vec![],
        });
        assert!(
            line.starts_with("::error file=cmd/main.go,line=7,title=binary.version (dist/a%2Cb)::100%25 missing: v1%0Aexpected version embedded: https"),
            "{line}"
        );
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn run_url_names_the_attempt_only_when_it_is_a_rerun() {
        let first = env_of(&[
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "1"),
        ]);
        assert_eq!(
            run_url(&first).as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        let rerun = env_of(&[
            ("GITHUB_SERVER_URL", "https://ghe.example/"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
        ]);
        assert_eq!(
            run_url(&rerun).as_deref(),
            Some("https://ghe.example/o/r/actions/runs/42/attempts/2")
        );
    }

    #[test]
    fn pr_number_comes_from_the_flag_or_the_event_payload() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (r#"{"number": 7, "pull_request": {"number": 7}}"#, Some(7)),
            (
                r#"{"issue": {"number": 8, "pull_request": {"url": "x"}}}"#,
                Some(8),
            ),
            (r#"{"issue": {"number": 9}}"#, None),
            (
                r#"{"workflow_run": {"pull_requests": [{"number": 10}]}}"#,
                Some(10),
            ),
            (r#"{"workflow_run": {"pull_requests": []}}"#, None),
            ("not json", None),
        ];
        for (i, (payload, want)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("event-{i}.json"));
            std::fs::write(&path, payload).unwrap();
            let path = path.to_str().unwrap().to_string();
            let env = move |k: &str| (k == "GITHUB_EVENT_PATH").then(|| path.clone());
            assert_eq!(pr_number(None, &env).ok(), *want, "{payload}");
            assert_eq!(pr_number(Some(3), &env), Ok(3));
        }
    }

    #[test]
    fn repository_names_are_validated_before_they_reach_a_url() {
        assert!(valid_repo("octo-org/hello.svc_2"));
        for bad in ["octo", "o/r/x", "../r", "o/..", "o/r?x=1", "o/"] {
            assert!(!valid_repo(bad), "{bad}");
        }
    }

    #[test]
    fn outputs_use_heredocs_for_multiline_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        write_outputs(
            &path,
            &[("passed", "true".into()), ("junit", "a\nb".into())],
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("passed=true"));
        let head = lines.next().unwrap();
        let delim = head.strip_prefix("junit<<").unwrap();
        assert_eq!(lines.next(), Some("a"));
        assert_eq!(lines.next(), Some("b"));
        assert_eq!(lines.next(), Some(delim));
    }
}
