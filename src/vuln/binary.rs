//! What the scan reads of one binary: its build info (the inspector's `build_info_bytes`)
//! and every function name its tables hold, turned into a [`matching::Binary`].

use std::path::Path;

use super::matching::{Binary, Module, Relevant};
use super::osv::Entry;
use super::symbols::{Naming, PackageSymbols};
use crate::inspect::facts::{BuildInfo, Module as BiModule};
use crate::inspect::functions::{self, InlineTrees};
use crate::inspect::pclntab::Version;

/// One binary, read.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// The path as given.
    pub path: String,
    /// What matching needs.
    pub binary: Binary,
    /// How many functions the tables gave (0 when unreadable).
    pub functions: usize,
    /// Caveats about the whole binary (an old Go, a table that could not be read).
    pub notes: Vec<String>,
}

/// Why a file cannot be scanned at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unscannable {
    /// It could not be opened or read.
    Unreadable(String),
    /// It is not a Go binary with build info (the message says what it is).
    NotGo(String),
}

fn module(m: &BiModule) -> Module {
    Module {
        path: m.path.clone(),
        version: m.version.clone(),
        replace: m
            .replace
            .as_ref()
            .map(|r| (r.path.clone(), r.version.clone())),
    }
}

/// A binary whose build info is read, its bytes still mapped for [`Opened::read_functions`]:
/// the database is asked for the entries of its modules in between, so that only the names of
/// packages those entries speak of are split and kept.
pub struct Opened {
    map: memmap2::Mmap,
    scanned: Scanned,
}

impl Opened {
    /// The binary as far as its build info tells (no functions yet).
    pub fn binary(&self) -> &Binary {
        &self.scanned.binary
    }

    /// Reads the function table and inline trees, keeping the names of the packages that can
    /// matter against `entries` (all of them when `entries` is `None`).
    pub fn read_functions(&self, entries: Option<&[Entry]>, now_unix: i64) -> Scanned {
        let mut scanned = self.scanned.clone();
        let relevant = entries.map(|e| Relevant::of(&scanned.binary, e, now_unix));
        add_functions(&mut scanned, &self.map, relevant.as_ref());
        let uncompared = super::matching::uncompared(&scanned.binary, entries, now_unix);
        scanned.notes.extend(uncompared);
        scanned
    }
}

/// Opens the file at `path` (shown as `shown`) and reads its build info.
pub fn open(path: &Path, shown: &str) -> Result<Opened, Unscannable> {
    let file = std::fs::File::open(path).map_err(|e| Unscannable::Unreadable(e.to_string()))?;
    let meta = file
        .metadata()
        .map_err(|e| Unscannable::Unreadable(e.to_string()))?;
    if meta.is_dir() {
        return Err(Unscannable::Unreadable("is a directory".into()));
    }
    if meta.len() == 0 {
        return Err(Unscannable::NotGo("the file is empty".into()));
    }
    // SAFETY: a read-only private map, as the inspector makes (src/inspect/mod.rs).
    let map =
        unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Unscannable::Unreadable(e.to_string()))?;
    let scanned = build_info(shown, &map)?;
    Ok(Opened { map, scanned })
}

/// The build info of one binary's bytes, with the notes it gives.
fn build_info(shown: &str, data: &[u8]) -> Result<Scanned, Unscannable> {
    // The build info alone: the function table is located once, by the function reader.
    let read =
        crate::inspect::build_info_bytes(data).map_err(|e| Unscannable::NotGo(e.to_string()))?;
    let Some(bi) = read.buildinfo.as_ref() else {
        return Err(Unscannable::NotGo(
            match (&read.buildinfo_error, read.is_go) {
                (Some(why), _) => format!("its Go build info cannot be decoded: {why}"),
                (None, true) => {
                    "a Go binary without build info: the Go version and modules are unknown".into()
                }
                (None, false) => "not a Go binary".into(),
            },
        ));
    };
    let mut notes = Vec::new();
    if super::semver::go_tag_to_semver(&bi.go_version)
        .is_some_and(|v| super::semver::less(&v, "v1.18.0"))
    {
        notes.push(format!(
            "built with {}: govulncheck v1.9.0 refuses binaries before Go 1.18 (\"unrecognized binary format\"); goready reads its modules and function table as far as they go",
            bi.go_version
        ));
    }
    let mut binary = to_binary(bi, None);
    // Before Go 1.18 the build info has no GOOS/GOARCH settings: the file's format and
    // machine tell them, so that platform-only advisories still filter.
    if binary.goos.is_empty() {
        binary.goos = read.goos.to_string();
    }
    if binary.goarch.is_empty()
        && let Some(goarch) = read.goarch
    {
        binary.goarch = goarch.to_string();
    }
    Ok(Scanned {
        path: shown.to_string(),
        functions: 0,
        binary,
        notes,
    })
}

/// Reads the function names of `data` into `scanned` (only the packages `relevant` wants,
/// when given), with a note when the tables could not be read in full.
fn add_functions(scanned: &mut Scanned, data: &[u8], relevant: Option<&Relevant>) {
    let Ok(found) = functions::go_names(data) else {
        scanned.notes.insert(
            0,
            "its function table could not be read: advisories are matched at module level only"
                .to_string(),
        );
        return;
    };
    let naming = match found.version {
        Version::V1_20 => Naming::Go120,
        Version::V1_18 => Naming::Go118,
        Version::V1_16 | Version::V1_2 => Naming::Older,
    };
    let caveat = match &found.inline_trees {
        InlineTrees::Read { unreadable: 0, .. } => None,
        InlineTrees::Read { unreadable, .. } => Some(format!(
            "{unreadable} inline trees could not be read: functions inlined only there may be missed"
        )),
        InlineTrees::NotFound(why) => Some(format!(
            "inline trees not read ({why}): functions inlined at every call site are missed"
        )),
    };
    if let Some(caveat) = caveat {
        scanned.notes.insert(0, caveat);
    }
    let names = found
        .names
        .iter()
        .chain(&found.inlined)
        // Valid UTF-8 (every name a Go linker writes) is checked by the fast path alone.
        .map(|n| match std::str::from_utf8(n) {
            Ok(name) => std::borrow::Cow::Borrowed(name),
            Err(_) => String::from_utf8_lossy(n),
        });
    let bin = &scanned.binary;
    let symbols = match relevant {
        // Nothing applies at this binary's versions: no name can matter.
        Some(r) if r.is_empty() => PackageSymbols::default(),
        Some(r) => PackageSymbols::from_names_of(names, naming, &bin.main_path, |p| r.wants(p)),
        None => PackageSymbols::from_names_of(names, naming, &bin.main_path, |_| true),
    };
    // A name both inlined and kept is one string of the name table: counted once.
    let mut kept: Vec<*const u8> = found.names.iter().map(|n| n.as_ptr()).collect();
    kept.sort_unstable();
    scanned.functions = found.names.len()
        + found
            .inlined
            .iter()
            .filter(|n| kept.binary_search(&n.as_ptr()).is_err())
            .count();
    scanned.binary.symbols = Some(symbols);
}

fn to_binary(bi: &BuildInfo, symbols: Option<PackageSymbols>) -> Binary {
    Binary {
        go_version: bi.go_version.clone(),
        main_path: bi.path.clone(),
        main: bi.main.as_ref().map(module),
        deps: bi.deps.iter().map(module).collect(),
        goos: bi.settings.get("GOOS").cloned().unwrap_or_default(),
        goarch: bi.settings.get("GOARCH").cloned().unwrap_or_default(),
        symbols,
    }
}
