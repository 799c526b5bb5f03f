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
        let _ = writeln!(
            out,
            "{status:<13} {id:<id_width$}  {target}{message}",
            id = c.id,
            message = c.message
        );
    }
    let (pass, fail, skip, error) = report.counts();
    let _ = writeln!(
        out,
        "{pass} passed, {fail} failed, {skip} skipped, {error} errors"
    );
    out
}
