//! Renderers that consume [`crate::model::Report`]s. Steps never format their own checks:
//! `goready report` merges result files and hands the merged report to one module per output
//! (JUnit, GitHub, GitLab, SARIF, Markdown, the terminal).

pub mod api;
pub mod checkrun;
pub mod command;
pub mod github;
pub mod gitlab;
pub mod hub;
pub mod junit;
pub mod markdown;
pub mod publish;
pub mod sarif;
pub mod text;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::model::findings::{count_by_severity, findings};
use crate::model::{Baseline, Check, Report, Severity, Status};

/// Reads an environment variable; empty counts as unset. Outputs take the environment as a
/// function so that tests and `goready check` can hand them one.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as an [`Env`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Where docs/checks.md is published; every rule's help link points into it.
pub const DOCS_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/checks.md");

/// The docs/checks.md anchor of a rule id (the one place it is computed), also for ids this
/// goready does not know (a result file written by a newer version): `binary.pprof_linked` →
/// `binary-pprof-linked`.
pub fn anchor(id: &str) -> String {
    id.replace(['.', '_'], "-")
}

/// The documentation link of a rule id.
pub fn docs_url(id: &str) -> String {
    format!("{DOCS_URL}#{}", anchor(id))
}

/// The repo-relative file that findings without a source location are attached to (line 1)
/// where a format needs a file: SARIF and GitLab Code Quality. It is where a rule is
/// configured or turned off.
pub const DEFAULT_FALLBACK_FILE: &str = "goready.toml";

/// A check's title when it is its own (a Go test's name, set with `CheckBuilder::title`)
/// rather than its rule's.
pub fn own_title(c: &Check) -> Option<&str> {
    match crate::registry::find(&c.id) {
        Some(rule) if rule.title != c.title => Some(c.title.as_str()),
        _ => None,
    }
}

/// The title of the rule a check belongs to (the registry's; the check's own for ids this
/// goready does not know).
pub fn rule_title(c: &Check) -> &str {
    crate::registry::find(&c.id).map_or(c.title.as_str(), |r| r.title)
}

/// What a check is about below its target, when the step says: its own title (a Go test's
/// name), else the Go test its data names.
pub fn subject(c: &Check) -> Option<&str> {
    if let Some(title) = own_title(c) {
        return Some(title);
    }
    Some(c.data.test_name()).filter(|t| !t.is_empty())
}

/// Merges reports (shards of a CI matrix, several steps) into one, in input order.
///
/// A check that appears twice with everything but its duration equal — the same result file
/// passed twice, or a step every shard repeats — is kept once, so counts and the verdict are
/// not inflated. Checks that share a fingerprint but differ in anything else (outcome,
/// message, data such as the Go test they are about) are all kept.
pub fn merge(reports: impl IntoIterator<Item = Report>) -> Report {
    let mut seen = HashSet::new();
    let mut checks = Vec::new();
    for report in reports {
        for check in report.checks {
            let key = serde_json::to_string(&Check {
                duration_ms: 0,
                ..check.clone()
            })
            .unwrap_or_default();
            if seen.insert(key) {
                checks.push(check);
            }
        }
    }
    Report::new(checks)
}

/// Fingerprints for a list of checks that are unique within it and stable across runs: the
/// check's own, refined by its [`subject`] (checks of different Go tests in one package share
/// id, target and location), then by occurrence for what is still equal.
pub fn unique_fingerprints(checks: &[&Check]) -> Vec<String> {
    let bases: Vec<String> = checks
        .iter()
        .map(|c| match subject(c) {
            Some(s) => crate::model::fingerprint(&[&c.fingerprint, s]),
            None => c.fingerprint.clone(),
        })
        .collect();
    unique_ids(&bases.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Makes identities unique within a list and stable across runs: the first of equal ones is
/// kept, later ones are refined by their occurrence.
pub fn unique_ids(ids: &[&str]) -> Vec<String> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    ids.iter()
        .map(|id| {
            let n = seen.entry(id).or_insert(0);
            *n += 1;
            if *n == 1 {
                id.to_string()
            } else {
                crate::model::fingerprint(&[id, &n.to_string()])
            }
        })
        .collect()
}

/// Expands the command line's inputs: files as given, directories walked (sorted, recursively)
/// for `*.json` files — what `actions/download-artifact` leaves behind.
pub fn expand_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let before = files.len();
            walk_json(input, &mut files)?;
            if files.len() == before {
                anyhow::bail!(
                    "{} holds no *.json result files; pass the files written by --json",
                    input.display()
                );
            }
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

fn walk_json(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and merges result files. A file that cannot be read does not stop the others: it is
/// returned with the reason, and the caller exits 2 after writing every output it can.
pub fn read_and_merge(files: &[PathBuf]) -> (Report, Vec<(PathBuf, anyhow::Error)>) {
    let mut reports = Vec::new();
    let mut unreadable = Vec::new();
    for file in files {
        match Report::read_json(file) {
            Ok(r) => reports.push(r),
            Err(e) => unreadable.push((file.clone(), e)),
        }
    }
    (merge(reports), unreadable)
}

/// The verdict of a merged report at a fail level: what every output agrees on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The level that fails the job.
    pub fail_on: Severity,
    /// Findings that fail the job: failed (or errored) at or above `fail_on` (only new ones
    /// under `--fail-on-new`).
    pub failing: usize,
    /// Findings per severity, failing or not: (errors, warnings, notices).
    pub by_severity: (usize, usize, usize),
    /// Only new findings fail the job.
    pub only_new: bool,
}

impl Verdict {
    /// Judges `report` at `fail_on`.
    pub fn of(report: &Report, fail_on: Severity) -> Verdict {
        let failing: HashSet<*const Check> =
            report.failing(fail_on).map(|c| c as *const Check).collect();
        let found = findings(report);
        Verdict {
            fail_on,
            failing: found.iter().filter(|f| f.fails(&failing)).count(),
            by_severity: count_by_severity(&found),
            only_new: report.baseline.as_ref().is_some_and(|b| b.fail_on_new),
        }
    }

    /// Nothing failed at or above the fail level.
    pub fn passed(&self) -> bool {
        self.failing == 0
    }

    /// "2 errors, 1 warning, 9 notices": findings by severity, the words every surface uses.
    pub fn severities(&self) -> String {
        let (e, w, n) = self.by_severity;
        format!(
            "{e} error{}, {w} warning{}, {n} notice{}",
            plural(e),
            plural(w),
            plural(n)
        )
    }

    /// The first line of every surface: ready or not, and findings by severity. Only what
    /// fails the job is called failed.
    pub fn headline(&self) -> String {
        let new = if self.only_new { " new" } else { "" };
        if self.passed() {
            format!(
                "ready: nothing{new} fails at --fail-on {}; findings: {}",
                self.fail_on,
                self.severities()
            )
        } else {
            format!(
                "not ready: {}{new} finding{} failed at --fail-on {}; findings: {}",
                self.failing,
                plural(self.failing),
                self.fail_on,
                self.severities()
            )
        }
    }
}

/// "" for one, "s" for more.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reads `--baseline FILE|DIR` (a directory's `*.json` files are merged, as downloaded
/// artifacts are laid out). Nothing there is [`Baseline::Missing`]; anything else that does
/// not read as results is [`Baseline::Unreadable`] with the reason — never a silent pass.
pub fn read_baseline(path: &Path) -> Baseline {
    if !path.exists() {
        return Baseline::Missing;
    }
    let files = match expand_inputs(&[path.to_path_buf()]) {
        Ok(files) => files,
        Err(e) => return Baseline::Unreadable(format!("{e:#}")),
    };
    let (merged, unreadable) = read_and_merge(&files);
    match unreadable.into_iter().next() {
        Some((file, e)) => Baseline::Unreadable(format!("{}: {e:#}", file.display())),
        None => Baseline::Loaded(merged),
    }
}

/// Suites in pipeline order; unknown suites (a newer goready) sort after them by name.
pub fn suite_rank(suite: &str) -> (usize, String) {
    const ORDER: [&str; 5] = ["env", "build", "binary", "runtime", "test"];
    let rank = ORDER
        .iter()
        .position(|s| *s == suite)
        .unwrap_or(ORDER.len());
    (rank, suite.to_string())
}

/// How bad a check is, for "most severe first": errors and fails by severity, then skips,
/// then passes.
pub fn badness(c: &Check) -> (u8, Severity) {
    let status = match c.status {
        Status::Error => 3,
        Status::Fail => 2,
        Status::Skip => 1,
        Status::Pass => 0,
    };
    if c.status.is_problem() {
        (status, c.severity)
    } else {
        (status, Severity::Notice)
    }
}

/// Orders problems most severe first (severity, then error before fail), keeping the input
/// order otherwise; stable, so outputs do not reshuffle between runs.
pub fn most_severe_first<'a>(checks: impl IntoIterator<Item = &'a Check>) -> Vec<&'a Check> {
    let mut v: Vec<&Check> = checks.into_iter().collect();
    v.sort_by_key(|c| {
        let (status, sev) = badness(c);
        (
            std::cmp::Reverse(c.status.is_problem()),
            std::cmp::Reverse(sev),
            std::cmp::Reverse(status),
        )
    });
    v
}

/// Removes `secret` from `text` wherever it appears: a last line of defence so that no error
/// message from an HTTP stack or server echo can put a token in a log.
pub fn redact(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_string();
    }
    text.replace(secret, "***")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    #[test]
    fn every_rule_has_a_plain_anchor() {
        for rule in registry::all() {
            let a = anchor(rule.id);
            assert!(
                a.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{a}"
            );
        }
        assert_eq!(anchor("runtime.heap_growth"), "runtime-heap-growth");
    }

    #[test]
    fn docs_url_points_into_checks_md() {
        assert!(docs_url("binary.static").ends_with("/docs/checks.md#binary-static"));
        assert!(docs_url("binary.static").starts_with("https://"));
    }

    #[test]
    fn merge_drops_exact_repeats_but_keeps_differing_outcomes() {
        let a = Check::of(&registry::BINARY_STATIC)
            .target("dist/a")
            .fail("dynamic");
        let b = Check::of(&registry::BINARY_STRIPPED)
            .target("dist/a")
            .pass("stripped");
        let a_again = a.clone();
        let a_other = Check::of(&registry::BINARY_STATIC)
            .target("dist/a")
            .pass("static now");
        let a_slower = Check {
            duration_ms: 900,
            ..a.clone()
        };
        let a_other_test = Check {
            data: crate::model::data::TestData {
                test: "TestOther".into(),
                ..Default::default()
            }
            .into(),
            ..a.clone()
        };
        let merged = merge([
            Report::new(vec![a.clone(), b.clone()]),
            Report::new(vec![
                a_again,
                a_other.clone(),
                a_slower,
                a_other_test.clone(),
            ]),
        ]);
        assert_eq!(merged.checks, vec![a, b, a_other, a_other_test]);
    }

    #[test]
    fn verdict_counts_only_problems_at_or_above_the_fail_level() {
        let report = Report::new(vec![
            Check::of(&registry::BINARY_STATIC).fail("dynamic"), // warning
            Check::of(&registry::BINARY_VERSION).fail("missing"), // error
            Check::of(&registry::BINARY_DWARF).fail("dwarf"),    // notice
            Check::of(&registry::BINARY_PIE).skip("n/a"),
        ]);
        assert_eq!(Verdict::of(&report, Severity::Error).failing, 1);
        assert_eq!(Verdict::of(&report, Severity::Error).by_severity, (1, 1, 1));
        assert_eq!(Verdict::of(&report, Severity::Warning).failing, 2);
        assert_eq!(Verdict::of(&report, Severity::Notice).failing, 3);
        assert!(!Verdict::of(&report, Severity::Error).passed());
    }

    #[test]
    fn most_severe_first_is_stable_within_a_level() {
        let w1 = Check::of(&registry::BINARY_STATIC).target("1").fail("w");
        let e = Check::of(&registry::BINARY_VERSION).target("2").fail("e");
        let p = Check::of(&registry::BINARY_PIE).target("3").pass("p");
        let w2 = Check::of(&registry::BINARY_VCS).target("4").fail("w");
        let err = Check::of(&registry::BINARY_READABLE).target("5").error("x");
        let all = [w1.clone(), e.clone(), p.clone(), w2.clone(), err.clone()];
        let ids: Vec<&str> = most_severe_first(&all)
            .iter()
            .map(|c| c.target.as_deref().unwrap())
            .collect();
        assert_eq!(ids, ["5", "2", "1", "4", "3"]);
    }

    #[test]
    fn expand_inputs_walks_directories_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("shard-2")).unwrap();
        std::fs::create_dir_all(dir.path().join("shard-1")).unwrap();
        std::fs::write(dir.path().join("shard-2/r.json"), "{}").unwrap();
        std::fs::write(dir.path().join("shard-1/r.json"), "{}").unwrap();
        std::fs::write(dir.path().join("shard-1/notes.txt"), "").unwrap();
        let files = expand_inputs(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(
            files,
            vec![
                dir.path().join("shard-1/r.json"),
                dir.path().join("shard-2/r.json")
            ]
        );
        let empty = tempfile::tempdir().unwrap();
        let err = expand_inputs(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(err.to_string().contains("no *.json"), "{err}");
    }

    #[test]
    fn fingerprints_are_unique_per_go_test_and_stable_across_runs() {
        let go_test = |name: &str| {
            Check::of(&registry::TEST_GO_TEST)
                .target("example.com/svc")
                .data(crate::model::data::TestData {
                    test: name.into(),
                    ..Default::default()
                })
                .fail("failed")
        };
        let a = go_test("TestA");
        let b = go_test("TestB");
        let twice = Check::of(&registry::BINARY_VERSION).target("x").fail("1");
        let first = unique_fingerprints(&[&a, &b, &twice, &twice]);
        let unique: HashSet<&String> = first.iter().collect();
        assert_eq!(unique.len(), 4);
        // TestB keeps its fingerprint when TestA disappears (not an ordinal).
        assert_eq!(unique_fingerprints(&[&b])[0], first[1]);
        assert_eq!(first[2], twice.fingerprint);
    }

    #[test]
    fn a_baseline_is_a_file_or_a_directory_missing_or_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_baseline(&dir.path().join("none.json")),
            Baseline::Missing
        ));
        let shard = |name: &str, target: &str| {
            let report = Report::new(vec![
                Check::of(&registry::BINARY_STRIPPED)
                    .target(target)
                    .fail("symbols"),
            ]);
            report
                .write_json(&dir.path().join("base").join(name))
                .unwrap();
        };
        shard("a.json", "a");
        shard("b.json", "b");
        match read_baseline(&dir.path().join("base")) {
            Baseline::Loaded(report) => assert_eq!(report.checks.len(), 2),
            other => panic!("{other:?}"),
        }
        std::fs::write(dir.path().join("base/c.json"), "[]").unwrap();
        match read_baseline(&dir.path().join("base")) {
            Baseline::Unreadable(why) => assert!(why.contains("c.json"), "{why}"),
            other => panic!("{other:?}"),
        }
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(matches!(read_baseline(&empty), Baseline::Unreadable(_)));
    }

    #[test]
    fn redact_removes_every_occurrence() {
        assert_eq!(
            redact("a ghp_secret b ghp_secret", "ghp_secret"),
            "a *** b ***"
        );
        assert_eq!(redact("abc", ""), "abc");
    }
}
