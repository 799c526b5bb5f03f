//! The terminal rendering of a report: one line per check, problems first, then a tally.

use std::fmt::Write;

use crate::model::{Check, Report, Status};

/// A compact table of checks: failures and errors first (most severe first), then skips and
/// passes, each in the order the step produced them.
pub fn checks_table(report: &Report) -> String {
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
        let target = c
            .target
            .as_deref()
            .map(|t| format!("[{t}] "))
            .unwrap_or_default();
        // A check with a title of its own (a test's name) shows it; continuation lines of
        // multi-line messages (test output) are indented under the first.
        let own_title = crate::rules::find(&c.id).is_some_and(|r| r.title != c.title);
        let title = if own_title {
            format!("{}: ", c.title)
        } else {
            String::new()
        };
        let message = c.message.replace('\n', "\n    ");
        let _ = writeln!(
            out,
            "{status:<13} {id:<id_width$}  {target}{title}{message}",
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
