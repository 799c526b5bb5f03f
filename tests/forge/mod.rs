//! A local stand-in for GitHub's and GitLab's REST APIs on 127.0.0.1, at the wire level: the
//! real paths, verbs, headers (auth, `Link` pagination, `retry-after`) and JSON payloads of
//! issue comments and merge request notes. goready is run as a process against it; nothing of
//! goready's is mocked.
//!
//! - GitHub: `GET/POST {prefix}/repos/:owner/:repo/issues/:n/comments`,
//!   `PATCH/DELETE {prefix}/repos/:owner/:repo/issues/comments/:id`; `Authorization: Bearer`
//!   or `token`; a read-only token gets 403 "Resource not accessible by integration" on writes
//!   (a fork PR's GITHUB_TOKEN).
//! - GitHub check runs: `POST {prefix}/repos/:owner/:repo/check-runs`,
//!   `PATCH …/check-runs/:id`, validated as the Checks API does (name and head_sha, at most 50
//!   annotations per request each with path, start_line, end_line, a level of
//!   notice/warning/failure and a message, a summary within 65,535 characters); annotations
//!   accumulate across updates, a conclusion completes the run; a read-only token gets 403.
//! - GitLab: `GET/POST /api/v4/projects/:id/merge_requests/:iid/notes`,
//!   `PUT/DELETE …/notes/:note_id`; `PRIVATE-TOKEN`; a read-only token gets 403.
//! - GitLab job artifacts: `GET /api/v4/projects/:id/jobs/artifacts/:ref/raw/*path?job=NAME`
//!   (ref and job percent-encoded) with `JOB-TOKEN`: the newest artifact stored for that ref
//!   and job, 404 when there is none.
//! - Failures can be queued for the next matching requests (500, a secondary rate limit).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::{Value, json};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    /// Read and write.
    Write,
    /// Read only (a fork PR's GITHUB_TOKEN, a GitLab token without api scope).
    ReadOnly,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub url: String,
    /// Headers (lower-cased names).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// The status answered.
    pub status: u16,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A stored comment or note.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Its id.
    pub id: u64,
    /// PR number or MR iid.
    pub thread: u64,
    /// The body.
    pub body: String,
    /// Author login.
    pub author: String,
    /// Seconds after 2024-01-01 (orders creation).
    pub created: u64,
    /// Seconds after 2024-01-01 of the last update.
    pub updated: u64,
}

/// A queued failure: the next `times` requests whose method matches and whose path contains
/// `path_contains` get this answer.
#[derive(Debug, Clone)]
pub struct Inject {
    /// HTTP method to match.
    pub method: &'static str,
    /// A substring of the path to match.
    pub path_contains: &'static str,
    /// Status to answer.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// How many requests to fail.
    pub times: usize,
}

/// A check run as the stand-in keeps it.
#[derive(Debug, Clone)]
pub struct CheckRun {
    /// Its id.
    pub id: u64,
    /// `owner/repo`.
    pub repo: String,
    /// Its name.
    pub name: String,
    /// The commit it is attached to.
    pub head_sha: String,
    /// queued | in_progress | completed.
    pub status: String,
    /// Set when completed.
    pub conclusion: Option<String>,
    /// The output's title.
    pub title: Option<String>,
    /// The output's summary.
    pub summary: Option<String>,
    /// Every annotation received, in order.
    pub annotations: Vec<Value>,
    /// Annotations per request (create, then each update), in order.
    pub batches: Vec<usize>,
    /// The status after each request, in order.
    pub statuses: Vec<String>,
    /// The details_url sent, if any.
    pub details_url: Option<String>,
}

#[derive(Default)]
struct State {
    check_runs: Vec<CheckRun>,
    comments: Vec<Comment>,
    next_id: u64,
    clock: u64,
    tokens: Vec<(String, Perm)>,
    seen: Vec<Seen>,
    inject: VecDeque<Inject>,
    job_tokens: Vec<String>,
    /// (project, ref, job, path, bytes), oldest first.
    artifacts: Vec<(String, String, String, String, Vec<u8>)>,
}

/// The server. Dropping it stops it.
pub struct Forge {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

fn timestamp(secs: u64) -> String {
    // 2024-01-01T00:00:00Z plus secs, within one day per 86,400 s; tests stay far below.
    let (d, rem) = (secs / 86_400, secs % 86_400);
    format!(
        "2024-01-{:02}T{:02}:{:02}:{:02}Z",
        1 + d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Forge {
    /// Starts a server on an ephemeral loopback port.
    pub fn start() -> Forge {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("ip listener").port();
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State {
            next_id: 1_000,
            ..State::default()
        }));
        let thread = {
            let server = server.clone();
            let state = state.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    handle(&state, &url, request);
                }
            })
        };
        Forge {
            url,
            state,
            server,
            thread: Some(thread),
        }
    }

    /// Accepts `token` with `perm`.
    pub fn token(&self, token: &str, perm: Perm) {
        self.state
            .lock()
            .unwrap()
            .tokens
            .push((token.to_string(), perm));
    }

    /// Accepts `token` as a CI job token (`JOB-TOKEN`), which reads job artifacts only.
    pub fn job_token(&self, token: &str) {
        self.state
            .lock()
            .unwrap()
            .job_tokens
            .push(token.to_string());
    }

    /// Stores a file a job on `ref_name` of `project` kept as an artifact; a later one for the
    /// same ref, job and path is the newer.
    pub fn artifact(&self, project: &str, ref_name: &str, job: &str, path: &str, bytes: &[u8]) {
        self.state.lock().unwrap().artifacts.push((
            project.to_string(),
            ref_name.to_string(),
            job.to_string(),
            path.to_string(),
            bytes.to_vec(),
        ));
    }

    /// Adds an existing comment (by someone) to a thread; returns its id.
    pub fn seed(&self, thread: u64, author: &str, body: &str) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.next_id += 1;
        s.clock += 60;
        let c = Comment {
            id: s.next_id,
            thread,
            body: body.to_string(),
            author: author.to_string(),
            created: s.clock,
            updated: s.clock,
        };
        s.comments.push(c);
        s.next_id
    }

    /// Queues a failure.
    pub fn inject(&self, inject: Inject) {
        self.state.lock().unwrap().inject.push_back(inject);
    }

    /// The comments of a thread, oldest first.
    pub fn comments(&self, thread: u64) -> Vec<Comment> {
        self.state
            .lock()
            .unwrap()
            .comments
            .iter()
            .filter(|c| c.thread == thread)
            .cloned()
            .collect()
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The check runs created so far.
    pub fn check_runs(&self) -> Vec<CheckRun> {
        self.state.lock().unwrap().check_runs.clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear_seen(&self) {
        self.state.lock().unwrap().seen.clear();
    }
}

impl Drop for Forge {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Answer {
    status: u16,
    body: Option<Value>,
    /// A file's bytes, answered as they are (job artifacts).
    raw: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body: Some(body),
            raw: None,
            headers: Vec::new(),
        }
    }
    fn empty(status: u16) -> Answer {
        Answer {
            status,
            body: None,
            raw: None,
            headers: Vec::new(),
        }
    }
}

fn handle(state: &Mutex<State>, base: &str, mut request: tiny_http::Request) {
    let method = request.method().as_str().to_ascii_uppercase();
    let url = request.url().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let answer = {
        let mut s = state.lock().unwrap();
        let answer = route(&mut s, base, &method, &url, &headers, &body);
        s.seen.push(Seen {
            method: method.clone(),
            url: url.clone(),
            headers: headers.clone(),
            body: body.clone(),
            status: answer.status,
        });
        answer
    };
    let mut response = match (&answer.body, &answer.raw) {
        (_, Some(bytes)) => tiny_http::Response::from_data(bytes.clone()),
        (Some(v), None) => tiny_http::Response::from_string(v.to_string()),
        (None, None) => tiny_http::Response::from_string(String::new()),
    }
    .with_status_code(answer.status);
    if answer.body.is_some() {
        response.add_header(
            tiny_http::Header::from_bytes("Content-Type", "application/json; charset=utf-8")
                .unwrap(),
        );
    }
    for (k, v) in &answer.headers {
        response.add_header(tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap());
    }
    let _ = request.respond(response);
}

fn query(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

fn github_user(login: &str) -> Value {
    let bot = login.ends_with("[bot]");
    json!({
        "login": login, "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4", "gravatar_id": "",
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("https://api.github.com/users/{login}/followers"),
        "following_url": format!("https://api.github.com/users/{login}/following{{/other_user}}"),
        "gists_url": format!("https://api.github.com/users/{login}/gists{{/gist_id}}"),
        "starred_url": format!("https://api.github.com/users/{login}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("https://api.github.com/users/{login}/subscriptions"),
        "organizations_url": format!("https://api.github.com/users/{login}/orgs"),
        "repos_url": format!("https://api.github.com/users/{login}/repos"),
        "events_url": format!("https://api.github.com/users/{login}/events{{/privacy}}"),
        "received_events_url": format!("https://api.github.com/users/{login}/received_events"),
        "type": if bot { "Bot" } else { "User" }, "user_view_type": "public", "site_admin": false
    })
}

fn github_comment(base: &str, prefix: &str, repo: &str, c: &Comment) -> Value {
    json!({
        "url": format!("{base}{prefix}/repos/{repo}/issues/comments/{}", c.id),
        "html_url": format!("https://github.com/{repo}/pull/{}#issuecomment-{}", c.thread, c.id),
        "issue_url": format!("{base}{prefix}/repos/{repo}/issues/{}", c.thread),
        "id": c.id,
        "node_id": format!("IC_kwDO{}", c.id),
        "user": github_user(&c.author),
        "created_at": timestamp(c.created),
        "updated_at": timestamp(c.updated),
        "author_association": "NONE",
        "body": c.body,
        "reactions": {"url": format!("{base}{prefix}/repos/{repo}/issues/comments/{}/reactions", c.id),
            "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0,
            "heart": 0, "rocket": 0, "eyes": 0},
        "performed_via_github_app": null
    })
}

fn gitlab_note(c: &Comment, project: &str) -> Value {
    json!({
        "id": c.id, "type": null, "body": c.body, "attachment": null,
        "author": {"id": 7, "username": c.author, "name": c.author, "state": "active",
            "locked": false, "avatar_url": "https://gitlab.example/uploads/avatar.png",
            "web_url": format!("https://gitlab.example/{}", c.author)},
        "created_at": timestamp(c.created), "updated_at": timestamp(c.updated),
        "system": false, "noteable_id": 9000 + c.thread, "noteable_type": "MergeRequest",
        "project_id": project.parse::<u64>().unwrap_or(1), "resolvable": false,
        "confidential": false, "internal": false, "imported": false, "imported_from": "none",
        "noteable_iid": c.thread, "commands_changes": {}
    })
}

fn not_found_github() -> Answer {
    Answer::json(
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
    )
}

fn route(
    s: &mut State,
    base: &str,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &str,
) -> Answer {
    let path = url.split('?').next().unwrap_or("");
    if let Some(pos) = s
        .inject
        .iter()
        .position(|i| i.method == method && path.contains(i.path_contains))
    {
        let inj = &mut s.inject[pos];
        inj.times -= 1;
        let answer = Answer {
            status: inj.status,
            body: Some(inj.body.clone()),
            raw: None,
            headers: inj
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        };
        if inj.times == 0 {
            s.inject.remove(pos);
        }
        return answer;
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(i) = path.find("/api/v4/") {
        if path.contains("/jobs/artifacts/") {
            return job_artifact(
                s,
                method,
                url,
                &path[i + "/api/v4".len()..],
                header("job-token"),
            );
        }
        return gitlab(
            s,
            base,
            method,
            url,
            &path[i + "/api/v4".len()..],
            header("private-token"),
            body,
        );
    }
    let Some(i) = path.find("/repos/") else {
        return not_found_github();
    };
    let prefix = &path[..i];
    let token = header("authorization").and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("token "))
    });
    github(s, base, prefix, method, url, &path[i..], token, body)
}

/// Percent-decodes a path segment or query value (as GitLab does for `:ref` and `job`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET /projects/:id/jobs/artifacts/:ref/raw/*path?job=NAME`: the newest stored file.
fn job_artifact(s: &State, method: &str, url: &str, path: &str, token: Option<&str>) -> Answer {
    if !token.is_some_and(|t| s.job_tokens.iter().any(|k| k == t)) {
        return Answer::json(401, json!({"message": "401 Unauthorized"}));
    }
    let not_found = Answer::json(404, json!({"message": "404 Not found"}));
    // projects / :id / jobs / artifacts / :ref / raw/<path>
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(6, '/').collect();
    let (Some(job), true) = (
        query(url, "job"),
        method == "GET"
            && parts.len() == 6
            && parts[0] == "projects"
            && parts[2] == "jobs"
            && parts[3] == "artifacts",
    ) else {
        return not_found;
    };
    let Some(file) = parts[5].strip_prefix("raw/") else {
        return not_found;
    };
    let (project, ref_name, job) = (
        percent_decode(parts[1]),
        percent_decode(parts[4]),
        percent_decode(&job),
    );
    match s
        .artifacts
        .iter()
        .rev()
        .find(|(p, r, j, f, _)| *p == project && *r == ref_name && *j == job && f == file)
    {
        Some((.., bytes)) => Answer {
            status: 200,
            body: None,
            raw: Some(bytes.clone()),
            headers: vec![(
                "Content-Type".to_string(),
                "application/octet-stream".to_string(),
            )],
        },
        None => not_found,
    }
}

fn perm(s: &State, token: Option<&str>) -> Option<Perm> {
    let token = token?;
    s.tokens.iter().find(|(t, _)| t == token).map(|(_, p)| *p)
}

fn body_of(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body)
        .ok()?
        .get("body")?
        .as_str()
        .map(str::to_string)
}

#[allow(clippy::too_many_arguments)]
fn github(
    s: &mut State,
    base: &str,
    prefix: &str,
    method: &str,
    url: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Answer {
    let Some(perm) = perm(s, token) else {
        return Answer::json(
            401,
            json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
        );
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if parts.len() >= 4 && parts[0] == "repos" && parts[3] == "check-runs" {
        return check_runs(s, base, prefix, method, &parts, perm, body);
    }
    // repos / owner / repo / issues / (n / comments | comments / id)
    if parts.len() != 6 || parts[0] != "repos" || parts[3] != "issues" {
        return not_found_github();
    }
    let repo = format!("{}/{}", parts[1], parts[2]);
    let forbidden = || {
        Answer::json(
            403,
            json!({"message": "Resource not accessible by integration",
                   "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
                   "status": "403"}),
        )
    };
    if parts[5] == "comments" {
        let Ok(n) = parts[4].parse::<u64>() else {
            return not_found_github();
        };
        match method {
            "GET" => {
                let per_page = query(url, "per_page")
                    .and_then(|p| p.parse::<usize>().ok())
                    .unwrap_or(30)
                    .clamp(1, 100);
                let page = query(url, "page")
                    .and_then(|p| p.parse::<usize>().ok())
                    .unwrap_or(1)
                    .max(1);
                let all: Vec<&Comment> = s.comments.iter().filter(|c| c.thread == n).collect();
                let pages = all.len().div_ceil(per_page).max(1);
                let items: Vec<Value> = all
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(|c| github_comment(base, prefix, &repo, c))
                    .collect();
                let mut answer = Answer::json(200, Value::Array(items));
                let link = |p: usize| {
                    format!(
                        "{base}{prefix}/repos/{repo}/issues/{n}/comments?per_page={per_page}&page={p}"
                    )
                };
                let mut links = Vec::new();
                if page < pages {
                    links.push(format!("<{}>; rel=\"next\"", link(page + 1)));
                    links.push(format!("<{}>; rel=\"last\"", link(pages)));
                }
                if page > 1 {
                    links.push(format!("<{}>; rel=\"prev\"", link(page - 1)));
                    links.push(format!("<{}>; rel=\"first\"", link(1)));
                }
                if !links.is_empty() {
                    answer.headers.push(("Link".into(), links.join(", ")));
                }
                answer
            }
            "POST" => {
                if perm == Perm::ReadOnly {
                    return forbidden();
                }
                let Some(text) = body_of(body) else {
                    return Answer::json(
                        422,
                        json!({"message": "Invalid request.\n\n\"body\" wasn't supplied.", "status": "422"}),
                    );
                };
                s.next_id += 1;
                s.clock += 60;
                let c = Comment {
                    id: s.next_id,
                    thread: n,
                    body: text,
                    author: "github-actions[bot]".into(),
                    created: s.clock,
                    updated: s.clock,
                };
                let v = github_comment(base, prefix, &repo, &c);
                s.comments.push(c);
                Answer::json(201, v)
            }
            _ => Answer::json(404, json!({"message": "Not Found"})),
        }
    } else if parts[4] == "comments" {
        let Ok(id) = parts[5].parse::<u64>() else {
            return not_found_github();
        };
        let Some(pos) = s.comments.iter().position(|c| c.id == id) else {
            return not_found_github();
        };
        match method {
            "PATCH" => {
                if perm == Perm::ReadOnly {
                    return forbidden();
                }
                let Some(text) = body_of(body) else {
                    return Answer::json(
                        422,
                        json!({"message": "Invalid request.", "status": "422"}),
                    );
                };
                s.clock += 60;
                let now = s.clock;
                let c = &mut s.comments[pos];
                c.body = text;
                c.updated = now;
                let c = c.clone();
                Answer::json(200, github_comment(base, prefix, &repo, &c))
            }
            "DELETE" => {
                if perm == Perm::ReadOnly {
                    return forbidden();
                }
                s.comments.remove(pos);
                Answer::empty(204)
            }
            "GET" => {
                let c = s.comments[pos].clone();
                Answer::json(200, github_comment(base, prefix, &repo, &c))
            }
            _ => not_found_github(),
        }
    } else {
        not_found_github()
    }
}

fn gitlab(
    s: &mut State,
    base: &str,
    method: &str,
    url: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Answer {
    let Some(perm) = perm(s, token) else {
        return Answer::json(401, json!({"message": "401 Unauthorized"}));
    };
    let not_found = || Answer::json(404, json!({"message": "404 Not found"}));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // projects / :id / merge_requests / :iid / notes [/ :note_id]
    if parts.len() < 5
        || parts[0] != "projects"
        || parts[2] != "merge_requests"
        || parts[4] != "notes"
    {
        return not_found();
    }
    let project = parts[1].to_string();
    let Ok(iid) = parts[3].parse::<u64>() else {
        return not_found();
    };
    let forbidden = || Answer::json(403, json!({"message": "403 Forbidden"}));
    if parts.len() == 5 {
        match method {
            "GET" => {
                let per_page = query(url, "per_page")
                    .and_then(|p| p.parse::<usize>().ok())
                    .unwrap_or(20)
                    .clamp(1, 100);
                let page = query(url, "page")
                    .and_then(|p| p.parse::<usize>().ok())
                    .unwrap_or(1)
                    .max(1);
                let mut all: Vec<&Comment> =
                    s.comments.iter().filter(|c| c.thread == iid).collect();
                // GitLab's default order is newest first; sort=asc gives oldest first.
                if query(url, "sort").as_deref() != Some("asc") {
                    all.reverse();
                }
                let total = all.len();
                let pages = total.div_ceil(per_page).max(1);
                let items: Vec<Value> = all
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(|c| gitlab_note(c, &project))
                    .collect();
                let mut answer = Answer::json(200, Value::Array(items));
                let link = |p: usize| {
                    format!(
                        "{base}/api/v4/projects/{project}/merge_requests/{iid}/notes?order_by=created_at&page={p}&per_page={per_page}&sort=asc"
                    )
                };
                let mut links = Vec::new();
                if page < pages {
                    links.push(format!("<{}>; rel=\"next\"", link(page + 1)));
                }
                links.push(format!("<{}>; rel=\"first\"", link(1)));
                links.push(format!("<{}>; rel=\"last\"", link(pages)));
                answer.headers.extend([
                    ("Link".to_string(), links.join(", ")),
                    ("X-Page".to_string(), page.to_string()),
                    ("X-Per-Page".to_string(), per_page.to_string()),
                    ("X-Total".to_string(), total.to_string()),
                    ("X-Total-Pages".to_string(), pages.to_string()),
                    (
                        "X-Next-Page".to_string(),
                        if page < pages {
                            (page + 1).to_string()
                        } else {
                            String::new()
                        },
                    ),
                ]);
                answer
            }
            "POST" => {
                if perm == Perm::ReadOnly {
                    return forbidden();
                }
                let Some(text) = body_of(body) else {
                    return Answer::json(400, json!({"error": "body is missing"}));
                };
                s.next_id += 1;
                s.clock += 60;
                let c = Comment {
                    id: s.next_id,
                    thread: iid,
                    body: text,
                    author: "project_42_bot".into(),
                    created: s.clock,
                    updated: s.clock,
                };
                let v = gitlab_note(&c, &project);
                s.comments.push(c);
                Answer::json(201, v)
            }
            _ => not_found(),
        }
    } else {
        let Ok(id) = parts[5].parse::<u64>() else {
            return not_found();
        };
        let Some(pos) = s
            .comments
            .iter()
            .position(|c| c.id == id && c.thread == iid)
        else {
            return not_found();
        };
        match method {
            "PUT" => {
                if perm == Perm::ReadOnly {
                    return forbidden();
                }
                let Some(text) = body_of(body) else {
                    return Answer::json(400, json!({"error": "body is missing"}));
                };
                s.clock += 60;
                let now = s.clock;
                let c = &mut s.comments[pos];
                c.body = text;
                c.updated = now;
                let c = c.clone();
                Answer::json(200, gitlab_note(&c, &project))
            }
            "DELETE" => {
                if perm == Perm::ReadOnly {
                    return forbidden();
                }
                s.comments.remove(pos);
                Answer::empty(204)
            }
            _ => not_found(),
        }
    }
}

fn unprocessable(message: &str) -> Answer {
    Answer::json(
        422,
        json!({"message": message, "documentation_url": "https://docs.github.com/rest/checks/runs", "status": "422"}),
    )
}

/// Checks a request's `output` as the Checks API does; returns its annotations.
fn check_output(output: Option<&Value>) -> Result<Vec<Value>, Answer> {
    let Some(output) = output else {
        return Ok(Vec::new());
    };
    for key in ["title", "summary"] {
        if !output[key].is_string() {
            return Err(unprocessable(&format!(
                "Invalid request.\n\n\"{key}\" wasn't supplied."
            )));
        }
    }
    if output["summary"].as_str().unwrap().chars().count() > 65_535 {
        return Err(unprocessable(
            "Invalid request.\n\nOnly 65535 characters are allowed; 65536 were supplied.",
        ));
    }
    let annotations = match output.get("annotations") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(unprocessable(
                "Invalid request.\n\nannotations is not an array.",
            ));
        }
    };
    if annotations.len() > 50 {
        return Err(unprocessable(
            "Invalid request.\n\nOnly 50 annotations are allowed per request.",
        ));
    }
    for a in &annotations {
        let ok = a["path"]
            .as_str()
            .is_some_and(|p| !p.is_empty() && !p.starts_with('/'))
            && a["start_line"].as_u64().is_some_and(|l| l >= 1)
            && a["end_line"].as_u64() >= a["start_line"].as_u64()
            && matches!(
                a["annotation_level"].as_str(),
                Some("notice" | "warning" | "failure")
            )
            && a["message"].as_str().is_some_and(|m| !m.is_empty());
        if !ok {
            return Err(unprocessable(&format!(
                "Invalid request.\n\nInvalid annotation: {a}"
            )));
        }
    }
    Ok(annotations)
}

fn check_run_json(base: &str, prefix: &str, r: &CheckRun) -> Value {
    json!({
        "id": r.id,
        "head_sha": r.head_sha,
        "node_id": format!("CR_kwDO{}", r.id),
        "external_id": "",
        "url": format!("{base}{prefix}/repos/{}/check-runs/{}", r.repo, r.id),
        "html_url": format!("https://github.com/{}/runs/{}", r.repo, r.id),
        "details_url": r.details_url,
        "status": r.status,
        "conclusion": r.conclusion,
        "started_at": "2024-01-01T00:00:00Z",
        "completed_at": if r.status == "completed" { json!("2024-01-01T00:01:00Z") } else { Value::Null },
        "output": {
            "title": r.title, "summary": r.summary, "text": null,
            "annotations_count": r.annotations.len(),
            "annotations_url": format!("{base}{prefix}/repos/{}/check-runs/{}/annotations", r.repo, r.id)
        },
        "name": r.name,
        "check_suite": {"id": 5},
        "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
        "pull_requests": []
    })
}

/// `POST /repos/:o/:r/check-runs`, `PATCH /repos/:o/:r/check-runs/:id`.
fn check_runs(
    s: &mut State,
    base: &str,
    prefix: &str,
    method: &str,
    parts: &[&str],
    perm: Perm,
    body: &str,
) -> Answer {
    let repo = format!("{}/{}", parts[1], parts[2]);
    if perm == Perm::ReadOnly && method != "GET" {
        return Answer::json(
            403,
            json!({"message": "Resource not accessible by integration",
                   "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
                   "status": "403"}),
        );
    }
    let Ok(req) = serde_json::from_str::<Value>(body) else {
        return Answer::json(400, json!({"message": "Problems parsing JSON"}));
    };
    let annotations = match check_output(req.get("output")) {
        Ok(a) => a,
        Err(answer) => return answer,
    };
    let conclusion = req["conclusion"].as_str().map(str::to_string);
    if let Some(c) = &conclusion {
        let known = [
            "action_required",
            "cancelled",
            "failure",
            "neutral",
            "success",
            "skipped",
            "stale",
            "timed_out",
        ];
        if !known.contains(&c.as_str()) {
            return unprocessable("Invalid request.\n\nconclusion is not a known value.");
        }
    }
    let status = req["status"].as_str().map(str::to_string);
    match (method, parts.len()) {
        ("POST", 4) => {
            let (Some(name), Some(sha)) = (req["name"].as_str(), req["head_sha"].as_str()) else {
                return unprocessable(
                    "Invalid request.\n\n\"name\", \"head_sha\" weren't supplied.",
                );
            };
            if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return unprocessable("No commit found for SHA: ".to_string().as_str());
            }
            s.next_id += 1;
            let status = if conclusion.is_some() {
                "completed".to_string()
            } else {
                status.unwrap_or_else(|| "queued".into())
            };
            let run = CheckRun {
                id: s.next_id,
                repo,
                name: name.to_string(),
                head_sha: sha.to_string(),
                statuses: vec![status.clone()],
                status,
                conclusion,
                title: req
                    .pointer("/output/title")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                summary: req
                    .pointer("/output/summary")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                batches: vec![annotations.len()],
                annotations,
                details_url: req["details_url"].as_str().map(str::to_string),
            };
            let v = check_run_json(base, prefix, &run);
            s.check_runs.push(run);
            Answer::json(201, v)
        }
        ("PATCH", 5) => {
            let Ok(id) = parts[4].parse::<u64>() else {
                return not_found_github();
            };
            let Some(run) = s
                .check_runs
                .iter_mut()
                .find(|r| r.id == id && r.repo == repo)
            else {
                return not_found_github();
            };
            if let Some(c) = conclusion {
                run.conclusion = Some(c);
                run.status = "completed".into();
            } else if let Some(st) = status {
                run.status = st;
            }
            if let Some(t) = req.pointer("/output/title").and_then(Value::as_str) {
                run.title = Some(t.to_string());
            }
            if let Some(t) = req.pointer("/output/summary").and_then(Value::as_str) {
                run.summary = Some(t.to_string());
            }
            run.batches.push(annotations.len());
            run.annotations.extend(annotations);
            run.statuses.push(run.status.clone());
            let run = run.clone();
            Answer::json(200, check_run_json(base, prefix, &run))
        }
        _ => not_found_github(),
    }
}
