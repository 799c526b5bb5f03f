//! The terminal rendering of a report: one row per finding (a rule and a cause, with its
//! targets), then the skipped and passed checks, then a tally.
//! Colours only when stdout is a terminal and `NO_COLOR` is unset (<https://no-color.org>).
//!
//! Messages are untrusted text (test output, server answers): control characters become
//! spaces, and a continuation line that would read as a CI workflow command (`::error::…`,
//! `::add-mask::…` — the runner trims leading spaces before it looks) is marked so that it
//! cannot be one.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::model::findings::{count_by_severity, findings};
use crate::model::{BaselineState, Change, Check, Finding, Report, Severity, Status};

/// A compact table of checks without colour: failures and errors first (most severe first),
/// then skips and passes, each in the order the step produced them.
pub fn checks_table(report: &Report) -> String {
    checks_table_styled(report, false)
}

/// Whether to colour the terminal output: only on a terminal, and never when `NO_COLOR` is
/// set to a non-empty value.
pub fn use_color(stdout_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stdout_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// [`use_color`] for this process's stdout and environment.
pub fn color_for_stdout() -> bool {
    use std::io::IsTerminal;
    use_color(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

fn style_of(c: &Check) -> Style {
    match c.status {
        Status::Fail | Status::Error => match c.severity {
            Severity::Error => AnsiColor::Red.on_default().bold(),
            Severity::Warning => AnsiColor::Yellow.on_default(),
            Severity::Notice => AnsiColor::Cyan.on_default(),
        },
        Status::Skip => Style::new().dimmed(),
        Status::Pass => AnsiColor::Green.on_default(),
    }
}

/// One line of untrusted text: control characters (ANSI escapes from captured output, a
/// carriage return that would hide the line, a newline) become spaces.
pub fn one_line(text: &str) -> String {
    text.trim_end()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A multi-line message: the first line as is, continuation lines indented under it; each
/// line cleaned by [`one_line`], and a line that would start a workflow command marked.
fn message_lines(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.trim_end().lines().enumerate() {
        let line = one_line(line);
        if i > 0 {
            out.push_str("\n    ");
        }
        if line.trim_start().starts_with("::") {
            out.push_str("› ");
        }
        out.push_str(&line);
    }
    out
}

/// The status column of a finding: its severity (or "not evaluated"), and against a baseline
/// whether it is new.
fn finding_status(f: &Finding) -> String {
    let what = if f.status() == Status::Error {
        "not evaluated".to_string()
    } else {
        f.severity().to_string()
    };
    match f.change() {
        Some(Change::New) => format!("new {what}"),
        Some(Change::Existing) => format!("old {what}"),
        None => what,
    }
}

fn paint(text: String, style: Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text
    }
}

fn location(c: &Check) -> String {
    match (&c.file, c.line) {
        (Some(f), Some(l)) => format!(" ({}:{l})", one_line(f)),
        (Some(f), None) => format!(" ({})", one_line(f)),
        _ => String::new(),
    }
}

/// The message of a row, the location at the end of its first line (where the eye is).
fn message_with_location(c: &Check) -> String {
    let mut message = message_lines(&c.message);
    let location = location(c);
    match message.find('\n') {
        Some(i) => message.insert_str(i, &location),
        None => message.push_str(&location),
    }
    message
}

/// [`checks_table`], with colours when `color` is true: one row per finding (its targets
/// listed), then one per skipped and passed check.
pub fn checks_table_styled(report: &Report, color: bool) -> String {
    let found = findings(report);
    let mut others: Vec<&Check> = report
        .checks
        .iter()
        .filter(|c| !c.status.is_problem())
        .collect();
    others.sort_by_key(|c| c.status == Status::Pass);
    let id_width = found
        .iter()
        .map(|f| f.lead().id.len())
        .chain(others.iter().map(|c| c.id.len()))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for f in &found {
        let lead = f.lead();
        let status = paint(format!("{:<17}", finding_status(f)), style_of(lead), color);
        let targets = f.targets();
        let target = if targets.is_empty() {
            String::new()
        } else {
            format!("[{}] ", one_line(&targets.join(", ")))
        };
        let title = match crate::report::own_title(lead) {
            Some(t) => format!("{}: ", one_line(t)),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{status} {id:<id_width$}  {target}{title}{}",
            message_with_location(lead),
            id = lead.id,
        );
        if let Some(line) = f.explains_line() {
            let _ = writeln!(out, "    {}", one_line(&line));
        }
    }
    // Passes and skips that say the same thing on several targets (a skip's cause, a pass's
    // proof) are one line listing the targets, like findings: the table stays one line per
    // thing a person reads.
    let mut grouped: Vec<(&Check, Vec<&str>)> = Vec::new();
    for c in others {
        let same = grouped.iter_mut().find(|(g, _)| {
            g.status == c.status
                && g.id == c.id
                && g.title == c.title
                && g.message == c.message
                && g.file == c.file
                && g.line == c.line
                && g.target.is_some() == c.target.is_some()
        });
        match same {
            Some((_, targets)) => targets.extend(c.target.as_deref()),
            None => grouped.push((c, c.target.as_deref().into_iter().collect())),
        }
    }
    for (c, targets) in grouped {
        let status = paint(format!("{:<17}", c.status.to_string()), style_of(c), color);
        let target = if targets.is_empty() {
            String::new()
        } else {
            format!("[{}] ", one_line(&targets.join(", ")))
        };
        // A check with a title of its own (a test's name) shows it; continuation lines of
        // multi-line messages (test output) are indented under the first.
        let title = match crate::report::own_title(c) {
            Some(t) => format!("{}: ", one_line(t)),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{status} {id:<id_width$}  {target}{title}{}",
            message_with_location(c),
            id = c.id,
        );
    }
    let (pass, fail, skip, error) = report.counts();
    let (e, w, n) = count_by_severity(&found);
    let _ = writeln!(
        out,
        "{pass} passed, {skip} skipped, {error} not evaluated; {} finding{} in {fail} checks: {e} error{}, {w} warning{}, {n} notice{}",
        found.len(),
        crate::report::plural(found.len()),
        crate::report::plural(e),
        crate::report::plural(w),
        crate::report::plural(n),
    );
    out
}

/// The first line of `goready report` and `goready check`: ready or not at `fail_on`, and
/// findings by severity.
pub fn headline(report: &Report, fail_on: Severity, color: bool) -> String {
    let verdict = crate::report::Verdict::of(report, fail_on);
    let style = if verdict.passed() {
        AnsiColor::Green.on_default().bold()
    } else {
        AnsiColor::Red.on_default().bold()
    };
    let mut line = paint(format!("goready: {}", verdict.headline()), style, color);
    if let Some(info) = &report.baseline {
        let found = findings(report);
        let new = found
            .iter()
            .filter(|f| f.change() == Some(Change::New))
            .count();
        line.push_str(&match info.state {
            BaselineState::Loaded => format!(
                "\ngoready: against {}: {new} new, {} existing, {} fixed",
                one_line(&info.path),
                found.len() - new,
                report.fixed.len()
            ),
            BaselineState::Missing => format!(
                "\ngoready: no baseline at {} yet: judged as none",
                one_line(&info.path)
            ),
            BaselineState::Unreadable => format!(
                "\ngoready: the baseline {} could not be read: judged as none",
                one_line(&info.path)
            ),
        });
        for f in &report.fixed {
            line.push_str(&format!(
                "\nfixed             {}  {}{}",
                f.id,
                f.target
                    .as_deref()
                    .map(|t| format!("[{}] ", one_line(t)))
                    .unwrap_or_default(),
                one_line(&f.title)
            ));
        }
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;
    use std::ffi::OsStr;

    fn sample() -> Report {
        Report::new(vec![
            Check::of(&registry::BINARY_PIE)
                .target("dist/svc")
                .pass("position-independent"),
            Check::of(&registry::BINARY_VERSION)
                .target("dist/svc")
                .fail("1.2.3 is not embedded\n\u{1b}[31mred\u{1b}[0m\n  ::error::injected"),
        ])
    }

    #[test]
    fn skips_and_passes_that_say_the_same_on_several_targets_are_one_line() {
        let skip = |t: &str| {
            Check::of(&registry::BINARY_VCS)
                .target(t)
                .skip("no VCS stamp (built with -buildvcs=false)")
        };
        let report = Report::new(vec![
            skip("linux/amd64 cgo=0"),
            Check::of(&registry::BINARY_PIE)
                .target("linux/amd64 cgo=0")
                .pass("position-independent"),
            skip("darwin/arm64 cgo=0"),
            Check::of(&registry::BINARY_PIE)
                .target("darwin/arm64 cgo=0")
                .pass("position-independent (always on macOS)"),
        ]);
        let table = checks_table(&report);
        let lines: Vec<&str> = table.lines().filter(|l| l.contains("binary.")).collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(
            lines[0].starts_with("skip ")
                && lines[0].contains("[linux/amd64 cgo=0, darwin/arm64 cgo=0] no VCS stamp"),
            "{table}"
        );
        // Different messages stay apart.
        assert!(
            lines[1].contains("[linux/amd64 cgo=0] position-independent"),
            "{table}"
        );
        assert!(lines[2].contains("[darwin/arm64 cgo=0] position-independent (always"));
    }

    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        assert!(use_color(true, None));
        assert!(!use_color(false, None));
        assert!(!use_color(true, Some(OsStr::new("1"))));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(use_color(true, Some(OsStr::new(""))));
    }

    #[test]
    fn plain_table_has_no_escape_codes_and_no_line_reads_as_a_command() {
        let table = checks_table(&sample());
        assert!(!table.contains('\u{1b}'), "{table:?}");
        assert!(table.lines().next().unwrap().starts_with("error "));
        assert!(
            table.contains("not embedded\n     [31mred [0m\n"),
            "{table}"
        );
        assert!(table.contains("\n    ›   ::error::injected\n"), "{table}");
        assert!(
            !table.lines().any(|l| l.trim_start().starts_with("::")),
            "{table}"
        );
    }

    #[test]
    fn coloured_table_is_the_plain_table_plus_styles() {
        let report = sample();
        let table = checks_table_styled(&report, true);
        let first = table.lines().next().unwrap();
        assert!(first.starts_with("\u{1b}["), "{first:?}");
        // Removing the SGR sequences we added gives back the plain table exactly.
        let mut stripped = String::new();
        let mut rest = table.as_str();
        while let Some(start) = rest.find("\u{1b}[") {
            stripped.push_str(&rest[..start]);
            let after = &rest[start..];
            let end = after.find('m').unwrap();
            rest = &after[end + 1..];
        }
        stripped.push_str(rest);
        // The message's own escape was neutralised, so only our styles were stripped.
        assert_eq!(stripped, checks_table(&report));
    }

    #[test]
    fn own_titles_are_shown_and_multi_line_messages_indented() {
        let report = Report::new(vec![
            Check::of(&registry::TEST_GO_TEST)
                .target("example.com/m/p")
                .title("TestA/sub")
                .fail("p_test.go:7: got 2\nwant 3"),
            Check::of(&registry::BINARY_STATIC)
                .target("svc")
                .pass("static"),
        ]);
        let table = checks_table(&report);
        assert!(
            table.contains("[example.com/m/p] TestA/sub: p_test.go:7: got 2\n    want 3\n"),
            "{table}"
        );
        assert!(
            table.contains("[svc] static\n"),
            "rule titles stay out: {table}"
        );
    }
}
