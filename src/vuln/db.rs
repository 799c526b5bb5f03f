//! STAND-IN until the `vuln-db` branch lands (its `src/vuln/db/` replaces this file at the
//! merge): the same API, reading only a local v1 directory, so the scan can be built and
//! tested meanwhile.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use crate::cancel::Cancel;
use crate::progress::Sink;
use crate::vuln::osv::{DbIndex, Entry, ModuleIndex};

/// The database goready reads when none is given.
pub const DEFAULT_URL: &str = "https://vuln.go.dev";

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The v1 HTTP API.
    Url(String),
    /// A folder.
    Dir(PathBuf),
    /// `vulndb.zip`.
    Zip(PathBuf),
}

impl Source {
    /// Reads a `--db` value.
    pub fn parse(text: &str) -> Result<Source, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty database location".into());
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(Source::Url(text.trim_end_matches('/').to_string()));
        }
        let path = PathBuf::from(text.strip_prefix("file://").unwrap_or(text));
        if path.extension().is_some_and(|e| e == "zip") || path.is_file() {
            Ok(Source::Zip(path))
        } else {
            Ok(Source::Dir(path))
        }
    }

    /// As users name it.
    pub fn display(&self) -> String {
        match self {
            Source::Url(u) => u.clone(),
            Source::Dir(p) | Source::Zip(p) => p.display().to_string(),
        }
    }
}

/// Where fetched databases are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cache {
    /// goready's default folder.
    #[default]
    Default,
    /// This folder.
    At(PathBuf),
    /// None.
    Off,
}

/// How to open a database.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Cache.
    pub cache: Cache,
    /// Cancel.
    pub cancel: Cancel,
}

/// What a report says about the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInfo {
    /// The source as users name it.
    pub source: String,
    /// RFC 3339.
    pub modified: String,
    /// Entries in the index.
    pub entries: usize,
}

/// A database that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    /// The source.
    pub source: String,
    /// What failed.
    pub why: String,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vulnerability database {}: {}", self.source, self.why)
    }
}

impl std::error::Error for DbError {}

/// An opened database.
#[derive(Debug)]
pub struct Database {
    info: DbInfo,
    dir: PathBuf,
    index: Vec<ModuleIndex>,
}

impl Database {
    /// Opens a v1 directory.
    pub fn open(
        source: &Source,
        _opts: &OpenOptions,
        _sink: &dyn Sink,
    ) -> Result<Database, DbError> {
        let name = source.display();
        let err = |why: String| DbError {
            source: name.clone(),
            why,
        };
        let Source::Dir(dir) = source else {
            return Err(err("unreachable: only local v1 folders are read yet".into()));
        };
        let read = |p: &str| std::fs::read(dir.join(p)).map_err(|e| err(format!("{p}: {e}")));
        let db: DbIndex = serde_json::from_slice(&read("index/db.json")?)
            .map_err(|e| err(format!("index/db.json: {e}")))?;
        let index: Vec<ModuleIndex> = serde_json::from_slice(&read("index/modules.json")?)
            .map_err(|e| err(format!("index/modules.json: {e}")))?;
        let entries = index
            .iter()
            .flat_map(|m| m.vulns.iter().map(|v| v.id.as_str()))
            .collect::<BTreeSet<_>>()
            .len();
        Ok(Database {
            info: DbInfo {
                source: name,
                modified: db.modified,
                entries,
            },
            dir: dir.clone(),
            index,
        })
    }

    /// What the report says about the database.
    pub fn info(&self) -> &DbInfo {
        &self.info
    }

    /// The entries naming these modules.
    pub fn entries_for(&self, modules: &[&str]) -> Result<Vec<Entry>, DbError> {
        let ids: BTreeSet<&str> = self
            .index
            .iter()
            .filter(|m| modules.contains(&m.path.as_str()))
            .flat_map(|m| m.vulns.iter().map(|v| v.id.as_str()))
            .collect();
        ids.into_iter()
            .map(|id| {
                let p = self.dir.join(format!("ID/{id}.json"));
                let bytes = std::fs::read(&p).map_err(|e| DbError {
                    source: self.info.source.clone(),
                    why: format!("{}: {e}", p.display()),
                })?;
                serde_json::from_slice(&bytes).map_err(|e| DbError {
                    source: self.info.source.clone(),
                    why: format!("{}: {e}", p.display()),
                })
            })
            .collect()
    }
}
