//! The one HTTP client stack of goready: hyper's HTTP/1.1 client over tokio, with rustls (the
//! ring provider) for `https`. Everything goready sends goes through here — the Go release
//! feed, the pprof probe and the readiness checks, the load generator, the GitHub and GitLab
//! REST APIs.
//!
//! The probe needs the wire as the service sent it: the exact status, every header
//! (`X-Go-Pprof`), the raw body bytes after transfer decoding but without content decoding.
//! Every exchange has one deadline (connect, TLS handshake, request, last body byte), every
//! body a cap, and a hostile or broken peer gets an [`HttpError`], never a panic.
//!
//! TLS: certificates are verified against the system's roots (as `rustls-native-certs` finds
//! them: SSL_CERT_FILE, /etc/ssl/certs, ...) plus an optional extra file (`--ca-cert`), or not
//! at all in the explicit insecure mode ([`Tls::new`]). A certificate of that file is also
//! trusted as the server's own when the server presents exactly it (pinning), whatever its CA
//! flag: `openssl req -x509` makes `CA:TRUE` certificates, which webpki refuses as a server's
//! but Go's client and curl accept from their root file. Every response says how its
//! certificate was trusted ([`Trust`]). The rest of goready is synchronous: [`send`]
//! runs one exchange on a small current-thread runtime of its own; the load generator drives
//! [`Conn`]s on its own runtimes.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

pub mod client;

/// How long resolving a host name may take; a CI machine without DNS must not stall.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request produced no response.
#[derive(Debug)]
pub enum HttpError {
    /// Nothing accepted the connection (refused, unreachable, unknown host).
    Connect(io::Error),
    /// The deadline passed before the response was complete.
    Timeout,
    /// The peer closed the connection or the socket failed mid-exchange.
    Io(io::Error),
    /// The bytes are not an HTTP/1.x response.
    Protocol(String),
    /// The body is larger than the caller allows.
    TooLarge(usize),
    /// The server's TLS certificate could not be verified (unknown issuer, expired, wrong
    /// name): the text names the problem.
    Certificate(String),
    /// The TLS handshake failed for another reason (the peer does not speak TLS, no common
    /// protocol version, an alert).
    Tls(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "cannot connect: {e}"),
            HttpError::Timeout => f.write_str("timed out"),
            HttpError::Io(e) => write!(f, "connection failed: {e}"),
            HttpError::Protocol(m) => write!(f, "not an HTTP response: {m}"),
            HttpError::TooLarge(cap) => write!(f, "response body larger than {cap} bytes"),
            HttpError::Certificate(m) => {
                write!(f, "the server's TLS certificate is not trusted: {m}")
            }
            HttpError::Tls(m) => write!(f, "TLS handshake failed: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code, e.g. 200.
    pub status: u16,
    /// Header fields in the order received (names lower case, as HTTP/1.1 allows).
    pub headers: Vec<(String, String)>,
    /// The body after transfer decoding (chunked), as sent otherwise (no content decoding).
    pub body: Vec<u8>,
    /// Over https: how the server's certificate was trusted. `None` over plain HTTP.
    pub tls: Option<Trust>,
}

/// How the certificate of a TLS connection was trusted: what goready saw in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// The server presented exactly a certificate of the `--ca-cert` file; its name and
    /// validity period were checked, its CA flag was not (as Go's client and curl do).
    Pinned,
    /// The certificate chains to a trusted root: the system's, or a CA of `--ca-cert`.
    Ca,
    /// Not verified (`--insecure`); the handshake's signature was still checked.
    Insecure,
}

impl Trust {
    /// A few words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Trust::Pinned => "TLS verified by pin: the server presented the --ca-cert certificate",
            Trust::Ca => "TLS verified by CA: the certificate chains to a trusted root",
            Trust::Insecure => "TLS certificate not verified (--insecure)",
        }
    }
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

/// How server certificates are trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM file of certificates trusted beside the system's roots (`--ca-cert`): CAs that
    /// sign servers' certificates, or a server's own certificate (pinned).
    pub ca_cert: Option<PathBuf>,
    /// Skip verification altogether (`--insecure`).
    pub insecure: bool,
}

/// A TLS client configuration. Cheap to clone; the system's roots are read once per process,
/// on the first handshake that needs them, so plain-HTTP runs never touch them.
#[derive(Clone)]
pub struct Tls {
    extra: Arc<Vec<CertificateDer<'static>>>,
    insecure: bool,
    config: Arc<OnceLock<Result<Arc<ClientConfig>, String>>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("extra_cas", &self.extra.len())
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl Default for Tls {
    fn default() -> Self {
        Tls::from_parts(Vec::new(), false)
    }
}

impl Tls {
    /// The configuration `opts` describe. The CA file is read and parsed here, so a wrong
    /// path or a file without certificates is an error before anything is sent.
    pub fn new(opts: &TlsOptions) -> Result<Tls, String> {
        let extra = match &opts.ca_cert {
            Some(path) => read_cas(path)?,
            None => Vec::new(),
        };
        Ok(Tls::from_parts(extra, opts.insecure))
    }

    /// No verification at all: what an outsider who ignores certificates sees.
    pub fn insecure() -> Tls {
        Tls::from_parts(Vec::new(), true)
    }

    fn from_parts(extra: Vec<CertificateDer<'static>>, insecure: bool) -> Tls {
        Tls {
            extra: Arc::new(extra),
            insecure,
            config: Arc::new(OnceLock::new()),
        }
    }

    /// False in the insecure mode.
    pub fn verifies(&self) -> bool {
        !self.insecure
    }

    fn client_config(&self) -> Result<Arc<ClientConfig>, HttpError> {
        self.config
            .get_or_init(|| self.build().map(Arc::new))
            .clone()
            .map_err(HttpError::Tls)
    }

    /// The certificate verifier this configuration describes.
    fn verifier(
        &self,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Arc<dyn ServerCertVerifier>, String> {
        if self.insecure {
            return Ok(Arc::new(Verifier {
                trusting: Trusting::Anything,
                provider: provider.clone(),
            }));
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(system_roots().iter().cloned());
        // A certificate that cannot be an anchor (not X.509 webpki can read as a CA) may
        // still be the server's own: it stays a pin.
        roots.add_parsable_certificates(self.extra.iter().cloned());
        let webpki = if roots.is_empty() {
            None
        } else {
            Some(
                rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider.clone(),
                )
                .build()
                .map_err(|e| format!("cannot use the trusted certificates: {e}"))?,
            )
        };
        Ok(Arc::new(Verifier {
            trusting: Trusting::PinsOrRoots {
                pins: self.extra.clone(),
                webpki,
            },
            provider: provider.clone(),
        }))
    }

    fn build(&self) -> Result<ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let verifier = self.verifier(&provider)?;
        let mut config = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // Only HTTP/1.1 is spoken; saying so keeps servers that prefer h2 from choosing it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// How a connection whose server presented `end_entity` was trusted (the handshake
    /// succeeded, so the verifier accepted it).
    fn trust_of(&self, end_entity: Option<&CertificateDer<'_>>) -> Trust {
        if self.insecure {
            Trust::Insecure
        } else if end_entity.is_some_and(|ee| is_pinned(&self.extra, ee)) {
            Trust::Pinned
        } else {
            Trust::Ca
        }
    }
}

/// webpki's refusal of a `CA:TRUE` certificate as a server's (rustls passes it on as an
/// "other" certificate error).
fn is_ca_used_as_end_entity(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => matches!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ),
        _ => false,
    }
}

fn is_pinned(pins: &[CertificateDer<'static>], end_entity: &CertificateDer<'_>) -> bool {
    pins.iter().any(|p| p.as_ref() == end_entity.as_ref())
}

fn read_cas(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            path.display()
        ));
    }
    Ok(certs)
}

/// The system's trust anchors, read once. Unreadable entries are skipped: a missing store
/// only means fewer servers are trusted, and the handshake says which one was not.
fn system_roots() -> &'static [CertificateDer<'static>] {
    // A global on purpose: the store is the machine's, the same for every client, and
    // reading it costs milliseconds a run should pay once.
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// goready's certificate verifier. Verifying, a server that presents exactly a `--ca-cert`
/// certificate is trusted as that certificate's owner (its name and validity period are
/// checked, not its CA flag) and any other certificate is verified by webpki against the
/// roots; in the insecure mode any certificate is accepted. Either way the handshake
/// signatures are checked with the provider's algorithms: the peer must hold the key of the
/// certificate it sent.
#[derive(Debug)]
struct Verifier {
    trusting: Trusting,
    provider: Arc<CryptoProvider>,
}

/// Which certificates [`Verifier`] accepts.
#[derive(Debug)]
enum Trusting {
    /// Any (`--insecure`).
    Anything,
    /// The pins, else what chains to the roots (none: only the pins).
    PinsOrRoots {
        pins: Arc<Vec<CertificateDer<'static>>>,
        webpki: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    },
}

impl Verifier {
    fn verify_pinned(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        // The pin is its own anchor. webpki checks an end-entity's validity period before its
        // basic constraints, so reaching "CA used as end entity" means the dates are good;
        // a unit test holds webpki to that order.
        let mut anchor = rustls::RootCertStore::empty();
        anchor.add(end_entity.clone().into_owned())?;
        match rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &anchor,
            &[],
            now,
            self.provider.signature_verification_algorithms.all,
        ) {
            Ok(()) => {}
            Err(e) if is_ca_used_as_end_entity(&e) => {}
            Err(e) => return Err(e),
        }
        rustls::client::verify_server_name(&cert, server_name)?;
        Ok(ServerCertVerified::assertion())
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Trusting::PinsOrRoots { pins, webpki } = &self.trusting else {
            return Ok(ServerCertVerified::assertion());
        };
        if is_pinned(pins, end_entity) {
            return self.verify_pinned(end_entity, server_name, now);
        }
        match webpki {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Where to send requests: `http(s)://host:port` plus a base path.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The resolved socket address.
    pub addr: SocketAddr,
    /// The Host header value (`host:port` as the user wrote it, or the address).
    pub host: String,
    /// Path prefix, e.g. `/debug/pprof/`; `/` (or empty) for the root. May carry a query.
    pub path: String,
    /// `Some` for https: how the server's certificate is checked.
    pub tls: Option<Tls>,
}

impl Endpoint {
    /// A plain-HTTP endpoint for a socket address (Host header = the address).
    pub fn at(addr: SocketAddr) -> Self {
        Endpoint {
            addr,
            host: addr.to_string(),
            path: String::new(),
            tls: None,
        }
    }

    /// An https endpoint for a socket address, its certificate checked as `tls` says (the
    /// name verified is the address, as for `https://127.0.0.1:6060/`).
    pub fn https(addr: SocketAddr, tls: Tls) -> Self {
        Endpoint {
            tls: Some(tls),
            ..Endpoint::at(addr)
        }
    }

    /// Parses `http://host:port/path` or `https://…` (certificates checked as `tls` says)
    /// with [`UrlParts::parse`]. Host names are resolved here, within a few seconds.
    pub fn parse(url: &str, tls: &Tls) -> Result<Self, String> {
        let parts = UrlParts::parse(url)?;
        let addr = resolve(&parts.host, parts.port).map_err(|e| format!("{url}: {e}"))?;
        Ok(Endpoint {
            addr,
            host: parts.authority,
            path: parts.path,
            tls: parts.https.then(|| tls.clone()),
        })
    }

    /// True for https.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// `http(s)://host/path` for messages.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://{}{}", self.host, path)
    }

    /// The host without port or brackets: the TLS server name.
    fn host_name(&self) -> &str {
        let h = &self.host;
        if let Some(inner) = h.strip_prefix('[') {
            return inner.split(']').next().unwrap_or(inner);
        }
        h.rsplit_once(':').map(|(n, _)| n).unwrap_or(h)
    }
}

/// A URL the user wrote, taken apart without any I/O (no name is resolved): what
/// [`Endpoint::parse`] needs, apart so that untrusted text can be fuzzed without a resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// `https://` rather than `http://`.
    pub https: bool,
    /// The host as written, without the brackets of an IPv6 address.
    pub host: String,
    /// The port written, or the scheme's (80, 443).
    pub port: u16,
    /// `host:port` as written, the `Host` header's value.
    pub authority: String,
    /// The path and query (`/debug/pprof/?debug=1`), empty if none is written.
    pub path: String,
}

impl UrlParts {
    /// Parses `http://host:port/path` or `https://…` with [`::http::Uri`], the one URL
    /// parser; refuses other schemes, credentials and a port that is not a number, each
    /// with a message that says what to write.
    pub fn parse(url: &str) -> Result<Self, String> {
        let example = "expected a URL like http://127.0.0.1:6060/debug/pprof/";
        let uri: ::http::Uri = url.parse().map_err(|e| {
            if url.contains("://") && url.matches(':').count() > 2 && !url.contains('[') {
                format!("{url}: write IPv6 addresses in brackets, [::1]:6060")
            } else {
                format!("{url}: {e}; {example}")
            }
        })?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("{url}: {example}")),
        };
        let authority = uri
            .authority()
            .filter(|a| !a.host().is_empty())
            .ok_or_else(|| format!("{url}: no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "{url}: credentials in the URL are not supported; use --header"
            ));
        }
        let host = authority.host();
        // `Uri` keeps a port it cannot read as a number to itself; one that is written must be
        // a port.
        let port = match authority
            .as_str()
            .strip_prefix(host)
            .and_then(|r| r.strip_prefix(':'))
        {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("{url}: bad port {p:?}"))?,
            None => {
                if https {
                    443
                } else {
                    80
                }
            }
        };
        // Brackets hold an IPv6 address and nothing else (`http://[]/` has no host at all).
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) if v6.parse::<std::net::Ipv6Addr>().is_ok() => v6,
            Some(_) => return Err(format!("{url}: brackets hold an IPv6 address, like [::1]")),
            None => host,
        };
        Ok(UrlParts {
            https,
            host: host.to_string(),
            port,
            authority: authority.as_str().to_string(),
            path: match uri.query() {
                Some(q) => format!("{}?{q}", uri.path()),
                None => uri.path().to_string(),
            },
        })
    }
}

/// Resolves a host name on a helper thread, giving up after [`RESOLVE_TIMEOUT`] (the system
/// resolver has no timeout of its own; the thread ends whenever it answers).
fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|mut a| a.next()),
        );
    });
    match rx.recv_timeout(RESOLVE_TIMEOUT) {
        Ok(Ok(Some(addr))) => Ok(addr),
        Ok(Ok(None)) => Err(format!("{host} resolves to no address")),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => Err(format!(
            "cannot resolve {host}: no answer within {} s",
            RESOLVE_TIMEOUT.as_secs()
        )),
    }
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
    /// The request body (empty: none).
    pub body: &'a [u8],
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
            body: &[],
            timeout,
            max_body: 64 << 20,
        }
    }
}

/// Sends one request on a fresh connection and reads the whole response.
pub fn send(endpoint: &Endpoint, req: &Request<'_>) -> Result<Response, HttpError> {
    block_on(async {
        let deadline = tokio::time::Instant::now() + req.timeout;
        let mut conn = Conn::open(endpoint, deadline).await?;
        conn.exchange(req, deadline).await
    })?
}

/// Runs a future on a current-thread runtime made for it: the synchronous callers' way into
/// the async stack. Stray resolver threads are not waited for.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output, HttpError> {
    let rt = runtime().map_err(HttpError::Io)?;
    let out = rt.block_on(fut);
    rt.shutdown_background();
    Ok(out)
}

/// A current-thread tokio runtime with I/O and timers.
pub fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// A connection that can carry several requests (keep-alive). Must be used inside a tokio
/// runtime (see [`runtime`]).
pub struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    host: String,
    trust: Option<Trust>,
}

impl Conn {
    /// Connects (and completes the TLS handshake, for https) before `deadline`.
    pub async fn open(ep: &Endpoint, deadline: tokio::time::Instant) -> Result<Conn, HttpError> {
        match tokio::time::timeout_at(deadline, Conn::open_now(ep)).await {
            Ok(r) => r,
            Err(_) => Err(HttpError::Timeout),
        }
    }

    async fn open_now(ep: &Endpoint) -> Result<Conn, HttpError> {
        let tcp = tokio::net::TcpStream::connect(ep.addr)
            .await
            .map_err(HttpError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let (sender, trust) = match &ep.tls {
            None => (handshake(tcp).await?, None),
            Some(tls) => {
                let config = tls.client_config()?;
                let name = ServerName::try_from(ep.host_name().to_string())
                    .map_err(|e| HttpError::Tls(format!("{}: {e}", ep.host_name())))?;
                let stream = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(tls_error)?;
                let trust = tls.trust_of(
                    stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first()),
                );
                (handshake(stream).await?, Some(trust))
            }
        };
        Ok(Conn {
            sender,
            host: ep.host.clone(),
            trust,
        })
    }

    /// False once the server closed the connection (or said it would).
    pub fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }

    /// Sends `req` and reads its whole response before `deadline`.
    pub async fn exchange(
        &mut self,
        req: &Request<'_>,
        deadline: tokio::time::Instant,
    ) -> Result<Response, HttpError> {
        let fut = async {
            let resp = self.start(req).await?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = read_body(resp.into_body(), req.max_body, true).await?.1;
            Ok(Response {
                status,
                headers,
                body,
                tls: self.trust,
            })
        };
        match tokio::time::timeout_at(deadline, fut).await {
            Ok(r) => r,
            Err(_) => Err(HttpError::Timeout),
        }
    }

    /// Sends `req` and reads its response, keeping only the status and the body's size:
    /// what the load generator needs, without copying bodies.
    pub async fn exchange_discard(
        &mut self,
        req: &Request<'_>,
        deadline: tokio::time::Instant,
    ) -> Result<(u16, usize), HttpError> {
        let fut = async {
            let resp = self.start(req).await?;
            let status = resp.status().as_u16();
            let (n, _) = read_body(resp.into_body(), req.max_body, false).await?;
            Ok((status, n))
        };
        match tokio::time::timeout_at(deadline, fut).await {
            Ok(r) => r,
            Err(_) => Err(HttpError::Timeout),
        }
    }

    async fn start(
        &mut self,
        req: &Request<'_>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, HttpError> {
        let has = |name: &str| {
            req.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        let mut builder = hyper::Request::builder()
            .method(req.method)
            .uri(req.target)
            .header("host", &self.host);
        // GitHub refuses requests without a user agent; a client's own (octocrab's) stands.
        if !has("user-agent") {
            builder = builder.header("user-agent", concat!("goready/", env!("CARGO_PKG_VERSION")));
        }
        if !has("accept") {
            builder = builder.header("accept", "*/*");
        }
        for (k, v) in req.headers {
            // http's header types refuse line breaks, so no header can smuggle another.
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::copy_from_slice(req.body)))
            .map_err(|e| HttpError::Protocol(format!("cannot send this request: {e}")))?;
        self.sender.ready().await.map_err(hyper_error)?;
        self.sender.send_request(request).await.map_err(hyper_error)
    }
}

pub use watch::Wire;

/// Connections whose socket the drain can look at (see [`Wire`]).
mod watch {
    use std::io;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::{Context, Poll};
    use std::time::{Duration, Instant};

    use super::{Conn, Endpoint, HttpError, handshake};

    /// When a watched connection's bytes crossed its socket, and whether an answer is waiting in
    /// it: what the drain (`goready probe --drain`) needs to prove that a request was on the wire
    /// and not yet answered at the instant SIGTERM went out. Times are taken just after a write
    /// or read call on the socket returns: never before the bytes moved, possibly a little
    /// after (a busy thread), which is why "unanswered" rests on a peek at the socket itself.
    #[derive(Debug)]
    pub struct Wire {
        base: Instant,
        /// Nanoseconds after `base`, plus one, of the last write (0: none yet).
        written: AtomicU64,
        /// Nanoseconds after `base`, plus one, of the first read that returned bytes (0: none).
        answered: AtomicU64,
        /// A second descriptor of the same socket, only ever peeked at.
        peek: std::net::TcpStream,
    }

    impl Wire {
        fn mark(&self, slot: &AtomicU64, first_only: bool) {
            let ns = u64::try_from(self.base.elapsed().as_nanos())
                .unwrap_or(u64::MAX - 1)
                .saturating_add(1);
            if first_only {
                let _ = slot.compare_exchange(0, ns, Ordering::AcqRel, Ordering::Acquire);
            } else {
                slot.store(ns, Ordering::Release);
            }
        }

        fn at(&self, slot: &AtomicU64) -> Option<Instant> {
            match slot.load(Ordering::Acquire) {
                0 => None,
                ns => Some(self.base + Duration::from_nanos(ns - 1)),
            }
        }

        /// When the last write on the socket completed: for a request without a body, when the
        /// whole request had been handed to the kernel.
        pub fn written_at(&self) -> Option<Instant> {
            self.at(&self.written)
        }

        /// When the first bytes of an answer were read.
        pub fn answered_at(&self) -> Option<Instant> {
            self.at(&self.answered)
        }

        /// True when, right now, no byte of an answer has been read nor is waiting to be read and
        /// the peer has not closed: a non-blocking `MSG_PEEK`, which leaves any bytes to hyper.
        /// On loopback the peer's write lands in this socket's queue within its own system call,
        /// so an empty queue means the service had not answered yet.
        pub fn unanswered_now(&self) -> bool {
            if self.answered_at().is_some() {
                return false;
            }
            let mut byte = [0u8; 1];
            matches!(self.peek.peek(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
        }
    }

    /// The socket under a watched connection: reads and writes pass through, their instants are
    /// kept in the [`Wire`].
    struct Watched {
        tcp: tokio::net::TcpStream,
        wire: Arc<Wire>,
    }

    impl tokio::io::AsyncRead for Watched {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let before = buf.filled().len();
            let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
            if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
                self.wire.mark(&self.wire.answered, true);
            }
            polled
        }
    }

    impl tokio::io::AsyncWrite for Watched {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            data: &[u8],
        ) -> Poll<io::Result<usize>> {
            let polled = Pin::new(&mut self.tcp).poll_write(cx, data);
            if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
                self.wire.mark(&self.wire.written, false);
            }
            polled
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let polled = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
            if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
                self.wire.mark(&self.wire.written, false);
            }
            polled
        }

        fn is_write_vectored(&self) -> bool {
            self.tcp.is_write_vectored()
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_shutdown(cx)
        }
    }

    impl Conn {
        /// Connects over plain HTTP before `deadline`, keeping the instants of the connection's
        /// reads and writes in the returned [`Wire`] (for a probe that must prove when a request
        /// was in flight). `https` endpoints are refused: their handshake bytes would blur the
        /// instants.
        pub async fn open_watched(
            ep: &Endpoint,
            deadline: tokio::time::Instant,
        ) -> Result<(Conn, Arc<Wire>), HttpError> {
            if ep.tls.is_some() {
                return Err(HttpError::Tls(
                    "a watched connection speaks plain HTTP only".into(),
                ));
            }
            let connect = async {
                let tcp = tokio::net::TcpStream::connect(ep.addr)
                    .await
                    .map_err(HttpError::Connect)?;
                let _ = tcp.set_nodelay(true);
                let std_tcp = tcp.into_std().map_err(HttpError::Io)?;
                let peek = std_tcp.try_clone().map_err(HttpError::Io)?;
                // Shared by both descriptors (tokio's own socket is non-blocking too).
                peek.set_nonblocking(true).map_err(HttpError::Io)?;
                let tcp = tokio::net::TcpStream::from_std(std_tcp).map_err(HttpError::Io)?;
                let wire = Arc::new(Wire {
                    base: Instant::now(),
                    written: AtomicU64::new(0),
                    answered: AtomicU64::new(0),
                    peek,
                });
                let sender = handshake(Watched {
                    tcp,
                    wire: wire.clone(),
                })
                .await?;
                Ok((
                    Conn {
                        sender,
                        host: ep.host.clone(),
                        // Watched connections are plain HTTP only (https is refused above).
                        trust: None,
                    },
                    wire,
                ))
            };
            match tokio::time::timeout_at(deadline, connect).await {
                Ok(r) => r,
                Err(_) => Err(HttpError::Timeout),
            }
        }
    }
    #[cfg(test)]
    mod tests {
        use std::io::{Read, Write};
        use std::net::TcpListener;
        use std::sync::mpsc;

        use super::*;
        use crate::http::{Request, runtime};

        /// A server on 127.0.0.1 that does `serve` with its first connection.
        fn server(serve: impl FnOnce(std::net::TcpStream) + Send + 'static) -> Endpoint {
            let ln = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = ln.local_addr().unwrap();
            std::thread::spawn(move || {
                if let Ok((s, _)) = ln.accept() {
                    serve(s);
                }
            });
            Endpoint::at(addr)
        }

        fn wait_for(what: impl Fn() -> bool) {
            let until = Instant::now() + Duration::from_secs(5);
            while !what() {
                assert!(Instant::now() < until, "waited 5 s in vain");
                std::thread::sleep(Duration::from_millis(1));
            }
        }

        #[test]
        fn a_request_written_and_not_yet_answered_is_seen_so_then_answered() {
            let (reply, go) = mpsc::channel::<()>();
            let ep = server(move |mut s| {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = go.recv();
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
            });
            let rt = runtime().unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            let (mut conn, wire) = rt.block_on(Conn::open_watched(&ep, deadline)).unwrap();
            assert!(wire.written_at().is_none() && wire.unanswered_now());
            let client = std::thread::spawn(move || {
                let req = Request::get("/slow", Duration::from_secs(5));
                rt.block_on(conn.exchange(&req, deadline)).map(|r| r.status)
            });
            wait_for(|| wire.written_at().is_some());
            // The server has the request and holds its answer.
            std::thread::sleep(Duration::from_millis(20));
            assert!(wire.unanswered_now());
            assert!(wire.answered_at().is_none());
            reply.send(()).unwrap();
            assert_eq!(client.join().unwrap().unwrap(), 200);
            let (sent, answered) = (wire.written_at().unwrap(), wire.answered_at().unwrap());
            assert!(answered >= sent);
            assert!(!wire.unanswered_now());
        }

        #[test]
        fn an_answer_waiting_unread_or_a_close_is_not_unanswered() {
            // Bytes the client has not read yet (nothing drives its connection) are seen by
            // the peek, and left where they are.
            let ep = server(|mut s| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                std::thread::sleep(Duration::from_secs(2));
            });
            let rt = runtime().unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            let (_conn, wire) = rt.block_on(Conn::open_watched(&ep, deadline)).unwrap();
            wait_for(|| !wire.unanswered_now());
            assert!(wire.answered_at().is_none());
            assert!(!wire.unanswered_now());
            // A server that closes without a word.
            let ep = server(drop);
            let (_conn, wire) = rt.block_on(Conn::open_watched(&ep, deadline)).unwrap();
            wait_for(|| !wire.unanswered_now());
            assert!(wire.answered_at().is_none());
        }

        #[test]
        fn https_endpoints_are_refused() {
            let ep = Endpoint::https("127.0.0.1:9".parse().unwrap(), crate::http::Tls::insecure());
            let rt = runtime().unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            let err = rt
                .block_on(Conn::open_watched(&ep, deadline))
                .err()
                .unwrap();
            assert!(err.to_string().contains("plain HTTP only"), "{err}");
        }
    }
}

async fn handshake<S>(io: S) -> Result<http1::SendRequest<Full<Bytes>>, HttpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(hyper_error)?;
    // The connection task ends when the sender is dropped or the peer closes.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Reads a body up to `cap` bytes; returns its size and, when `keep`, the bytes.
async fn read_body(
    mut body: hyper::body::Incoming,
    cap: usize,
    keep: bool,
) -> Result<(usize, Vec<u8>), HttpError> {
    let mut out = Vec::new();
    let mut n = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(hyper_error)?;
        if let Ok(data) = frame.into_data() {
            n = n.saturating_add(data.len());
            if n > cap {
                return Err(HttpError::TooLarge(cap));
            }
            if keep {
                out.extend_from_slice(&data);
            }
        }
    }
    Ok((n, out))
}

fn hyper_error(e: hyper::Error) -> HttpError {
    let text = error_chain(&e);
    if e.is_parse() || e.is_parse_status() {
        HttpError::Protocol(text)
    } else if e.is_timeout() {
        HttpError::Timeout
    } else {
        HttpError::Io(io::Error::other(text))
    }
}

fn tls_error(e: io::Error) -> HttpError {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(c)) => HttpError::Certificate(describe_cert(c)),
        Some(other) => HttpError::Tls(other.to_string()),
        None if e.kind() == io::ErrorKind::UnexpectedEof => {
            HttpError::Tls("the peer closed the connection during the handshake".into())
        }
        None => HttpError::Tls(e.to_string()),
    }
}

/// rustls's certificate errors in the words of a person fixing them.
fn describe_cert(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => {
            "it is signed by an unknown issuer (self-signed, or a private CA not among the \
             trusted roots)"
                .into()
        }
        C::Expired | C::ExpiredContext { .. } => "it has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it is not valid for this host name or address".into()
        }
        C::BadSignature => "its signature does not verify".into(),
        C::Revoked => "it has been revoked".into(),
        C::Other(other)
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            ) =>
        {
            "it is a CA certificate (basicConstraints CA:TRUE) presented as the server's own, \
             and it is neither in the --ca-cert file nor signed by a trusted root"
                .into()
        }
        other => format!("{other:?}"),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
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
        assert_eq!(get(&ep).unwrap().body, b"all of it");
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
        let err = send(&ep, &req).unwrap_err();
        assert!(
            matches!(err, HttpError::TooLarge(10) | HttpError::Io(_)),
            "{err}"
        );
        let ep = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789");
        assert!(matches!(send(&ep, &req), Err(HttpError::TooLarge(10))));
    }

    #[test]
    fn a_silent_server_times_out() {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint::at(ln.local_addr().unwrap());
        let err = send(&ep, &Request::get("/", Duration::from_millis(300))).unwrap_err();
        assert!(matches!(err, HttpError::Timeout), "{err}");
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
    fn a_plain_server_is_not_mistaken_for_tls() {
        let ep = raw_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        let ep = Endpoint::https(ep.addr, Tls::insecure());
        let err = get(&ep).unwrap_err();
        assert!(matches!(err, HttpError::Tls(_)), "{err}");
    }

    #[test]
    fn url_parts_take_apart_what_users_write_without_io() {
        let u = UrlParts::parse("https://pprof.internal:6060/debug/pprof/?debug=1").unwrap();
        assert_eq!(
            u,
            UrlParts {
                https: true,
                host: "pprof.internal".into(),
                port: 6060,
                authority: "pprof.internal:6060".into(),
                path: "/debug/pprof/?debug=1".into(),
            }
        );
        // A name that no resolver knows is still taken apart: resolving is Endpoint's.
        assert_eq!(
            UrlParts::parse("http://no.such.host.invalid").unwrap().port,
            80
        );
        for hostile in [
            "",
            "http://[",
            "http://[::1",
            "http://:80/",
            "http://%00/",
            "http://a:-1/",
            "http://a:1:2/",
            "http://a\u{0}b/",
            "javascript:alert(1)",
            "http://a/\u{7f}",
            // Found by the url fuzz target: brackets with no address gave an empty host.
            "https://[]",
            "http://[example.com]/",
        ] {
            let refused = UrlParts::parse(hostile).expect_err(hostile);
            assert!(
                refused.contains(hostile),
                "{refused:?} does not quote {hostile:?}"
            );
        }
    }

    #[test]
    fn parses_urls() {
        let tls = Tls::default();
        let e = Endpoint::parse("http://127.0.0.1:6060/debug/pprof/", &tls).unwrap();
        assert_eq!(e.addr, "127.0.0.1:6060".parse().unwrap());
        assert_eq!(e.path, "/debug/pprof/");
        assert!(!e.is_tls());
        let e = Endpoint::parse("http://[::1]:7/", &tls).unwrap();
        assert_eq!(e.addr, "[::1]:7".parse().unwrap());
        assert_eq!(e.host_name(), "::1");
        let e = Endpoint::parse("https://127.0.0.1/x?y=1", &tls).unwrap();
        assert_eq!((e.addr.port(), e.path.as_str()), (443, "/x?y=1"));
        assert!(e.is_tls());
        assert_eq!(e.url("/a"), "https://127.0.0.1/a");
        assert_eq!(e.host_name(), "127.0.0.1");
        let e = Endpoint::parse("http://127.0.0.1:9?q", &tls).unwrap();
        assert_eq!(e.path, "/?q");
        assert_eq!(
            Endpoint::parse("http://127.0.0.1", &tls)
                .unwrap()
                .addr
                .port(),
            80
        );
        assert!(Endpoint::parse("127.0.0.1:6060", &tls).is_err());
        assert!(Endpoint::parse("http://::1:80/", &tls).is_err());
        assert!(Endpoint::parse("http://u:p@127.0.0.1/", &tls).is_err());
        for bad in [
            "http://",
            "http:///x",
            "ftp://127.0.0.1/",
            "http://127.0.0.1:99999/",
            "http://[::1/",
            "http://127.0.0.1:x/",
        ] {
            assert!(Endpoint::parse(bad, &tls).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a certificate\n").unwrap();
        let opts = TlsOptions {
            ca_cert: Some(f),
            insecure: false,
        };
        assert!(Tls::new(&opts).unwrap_err().contains("no PEM certificate"));
        let missing = TlsOptions {
            ca_cert: Some(dir.path().join("nope.pem")),
            insecure: false,
        };
        assert!(Tls::new(&missing).is_err());
    }

    /// Runs openssl (the reference tool that makes most certificates) in `dir`.
    fn openssl(dir: &Path, args: &[&str]) {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `openssl req -x509` as the user ran it: an EC P-256 self-signed certificate for
    /// 127.0.0.1, which openssl marks `basicConstraints CA:TRUE` by default.
    fn self_signed(dir: &Path, name: &str) -> PathBuf {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-days",
                "2",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
        dir.join(format!("{name}.pem"))
    }

    fn tls_with(ca_cert: &Path) -> Tls {
        Tls::new(&TlsOptions {
            ca_cert: Some(ca_cert.to_path_buf()),
            insecure: false,
        })
        .unwrap()
    }

    fn der(pem: &Path) -> CertificateDer<'static> {
        read_cas(pem).unwrap().remove(0)
    }

    fn verify(
        tls: &Tls,
        cert: &CertificateDer<'_>,
        name: &str,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let name = ServerName::try_from(name.to_string()).unwrap();
        tls.verifier(&provider)
            .unwrap()
            .verify_server_cert(cert, &[], &name, &[], now)
            .map(|_| ())
    }

    fn days_from_now(days: u64) -> UnixTime {
        UnixTime::since_unix_epoch(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                + Duration::from_secs(days * 86_400),
        )
    }

    #[test]
    fn openssls_ca_true_certificate_is_trusted_when_pinned_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let pem = self_signed(dir.path(), "server");
        let text = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&pem)
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&text.stdout).contains("CA:TRUE"));
        let cert = der(&pem);
        let pinned = tls_with(&pem);
        assert_eq!(verify(&pinned, &cert, "127.0.0.1", UnixTime::now()), Ok(()));
        assert_eq!(pinned.trust_of(Some(&cert)), Trust::Pinned);
        // Pinning is not a blank cheque: the name and the dates still count.
        let wrong_name = verify(&pinned, &cert, "example.com", UnixTime::now()).unwrap_err();
        assert!(
            matches!(
                wrong_name,
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName
                        | rustls::CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{wrong_name:?}"
        );
        // Expired: webpki checks the dates before the CA flag, which the pin relies on.
        let expired = verify(&pinned, &cert, "127.0.0.1", days_from_now(30)).unwrap_err();
        assert!(
            matches!(
                expired,
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Expired
                        | rustls::CertificateError::ExpiredContext { .. }
                )
            ),
            "{expired:?}"
        );
        // Without the pin, webpki alone refuses it as a CA used as a server's certificate,
        // and the words say so.
        let unpinned = verify(&Tls::default(), &cert, "127.0.0.1", UnixTime::now()).unwrap_err();
        let rustls::Error::InvalidCertificate(c) = &unpinned else {
            panic!("{unpinned:?}")
        };
        assert!(
            describe_cert(c).contains("CA certificate"),
            "{}",
            describe_cert(c)
        );
        // Another certificate in the file is no pin for this one.
        let other = self_signed(dir.path(), "other");
        assert!(verify(&tls_with(&other), &cert, "127.0.0.1", UnixTime::now()).is_err());
        // --insecure accepts it whatever its name or dates, and says so.
        assert_eq!(
            verify(&Tls::insecure(), &cert, "example.com", days_from_now(30)),
            Ok(())
        );
        assert_eq!(Tls::insecure().trust_of(Some(&cert)), Trust::Insecure);
    }

    #[test]
    fn a_leaf_signed_by_a_private_ca_is_verified_by_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = self_signed(d, "ca");
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
            ],
        );
        std::fs::write(
            d.join("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "leaf.ext",
                "-out",
                "leaf.pem",
            ],
        );
        let leaf = der(&d.join("leaf.pem"));
        let by_ca = tls_with(&ca);
        assert_eq!(verify(&by_ca, &leaf, "127.0.0.1", UnixTime::now()), Ok(()));
        assert_eq!(by_ca.trust_of(Some(&leaf)), Trust::Ca);
        // Same subject, another key: the name matches an anchor, the signature does not.
        let unrelated = self_signed(d, "unrelated");
        let err = verify(&tls_with(&unrelated), &leaf, "127.0.0.1", UnixTime::now()).unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::BadSignature
                        | rustls::CertificateError::UnknownIssuer
                )
            ),
            "{err:?}"
        );
    }
}
