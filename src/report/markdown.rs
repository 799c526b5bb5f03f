//! The Markdown report shared by the GitHub job summary, the sticky PR comment and the GitLab
//! MR note: the verdict, a table per suite (problems first, passes folded away), the top
//! allocation sites and the binary matrix when the reports carry them — clipped to the
//! destination's size limit with a pointer to the full report.
//!
//! Everything from a check is untrusted text: table cells are escaped so a message cannot
//! break the table, inject HTML, or @-mention anyone.

use std::collections::HashMap;
use std::fmt::Write;

use crate::human;
use crate::model::data::{Round, Top};
use crate::model::findings::findings;
use crate::model::{BaselineState, Change, Check, CheckData, Finding, Report, Severity, Status};
use crate::report::{Verdict, docs_url, plural, subject, suite_rank};

/// How to render.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// The level that fails the job (the verdict line).
    pub fail_on: Severity,
    /// The destination's limit in bytes (also bounds characters: a character is ≥ 1 byte).
    pub max_bytes: usize,
    /// Where the full report lives (the workflow run's summary, the CI job), for the note a
    /// clipped report ends with.
    pub full_report_url: Option<&'a str>,
    /// A hidden marker placed first (`<!-- goready … -->`), for sticky comments.
    pub marker: Option<&'a str>,
}

/// Allocation rows shown per profile.
const ALLOC_ROWS: usize = 10;
/// Binary matrix rows shown at most.
const MATRIX_ROWS: usize = 60;
/// A table cell is clipped to this many characters.
const CELL_CHARS: usize = 600;

/// How much detail a rendering keeps; [`render`] walks down until the text fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Every check.
    Full,
    /// Problems only; passes and skips are counted, not listed.
    Problems,
    /// At most this many problems per suite.
    Capped(usize),
}

/// Renders `report` within `opts.max_bytes`.
pub fn render(report: &Report, opts: &Options) -> String {
    let full = build(report, opts, Detail::Full);
    if full.len() <= opts.max_bytes {
        return full;
    }
    let problems = build(report, opts, Detail::Problems);
    if problems.len() <= opts.max_bytes {
        return problems;
    }
    // The largest per-suite cap that fits (rendering grows with the cap).
    let most = findings(report).len();
    let (mut lo, mut hi) = (0usize, most);
    let mut best = None;
    while lo <= hi {
        let mid = (lo + hi) / 2;
        let text = build(report, opts, Detail::Capped(mid));
        if text.len() <= opts.max_bytes {
            best = Some(text);
            lo = mid + 1;
        } else if mid == 0 {
            break;
        } else {
            hi = mid - 1;
        }
    }
    best.unwrap_or_else(|| hard_clip(build(report, opts, Detail::Capped(0)), opts))
}

/// Last resort for a limit smaller than the headings: cut at a character boundary and say so.
fn hard_clip(text: String, opts: &Options) -> String {
    let note = clipped_note(opts);
    let budget = opts.max_bytes.saturating_sub(note.len() + 16);
    let mut cut = budget.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = text[..cut].to_string();
    if out.matches("<details>").count() > out.matches("</details>").count() {
        out.push_str("\n</details>\n");
    }
    out.push_str(&note);
    if out.len() > opts.max_bytes {
        // Even the note does not fit: the limit is absurdly small; keep what fits.
        let mut cut = opts.max_bytes;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

fn clipped_note(opts: &Options) -> String {
    match opts.full_report_url {
        Some(url) => format!(
            "\n> ✂️ Clipped to fit this page's size limit. The full report: [{}]({}).\n",
            cell(url),
            url
        ),
        None => "\n> ✂️ Clipped to fit this page's size limit. The full report is in the job's goready artifacts (JUnit, JSON).\n"
            .to_string(),
    }
}

/// Escapes untrusted text for a Markdown table cell, on one line.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (chars, ch) in text.trim_end().chars().enumerate() {
        if chars == CELL_CHARS {
            out.push('…');
            break;
        }
        match ch {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // An entity is not a mention: no one gets pinged by a test's output.
            '@' => out.push_str("&#64;"),
            '`' => out.push_str("&#96;"),
            '\n' => out.push_str("<br>"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn icon(c: &Check) -> &'static str {
    match c.status {
        Status::Pass => "✅ pass",
        Status::Skip => "⏭️ skip",
        Status::Error => "❗ not evaluated",
        Status::Fail => severity_icon(c.severity),
    }
}

fn severity_icon(s: Severity) -> &'static str {
    match s {
        Severity::Error => "❌ error",
        Severity::Warning => "⚠️ warning",
        Severity::Notice => "ℹ️ notice",
    }
}

fn location(c: &Check) -> String {
    match (&c.file, c.line) {
        (Some(f), Some(l)) => format!(" — {}:{l}", cell(f)),
        (Some(f), None) => format!(" — {}", cell(f)),
        _ => String::new(),
    }
}

fn row(out: &mut String, c: &Check) {
    let details = format!("{}{}", cell(&c.message), location(c));
    let target = match (c.target.as_deref(), subject(c)) {
        (Some(t), Some(s)) => format!("{}<br>{}", cell(t), cell(s)),
        (Some(t), None) => cell(t),
        (None, Some(s)) => cell(s),
        (None, None) => String::new(),
    };
    let _ = writeln!(
        out,
        "| {} | [{}]({}) | {target} | {details} |",
        icon(c),
        cell(&c.id),
        docs_url(&c.id),
    );
}

/// One row per finding: its rule, every target it holds on, the lead message and the checks
/// of other rules its cause explains.
fn finding_row(out: &mut String, f: &Finding) {
    let lead = f.lead();
    let mut details = format!("{}{}", cell(&lead.message), location(lead));
    if !f.explains.is_empty() {
        let n = f.explained_targets();
        let _ = write!(
            details,
            "<br>explains {} on {n} target{}",
            f.explained_rules()
                .iter()
                .map(|id| format!("[{}]({})", cell(id), docs_url(id)))
                .collect::<Vec<_>>()
                .join(", "),
            plural(n)
        );
    }
    let mut target: Vec<String> = f.targets().iter().map(|t| cell(t)).collect();
    if let Some(s) = subject(lead) {
        target.push(cell(s));
    }
    let status = if f.status() == Status::Error {
        "❗ not evaluated"
    } else {
        severity_icon(f.severity())
    };
    let _ = writeln!(
        out,
        "| {status} | [{}]({}) | {} | {details} |",
        cell(&lead.id),
        docs_url(&lead.id),
        target.join("<br>"),
    );
}

const TABLE_HEAD: &str = "| result | check | target | details |\n|---|---|---|---|\n";

/// A table of findings, at most `cap` rows; says how many were left out.
fn findings_table(out: &mut String, found: &[&Finding], cap: Option<usize>) -> bool {
    let shown = cap.map_or(found.len(), |k| k.min(found.len()));
    if shown > 0 {
        out.push_str(TABLE_HEAD);
        for f in &found[..shown] {
            finding_row(out, f);
        }
        out.push('\n');
    }
    if shown < found.len() {
        let left = found.len() - shown;
        let _ = writeln!(out, "_…and {left} more finding{}._\n", plural(left));
        return true;
    }
    false
}

/// What the baseline says, when one was asked for.
fn baseline_line(out: &mut String, report: &Report, found: &[Finding]) {
    let Some(info) = &report.baseline else {
        return;
    };
    let path = cell(&info.path);
    match info.state {
        BaselineState::Loaded => {
            let new = found
                .iter()
                .filter(|f| f.change() == Some(Change::New))
                .count();
            let _ = writeln!(
                out,
                "Against the baseline `{path}`: **{new} new**, {} existing, {} fixed.\n",
                found.len() - new,
                report.fixed.len()
            );
        }
        BaselineState::Missing => {
            let _ = writeln!(
                out,
                "No baseline at `{path}` yet (the first run on this branch): judged as none, every finding counts as new.\n"
            );
        }
        BaselineState::Unreadable => {
            let _ = writeln!(
                out,
                "> ⚠️ The baseline `{path}` could not be read ({}): judged as none, every finding counts as new.\n",
                cell(info.detail.as_deref().unwrap_or("unknown reason"))
            );
        }
    }
}

fn build(report: &Report, opts: &Options, detail: Detail) -> String {
    let verdict = Verdict::of(report, opts.fail_on);
    let (pass, _, skip, error) = report.counts();
    let found = findings(report);
    let mut out = String::new();
    if let Some(marker) = opts.marker {
        out.push_str(marker);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## {} goready: {}\n",
        if verdict.passed() { "✅" } else { "❌" },
        cell(&verdict.headline())
    );
    let _ = writeln!(
        out,
        "{} checks: {pass} passed · {} with findings · {error} not evaluated · {skip} skipped\n",
        report.checks.len(),
        report
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count()
    );
    if report.checks.is_empty() {
        out.push_str("_No checks in the result files._\n");
        return out;
    }
    baseline_line(&mut out, report, &found);

    let cap = match detail {
        Detail::Capped(k) => Some(k),
        _ => None,
    };
    let mut clipped = false;
    let loaded = report
        .baseline
        .as_ref()
        .is_some_and(|b| b.state == BaselineState::Loaded);
    if loaded {
        // What this change made new leads; what the base already had is folded away.
        let new: Vec<&Finding> = found
            .iter()
            .filter(|f| f.change() != Some(Change::Existing))
            .collect();
        let existing: Vec<&Finding> = found
            .iter()
            .filter(|f| f.change() == Some(Change::Existing))
            .collect();
        let _ = writeln!(out, "### 🆕 New findings ({})\n", new.len());
        if new.is_empty() {
            out.push_str("_None: this change adds no findings._\n\n");
        }
        clipped |= findings_table(&mut out, &new, cap);
        if !existing.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>{} existing finding{} (already on the base)</summary>\n",
                existing.len(),
                plural(existing.len())
            );
            clipped |= findings_table(&mut out, &existing, cap);
            out.push_str("</details>\n\n");
        }
        if !report.fixed.is_empty() {
            let _ = writeln!(out, "### ✅ Fixed ({})\n", report.fixed.len());
            for f in &report.fixed {
                let target = f
                    .target
                    .as_deref()
                    .map(|t| format!(" ({})", cell(t)))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "- [{}]({}){target}: {}",
                    cell(&f.id),
                    docs_url(&f.id),
                    cell(&f.title)
                );
            }
            out.push('\n');
        }
    } else if !found.is_empty() {
        let _ = writeln!(out, "### Findings ({})\n", found.len());
        let all: Vec<&Finding> = found.iter().collect();
        clipped |= findings_table(&mut out, &all, cap);
    }

    // Suites in pipeline order, checks in their own order.
    let mut suites: Vec<(&str, Vec<&Check>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for c in &report.checks {
        let at = *index.entry(c.suite.as_str()).or_insert_with(|| {
            suites.push((c.suite.as_str(), Vec::new()));
            suites.len() - 1
        });
        suites[at].1.push(c);
    }
    suites.sort_by_key(|(s, _)| suite_rank(s));

    out.push_str(
        "| suite | ✅ passed | 🔎 with findings | ❗ not evaluated | ⏭️ skipped |\n|---|---:|---:|---:|---:|\n",
    );
    for (suite, checks) in &suites {
        let n = |s: Status| checks.iter().filter(|c| c.status == s).count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(suite),
            n(Status::Pass),
            n(Status::Fail),
            n(Status::Error),
            n(Status::Skip)
        );
    }
    out.push('\n');

    for (suite, checks) in &suites {
        let others: Vec<&Check> = checks
            .iter()
            .copied()
            .filter(|c| !c.status.is_problem())
            .collect();
        if others.is_empty() {
            continue;
        }
        let passed = others.iter().filter(|c| c.status == Status::Pass).count();
        let skipped = others.len() - passed;
        let what = format!("`{}`: {passed} passed, {skipped} skipped", cell(suite));
        if detail == Detail::Full {
            let _ = writeln!(out, "<details><summary>{what}</summary>\n");
            out.push_str(TABLE_HEAD);
            // Skips first: they say why something was not checked.
            for c in others.iter().filter(|c| c.status == Status::Skip) {
                row(&mut out, c);
            }
            for c in others.iter().filter(|c| c.status == Status::Pass) {
                row(&mut out, c);
            }
            out.push_str("\n</details>\n\n");
        } else {
            clipped = true;
            let _ = writeln!(out, "_{what} (not listed here)._\n");
        }
    }

    vulnerabilities(&mut out, report, &found);
    alloc_sites(&mut out, report);
    soak_chart(&mut out, report);
    binary_matrix(&mut out, report);

    if clipped {
        out.push_str(&clipped_note(opts));
    }
    out
}

/// The `go tool pprof -top` table of each `runtime.allocs` check: its first ranking (the
/// profile's first sample type, `alloc_space` for Go heap profiles).
fn alloc_sites(out: &mut String, report: &Report) {
    let profiles: Vec<(&Check, &Top)> = report
        .checks
        .iter()
        .filter(|c| c.id == crate::registry::RUNTIME_ALLOCS.id)
        .filter_map(|c| match &c.data {
            CheckData::Profile(p) => p.rankings.first().map(|top| (c, top)),
            _ => None,
        })
        .filter(|(_, top)| !top.rows.is_empty())
        .collect();
    if profiles.is_empty() {
        return;
    }
    out.push_str("### Top allocation sites\n\n");
    for (c, top) in profiles.iter().take(4) {
        let bytes = top.sample_type.unit == "bytes";
        let quantity = |v: i64| match u64::try_from(v) {
            Ok(v) if bytes => human::bytes(v),
            _ => v.to_string(),
        };
        let _ = writeln!(
            out,
            "{}({}) — reproduce with `go tool pprof -top`\n",
            c.target
                .as_deref()
                .map(|t| format!("**{}** ", cell(t)))
                .unwrap_or_default(),
            cell(&top.sample_type.ty),
        );
        out.push_str(
            "| # | function | flat | flat% | cum | cum% |\n|---:|---|---:|---:|---:|---:|\n",
        );
        for (i, r) in top.rows.iter().take(ALLOC_ROWS).enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1}% | {} | {:.1}% |",
                i + 1,
                cell(&r.function),
                quantity(r.flat),
                r.flat_pct,
                quantity(r.cum),
                r.cum_pct
            );
        }
        out.push('\n');
    }
}

/// The `--soak` series of `runtime.heap_growth` (its data's `rounds`) as sparklines: a
/// trend is seen at a glance where the numbers would have to be read.
fn soak_chart(out: &mut String, report: &Report) {
    let soaks: Vec<(&Check, &[Round])> = report
        .checks
        .iter()
        .filter_map(|c| match &c.data {
            CheckData::HeapGrowth(h) if !h.rounds.is_empty() => Some((c, &h.rounds[..])),
            _ => None,
        })
        .collect();
    if soaks.is_empty() {
        return;
    }
    out.push_str("### Soak: after each round's forced GC\n\n");
    out.push_str("| service | rounds | HeapInuse | goroutines |\n|---|---:|---|---|\n");
    for (c, rounds) in soaks {
        let heap: Vec<u64> = rounds.iter().map(|r| r.heap_inuse).collect();
        let goroutines: Vec<u64> = rounds.iter().map(|r| r.goroutines).collect();
        let ends = |v: &[u64], show: &dyn Fn(u64) -> String| match (v.first(), v.last()) {
            (Some(&a), Some(&b)) => {
                format!("{} {} → {}", human::sparkline(v), show(a), show(b))
            }
            _ => "–".to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(c.target.as_deref().unwrap_or("")),
            rounds.len().saturating_sub(1),
            ends(&heap, &human::bytes),
            ends(&goroutines, &|n| n.to_string())
        );
    }
    out.push('\n');
}

/// The known vulnerabilities of the `binary.vuln` findings: new advisories first, each with
/// "fixed in" and the binaries it is in; then the suppressed ones with their reasons.
fn vulnerabilities(out: &mut String, report: &Report, found: &[Finding]) {
    use crate::vuln::data::{Level, VulnData};
    let vuln_id = crate::registry::BINARY_VULN.id;
    let data = |c: &Check| match &c.data {
        CheckData::Vuln(d) => Some((**d).clone()),
        _ => None,
    };
    let mut rows: Vec<(bool, Level, VulnData, usize)> = found
        .iter()
        .filter(|f| f.lead().id == vuln_id)
        .filter_map(|f| {
            let all: Vec<VulnData> = f.checks.iter().filter_map(|c| data(c)).collect();
            let best = all.iter().min_by_key(|d| d.level)?.clone();
            let new = f.change() != Some(Change::Existing);
            Some((new, best.level, best, f.targets().len()))
        })
        .collect();
    let mut suppressed: Vec<VulnData> = report
        .checks
        .iter()
        .filter(|c| c.id == vuln_id && c.status == Status::Skip)
        .filter_map(data)
        .filter(|d| d.suppressed.is_some())
        .collect();
    suppressed.sort_by(|a, b| a.id.cmp(&b.id));
    suppressed.dedup_by(|a, b| a.id == b.id);
    if rows.is_empty() && suppressed.is_empty() {
        return;
    }
    rows.sort_by(|a, b| (!a.0, a.1, &a.2.id).cmp(&(!b.0, b.1, &b.2.id)));
    let baseline = report.baseline.is_some();
    let _ = writeln!(
        out,
        "### Known vulnerabilities ({})\n\n| advisory | module | version | fixed in | level | binaries |{}\n|---|---|---|---|---|---:|{}",
        rows.len(),
        if baseline { " |" } else { "" },
        if baseline { "---|" } else { "" }
    );
    for (new, level, d, n) in &rows {
        let level = match level {
            Level::Symbol => "symbol",
            Level::Package => "package",
            Level::Module => "module",
        };
        let _ = writeln!(
            out,
            "| [{}](https://pkg.go.dev/vuln/{}) | {} | {} | {} | {level} | {n} |{}",
            cell(&d.id),
            cell(&d.id),
            cell(&d.module),
            cell(&d.version),
            cell(d.fixed.as_deref().unwrap_or("no fix yet")),
            match (baseline, new) {
                (false, _) => "",
                (true, true) => " 🆕 new |",
                (true, false) => " existing |",
            }
        );
    }
    out.push('\n');
    for d in &suppressed {
        if let Some(s) = &d.suppressed {
            let until = s
                .until
                .as_deref()
                .map(|u| format!(" until {}", cell(u)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} suppressed{until}: {}",
                cell(&d.id),
                cell(&s.reason)
            );
        }
    }
    if !suppressed.is_empty() {
        out.push('\n');
    }
}

fn binary_matrix(out: &mut String, report: &Report) {
    let mut targets: Vec<&str> = Vec::new();
    let mut by: HashMap<(&str, &str), &Check> = HashMap::new();
    for c in report.checks.iter().filter(|c| c.suite == "binary") {
        let Some(t) = c.target.as_deref() else {
            continue;
        };
        if !targets.contains(&t) {
            targets.push(t);
        }
        by.entry((t, c.id.as_str())).or_insert(c);
    }
    let rows: Vec<&str> = targets
        .into_iter()
        .filter(|t| {
            by.contains_key(&(*t, "binary.static")) || by.contains_key(&(*t, "binary.stripped"))
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("### Binary matrix\n\n| target | size | static | stripped | version | Go |\n|---|---:|---|---|---|---|\n");
    for t in rows.iter().take(MATRIX_ROWS) {
        let get = |id: &str| by.get(&(*t, id)).copied();
        let size = match get("binary.readable").map(|c| &c.data) {
            Some(CheckData::BinaryReadable(r)) => human::bytes(r.size),
            _ => String::new(),
        };
        let static_ = match get("binary.static").map(|c| c.status) {
            Some(Status::Pass) => "✅ static".to_string(),
            Some(Status::Fail) => {
                let libc = match get("binary.static").map(|c| &c.data) {
                    Some(CheckData::BinaryStatic(d)) => d.libc.as_deref(),
                    _ => None,
                }
                .map(|l| format!(" ({})", cell(l)))
                .unwrap_or_default();
                format!("❌ dynamic{libc}")
            }
            Some(Status::Skip) => "n/a".to_string(),
            Some(Status::Error) => "❗".to_string(),
            None => String::new(),
        };
        let stripped = match get("binary.stripped").map(|c| c.status) {
            Some(Status::Pass) => "✅ yes",
            Some(Status::Fail) => "❌ no",
            Some(_) => "n/a",
            None => "",
        };
        let buildinfo = match get("binary.buildinfo").map(|c| &c.data) {
            Some(CheckData::BinaryBuildinfo(b)) => Some(b),
            _ => None,
        };
        let expected = |c: &Check| match &c.data {
            CheckData::BinaryVersion(v) => cell(&v.expected),
            _ => String::new(),
        };
        let version = match get("binary.version") {
            Some(c) if c.status == Status::Pass => format!("✅ {}", expected(c)),
            Some(c) if c.status == Status::Fail => format!("❌ {} missing", expected(c)),
            _ => buildinfo
                .and_then(|b| b.main.as_ref())
                .map(|m| cell(&m.version))
                .unwrap_or_default(),
        };
        let go = buildinfo.map(|b| cell(&b.go_version)).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {size} | {static_} | {stripped} | {version} | {go} |",
            cell(t)
        );
    }
    if rows.len() > MATRIX_ROWS {
        let _ = writeln!(out, "\n_…and {} more binaries._", rows.len() - MATRIX_ROWS);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;
    use serde_json::json;

    fn opts(max: usize) -> Options<'static> {
        Options {
            fail_on: Severity::Error,
            max_bytes: max,
            full_report_url: Some("https://ci.example/run/1"),
            marker: Some("<!-- goready -->"),
        }
    }

    #[test]
    fn known_vulnerabilities_list_new_advisories_first_with_fixed_in_and_suppressions() {
        use crate::vuln::checks::check_of;
        use crate::vuln::data::{Evidence, Level};
        use crate::vuln::matching::Match;
        use crate::vuln::settings::Ignore;
        let m = |id: &str, level: Level, fixed: Option<&str>| Match {
            id: id.into(),
            aliases: vec![],
            summary: "s".into(),
            module: "golang.org/x/text".into(),
            version: "v0.3.7".into(),
            fixed: fixed.map(str::to_string),
            level,
            symbols: vec![],
            evidence: Evidence::SymbolsMatched,
            notes: vec![],
            toolchain: false,
        };
        let ignore = [Ignore {
            id: "GO-2020-0015".into(),
            reason: "not reachable".into(),
            until: None,
        }];
        let mut old = check_of(
            "bin",
            m("GO-2021-0113", Level::Symbol, Some("v0.3.7")),
            &[],
            0,
            "db",
        );
        old.change = Some(Change::Existing);
        let mut new = check_of(
            "bin",
            m("GO-2022-1059", Level::Package, Some("v0.3.8")),
            &[],
            0,
            "db",
        );
        new.change = Some(Change::New);
        let quiet = check_of(
            "bin",
            m("GO-2020-0015", Level::Module, None),
            &ignore,
            0,
            "db",
        );
        let mut report = Report::new(vec![old, new, quiet]);
        report.baseline = Some(crate::model::BaselineInfo {
            path: "base.json".into(),
            state: BaselineState::Loaded,
            detail: None,
            fail_on_new: false,
        });
        let text = render(&report, &opts(65_536));
        let section = text.split("### Known vulnerabilities (2)").nth(1).unwrap();
        let new_at = section.find("GO-2022-1059").unwrap();
        let old_at = section.find("GO-2021-0113").unwrap();
        assert!(new_at < old_at, "new advisories first:\n{section}");
        assert!(
            section.contains("| v0.3.8 | package | 1 | 🆕 new |"),
            "{section}"
        );
        assert!(
            section.contains("GO-2020-0015 suppressed: not reachable"),
            "{section}"
        );
    }

    #[test]
    fn cells_cannot_break_the_table_inject_html_or_mention() {
        let c = cell("a | b <script>x</script> @octocat\nnext `code`");
        assert_eq!(
            c,
            "a \\| b &lt;script&gt;x&lt;/script&gt; &#64;octocat<br>next &#96;code&#96;"
        );
        let long = "x".repeat(CELL_CHARS + 10);
        assert_eq!(cell(&long).chars().count(), CELL_CHARS + 1);
    }

    /// A distinct word per number: findings group messages that differ only in numbers.
    fn letters(mut i: usize) -> String {
        let mut s = String::new();
        loop {
            s.push((b'a' + (i % 26) as u8) as char);
            i /= 26;
            if i == 0 {
                return s;
            }
        }
    }

    fn many(n: usize) -> Report {
        let mut checks = Vec::new();
        for i in 0..n {
            checks.push(
                Check::of(&registry::BINARY_VERSION)
                    .target(format!("dist/svc-{i}"))
                    .fail(format!(
                        "{} is not embedded: {}",
                        letters(i),
                        "y".repeat(200)
                    )),
            );
            checks.push(
                Check::of(&registry::BINARY_PIE)
                    .target(format!("dist/svc-{i}"))
                    .pass("position-independent"),
            );
        }
        Report::new(checks)
    }

    #[test]
    fn small_reports_are_rendered_whole() {
        let text = render(&many(3), &opts(65_536));
        assert!(
            text.starts_with("<!-- goready -->\n## ❌ goready: not ready: 3 findings failed at --fail-on error; findings: 3 errors, 0 warnings, 0 notices"),
            "{text}"
        );
        assert!(text.contains("<details><summary>`binary`: 3 passed, 0 skipped</summary>"));
        assert!(!text.contains("Clipped"));
    }

    #[test]
    fn clipping_drops_passes_first_then_caps_problems_and_links_the_full_report() {
        let report = many(400);
        let full = render(&report, &opts(usize::MAX));
        assert!(full.len() > 65_536);
        let clipped = render(&report, &opts(65_536));
        assert!(clipped.len() <= 65_536, "{}", clipped.len());
        assert!(!clipped.contains("<details>"));
        assert!(clipped.contains("more findings."));
        assert!(clipped.contains("(https://ci.example/run/1)"));
        // It used the room it had: more than half the budget.
        assert!(clipped.len() > 40_000, "{}", clipped.len());
        let tiny = render(&report, &opts(300));
        assert!(tiny.len() <= 300, "{}", tiny.len());
    }

    #[test]
    fn the_binary_matrix_reads_each_column_from_its_rules_typed_data() {
        use crate::model::data::{BuildinfoData, Module, ReadableData, StaticData};
        let matrix = |readable: ReadableData, message: &str| {
            let report = Report::new(vec![
                Check::of(&registry::BINARY_READABLE)
                    .target("dist/a")
                    .data(readable)
                    .pass(message),
                Check::of(&registry::BINARY_STATIC)
                    .target("dist/a")
                    .data(StaticData {
                        libc: Some("glibc".into()),
                        ..StaticData::default()
                    })
                    .fail("dynamic"),
                Check::of(&registry::BINARY_STRIPPED)
                    .target("dist/a")
                    .pass("stripped"),
                Check::of(&registry::BINARY_BUILDINFO)
                    .target("dist/a")
                    .data(BuildinfoData {
                        go_version: "go1.26.8".into(),
                        main: Some(Module {
                            path: "x".into(),
                            version: "v1.2.3".into(),
                            ..Module::default()
                        }),
                        ..BuildinfoData::default()
                    })
                    .pass("ok"),
                Check::of(&registry::BINARY_VERSION)
                    .target("dist/a")
                    .skip("no --expect-version given"),
            ]);
            render(&report, &opts(65_536))
        };
        let size = |n| ReadableData {
            size: n,
            ..ReadableData::default()
        };
        let text = matrix(size(8_000_000), "ELF linux/amd64 binary");
        assert!(
            text.contains("| dist/a | 7.6 MiB | ❌ dynamic (glibc) | ✅ yes | v1.2.3 | go1.26.8 |"),
            "{text}"
        );
        // The size column is the typed field, not the message: a message that names another
        // size does not change it.
        let text = matrix(size(3 << 20), "ELF linux/amd64 binary, 7.6 MiB");
        assert!(text.contains("| dist/a | 3.0 MiB |"), "{text}");
        assert!(!text.contains("| 7.6 MiB |"), "{text}");
    }

    #[test]
    fn the_allocation_table_is_the_first_ranking_of_runtime_allocs() {
        use crate::model::data::{ProfileData, TopRow, ValueType};
        let row = |function: &str, flat, flat_pct, cum, cum_pct| TopRow {
            function: function.into(),
            flat,
            flat_pct,
            cum,
            cum_pct,
            ..TopRow::default()
        };
        let top = Top {
            sample_type: ValueType {
                ty: "alloc_space".into(),
                unit: "bytes".into(),
            },
            total: 4096,
            rows: vec![
                row("compress/flate.NewWriter", 2048, 50.0, 3072, 75.0),
                row("main.handler", 1024, 25.0, 1024, 25.0),
            ],
            ..Top::default()
        };
        let allocs = Check::of(&registry::RUNTIME_ALLOCS)
            .target("svc")
            .data(ProfileData {
                rankings: vec![top],
                ..ProfileData::default()
            })
            .pass("top sites");
        // Read back from JSON, as `goready report` does with a result file.
        let json = serde_json::to_string(&Report::new(vec![allocs])).unwrap();
        let report: Report = serde_json::from_str(&json).unwrap();
        let mut out = String::new();
        alloc_sites(&mut out, &report);
        assert!(out.contains("**svc** (alloc_space)"), "{out}");
        assert!(
            out.contains("| 1 | compress/flate.NewWriter | 2.0 KiB | 50.0% | 3.0 KiB | 75.0% |"),
            "{out}"
        );
        assert!(
            out.contains("| 2 | main.handler | 1.0 KiB | 25.0% | 1.0 KiB | 25.0% |"),
            "{out}"
        );
        // Data of another shape under the id draws nothing and fails nothing.
        let odd: Report = serde_json::from_value(json!({
            "schema": "goready/v1", "tool": {"name": "goready", "version": "0"},
            "checks": [{"id": "runtime.allocs", "suite": "runtime", "status": "pass",
                "severity": "notice", "title": "t", "message": "m", "fingerprint": "f",
                "data": {"rankings": [{"rows": "not a list"}]}}]
        }))
        .unwrap();
        let mut out = String::new();
        alloc_sites(&mut out, &odd);
        assert_eq!(out, "");
    }

    #[test]
    fn the_soak_series_is_drawn_and_bad_data_is_left_out() {
        let rounds: Vec<serde_json::Value> = (0..5u64)
            .map(|i| json!({"round": i, "heap_inuse": (2 + i) << 20, "goroutines": 10 + 100 * i}))
            .collect();
        let check = |target: &str, data: serde_json::Value| {
            let c = Check::of(&registry::RUNTIME_HEAP_GROWTH)
                .target(target)
                .fail("rises");
            let mut raw = serde_json::to_value(&c).unwrap();
            raw["data"] = data;
            serde_json::from_value::<Check>(raw).unwrap()
        };
        let report = Report::new(vec![
            check("svc", json!({ "rounds": rounds })),
            check("other", json!({ "rounds": "not a list" })),
        ]);
        let text = render(&report, &opts(65_536));
        assert!(
            text.contains("### Soak: after each round's forced GC"),
            "{text}"
        );
        assert!(
            text.contains("| svc | 4 | ▁▃▅▆█ 2.0 MiB → 6.0 MiB | ▁▃▅▆█ 10 → 410 |"),
            "{text}"
        );
        let soak = text.split("### Soak").nth(1).unwrap();
        let soak = soak.split("###").next().unwrap();
        assert!(!soak.contains("other"), "{soak}");
    }
}
