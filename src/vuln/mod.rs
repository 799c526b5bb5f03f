//! Known vulnerabilities in what ships (`goready vuln`, and the scan inside `goready build`):
//! the Go vulnerability database read from the OSV entries of its v1 API ([`osv`]), matched
//! against each binary's buildinfo and the functions its pclntab and inline trees hold; one
//! `binary.vuln` check per (binary, advisory), with [`data::VulnData`] as its data.
//!
//! [`scan`] is the work: every binary read once (in parallel), the database asked once for the
//! entries of the union of their modules, each binary matched ([`matching`]) and judged
//! ([`checks`]). [`run`] is the front door of `goready vuln FILE...`; [`scan_built`] the scan
//! `goready build` runs on its matrix.

mod binary;
pub mod checks;
pub mod data;
pub mod matching;
pub mod osv;
pub mod semver;
pub mod settings;
pub mod symbols;
mod time;

use std::path::PathBuf;

use crate::cancel::{Cancel, Stopped};
use crate::model::Check;
use crate::progress::{Event, Say, Sink};
use crate::step::Step;

pub use binary::{Scanned, Unscannable};
pub use settings::{Ignore, Settings};

/// At most this many binaries are read at once (reading is I/O and a pass over the function
/// table; two threads keep a shared CI runner responsive).
const READERS: usize = 4;

/// Reads every file, in parallel; results in the order given.
pub fn read_all(
    files: &[(PathBuf, String)],
    sink: &dyn Sink,
    cancel: &Cancel,
) -> Result<Vec<Result<Scanned, Unscannable>>, Stopped> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<Scanned, Unscannable>>>> =
        files.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let threads = READERS.min(files.len()).max(1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    if cancel.is_cancelled() {
                        return;
                    }
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((path, shown)) = files.get(i) else {
                        return;
                    };
                    sink.emit(Event::Started {
                        step: Step::Vuln,
                        item: shown.clone(),
                    });
                    let read = binary::read(path, shown);
                    sink.emit(Event::Finished {
                        step: Step::Vuln,
                        item: shown.clone(),
                        ok: read.is_ok(),
                        detail: match &read {
                            Ok(s) => format!(
                                "{} modules, {} functions",
                                s.binary.deps.len(),
                                s.functions
                            ),
                            Err(Unscannable::Unreadable(e) | Unscannable::NotGo(e)) => e.clone(),
                        },
                    });
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(read);
                    }
                }
            });
        }
    });
    cancel.check()?;
    Ok(slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(Unscannable::Unreadable("not read".into())))
        })
        .collect())
}

/// Every module path the database must answer for, over all binaries.
pub fn wanted_modules<'a>(scanned: impl IntoIterator<Item = &'a Scanned>) -> Vec<String> {
    let mut all: Vec<String> = scanned
        .into_iter()
        .flat_map(|s| s.binary.wanted_modules())
        .collect();
    all.sort();
    all.dedup();
    all
}

/// Judges binaries already read against the entries of their modules: one check per
/// (binary, advisory), or one passing check per clean binary. `db_line` names the database
/// and its date in every message.
pub fn judge(
    read: &[Result<Scanned, Unscannable>],
    shown: &[String],
    entries: &[osv::Entry],
    settings: &Settings,
    now_unix: i64,
    db_line: &str,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for (result, path) in read.iter().zip(shown) {
        match result {
            Err(Unscannable::Unreadable(why) | Unscannable::NotGo(why)) => {
                checks.push(checks::unscannable(path, why))
            }
            Ok(s) => {
                let matches = matching::match_binary(&s.binary, entries, now_unix);
                if matches.is_empty() {
                    checks.push(checks::clean(path, s.binary.deps.len(), db_line));
                }
                for m in &matches {
                    let mut m = m.clone();
                    m.notes.extend(s.notes.iter().cloned());
                    checks.push(checks::check_of(
                        path,
                        &m,
                        &settings.ignore,
                        now_unix,
                        db_line,
                    ));
                }
            }
        }
    }
    checks
}

/// `Say` for this step.
fn say(sink: &dyn Sink) -> Say<'_> {
    Say::new(Step::Vuln, sink)
}
