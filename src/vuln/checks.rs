//! The rule `binary.vuln`: one check per (binary, advisory) with [`VulnData`] as its data,
//! one passing check per binary no advisory matched (when the database had any), and the skip/error a database that cannot
//! be read turns into. The rule only judges what matching found.

use crate::model::{Check, Severity};
use crate::registry::BINARY_VULN;

use super::data::{Evidence, Level, Suppression, VulnData};
use super::matching::Match;
use super::settings::Ignore;

/// The severity a failure at `level` has before goready.toml's `[rules]`: a vulnerable
/// function in the binary is an error; a linked package or a required module a notice.
pub fn severity_of(level: Level, toolchain: bool) -> Severity {
    match level {
        Level::Symbol if !toolchain => Severity::Error,
        _ => Severity::Notice,
    }
}

/// The check's own title: the advisory and the module, so that each advisory on a binary
/// fingerprints apart and the same advisory on two binaries reads alike.
pub fn title_of(id: &str, module: &str) -> String {
    format!("{id} in {module}")
}

fn evidence_text(m: &Match) -> String {
    if m.toolchain {
        return "the Go release that built the binary is in the advisory's range".into();
    }
    match (m.evidence, m.level) {
        (Evidence::SymbolsMatched, Level::Symbol) => {
            "vulnerable functions found by name in the binary's function table".into()
        }
        (Evidence::SymbolsMatched, Level::Package) => {
            "the function table holds the vulnerable package but none of its vulnerable functions".into()
        }
        (Evidence::SymbolsMatched, Level::Module) => {
            "the function table holds none of the vulnerable packages; only the module's version matches".into()
        }
        (Evidence::AdvisoryWithoutSymbols, Level::Module) => {
            "the advisory lists no packages for this module: the module's version is all there is to match".into()
        }
        (Evidence::AdvisoryWithoutSymbols, _) => {
            "the advisory lists no vulnerable functions for the package, so any of its functions counts".into()
        }
        (Evidence::StrippedFallback, _) => {
            "the binary's function table could not be read: module version only".into()
        }
        (Evidence::Fork, _) => {
            "the module is replaced by a fork: only the fork's version is set against the advisory's ranges".into()
        }
    }
}

/// The one-line verdict of a match, evidence and notes included.
fn message_of(m: &Match, db_line: &str) -> String {
    let fixed = match &m.fixed {
        Some(f) => format!("fixed in {f}"),
        None => "no fixed version yet".into(),
    };
    let what = match m.level {
        Level::Symbol => format!(
            "vulnerable functions in the binary: {}",
            m.symbols.join(", ")
        ),
        Level::Package => "a vulnerable package is linked, none of its vulnerable functions".into(),
        Level::Module => "the module is at an affected version".into(),
    };
    let mut text = format!(
        "{} {} {} ({fixed}): {what}. {}. Evidence: {}.",
        m.id,
        m.module,
        m.version,
        m.summary.trim_end_matches('.'),
        evidence_text(m)
    );
    for note in &m.notes {
        text.push_str(" Note: ");
        text.push_str(note);
        text.push('.');
    }
    if !db_line.is_empty() {
        text.push_str(" Database: ");
        text.push_str(db_line);
        text.push('.');
    }
    text
}

/// The suppression of `m`, if `[vuln] ignore` names its id or an alias.
pub fn suppression_for<'a>(m: &Match, ignore: &'a [Ignore]) -> Option<&'a Ignore> {
    ignore
        .iter()
        .find(|i| i.id == m.id || m.aliases.contains(&i.id))
}

/// The check of one advisory in one binary. A suppression in force makes it a skip that says
/// why; one past its `until` fails again and says it expired.
pub fn check_of(path: &str, m: Match, ignore: &[Ignore], now_unix: i64, db_line: &str) -> Check {
    let suppression = suppression_for(&m, ignore);
    let message = message_of(&m, db_line);
    let title = title_of(&m.id, &m.module);
    let severity = severity_of(m.level, m.toolchain);
    // The match is moved into the data: its symbol list can be thousands of names.
    let data = VulnData {
        id: m.id,
        aliases: m.aliases,
        module: m.module,
        version: m.version,
        fixed: m.fixed,
        level: m.level,
        symbols: m.symbols,
        evidence: m.evidence,
        summary: m.summary,
        notes: m.notes,
        suppressed: suppression.map(|s| Suppression {
            reason: s.reason.clone(),
            until: s.until.clone(),
        }),
    };
    let builder = Check::of(&BINARY_VULN)
        .target(path)
        .title(title)
        .severity(severity)
        .data(data);
    match suppression {
        Some(s) if s.in_force(now_unix) => builder.skip(format!(
            "suppressed{}: {}. {message}",
            s.until
                .as_deref()
                .map(|u| format!(" until {u}"))
                .unwrap_or_default(),
            s.reason
        )),
        Some(s) => builder.fail(format!(
            "{message} The suppression ({}) expired on {}.",
            s.reason,
            s.until.as_deref().unwrap_or("?")
        )),
        None => builder.fail(message),
    }
}

/// The check of a binary no advisory matched: a pass only when the database had advisories
/// to match (`db_entries` in all, `relevant` of them for the scanned binaries' modules and
/// the standard library); an empty database proves nothing, so that is a skip.
pub fn clean(
    path: &str,
    modules: usize,
    relevant: usize,
    db_entries: usize,
    db_line: &str,
    notes: &[String],
) -> Check {
    let builder = Check::of(&BINARY_VULN).target(path);
    if db_entries == 0 {
        return builder.skip(format!(
            "not scanned: the database lists no advisory at all, so no match proves nothing. \
             Database: {db_line}."
        ));
    }
    // The binary's caveats (an old Go, a table not read, what has no version) temper the
    // pass: it holds only as far as the scan could see.
    let caveats: String = notes.iter().map(|n| format!(" Note: {n}.")).collect();
    builder.pass(format!(
        "none of the {relevant} advisories for the Go standard library and the scanned \
         binaries' modules ({db_entries} in the database) matches the binary's Go release or \
         its {modules} module(s).{caveats} Database: {db_line}."
    ))
}

/// The check of a file that could not be scanned (not a Go binary with build info, or
/// unreadable): a skip, since `binary.readable`/`binary.go` judge the file itself.
pub fn unscannable(path: &str, why: &str) -> Check {
    Check::of(&BINARY_VULN)
        .target(path)
        .skip(format!("not scanned for known vulnerabilities: {why}"))
}

/// The check of a binary when the database could not be read: a skip that says why, or an
/// error when `[vuln] required = true`.
pub fn no_database(path: &str, why: &str, required: bool) -> Check {
    let builder = Check::of(&BINARY_VULN).target(path);
    if required {
        builder.error(format!(
            "not scanned: {why} ([vuln] required = true makes this an error)"
        ))
    } else {
        builder.skip(format!(
            "not scanned: {why} (set [vuln] db to a reachable URL, a v1 folder or vulndb.zip; [vuln] required = true makes this an error)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    #[test]
    fn vuln_pass_needs_a_database_with_advisories() {
        let empty = clean("svc", 3, 0, 0, "./db (modified 2026-01-01)", &[]);
        assert_eq!(empty.status, Status::Skip, "{}", empty.message);
        let scanned = clean(
            "svc",
            3,
            17,
            5000,
            "./db (modified 2026-01-01)",
            &["built with go1.17.13".to_string()],
        );
        assert_eq!(scanned.status, Status::Pass);
        assert!(
            scanned.message.contains("none of the 17 advisories")
                && scanned.message.contains("5000 in the database")
                && scanned.message.contains("its 3 module(s)")
                && scanned.message.contains("Note: built with go1.17.13."),
            "{}",
            scanned.message
        );
    }
}
