//! What the scan reads of one binary: its build info (through the inspector) and every
//! function name its tables hold, turned into a [`matching::Binary`].

use std::path::Path;

use super::matching::{Binary, Module};
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

/// Reads the file at `path` (shown as `shown`).
pub fn read(path: &Path, shown: &str) -> Result<Scanned, Unscannable> {
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
    from_bytes(shown, &map)
}

/// Reads one binary's bytes.
pub fn from_bytes(shown: &str, data: &[u8]) -> Result<Scanned, Unscannable> {
    let facts = crate::inspect::inspect_bytes(shown, data, &crate::inspect::Options::default())
        .map_err(|e| Unscannable::NotGo(e.to_string()))?;
    let facts = facts.slices.first().cloned().unwrap_or(facts);
    let Some(bi) = facts.buildinfo.as_ref() else {
        return Err(Unscannable::NotGo(
            match (&facts.buildinfo_error, facts.is_go()) {
                (Some(why), _) => format!("its Go build info cannot be decoded: {why}"),
                (None, true) => {
                    "a Go binary without build info: the Go version and modules are unknown".into()
                }
                (None, false) => "not a Go binary".into(),
            },
        ));
    };
    let mut notes = Vec::new();
    let functions = go_functions(data);
    let symbols = functions.as_ref().map(|(naming, names, _)| {
        PackageSymbols::from_names(names.iter().map(String::as_str), *naming, &bi.path)
    });
    if let Some((_, _, Some(caveat))) = &functions {
        notes.push(caveat.clone());
    }
    if functions.is_none() {
        notes.push(
            "its function table could not be read: advisories are matched at module level only"
                .to_string(),
        );
    }
    if super::semver::go_tag_to_semver(&bi.go_version)
        .is_some_and(|v| super::semver::less(&v, "v1.18.0"))
    {
        notes.push(format!(
            "built with {}: govulncheck checks only the standard library of binaries before Go 1.18; goready reads its modules and function table as far as they go",
            bi.go_version
        ));
    }
    Ok(Scanned {
        path: shown.to_string(),
        functions: functions.as_ref().map_or(0, |(_, n, _)| n.len()),
        binary: to_binary(bi, symbols),
        notes,
    })
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

/// Every function name the binary holds (function table and inline trees, stripped or not),
/// with the naming convention of its Go release and a caveat when the inline trees could not
/// be read; `None` when no function table is found.
fn go_functions(data: &[u8]) -> Option<(Naming, Vec<String>, Option<String>)> {
    let found = functions::go_functions(data).ok()?;
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
    let mut names = found.names;
    names.extend(found.inlined);
    Some((naming, names, caveat))
}
