//! The result contract every step writes and `goready report` reads: a [`Report`] of
//! [`Check`]s (`schema: "goready/v1"`, see ARCHITECTURE.md).

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod data;
pub mod findings;
mod rule;

pub use data::CheckData;
pub use rule::{Evidence, Registry, Rule, Settles};

pub use findings::{Baseline, BaselineInfo, BaselineState, Change, Finding, Fixed};

/// The schema tag of every result file.
pub const SCHEMA: &str = "goready/v1";

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The rule holds.
    Pass,
    /// The rule does not hold; `severity` says how bad that is.
    Fail,
    /// The rule does not apply here (the reason is in the message).
    Skip,
    /// The rule could not be evaluated (unreadable input, tool failure).
    Error,
}

impl Status {
    /// Fails and errors both count against the verdict.
    pub fn is_problem(self) -> bool {
        matches!(self, Status::Fail | Status::Error)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        })
    }
}

/// What a failing check means; ordered so that `Notice < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a build unless `--fail-on notice`.
    Notice,
    /// Should be fixed; fails with `--fail-on warning`.
    Warning,
    /// Must be fixed; fails with the default `--fail-on error`.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Name and version of the tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `goready`.
    pub name: String,
    /// The crate version that wrote the report.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// One evaluated rule on one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Stable rule id, documented in docs/checks.md.
    pub id: String,
    /// env | build | binary | runtime | test.
    pub suite: String,
    /// Matrix target, binary path or package the check is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// pass | fail | skip | error.
    pub status: Status,
    /// What a fail means.
    pub severity: Severity,
    /// One line for tables and annotation titles.
    pub title: String,
    /// Why the check came out as it did, with the numbers.
    pub message: String,
    /// Repo-relative source location, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Line within `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Time spent on this check.
    #[serde(default)]
    pub duration_ms: u64,
    /// Stable across runs: derived from id, target and location only.
    pub fingerprint: String,
    /// Step-specific facts, typed by rule (see [`CheckData`]).
    #[serde(skip_serializing_if = "CheckData::is_none")]
    pub data: CheckData,
    /// The rule id of the check that settled this one (see `registry::Evidence`): a failed check
    /// with it is part of that check's finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_by: Option<String>,
    /// The stable identity of the finding a failed check is part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// Against a baseline: whether this failed check is new or was there already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

impl Check {
    /// Starts a check of `rule`; finish it with [`CheckBuilder::pass`] and friends.
    pub fn of(rule: &Rule) -> CheckBuilder {
        CheckBuilder {
            rule: rule.clone(),
            title: None,
            target: None,
            file: None,
            line: None,
            severity: rule.severity,
            data: CheckData::None,
            duration_ms: 0,
        }
    }

    /// True when this check counts against a verdict at `fail_on`.
    pub fn fails_at(&self, fail_on: Severity) -> bool {
        self.status.is_problem() && self.severity >= fail_on
    }
}

/// A check as a result file has it, before its `data` is read by rule id.
#[derive(Deserialize)]
struct CheckFile {
    id: String,
    suite: String,
    #[serde(default)]
    target: Option<String>,
    status: Status,
    severity: Severity,
    title: String,
    message: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    duration_ms: u64,
    fingerprint: String,
    #[serde(default)]
    data: serde_json::Value,
    #[serde(default)]
    settled_by: Option<String>,
    #[serde(default)]
    finding: Option<String>,
    #[serde(default)]
    change: Option<Change>,
}

/// The rule id picks the type of `data` ([`CheckData::read`]); data of another shape reads
/// as [`CheckData::None`], so a result file of another goready version still reads.
impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let c = CheckFile::deserialize(d)?;
        Ok(Check {
            data: CheckData::read(&c.id, c.data),
            id: c.id,
            suite: c.suite,
            target: c.target,
            status: c.status,
            severity: c.severity,
            title: c.title,
            message: c.message,
            file: c.file,
            line: c.line,
            duration_ms: c.duration_ms,
            fingerprint: c.fingerprint,
            settled_by: c.settled_by,
            finding: c.finding,
            change: c.change,
        })
    }
}

/// Builds a [`Check`] so that every check carries the same fields, computed the same way.
#[derive(Debug, Clone)]
pub struct CheckBuilder {
    rule: Rule,
    title: Option<String>,
    target: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    severity: Severity,
    data: CheckData,
    duration_ms: u64,
}

impl CheckBuilder {
    /// The matrix target, binary or package this check is about.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// A title of this check's own instead of the rule's (a test's name). It is part of the
    /// fingerprint, so checks of one rule and target stay apart.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// A source location (repo-relative path and optional line).
    pub fn location(mut self, file: impl Into<String>, line: Option<u32>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }

    /// Overrides the rule's default severity (e.g. `--require-static`).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Attaches the rule's typed facts (a struct of [`data`], or a [`CheckData`]).
    pub fn data(mut self, data: impl Into<CheckData>) -> Self {
        self.data = data.into();
        self
    }

    /// Records how long the check took.
    pub fn duration_ms(mut self, ms: u64) -> Self {
        self.duration_ms = ms;
        self
    }

    /// The rule holds.
    pub fn pass(self, message: impl Into<String>) -> Check {
        self.build(Status::Pass, message.into())
    }

    /// The rule does not hold.
    pub fn fail(self, message: impl Into<String>) -> Check {
        self.build(Status::Fail, message.into())
    }

    /// The rule does not apply; the message says why.
    pub fn skip(self, message: impl Into<String>) -> Check {
        self.build(Status::Skip, message.into())
    }

    /// The rule could not be evaluated; the message says why.
    pub fn error(self, message: impl Into<String>) -> Check {
        self.build(Status::Error, message.into())
    }

    fn build(self, status: Status, message: String) -> Check {
        let line = self.line.map(|l| l.to_string()).unwrap_or_default();
        let mut parts = vec![
            self.rule.id,
            placeless(self.target.as_deref().unwrap_or("")),
            placeless(self.file.as_deref().unwrap_or("")),
            &line,
        ];
        // Only a check's own title counts, so rule-titled fingerprints stay as they were.
        if let Some(title) = &self.title {
            parts.push(title);
        }
        let fingerprint = fingerprint(&parts);
        Check {
            id: self.rule.id.to_string(),
            suite: self.rule.suite.to_string(),
            target: self.target,
            status,
            severity: self.severity,
            title: self.title.unwrap_or_else(|| self.rule.title.to_string()),
            message,
            file: self.file,
            line: self.line,
            duration_ms: self.duration_ms,
            fingerprint,
            data: self.data,
            settled_by: None,
            finding: None,
            change: None,
        }
    }
}

/// A fingerprint part without the place a checkout sits in: an absolute path (a binary given
/// as `/tmp/x/dist/svc`, a file outside the working directory) counts by its file name only,
/// so the same code checked out in two directories fingerprints the same. Relative paths,
/// matrix targets and package paths are kept whole.
fn placeless(part: &str) -> &str {
    let path = Path::new(part);
    if path.is_absolute() {
        path.file_name().and_then(|n| n.to_str()).unwrap_or(part)
    } else {
        part
    }
}

/// A stable 64-bit FNV-1a digest of the parts, as 16 hex digits. Stable across runs, machines
/// and goready versions, which is all CI systems need to track a finding.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes().iter().chain(std::iter::once(&0u8)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// What one step (or a merge of steps) found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The tool that wrote it.
    pub tool: Tool,
    /// Every evaluated rule.
    pub checks: Vec<Check>,
    /// The baseline this report was judged against, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
    /// Against a baseline: its failures that are gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<Fixed>,
}

impl Default for Report {
    fn default() -> Self {
        Report {
            schema: SCHEMA.to_string(),
            tool: Tool::default(),
            checks: Vec::new(),
            baseline: None,
            fixed: Vec::new(),
        }
    }
}

impl Report {
    /// A report holding `checks`.
    pub fn new(checks: Vec<Check>) -> Self {
        Report {
            checks,
            ..Report::default()
        }
    }

    /// The checks that fail the job at `fail_on`: problems at or above it, and under
    /// `fail_on_new` (recorded in [`Report::baseline`]) only those that are not `existing`.
    pub fn failing(&self, fail_on: Severity) -> impl Iterator<Item = &Check> {
        let only_new = self.baseline.as_ref().is_some_and(|b| b.fail_on_new);
        self.checks.iter().filter(move |c| {
            c.fails_at(fail_on) && !(only_new && c.change == Some(Change::Existing))
        })
    }

    /// The process exit code (ARCHITECTURE.md, "The result contract"): 1 when a check fails at or above `fail_on`
    /// (only a new one under `fail_on_new`).
    pub fn exit_code(&self, fail_on: Severity) -> u8 {
        if self.failing(fail_on).next().is_some() {
            1
        } else {
            0
        }
    }

    /// Counts of checks per status: (pass, fail, skip, error).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let n = |s| self.checks.iter().filter(|c| c.status == s).count();
        (
            n(Status::Pass),
            n(Status::Fail),
            n(Status::Skip),
            n(Status::Error),
        )
    }

    /// Writes the report as pretty JSON, creating parent directories.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating directory {}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("writing result file {}", path.display()))
    }

    /// Reads a result file, refusing files of another schema.
    pub fn read_json(path: &Path) -> anyhow::Result<Report> {
        use anyhow::{Context, bail};
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading result file {}", path.display()))?;
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a goready result file", path.display()))?;
        if report.schema != SCHEMA {
            bail!(
                "{} has schema {:?}; this goready reads {SCHEMA:?}",
                path.display(),
                report.schema
            );
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    #[test]
    fn fingerprint_depends_on_target_and_location_not_on_message() {
        let a = Check::of(&registry::BINARY_STATIC).target("a").fail("one");
        let b = Check::of(&registry::BINARY_STATIC).target("a").pass("two");
        let c = Check::of(&registry::BINARY_STATIC).target("b").fail("one");
        let d = Check::of(&registry::BINARY_STATIC)
            .target("a")
            .location("main.go", Some(3))
            .fail("one");
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_ne!(a.fingerprint, d.fingerprint);
        assert_eq!(a.fingerprint.len(), 16);
    }

    #[test]
    fn fingerprints_do_not_depend_on_where_a_checkout_sits() {
        let at = |target: &str, file: &str| {
            Check::of(&registry::RUNTIME_START)
                .target(target)
                .location(file, Some(3))
                .fail("x")
                .fingerprint
        };
        assert_eq!(
            at("/tmp/a/dist/svc", "/tmp/a/go.mod"),
            at("/home/ci/work/b/dist/svc", "/home/ci/work/b/go.mod")
        );
        assert_ne!(at("dist/svc", "go.mod"), at("dist/other", "go.mod"));
        // Relative targets and locations keep their fingerprints as they were.
        assert_eq!(
            at("dist/svc", "go.mod"),
            fingerprint(&["runtime.start", "dist/svc", "go.mod", "3"])
        );
    }

    #[test]
    fn an_own_title_replaces_the_rules_and_keeps_checks_apart() {
        let plain = Check::of(&registry::BINARY_STATIC).target("a").pass("ok");
        let a = Check::of(&registry::BINARY_STATIC)
            .target("a")
            .title("TestA")
            .pass("ok");
        let b = Check::of(&registry::BINARY_STATIC)
            .target("a")
            .title("TestB")
            .pass("ok");
        assert_eq!(plain.title, registry::BINARY_STATIC.title);
        assert_eq!(a.title, "TestA");
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, plain.fingerprint);
        // Fingerprints of checks without an own title do not change.
        assert_eq!(
            plain.fingerprint,
            fingerprint(&["binary.static", "a", "", ""])
        );
    }

    #[test]
    fn exit_code_follows_fail_on() {
        let warn = Check::of(&registry::BINARY_PPROF_LINKED).fail("linked");
        assert_eq!(warn.severity, Severity::Warning);
        let report = Report::new(vec![warn]);
        assert_eq!(report.exit_code(Severity::Error), 0);
        assert_eq!(report.exit_code(Severity::Warning), 1);
        assert_eq!(report.exit_code(Severity::Notice), 1);
        let skipped = Report::new(vec![Check::of(&registry::BINARY_STATIC).skip("n/a")]);
        assert_eq!(skipped.exit_code(Severity::Notice), 0);
    }

    #[test]
    fn report_round_trips_through_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/result.json");
        let report = Report::new(vec![
            Check::of(&registry::BINARY_READABLE)
                .target("dist/svc")
                .data(data::ReadableData {
                    format: "ELF".into(),
                    platform: "linux/amd64".into(),
                    size: 12,
                })
                .pass("ELF linux/amd64 binary, 12 B"),
        ]);
        report.write_json(&path).unwrap();
        let back = Report::read_json(&path).unwrap();
        assert_eq!(back, report);
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(raw["schema"], "goready/v1");
        assert_eq!(raw["checks"][0]["status"], "pass");
        assert_eq!(raw["checks"][0]["severity"], "error");
        assert_eq!(
            raw["checks"][0]["data"],
            serde_json::json!({"format": "ELF", "platform": "linux/amd64", "size": 12})
        );
    }

    #[test]
    fn foreign_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(
            &path,
            r#"{"schema":"other/v9","tool":{"name":"x","version":"1"},"checks":[]}"#,
        )
        .unwrap();
        let err = Report::read_json(&path).unwrap_err().to_string();
        assert!(err.contains("other/v9"), "{err}");
    }
}
