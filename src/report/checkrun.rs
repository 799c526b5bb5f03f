//! The `goready` check run: every finding annotated on the pull request's diff through
//! GitHub's Checks API, where workflow commands show at most 10 errors and 10 warnings per
//! step.
//!
//! One check run named `goready` on the commit the pull request shows (`pull_request.head.sha`
//! of the event: on a `pull_request` event `GITHUB_SHA` is the merge commit, and annotations on
//! it would not appear on the diff). It is created `in_progress` before the report is written;
//! the annotations follow, 50 per request (the API's limit), each update adding to them; the
//! last update completes it with the conclusion from the verdict, the headline as its title
//! and the Markdown summary (within 65,535 characters) as its summary.

use octocrab::params::checks::{
    CheckRunConclusion, CheckRunOutput, CheckRunOutputAnnotation, CheckRunOutputAnnotationLevel,
    CheckRunStatus,
};
use serde_json::Value;

use crate::model::findings::findings;
use crate::model::{Finding, Report, Severity};
use crate::report::api::ApiError;
use crate::report::github::{annotation_message, annotation_title, run_url};
use crate::report::hub::Hub;
use crate::report::{Env, Verdict, markdown};

/// The check run's name, as the pull request's checks list shows it.
pub const CHECK_NAME: &str = "goready";
/// Annotations the Checks API takes per request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;
/// The Checks API's limit on a summary (and on a text), in characters.
pub const SUMMARY_LIMIT: usize = 65_535;
/// The limit on an annotation's message and raw details (64 KiB).
const ANNOTATION_TEXT_LIMIT: usize = 64 * 1024;
/// Titles are shown on one line; GitHub clips long ones anyway.
const TITLE_LIMIT: usize = 255;

/// When to publish the check run (`--check-run`, the action's `check-run` input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckRunMode {
    /// Not at all.
    #[default]
    Off,
    /// When the token may write checks: not on a pull request from a fork (whose token is
    /// read-only), where the workflow commands stand in without a warning.
    Auto,
    /// Always; a token that may not write checks is warned about, then the workflow commands
    /// stand in.
    On,
}

impl std::str::FromStr for CheckRunMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(CheckRunMode::Auto),
            "true" | "on" | "yes" | "1" => Ok(CheckRunMode::On),
            "false" | "off" | "no" | "0" => Ok(CheckRunMode::Off),
            other => Err(format!("{other:?}: expected auto, true or false")),
        }
    }
}

/// Where the check run goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckTarget {
    /// `owner/name`.
    pub repo: String,
    /// The commit the annotations belong to.
    pub head_sha: String,
    /// The event says the pull request comes from a fork (its token is read-only).
    pub fork: bool,
}

fn event(env: Env) -> Option<Value> {
    let path = env("GITHUB_EVENT_PATH")?;
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn is_sha(s: &str) -> bool {
    (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The commit the check run belongs to: the pull request's head (`pull_request.head.sha`,
/// `workflow_run.head_sha`) from the event payload, else `$GITHUB_SHA` (a push's commit).
pub fn check_target(env: Env) -> Result<CheckTarget, String> {
    let repo = super::github::repository(env)?;
    let event = event(env);
    let from_event = event.as_ref().and_then(|e| {
        e.pointer("/pull_request/head/sha")
            .or_else(|| e.pointer("/workflow_run/head_sha"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let head_sha = from_event
        .or_else(|| env("GITHUB_SHA"))
        .ok_or("no commit to attach it to: the event has no pull_request.head.sha and GITHUB_SHA is not set")?;
    if !is_sha(&head_sha) {
        return Err(format!("{head_sha:?} is not a commit SHA"));
    }
    let fork = event.as_ref().is_some_and(|e| {
        let flagged = e
            .pointer("/pull_request/head/repo/fork")
            .and_then(Value::as_bool)
            == Some(true);
        let head = e
            .pointer("/pull_request/head/repo/full_name")
            .and_then(Value::as_str);
        let base = e
            .pointer("/pull_request/base/repo/full_name")
            .and_then(Value::as_str);
        flagged || matches!((head, base), (Some(h), Some(b)) if h != b)
    });
    Ok(CheckTarget {
        repo,
        head_sha,
        fork,
    })
}

/// A check run that was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Its id.
    pub id: u64,
    /// Its page (what the PR comment links to).
    pub html_url: Option<String>,
}

/// What completing the check run sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Annotations sent.
    pub annotations: usize,
    /// Update requests it took.
    pub requests: usize,
    /// `success` or `failure`.
    pub conclusion: &'static str,
}

/// A create or update request of the Checks API, in octocrab's parameter types.
#[derive(serde::Serialize, Default)]
struct RunRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head_sha: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<CheckRunStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conclusion: Option<CheckRunConclusion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<CheckRunOutput>,
}

/// What goready reads of GitHub's answer: octocrab's `CheckRun` model also carries
/// `pull_requests` (full pull requests with their repositories), whose deserializer alone
/// costs about half a MiB of the release binary (over its 12 MiB budget) for fields goready
/// never reads. The requests still go through octocrab's typed `post`/`patch`.
#[derive(serde::Deserialize)]
struct RunAnswer {
    id: u64,
    #[serde(default)]
    html_url: Option<String>,
}

/// Creates the check run, in progress, on the target's commit.
pub fn start(hub: &Hub<'_>, target: &CheckTarget, env: Env) -> Result<Started, ApiError> {
    let request = RunRequest {
        name: Some(CHECK_NAME),
        head_sha: Some(target.head_sha.clone()),
        details_url: run_url(env),
        status: Some(CheckRunStatus::InProgress),
        output: Some(CheckRunOutput {
            title: "goready is writing its report".into(),
            summary: "The findings are annotated as soon as the report is written.".into(),
            text: None,
            annotations: Vec::new(),
            images: Vec::new(),
        }),
        ..RunRequest::default()
    };
    let route = format!("/repos/{}/check-runs", target.repo);
    let run: RunAnswer = hub.run(
        "creating the check run",
        hub.octocrab().post(route, Some(&request)),
    )?;
    Ok(Started {
        id: run.id,
        html_url: run.html_url,
    })
}

/// Sends every finding as an annotation, 50 per request, and completes the check run with the
/// verdict's conclusion, the headline and the summary.
pub fn finish(
    hub: &Hub<'_>,
    target: &CheckTarget,
    started: &Started,
    report: &Report,
    fail_on: Severity,
    fallback_file: &str,
    env: Env,
) -> Result<Finished, ApiError> {
    let route = format!("/repos/{}/check-runs/{}", target.repo, started.id);
    let passed = Verdict::of(report, fail_on).passed();
    let (conclusion, label) = if passed {
        (CheckRunConclusion::Success, "success")
    } else {
        (CheckRunConclusion::Failure, "failure")
    };
    let url = run_url(env);
    let summary = markdown::render(
        report,
        &markdown::Options {
            fail_on,
            max_bytes: SUMMARY_LIMIT,
            full_report_url: url.as_deref(),
            marker: None,
        },
    );
    let title = headline(&summary);
    let mut rest = annotations(report, fallback_file);
    let total = rest.len();
    let mut requests = 0;
    loop {
        let chunk: Vec<CheckRunOutputAnnotation> = rest
            .drain(..rest.len().min(ANNOTATIONS_PER_REQUEST))
            .collect();
        let last = rest.is_empty();
        let mut update = RunRequest {
            output: Some(CheckRunOutput {
                title: title.clone(),
                summary: summary.clone(),
                text: None,
                annotations: chunk,
                images: Vec::new(),
            }),
            ..RunRequest::default()
        };
        if last {
            update.status = Some(CheckRunStatus::Completed);
            update.conclusion = Some(conclusion);
        }
        requests += 1;
        let what = if last {
            "completing the check run".to_string()
        } else {
            format!("annotating the check run ({requests})")
        };
        let _: RunAnswer = hub.run(&what, hub.octocrab().patch(route.as_str(), Some(&update)))?;
        if last {
            break;
        }
    }
    Ok(Finished {
        annotations: total,
        requests,
        conclusion: label,
    })
}

/// The summary's first heading, without its Markdown: the check run's title.
fn headline(summary: &str) -> String {
    let line = summary
        .lines()
        .find(|l| l.starts_with('#'))
        .unwrap_or("goready")
        .trim_start_matches('#')
        .trim();
    clip(line, TITLE_LIMIT)
}

/// At most `max` characters of `s`, with `…` when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn annotation_level(severity: Severity) -> CheckRunOutputAnnotationLevel {
    match severity {
        Severity::Error => CheckRunOutputAnnotationLevel::Failure,
        Severity::Warning => CheckRunOutputAnnotationLevel::Warning,
        Severity::Notice => CheckRunOutputAnnotationLevel::Notice,
    }
}

/// One annotation per finding, in report order: its lead check's file and line (the
/// `fallback_file`'s line 1 when it has none, since the API wants a path), its level, title,
/// message, and every check it holds as raw details.
pub fn annotations(report: &Report, fallback_file: &str) -> Vec<CheckRunOutputAnnotation> {
    findings(report)
        .iter()
        .map(|f| annotation(f, fallback_file))
        .collect()
}

fn annotation(f: &Finding, fallback_file: &str) -> CheckRunOutputAnnotation {
    let c = f.lead();
    let (path, line) = match &c.file {
        Some(file) if !file.is_empty() => (file.clone(), c.line.filter(|l| *l > 0).unwrap_or(1)),
        _ => (fallback_file.to_string(), 1),
    };
    let details: Vec<String> = f
        .checks
        .iter()
        .map(|c| match &c.target {
            Some(t) => format!("{} on {t}: {}", c.id, c.message),
            None => format!("{}: {}", c.id, c.message),
        })
        .collect();
    CheckRunOutputAnnotation {
        path,
        start_line: line,
        end_line: line,
        start_column: None,
        end_column: None,
        annotation_level: annotation_level(f.severity()),
        message: clip(&annotation_message(f), ANNOTATION_TEXT_LIMIT / 4),
        title: Some(clip(&annotation_title(f), TITLE_LIMIT)),
        raw_details: Some(clip(&details.join("\n"), ANNOTATION_TEXT_LIMIT / 4)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Check;
    use crate::registry;

    #[test]
    fn modes_read_the_action_input() {
        assert_eq!("auto".parse(), Ok(CheckRunMode::Auto));
        assert_eq!("true".parse(), Ok(CheckRunMode::On));
        assert_eq!("False".parse(), Ok(CheckRunMode::Off));
        assert!("sometimes".parse::<CheckRunMode>().is_err());
    }

    #[test]
    fn every_finding_becomes_an_annotation_with_a_path_and_a_level() {
        let report = Report::new(vec![
            Check::of(&registry::BINARY_VERSION)
                .target("dist/a")
                .location("cmd/svc/main.go", Some(12))
                .fail("no version"),
            Check::of(&registry::BINARY_DWARF)
                .target("dist/a")
                .fail("DWARF kept"),
            Check::of(&registry::BINARY_STATIC)
                .target("dist/a")
                .pass("static"),
        ]);
        let got = annotations(&report, "go.mod");
        assert_eq!(got.len(), 2, "the pass is no finding");
        let v = serde_json::to_value(&got).unwrap();
        let located = v
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["path"] == "cmd/svc/main.go")
            .unwrap();
        assert_eq!(located["start_line"], 12);
        assert_eq!(located["end_line"], 12);
        assert_eq!(located["annotation_level"], "failure");
        assert_eq!(located["title"], "binary.version (dist/a)");
        assert!(
            located["message"]
                .as_str()
                .unwrap()
                .starts_with("no version\n")
        );
        assert_eq!(
            located["raw_details"],
            "binary.version on dist/a: no version"
        );
        let unlocated = v
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["path"] == "go.mod")
            .unwrap();
        assert_eq!(unlocated["start_line"], 1);
        let level = unlocated["annotation_level"].as_str().unwrap();
        assert!(["notice", "warning", "failure"].contains(&level), "{level}");
    }

    #[test]
    fn the_head_commit_comes_from_the_pull_request_not_the_merge_commit() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        let head = "0123456789abcdef0123456789abcdef01234567";
        std::fs::write(
            &event,
            serde_json::json!({"pull_request": {"number": 3, "head": {"sha": head,
                "repo": {"full_name": "someone/fork", "fork": true}},
                "base": {"repo": {"full_name": "o/r"}}}})
            .to_string(),
        )
        .unwrap();
        let path = event.to_str().unwrap().to_string();
        let env = move |k: &str| match k {
            "GITHUB_EVENT_PATH" => Some(path.clone()),
            "GITHUB_REPOSITORY" => Some("o/r".into()),
            "GITHUB_SHA" => Some("ffffffffffffffffffffffffffffffffffffffff".into()),
            _ => None,
        };
        let t = check_target(&env).unwrap();
        assert_eq!(t.head_sha, head);
        assert!(t.fork);
        let push = |k: &str| match k {
            "GITHUB_REPOSITORY" => Some("o/r".into()),
            "GITHUB_SHA" => Some("abcdef1".into()),
            _ => None,
        };
        let t = check_target(&push).unwrap();
        assert_eq!((t.head_sha.as_str(), t.fork), ("abcdef1", false));
        let bad = |k: &str| match k {
            "GITHUB_REPOSITORY" => Some("o/r".into()),
            "GITHUB_SHA" => Some("../../x".into()),
            _ => None,
        };
        assert!(check_target(&bad).is_err());
    }

    #[test]
    fn long_titles_are_clipped_on_a_character_boundary() {
        let t = clip(&"é".repeat(300), TITLE_LIMIT);
        assert_eq!(t.chars().count(), TITLE_LIMIT);
        assert!(t.ends_with('…'));
    }
}
