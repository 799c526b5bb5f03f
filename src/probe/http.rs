//! A small blocking HTTP/1.1 client over `TcpStream`: enough for probing a service on
//! loopback, and strict about time and size. Every connect, read and write has a deadline,
//! every body has a cap, and a hostile or broken peer gets an [`HttpError`], never a panic.
//!
//! Hand-written rather than a general client so that goready sees the wire as the service
//! sent it: the exact status, every header (`X-Go-Pprof`), the raw body bytes.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Headers are read up to this size; a longer head is refused.
const MAX_HEAD: usize = 64 * 1024;

/// Why a request produced no response.
#[derive(Debug)]
pub enum HttpError {
    /// Nothing accepted the connection (refused, unreachable).
    Connect(io::Error),
    /// The deadline passed before the response was complete.
    Timeout,
    /// The peer closed the connection or the socket failed mid-exchange.
    Io(io::Error),
    /// The bytes are not an HTTP/1.x response.
    Protocol(String),
    /// The body is larger than the caller allows.
    TooLarge(usize),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "cannot connect: {e}"),
            HttpError::Timeout => f.write_str("timed out"),
            HttpError::Io(e) => write!(f, "connection failed: {e}"),
            HttpError::Protocol(m) => write!(f, "not an HTTP response: {m}"),
            HttpError::TooLarge(cap) => write!(f, "response body larger than {cap} bytes"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code, e.g. 200.
    pub status: u16,
    /// Header fields in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body after transfer decoding (chunked), as sent otherwise (no content decoding).
    pub body: Vec<u8>,
    /// True when the server allows the connection to be reused.
    pub keep_alive: bool,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy), for messages and HTML sniffing.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Where to send requests: `http://host:port` plus a base path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The resolved socket address.
    pub addr: SocketAddr,
    /// The Host header value (`host:port` as the user wrote it, or the address).
    pub host: String,
    /// Path prefix, e.g. `/debug/pprof/`; empty for the root.
    pub path: String,
}

impl Endpoint {
    /// An endpoint for a socket address (Host header = the address).
    pub fn at(addr: SocketAddr) -> Self {
        Endpoint {
            addr,
            host: addr.to_string(),
            path: String::new(),
        }
    }

    /// Parses `http://host:port/path` (only plain HTTP: pprof is not meant to be reachable
    /// over the network, so a probe over TLS means the setup is wrong anyway).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            if url.starts_with("https://") {
                format!(
                    "{url}: https is not supported; probe the service's plain-HTTP admin listener"
                )
            } else {
                format!("{url}: expected a URL like http://127.0.0.1:6060/debug/pprof/")
            }
        })?;
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if hostport.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
            let (h, after) = inner
                .split_once(']')
                .ok_or_else(|| format!("{url}: unclosed [ in the host"))?;
            match after {
                "" => (h, 80),
                p => (h, parse_port(url, p.strip_prefix(':').unwrap_or(p))?),
            }
        } else {
            match hostport.split_once(':') {
                None => (hostport, 80),
                Some((_, p)) if p.contains(':') => {
                    return Err(format!(
                        "{url}: write IPv6 addresses in brackets, [::1]:6060"
                    ));
                }
                Some((h, p)) => (h, parse_port(url, p)?),
            }
        };
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("{url}: cannot resolve {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url}: {host} resolves to no address"))?;
        Ok(Endpoint {
            addr,
            host: hostport.to_string(),
            path: path.to_string(),
        })
    }

    /// `http://host/path` for messages.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.host, path)
    }
}

fn parse_port(url: &str, text: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|_| format!("{url}: bad port {text:?}"))
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// Origin-form target: `/debug/pprof/heap?gc=1`.
    pub target: &'a str,
    /// Extra header fields (e.g. `Authorization` from `--header`); never logged.
    pub headers: &'a [(String, String)],
    /// Whole-exchange deadline, from connect to the last body byte.
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_body: usize,
}

impl<'a> Request<'a> {
    /// A GET with the given deadline and a 64 MiB body cap.
    pub fn get(target: &'a str, timeout: Duration) -> Self {
        Request {
            method: "GET",
            target,
            headers: &[],
            timeout,
            max_body: 64 << 20,
        }
    }
}

/// Sends one request on a fresh connection (`Connection: close`).
pub fn send(endpoint: &Endpoint, req: &Request<'_>) -> Result<Response, HttpError> {
    let deadline = Instant::now() + req.timeout;
    let mut conn = Conn::open(endpoint, req.timeout)?;
    conn.exchange(req, deadline, false)
}

/// A kept-alive connection, for sending many requests (load generation).
pub struct Conn {
    stream: TcpStream,
    host: String,
    /// Bytes read past the end of the previous response.
    buf: Vec<u8>,
}

impl Conn {
    /// Connects within `timeout`.
    pub fn open(endpoint: &Endpoint, timeout: Duration) -> Result<Conn, HttpError> {
        let stream =
            TcpStream::connect_timeout(&endpoint.addr, timeout.max(ms(1))).map_err(|e| match e
                .kind()
            {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => HttpError::Timeout,
                _ => HttpError::Connect(e),
            })?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            host: endpoint.host.clone(),
            buf: Vec::new(),
        })
    }

    /// Sends `req` and reads its response; `keep_alive` asks the server to keep the
    /// connection open (check [`Response::keep_alive`] before reusing it).
    pub fn exchange(
        &mut self,
        req: &Request<'_>,
        deadline: Instant,
        keep_alive: bool,
    ) -> Result<Response, HttpError> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: goready/{}\r\nAccept: */*\r\nConnection: {}\r\n",
            req.method,
            req.target,
            self.host,
            env!("CARGO_PKG_VERSION"),
            if keep_alive { "keep-alive" } else { "close" }
        );
        for (k, v) in req.headers {
            // A header value with a line break would smuggle a second header or request.
            if k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
                return Err(HttpError::Protocol(format!(
                    "header {k:?} contains a line break or colon"
                )));
            }
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if req.method != "GET" && req.method != "HEAD" {
            head.push_str("Content-Length: 0\r\n");
        }
        head.push_str("\r\n");
        set_timeouts(&self.stream, deadline)?;
        self.stream.write_all(head.as_bytes()).map_err(io_err)?;
        self.read_response(req, deadline)
    }

    fn read_response(
        &mut self,
        req: &Request<'_>,
        deadline: Instant,
    ) -> Result<Response, HttpError> {
        loop {
            let head_end = self.fill_until_head(deadline)?;
            let head = self.buf[..head_end].to_vec();
            self.buf.drain(..head_end);
            let (status, headers, version_11) = parse_head(&head)?;
            if (100..200).contains(&status) && status != 101 {
                continue; // 100 Continue and friends precede the real response.
            }
            let conn_hdr = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("connection"))
                .map(|(_, v)| v.to_ascii_lowercase());
            let mut keep_alive = match conn_hdr.as_deref() {
                Some(v) if v.contains("close") => false,
                Some(v) if v.contains("keep-alive") => true,
                _ => version_11,
            };
            let no_body = req.method == "HEAD" || status == 204 || status == 304;
            let chunked = headers.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("transfer-encoding")
                    && v.to_ascii_lowercase().contains("chunked")
            });
            let length = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| {
                    v.trim().parse::<usize>().map_err(|_| {
                        HttpError::Protocol(format!("bad Content-Length {:?}", v.trim()))
                    })
                })
                .transpose()?;
            let body = if no_body {
                Vec::new()
            } else if chunked {
                self.read_chunked(req.max_body, deadline)?
            } else if let Some(n) = length {
                if n > req.max_body {
                    return Err(HttpError::TooLarge(req.max_body));
                }
                self.read_exact_body(n, deadline)?
            } else {
                keep_alive = false;
                self.read_to_close(req.max_body, deadline)?
            };
            return Ok(Response {
                status,
                headers,
                body,
                keep_alive,
            });
        }
    }

    /// Reads until `\r\n\r\n` is buffered; returns the index just past it.
    fn fill_until_head(&mut self, deadline: Instant) -> Result<usize, HttpError> {
        let mut searched: usize = 0;
        loop {
            if let Some(i) = find(&self.buf[searched.saturating_sub(3)..], b"\r\n\r\n") {
                return Ok(searched.saturating_sub(3) + i + 4);
            }
            searched = self.buf.len();
            if self.buf.len() > MAX_HEAD {
                return Err(HttpError::Protocol(format!(
                    "response head longer than {MAX_HEAD} bytes"
                )));
            }
            if self.fill(deadline)? == 0 {
                return Err(if self.buf.is_empty() {
                    HttpError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed without a response",
                    ))
                } else {
                    HttpError::Protocol("connection closed inside the response head".into())
                });
            }
        }
    }

    /// Reads more bytes into the buffer; 0 at end of stream.
    fn fill(&mut self, deadline: Instant) -> Result<usize, HttpError> {
        set_timeouts(&self.stream, deadline)?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e)),
            }
        }
    }

    fn read_exact_body(&mut self, n: usize, deadline: Instant) -> Result<Vec<u8>, HttpError> {
        while self.buf.len() < n {
            if self.fill(deadline)? == 0 {
                return Err(HttpError::Protocol(format!(
                    "connection closed after {} of {n} body bytes",
                    self.buf.len()
                )));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    fn read_to_close(&mut self, cap: usize, deadline: Instant) -> Result<Vec<u8>, HttpError> {
        loop {
            if self.buf.len() > cap {
                return Err(HttpError::TooLarge(cap));
            }
            if self.fill(deadline)? == 0 {
                return Ok(std::mem::take(&mut self.buf));
            }
        }
    }

    fn read_chunked(&mut self, cap: usize, deadline: Instant) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(deadline)?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| HttpError::Protocol(format!("bad chunk size {size_text:?}")))?;
            if size == 0 {
                // Trailer fields, then an empty line.
                while !self.read_line(deadline)?.is_empty() {}
                return Ok(body);
            }
            if body.len().saturating_add(size) > cap {
                return Err(HttpError::TooLarge(cap));
            }
            let data = self.read_exact_body(size, deadline)?;
            body.extend_from_slice(&data);
            let crlf = self.read_line(deadline)?;
            if !crlf.is_empty() {
                return Err(HttpError::Protocol("chunk not followed by CRLF".into()));
            }
        }
    }

    fn read_line(&mut self, deadline: Instant) -> Result<String, HttpError> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(HttpError::Protocol("chunk header line too long".into()));
            }
            if self.fill(deadline)? == 0 {
                return Err(HttpError::Protocol(
                    "connection closed inside a chunked body".into(),
                ));
            }
        }
    }
}

/// Status, header fields, and whether the server speaks HTTP/1.1.
type Head = (u16, Vec<(String, String)>, bool);

fn parse_head(head: &[u8]) -> Result<Head, HttpError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        let shown: String = status_line.chars().take(60).collect();
        return Err(HttpError::Protocol(format!("status line {shown:?}")));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| HttpError::Protocol(format!("status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err(HttpError::Protocol(format!("header line {line:?}")));
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok((status, headers, version == "HTTP/1.1"))
}

fn set_timeouts(stream: &TcpStream, deadline: Instant) -> Result<(), HttpError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(HttpError::Timeout);
    }
    stream.set_read_timeout(Some(left)).map_err(io_err)?;
    stream.set_write_timeout(Some(left)).map_err(io_err)
}

fn io_err(e: io::Error) -> HttpError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => HttpError::Timeout,
        _ => HttpError::Io(e),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves `reply` (raw bytes) to the first connection, after reading the request head.
    fn raw_server(reply: &'static [u8]) -> Endpoint {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = ln.accept() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(reply);
            }
        });
        Endpoint::at(addr)
    }

    fn get(ep: &Endpoint) -> Result<Response, HttpError> {
        send(ep, &Request::get("/x", Duration::from_secs(2)))
    }

    #[test]
    fn reads_content_length_bodies_and_headers() {
        let ep = raw_server(
            b"HTTP/1.1 404 Not Found\r\nX-Go-Pprof: 1\r\nContent-Length: 18\r\n\r\nUnknown profile\n..",
        );
        let r = get(&ep).unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.header("x-go-pprof"), Some("1"));
        assert_eq!(r.body, b"Unknown profile\n..");
    }

    #[test]
    fn decodes_chunked_bodies() {
        let ep = raw_server(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: v\r\n\r\n",
        );
        assert_eq!(get(&ep).unwrap().body, b"hello world");
    }

    #[test]
    fn reads_to_close_without_length() {
        let ep = raw_server(b"HTTP/1.0 200 OK\r\n\r\nall of it");
        let r = get(&ep).unwrap();
        assert_eq!(r.body, b"all of it");
        assert!(!r.keep_alive);
    }

    #[test]
    fn hostile_replies_are_errors_not_panics() {
        let cases: &[&'static [u8]] = &[
            b"",
            b"SSH-2.0-OpenSSH_9.6\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Le",
        ];
        for reply in cases {
            let ep = raw_server(reply);
            assert!(get(&ep).is_err(), "{:?}", String::from_utf8_lossy(reply));
        }
    }

    #[test]
    fn body_cap_is_enforced() {
        let ep = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        let mut req = Request::get("/", Duration::from_secs(2));
        req.max_body = 10;
        assert!(matches!(send(&ep, &req), Err(HttpError::TooLarge(10))));
    }

    #[test]
    fn a_silent_server_times_out() {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint::at(ln.local_addr().unwrap());
        let started = Instant::now();
        let err = send(&ep, &Request::get("/", Duration::from_millis(300))).unwrap_err();
        assert!(matches!(err, HttpError::Timeout), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(ln);
    }

    #[test]
    fn header_injection_is_refused() {
        let ep = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        let headers = vec![("X".to_string(), "a\r\nEvil: 1".to_string())];
        let mut req = Request::get("/", Duration::from_secs(1));
        req.headers = &headers;
        assert!(matches!(send(&ep, &req), Err(HttpError::Protocol(_))));
    }

    #[test]
    fn parses_urls() {
        let e = Endpoint::parse("http://127.0.0.1:6060/debug/pprof/").unwrap();
        assert_eq!(e.addr, "127.0.0.1:6060".parse().unwrap());
        assert_eq!(e.path, "/debug/pprof/");
        let e = Endpoint::parse("http://[::1]:7/").unwrap();
        assert_eq!(e.addr, "[::1]:7".parse().unwrap());
        assert_eq!(Endpoint::parse("http://127.0.0.1").unwrap().addr.port(), 80);
        assert!(
            Endpoint::parse("https://x:1/")
                .unwrap_err()
                .contains("https")
        );
        assert!(Endpoint::parse("127.0.0.1:6060").is_err());
        assert!(Endpoint::parse("http://::1:80/").is_err());
    }
}
