//! Probing net/http/pprof over HTTP and telling its answers apart. The same status code means
//! different things here: a 404 carrying `X-Go-Pprof: 1` is pprof itself saying "no such
//! profile" (so pprof *is* mounted), a plain 404 means nothing is routed there; a 200 may be
//! a real gzipped profile or the HTML of a catch-all route. Each endpoint's answer becomes an
//! [`EndpointResult`] with a [`Class`]; the rules judge them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::http::{self, Endpoint, HttpError, Request, Response, Tls, Trust};

/// Where net/http/pprof lives unless `--pprof URL` says otherwise.
pub const DEFAULT_PREFIX: &str = "/debug/pprof/";

/// The runtime/pprof profiles a Go program always has (the index lists them, plus custom
/// ones); used when the index itself cannot be read.
pub const STANDARD_PROFILES: &[&str] = &[
    "allocs",
    "block",
    "goroutine",
    "heap",
    "mutex",
    "threadcreate",
];

/// Handlers of net/http/pprof that are not runtime/pprof profiles; the index lists them too.
const HANDLERS: &[&str] = &["cmdline", "profile", "symbol", "trace"];

/// A profile name no program registers: pprof answers it with its own 404.
const UNKNOWN_PROFILE: &str = "goready-no-such-profile";

/// Profiles are gunzipped up to this many bytes to prove they decode (a gzip bomb stops here).
const MAX_GUNZIP: u64 = 512 << 20;

/// What an endpoint's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// The content net/http/pprof serves there (a gzipped profile, the index, ...).
    Ok,
    /// 404 with `X-Go-Pprof: 1`: pprof is mounted but does not know this name.
    PprofNotFound,
    /// 404 without pprof's header: nothing is routed there.
    NotRouted,
    /// 401 or 403: a middleware wants credentials.
    Unauthorized,
    /// 405: routed with a method pattern that excludes GET.
    MethodNotAllowed,
    /// 200 with HTML that is not pprof's: a catch-all route answers everything.
    CatchAll,
    /// 200 with the wrong content (not gzip, broken gzip, not a trace).
    WrongContent,
    /// Another status, sent by pprof itself (`X-Go-Pprof`), e.g. 500 when a CPU profile is
    /// already running.
    PprofError,
    /// Another status, from something else.
    OtherStatus,
    /// No HTTP answer (refused, timed out, not HTTP).
    Unreachable,
}

impl Class {
    /// A few words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::PprofNotFound => "from pprof itself: unknown profile",
            Class::NotRouted => "not routed",
            Class::Unauthorized => "authentication required",
            Class::MethodNotAllowed => "method not allowed",
            Class::CatchAll => "HTML from a catch-all route, not pprof",
            Class::WrongContent => "content that is not what pprof serves",
            Class::PprofError => "error from pprof",
            Class::OtherStatus => "unexpected status",
            Class::Unreachable => "no HTTP answer",
        }
    }
}

/// What an endpoint should serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The HTML index listing the profiles.
    Index,
    /// A gzipped profile.proto.
    Profile,
    /// The command line, NUL-separated text.
    Cmdline,
    /// `num_symbols: N`.
    Symbol,
    /// A runtime/trace stream (`go 1.N trace\0\0\0`).
    Trace,
    /// pprof's own 404 for an unknown profile.
    PprofNotFound,
}

/// One endpoint's answer.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointResult {
    /// `allocs`, `cmdline`, `profile?seconds=1`, `(index)`, ...
    pub name: String,
    /// The request target.
    pub path: String,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What the answer means.
    pub class: Class,
    /// True when the answer is what net/http/pprof serves there.
    pub ok: bool,
    /// Content-Type as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Body size as served.
    pub bytes: usize,
    /// Gunzipped size, for profiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded_bytes: Option<u64>,
    /// Specifics: the error, the 405's Allow header, the body's first line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Time to the last byte.
    pub ms: u64,
}

/// Classifies a response against what the endpoint should serve.
pub fn classify(resp: &Response, expect: Expect) -> (Class, String) {
    let pprof_hdr = resp.header("X-Go-Pprof").is_some();
    let first_line = || {
        let text = resp.text();
        text.lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(120)
            .collect::<String>()
    };
    match resp.status {
        200 => {}
        404 if pprof_hdr => {
            let class = Class::PprofNotFound;
            return (class, first_line());
        }
        404 => return (Class::NotRouted, first_line()),
        401 | 403 => {
            let how = resp
                .header("WWW-Authenticate")
                .map(|v| format!("WWW-Authenticate: {}", v.split(' ').next().unwrap_or("")))
                .unwrap_or_default();
            return (Class::Unauthorized, how);
        }
        405 => {
            let allow = resp.header("Allow").unwrap_or("").to_string();
            return (Class::MethodNotAllowed, format!("Allow: {allow}"));
        }
        _ if pprof_hdr => return (Class::PprofError, first_line()),
        _ => return (Class::OtherStatus, first_line()),
    }
    let body = &resp.body;
    let html = resp
        .header("Content-Type")
        .is_some_and(|t| t.contains("html"))
        || body.trim_ascii_start().starts_with(b"<");
    let not_it = |what: &str| {
        if html {
            (Class::CatchAll, format!("HTML instead of {what}"))
        } else {
            (
                Class::WrongContent,
                format!("not {what}: {}", preview(body)),
            )
        }
    };
    match expect {
        Expect::Index => {
            if is_pprof_index(&resp.text()) {
                (Class::Ok, String::new())
            } else {
                not_it("pprof's index")
            }
        }
        Expect::Profile => {
            if !body.starts_with(&[0x1f, 0x8b]) {
                return not_it("a gzipped profile");
            }
            match gunzipped_len(body) {
                Ok(n) => (Class::Ok, format!("{n} bytes gunzipped")),
                Err(e) => (Class::WrongContent, format!("gzip magic but {e}")),
            }
        }
        Expect::Cmdline => {
            if html {
                not_it("the command line")
            } else {
                (Class::Ok, String::new())
            }
        }
        Expect::Symbol => {
            if body.starts_with(b"num_symbols:") {
                (Class::Ok, String::new())
            } else {
                not_it("pprof's symbol table answer")
            }
        }
        Expect::Trace => {
            if body.starts_with(b"go 1.") && memchr::memmem::find(body, b" trace\0").is_some() {
                (Class::Ok, String::new())
            } else {
                not_it("an execution trace")
            }
        }
        Expect::PprofNotFound => {
            if html {
                (
                    Class::CatchAll,
                    "200 for a profile that does not exist".into(),
                )
            } else {
                (
                    Class::WrongContent,
                    "200 for a profile that does not exist".into(),
                )
            }
        }
    }
}

fn preview(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(&body[..body.len().min(40)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    format!("{text:?}")
}

/// The bytes a gzip stream expands to, read with a cap so a bomb stops early.
pub fn gunzipped_len(body: &[u8]) -> Result<u64, String> {
    gunzipped_len_within(body, MAX_GUNZIP)
}

fn gunzipped_len_within(body: &[u8], cap: u64) -> Result<u64, String> {
    crate::pprof::gunzip_into(body, cap, &mut std::io::sink()).map_err(|e| match e {
        crate::pprof::ProfileError::TooLarge { .. } => format!("expands beyond {cap} bytes"),
        crate::pprof::ProfileError::Gzip(why) => format!("does not gunzip: {why}"),
        other => format!("does not gunzip: {other}"),
    })
}

/// True for the HTML page pprof.Index serves.
pub fn is_pprof_index(html: &str) -> bool {
    html.contains("<title>/debug/pprof/</title>")
        || (html.contains("Types of profiles available") && html.contains("debug=1"))
}

/// The profile names the index links to (`<a href='heap?debug=1'>heap</a>`), in order, once.
pub fn index_profiles(html: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("href=") {
        rest = &rest[i + 5..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            continue;
        };
        rest = &rest[1..];
        let Some(end) = rest.find(quote) else { break };
        let href = &rest[..end];
        rest = &rest[end..];
        let name = href.split('?').next().unwrap_or("");
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if valid && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// Everything learned about one pprof mount.
#[derive(Debug, Clone, Serialize)]
pub struct PprofProbe {
    /// `http://127.0.0.1:6060/debug/pprof/`.
    pub url: String,
    /// Over https: how the certificate of the index's answer was trusted (pinned, by a CA,
    /// not verified with --insecure); absent over plain HTTP or when no TLS answer came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Trust>,
    /// The index's answer.
    pub index: EndpointResult,
    /// Profiles the index lists (empty when it could not be read).
    pub listed: Vec<String>,
    /// Every other endpoint probed, in a stable order.
    pub endpoints: Vec<EndpointResult>,
    /// Raw bodies of the allocs and heap profiles as served (for artifacts and decoding).
    #[serde(skip)]
    pub raw: BTreeMap<String, Vec<u8>>,
}

impl PprofProbe {
    /// The index and every endpoint answered as net/http/pprof does.
    pub fn all_ok(&self) -> bool {
        self.index.ok && self.endpoints.iter().all(|e| e.ok)
    }

    /// Endpoints (index included) that did not answer as pprof does.
    pub fn failures(&self) -> Vec<&EndpointResult> {
        std::iter::once(&self.index)
            .chain(&self.endpoints)
            .filter(|e| !e.ok)
            .collect()
    }
}

/// Sends one GET and classifies it.
pub fn fetch(
    ep: &Endpoint,
    name: &str,
    target: &str,
    expect: Expect,
    headers: &[(String, String)],
    timeout: Duration,
) -> (EndpointResult, Option<Response>) {
    let started = Instant::now();
    let mut req = Request::get(target, timeout);
    req.headers = headers;
    let result = http::send(ep, &req);
    judge(
        name,
        target,
        expect,
        result,
        started.elapsed().as_millis() as u64,
    )
}

fn judge(
    name: &str,
    target: &str,
    expect: Expect,
    result: Result<Response, HttpError>,
    ms: u64,
) -> (EndpointResult, Option<Response>) {
    match result {
        Ok(resp) => {
            let (class, detail) = classify(&resp, expect);
            let ok = match expect {
                Expect::PprofNotFound => class == Class::PprofNotFound,
                _ => class == Class::Ok,
            };
            let decoded_bytes = (expect == Expect::Profile && ok)
                .then(|| gunzipped_len(&resp.body).ok())
                .flatten();
            let r = EndpointResult {
                name: name.to_string(),
                path: target.to_string(),
                status: Some(resp.status),
                class,
                ok,
                content_type: resp.header("Content-Type").map(str::to_string),
                bytes: resp.body.len(),
                decoded_bytes,
                detail: if decoded_bytes.is_some() {
                    String::new()
                } else {
                    detail
                },
                ms,
            };
            (r, Some(resp))
        }
        Err(e) => (
            EndpointResult {
                name: name.to_string(),
                path: target.to_string(),
                status: None,
                class: Class::Unreachable,
                ok: false,
                content_type: None,
                bytes: 0,
                decoded_bytes: None,
                detail: http_error(&e),
                ms,
            },
            None,
        ),
    }
}

/// The error in words, with what to do about a certificate goready cannot verify.
fn http_error(e: &HttpError) -> String {
    match e {
        HttpError::Certificate(_) => format!(
            "{e}; pass --ca-cert FILE with the server's certificate (or the CA that signed it), \
             or --insecure to skip verification"
        ),
        _ => e.to_string(),
    }
}

/// Go's answer to a plain-HTTP request on a TLS listener (net/http's server).
const GO_TLS_HINT: &str = "Client sent an HTTP request to an HTTPS server";

/// True when a plain-HTTP attempt looks like it met a TLS listener: Go's own 400 saying so
/// (or another server's 400 naming HTTPS, as nginx's "The plain HTTP request was sent to
/// HTTPS port"), bytes that are not HTTP (a TLS alert record), or a connection closed without
/// an answer. Only a guess: [`ask`] confirms it with a handshake.
pub fn maybe_tls(result: &Result<Response, HttpError>) -> bool {
    match result {
        Ok(r) => r.status == 400 && (r.text().contains(GO_TLS_HINT) || r.text().contains("HTTPS")),
        Err(HttpError::Protocol(_) | HttpError::Io(_)) => true,
        Err(_) => false,
    }
}

/// Go's net/http answer to plain HTTP on a TLS listener, word for word.
fn is_go_refusal(result: &Result<Response, HttpError>) -> bool {
    matches!(result, Ok(r) if r.status == 400 && r.text().contains(GO_TLS_HINT))
}

/// One socket's answer to one request, over plain HTTP or over TLS.
#[derive(Debug)]
pub struct Asked {
    /// Where the answer came from (`https` when the socket spoke TLS).
    pub endpoint: Endpoint,
    /// The answer.
    pub result: Result<Response, HttpError>,
}

impl Asked {
    /// The socket was seen speaking TLS: an answer over https, or a certificate goready does
    /// not trust (which only a TLS server presents).
    pub fn speaks_tls(&self) -> bool {
        self.endpoint.is_tls() && matches!(&self.result, Ok(_) | Err(HttpError::Certificate(_)))
    }
}

/// Sends `req` to `addr` over plain HTTP and, when the answer looks like a TLS listener's
/// refusal ([`maybe_tls`]), again over https with its certificate checked as `tls` says. The
/// https answer is kept when the socket spoke TLS in it, the plain one otherwise.
pub fn ask(addr: SocketAddr, req: &Request<'_>, tls: &Tls) -> Asked {
    let plain = Endpoint::at(addr);
    let result = http::send(&plain, req);
    if maybe_tls(&result) {
        let over_tls = Asked {
            endpoint: Endpoint::https(addr, tls.clone()),
            result: http::send(&Endpoint::https(addr, tls.clone()), req),
        };
        // Go's own words leave no doubt that TLS is spoken there: a failed handshake (a
        // client certificate required, no common version) is then the story to tell.
        if over_tls.speaks_tls() || is_go_refusal(&result) {
            return over_tls;
        }
    }
    Asked {
        endpoint: plain,
        result,
    }
}

/// Probes a pprof mount: the index, every profile it lists (or the standard ones), cmdline,
/// symbol, a 1-second CPU profile and trace (in parallel with the rest), and an unknown
/// profile name. `expected_cmdline` (the process's argv from /proc) is compared with what
/// `cmdline` serves. An unverified TLS certificate is a warning to `say`.
pub fn probe(
    ep: &Endpoint,
    prefix: &str,
    headers: &[(String, String)],
    expected_cmdline: Option<&[String]>,
    say: crate::progress::Say<'_>,
) -> PprofProbe {
    let t = Duration::from_secs(5);
    if ep.tls.as_ref().is_some_and(|tls| !tls.verifies()) {
        say.warn(format!(
            "--insecure: the TLS certificate of {} is not verified",
            ep.host
        ));
    }
    let (index, index_resp) = fetch(ep, "(index)", prefix, Expect::Index, headers, t);
    let tls = index_resp.as_ref().and_then(|r| r.tls);
    if index.class == Class::Unreachable {
        // Nothing answers HTTP there: every other request would only wait for its timeout.
        return PprofProbe {
            url: ep.url(prefix),
            tls,
            index,
            listed: Vec::new(),
            endpoints: Vec::new(),
            raw: BTreeMap::new(),
        };
    }
    let listed = match &index_resp {
        Some(r) if index.ok => index_profiles(&r.text()),
        _ => Vec::new(),
    };
    let mut profiles: Vec<String> = listed
        .iter()
        .filter(|n| !HANDLERS.contains(&n.as_str()))
        .cloned()
        .collect();
    if profiles.is_empty() {
        profiles = STANDARD_PROFILES.iter().map(|s| s.to_string()).collect();
    }
    let slow = std::thread::scope(|s| {
        let cpu = s.spawn(|| {
            fetch(
                ep,
                "profile?seconds=1",
                &format!("{prefix}profile?seconds=1"),
                Expect::Profile,
                headers,
                t + Duration::from_secs(1),
            )
            .0
        });
        let trace = s.spawn(|| {
            fetch(
                ep,
                "trace?seconds=1",
                &format!("{prefix}trace?seconds=1"),
                Expect::Trace,
                headers,
                t + Duration::from_secs(1),
            )
            .0
        });
        let mut fast = Vec::new();
        let mut raw = BTreeMap::new();
        for name in &profiles {
            let (r, resp) = fetch(
                ep,
                name,
                &format!("{prefix}{name}"),
                Expect::Profile,
                headers,
                t,
            );
            if r.ok && (name == "allocs" || name == "heap") {
                if let Some(resp) = resp {
                    raw.insert(name.clone(), resp.body);
                }
            }
            fast.push(r);
        }
        let (mut cmdline, cmd_resp) = fetch(
            ep,
            "cmdline",
            &format!("{prefix}cmdline"),
            Expect::Cmdline,
            headers,
            t,
        );
        if let (true, Some(resp), Some(expected)) = (cmdline.ok, cmd_resp, expected_cmdline) {
            let served: Vec<String> = resp.text().split('\0').map(str::to_string).collect();
            cmdline.detail = if served == expected {
                "matches the process's command line".into()
            } else {
                format!("serves {served:?}, the process runs {expected:?}")
            };
        }
        fast.push(cmdline);
        fast.push(
            fetch(
                ep,
                "symbol",
                &format!("{prefix}symbol"),
                Expect::Symbol,
                headers,
                t,
            )
            .0,
        );
        fast.push(
            fetch(
                ep,
                "(unknown profile)",
                &format!("{prefix}{UNKNOWN_PROFILE}"),
                Expect::PprofNotFound,
                headers,
                t,
            )
            .0,
        );
        let cpu = cpu.join().unwrap_or_else(|_| panicked("profile?seconds=1"));
        let trace = trace.join().unwrap_or_else(|_| panicked("trace?seconds=1"));
        fast.push(cpu);
        fast.push(trace);
        (fast, raw)
    });
    let (endpoints, raw) = slow;
    PprofProbe {
        url: ep.url(prefix),
        tls,
        index,
        listed,
        endpoints,
        raw,
    }
}

fn panicked(name: &str) -> EndpointResult {
    EndpointResult {
        name: name.into(),
        path: String::new(),
        status: None,
        class: Class::Unreachable,
        ok: false,
        content_type: None,
        bytes: 0,
        decoded_bytes: None,
        detail: "probe thread panicked".into(),
        ms: 0,
    }
}

/// What one listening socket answers at the pprof index, asked the way an outsider would:
/// without goready's `--header` credentials, and over TLS without verifying the certificate
/// when the socket speaks TLS (an outsider need not trust it to read what it serves: TLS is
/// not authentication).
#[derive(Debug, Clone, Serialize)]
pub struct SocketAnswer {
    /// Where goready connected.
    pub via: SocketAddr,
    /// The socket speaks TLS: the answer came over https.
    pub tls: bool,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What it means.
    pub class: Class,
    /// Specifics.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl SocketAnswer {
    /// Where goready probes this socket: over https (certificates checked as `tls` says)
    /// when it speaks TLS, plain HTTP otherwise.
    pub fn endpoint(&self, tls: &Tls) -> Endpoint {
        if self.tls {
            Endpoint::https(self.via, tls.clone())
        } else {
            Endpoint::at(self.via)
        }
    }
}

/// Asks each address of a socket for the index (first HTTP answer wins); a socket that
/// seems to speak TLS is asked again over https.
pub fn ask_socket(addrs: &[SocketAddr], prefix: &str, timeout: Duration) -> Option<SocketAnswer> {
    let mut last = None;
    for &addr in addrs {
        let started = Instant::now();
        let asked = ask(addr, &Request::get(prefix, timeout), &Tls::insecure());
        let ms = started.elapsed().as_millis() as u64;
        let tls = asked.endpoint.is_tls();
        let r = judge("(index)", prefix, Expect::Index, asked.result, ms).0;
        let answer = SocketAnswer {
            via: addr,
            tls,
            status: r.status,
            class: r.class,
            detail: r.detail,
        };
        if answer.status.is_some() {
            return Some(answer);
        }
        last = Some(answer);
    }
    last
}

/// The runtime.MemStats block of `heap?debug=1` (`# HeapInuse = 1234`), the fields goready
/// reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemStats {
    /// Bytes of allocated heap objects.
    pub heap_alloc: u64,
    /// Bytes in in-use spans: the heap the process holds for live objects, fragmentation
    /// included. This is the number `runtime.heap_budget` judges.
    pub heap_inuse: u64,
    /// Bytes of heap memory obtained from the OS.
    pub heap_sys: u64,
    /// Bytes in idle spans.
    pub heap_idle: u64,
    /// Idle bytes returned to the OS.
    pub heap_released: u64,
    /// Live heap objects.
    pub heap_objects: u64,
    /// Total bytes obtained from the OS.
    pub sys: u64,
    /// Heap size target of the next GC.
    pub next_gc: u64,
    /// Completed GC cycles.
    pub num_gc: u64,
}

/// Parses the `# runtime.MemStats` block; `None` when HeapInuse is missing.
pub fn parse_memstats(text: &str) -> Option<MemStats> {
    let mut fields = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# ") else {
            continue;
        };
        let Some((k, v)) = rest.split_once(" = ") else {
            continue;
        };
        if let Ok(n) = v.trim().parse::<u64>() {
            fields.insert(k.trim(), n);
        }
    }
    let get = |k: &str| fields.get(k).copied().unwrap_or(0);
    Some(MemStats {
        heap_inuse: *fields.get("HeapInuse")?,
        heap_alloc: get("HeapAlloc"),
        heap_sys: get("HeapSys"),
        heap_idle: get("HeapIdle"),
        heap_released: get("HeapReleased"),
        heap_objects: get("HeapObjects"),
        sys: get("Sys"),
        next_gc: get("NextGC"),
        num_gc: get("NumGC"),
    })
}

/// Fetches `heap?gc=1&debug=1` (a GC first, then the text form) and reads its MemStats.
pub fn memstats(
    ep: &Endpoint,
    prefix: &str,
    headers: &[(String, String)],
) -> Result<MemStats, String> {
    let target = format!("{prefix}heap?gc=1&debug=1");
    let mut req = Request::get(&target, Duration::from_secs(20));
    req.headers = headers;
    let resp = http::send(ep, &req).map_err(|e| format!("GET {target}: {e}"))?;
    if resp.status != 200 {
        return Err(format!("GET {target} answered {}", resp.status));
    }
    parse_memstats(&resp.text())
        .ok_or_else(|| format!("GET {target}: no `# HeapInuse = N` line in the answer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
            tls: None,
        }
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn tells_404s_apart_by_pprofs_header() {
        let own = resp(404, &[("X-Go-Pprof", "1")], b"Unknown profile\n");
        assert_eq!(classify(&own, Expect::Profile).0, Class::PprofNotFound);
        let plain = resp(404, &[], b"404 page not found\n");
        assert_eq!(classify(&plain, Expect::Profile).0, Class::NotRouted);
    }

    #[test]
    fn classifies_middleware_and_method_answers() {
        assert_eq!(
            classify(&resp(401, &[], b""), Expect::Index).0,
            Class::Unauthorized
        );
        assert_eq!(
            classify(&resp(403, &[], b""), Expect::Index).0,
            Class::Unauthorized
        );
        let (c, d) = classify(&resp(405, &[("Allow", "POST")], b""), Expect::Index);
        assert_eq!((c, d.as_str()), (Class::MethodNotAllowed, "Allow: POST"));
        let busy = resp(
            500,
            &[("X-Go-Pprof", "1")],
            b"Could not enable CPU profiling: cpu profiling already in use\n",
        );
        assert_eq!(classify(&busy, Expect::Profile).0, Class::PprofError);
        assert_eq!(
            classify(&resp(502, &[], b"bad gateway"), Expect::Profile).0,
            Class::OtherStatus
        );
    }

    #[test]
    fn a_real_profile_needs_gzip_that_gunzips() {
        let good = resp(
            200,
            &[("Content-Type", "application/octet-stream")],
            &gz(b"\x0a\x02hi"),
        );
        assert_eq!(classify(&good, Expect::Profile).0, Class::Ok);
        let mut broken = gz(&[7u8; 5000]);
        broken.truncate(broken.len() / 2);
        let (c, d) = classify(&resp(200, &[], &broken), Expect::Profile);
        assert_eq!(c, Class::WrongContent, "{d}");
        let html = resp(
            200,
            &[("Content-Type", "text/html")],
            b"<html>welcome</html>",
        );
        assert_eq!(classify(&html, Expect::Profile).0, Class::CatchAll);
        let text = resp(
            200,
            &[("Content-Type", "text/plain")],
            b"heap profile: 1: 2 [3: 4]",
        );
        assert_eq!(classify(&text, Expect::Profile).0, Class::WrongContent);
    }

    #[test]
    fn gzip_bombs_stop_at_the_cap() {
        // 8 MiB of zeros compress to a few KiB; with a 1 MiB cap reading stops there.
        let bomb = gz(&vec![0u8; 8 << 20]);
        assert!(bomb.len() < 64 << 10);
        assert!(
            gunzipped_len_within(&bomb, 1 << 20)
                .unwrap_err()
                .contains("beyond")
        );
        assert_eq!(gunzipped_len_within(&bomb, 8 << 20), Ok(8 << 20));
    }

    #[test]
    fn recognises_the_index_and_its_profiles() {
        let html = "<html>\n<head>\n<title>/debug/pprof/</title>\n</head><body>Types of profiles available:\n<table>\n<tr><td>0</td><td><a href='allocs?debug=1'>allocs</a></td></tr>\n<tr><td>0</td><td><a href='cmdline?debug=1'>cmdline</a></td></tr>\n<tr><td>4</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>\n<tr><td>0</td><td><a href='heap?debug=1'>heap</a></td></tr>\n</table>\n<a href=\"goroutine?debug=2\">full goroutine stack dump</a>";
        assert!(is_pprof_index(html));
        assert_eq!(
            index_profiles(html),
            vec!["allocs", "cmdline", "goroutine", "heap"]
        );
        assert!(!is_pprof_index("<html><title>My App</title></html>"));
        assert_eq!(
            index_profiles("<a href=x>y</a><a href='"),
            Vec::<String>::new()
        );
        let catch_all = resp(
            200,
            &[("Content-Type", "text/html")],
            b"<html>My App</html>",
        );
        assert_eq!(classify(&catch_all, Expect::Index).0, Class::CatchAll);
    }

    #[test]
    fn trace_symbol_and_unknown_profile_expectations() {
        let trace = resp(200, &[], b"go 1.26 trace\x00\x00\x00\x01\x02");
        assert_eq!(classify(&trace, Expect::Trace).0, Class::Ok);
        assert_eq!(
            classify(&resp(200, &[], b"\x1f\x8b"), Expect::Trace).0,
            Class::WrongContent
        );
        assert_eq!(
            classify(&resp(200, &[], b"num_symbols: 1\n"), Expect::Symbol).0,
            Class::Ok
        );
        let html = resp(
            200,
            &[("Content-Type", "text/html; charset=utf-8")],
            b"<!doctype html>",
        );
        assert_eq!(classify(&html, Expect::PprofNotFound).0, Class::CatchAll);
    }

    #[test]
    fn reads_memstats() {
        let text = "heap profile: 1: 2 [3: 4] @ heap/1048576\n\n# runtime.MemStats\n# Alloc = 100\n# HeapAlloc = 1000\n# HeapSys = 8000\n# HeapIdle = 5000\n# HeapInuse = 3000\n# HeapReleased = 2000\n# HeapObjects = 12\n# Stack = 1 / 2\n# NextGC = 4194304\n# NumGC = 3\n# DebugGC = false\n";
        let m = parse_memstats(text).unwrap();
        assert_eq!(
            (m.heap_inuse, m.heap_alloc, m.heap_objects, m.num_gc),
            (3000, 1000, 12, 3)
        );
        assert!(parse_memstats("<html>").is_none());
    }

    #[test]
    fn a_tls_listeners_refusal_of_plain_http_is_recognised() {
        let go = resp(
            400,
            &[],
            b"Client sent an HTTP request to an HTTPS server.\n",
        );
        assert!(maybe_tls(&Ok(go)));
        let nginx = resp(
            400,
            &[("Content-Type", "text/html")],
            b"<html><center>The plain HTTP request was sent to HTTPS port</center></html>",
        );
        assert!(maybe_tls(&Ok(nginx)));
        // A TLS server that answers plain bytes with an alert record (content type 21,
        // version 3.1, "protocol version" alert), as read by the HTTP stack.
        let ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            if let Ok((mut s, _)) = ln.accept() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
            }
        });
        let alert = http::send(
            &Endpoint::at(addr),
            &Request::get("/", Duration::from_secs(2)),
        );
        assert!(maybe_tls(&alert), "{alert:?}");
        assert!(!maybe_tls(&Ok(resp(400, &[], b"missing field 'name'"))));
        assert!(!maybe_tls(&Ok(resp(404, &[], b"404 page not found"))));
        assert!(!maybe_tls(&Err(HttpError::Timeout)));
    }

    #[test]
    fn a_plain_server_that_sounds_like_tls_is_kept_as_plain_unless_it_is_gos_words() {
        use std::io::{Read, Write};
        // Answers `first` to plain HTTP, then closes the TLS attempt that follows.
        fn serve(first: &'static [u8]) -> SocketAddr {
            let ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = ln.local_addr().unwrap();
            std::thread::spawn(move || {
                for (i, conn) in ln.incoming().take(2).enumerate() {
                    let Ok(mut s) = conn else { return };
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    if i == 0 {
                        let _ = s.write_all(first);
                    }
                }
            });
            addr
        }
        let req = Request::get("/debug/pprof/", Duration::from_secs(2));
        // A 400 that merely names HTTPS, and no handshake after it: plain HTTP, as answered.
        let addr = serve(b"HTTP/1.0 400 Bad Request\r\n\r\nuse HTTPS for the API\n");
        let asked = ask(addr, &req, &Tls::insecure());
        assert!(!asked.endpoint.is_tls());
        assert!(!asked.speaks_tls());
        assert_eq!(asked.result.unwrap().status, 400);
        // Go's exact words: TLS it is, and the failed handshake is what is reported.
        let addr = serve(
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
        );
        let asked = ask(addr, &req, &Tls::insecure());
        assert!(asked.endpoint.is_tls());
        assert!(!asked.speaks_tls(), "no answer came over TLS");
        let err = asked.result.unwrap_err();
        assert!(matches!(err, HttpError::Tls(_)), "{err}");
    }
}
