//! A Go vulnerability database the tests write themselves: real advisories' facts (ids,
//! modules, ranges, packages, symbols; entries CC-BY-4.0 from the Go vulnerability database,
//! details left out) as a v1 directory (`govulncheck -db file:///DIR` reads it), a flat folder
//! of OSV files, a `vulndb.zip`, and an HTTP server on 127.0.0.1 that logs every request.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use goready::vuln::osv::Entry;
use serde_json::{Value, json};

/// The fixture database's `index/db.json` time.
pub const DB_MODIFIED: &str = "2026-08-21T20:38:00Z";

/// Five real advisories (details and references left out), and one of a module no test
/// asks for, which must never be read.
pub fn advisories() -> Vec<Value> {
    vec![
        json!({"schema_version":"1.3.1","id":"GO-2021-0068","modified":"2024-05-20T16:03:47Z","published":"2021-04-14T20:04:52Z","aliases":["CVE-2021-3115"],"summary":"Arbitrary code injection via the go command with cgo on Windows in cmd/go","affected":[{"package":{"name":"toolchain","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.14.14"},{"introduced":"1.15.0-0"},{"fixed":"1.15.7"}]}],"ecosystem_specific":{"imports":[{"path":"cmd/go","goos":["windows"]}]}}],"database_specific":{"url":"https://pkg.go.dev/vuln/GO-2021-0068","review_status":"REVIEWED"}}),
        json!({"schema_version":"1.3.1","id":"GO-2021-0113","modified":"2024-05-20T16:03:47Z","published":"2021-10-06T17:51:21Z","aliases":["CVE-2021-38561","GHSA-ppp9-7jff-5vj2"],"summary":"Out-of-bounds read in golang.org/x/text/language","affected":[{"package":{"name":"golang.org/x/text","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.7"}]}],"ecosystem_specific":{"imports":[{"path":"golang.org/x/text/language","symbols":["MatchStrings","MustParse","Parse","ParseAcceptLanguage"]}]}}],"database_specific":{"url":"https://pkg.go.dev/vuln/GO-2021-0113","review_status":"REVIEWED"}}),
        json!({"schema_version":"1.3.1","id":"GO-2022-1059","modified":"2024-05-20T16:03:47Z","published":"2022-10-11T18:16:24Z","aliases":["CVE-2022-32149","GHSA-69ch-w2m2-3vjp"],"summary":"Denial of service via crafted Accept-Language header in golang.org/x/text/language","affected":[{"package":{"name":"golang.org/x/text","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.8"}]}],"ecosystem_specific":{"imports":[{"path":"golang.org/x/text/language","symbols":["MatchStrings","ParseAcceptLanguage"]}]}}],"database_specific":{"url":"https://pkg.go.dev/vuln/GO-2022-1059","review_status":"REVIEWED"}}),
        json!({"schema_version":"1.3.1","id":"GO-2023-1840","modified":"2024-05-20T16:03:47Z","published":"2023-06-08T20:16:06Z","aliases":["CVE-2023-29403"],"summary":"Unsafe behavior in setuid/setgid binaries in runtime","affected":[{"package":{"name":"stdlib","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.19.10"},{"introduced":"1.20.0-0"},{"fixed":"1.20.5"}]}],"ecosystem_specific":{"imports":[{"path":"runtime"}]}}],"database_specific":{"url":"https://pkg.go.dev/vuln/GO-2023-1840","review_status":"REVIEWED"}}),
        json!({"schema_version":"1.3.1","id":"GO-2023-2102","modified":"2024-05-20T16:03:47Z","published":"2023-10-11T16:49:53Z","aliases":["CVE-2023-39325","GHSA-4374-p667-p6c8"],"summary":"HTTP/2 rapid reset can cause excessive work in net/http","affected":[{"package":{"name":"stdlib","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.20.10"},{"introduced":"1.21.0-0"},{"fixed":"1.21.3"}]}],"ecosystem_specific":{"imports":[{"path":"net/http","symbols":["ListenAndServe","ListenAndServeTLS","Serve","ServeTLS","Server.ListenAndServe","Server.ListenAndServeTLS","Server.Serve","Server.ServeTLS","http2Server.ServeConn","http2serverConn.processHeaders","http2serverConn.runHandler","http2serverConn.serve","http2serverConn.upgradeRequest"]}]}},{"package":{"name":"golang.org/x/net","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.17.0"}]}],"ecosystem_specific":{"imports":[{"path":"golang.org/x/net/http2","symbols":["Server.ServeConn","serverConn.processHeaders","serverConn.runHandler","serverConn.serve","serverConn.upgradeRequest"]}]}}],"database_specific":{"url":"https://pkg.go.dev/vuln/GO-2023-2102","review_status":"REVIEWED"}}),
        json!({"schema_version":"1.3.1","id":"GO-2020-0001","modified":"2024-05-20T16:03:47Z","published":"2021-04-14T20:04:52Z","aliases":["CVE-2020-36567"],"summary":"Arbitrary log line injection in github.com/gin-gonic/gin","affected":[{"package":{"name":"github.com/gin-gonic/gin","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.6.0"}]}],"ecosystem_specific":{"imports":[{"path":"github.com/gin-gonic/gin","symbols":["defaultLogFormatter"]}]}}]}),
    ]
}

pub fn ids(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The latest fixed version of an affected block, as the database's generator writes it.
pub fn latest_fixed(affected: &Value) -> Option<String> {
    let mut best: Option<String> = None;
    for r in affected["ranges"].as_array().into_iter().flatten() {
        for e in r["events"].as_array().into_iter().flatten() {
            if let Some(f) = e["fixed"].as_str() {
                // The fixtures' fixed versions only grow along the events.
                best = Some(f.to_string());
            }
        }
    }
    best
}

/// Writes a v1 database: `index/db.json`, `index/modules.json`, `index/vulns.json`,
/// `ID/<id>.json`, each also as `.json.gz`, as vuln.go.dev serves them.
pub fn write_v1(dir: &Path, entries: &[Value], modified: &str) {
    std::fs::create_dir_all(dir.join("index")).unwrap();
    std::fs::create_dir_all(dir.join("ID")).unwrap();
    let put = |rel: &str, v: &[u8]| {
        std::fs::write(dir.join(rel), v).unwrap();
        std::fs::write(dir.join(format!("{rel}.gz")), gz(v)).unwrap();
    };
    put(
        "index/db.json",
        json!({ "modified": modified }).to_string().as_bytes(),
    );
    let mut modules: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    let mut vulns = Vec::new();
    for e in entries {
        let id = e["id"].as_str().unwrap();
        for a in e["affected"].as_array().unwrap() {
            let mut v = json!({"id": id, "modified": e["modified"]});
            if let Some(f) = latest_fixed(a) {
                v["fixed"] = json!(f);
            }
            modules
                .entry(a["package"]["name"].as_str().unwrap().to_string())
                .or_default()
                .push(v);
        }
        vulns.push(json!({"id": id, "modified": e["modified"], "aliases": e["aliases"]}));
        put(&format!("ID/{id}.json"), e.to_string().as_bytes());
    }
    let modules: Vec<Value> = modules
        .into_iter()
        .map(|(path, vulns)| json!({"path": path, "vulns": vulns}))
        .collect();
    put(
        "index/modules.json",
        Value::Array(modules).to_string().as_bytes(),
    );
    put(
        "index/vulns.json",
        Value::Array(vulns).to_string().as_bytes(),
    );
}

/// Zips the `.json` files of a v1 directory (as the bulk vulndb.zip holds them), each
/// member under `prefix`.
pub fn write_zip(zip_path: &Path, v1: &Path, prefix: &str) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(zip_path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for sub in ["index", "ID"] {
        let mut names: Vec<_> = std::fs::read_dir(v1.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        for n in names {
            w.start_file(format!("{prefix}{sub}/{n}"), opts).unwrap();
            w.write_all(&std::fs::read(v1.join(sub).join(&n)).unwrap())
                .unwrap();
        }
    }
    w.finish().unwrap();
}

/// A zip of the given (name, bytes) members.
pub fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Writes each entry as `<id>.json` in a flat folder (golang/vulndb's `data/osv/`).
pub fn write_flat(dir: &Path, entries: &[Value]) {
    std::fs::create_dir_all(dir).unwrap();
    for e in entries {
        let id = e["id"].as_str().unwrap();
        std::fs::write(dir.join(format!("{id}.json")), e.to_string()).unwrap();
    }
}

/// What a test server does with a request path.
pub type Handler = dyn Fn(&str) -> (u16, Vec<u8>) + Send + Sync;

/// An HTTP server on 127.0.0.1 that logs every request path.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: Box<Handler>) -> Server {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!(
            "http://127.0.0.1:{}",
            server.server_addr().to_ip().unwrap().port()
        );
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, l) = (server.clone(), log.clone());
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let path = req.url().to_string();
                l.lock().unwrap().push(path.clone());
                let (status, body) = handler(&path);
                let _ = req.respond(tiny_http::Response::from_data(body).with_status_code(status));
            }
        });
        Server {
            url,
            log,
            server,
            thread: Some(thread),
        }
    }

    /// Serves the files of `root` (404 for anything else).
    pub fn files(root: PathBuf) -> Server {
        Server::start(Box::new(move |path| {
            let rel = path.trim_start_matches('/');
            if rel.contains("..") {
                return (400, Vec::new());
            }
            match std::fs::read(root.join(rel)) {
                Ok(b) => (200, b),
                Err(_) => (404, Vec::new()),
            }
        }))
    }

    /// The paths requested since the last call, sorted (entries are fetched in parallel).
    pub fn take(&self) -> Vec<String> {
        let mut v = std::mem::take(&mut *self.log.lock().unwrap());
        v.sort();
        v
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// govulncheck, from PATH or `$(go env GOPATH)/bin` (ci/install-tools.sh pins v1.9.0).
pub fn govulncheck() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("govulncheck"))
            .find(|c| c.is_file())
    });
    on_path.or_else(|| {
        let out = std::process::Command::new("go")
            .args(["env", "GOPATH"])
            .output()
            .ok()?;
        let gopath = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let p = Path::new(&gopath).join("bin/govulncheck");
        p.is_file().then_some(p)
    })
}
