//! Data of the `build` suite (src/build/rules.rs writes it).

use serde::{Deserialize, Serialize};

use super::Facts;

/// `build.compile`: the go build command and what it made or said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompileData {
    /// The command, as a shell would run it.
    pub command: String,
    /// Built: the output file; failed: go build's output (clipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The binary's size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Wall time of the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The compiler's diagnostics (file, line, column, message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Facts>,
}

/// `build.version`: the native binary's version run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildVersionData {
    /// The version injected.
    pub expected: String,
    /// The command run.
    pub command: String,
    /// Its exit code (none: a signal).
    pub exit_code: Option<i32>,
    /// What it printed (clipped).
    pub output: String,
    /// Killed after the timeout.
    pub timed_out: bool,
}

/// `build.static`: the settings that decide static linking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StaticFlagsData {
    /// CGO_ENABLED=1.
    pub cgo: bool,
    /// `-ldflags`.
    pub ldflags: Option<String>,
    /// `-buildmode`.
    pub buildmode: Option<String>,
}

/// `build.reproducible`: the rebuild's comparison and the copies kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReproducibleData {
    /// Sizes, identical or the first difference.
    pub comparison: Facts,
    /// Where the two builds were kept.
    pub kept: Facts,
}

/// `build.sbom`: the SBOM written beside a binary (`goready build --sbom`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SbomData {
    /// The binary, as the build named it.
    pub binary: String,
    /// The document written.
    pub sbom: String,
    /// `cyclonedx` or `spdx`.
    pub format: String,
    /// Components: the modules and the standard library.
    pub components: usize,
    /// VEX entries (CycloneDX only).
    pub vulnerabilities: usize,
}
