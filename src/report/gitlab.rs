//! GitLab: the Code Quality report (`artifacts:reports:codequality`) and the sticky merge
//! request note.
//!
//! Code Quality is a JSON array of issues with `description`, `check_name`, `fingerprint`,
//! `severity` (info | minor | major | critical | blocker), `location.path` and
//! `location.lines.begin` (GitLab's Code Quality report format). Only problems become issues. GitLab compares
//! fingerprints between the MR and its base, so they are stable (the check's own) and unique
//! within a report. A finding without a source file is attached to line 1 of the fallback
//! file (goready.toml, where the rule is configured).
//!
//! The MR note lives at `/projects/:id/merge_requests/:iid/notes`, found through the CI
//! variables a job has (`CI_API_V4_URL`, `CI_PROJECT_ID`, `CI_MERGE_REQUEST_IID`), with a token
//! of `api` scope sent as `PRIVATE-TOKEN` (`CI_JOB_TOKEN` cannot post notes).

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};

use crate::model::findings::findings;
use crate::model::{Report, Severity};
use crate::report::api::{self, Api, ApiError, Auth, Method, Note, Sticky, Thread};
use crate::report::{Env, markdown, rule_title, subject, unique_ids};

/// The hidden first line of goready's MR note.
pub const NOTE_MARKER: &str = "<!-- goready:report -->";
/// GitLab's limit on a note body (1,000,000 characters); bytes bound characters.
pub const NOTE_LIMIT: usize = 1_000_000;

/// Code Quality severity of a problem.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "critical",
        Severity::Warning => "major",
        Severity::Notice => "info",
    }
}

/// The Code Quality issues of a report: one per finding, most severe first, fingerprinted by
/// the finding's identity (GitLab compares them between the MR and its base).
pub fn code_quality(report: &Report, fallback_file: &str) -> Vec<Value> {
    let found = findings(report);
    let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
    found
        .iter()
        .zip(unique_ids(&ids))
        .map(|(f, fp)| {
            let c = f.lead();
            let targets = f.targets();
            let mut description = format!("{}: {}", rule_title(c), c.message.trim_end());
            match (targets.is_empty(), subject(c)) {
                (false, Some(s)) => description.push_str(&format!(" [{} {s}]", targets.join(", "))),
                (false, None) => description.push_str(&format!(" [{}]", targets.join(", "))),
                (true, Some(s)) => description.push_str(&format!(" [{s}]")),
                (true, None) => {}
            }
            if f.status() == crate::model::Status::Error {
                description.insert_str(0, "not evaluated — ");
            }
            json!({
                "description": description,
                "check_name": c.id,
                "fingerprint": fp,
                "severity": severity(f.severity()),
                "location": {
                    "path": c.file.as_deref().unwrap_or(fallback_file),
                    "lines": {"begin": c.line.unwrap_or(1).max(1)}
                }
            })
        })
        .collect()
}

/// Writes the Code Quality report (UTF-8 JSON, no BOM).
pub fn write_code_quality(report: &Report, fallback_file: &str, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(&code_quality(report, fallback_file))?;
    std::fs::write(path, json + "\n")
        .with_context(|| format!("writing the Code Quality report {}", path.display()))
}

/// Where the MR note goes.
#[derive(Debug, Clone)]
pub struct NoteTarget {
    /// `$CI_API_V4_URL`.
    pub api_url: String,
    /// `$CI_PROJECT_ID` (numeric, or a `group/project` path).
    pub project: String,
    /// `$CI_MERGE_REQUEST_IID`.
    pub mr: u64,
    /// The variable the token was read from (for messages; never the token).
    pub token_env: String,
}

/// Works out the MR from the CI variables of a merge request pipeline.
pub fn note_target(token_env: &str, env: Env) -> Result<NoteTarget, String> {
    let api_url = env("CI_API_V4_URL")
        .ok_or("CI_API_V4_URL is not set: the MR note needs GitLab CI's variables")?;
    let project = env("CI_PROJECT_ID").ok_or("CI_PROJECT_ID is not set")?;
    let mr = env("CI_MERGE_REQUEST_IID")
        .ok_or("CI_MERGE_REQUEST_IID is not set: the MR note needs a merge request pipeline (rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\")")?;
    let mr = mr
        .parse()
        .map_err(|_| format!("CI_MERGE_REQUEST_IID={mr:?} is not a number"))?;
    Ok(NoteTarget {
        api_url,
        project,
        mr,
        token_env: token_env.to_string(),
    })
}

struct MrThread<'a> {
    api: &'a Api<'a>,
    base: String,
}

impl Thread for MrThread<'_> {
    fn list(&self) -> Result<Vec<Note>, ApiError> {
        self.api.list(
            "listing MR notes",
            &self.base,
            &[
                ("sort", "asc"),
                ("order_by", "created_at"),
                ("per_page", "100"),
            ],
        )
    }
    fn create(&self, body: &str) -> Result<u64, ApiError> {
        let note: Note = self.api.send(
            "creating the MR note",
            Method::Post,
            &self.base,
            &json!({ "body": body }),
        )?;
        Ok(note.id)
    }
    fn update(&self, id: u64, body: &str) -> Result<(), ApiError> {
        let _: Note = self.api.send(
            "updating the MR note",
            Method::Put,
            &format!("{}/{id}", self.base),
            &json!({ "body": body }),
        )?;
        Ok(())
    }
    fn delete(&self, id: u64) -> Result<(), ApiError> {
        self.api.delete(
            "deleting a duplicate MR note",
            &format!("{}/{id}", self.base),
        )
    }
}

/// Creates or updates the sticky MR note. `Err` is a warning to print: the verdict never
/// depends on the note.
pub fn publish_mr_note(
    report: &Report,
    fail_on: Severity,
    target: &NoteTarget,
    token: String,
    env: Env,
    say: crate::progress::Say<'_>,
) -> Result<Sticky, String> {
    let url = env("CI_JOB_URL").or_else(|| env("CI_PIPELINE_URL"));
    let body = markdown::render(
        report,
        &markdown::Options {
            fail_on,
            max_bytes: NOTE_LIMIT,
            full_report_url: url.as_deref(),
            marker: Some(NOTE_MARKER),
        },
    );
    let api =
        Api::new(&target.api_url, Auth::PrivateToken, token, say).map_err(|e| e.to_string())?;
    let thread = MrThread {
        api: &api,
        base: format!(
            "/projects/{}/merge_requests/{}/notes",
            api::encode_segment(&target.project),
            target.mr
        ),
    };
    api::upsert_sticky(&thread, NOTE_MARKER, &body).map_err(|e| {
        let hint = match e.status {
            Some(401) | Some(403) => format!(
                " — the token in ${} cannot write notes: use a project or personal access token with `api` scope (CI_JOB_TOKEN cannot post notes)",
                target.token_env
            ),
            Some(404) => format!(
                " — merge request !{} of project {} was not found, or the token cannot see it",
                target.mr, target.project
            ),
            _ => String::new(),
        };
        api.scrub(&format!("MR note not posted: {e}{hint}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Check;
    use crate::registry;

    #[test]
    fn only_problems_become_issues_with_unique_fingerprints() {
        let report = Report::new(vec![
            Check::of(&registry::BINARY_PIE).target("dist/a").pass("ok"),
            Check::of(&registry::BINARY_VERSION)
                .target("dist/a")
                .fail("first"),
            Check::of(&registry::BINARY_VERSION)
                .target("dist/a")
                .fail("second"),
            Check::of(&registry::BINARY_DWARF)
                .target("dist/a")
                .location("cmd/x.go", Some(4))
                .fail("dwarf"),
            Check::of(&registry::BINARY_READABLE)
                .target("dist/b")
                .error("truncated"),
        ]);
        let issues = code_quality(&report, "svc/goready.toml");
        assert_eq!(issues.len(), 4);
        let fps: std::collections::HashSet<&str> = issues
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap())
            .collect();
        assert_eq!(fps.len(), 4);
        assert_eq!(issues[0]["severity"], "critical");
        assert_eq!(issues[0]["location"]["path"], "svc/goready.toml");
        assert_eq!(issues[0]["location"]["lines"]["begin"], 1);
        let dwarf = issues
            .iter()
            .find(|i| i["check_name"] == "binary.dwarf")
            .unwrap();
        assert_eq!(dwarf["severity"], "info");
        assert_eq!(dwarf["location"]["path"], "cmd/x.go");
        assert_eq!(dwarf["location"]["lines"]["begin"], 4);
    }

    #[test]
    fn note_target_explains_what_is_missing() {
        let env = |k: &str| match k {
            "CI_API_V4_URL" => Some("https://gitlab.example/api/v4".to_string()),
            "CI_PROJECT_ID" => Some("12".to_string()),
            _ => None,
        };
        let err = note_target("GITLAB_TOKEN", &env).unwrap_err();
        assert!(err.contains("CI_MERGE_REQUEST_IID"), "{err}");
    }
}
