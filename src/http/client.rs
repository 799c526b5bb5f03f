//! REST API calls on the one stack: the retry policy every API client of goready shares
//! (GitHub through octocrab, GitLab through `report::api`), and [`ApiService`], the tower
//! service octocrab is built on, so that its requests go through this module's hyper client,
//! TLS roots, deadlines, body cap and retries like every other exchange.
//!
//! The policy: 5xx and transport errors back off (1 s, 2 s, 4 s); a rate limit (429, or 403
//! with `retry-after`, `x-ratelimit-remaining: 0` or GitHub's "secondary rate limit" message)
//! waits as the headers say — 60 s when they say nothing, as GitHub advises — but never past
//! the time budget. Any other 4xx is final: a 403 "Resource not accessible by integration" on
//! a fork's pull request must not be retried.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use super::{Conn, Endpoint, HttpError, Request, Tls};

/// How API calls are retried and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Everything one client does (every call and every wait) ends within this.
    pub budget: Duration,
    /// Retries after a call's first attempt.
    pub max_retries: u32,
    /// One exchange's deadline (within the budget).
    pub call_timeout: Duration,
}

impl Default for Retry {
    /// Two minutes in all, three retries, 30 s per exchange.
    fn default() -> Self {
        Retry {
            budget: Duration::from_secs(120),
            max_retries: 3,
            call_timeout: Duration::from_secs(30),
        }
    }
}

impl Retry {
    /// How long to wait before attempt `attempt + 1` after a failed one that asked for `wait`
    /// ([`retry_wait`]: `ZERO` means back off as usual), or `None` when the attempts or the
    /// time `left` are used up.
    pub fn next_wait(&self, attempt: u32, wait: Duration, left: Duration) -> Option<Duration> {
        let wait = if wait.is_zero() {
            Duration::from_secs(1 << attempt.min(10))
        } else {
            wait
        };
        (attempt < self.max_retries && wait < left).then_some(wait)
    }
}

/// How long to wait before retrying a status, or `None` when retrying cannot help.
/// `Some(ZERO)` means "back off as usual". `message` is the server's error text (or its
/// whole body): GitHub's secondary rate limit is only said there.
pub fn retry_wait(status: u16, message: &str, headers: &[(String, String)]) -> Option<Duration> {
    let header = |name: &str| -> Option<u64> {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.trim().parse().ok())
    };
    if status >= 500 {
        return Some(Duration::ZERO);
    }
    let secondary = message.to_ascii_lowercase().contains("rate limit");
    let limited = status == 429
        || (status == 403
            && (secondary
                || header("retry-after").is_some()
                || header("x-ratelimit-remaining") == Some(0)));
    if !limited {
        return None;
    }
    if let Some(secs) = header("retry-after") {
        return Some(Duration::from_secs(secs.max(1)));
    }
    if header("x-ratelimit-remaining") == Some(0) {
        if let Some(reset) = header("x-ratelimit-reset") {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
        }
    }
    Some(Duration::from_secs(60))
}

/// Whether a transport failure is worth another try: refused, reset or timed out are; a
/// certificate that does not verify, a body over the cap or a peer that does not speak
/// HTTP is not.
pub fn transient(e: &HttpError) -> bool {
    !matches!(
        e,
        HttpError::Certificate(_) | HttpError::TooLarge(_) | HttpError::Protocol(_)
    )
}

/// A tower service that sends `http::Request`s to one API over goready's stack, with the
/// [`Retry`] policy. Requests with a path only (what octocrab sends) are joined to the base
/// URL's path, so a GitHub Enterprise Server base `https://ghe.example/api/v3` keeps its
/// prefix on every call; a request with a full URL (a pagination link) must stay on the
/// base's scheme and host, since the token goes with every request.
#[derive(Clone)]
pub struct ApiService {
    inner: Arc<Inner>,
}

struct Inner {
    base: Endpoint,
    /// (scheme, authority) of the base, lower case.
    origin: (String, String),
    retry: Retry,
    deadline: Instant,
    max_body: usize,
    /// Retries are said here as they happen (the caller relays them to its progress sink).
    notes: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    /// Attempts the last finished call took.
    attempts: AtomicU32,
}

impl std::fmt::Debug for ApiService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiService")
            .field("base", &self.inner.base.url(&self.inner.base.path))
            .finish()
    }
}

impl ApiService {
    /// A service for the API at `base_url` (`https://api.github.com`,
    /// `https://ghe.example/api/v3`); its budget starts now. Retries are sent to `notes`.
    pub fn new(
        base_url: &str,
        tls: &Tls,
        retry: Retry,
        max_body: usize,
        notes: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    ) -> Result<ApiService, String> {
        let base_url = base_url.trim_end_matches('/');
        // The parser's words say what is wrong: a bad URL, or a host that does not resolve.
        let mut base = Endpoint::parse(base_url, tls)?;
        if base.path.contains('?') {
            return Err(format!(
                "{base_url:?} is not a valid API URL: it has a query"
            ));
        }
        base.path = base.path.trim_end_matches('/').to_string();
        let origin = (
            if base.is_tls() { "https" } else { "http" }.to_string(),
            base.host.to_ascii_lowercase(),
        );
        Ok(ApiService {
            inner: Arc::new(Inner {
                base,
                origin,
                retry,
                deadline: Instant::now() + retry.budget,
                max_body,
                notes,
                attempts: AtomicU32::new(0),
            }),
        })
    }

    /// How many attempts the last finished call took (1 when it was not retried).
    pub fn last_attempts(&self) -> u32 {
        self.inner.attempts.load(Ordering::Relaxed)
    }

    /// The origin-form target of `uri` on this API, or why it may not be sent.
    fn target(&self, uri: &::http::Uri) -> Result<String, HttpError> {
        let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        match uri.authority() {
            None => Ok(format!("{}{pq}", self.inner.base.path)),
            Some(a) => {
                let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
                if (scheme, a.as_str().to_ascii_lowercase()) == self.inner.origin {
                    Ok(pq.to_string())
                } else {
                    Err(HttpError::Protocol(format!(
                        "refusing to send the API token to {}://{a}: it is not the API's host",
                        uri.scheme_str().unwrap_or("?")
                    )))
                }
            }
        }
    }
}

/// What [`ApiService`] answers.
pub type ApiResponse = ::http::Response<Full<Bytes>>;

impl<B> tower::Service<::http::Request<B>> for ApiService
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display,
{
    type Response = ApiResponse;
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiResponse, HttpError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), HttpError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ::http::Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let target = this.target(&parts.uri)?;
            let body = body
                .collect()
                .await
                .map_err(|e| HttpError::Protocol(format!("cannot read the request body: {e}")))?
                .to_bytes();
            let headers: Vec<(String, String)> = parts
                .headers
                .iter()
                .filter(|(k, _)| *k != ::http::header::HOST)
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            this.send(parts.method.as_str(), &target, &headers, &body)
                .await
        })
    }
}

impl ApiService {
    /// One call with the retry policy: the final answer (a success, a final status or the last
    /// retried one), or the transport error that ended it.
    async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<ApiResponse, HttpError> {
        let inner = &self.inner;
        let mut attempt = 0u32;
        loop {
            inner.attempts.store(attempt + 1, Ordering::Relaxed);
            let left = inner.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(HttpError::Timeout);
            }
            let req = Request {
                method,
                target,
                headers,
                body,
                timeout: inner.retry.call_timeout.min(left),
                max_body: inner.max_body,
            };
            let deadline = tokio::time::Instant::now() + req.timeout;
            let outcome = match Conn::open(&inner.base, deadline).await {
                Ok(mut conn) => conn.exchange(&req, deadline).await,
                Err(e) => Err(e),
            };
            let (wait, said) = match &outcome {
                Ok(resp) if (200..300).contains(&resp.status) => (None, String::new()),
                Ok(resp) => (
                    retry_wait(resp.status, &resp.text(), &resp.headers),
                    format!("HTTP {}: {}", resp.status, api_message(&resp.body)),
                ),
                Err(e) => (transient(e).then_some(Duration::ZERO), e.to_string()),
            };
            let left = inner.deadline.saturating_duration_since(Instant::now());
            let Some(wait) = wait.and_then(|w| inner.retry.next_wait(attempt, w, left)) else {
                let resp = outcome?;
                return Ok(to_http(resp));
            };
            if let Some(notes) = &inner.notes {
                let _ = notes.send(format!(
                    "{said}; retrying in {}s",
                    wait.as_secs_f32().ceil()
                ));
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// The error text of an API answer: GitHub's and GitLab's `message` (GitLab's may be an
/// object of field errors), else `error`, else the body's first line (at most 200
/// characters). The one reader of a failed call's reason, for the service octocrab calls and
/// for `report::api`.
pub(crate) fn api_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["message", "error"] {
            match v.get(key) {
                Some(serde_json::Value::String(s)) => return s.trim().to_string(),
                Some(other) if !other.is_null() => return other.to_string(),
                _ => {}
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    if line.trim().is_empty() {
        "(no message)".into()
    } else {
        line.trim().to_string()
    }
}

fn to_http(resp: super::Response) -> ApiResponse {
    let mut out = ::http::Response::new(Full::new(Bytes::from(resp.body)));
    *out.status_mut() =
        ::http::StatusCode::from_u16(resp.status).unwrap_or(::http::StatusCode::BAD_GATEWAY);
    let headers = out.headers_mut();
    for (k, v) in resp.headers {
        if let (Ok(k), Ok(v)) = (
            ::http::header::HeaderName::from_bytes(k.as_bytes()),
            ::http::header::HeaderValue::from_str(&v),
        ) {
            headers.append(k, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_errors_and_rate_limits_are_retried() {
        assert_eq!(retry_wait(500, "boom", &[]), Some(Duration::ZERO));
        assert_eq!(retry_wait(502, "", &[]), Some(Duration::ZERO));
        assert_eq!(
            retry_wait(403, "Resource not accessible by integration", &[]),
            None,
            "a fork PR's read-only token is final"
        );
        assert_eq!(retry_wait(404, "Not Found", &[]), None);
        assert_eq!(retry_wait(422, "Validation Failed", &[]), None);
        let h = vec![("Retry-After".to_string(), "3".to_string())];
        assert_eq!(
            retry_wait(403, "You have exceeded a secondary rate limit", &h),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_wait(403, "You have exceeded a secondary rate limit", &[]),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_wait(429, "", &h), Some(Duration::from_secs(3)));
    }

    #[test]
    fn backoff_doubles_and_stops_at_the_attempts_or_the_budget() {
        let r = Retry::default();
        let long = Duration::from_secs(100);
        assert_eq!(
            r.next_wait(0, Duration::ZERO, long),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            r.next_wait(2, Duration::ZERO, long),
            Some(Duration::from_secs(4))
        );
        assert_eq!(r.next_wait(3, Duration::ZERO, long), None, "3 retries");
        assert_eq!(
            r.next_wait(0, Duration::from_secs(60), Duration::from_secs(30)),
            None,
            "a wait past the budget gives up"
        );
    }

    #[test]
    fn paths_keep_the_base_prefix_and_links_stay_on_the_host() {
        let svc = ApiService::new(
            "http://127.0.0.1:9/api/v3/",
            &Tls::default(),
            Retry::default(),
            1 << 20,
            None,
        )
        .unwrap();
        let t = |u: &str| svc.target(&u.parse().unwrap());
        assert_eq!(
            t("/repos/o/r/check-runs").unwrap(),
            "/api/v3/repos/o/r/check-runs"
        );
        assert_eq!(
            t("http://127.0.0.1:9/api/v3/repos/o/r/issues/1/comments?page=2").unwrap(),
            "/api/v3/repos/o/r/issues/1/comments?page=2"
        );
        assert!(t("http://evil.example/api/v3/repos").is_err());
        assert!(t("https://127.0.0.1:9/api/v3/repos").is_err(), "scheme too");
    }
}
