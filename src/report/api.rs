//! The REST client behind the sticky MR note (GitLab), and what the sticky comments of both
//! forges share (finding goready's comment, keeping one).
//!
//! A few JSON calls over goready's one HTTP stack (`crate::http`: hyper + rustls with the
//! system's roots, so self-managed GitLab with an internal CA works): base-URL joining that
//! keeps a path prefix (`…/api/v4`), JSON bodies and `Link`-header pagination. GitHub goes
//! through octocrab on the same stack (`report::hub`).
//!
//! The retry policy is the product's one ([`crate::http::client`]): 5xx and transport errors
//! back off, rate limits wait as the headers say within the time budget, any other 4xx is
//! final. Callers warn and go on; nothing here can change a verdict.

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

pub use crate::http::client::retry_wait;
use crate::http::client::{Retry, transient};
use crate::http::{self, Endpoint, Request, Response, Tls};
use crate::progress::Say;
use crate::report::redact;

/// How long one publish (list, create or update, delete duplicates) may take in all.
pub const TIME_BUDGET: Duration = Duration::from_secs(120);
/// API answers are small JSON documents; a page of 100 long comments stays far below this.
pub const MAX_ANSWER: usize = 32 << 20;

/// How the token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer …` (GitHub).
    Bearer,
    /// `PRIVATE-TOKEN: …` (GitLab).
    PrivateToken,
}

/// A failed API call, with the token already scrubbed from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// What the server (or the transport) said.
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "HTTP {s}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// One comment or note of a thread.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Note {
    /// Its id in the API.
    pub id: u64,
    /// Markdown body; absent on some system notes.
    #[serde(default)]
    pub body: Option<String>,
    /// RFC 3339 creation time (sorts as text).
    #[serde(default)]
    pub created_at: Option<String>,
    /// GitLab's system notes ("added 1 commit") are never ours.
    #[serde(default)]
    pub system: bool,
}

/// A REST client with a deadline; its retries are said to `say` as they happen.
pub struct Api<'s> {
    /// Where the API lives; its `path` is the prefix every route is joined to.
    base: Endpoint,
    /// The auth header (and the JSON headers) sent with every call; never logged.
    headers: Vec<(String, String)>,
    token: String,
    deadline: Instant,
    /// Scheme and authority of the API: pagination links elsewhere are not followed, since the
    /// token header goes with every request.
    origin: (Option<String>, Option<String>),
    say: Say<'s>,
}

/// A failed attempt: the error, and how long to wait before another (`None`: final).
type Attempt = (ApiError, Option<Duration>);

impl<'s> Api<'s> {
    /// A client for `base_url` (e.g. `https://api.github.com`, `https://gitlab.com/api/v4`).
    pub fn new(base_url: &str, auth: Auth, token: String, say: Say<'s>) -> anyhow::Result<Self> {
        let base_url = base_url.trim_end_matches('/');
        let mut base = Endpoint::parse(base_url, &Tls::default())
            .map_err(|e| anyhow::anyhow!("{e}: not a valid API URL"))?;
        if base.path.contains('?') {
            anyhow::bail!("{base_url:?} is not a valid API URL: it has a query");
        }
        base.path = base.path.trim_end_matches('/').to_string();
        let auth_header = match auth {
            Auth::Bearer => ("Authorization".to_string(), format!("Bearer {token}")),
            Auth::PrivateToken => ("PRIVATE-TOKEN".to_string(), token.clone()),
        };
        let headers = vec![
            auth_header,
            ("Accept".into(), "application/json".into()),
            ("Content-Type".into(), "application/json".into()),
        ];
        let origin = origin_of(&base_url.parse::<::http::Uri>()?);
        Ok(Api {
            base,
            headers,
            token,
            deadline: Instant::now() + TIME_BUDGET,
            origin,
            say,
        })
    }

    /// Removes the token from any text before it is shown.
    pub fn scrub(&self, text: &str) -> String {
        redact(text, &self.token)
    }

    /// One exchange: a 2xx answer, or the error and whether to retry.
    fn attempt(&self, method: &str, target: &str, body: &[u8]) -> Result<Response, Attempt> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let req = Request {
            method,
            target,
            headers: &self.headers,
            body,
            timeout: Retry::default()
                .call_timeout
                .min(left)
                .max(Duration::from_millis(1)),
            max_body: MAX_ANSWER,
        };
        match http::send(&self.base, &req) {
            Ok(resp) if (200..300).contains(&resp.status) => Ok(resp),
            Ok(resp) => {
                let message = crate::http::client::api_message(&resp.body);
                let wait = retry_wait(resp.status, &message, &resp.headers);
                Err((
                    ApiError {
                        status: Some(resp.status),
                        message: self.scrub(&message),
                    },
                    wait,
                ))
            }
            Err(e) => Err((
                ApiError {
                    status: None,
                    message: self.scrub(&e.to_string()),
                },
                transient(&e).then_some(Duration::ZERO),
            )),
        }
    }

    /// Runs one call with the retry policy, within the time budget.
    fn call(
        &self,
        what: &str,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> Result<Response, ApiError> {
        let mut attempt = 0;
        loop {
            if Instant::now() >= self.deadline {
                return Err(ApiError {
                    status: None,
                    message: format!(
                        "{what}: no answer within the {}s budget",
                        TIME_BUDGET.as_secs()
                    ),
                });
            }
            let (err, wait) = match self.attempt(method, target, body) {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            let Some(wait) = wait else {
                return Err(err);
            };
            // Transport errors and 5xx back off; rate limits wait as told.
            let left = self.deadline.saturating_duration_since(Instant::now());
            let Some(wait) = Retry::default().next_wait(attempt, wait, left) else {
                return Err(ApiError {
                    message: format!(
                        "{} (gave up after {} attempt{})",
                        err.message,
                        attempt + 1,
                        if attempt == 0 { "" } else { "s" }
                    ),
                    ..err
                });
            };
            self.say.warn(format!(
                "{what}: {err}; retrying in {}s",
                wait.as_secs_f32().ceil()
            ));
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn json<T: DeserializeOwned>(&self, what: &str, resp: &Response) -> Result<T, ApiError> {
        serde_json::from_slice(&resp.body).map_err(|e| ApiError {
            status: Some(resp.status),
            message: self.scrub(&format!("{what}: the answer is not the expected JSON: {e}")),
        })
    }

    /// GETs every page of a list (`Link: rel="next"`).
    pub fn list<T: DeserializeOwned>(
        &self,
        what: &str,
        route: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, ApiError> {
        let mut target = format!("{}{route}", self.base.path);
        for (i, (k, v)) in query.iter().enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(&format!("{}={}", encode_segment(k), encode_segment(v)));
        }
        let mut items = Vec::new();
        // A server that links pages in a cycle must not keep us here: 100 pages of 100 is
        // far more comments than a merge request ever has.
        for _ in 0..100 {
            let resp = self.call(what, "GET", &target, &[])?;
            let mut page: Vec<T> = self.json(what, &resp)?;
            items.append(&mut page);
            let Some(next) = resp.header("link").and_then(next_link) else {
                return Ok(items);
            };
            let uri: ::http::Uri = next.parse().map_err(|_| ApiError {
                status: None,
                message: format!(
                    "{what}: the server's next-page link is not a URL: {}",
                    self.scrub(&next)
                ),
            })?;
            if origin_of(&uri) != self.origin {
                return Err(ApiError {
                    status: None,
                    message: format!(
                        "{what}: the server's next-page link leaves the API host ({}); not following it with the token",
                        self.scrub(&next)
                    ),
                });
            }
            target = uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
        }
        Ok(items)
    }

    /// POSTs (or PATCHes, PUTs) a JSON body and reads the answer.
    pub fn send<T: DeserializeOwned>(
        &self,
        what: &str,
        method: Method,
        route: &str,
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        let verb = match method {
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
        };
        let body = serde_json::to_vec(body).map_err(|e| ApiError {
            status: None,
            message: format!("{what}: {e}"),
        })?;
        let target = format!("{}{route}", self.base.path);
        let resp = self.call(what, verb, &target, &body)?;
        self.json(what, &resp)
    }

    /// DELETEs a resource.
    pub fn delete(&self, what: &str, route: &str) -> Result<(), ApiError> {
        let target = format!("{}{route}", self.base.path);
        self.call(what, "DELETE", &target, &[]).map(drop)
    }
}

/// The `rel="next"` URL of a `Link` header (RFC 8288), as GitHub and GitLab send it.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| url.to_string())
    })
}

fn origin_of(uri: &::http::Uri) -> (Option<String>, Option<String>) {
    (
        uri.scheme_str().map(str::to_ascii_lowercase),
        uri.authority().map(|a| a.as_str().to_ascii_lowercase()),
    )
}

/// A write verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Create.
    Post,
    /// Update (GitHub).
    Patch,
    /// Update (GitLab).
    Put,
}

/// What happened to the sticky comment or note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sticky {
    /// No marked comment existed: one was created.
    Created {
        /// The new comment's id.
        id: u64,
    },
    /// The oldest marked comment was updated (or already said the same).
    Updated {
        /// The kept comment's id.
        id: u64,
        /// False when the body was already identical and no write was needed.
        changed: bool,
        /// Duplicates (newer marked comments) removed.
        deleted: Vec<u64>,
        /// Duplicates that could not be removed, with the reason.
        not_deleted: Vec<(u64, ApiError)>,
    },
}

/// The operations a thread of comments (a PR, an MR) offers.
pub trait Thread {
    /// Every comment, oldest first or in any order.
    fn list(&self) -> Result<Vec<Note>, ApiError>;
    /// Adds a comment; returns its id.
    fn create(&self, body: &str) -> Result<u64, ApiError>;
    /// Replaces a comment's body.
    fn update(&self, id: u64, body: &str) -> Result<(), ApiError>;
    /// Removes a comment.
    fn delete(&self, id: u64) -> Result<(), ApiError>;
}

/// Whether a comment is goready's: its body starts with the marker. A comment that merely
/// quotes or mentions the marker further down is someone else's and is never touched.
pub fn is_ours(note: &Note, marker: &str) -> bool {
    !note.system
        && note
            .body
            .as_deref()
            .is_some_and(|b| b.trim_start().starts_with(marker))
}

/// Creates the sticky comment, or updates the oldest marked one and deletes newer duplicates
/// (left by concurrent runs). Only comments that start with `marker` are touched.
pub fn upsert_sticky(thread: &dyn Thread, marker: &str, body: &str) -> Result<Sticky, ApiError> {
    let mut ours: Vec<Note> = thread
        .list()?
        .into_iter()
        .filter(|n| is_ours(n, marker))
        .collect();
    ours.sort_by(|a, b| (&a.created_at, a.id).cmp(&(&b.created_at, b.id)));
    let Some(keep) = ours.first() else {
        return thread.create(body).map(|id| Sticky::Created { id });
    };
    let changed = keep.body.as_deref() != Some(body);
    if changed {
        thread.update(keep.id, body)?;
    }
    let mut deleted = Vec::new();
    let mut not_deleted = Vec::new();
    for dup in &ours[1..] {
        match thread.delete(dup.id) {
            Ok(()) => deleted.push(dup.id),
            Err(e) => not_deleted.push((dup.id, e)),
        }
    }
    Ok(Sticky::Updated {
        id: keep.id,
        changed,
        deleted,
        not_deleted,
    })
}

/// Percent-encodes a path segment (a GitLab project path such as `group/project`).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn finds_the_next_page_in_link_headers() {
        let gh = "<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel=\"next\", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=5>; rel=\"last\"";
        assert_eq!(
            next_link(gh).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2")
        );
        let last_page = "<https://x/?page=1>; rel=\"prev\", <https://x/?page=1>; rel=\"first\"";
        assert_eq!(next_link(last_page), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[derive(Default)]
    struct Fake {
        notes: RefCell<Vec<Note>>,
        log: RefCell<Vec<String>>,
    }

    impl Thread for Fake {
        fn list(&self) -> Result<Vec<Note>, ApiError> {
            Ok(self.notes.borrow().clone())
        }
        fn create(&self, body: &str) -> Result<u64, ApiError> {
            let id = 100 + self.notes.borrow().len() as u64;
            self.notes.borrow_mut().push(Note {
                id,
                body: Some(body.into()),
                created_at: Some("2030-01-01T00:00:00Z".into()),
                system: false,
            });
            self.log.borrow_mut().push(format!("create {id}"));
            Ok(id)
        }
        fn update(&self, id: u64, _body: &str) -> Result<(), ApiError> {
            self.log.borrow_mut().push(format!("update {id}"));
            Ok(())
        }
        fn delete(&self, id: u64) -> Result<(), ApiError> {
            self.log.borrow_mut().push(format!("delete {id}"));
            Ok(())
        }
    }

    fn note(id: u64, body: &str, at: &str) -> Note {
        Note {
            id,
            body: Some(body.into()),
            created_at: Some(at.into()),
            system: false,
        }
    }

    #[test]
    fn sticky_keeps_the_oldest_marked_comment_and_never_touches_others() {
        let fake = Fake::default();
        fake.notes.replace(vec![
            note(5, "<!-- m -->\nnewer", "2024-01-02T00:00:00Z"),
            note(
                3,
                "a human quoting <!-- m --> later",
                "2023-12-01T00:00:00Z",
            ),
            note(9, "<!-- m -->\noldest", "2024-01-01T00:00:00Z"),
            note(7, "<!-- m -->\nnewest", "2024-01-03T00:00:00Z"),
        ]);
        let out = upsert_sticky(&fake, "<!-- m -->", "<!-- m -->\nnew").unwrap();
        assert_eq!(
            out,
            Sticky::Updated {
                id: 9,
                changed: true,
                deleted: vec![5, 7],
                not_deleted: vec![]
            }
        );
        assert_eq!(*fake.log.borrow(), ["update 9", "delete 5", "delete 7"]);
    }

    #[test]
    fn identical_body_needs_no_write() {
        let fake = Fake::default();
        fake.notes
            .replace(vec![note(1, "<!-- m -->\nsame", "2024-01-01T00:00:00Z")]);
        let out = upsert_sticky(&fake, "<!-- m -->", "<!-- m -->\nsame").unwrap();
        assert!(matches!(out, Sticky::Updated { changed: false, .. }));
        assert!(fake.log.borrow().is_empty());
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("42"), "42");
        assert_eq!(encode_segment("group/sub project"), "group%2Fsub%20project");
    }
}
