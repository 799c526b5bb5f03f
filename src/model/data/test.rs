//! Data of the `test` suite (src/gotest/rules.rs writes it).

use serde::{Deserialize, Serialize};

/// `test.go_test`: one Go test.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestData {
    /// The test's name (`TestX/sub`).
    pub test: String,
    /// Its package.
    pub package: String,
    /// Every `file:line` it printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<String>>,
    /// The panic it died of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panic: Option<String>,
    /// The `-timeout` it ran into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// `test.build`: a package whose test binary did not build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestBuildData {
    /// The package that failed to build.
    pub import_path: String,
    /// The packages whose tests it blocks.
    pub packages: Vec<String>,
}
