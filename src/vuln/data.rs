//! The data of a `binary.vuln` check: what the rule writes and what every renderer (the PR
//! comment, SARIF, the SBOM's VEX) reads, one Rust type serialised as the check's `data`.

use serde::{Deserialize, Serialize};

/// How much of an advisory is known to be in a binary, from most to least certain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A vulnerable function is in the binary (its pclntab or an inline tree).
    Symbol,
    /// A vulnerable package is linked, none of its vulnerable functions is.
    Package,
    /// Only the module at an affected version is there.
    Module,
}

/// What the level rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Vulnerable functions were found by name in the binary's function tables.
    SymbolsMatched,
    /// The advisory lists no symbols (or no packages): the level is as far as it goes.
    AdvisoryWithoutSymbols,
    /// The binary's function tables could not be read (too old, damaged): module level only.
    StrippedFallback,
    /// The module is replaced by another path (a fork): only the fork's version is set against
    /// the advisory's ranges, at module level, since the fork's code may differ from the
    /// advisory's module under the same package names.
    Fork,
}

/// The data of one `binary.vuln` check: one advisory in one binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnData {
    /// `GO-YYYY-NNNN`.
    pub id: String,
    /// CVE / GHSA ids.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The affected module as the binary has it (`stdlib` for the standard library).
    pub module: String,
    /// The module's version in the binary (`v1.2.3`; for stdlib the Go version as semver).
    pub version: String,
    /// The earliest fixed version that is not itself vulnerable; None: no fix yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Symbol, package or module.
    pub level: Level,
    /// Fully qualified vulnerable functions found (`github.com/x/y/pkg.Func`,
    /// `pkg.Type.Method`), sorted; empty below symbol level.
    #[serde(default)]
    pub symbols: Vec<String>,
    /// What the level rests on.
    pub evidence: Evidence,
    /// The advisory's one-line summary.
    #[serde(default)]
    pub summary: String,
    /// Caveats that lower confidence or explain the level: a fork checked at module level, a
    /// main module at a pseudo-version, a `toolchain` advisory, a binary older than Go 1.18.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Set when goready.toml's `[vuln] ignore` suppresses this advisory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

/// A suppression that applied (goready.toml `[vuln] ignore`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// Why the team accepts it.
    pub reason: String,
    /// The last day it holds (`YYYY-MM-DD`), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}
