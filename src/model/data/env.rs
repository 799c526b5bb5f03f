//! Data of the `env` suite (src/env/toolchain_rules.rs and module_rules.rs write it).

use serde::{Deserialize, Serialize};

use super::Facts;

/// Where the Go release list came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ReleasesSource {
    /// Fetched from a URL.
    Url {
        /// The URL.
        url: String,
    },
    /// Read from `--releases FILE`.
    File {
        /// The file.
        path: String,
    },
    /// The snapshot compiled into goready.
    Snapshot {
        /// The day it was gathered (YYYY-MM-DD).
        date: String,
        /// Its age in days.
        age_days: i64,
        /// Why the live feed was not used.
        reason: String,
    },
}

/// `env.go_supported`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoSupportedData {
    /// GOVERSION as go env reports it.
    pub go_version: String,
    /// Where the release list came from.
    pub source: Option<ReleasesSource>,
    /// The supported lines (`go1.26`).
    pub supported_lines: Vec<String>,
    /// The newest release.
    pub newest_release: String,
    /// The newest patch of the line in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_patch: Option<String>,
}

/// `env.go_mod_directive`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoModDirectiveData {
    /// go.mod's `go` line.
    pub go: String,
    /// go.mod's `toolchain` line.
    pub toolchain: Option<String>,
    /// The Go in use.
    pub running: String,
    /// GOTOOLCHAIN.
    #[serde(rename = "GOTOOLCHAIN")]
    pub gotoolchain: String,
}

/// `env.toolchain_consistent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolchainConsistentData {
    /// The `go` on PATH.
    pub which_go: Facts,
    /// GOROOT.
    #[serde(rename = "GOROOT")]
    pub goroot: String,
    /// GOVERSION.
    #[serde(rename = "GOVERSION")]
    pub goversion: String,
    /// The `go` in GOROOT.
    pub goroot_go: Facts,
    /// GOROOT/VERSION's first line.
    pub goroot_version_file: Option<String>,
}

/// `env.goroot_provenance`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GorootProvenanceData {
    /// GOROOT.
    #[serde(rename = "GOROOT")]
    pub goroot: String,
    /// The distribution that packaged it, if one.
    pub packager: Option<String>,
    /// go.env settings that differ from Go's own.
    pub go_env_changes: Vec<String>,
}

/// `env.gopath_overlap`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GopathOverlapData {
    /// GOPATH.
    #[serde(rename = "GOPATH")]
    pub gopath: String,
    /// GOMODCACHE.
    #[serde(rename = "GOMODCACHE")]
    pub gomodcache: String,
    /// GOROOT.
    #[serde(rename = "GOROOT")]
    pub goroot: String,
}

/// `env.goproxy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoproxyData {
    /// GOPROXY.
    #[serde(rename = "GOPROXY")]
    pub goproxy: String,
    /// Whether the module vendors its dependencies.
    pub vendored: bool,
}

/// `env.gosumdb`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GosumdbData {
    /// GOSUMDB.
    #[serde(rename = "GOSUMDB")]
    pub gosumdb: String,
    /// GONOSUMDB.
    #[serde(rename = "GONOSUMDB")]
    pub gonosumdb: String,
    /// GOPRIVATE.
    #[serde(rename = "GOPRIVATE")]
    pub goprivate: String,
    /// GOINSECURE.
    #[serde(rename = "GOINSECURE")]
    pub goinsecure: String,
    /// GOFLAGS.
    #[serde(rename = "GOFLAGS")]
    pub goflags: String,
    /// Legacy variables set (GONOVERIFY and the like).
    pub legacy: std::collections::BTreeMap<String, String>,
}

/// `env.goprivate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoprivateData {
    /// The `--private` patterns.
    pub private: Vec<String>,
    /// GOPRIVATE.
    #[serde(rename = "GOPRIVATE")]
    pub goprivate: String,
    /// GONOPROXY.
    #[serde(rename = "GONOPROXY")]
    pub gonoproxy: String,
    /// GONOSUMDB.
    #[serde(rename = "GONOSUMDB")]
    pub gonosumdb: String,
    /// GOPROXY.
    #[serde(rename = "GOPROXY")]
    pub goproxy: String,
}

/// `env.goflags`: GOFLAGS as go env reports it (go.env included); `binary.buildinfo` and
/// `binary.vcs` are settled by its `-buildvcs=false`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoflagsData {
    /// GOFLAGS.
    #[serde(rename = "GOFLAGS")]
    pub goflags: String,
}

impl GoflagsData {
    /// Whether the flags turn VCS stamping off (`-buildvcs=false`).
    pub fn buildvcs_off(&self) -> bool {
        self.goflags
            .split_whitespace()
            .any(|f| f.trim_start_matches('-') == "buildvcs=false")
    }
}

/// `env.go_sum`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoSumData {
    /// go.mod's requirements.
    pub requirements: usize,
    /// Those that need go.sum lines.
    pub summed_requirements: usize,
    /// go.sum's lines (none: no go.sum).
    pub go_sum_lines: Option<usize>,
    /// `go mod verify`.
    pub verify: Facts,
    /// `go mod tidy -diff`.
    pub tidy: Facts,
    /// The go.work in effect.
    pub workspace: Option<String>,
}
