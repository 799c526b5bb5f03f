//! The Go vulnerability database, read from wherever a team keeps it: the v1 HTTP API
//! (`https://vuln.go.dev` by default, through [`crate::http`], with a cache keyed by the
//! database's `modified` time), a local v1 directory (what `govulncheck -db file:///DIR`
//! reads), a flat folder of OSV files, or the bulk `vulndb.zip` read in place.
//!
//! Opening reads the index only (`index/db.json`, `index/modules.json`); [`Database::entries_for`]
//! then reads just the entries that name the modules asked for, so memory follows what the
//! binaries contain, not the size of the database. Every failure is a [`DbError`] naming the
//! source and what went wrong; hostile bytes (bad JSON, gzip or zip bombs, ids that try to
//! leave the folder, a server that hangs) are errors, never panics. docs/vuln.md describes
//! the sources and the cache for users.

mod index;
mod local;
mod remote;
mod zipdb;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use index::{
    GunzipError, ModuleMap, gunzip, parse_db_index, parse_entry, parse_entry_head, parse_modules,
    rfc3339_to_unix, valid_id,
};

use crate::cancel::{Cancel, Stopped};
use crate::http::Tls;
use crate::progress::Sink;
use crate::vuln::osv::Entry;

/// The database goready reads when none is given: the Go team's, as govulncheck does.
pub const DEFAULT_URL: &str = "https://vuln.go.dev";

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The v1 HTTP API at this base URL (`https://vuln.go.dev`; `http://` for local servers).
    Url(String),
    /// A folder: a v1 directory (it has `index/db.json`) or a flat folder of OSV `.json` files.
    Dir(PathBuf),
    /// The bulk download, `vulndb.zip` (the v1 layout inside), read without unpacking.
    Zip(PathBuf),
}

impl Source {
    /// Reads a `--db` value: `https://…` / `http://…`, `file:///PATH`, or a path. A path that
    /// is an existing file, or ends in `.zip`, is a zip; anything else a folder (whether it
    /// exists is found out when it is opened).
    pub fn parse(text: &str) -> Result<Source, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty database location".into());
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            let url = text.trim_end_matches('/');
            if url.to_ascii_lowercase().ends_with(".zip") {
                // The v1 API is a folder of files, not one archive.
                return Err(format!(
                    "{text}: a zip is read from disk; download it and pass its path \
                     (or pass the database's base URL, like https://vuln.go.dev)"
                ));
            }
            return Ok(Source::Url(url.to_string()));
        }
        let path = if let Some(rest) = text.strip_prefix("file://") {
            // file:///abs/path; file://localhost/abs/path is the same place.
            let rest = rest.strip_prefix("localhost").unwrap_or(rest);
            if !rest.starts_with('/') {
                return Err(format!(
                    "{text}: a file URL needs an absolute path, like file:///srv/vulndb"
                ));
            }
            PathBuf::from(percent_decode(rest).ok_or_else(|| format!("{text}: bad %-escape"))?)
        } else if text.contains("://") {
            return Err(format!(
                "{text}: expected https://…, http://…, file:///…, a folder or a .zip file"
            ));
        } else {
            PathBuf::from(text)
        };
        let is_file = path.metadata().map(|m| m.is_file()).unwrap_or(false);
        let zip_name = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        Ok(if is_file || zip_name {
            Source::Zip(path)
        } else {
            Source::Dir(path)
        })
    }

    /// How the source is named to users (`https://vuln.go.dev`, a path).
    pub fn display(&self) -> String {
        match self {
            Source::Url(u) => u.trim_end_matches('/').to_string(),
            Source::Dir(p) | Source::Zip(p) => p.display().to_string(),
        }
    }
}

impl Default for Source {
    fn default() -> Self {
        Source::Url(DEFAULT_URL.to_string())
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Where fetched databases are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cache {
    /// `$XDG_CACHE_HOME/goready/vulndb`, else `~/.cache/goready/vulndb`; none when neither
    /// variable is set.
    #[default]
    Default,
    /// This folder (one sub-folder per database URL is made in it).
    At(PathBuf),
    /// No cache: every run fetches the index and the entries it needs.
    Off,
}

impl Cache {
    /// The folder [`Cache::Default`] stands for here, if any.
    pub fn default_dir() -> Option<PathBuf> {
        let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            Some(x) => PathBuf::from(x),
            None => {
                PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".cache")
            }
        };
        Some(base.join("goready").join("vulndb"))
    }

    fn dir(&self) -> Option<PathBuf> {
        match self {
            Cache::Default => Cache::default_dir(),
            Cache::At(p) => Some(p.clone()),
            Cache::Off => None,
        }
    }
}

/// Caps on what one file of the database may be, so hostile or broken bytes cost bounded
/// memory. The real database's index is about 0.5 MB and its largest entry a few dozen KB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `index/modules.json` (and `index/db.json`), after inflating.
    pub index_bytes: u64,
    /// One entry, after inflating.
    pub entry_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            index_bytes: 64 << 20,
            entry_bytes: 4 << 20,
        }
    }
}

/// How to open a database.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Where fetched databases are kept (remote sources only).
    pub cache: Cache,
    /// The deadline of each HTTP request (connect to last byte).
    pub timeout: Duration,
    /// How `https` certificates are checked.
    pub tls: Tls,
    /// How many HTTP connections fetch entries at once.
    pub connections: usize,
    /// Stops work between files and requests.
    pub cancel: Cancel,
    /// Size caps.
    pub limits: Limits,
    /// When the remote database cannot be reached, read the cached copy instead (with a
    /// warning, and [`DbInfo::stale`] set); entries not in the cache are then an
    /// unreachable error. Off by default: an unreachable database is an error.
    pub stale_if_unreachable: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            cache: Cache::Default,
            timeout: Duration::from_secs(30),
            tls: Tls::default(),
            connections: 6,
            cancel: Cancel::new(),
            limits: Limits::default(),
            stale_if_unreachable: false,
        }
    }
}

/// What kind of source a database was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// The v1 HTTP API.
    Http,
    /// A local v1 directory.
    V1Dir,
    /// A folder of OSV files without an index.
    Flat,
    /// `vulndb.zip`.
    Zip,
}

/// What a report says about the database it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInfo {
    /// The source as users name it: the URL, or the path as given.
    pub source: String,
    /// When the database last changed, RFC 3339 (`index/db.json`; for a flat folder, its
    /// newest entry's `modified`, empty when no entry has one).
    pub modified: String,
    /// The kind of source.
    pub kind: SourceKind,
    /// How many entries the index lists.
    pub entries: usize,
    /// How many module paths the index lists.
    pub modules: usize,
    /// Remote only: the index came from the cache, as `index/db.json` said nothing changed.
    pub index_from_cache: bool,
    /// Remote only, with [`OpenOptions::stale_if_unreachable`]: the database could not be
    /// reached and the cached copy of [`DbInfo::modified`] stands in; why it was unreachable.
    pub stale: Option<String>,
}

impl DbInfo {
    /// [`DbInfo::modified`] as seconds since the Unix epoch, for the age warning.
    pub fn modified_unix(&self) -> Option<i64> {
        rfc3339_to_unix(&self.modified)
    }
}

/// What went wrong, without the source (the [`DbError`] around it names that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The location itself is unusable (not a URL goready speaks, a missing path).
    BadSource(String),
    /// Nothing answered in time (connection refused, unknown host, timeout, TLS failure).
    Unreachable(String),
    /// It answered, but is not a Go vulnerability database (no `index/db.json`, not a zip,
    /// no OSV files).
    NotADatabase(String),
    /// A request for `path` got this HTTP status.
    Status {
        /// The file asked for (`index/modules.json.gz`).
        path: String,
        /// The status code.
        status: u16,
    },
    /// The index names an entry the database does not hold.
    Missing {
        /// The file that is not there (`ID/GO-2022-1059.json`).
        path: String,
    },
    /// A file is not what it should be (bad JSON, bad gzip, an entry with another id).
    Bad {
        /// The file (`ID/GO-2022-1059.json`).
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// A file is (or inflates to) more than the cap.
    TooLarge {
        /// The file.
        path: String,
        /// The cap, in bytes.
        cap: u64,
    },
    /// Reading a local file failed.
    Io {
        /// The file.
        path: String,
        /// The system's words.
        why: String,
    },
    /// The cancel token stopped the work.
    Stopped(Stopped),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::BadSource(m) => f.write_str(m),
            ErrorKind::Unreachable(m) => write!(f, "unreachable: {m}"),
            ErrorKind::NotADatabase(m) => write!(f, "not a Go vulnerability database: {m}"),
            ErrorKind::Status { path, status } => write!(f, "{path}: HTTP status {status}"),
            ErrorKind::Missing { path } => {
                write!(f, "{path} is missing, though the index names it")
            }
            ErrorKind::Bad { path, why } => write!(f, "{path}: {why}"),
            ErrorKind::TooLarge { path, cap } => {
                write!(f, "{path}: larger than the {cap}-byte cap")
            }
            ErrorKind::Io { path, why } => write!(f, "{path}: {why}"),
            ErrorKind::Stopped(s) => write!(f, "{s}"),
        }
    }
}

/// A database that could not be read: which one, and what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    /// The source as users name it.
    pub source: String,
    /// What failed.
    pub kind: ErrorKind,
}

impl DbError {
    fn new(source: &str, kind: ErrorKind) -> DbError {
        DbError {
            source: source.to_string(),
            kind,
        }
    }

    /// True when the database could not be reached at all (the offline case `build` and
    /// `check` turn into a skipped check).
    pub fn is_unreachable(&self) -> bool {
        matches!(self.kind, ErrorKind::Unreachable(_))
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vulnerability database {}: {}", self.source, self.kind)
    }
}

impl std::error::Error for DbError {}

/// Where the entries are read from once the index is known.
enum Backend {
    Dir(local::V1Dir),
    Flat(local::Flat),
    Zip(zipdb::ZipDb),
    Remote(remote::Remote),
}

/// An opened database: its index in memory, its entries read on demand.
pub struct Database {
    info: DbInfo,
    index: ModuleMap,
    backend: Backend,
    opts: OpenOptions,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("info", &self.info)
            .finish()
    }
}

impl Database {
    /// Opens `source`: reads (or fetches) its index, nothing else yet. Progress notes go to
    /// `sink` (fetching, cache hits, a stale cache).
    pub fn open(source: &Source, opts: &OpenOptions, sink: &dyn Sink) -> Result<Database, DbError> {
        let name = source.display();
        let stop = |s: Stopped| DbError::new(&name, ErrorKind::Stopped(s));
        opts.cancel.check().map_err(stop)?;
        let mut stale = None;
        let (backend, index, modified, kind, from_cache) = match source {
            Source::Url(_) => {
                let o =
                    remote::Remote::open(&name, opts, sink).map_err(|k| DbError::new(&name, k))?;
                stale = o.remote.offline().map(String::from);
                let backend = Backend::Remote(o.remote);
                (backend, o.index, o.modified, SourceKind::Http, o.from_cache)
            }
            Source::Dir(dir) => open_dir(dir, opts).map_err(|k| DbError::new(&name, k))?,
            Source::Zip(path) => {
                let file = std::fs::File::open(path).map_err(|e| {
                    DbError::new(&name, ErrorKind::BadSource(format!("cannot open it: {e}")))
                })?;
                let (z, index, modified) = zipdb::ZipDb::open(Box::new(file), &opts.limits)
                    .map_err(|k| DbError::new(&name, k))?;
                (Backend::Zip(z), index, modified, SourceKind::Zip, false)
            }
        };
        Ok(Database {
            info: DbInfo {
                source: name,
                modified,
                kind,
                entries: index.entry_count(),
                modules: index.module_count(),
                index_from_cache: from_cache,
                stale,
            },
            index,
            backend,
            opts: opts.clone(),
        })
    }

    /// Opens a zip held in memory (the fuzz target's way in; `name` stands for the source).
    pub fn open_zip_bytes(
        name: &str,
        bytes: Vec<u8>,
        opts: &OpenOptions,
    ) -> Result<Database, DbError> {
        let (z, index, modified) =
            zipdb::ZipDb::open(Box::new(std::io::Cursor::new(bytes)), &opts.limits)
                .map_err(|k| DbError::new(name, k))?;
        Ok(Database {
            info: DbInfo {
                source: name.to_string(),
                modified,
                kind: SourceKind::Zip,
                entries: index.entry_count(),
                modules: index.module_count(),
                index_from_cache: false,
                stale: None,
            },
            index,
            backend: Backend::Zip(z),
            opts: opts.clone(),
        })
    }

    /// What the report says about the database.
    pub fn info(&self) -> &DbInfo {
        &self.info
    }

    /// The index: which entries name which modules.
    pub fn index(&self) -> &ModuleMap {
        &self.index
    }

    /// Only the entries naming these module paths (`stdlib`, `toolchain` included), each id
    /// once, sorted by id. Entries are read (or fetched) now; withdrawn ones are returned too
    /// (matching skips them).
    pub fn entries_for(&self, modules: &[&str]) -> Result<Vec<Entry>, DbError> {
        let ids = self.index.ids_for(modules);
        let name = &self.info.source;
        let entries = match &self.backend {
            Backend::Dir(d) => d.entries(&ids, &self.opts),
            Backend::Flat(d) => d.entries(&ids, &self.opts),
            Backend::Zip(z) => z.entries(&ids, &self.opts),
            Backend::Remote(r) => r.entries(&ids, &self.index, &self.opts),
        }
        .map_err(|k| DbError::new(name, k))?;
        Ok(entries)
    }
}

type Opened = (Backend, ModuleMap, String, SourceKind, bool);

fn open_dir(dir: &Path, opts: &OpenOptions) -> Result<Opened, ErrorKind> {
    let meta = dir
        .metadata()
        .map_err(|e| ErrorKind::BadSource(format!("cannot read it: {e}")))?;
    if !meta.is_dir() {
        return Err(ErrorKind::BadSource(
            "not a folder (a zip file should end in .zip)".into(),
        ));
    }
    if local::V1Dir::is_v1(dir) {
        let (d, index, modified) = local::V1Dir::open(dir, &opts.limits)?;
        Ok((Backend::Dir(d), index, modified, SourceKind::V1Dir, false))
    } else {
        let (d, index, modified) = local::Flat::open(dir, opts)?;
        Ok((Backend::Flat(d), index, modified, SourceKind::Flat, false))
    }
}

/// Reads a local file through a cap: bytes past it are never read into memory.
fn read_capped(path: &Path, rel: &str, cap: u64) -> Result<Vec<u8>, ErrorKind> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| io_kind(rel, e))?;
    let mut out = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| io_kind(rel, e))?;
    if out.len() as u64 > cap {
        return Err(ErrorKind::TooLarge {
            path: rel.to_string(),
            cap,
        });
    }
    Ok(out)
}

fn io_kind(rel: &str, e: std::io::Error) -> ErrorKind {
    if e.kind() == std::io::ErrorKind::NotFound {
        ErrorKind::Missing {
            path: rel.to_string(),
        }
    } else {
        ErrorKind::Io {
            path: rel.to_string(),
            why: e.to_string(),
        }
    }
}

/// Inflates `bytes` when they are gzip (whatever the file was called), else returns them.
fn maybe_gunzip(bytes: Vec<u8>, rel: &str, cap: u64) -> Result<Vec<u8>, ErrorKind> {
    if !index::is_gzip(&bytes) {
        return Ok(bytes);
    }
    gunzip(&bytes, cap).map_err(|e| match e {
        GunzipError::TooLarge(cap) => ErrorKind::TooLarge {
            path: rel.to_string(),
            cap,
        },
        GunzipError::Bad(why) => ErrorKind::Bad {
            path: rel.to_string(),
            why: format!("bad gzip: {why}"),
        },
    })
}

fn bad(rel: &str, why: impl Into<String>) -> ErrorKind {
    ErrorKind::Bad {
        path: rel.to_string(),
        why: why.into(),
    }
}

/// The entry path of an id, as the v1 layout names it.
/// The entries `ids`, each read through `read` (a member's path and its size cap) and parsed:
/// what a local folder and a zip share.
fn read_entries(
    ids: &[String],
    opts: &OpenOptions,
    read: impl Fn(&str, u64) -> Result<Vec<u8>, ErrorKind>,
) -> Result<Vec<Entry>, ErrorKind> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        opts.cancel.check().map_err(ErrorKind::Stopped)?;
        let rel = entry_path(id);
        let bytes = read(&rel, opts.limits.entry_bytes)?;
        out.push(index::parse_entry(&bytes, id).map_err(|e| bad(&rel, e))?);
    }
    Ok(out)
}

fn entry_path(id: &str) -> String {
    format!("ID/{id}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_from_what_users_type() {
        assert_eq!(
            Source::parse("https://vuln.go.dev/").unwrap(),
            Source::Url("https://vuln.go.dev".into())
        );
        assert_eq!(
            Source::parse("file:///srv/vuln%20db").unwrap(),
            Source::Dir("/srv/vuln db".into())
        );
        assert_eq!(
            Source::parse("file:///srv/vulndb.zip").unwrap(),
            Source::Zip("/srv/vulndb.zip".into())
        );
        assert_eq!(
            Source::parse("some/dir").unwrap(),
            Source::Dir("some/dir".into())
        );
        let f = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(
            Source::parse(f.path().to_str().unwrap()).unwrap(),
            Source::Zip(f.path().into())
        );
        assert!(Source::parse("file://relative/dir").is_err());
        assert!(Source::parse("ftp://x/y").is_err());
        assert!(
            Source::parse("https://vuln.go.dev/vulndb.zip")
                .unwrap_err()
                .contains("download it")
        );
        assert!(Source::parse(" ").is_err());
        assert_eq!(Source::default().display(), DEFAULT_URL);
    }

    #[test]
    fn a_database_can_be_shared_by_the_scan_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Database>();
        shared::<DbError>();
    }

    #[test]
    fn errors_name_the_source_and_the_file() {
        let e = DbError::new(
            "/srv/vulndb.zip",
            ErrorKind::Bad {
                path: "ID/GO-2022-1059.json".into(),
                why: "expected value at line 1 column 1".into(),
            },
        );
        assert_eq!(
            e.to_string(),
            "vulnerability database /srv/vulndb.zip: ID/GO-2022-1059.json: expected value at line 1 column 1"
        );
        assert!(!e.is_unreachable());
    }
}
