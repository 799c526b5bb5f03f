//! The runtime-integrity probes' one door to the wire: every request that `soak`, `drain`
//! and the CPU/contention scrapes send goes through these few functions, which call the HTTP
//! layer (`http`, `pprof`) by its public functions — so a change of that layer touches this
//! file only. The load itself is `load::run`, called directly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::endpoints::{self, Class, Expect, MemStats};
use super::load::LoadSpec;
use crate::http::{self, Conn, Endpoint, HttpError, Request, Wire};

/// A pprof mount and the credentials to reach it.
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    /// Where pprof answers.
    pub endpoint: &'a Endpoint,
    /// Its path prefix, e.g. `/debug/pprof/`.
    pub prefix: &'a str,
    /// `--header` fields (never logged).
    pub headers: &'a [(String, String)],
}

impl Admin<'_> {
    /// A gzipped profile as served (`heap`, `mutex`, `profile?seconds=5`).
    pub fn profile(&self, name: &str, timeout: Duration) -> Result<Vec<u8>, String> {
        let target = format!("{}{name}", self.prefix);
        let (result, resp) = endpoints::fetch(
            self.endpoint,
            name,
            &target,
            Expect::Profile,
            self.headers,
            timeout,
        );
        match resp {
            Some(r) if result.class == Class::Ok => Ok(r.body),
            _ => {
                let status = result.status.map(|s| format!("{s} ")).unwrap_or_default();
                let detail = if result.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", result.detail)
                };
                Err(format!(
                    "GET {target}: {status}{}{detail}",
                    result.class.describe()
                ))
            }
        }
    }

    /// A text page (`goroutine?debug=2`).
    pub fn text(&self, name: &str, timeout: Duration) -> Result<String, String> {
        let target = format!("{}{name}", self.prefix);
        let mut req = Request::get(&target, timeout);
        req.headers = self.headers;
        let resp = http::send(self.endpoint, &req).map_err(|e| format!("GET {target}: {e}"))?;
        if resp.status != 200 {
            return Err(format!("GET {target} answered {}", resp.status));
        }
        Ok(resp.text())
    }

    /// MemStats after a forced GC (`heap?gc=1&debug=1`).
    pub fn memstats(&self) -> Result<MemStats, String> {
        endpoints::memstats(self.endpoint, self.prefix, self.headers)
    }
}

/// Whether the main port speaks HTTP: `None` when the first bytes of its answer to one
/// request of the load are an HTTP status line, else what it did instead — a port that
/// speaks another protocol (nats-server's client port greets with `INFO {…}`) is told
/// apart at once, without waiting for a response head that never comes.
pub fn speaks_http(main: &Endpoint, spec: &LoadSpec) -> Option<String> {
    use std::io::{Read, Write};
    let wait = Duration::from_secs(5);
    let mut stream = match std::net::TcpStream::connect_timeout(&main.addr, wait) {
        Ok(s) => s,
        Err(e) => return Some(format!("nothing accepts connections there ({e})")),
    };
    let _ = stream.set_read_timeout(Some(wait));
    let _ = stream.set_write_timeout(Some(wait));
    let request = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        spec.method, spec.target, main.host
    );
    // A server that greets first may close before reading: what it sent still tells.
    let _ = stream.write_all(request.as_bytes());
    let mut first = [0u8; 64];
    let mut n = 0;
    while n < 5 {
        match stream.read(&mut first[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if n == 0 => {
                return Some(
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) {
                        format!(
                            "{} {} got no answer within {} s",
                            spec.method,
                            spec.target,
                            wait.as_secs()
                        )
                    } else {
                        format!("{} {} got {e}", spec.method, spec.target)
                    },
                );
            }
            Err(_) => break,
        }
    }
    if first[..n].starts_with(b"HTTP/") {
        return None;
    }
    if n == 0 {
        return Some(format!(
            "{} {}: the connection was closed without an answer",
            spec.method, spec.target
        ));
    }
    let shown: String = String::from_utf8_lossy(&first[..n])
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(40)
        .collect();
    Some(format!(
        "{} {} got {shown:?}…, not an HTTP status line",
        spec.method, spec.target
    ))
}

/// How a drained request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer with this status.
    Status(u16),
    /// No answer: `reset`, `EOF`, `timeout`, `refused` — and the error as read.
    Cut(&'static str, String),
}

/// A request sent on its own watched connection and left in flight: [`InFlight::finish`]
/// waits for its answer, and [`InFlight::wire`] tells meanwhile whether it is on the wire and
/// still unanswered.
pub struct InFlight {
    /// The connection and its own runtime: its driver task lives there, so the connection
    /// is made now and used later, from the thread that finishes the request.
    conn: Result<(tokio::runtime::Runtime, Conn), HttpError>,
    wire: Option<Arc<Wire>>,
    method: String,
    target: String,
    deadline: Instant,
}

impl InFlight {
    /// Connects (the request itself is written by [`InFlight::finish`], on a thread of its
    /// own, so that every request is in flight at once).
    pub fn open(main: &Endpoint, spec: &LoadSpec, limit: Duration) -> InFlight {
        let deadline = Instant::now() + limit;
        let opened = http::runtime().map_err(HttpError::Io).and_then(|rt| {
            let connect_by = tokio::time::Instant::now() + Duration::from_secs(5);
            let (conn, wire) = rt.block_on(Conn::open_watched(main, connect_by))?;
            Ok((rt, conn, wire))
        });
        let (conn, wire) = match opened {
            Ok((rt, conn, wire)) => (Ok((rt, conn)), Some(wire)),
            Err(e) => (Err(e), None),
        };
        InFlight {
            conn,
            wire,
            method: spec.method.clone(),
            target: spec.target.clone(),
            deadline,
        }
    }

    /// The instants of the connection's bytes (none when it could not connect).
    pub fn wire(&self) -> Option<Arc<Wire>> {
        self.wire.clone()
    }

    /// Sends the request and reads its answer (or what cut it off); returns it with the
    /// instant it was known.
    pub fn finish(self) -> (Outcome, Instant) {
        let req = Request {
            method: &self.method,
            target: &self.target,
            headers: &[],
            body: &[],
            timeout: self.deadline.saturating_duration_since(Instant::now()),
            max_body: 16 << 20,
        };
        let deadline = tokio::time::Instant::from_std(self.deadline);
        let result = self
            .conn
            .and_then(|(rt, mut conn)| rt.block_on(async { conn.exchange(&req, deadline).await }));
        let ended = Instant::now();
        let outcome = match result {
            Ok(r) => Outcome::Status(r.status),
            Err(e) => {
                let kind = match &e {
                    HttpError::Connect(_) => "refused",
                    HttpError::Timeout => "timeout",
                    HttpError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset => {
                        "reset"
                    }
                    HttpError::Io(_) | HttpError::Protocol(_) => "EOF",
                    HttpError::TooLarge(_) => "too large",
                    HttpError::Certificate(_) | HttpError::Tls(_) => "TLS",
                };
                Outcome::Cut(kind, e.to_string())
            }
        };
        (outcome, ended)
    }
}
