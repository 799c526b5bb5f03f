//! What the inspector knows about one binary. Field names are the JSON contract of
//! `goready inspect --format json` (see docs/inspect.md); rules only read these facts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::model::data::{Linkage, Module};

/// Container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ELF (Linux and the BSDs).
    Elf,
    /// Mach-O, thin or universal (macOS, iOS).
    Macho,
    /// PE/COFF (Windows).
    Pe,
}

impl Format {
    /// The lowercase name used in JSON and text output.
    pub fn name(self) -> &'static str {
        match self {
            Format::Elf => "elf",
            Format::Macho => "macho",
            Format::Pe => "pe",
        }
    }
}

/// ELF RELRO hardening level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relro {
    /// PT_GNU_RELRO and BIND_NOW: the GOT is read-only after start-up.
    Full,
    /// PT_GNU_RELRO without BIND_NOW.
    Partial,
    /// No PT_GNU_RELRO.
    None,
}

/// Go's runtime function table (`runtime.pclntab`), which survives `-s -w`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PclntabFacts {
    /// A valid table was found.
    pub present: bool,
    /// Table layout: "1.2", "1.16", "1.18" or "1.20" (the Go release that introduced it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Number of functions in the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions: Option<u64>,
}

/// Go build info, as `go version -m` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// The Go version that built the binary, e.g. `go1.26.8`.
    pub go_version: String,
    /// The main package's import path (`path` line).
    #[serde(default)]
    pub path: String,
    /// The main module (`mod` line), when built in module mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main: Option<Module>,
    /// Dependencies (`dep` lines) in the binary's order.
    #[serde(default)]
    pub deps: Vec<Module>,
    /// `build key=value` settings, unquoted.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// Where an expected version was (or was not) found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionEvidence {
    /// The version that was expected.
    pub expected: String,
    /// Whether it is embedded.
    pub found: bool,
    /// How it was found: `symbol main.Version` or `data at file offset 0x…`; or why not.
    pub evidence: String,
}

/// Every fact goready reads from one binary (or one slice of a universal Mach-O).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinaryFacts {
    /// The path as given on the command line.
    pub path: String,
    /// Container format.
    pub format: Format,
    /// Architecture in Go's names (amd64, arm64, 386, …); for a universal file, the slices'
    /// architectures joined with `+`.
    pub arch: String,
    /// GOOS: from the build info settings, else from the format and ABI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goos: Option<String>,
    /// File size in bytes.
    pub size: u64,
    /// Dynamic when the file needs a loader or shared libraries.
    pub linkage: Linkage,
    /// ELF PT_INTERP (null when there is none).
    #[serde(default)]
    pub interpreter: Option<String>,
    /// Shared libraries needed: ELF DT_NEEDED, Mach-O LC_LOAD_DYLIB (weak, reexport,
    /// upward), PE imported DLLs.
    pub needed: Vec<String>,
    /// The C library the binary loads: glibc, musl, bionic, libSystem, msvcrt or ucrt.
    pub libc: Option<String>,
    /// No defined symbols (`-ldflags=-s`).
    pub symbols_stripped: bool,
    /// DWARF debug info present (`-ldflags=-w` removes it).
    pub dwarf: bool,
    /// Go's runtime function table.
    pub pclntab: PclntabFacts,
    /// Go build info, when the binary carries it.
    pub buildinfo: Option<BuildInfo>,
    /// Why a blob that was found could not be decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buildinfo_error: Option<String>,
    /// Position-independent executable.
    pub pie: Option<bool>,
    /// ELF RELRO level (null for Mach-O and PE).
    pub relro: Option<Relro>,
    /// Non-executable stack/data (ELF PT_GNU_STACK, PE NX_COMPAT, Mach-O by default).
    pub nx: Option<bool>,
    /// Built with cgo: the CGO_ENABLED setting, else inferred from the libraries.
    pub cgo: Option<bool>,
    /// net/http/pprof functions are in the function table.
    pub pprof_linked: bool,
    /// String values of version-like variables the symbol table resolves.
    pub version_vars: BTreeMap<String, String>,
    /// The outcome of `--expect-version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<VersionEvidence>,
    /// For a universal (fat) Mach-O: the facts of each architecture slice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<BinaryFacts>,
}

impl BinaryFacts {
    /// True when the binary was produced by the Go toolchain.
    pub fn is_go(&self) -> bool {
        self.buildinfo.is_some() || self.pclntab.present
    }

    /// `goos/arch`, the way Go names a target.
    pub fn platform(&self) -> String {
        format!(
            "{}/{}",
            self.goos.as_deref().unwrap_or("unknown"),
            self.arch
        )
    }

    /// A build setting (`-trimpath`, `vcs.modified`, `CGO_ENABLED`, …).
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.buildinfo
            .as_ref()
            .and_then(|b| b.settings.get(key))
            .map(String::as_str)
    }
}
