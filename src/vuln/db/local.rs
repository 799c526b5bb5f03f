//! Databases on disk: a v1 directory (`index/db.json`, `index/modules.json`, `ID/<id>.json`,
//! each file possibly gzipped as `.json.gz`), and a flat folder of OSV files with no index,
//! which is read once to build the module map and then again per entry asked for.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{ErrorKind, Limits, ModuleMap, OpenOptions, bad, index, maybe_gunzip, read_capped};
use crate::vuln::osv::Entry;

/// A local v1 directory.
pub(super) struct V1Dir {
    root: PathBuf,
}

impl V1Dir {
    /// True when `dir` has the v1 layout's marker, `index/db.json` (or its gzip).
    pub(super) fn is_v1(dir: &Path) -> bool {
        dir.join("index/db.json").is_file() || dir.join("index/db.json.gz").is_file()
    }

    pub(super) fn open(
        dir: &Path,
        limits: &Limits,
    ) -> Result<(V1Dir, ModuleMap, String), ErrorKind> {
        let d = V1Dir {
            root: dir.to_path_buf(),
        };
        let db = d.read("index/db.json", limits.index_bytes)?;
        let db = index::parse_db_index(&db).map_err(|e| bad("index/db.json", e))?;
        let modules = d.read("index/modules.json", limits.index_bytes)?;
        let map = index::parse_modules(&modules).map_err(|e| bad("index/modules.json", e))?;
        Ok((d, map, db.modified))
    }

    /// Reads `rel` (`index/modules.json`), or `rel.gz` when only that is there.
    fn read(&self, rel: &str, cap: u64) -> Result<Vec<u8>, ErrorKind> {
        let plain = self.root.join(rel);
        let bytes = if plain.is_file() {
            read_capped(&plain, rel, cap)?
        } else {
            let gz = self.root.join(format!("{rel}.gz"));
            if !gz.is_file() {
                return Err(ErrorKind::Missing {
                    path: rel.to_string(),
                });
            }
            // A gzip bomb is bounded by the inflate cap; the compressed file by the same cap.
            read_capped(&gz, &format!("{rel}.gz"), cap)?
        };
        maybe_gunzip(bytes, rel, cap)
    }

    pub(super) fn entries(
        &self,
        ids: &[String],
        opts: &OpenOptions,
    ) -> Result<Vec<Entry>, ErrorKind> {
        super::read_entries(ids, opts, |rel, cap| self.read(rel, cap))
    }
}

/// A folder of OSV `.json` files (golang/vulndb's `data/osv/`, or a team's own advisories).
pub(super) struct Flat {
    files: HashMap<String, PathBuf>,
}

impl Flat {
    pub(super) fn open(
        dir: &Path,
        opts: &OpenOptions,
    ) -> Result<(Flat, ModuleMap, String), ErrorKind> {
        let listing = std::fs::read_dir(dir)
            .map_err(|e| ErrorKind::BadSource(format!("cannot list it: {e}")))?;
        let mut paths: Vec<PathBuf> = Vec::new();
        for item in listing {
            let item = item.map_err(|e| ErrorKind::BadSource(format!("cannot list it: {e}")))?;
            let path = item.path();
            let is_json = path.extension().is_some_and(|e| e == "json");
            if is_json && item.file_type().map(|t| t.is_file()).unwrap_or(false) {
                paths.push(path);
            }
        }
        if paths.is_empty() {
            return Err(ErrorKind::NotADatabase(
                "no index/db.json (a v1 directory) and no .json OSV files (a flat folder)".into(),
            ));
        }
        paths.sort();
        let mut map = ModuleMap::default();
        let mut files: HashMap<String, PathBuf> = HashMap::new();
        let mut newest = String::new();
        for path in paths {
            opts.cancel.check().map_err(ErrorKind::Stopped)?;
            let rel = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = read_capped(&path, &rel, opts.limits.entry_bytes)?;
            let head = index::parse_entry_head(&bytes).map_err(|e| bad(&rel, e))?;
            if let Some(other) = files.get(&head.id) {
                return Err(bad(
                    &rel,
                    format!(
                        "holds {}, as {} does",
                        head.id,
                        other.file_name().unwrap_or_default().to_string_lossy()
                    ),
                ));
            }
            for a in &head.affected {
                map.add(&a.package.name, &head.id, &head.modified);
            }
            if head.modified > newest && index::rfc3339_to_unix(&head.modified).is_some() {
                newest = head.modified.clone();
            }
            files.insert(head.id, path);
        }
        Ok((Flat { files }, map, newest))
    }

    pub(super) fn entries(
        &self,
        ids: &[String],
        opts: &OpenOptions,
    ) -> Result<Vec<Entry>, ErrorKind> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            opts.cancel.check().map_err(ErrorKind::Stopped)?;
            let path = self.files.get(id).ok_or_else(|| ErrorKind::Missing {
                path: format!("{id}.json"),
            })?;
            let rel = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = read_capped(path, &rel, opts.limits.entry_bytes)?;
            // The file may have changed since it was indexed: its id is checked again.
            out.push(index::parse_entry(&bytes, id).map_err(|e| bad(&rel, e))?);
        }
        Ok(out)
    }
}
