//! The sticky GitLab MR note against a local server that speaks GitLab's REST API
//! (tests/forge): created once, updated after, duplicates removed, a token without `api` scope
//! warned about, server errors retried, the token sent as PRIVATE-TOKEN and never printed.

mod common;
mod forge;
mod reportkit;

use std::path::Path;

use forge::{Forge, Inject, Perm};
use goready::model::{Check, Report};
use goready::registry;
use reportkit::*;
use serde_json::json;

const TOKEN: &str = "glpat-Zq9xXsecretTOKENvalue77";
const MARKER: &str = "<!-- goready:report -->";
const MR: u64 = 7;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct Setup {
    forge: Forge,
    dir: tempfile::TempDir,
}

fn setup(perm: Perm) -> Setup {
    let forge = Forge::start();
    forge.token(TOKEN, perm);
    Setup {
        forge,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn vars(&self, project: &str) -> Vec<(&'static str, String)> {
        vec![
            ("GITLAB_CI", "true".into()),
            ("CI_API_V4_URL", format!("{}/api/v4", self.forge.url)),
            ("CI_PROJECT_ID", project.into()),
            ("CI_MERGE_REQUEST_IID", MR.to_string()),
            (
                "CI_JOB_URL",
                "https://gitlab.example/group/svc/-/jobs/99".into(),
            ),
            ("GITLAB_TOKEN", TOKEN.into()),
        ]
    }

    fn note(&self, report: &Report, vars: &[(&'static str, String)]) -> (i32, String, String) {
        let input = write(self.dir.path(), "r.json", report);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (code, stdout, stderr) = run_with(&["report", p(&input), "--gitlab-note"], &vars);
        assert!(
            !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
            "token printed:\n{stdout}\n{stderr}"
        );
        (code, stdout, stderr)
    }

    fn ours(&self) -> Vec<forge::Comment> {
        self.forge
            .comments(MR)
            .into_iter()
            .filter(|c| c.body.starts_with(MARKER))
            .collect()
    }
}

fn passing() -> Report {
    Report::new(vec![
        Check::of(&registry::BINARY_STATIC)
            .target("dist/svc")
            .pass("statically linked"),
    ])
}

#[test]
fn mr_note_is_created_once_then_updated_with_private_token_auth() {
    let s = setup(Perm::Write);
    let human = s
        .forge
        .seed(MR, "alice", "Please also check the arm64 build");
    let vars = s.vars("42");
    let (code, _, stderr) = s.note(&test_report(), &vars);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("MR note on !7 created"), "{stderr}");
    let seen = s.forge.seen();
    let list = &seen[0];
    assert_eq!(list.method, "GET");
    assert!(
        list.url
            .starts_with("/api/v4/projects/42/merge_requests/7/notes?"),
        "{}",
        list.url
    );
    assert!(list.url.contains("sort=asc") && list.url.contains("per_page=100"));
    let post = seen.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.url, "/api/v4/projects/42/merge_requests/7/notes");
    assert_eq!(post.header("private-token"), Some(TOKEN));
    assert_eq!(
        post.header("authorization"),
        None,
        "GitLab gets PRIVATE-TOKEN only"
    );
    let ours = s.ours();
    assert_eq!(ours.len(), 1);
    assert!(ours[0].body.contains("TestHello"));
    let id = ours[0].id;

    s.forge.clear_seen();
    let (code, _, stderr) = s.note(&passing(), &vars);
    assert_eq!(code, 0, "{stderr}");
    let ours = s.ours();
    assert_eq!(ours.len(), 1, "no second note");
    assert_eq!(ours[0].id, id);
    assert!(ours[0].body.contains("## ✅ goready"));
    let writes: Vec<(String, String)> = s
        .forge
        .seen()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| (r.method.clone(), r.url.clone()))
        .collect();
    assert_eq!(
        writes,
        [(
            "PUT".to_string(),
            format!("/api/v4/projects/42/merge_requests/7/notes/{id}")
        )]
    );
    let all = s.forge.comments(MR);
    assert_eq!(
        all.iter().find(|c| c.id == human).unwrap().body,
        "Please also check the arm64 build"
    );
}

#[test]
fn duplicate_notes_are_removed_keeping_the_oldest_and_project_paths_are_encoded() {
    let s = setup(Perm::Write);
    for i in 0..101 {
        s.forge.seed(MR, "alice", &format!("thread {i}"));
    }
    let oldest = s
        .forge
        .seed(MR, "project_42_bot", &format!("{MARKER}\nold"));
    let dup = s
        .forge
        .seed(MR, "project_42_bot", &format!("{MARKER}\nnewer"));
    let (code, _, stderr) = s.note(&passing(), &s.vars("group/svc"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("removed 1 duplicate"), "{stderr}");
    let ours = s.ours();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].id, oldest);
    assert_eq!(s.forge.comments(MR).len(), 102);
    let seen = s.forge.seen();
    assert!(
        seen.iter().all(|r| r
            .url
            .starts_with("/api/v4/projects/group%2Fsvc/merge_requests/7/notes")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|r| r.method == "GET" && r.url.contains("page=2")),
        "pagination followed"
    );
    assert!(
        seen.iter()
            .any(|r| r.method == "DELETE" && r.url.ends_with(&format!("/notes/{dup}")))
    );
}

#[test]
fn a_token_without_api_scope_warns_and_the_verdict_stands() {
    let s = setup(Perm::ReadOnly);
    let (code, _, stderr) = s.note(&passing(), &s.vars("42"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("MR note not posted: HTTP 403: 403 Forbidden"),
        "{stderr}"
    );
    assert!(stderr.contains("api` scope"), "{stderr}");
    let (code, _, _) = s.note(&test_report(), &s.vars("42"));
    assert_eq!(code, 1);
    assert!(s.forge.comments(MR).is_empty());
    // A token GitLab does not know at all.
    let mut vars = s.vars("42");
    vars.retain(|(k, _)| *k != "GITLAB_TOKEN");
    vars.push(("GITLAB_TOKEN", "glpat-unknown-token-0000".into()));
    let (code, _, stderr) = s.note(&passing(), &vars);
    assert_eq!(code, 0);
    assert!(stderr.contains("HTTP 401"), "{stderr}");
}

#[test]
fn a_server_error_is_retried_then_the_note_is_posted() {
    let s = setup(Perm::Write);
    s.forge.inject(Inject {
        method: "POST",
        path_contains: "/notes",
        status: 500,
        body: json!({"message": "500 Internal Server Error"}),
        headers: vec![],
        times: 1,
    });
    let (code, _, stderr) = s.note(&passing(), &s.vars("42"));
    assert_eq!(code, 0);
    assert!(stderr.contains("retrying"), "{stderr}");
    assert!(stderr.contains("created"), "{stderr}");
    assert_eq!(s.ours().len(), 1);
}

#[test]
fn outside_a_merge_request_pipeline_the_note_is_skipped_with_the_reason() {
    let s = setup(Perm::Write);
    let mut vars = s.vars("42");
    vars.retain(|(k, _)| *k != "CI_MERGE_REQUEST_IID");
    let (code, _, stderr) = s.note(&test_report(), &vars);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("MR note skipped: CI_MERGE_REQUEST_IID is not set"),
        "{stderr}"
    );
    assert!(s.forge.seen().is_empty());
}

#[test]
fn a_next_page_link_to_another_host_is_not_followed_with_the_token() {
    let s = setup(Perm::Write);
    let elsewhere = Forge::start();
    s.forge.inject(Inject {
        method: "GET",
        path_contains: "/notes",
        status: 200,
        body: json!([]),
        headers: vec![(
            "Link",
            format!(
                "<{}/api/v4/projects/42/merge_requests/7/notes?page=2>; rel=\"next\"",
                elsewhere.url
            ),
        )],
        times: 1,
    });
    let (code, _, stderr) = s.note(&passing(), &s.vars("42"));
    assert_eq!(code, 0);
    assert!(stderr.contains("leaves the API host"), "{stderr}");
    assert!(elsewhere.seen().is_empty(), "the token went elsewhere");
    assert!(s.forge.comments(MR).is_empty());
}
