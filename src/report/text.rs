//! The terminal rendering of a report: one row per check, problems first, then a tally.
//! Colours only when stdout is a terminal and `NO_COLOR` is unset (<https://no-color.org>).
//!
//! Messages are untrusted text (test output, server answers): control characters become
//! spaces, and a continuation line that would read as a CI workflow command (`::error::…`,
//! `::add-mask::…` — the runner trims leading spaces before it looks) is marked so that it
//! cannot be one.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::model::{Check, Report, Severity, Status};

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

/// [`checks_table`], with colours when `color` is true.
pub fn checks_table_styled(report: &Report, color: bool) -> String {
    let mut rows: Vec<&Check> = report.checks.iter().collect();
    rows.sort_by_key(|c| {
        let rank = match c.status {
            Status::Error => 0,
            Status::Fail => 1,
            Status::Skip => 2,
            Status::Pass => 3,
        };
        (rank, std::cmp::Reverse(c.severity))
    });
    let id_width = rows.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in rows {
        let status = match c.status {
            Status::Fail | Status::Error => format!("{} {}", c.status, c.severity),
            other => other.to_string(),
        };
        let status = format!("{status:<13}");
        let status = if color {
            let style = style_of(c);
            format!("{style}{status}{style:#}")
        } else {
            status
        };
        let target = c
            .target
            .as_deref()
            .map(|t| format!("[{}] ", one_line(t)))
            .unwrap_or_default();
        // A check with a title of its own (a test's name) shows it; continuation lines of
        // multi-line messages (test output) are indented under the first.
        let title = match crate::report::own_title(c) {
            Some(t) => format!("{}: ", one_line(t)),
            None => String::new(),
        };
        let location = match (&c.file, c.line) {
            (Some(f), Some(l)) => format!(" ({}:{l})", one_line(f)),
            (Some(f), None) => format!(" ({})", one_line(f)),
            _ => String::new(),
        };
        let mut message = message_lines(&c.message);
        // The location ends the first line, where the eye is.
        match message.find('\n') {
            Some(i) => message.insert_str(i, &location),
            None => message.push_str(&location),
        }
        let _ = writeln!(
            out,
            "{status} {id:<id_width$}  {target}{title}{message}",
            id = c.id,
        );
    }
    let (pass, fail, skip, error) = report.counts();
    let _ = writeln!(
        out,
        "{pass} passed, {fail} failed, {skip} skipped, {error} errors"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;
    use std::ffi::OsStr;

    fn sample() -> Report {
        Report::new(vec![
            Check::of(&rules::BINARY_PIE)
                .target("dist/svc")
                .pass("position-independent"),
            Check::of(&rules::BINARY_VERSION)
                .target("dist/svc")
                .fail("1.2.3 is not embedded\n\u{1b}[31mred\u{1b}[0m\n  ::error::injected"),
        ])
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
        assert!(table.lines().next().unwrap().starts_with("fail error"));
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
            Check::of(&rules::TEST_GO_TEST)
                .target("example.com/m/p")
                .title("TestA/sub")
                .fail("p_test.go:7: got 2\nwant 3"),
            Check::of(&rules::BINARY_STATIC)
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
