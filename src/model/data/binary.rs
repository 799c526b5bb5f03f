//! Data of the `binary` suite (src/inspect/rules.rs writes it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Whether the binary needs a dynamic loader or shared libraries at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Linkage {
    /// Runs with nothing but the kernel.
    Static,
    /// Needs an interpreter (ELF PT_INTERP) or shared libraries.
    Dynamic,
}

/// A module line of the build info (`mod`, `dep`, or a `=>` replacement).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    /// Module path.
    pub path: String,
    /// Module version, `(devel)` for an untagged main module.
    pub version: String,
    /// go.sum hash, empty when unknown.
    #[serde(default)]
    pub sum: String,
    /// The module this one was replaced by (`=>` line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<Box<Module>>,
}

/// `binary.readable`: what the file is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadableData {
    /// ELF, Mach-O or PE.
    pub format: String,
    /// `linux/amd64` and the like.
    pub platform: String,
    /// The file's size in bytes (`ls -l`).
    pub size: u64,
}

/// `binary.static`: the binary's linkage, as `readelf -l -d` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StaticData {
    /// Static or dynamic.
    pub linkage: Option<Linkage>,
    /// The ELF interpreter (`PT_INTERP`), if any.
    pub interpreter: Option<String>,
    /// `DT_NEEDED` libraries.
    pub needed: Vec<String>,
    /// The C library it loads (`glibc`, `musl`), if one.
    pub libc: Option<String>,
}

/// `binary.buildinfo`: the build info as `go version -m` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildinfoData {
    /// The Go version that built it (`go1.26.8`).
    pub go_version: String,
    /// The main package's import path.
    pub path: String,
    /// The main module, when built in module mode.
    pub main: Option<Module>,
    /// How many dependencies it lists.
    pub deps: usize,
}

/// `binary.vcs`: the `vcs.*` build settings (null when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VcsData {
    /// `git`, `hg`, …
    pub vcs: Option<String>,
    /// `vcs.revision`.
    pub revision: Option<String>,
    /// `vcs.time`.
    pub time: Option<String>,
    /// `vcs.modified`: `true` for a dirty tree.
    pub modified: Option<String>,
}

/// `binary.version`: where `--expect-version` was looked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionData {
    /// The version expected.
    pub expected: String,
    /// How it was found, or why not.
    pub evidence: String,
    /// The string variables that look like versions (`main.Version` → value).
    pub version_vars: BTreeMap<String, String>,
}
