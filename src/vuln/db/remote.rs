//! The v1 HTTP API (`https://vuln.go.dev`), through goready's one HTTP stack, with a cache.
//!
//! Like govulncheck, the gzipped files are asked for (`index/db.json.gz`, …); a server that
//! answers 404 to `index/db.json.gz` is asked for the plain `.json` files from then on (a
//! plain static folder served over HTTP). Opening costs one request when the database has
//! not changed since the cached copy (`index/db.json`'s `modified` is the key), two when it
//! has (`index/modules.json` too). Entries are then fetched only for the ids asked for,
//! over a few keep-alive connections, and kept in the cache under the `modified` time the
//! index gives each of them, so a new database version refetches only entries that changed.
//!
//! Cache layout, one folder per database URL:
//! `<cache>/<host-and-path>-<hash>/{db.json, modules.json, ID/<id>.<key>.json}`. Files are
//! written whole then renamed, so a crash or a parallel run never leaves half a file; the
//! index pair is trusted only when `db.json` (written last) names the `modified` just served.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ErrorKind, ModuleMap, OpenOptions, bad, entry_path, index, maybe_gunzip};
use crate::cancel::Cancel;
use crate::http::{self, Conn, Endpoint, HttpError, Request, Response};
use crate::progress::{Say, Sink};
use crate::step::Step;
use crate::vuln::osv::{DbIndex, Entry};

pub(super) struct Remote {
    url: String,
    /// None when the host could not even be resolved (only a stale cache is read then).
    endpoint: Option<Endpoint>,
    /// `.json.gz` is served (else `.json`).
    gz: bool,
    /// The database's `modified`, for entries the index gives no time.
    db_modified: String,
    cache: Option<PathBuf>,
    /// Set when the database was unreachable and the cached copy stands in: why.
    offline: Option<String>,
}

/// What opening a remote database found.
pub(super) struct OpenedRemote {
    pub(super) remote: Remote,
    pub(super) index: ModuleMap,
    pub(super) modified: String,
    /// The index came from the cache.
    pub(super) from_cache: bool,
}

impl Remote {
    pub(super) fn open(
        url: &str,
        opts: &OpenOptions,
        sink: &dyn Sink,
    ) -> Result<OpenedRemote, ErrorKind> {
        let say = Say::new(Step::Vuln, sink);
        let cap = opts.limits.index_bytes;
        let cache = opts.cache.dir().map(|d| d.join(slug(url)));
        let (mut r, db) = match Remote::connect(url, opts) {
            Ok(found) => found,
            Err(ErrorKind::Unreachable(why)) if opts.stale_if_unreachable => {
                let Some((db, index)) = cache.as_deref().and_then(|d| cached_pair(d, cap)) else {
                    return Err(ErrorKind::Unreachable(format!(
                        "{why} (and no cached copy to fall back on)"
                    )));
                };
                say.warn(format!(
                    "vulnerability database {url} is unreachable ({why}); using the cached \
                     copy of {}",
                    db.modified
                ));
                let remote = Remote {
                    url: url.to_string(),
                    endpoint: None,
                    gz: true,
                    db_modified: db.modified.clone(),
                    cache,
                    offline: Some(why),
                };
                return Ok(OpenedRemote {
                    remote,
                    index,
                    modified: db.modified,
                    from_cache: true,
                });
            }
            Err(e) => return Err(e),
        };
        r.cache = cache;

        if let Some(dir) = &r.cache
            && let Some(map) = cached_index(dir, &db.modified, cap)
        {
            say.info(format!(
                "vulnerability database {url} unchanged since {}: index from the cache",
                db.modified
            ));
            return Ok(OpenedRemote {
                remote: r,
                index: map,
                modified: db.modified,
                from_cache: true,
            });
        }
        say.info(format!(
            "fetching the vulnerability database index from {url} (modified {})",
            db.modified
        ));
        let modules = r
            .get_one("index/modules.json", cap, opts)?
            .ok_or_else(|| ErrorKind::NotADatabase("index/modules.json: HTTP status 404".into()))?;
        let map = index::parse_modules(&modules).map_err(|e| bad("index/modules.json", e))?;
        if let Some(dir) = &r.cache {
            let saved = std::fs::create_dir_all(dir.join("ID"))
                .and_then(|_| write_atomic(dir, "modules.json", &modules))
                .and_then(|_| {
                    let db_json = serde_json::to_vec(&db).unwrap_or_default();
                    write_atomic(dir, "db.json", &db_json)
                });
            if let Err(e) = saved {
                say.warn(format!(
                    "cannot write the vulnerability database cache {}: {e}; going on without it",
                    dir.display()
                ));
                r.cache = None;
            }
        }
        Ok(OpenedRemote {
            remote: r,
            index: map,
            modified: db.modified,
            from_cache: false,
        })
    }

    /// Reaches the database: its `index/db.json`, and whether it serves gzip.
    fn connect(url: &str, opts: &OpenOptions) -> Result<(Remote, DbIndex), ErrorKind> {
        let endpoint = Endpoint::parse(url, &opts.tls).map_err(|e| {
            // Endpoint::parse resolves the host too; a name that does not resolve is the
            // offline case, not a bad --db value.
            if e.contains("resolve") {
                ErrorKind::Unreachable(e)
            } else {
                ErrorKind::BadSource(e)
            }
        })?;
        let mut r = Remote {
            url: url.to_string(),
            endpoint: Some(endpoint),
            gz: true,
            db_modified: String::new(),
            cache: None,
            offline: None,
        };
        let cap = opts.limits.index_bytes;
        let db = match r.get_one("index/db.json", cap, opts)? {
            Some(body) => body,
            None => {
                r.gz = false;
                r.get_one("index/db.json", cap, opts)?.ok_or_else(|| {
                    ErrorKind::NotADatabase(format!(
                        "{} answers 404 to index/db.json.gz and index/db.json",
                        r.url
                    ))
                })?
            }
        };
        let db = index::parse_db_index(&db)
            .map_err(|e| ErrorKind::NotADatabase(format!("index/db.json: {e}")))?;
        r.db_modified = db.modified.clone();
        Ok((r, db))
    }

    /// Why the cached copy stands in for the database, when it does.
    pub(super) fn offline(&self) -> Option<&str> {
        self.offline.as_deref()
    }

    /// The file name served for a v1 path (`index/db.json` → `index/db.json.gz`).
    fn served(&self, rel: &str) -> String {
        if self.gz {
            format!("{rel}.gz")
        } else {
            rel.to_string()
        }
    }

    fn target(&self, rel: &str) -> String {
        let base = self
            .endpoint
            .as_ref()
            .map(|e| e.path.as_str())
            .unwrap_or("");
        format!("{}/{}", base.trim_end_matches('/'), self.served(rel))
    }

    /// The endpoint, or why there is none (the stale-cache mode).
    fn endpoint(&self, rel: &str) -> Result<&Endpoint, ErrorKind> {
        self.endpoint.as_ref().ok_or_else(|| {
            ErrorKind::Unreachable(format!(
                "{} is not in the cache, and {}",
                self.served(rel),
                self.offline
                    .as_deref()
                    .unwrap_or("the database cannot be reached")
            ))
        })
    }

    /// GETs one file: Some(bytes, inflated) on 200, None on 404.
    fn get_one(
        &self,
        rel: &str,
        cap: u64,
        opts: &OpenOptions,
    ) -> Result<Option<Vec<u8>>, ErrorKind> {
        opts.cancel.check().map_err(ErrorKind::Stopped)?;
        let target = self.target(rel);
        let mut req = Request::get(&target, opts.timeout);
        req.max_body = usize::try_from(cap).unwrap_or(usize::MAX);
        let endpoint = self.endpoint(rel)?;
        let resp = http::send(endpoint, &req).map_err(|e| self.http_error(rel, e, cap))?;
        self.body(rel, resp, cap)
    }

    fn body(&self, rel: &str, resp: Response, cap: u64) -> Result<Option<Vec<u8>>, ErrorKind> {
        match resp.status {
            200 => maybe_gunzip(resp.body, &self.served(rel), cap).map(Some),
            404 => Ok(None),
            status => Err(ErrorKind::Status {
                path: self.served(rel),
                status,
            }),
        }
    }

    fn http_error(&self, rel: &str, e: HttpError, cap: u64) -> ErrorKind {
        match e {
            HttpError::TooLarge(_) => ErrorKind::TooLarge {
                path: self.served(rel),
                cap,
            },
            HttpError::Protocol(m) => bad(&self.served(rel), format!("not an HTTP response: {m}")),
            other => ErrorKind::Unreachable(format!("{}/{}: {other}", self.url, self.served(rel))),
        }
    }

    pub(super) fn entries(
        &self,
        ids: &[String],
        map: &ModuleMap,
        opts: &OpenOptions,
    ) -> Result<Vec<Entry>, ErrorKind> {
        let cap = opts.limits.entry_bytes;
        let mut out: Vec<Option<Entry>> = vec![None; ids.len()];
        let mut wanted: Vec<(usize, String)> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let cached = self
                .cache
                .as_deref()
                .and_then(|dir| cached_entry(dir, id, &self.entry_key(map, id), cap));
            match cached {
                Some(e) => out[i] = Some(e),
                None => wanted.push((i, self.target(&entry_path(id)))),
            }
        }
        if let Some((first, _)) = wanted.first() {
            let endpoint = self.endpoint(&entry_path(&ids[*first]))?;
            let results = fetch_all(endpoint, wanted, opts)?;
            for (i, result) in results {
                let id = &ids[i];
                let rel = entry_path(id);
                let resp = result.map_err(|e| self.http_error(&rel, e, cap))?;
                let bytes = self
                    .body(&rel, resp, cap)?
                    .ok_or_else(|| ErrorKind::Missing {
                        path: self.served(&rel),
                    })?;
                let entry = index::parse_entry(&bytes, id).map_err(|e| bad(&rel, e))?;
                if let Some(dir) = &self.cache {
                    // A failed cache write costs a refetch next time, nothing more.
                    let _ = store_entry(dir, id, &self.entry_key(map, id), &bytes);
                }
                out[i] = Some(entry);
            }
        }
        opts.cancel.check().map_err(ErrorKind::Stopped)?;
        out.into_iter()
            .zip(ids)
            .map(|(e, id)| {
                e.ok_or_else(|| ErrorKind::Missing {
                    path: self.served(&entry_path(id)),
                })
            })
            .collect()
    }

    /// What a cached copy of `id` must have been stored under to be current: the index's
    /// `modified` for it, or the database's when the index gives none.
    fn entry_key(&self, map: &ModuleMap, id: &str) -> String {
        let m = map.modified_of(id);
        let m = if m.is_empty() {
            format!("db {}", self.db_modified)
        } else {
            m.to_string()
        };
        format!("{:016x}", fnv1a(m.as_bytes()))
    }
}

/// One fetched file: its place in the request list, and what came back.
type Fetched = (usize, Result<Response, HttpError>);

/// Fetches `targets` over up to `opts.connections` keep-alive connections; each result
/// keeps its index. A connection the server closed is reopened, and a request that failed
/// on a reused connection is sent once more on a fresh one (the server may have closed it
/// between requests).
fn fetch_all(
    ep: &Endpoint,
    targets: Vec<(usize, String)>,
    opts: &OpenOptions,
) -> Result<Vec<Fetched>, ErrorKind> {
    let workers = opts.connections.clamp(1, 16).min(targets.len());
    let queue = Arc::new(Mutex::new(VecDeque::from(targets)));
    let cap = usize::try_from(opts.limits.entry_bytes).unwrap_or(usize::MAX);
    let timeout = opts.timeout;
    let results = http::block_on(async {
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let ep = ep.clone();
            let queue = queue.clone();
            let cancel = opts.cancel.clone();
            handles.push(tokio::spawn(worker(ep, queue, timeout, cap, cancel)));
        }
        let mut all = Vec::new();
        for h in handles {
            all.append(&mut h.await.map_err(|e| e.to_string())?);
        }
        Ok::<_, String>(all)
    })
    .map_err(|e| ErrorKind::Unreachable(e.to_string()))?
    .map_err(|e| ErrorKind::Io {
        path: "(fetching entries)".into(),
        why: e,
    })?;
    opts.cancel.check().map_err(ErrorKind::Stopped)?;
    Ok(results)
}

async fn worker(
    ep: Endpoint,
    queue: Arc<Mutex<VecDeque<(usize, String)>>>,
    timeout: Duration,
    cap: usize,
    cancel: Cancel,
) -> Vec<Fetched> {
    let mut conn: Option<Conn> = None;
    let mut out = Vec::new();
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        let Some((i, target)) = next else { break };
        let mut req = Request::get(&target, timeout);
        req.max_body = cap;
        let mut result = None;
        for attempt in 0..2 {
            let deadline = tokio::time::Instant::now() + timeout;
            let reused = conn.as_ref().is_some_and(Conn::is_open);
            if !reused {
                conn = match Conn::open(&ep, deadline).await {
                    Ok(c) => Some(c),
                    Err(e) => {
                        result = Some(Err(e));
                        break;
                    }
                };
            }
            let Some(c) = conn.as_mut() else { break };
            match c.exchange(&req, deadline).await {
                Ok(resp) => {
                    result = Some(Ok(resp));
                    break;
                }
                Err(e) => {
                    conn = None;
                    let retry = reused && attempt == 0 && matches!(e, HttpError::Io(_));
                    result = Some(Err(e));
                    if !retry {
                        break;
                    }
                }
            }
        }
        if let Some(r) = result {
            let failed = r.is_err();
            out.push((i, r));
            if failed {
                // One failure (a timeout, a refused connection) answers for the whole
                // fetch: the caller reports it; the other workers drain nothing more.
                queue.lock().unwrap_or_else(|e| e.into_inner()).clear();
                break;
            }
        }
    }
    out
}

/// The cached index pair, whatever its date (the stale-cache mode).
fn cached_pair(dir: &Path, cap: u64) -> Option<(DbIndex, ModuleMap)> {
    let db = super::read_capped(&dir.join("db.json"), "db.json", cap).ok()?;
    let db = index::parse_db_index(&db).ok()?;
    let modules = super::read_capped(&dir.join("modules.json"), "modules.json", cap).ok()?;
    Some((db, index::parse_modules(&modules).ok()?))
}

/// The cached index when `db.json` in `dir` names `modified` and `modules.json` reads.
fn cached_index(dir: &Path, modified: &str, cap: u64) -> Option<ModuleMap> {
    let db = super::read_capped(&dir.join("db.json"), "db.json", cap).ok()?;
    if index::parse_db_index(&db).ok()?.modified != modified {
        return None;
    }
    let modules = super::read_capped(&dir.join("modules.json"), "modules.json", cap).ok()?;
    index::parse_modules(&modules).ok()
}

fn cached_entry(dir: &Path, id: &str, key: &str, cap: u64) -> Option<Entry> {
    let name = format!("{id}.{key}.json");
    let bytes = super::read_capped(&dir.join("ID").join(&name), &name, cap).ok()?;
    index::parse_entry(&bytes, id).ok()
}

/// Keeps `bytes` as the current copy of `id` and drops older copies of it.
fn store_entry(dir: &Path, id: &str, key: &str, bytes: &[u8]) -> std::io::Result<()> {
    let ids = dir.join("ID");
    std::fs::create_dir_all(&ids)?;
    let name = format!("{id}.{key}.json");
    write_atomic(&ids, &name, bytes)?;
    let stale_prefix = format!("{id}.");
    for item in std::fs::read_dir(&ids)?.flatten() {
        let n = item.file_name();
        let n = n.to_string_lossy();
        // `id.` then 16 hex digits then `.json`: only that id's copies, not GO-1's `GO-10.…`.
        let is_copy = n.strip_prefix(&stale_prefix).is_some_and(|rest| {
            rest.len() == 21
                && rest.ends_with(".json")
                && rest[..16].bytes().all(|b| b.is_ascii_hexdigit())
        });
        if is_copy && n != name {
            let _ = std::fs::remove_file(item.path());
        }
    }
    Ok(())
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
}

/// The cache folder's name for a database URL: readable, and unique by a hash of the whole
/// URL (FNV-1a: stable across Rust versions, unlike the standard hasher).
fn slug(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let mut s: String = rest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    s.push('-');
    s.push_str(&format!("{:016x}", fnv1a(url.as_bytes())));
    s
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_folders_are_readable_and_distinct() {
        let a = slug("https://vuln.go.dev");
        assert!(a.starts_with("vuln.go.dev-"), "{a}");
        assert_ne!(a, slug("https://vuln.go.dev/mirror"));
        assert!(!slug("http://127.0.0.1:8080/../x").contains('/'));
        // FNV-1a's published test vector: "a" -> af63dc4c8601ec8c.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn storing_an_entry_drops_only_its_own_older_copies() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = format!("{:016x}", 1);
        let k2 = format!("{:016x}", 2);
        store_entry(dir.path(), "GO-1", &k1, b"{}").unwrap();
        store_entry(dir.path(), "GO-10", &k1, b"{}").unwrap();
        store_entry(dir.path(), "GO-1", &k2, b"{}").unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join("ID"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [format!("GO-1.{k2}.json"), format!("GO-10.{k1}.json")]
        );
    }
}
