//! JUnit XML through quick-junit, shaped for the readers CI systems use (GitLab, Jenkins,
//! GitHub test reporters, junitparser).
//!
//! - One `<testsuite>` per suite and target (`binary: dist/svc-linux-amd64`), in pipeline
//!   order; one `<testcase>` per check.
//! - `classname` is `goready.<suite>` plus the target; `name` is the rule id, or the Go test
//!   name for checks of the `test` suite that carry one in `data.test`. Both are stable
//!   across runs. GitLab collapses equal (classname, name) pairs, so a rule that reports twice
//!   on one target gets ` #2`, ` #3`… in the order the step produced them.
//! - `file` and `line` attributes where the check has a location.
//! - The reason is the *text* of `<failure>`/`<error>`/`<skipped>` (GitLab shows the text,
//!   not the `message` attribute); `type` carries the severity. Passing checks put their
//!   message in `<system-out>`.
//! - `time` is in seconds.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::model::{Check, Report, Status};
use crate::report::{docs_url, rule_title, subject, suite_rank};

/// The name of the root `<testsuites>` element.
const ROOT: &str = "goready";

/// The testsuite a check belongs to.
fn suite_name(c: &Check) -> String {
    match &c.target {
        Some(t) => format!("{}: {t}", c.suite),
        None => c.suite.clone(),
    }
}

/// The stable classname of a check's testcase.
pub fn classname(c: &Check) -> String {
    match &c.target {
        Some(t) => format!("goready.{} {t}", c.suite),
        None => format!("goready.{}", c.suite),
    }
}

/// The stable testcase name before de-duplication: a Go test's own name for the `test` suite
/// (from `data.test`), else the rule id.
fn base_name(c: &Check) -> String {
    subject(c).unwrap_or(&c.id).to_string()
}

/// The full reason shown for a problem or a skip: the message, then where and which rule.
fn reason(c: &Check) -> String {
    let mut text = c.message.clone();
    text.push_str("\n\n");
    if let Some(t) = &c.target {
        text.push_str(&format!("target: {t}\n"));
    }
    match (&c.file, c.line) {
        (Some(f), Some(l)) => text.push_str(&format!("location: {f}:{l}\n")),
        (Some(f), None) => text.push_str(&format!("location: {f}\n")),
        _ => {}
    }
    text.push_str(&format!(
        "rule: {} ({}, {}) {}",
        c.id,
        rule_title(c),
        c.severity,
        docs_url(&c.id)
    ));
    text
}

/// The first line of the message, bounded, for the `message` attribute.
fn short(message: &str) -> String {
    let line = message.lines().next().unwrap_or("");
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

fn test_case(c: &Check, name: String) -> TestCase {
    let status = match c.status {
        Status::Pass => TestCaseStatus::success(),
        Status::Fail | Status::Error => {
            let kind = if c.status == Status::Fail {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(short(&c.message))
                .set_type(c.severity.to_string())
                .set_description(reason(c));
            s
        }
        Status::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(short(&c.message)).set_description(reason(c));
            s
        }
    };
    let mut tc = TestCase::new(name, status);
    tc.set_classname(classname(c))
        .set_time(Duration::from_millis(c.duration_ms));
    if let Some(file) = &c.file {
        tc.extra.insert("file".into(), file.as_str().into());
        if let Some(line) = c.line {
            tc.extra.insert("line".into(), line.to_string().into());
        }
    }
    if c.status == Status::Pass {
        tc.set_system_out(c.message.as_str());
    }
    tc
}

/// Builds the JUnit document for a (merged) report.
pub fn to_junit(report: &Report) -> quick_junit::Report {
    // Group by (suite, target) in pipeline order, keeping the checks' own order inside.
    let mut groups: Vec<(String, String, Vec<&Check>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for c in &report.checks {
        let key = suite_name(c);
        let at = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((c.suite.clone(), key, Vec::new()));
            groups.len() - 1
        });
        groups[at].2.push(c);
    }
    groups.sort_by_key(|(suite, _, _)| suite_rank(suite));

    let mut doc = quick_junit::Report::new(ROOT);
    let mut total = Duration::ZERO;
    for (_, name, checks) in groups {
        let mut suite = TestSuite::new(name);
        let mut used: HashMap<(String, String), usize> = HashMap::new();
        let mut time = Duration::ZERO;
        for c in checks {
            let base = base_name(c);
            let n = used.entry((classname(c), base.clone())).or_insert(0);
            *n += 1;
            let name = if *n == 1 {
                base
            } else {
                format!("{base} #{n}")
            };
            time += Duration::from_millis(c.duration_ms);
            suite.add_test_case(test_case(c, name));
        }
        suite.set_time(time);
        total += time;
        doc.add_test_suite(suite);
    }
    doc.set_time(total);
    doc
}

/// Writes the JUnit XML for `report` to `path`, creating parent directories.
pub fn write(report: &Report, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
    }
    let xml = to_junit(report)
        .to_string()
        .context("serialising the JUnit report")?;
    std::fs::write(path, xml).with_context(|| format!("writing JUnit XML to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    #[test]
    fn one_rule_failing_twice_on_one_target_gets_distinct_names() {
        let report = Report::new(vec![
            Check::of(&registry::BINARY_VERSION)
                .target("dist/svc")
                .fail("first"),
            Check::of(&registry::BINARY_VERSION)
                .target("dist/svc")
                .fail("second"),
            Check::of(&registry::BINARY_VERSION)
                .target("dist/other")
                .fail("third"),
        ]);
        let doc = to_junit(&report);
        let names: Vec<(String, String)> = doc
            .test_suites
            .iter()
            .flat_map(|s| s.test_cases.iter())
            .map(|t| {
                (
                    t.classname.as_ref().unwrap().as_str().to_string(),
                    t.name.as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("goready.binary dist/svc".into(), "binary.version".into()),
                ("goready.binary dist/svc".into(), "binary.version #2".into()),
                ("goready.binary dist/other".into(), "binary.version".into()),
            ]
        );
        assert_eq!(doc.test_suites.len(), 2);
    }

    #[test]
    fn reason_is_the_element_text_and_severity_the_type() {
        let c = Check::of(&registry::BINARY_STATIC)
            .target("dist/svc")
            .location("cmd/svc/main.go", Some(12))
            .duration_ms(1500)
            .fail("dynamically linked: needs libc.so.6");
        let xml = to_junit(&Report::new(vec![c])).to_string().unwrap();
        assert!(
            xml.contains(r#"<failure message="dynamically linked: needs libc.so.6" type="warning">dynamically linked: needs libc.so.6"#),
            "{xml}"
        );
        assert!(xml.contains(r#"file="cmd/svc/main.go" line="12""#), "{xml}");
        assert!(xml.contains(r#"time="1.500""#), "{xml}");
        assert!(xml.contains("#binary-static"), "{xml}");
    }
}
