//! Findings: what a person reads. A check is one rule on one target; a [`Finding`] is the
//! failed checks that share a rule and a cause (the same explanation), with the targets they
//! hold on, plus the checks of other rules that this cause explains (settling evidence the
//! rule registry declares, [`super::Evidence`]).
//!
//! Everything here is computed once from a [`Report`] ([`judge`]) and consumed by every
//! surface in `report/`; result files and JUnit keep one check per target, each failed check
//! carrying its finding's identity (`finding`) and, against a baseline, its `change`.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{Check, CheckData, Registry, Report, Settles, Severity, Status, fingerprint};

/// Against a baseline: whether a failed check is new in this run or was there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// The baseline did not fail this way.
    New,
    /// The baseline failed the same way (same fingerprint).
    Existing,
}

/// A failure of the baseline that is gone in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fixed {
    /// The rule id.
    pub id: String,
    /// The target it failed on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The check's title.
    pub title: String,
    /// The check's fingerprint in the baseline.
    pub fingerprint: String,
}

/// What became of the baseline asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    /// Read; every failed check is `new` or `existing`.
    Loaded,
    /// Does not exist (yet): the first run on a repository. Judged as no baseline.
    Missing,
    /// Exists but could not be read: judged as no baseline, and said as a warning.
    Unreadable,
}

/// The baseline a report was judged against, as recorded in the result file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineInfo {
    /// The file or directory as given.
    pub path: String,
    /// Whether it was read.
    pub state: BaselineState,
    /// Why it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Only new failures fail the job (`--fail-on-new`).
    #[serde(default)]
    pub fail_on_new: bool,
}

/// A baseline as read from disk.
#[derive(Debug, Clone)]
pub enum Baseline {
    /// The base's merged result.
    Loaded(Report),
    /// Nothing at the path.
    Missing,
    /// Something at the path that is not a readable result; the reason.
    Unreadable(String),
}

/// One cause, on every target it holds on.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    /// Stable identity: the rule and the cause, never targets, paths, ports or numbers.
    pub id: String,
    /// The failed checks of one rule and one cause, one per target, in report order.
    pub checks: Vec<&'a Check>,
    /// Failed checks of other rules that this cause explains (they point at it).
    pub explains: Vec<&'a Check>,
}

impl<'a> Finding<'a> {
    /// The first check: its rule, title and message speak for the finding.
    pub fn lead(&self) -> &'a Check {
        self.checks[0]
    }

    /// Every check of the finding: its own, then those it explains.
    pub fn all(&self) -> impl Iterator<Item = &'a Check> + '_ {
        self.checks.iter().chain(&self.explains).copied()
    }

    /// Its failed checks: its own and the failed ones it explains (an explained check may also
    /// be a skip whose reason is this cause).
    pub fn problems(&self) -> impl Iterator<Item = &'a Check> + '_ {
        self.all().filter(|c| c.status.is_problem())
    }

    /// The most severe of its failed checks (an explained symptom may weigh more than its
    /// cause).
    pub fn severity(&self) -> Severity {
        self.problems()
            .map(|c| c.severity)
            .max()
            .unwrap_or(Severity::Notice)
    }

    /// `Error` when a check could not be evaluated, else `Fail`.
    pub fn status(&self) -> Status {
        if self.checks.iter().any(|c| c.status == Status::Error) {
            Status::Error
        } else {
            Status::Fail
        }
    }

    /// The rule ids of the checks it explains, each once, in report order.
    pub fn explained_rules(&self) -> Vec<&'a str> {
        let mut seen = HashSet::new();
        self.explains
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| seen.insert(*id))
            .collect()
    }

    /// How many distinct targets the checks it explains are on (a check without one counts).
    pub fn explained_targets(&self) -> usize {
        self.explains
            .iter()
            .map(|c| c.target.as_deref())
            .collect::<HashSet<_>>()
            .len()
    }

    /// "explains binary.buildinfo, binary.vcs on 5 targets", when it explains anything.
    pub fn explains_line(&self) -> Option<String> {
        if self.explains.is_empty() {
            return None;
        }
        let n = self.explained_targets();
        Some(format!(
            "explains {} on {n} target{}",
            self.explained_rules().join(", "),
            if n == 1 { "" } else { "s" }
        ))
    }

    /// The targets it holds on, each once, in report order.
    pub fn targets(&self) -> Vec<&'a str> {
        let mut seen = HashSet::new();
        self.checks
            .iter()
            .filter_map(|c| c.target.as_deref())
            .filter(|t| seen.insert(*t))
            .collect()
    }

    /// `New` when any of its checks is new, `Existing` when all are, `None` without a
    /// baseline.
    pub fn change(&self) -> Option<Change> {
        let mut changes = self.problems().map(|c| c.change);
        let first = changes.next().flatten()?;
        let mut all_existing = first == Change::Existing;
        for c in changes {
            match c {
                Some(Change::Existing) => {}
                _ => all_existing = false,
            }
        }
        Some(if all_existing {
            Change::Existing
        } else {
            Change::New
        })
    }

    /// Whether it fails the job: one of its checks is among [`Report::failing`].
    pub fn fails(&self, failing: &HashSet<*const Check>) -> bool {
        self.all().any(|c| failing.contains(&(c as *const Check)))
    }
}

/// A message with what varies between runs and checkouts taken out: the target's name,
/// absolute paths and numbers (ports, pids, sizes, durations). Two checks whose messages
/// agree on the rest say the same thing.
fn cause_text(c: &Check) -> String {
    let mut text = c.message.trim_end().to_string();
    if let Some(t) = c.target.as_deref().filter(|t| !t.is_empty()) {
        text = replace_word(&text, t, "<target>");
    }
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            if w.trim_start_matches(['`', '"', '(', '\'']).starts_with('/') {
                "<path>".to_string()
            } else {
                let mut out = String::with_capacity(w.len());
                let mut digits = false;
                for ch in w.chars() {
                    if ch.is_ascii_digit() {
                        if !digits {
                            out.push('#');
                        }
                        digits = true;
                    } else {
                        digits = false;
                        out.push(ch);
                    }
                }
                out
            }
        })
        .collect();
    words.join(" ")
}

/// `text` with every occurrence of `word` that is not part of a longer word replaced.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().last().or_else(|| out.chars().last());
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if edge(before) && edge(after) {
            out.push_str(with);
        } else {
            out.push_str(word);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// The identity of the finding a failed check is part of (before settling).
pub fn finding_id(c: &Check) -> String {
    // A known vulnerability is one finding per advisory, whatever level, symbols and severity
    // each binary shows it at: the advisory is the cause (`binary.vuln` data is read only for
    // that rule).
    if let CheckData::Vuln(v) = &c.data {
        return fingerprint(&["finding", &c.id, &v.id]);
    }
    let line = c.line.map(|l| l.to_string()).unwrap_or_default();
    // Checks of different Go tests are different causes.
    let test = c.data.test_name();
    fingerprint(&[
        "finding",
        &c.id,
        test,
        &c.severity.to_string(),
        &c.status.to_string(),
        &c.title,
        c.file.as_deref().unwrap_or(""),
        &line,
        &cause_text(c),
    ])
}

/// The first clause of a message ("net/http/pprof is compiled in: serve it …" → "net/http/pprof
/// is compiled in").
fn first_clause(message: &str) -> &str {
    let first = message.lines().next().unwrap_or("");
    first.split(": ").next().unwrap_or(first).trim_end()
}

/// Applies every rule's settling evidence (the registry's `settled_by`) to the report's failed
/// checks; the one place it happens. Idempotent: a settled check is not settled again.
/// `registry` finds a check's rule (`crate::registry::find`).
pub fn settle(report: &mut Report, registry: Registry) {
    for i in 0..report.checks.len() {
        let c = &report.checks[i];
        // A skip can have a cause too (no VCS stamp because stamping was off); only a fail
        // can be disproved.
        if !matches!(c.status, Status::Fail | Status::Skip) || c.settled_by.is_some() {
            continue;
        }
        let Some(rule) = registry(&c.id) else {
            continue;
        };
        for evidence in rule.settled_by {
            let candidates: Vec<&Check> = report
                .checks
                .iter()
                .filter(|e| e.id == evidence.by)
                .filter(|e| !evidence.same_target || e.target == c.target)
                .filter(|e| (evidence.applies)(c, e))
                .collect();
            let failed = candidates.iter().find(|e| e.status.is_problem());
            let passed = candidates.iter().find(|e| e.status == Status::Pass);
            let on = |e: &Check| match &e.target {
                Some(t) if e.target != c.target => format!(" on {t}"),
                _ => String::new(),
            };
            let settled = match (evidence.settles, failed, passed) {
                (Settles::Proof, _, _) if c.status == Status::Skip => None,
                (Settles::Proof, None, Some(e)) => Some((
                    Status::Pass,
                    None,
                    format!(
                        "{}; {}, proven by {}{}",
                        first_clause(&c.message),
                        e.message.trim_end(),
                        e.id,
                        on(e)
                    ),
                )),
                (Settles::Proof, Some(e), _) => Some((
                    Status::Fail,
                    Some(e.id.clone()),
                    format!(
                        "{}; see {}{}: {}",
                        c.message.trim_end(),
                        e.id,
                        on(e),
                        e.message.trim_end()
                    ),
                )),
                (Settles::Cause, Some(e), _) => Some((
                    c.status,
                    Some(e.id.clone()),
                    format!(
                        "{}; caused by {}{}: {}",
                        c.message.trim_end(),
                        e.id,
                        on(e),
                        e.message.trim_end()
                    ),
                )),
                _ => None,
            };
            if let Some((status, by, message)) = settled {
                let c = &mut report.checks[i];
                c.status = status;
                c.settled_by = by.or_else(|| Some(evidence.by.to_string()));
                c.message = message;
                break;
            }
        }
    }
}

/// The key a failed check is matched by against a baseline: its fingerprint, refined by the
/// Go test it is about (checks of different tests in one package share a fingerprint).
fn match_key(c: &Check) -> (String, String) {
    let test = c.data.test_name();
    (c.fingerprint.clone(), test.to_string())
}

/// Marks every failed check `new` or `existing` against `base` by fingerprint, and lists the
/// base's failures that are gone as `fixed`.
pub fn compare(report: &mut Report, base: &Report) {
    let base_problems: HashSet<(String, String)> = base
        .checks
        .iter()
        .filter(|c| c.status.is_problem())
        .map(match_key)
        .collect();
    let mut head_problems = HashSet::new();
    for c in &mut report.checks {
        if c.status.is_problem() {
            let key = match_key(c);
            c.change = Some(if base_problems.contains(&key) {
                Change::Existing
            } else {
                Change::New
            });
            head_problems.insert(key);
        } else {
            c.change = None;
        }
    }
    let mut listed = HashSet::new();
    report.fixed = base
        .checks
        .iter()
        .filter(|c| c.status.is_problem())
        .filter(|c| {
            let key = match_key(c);
            !head_problems.contains(&key) && listed.insert(key)
        })
        .map(|c| Fixed {
            id: c.id.clone(),
            target: c.target.clone(),
            title: c.title.clone(),
            fingerprint: c.fingerprint.clone(),
        })
        .collect();
}

/// Judges a merged report once, before anything is written or rendered: settles checks by
/// their rules' evidence, gives every failed check its finding's identity and, with a
/// baseline, its change and the fixed list. `registry` finds a check's rule
/// (`crate::registry::find`).
pub fn judge(
    report: &mut Report,
    registry: Registry,
    baseline: Option<(&str, &Baseline)>,
    fail_on_new: bool,
) {
    settle(report, registry);
    for c in &mut report.checks {
        c.finding = None;
        c.change = None;
    }
    report.fixed.clear();
    report.baseline = None;
    let ids: Vec<Option<String>> = findings(report)
        .iter()
        .flat_map(|f| f.all().map(|c| (c as *const Check, f.id.clone())))
        .fold(vec![None; report.checks.len()], |mut ids, (ptr, id)| {
            if let Some(i) = report.checks.iter().position(|c| std::ptr::eq(c, ptr)) {
                ids[i] = Some(id);
            }
            ids
        });
    for (c, id) in report.checks.iter_mut().zip(ids) {
        c.finding = id;
    }
    if let Some((path, base)) = baseline {
        let (state, detail) = match base {
            Baseline::Loaded(base) => {
                compare(report, base);
                (BaselineState::Loaded, None)
            }
            Baseline::Missing => (BaselineState::Missing, None),
            Baseline::Unreadable(why) => (BaselineState::Unreadable, Some(why.clone())),
        };
        report.baseline = Some(BaselineInfo {
            path: path.to_string(),
            state,
            detail,
            fail_on_new,
        });
    }
}

/// The findings of a report, most severe first (then new before existing, then report
/// order). Works on any report: a check's finding is recomputed, not read from the file.
pub fn findings(report: &Report) -> Vec<Finding<'_>> {
    let mut out: Vec<Finding> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let problems = || report.checks.iter().filter(|c| c.status.is_problem());
    for c in problems().filter(|c| c.settled_by.is_none()) {
        let id = finding_id(c);
        let key = (c.id.clone(), id.clone());
        match index.get(&key) {
            Some(&at) => out[at].checks.push(c),
            None => {
                index.insert(key, out.len());
                out.push(Finding {
                    id,
                    checks: vec![c],
                    explains: Vec::new(),
                });
            }
        }
    }
    // Settled checks join the finding of the check that settled them: failed ones, and skipped
    // ones whose reason is that finding's cause.
    let settled = report
        .checks
        .iter()
        .filter(|c| c.settled_by.is_some() && (c.status.is_problem() || c.status == Status::Skip));
    for c in settled {
        let by = c.settled_by.as_deref().unwrap_or_default();
        let host = out
            .iter()
            .position(|f| f.lead().id == by && f.checks.iter().any(|e| e.target == c.target))
            .or_else(|| out.iter().position(|f| f.lead().id == by));
        match host {
            Some(at) => out[at].explains.push(c),
            // A skip without its cause in this report says its reason itself.
            None if !c.status.is_problem() => {}
            // The evidence is not a problem in this report (merged from elsewhere): the check
            // stands on its own.
            None => out.push(Finding {
                id: finding_id(c),
                checks: vec![c],
                explains: Vec::new(),
            }),
        }
    }
    let rank = |f: &Finding| {
        (
            std::cmp::Reverse(f.severity()),
            f.status() != Status::Error,
            f.change() == Some(Change::Existing),
        )
    };
    out.sort_by_key(|f| rank(f));
    out
}

/// Findings counted per severity: (errors, warnings, notices).
pub fn count_by_severity(findings: &[Finding]) -> (usize, usize, usize) {
    let n = |s| findings.iter().filter(|f| f.severity() == s).count();
    (
        n(Severity::Error),
        n(Severity::Warning),
        n(Severity::Notice),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    fn targets() -> [&'static str; 3] {
        [
            "linux/amd64 cgo=0",
            "linux/arm64 cgo=0",
            "darwin/arm64 cgo=0",
        ]
    }

    #[test]
    fn one_cause_on_several_targets_is_one_finding() {
        let mut checks: Vec<Check> = targets()
            .iter()
            .map(|t| {
                Check::of(&registry::BINARY_STRIPPED)
                    .target(*t)
                    .fail("symbol table present: -ldflags=-s drops it")
            })
            .collect();
        checks.push(
            Check::of(&registry::BINARY_STATIC)
                .target("linux/amd64 cgo=1")
                .fail("dynamically linked: needs libc.so.6"),
        );
        let mut report = Report::new(checks);
        judge(&mut report, registry::find, None, false);
        let found = findings(&report);
        assert_eq!(found.len(), 2);
        // Most severe first.
        assert_eq!(found[0].lead().id, "binary.static");
        assert_eq!(found[1].targets(), targets());
        // Every failed check carries its finding's identity in the JSON.
        assert!(
            report.checks[..3]
                .iter()
                .all(|c| c.finding.as_deref() == Some(found[1].id.as_str()))
        );
    }

    #[test]
    fn finding_identity_ignores_ports_paths_and_numbers() {
        let a = Check::of(&registry::RUNTIME_PPROF_EXPOSED)
            .target("dist/svc")
            .fail("pprof answers on 0.0.0.0:40517 (public) via /tmp/a/dist/svc, 12 ms");
        let b = Check::of(&registry::RUNTIME_PPROF_EXPOSED)
            .target("dist/svc")
            .fail("pprof answers on 0.0.0.0:38211 (public) via /tmp/bb/dist/svc, 7 ms");
        assert_eq!(finding_id(&a), finding_id(&b));
        let other = Check::of(&registry::RUNTIME_PPROF_EXPOSED)
            .target("dist/svc")
            .fail("pprof answers on a wildcard listener");
        assert_ne!(finding_id(&a), finding_id(&other));
    }

    fn pprof_linked(target: &str) -> Check {
        Check::of(&registry::BINARY_PPROF_LINKED)
            .target(target)
            .fail("net/http/pprof is compiled in: serve it only on a loopback/admin listener")
    }

    #[test]
    fn a_passing_exposure_probe_proves_pprof_linked_harmless() {
        let mut report = Report::new(vec![
            pprof_linked("linux/amd64 cgo=0"),
            pprof_linked("linux/arm64 cgo=0"),
            Check::of(&registry::RUNTIME_PPROF_EXPOSED)
                .target("dist/svc_linux_amd64")
                .pass("pprof only on 127.0.0.1:35305 (loopback)"),
        ]);
        judge(&mut report, registry::find, None, false);
        let linked = &report.checks[0];
        assert_eq!(linked.status, Status::Pass);
        assert_eq!(
            linked.message,
            "net/http/pprof is compiled in; pprof only on 127.0.0.1:35305 (loopback), proven by runtime.pprof_exposed on dist/svc_linux_amd64"
        );
        assert_eq!(linked.settled_by.as_deref(), Some("runtime.pprof_exposed"));
        assert!(findings(&report).is_empty());
        // Settling twice changes nothing.
        let once = report.clone();
        judge(&mut report, registry::find, None, false);
        assert_eq!(report, once);
    }

    #[test]
    fn a_failing_exposure_probe_carries_the_static_suspicion_in_its_finding() {
        let mut report = Report::new(vec![
            pprof_linked("linux/amd64 cgo=0"),
            Check::of(&registry::RUNTIME_PPROF_EXPOSED)
                .target("dist/svc")
                .fail("pprof answers on the public listener 127.0.0.1:4000"),
        ]);
        judge(&mut report, registry::find, None, false);
        assert_eq!(report.checks[0].status, Status::Fail);
        assert!(
            report.checks[0]
                .message
                .contains("see runtime.pprof_exposed on dist/svc")
        );
        let found = findings(&report);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].lead().id, "runtime.pprof_exposed");
        assert_eq!(found[0].explains[0].id, "binary.pprof_linked");
        assert_eq!(report.checks[0].finding, report.checks[1].finding);
    }

    #[test]
    fn buildvcs_false_names_the_cause_of_devel_builds_once() {
        use crate::model::data::{BuildinfoData, GoflagsData, Module};
        let devel = |t: &str| {
            Check::of(&registry::BINARY_BUILDINFO)
                .target(t)
                .data(BuildinfoData {
                    main: Some(Module {
                        version: "(devel)".into(),
                        ..Module::default()
                    }),
                    ..BuildinfoData::default()
                })
                .fail("example.com/svc (devel): the main module has no version")
        };
        let goflags = Check::of(&registry::ENV_GOFLAGS)
            .data(GoflagsData {
                goflags: "-mod=readonly -buildvcs=false".into(),
            })
            .fail("GOFLAGS=-buildvcs=false: drops the commit");
        let unstamped = Check::of(&registry::BINARY_VCS)
            .target("a")
            .skip("no VCS stamp (built outside a repository, or with -buildvcs=false)");
        let mut report = Report::new(vec![devel("a"), devel("b"), unstamped, goflags]);
        judge(&mut report, registry::find, None, false);
        let found = findings(&report);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].lead().id, "env.goflags");
        let explained: Vec<&str> = found[0].explains.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            explained,
            ["binary.buildinfo", "binary.buildinfo", "binary.vcs"]
        );
        // The skip stays a skip (JUnit counts it so), naming its cause.
        assert_eq!(report.checks[2].status, Status::Skip);
        assert!(report.checks[2].message.contains("caused by env.goflags"));
        // The symptom weighs more than the cause's own severity.
        assert_eq!(found[0].severity(), Severity::Warning);

        // Without -buildvcs=false the (devel) version is a finding of its own.
        let mut report = Report::new(vec![
            devel("a"),
            Check::of(&registry::ENV_GOFLAGS)
                .data(GoflagsData {
                    goflags: "-mod=mod".into(),
                })
                .fail("GOFLAGS=-mod=mod"),
        ]);
        judge(&mut report, registry::find, None, false);
        assert_eq!(findings(&report).len(), 2);
    }

    #[test]
    fn a_version_never_embedded_explains_the_one_not_printed_on_that_target_only() {
        let mut report = Report::new(vec![
            Check::of(&registry::BINARY_VERSION)
                .target("a")
                .fail("1.0.0 is not embedded"),
            Check::of(&registry::BUILD_VERSION)
                .target("a")
                .fail("printed \"dev\""),
            Check::of(&registry::BUILD_VERSION)
                .target("b")
                .fail("printed \"dev\""),
        ]);
        judge(&mut report, registry::find, None, false);
        assert_eq!(
            report.checks[1].settled_by.as_deref(),
            Some("binary.version")
        );
        assert_eq!(report.checks[2].settled_by, None);
        assert_eq!(findings(&report).len(), 2);
    }

    #[test]
    fn baseline_marks_new_existing_and_fixed() {
        let base = Report::new(vec![
            Check::of(&registry::BINARY_STRIPPED)
                .target("a")
                .fail("symbols"),
            Check::of(&registry::RUNTIME_PPROF_EXPOSED)
                .target("svc")
                .fail("public"),
        ]);
        let mut head = Report::new(vec![
            Check::of(&registry::BINARY_STRIPPED)
                .target("a")
                .fail("symbols"),
            Check::of(&registry::BINARY_STRIPPED)
                .target("b")
                .fail("symbols"),
            Check::of(&registry::RUNTIME_PPROF_EXPOSED)
                .target("svc")
                .pass("loopback"),
        ]);
        judge(
            &mut head,
            registry::find,
            Some(("base.json", &Baseline::Loaded(base))),
            true,
        );
        assert_eq!(head.checks[0].change, Some(Change::Existing));
        assert_eq!(head.checks[1].change, Some(Change::New));
        assert_eq!(head.checks[2].change, None);
        assert_eq!(head.fixed.len(), 1);
        assert_eq!(head.fixed[0].id, "runtime.pprof_exposed");
        // One finding holds both targets; one of them is new, so the finding is.
        let found = findings(&head);
        assert_eq!(found[0].change(), Some(Change::New));
        // Only the new check fails the job under fail_on_new.
        let failing: Vec<&str> = head
            .failing(Severity::Notice)
            .map(|c| c.target.as_deref().unwrap())
            .collect();
        assert_eq!(failing, ["b"]);
    }

    #[test]
    fn a_missing_baseline_is_recorded_and_judged_as_none() {
        let mut head = Report::new(vec![Check::of(&registry::BINARY_STRIPPED).fail("symbols")]);
        judge(
            &mut head,
            registry::find,
            Some(("base.json", &Baseline::Missing)),
            true,
        );
        let info = head.baseline.as_ref().unwrap();
        assert_eq!(info.state, BaselineState::Missing);
        assert_eq!(head.checks[0].change, None);
        assert_eq!(head.exit_code(Severity::Notice), 1);
    }
}
