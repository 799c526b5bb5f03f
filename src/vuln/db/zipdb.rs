//! `vulndb.zip`, the bulk download, read where it lies: the central directory first, then
//! `index/db.json` and `index/modules.json`, then only the `ID/<id>.json` members asked for.
//! Nothing is extracted, so member names (`../x`, `/etc/passwd`) never reach the file
//! system; members are looked up by exact name built from a validated id. Each member is
//! inflated through a cap, whatever size its header claims (zip bombs).

use std::io::{Read, Seek};
use std::sync::Mutex;

use zip::ZipArchive;
use zip::result::ZipError;

use super::{ErrorKind, Limits, ModuleMap, OpenOptions, bad, index, maybe_gunzip};
use crate::vuln::osv::Entry;

/// A readable, seekable byte source (a file, or bytes in memory).
pub(super) trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

pub(super) struct ZipDb {
    archive: Mutex<ZipArchive<Box<dyn ReadSeek>>>,
    /// `""` when the layout is at the root, `vulndb/` when it is one folder down.
    prefix: String,
}

impl ZipDb {
    pub(super) fn open(
        reader: Box<dyn ReadSeek>,
        limits: &Limits,
    ) -> Result<(ZipDb, ModuleMap, String), ErrorKind> {
        let archive = ZipArchive::new(reader).map_err(|e| match e {
            ZipError::Io(e) => ErrorKind::Io {
                path: "(zip)".into(),
                why: e.to_string(),
            },
            other => ErrorKind::NotADatabase(format!("not a readable zip: {other}")),
        })?;
        let prefix = find_prefix(&archive).ok_or_else(|| {
            ErrorKind::NotADatabase("the zip has no index/db.json (the v1 layout)".into())
        })?;
        let z = ZipDb {
            archive: Mutex::new(archive),
            prefix,
        };
        let db = z.read("index/db.json", limits.index_bytes)?;
        let db = index::parse_db_index(&db).map_err(|e| bad("index/db.json", e))?;
        let modules = z.read("index/modules.json", limits.index_bytes)?;
        let map = index::parse_modules(&modules).map_err(|e| bad("index/modules.json", e))?;
        Ok((z, map, db.modified))
    }

    /// Reads the member `rel` (under the prefix) through `cap`.
    fn read(&self, rel: &str, cap: u64) -> Result<Vec<u8>, ErrorKind> {
        let mut archive = self.archive.lock().unwrap_or_else(|e| e.into_inner());
        let name = format!("{}{rel}", self.prefix);
        let mut member = match archive.by_name(&name) {
            Ok(m) => m,
            Err(ZipError::FileNotFound) => {
                return Err(ErrorKind::Missing {
                    path: rel.to_string(),
                });
            }
            Err(e) => return Err(bad(rel, format!("unreadable zip member: {e}"))),
        };
        if member.size() > cap {
            return Err(ErrorKind::TooLarge {
                path: rel.to_string(),
                cap,
            });
        }
        let mut out = Vec::new();
        (&mut member)
            .take(cap.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| bad(rel, format!("unreadable zip member: {e}")))?;
        if out.len() as u64 > cap {
            return Err(ErrorKind::TooLarge {
                path: rel.to_string(),
                cap,
            });
        }
        drop(member);
        drop(archive);
        maybe_gunzip(out, rel, cap)
    }

    pub(super) fn entries(
        &self,
        ids: &[String],
        opts: &OpenOptions,
    ) -> Result<Vec<Entry>, ErrorKind> {
        super::read_entries(ids, opts, |rel, cap| self.read(rel, cap))
    }
}

/// Where the v1 layout starts: the root, or a single folder (an archive of `vulndb/`). Names
/// that are absolute or climb (`..`) never qualify.
fn find_prefix<R: Read + Seek>(archive: &ZipArchive<R>) -> Option<String> {
    let mut nested: Option<String> = None;
    for name in archive.file_names() {
        if name == "index/db.json" {
            return Some(String::new());
        }
        if let Some(dir) = name.strip_suffix("/index/db.json") {
            let plain = !dir.is_empty()
                && !dir.contains(['/', '\\'])
                && dir != ".."
                && dir != "."
                && !dir.contains(':');
            if plain && nested.as_ref().is_none_or(|n| dir < n.as_str()) {
                nested = Some(dir.to_string());
            }
        }
    }
    nested.map(|d| format!("{d}/"))
}
