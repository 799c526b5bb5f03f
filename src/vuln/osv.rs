//! The OSV entries of the Go vulnerability database (schema: ossf/osv-schema, with the Go
//! database's own `ecosystem_specific.imports`), as its v1 API serves them under
//! `ID/<id>.json`, and the index files beside them (`index/db.json`, `index/modules.json`).
//! Only what matching needs is kept; unknown fields are ignored, so a newer schema version
//! still reads.

use serde::{Deserialize, Serialize};

/// One advisory (`ID/GO-YYYY-NNNN.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `GO-YYYY-NNNN`.
    pub id: String,
    /// RFC 3339; when the entry last changed.
    #[serde(default)]
    pub modified: String,
    /// RFC 3339; when the entry was first published.
    #[serde(default)]
    pub published: String,
    /// RFC 3339; set when the entry was withdrawn (it then matches nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// CVE and GHSA ids of the same flaw.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One line.
    #[serde(default)]
    pub summary: String,
    /// Longer text.
    #[serde(default)]
    pub details: String,
    /// What is affected, per module (`stdlib` and `toolchain` for Go itself).
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// Links (advisory, fix, report).
    #[serde(default)]
    pub references: Vec<Reference>,
    /// `database_specific.url` and `review_status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<DatabaseSpecific>,
}

/// The affected versions and code of one module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// The module (`name`: its path, `stdlib` or `toolchain`; `ecosystem`: `Go`).
    pub package: Package,
    /// Version ranges; only `SEMVER` ones are used for matching.
    #[serde(default)]
    pub ranges: Vec<Range>,
    /// The packages and symbols, with their GOOS/GOARCH filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<EcosystemSpecific>,
}

/// An OSV package: for Go, a module path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// The module path, `stdlib` or `toolchain`.
    pub name: String,
    /// `Go`.
    #[serde(default)]
    pub ecosystem: String,
}

/// One version range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `SEMVER` (the Go database's only kind for matching).
    #[serde(rename = "type")]
    pub kind: String,
    /// `introduced` / `fixed` events, in order; versions without the `v` prefix.
    #[serde(default)]
    pub events: Vec<RangeEvent>,
}

/// An `introduced` or `fixed` event (exactly one of the two is set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeEvent {
    /// The first affected version (`0`: from the beginning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// The first version with the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
}

/// The Go database's `ecosystem_specific`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemSpecific {
    /// The vulnerable packages of the module; none listed: the whole module.
    #[serde(default)]
    pub imports: Vec<Import>,
}

/// One vulnerable package, with the symbols and platforms it is vulnerable on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// The package's import path.
    pub path: String,
    /// GOOS values it is vulnerable on; empty: all.
    #[serde(default)]
    pub goos: Vec<String>,
    /// GOARCH values it is vulnerable on; empty: all.
    #[serde(default)]
    pub goarch: Vec<String>,
    /// Vulnerable functions and methods (`Func`, `Type.Method`); empty: the whole package.
    #[serde(default)]
    pub symbols: Vec<String>,
}

/// A link of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `FIX`, `REPORT`, `WEB`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The address.
    pub url: String,
}

/// The Go database's `database_specific`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSpecific {
    /// `https://pkg.go.dev/vuln/<id>`.
    #[serde(default)]
    pub url: String,
    /// `REVIEWED` or `UNREVIEWED`.
    #[serde(default)]
    pub review_status: String,
}

/// `index/db.json`: when the database last changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbIndex {
    /// RFC 3339.
    pub modified: String,
}

/// One row of `index/modules.json`: a module and the entries that name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleIndex {
    /// The module path (`stdlib`, `toolchain` included).
    pub path: String,
    /// The entries naming it (an id may repeat, once per `affected` block).
    #[serde(default)]
    pub vulns: Vec<ModuleVuln>,
}

/// An entry as `index/modules.json` lists it under a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleVuln {
    /// `GO-YYYY-NNNN`.
    pub id: String,
    /// RFC 3339.
    #[serde(default)]
    pub modified: String,
    /// The latest fixed version, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
}
