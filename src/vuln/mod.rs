//! Known vulnerabilities in what ships (`goready vuln`, and the scan inside `goready build`):
//! the Go vulnerability database read from the OSV entries of its v1 API ([`osv`]), matched
//! against each binary's buildinfo and the functions its pclntab and inline trees hold; one
//! `binary.vuln` check per (binary, advisory), with [`data::VulnData`] as its data.
//!
//! The work: every binary's build info read (in parallel, while the database's index loads),
//! the database asked once for the entries of the union of their modules, then each binary's
//! function names read, keeping only the packages an applying advisory names
//! ([`matching::Relevant`]), and each binary matched ([`matching`]) and judged ([`checks`]).
//! [`run`] is the front door of `goready vuln FILE...`; [`scan_built`] the scan `goready build`
//! runs on its matrix (it also hands back the advisories, for the SBOM's VEX).

mod binary;
pub mod checks;
pub mod data;
pub mod db;
pub mod gomod;
pub mod matching;
pub mod osv;
pub mod semver;
pub mod settings;
pub mod symbols;
mod time;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cancel::{Cancel, Stopped};
use crate::model::Check;
use crate::progress::{Event, Say, Sink};
use crate::step::Step;

pub use binary::{Scanned, Unscannable};
pub use settings::{Ignore, Settings};

/// At most this many binaries are read at once (and never more than there are cores): the
/// work is a pass over each function table, and a shared CI runner stays responsive.
const READERS: usize = 4;

fn readers() -> usize {
    crate::pool::cores().min(READERS)
}

/// What reading one file's build info gave.
type Opening = Result<binary::Opened, Unscannable>;

/// Opens every file and reads its build info, in parallel; results in the order given.
fn open_all(
    files: &[(PathBuf, String)],
    sink: &dyn Sink,
    cancel: &Cancel,
) -> Result<Vec<Opening>, Stopped> {
    let opened = crate::pool::map(files, readers(), |_, (path, shown)| {
        if cancel.is_cancelled() {
            return Err(Unscannable::Unreadable("not read".into()));
        }
        sink.emit(Event::Started {
            step: Step::Vuln,
            item: shown.clone(),
        });
        let opened = binary::open(path, shown);
        if let Err(Unscannable::Unreadable(e) | Unscannable::NotGo(e)) = &opened {
            sink.emit(Event::Finished {
                step: Step::Vuln,
                item: shown.clone(),
                ok: false,
                detail: e.clone(),
            });
        }
        opened
    });
    cancel.check()?;
    Ok(opened)
}

/// Reads the functions of every opened binary, in parallel, keeping the names of packages
/// `entries` can match (see [`matching::Relevant`]); results in the order given.
fn read_functions(
    opened: &[Opening],
    entries: &[osv::Entry],
    now_unix: i64,
    sink: &dyn Sink,
    cancel: &Cancel,
) -> Result<Vec<Result<Scanned, Unscannable>>, Stopped> {
    let read = crate::pool::map(opened, readers(), |_, o| {
        let o = o.as_ref().map_err(Clone::clone)?;
        if cancel.is_cancelled() {
            return Err(Unscannable::Unreadable("not read".into()));
        }
        let s = o.read_functions(Some(entries), now_unix);
        sink.emit(Event::Finished {
            step: Step::Vuln,
            item: s.path.clone(),
            ok: true,
            detail: format!("{} modules, {} functions", s.binary.deps.len(), s.functions),
        });
        Ok(s)
    });
    cancel.check()?;
    Ok(read)
}

/// Every module path the database must answer for, over all binaries.
pub fn wanted_modules<'a>(binaries: impl IntoIterator<Item = &'a matching::Binary>) -> Vec<String> {
    let mut all: Vec<String> = binaries
        .into_iter()
        .flat_map(|b| b.wanted_modules())
        .collect();
    all.sort();
    all.dedup();
    all
}

/// Judges binaries already read against the entries of their modules: one check per
/// (binary, advisory), or one passing check per clean binary. Every message names the
/// database `db` and its date.
pub fn judge(
    read: &[Result<Scanned, Unscannable>],
    shown: &[String],
    entries: &[osv::Entry],
    settings: &Settings,
    now_unix: i64,
    db: &db::DbInfo,
    go_mod: Option<&(String, gomod::GoMod)>,
) -> Vec<Check> {
    let db_line = &db_line(db);
    let mut checks = Vec::new();
    // A matrix's twins (a binary and its `-s -w` build, side by side) read as the same
    // binary: matched once, the matches copied for the next. Matching is a function of the
    // binary alone; the binaries that need it are matched in parallel.
    let twin: Vec<bool> = (0..read.len())
        .map(|i| {
            i > 0 && matches!((&read[i - 1], &read[i]), (Ok(a), Ok(b)) if a.binary == b.binary)
        })
        .collect();
    let fresh: Vec<&matching::Binary> = read
        .iter()
        .zip(&twin)
        .filter_map(|(r, &t)| r.as_ref().ok().filter(|_| !t).map(|s| &s.binary))
        .collect();
    let mut matched = crate::pool::map(&fresh, readers(), |_, bin| {
        matching::match_binary(bin, entries, now_unix)
    })
    .into_iter();
    let mut kept: Option<Vec<matching::Match>> = None;
    for (i, (result, path)) in read.iter().zip(shown).enumerate() {
        match result {
            Err(Unscannable::Unreadable(why) | Unscannable::NotGo(why)) => {
                checks.push(checks::unscannable(path, why))
            }
            Ok(s) => {
                let matches = if twin[i] { kept.take() } else { matched.next() };
                let matches = matches.unwrap_or_default();
                if twin.get(i + 1) == Some(&true) {
                    kept = Some(matches.clone());
                }
                if matches.is_empty() {
                    checks.push(checks::clean(
                        path,
                        s.binary.deps.len(),
                        entries.len(),
                        db.entries,
                        db_line,
                        &s.notes,
                    ));
                }
                for mut m in matches {
                    m.notes.extend(s.notes.iter().cloned());
                    // Where to fix it, not what it is: set after the fingerprint was made,
                    // so an edit that moves go.mod's lines leaves findings as they were.
                    let location = locate(&s.binary, &m, go_mod);
                    let mut check = checks::check_of(path, m, &settings.ignore, now_unix, db_line);
                    if let Some((file, line)) = location {
                        check.file = Some(file);
                        check.line = Some(line);
                    }
                    checks.push(check);
                }
            }
        }
    }
    checks
}

/// The go.mod line of a match, when go.mod is the binary's main module's.
fn locate(
    bin: &matching::Binary,
    m: &matching::Match,
    go_mod: Option<&(String, gomod::GoMod)>,
) -> Option<(String, u32)> {
    let (shown, parsed) = go_mod?;
    if bin
        .main
        .as_ref()
        .is_some_and(|main| main.path != parsed.module)
    {
        return None;
    }
    let required = bin
        .deps
        .iter()
        .find(|d| d.code_path() == m.module)
        .map_or(m.module.as_str(), |d| d.path.as_str());
    Some((shown.clone(), parsed.line_for(required)?))
}

/// Reads go.mod at `path` (shown as `shown`) for locating findings; None when absent.
pub fn read_go_mod(path: &std::path::Path, shown: &str) -> Option<(String, gomod::GoMod)> {
    let text = std::fs::read_to_string(path).ok()?;
    Some((shown.to_string(), gomod::GoMod::parse(&text)))
}

/// What `goready vuln` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The binaries, as given (shown as given in every check's target).
    pub files: Vec<PathBuf>,
    /// `--db`: wins over `[vuln] db`; neither: <https://vuln.go.dev>.
    pub db: Option<String>,
    /// Where fetched databases are cached.
    pub cache: db::Cache,
    /// goready.toml's `[vuln]`.
    pub settings: Settings,
    /// The module's go.mod (`(shown path, parsed)`): findings point at its `require` lines.
    pub go_mod: Option<(String, gomod::GoMod)>,
}

/// What a scan found, with the database it was judged against.
#[derive(Debug, Clone)]
pub struct VulnRun {
    /// One `binary.vuln` check per (binary, advisory); one passing check per clean binary.
    pub checks: Vec<Check>,
    /// The database: where it is, when it last changed.
    pub database: db::DbInfo,
    /// Set when the database is older than `[vuln] max_age`: the warning, in a line.
    pub stale: Option<String>,
    /// Files that could not be read at all (missing, a directory, no permission).
    pub unreadable: Vec<(String, String)>,
    /// The advisories of the findings, by id: what the SBOM's VEX names as absent when a
    /// finding is not affected.
    pub advisories: Advisories,
}

/// Advisories by id.
pub type Advisories = BTreeMap<String, osv::Entry>;

/// The entries among `entries` that a `binary.vuln` check of `checks` names.
pub fn advisories_of(checks: &[Check], entries: Vec<osv::Entry>) -> Advisories {
    let named: std::collections::BTreeSet<&str> = checks
        .iter()
        .filter_map(|c| match &c.data {
            crate::model::CheckData::Vuln(d) => Some(d.id.as_str()),
            _ => None,
        })
        .collect();
    entries
        .into_iter()
        .filter(|e| named.contains(e.id.as_str()))
        .map(|e| (e.id.clone(), e))
        .collect()
}

/// What the scan of `goready build` gives: its checks, and the advisories they name (for the
/// SBOM's VEX).
#[derive(Debug, Clone, Default)]
pub struct BuiltScan {
    /// The `binary.vuln` checks (or the skipped ones that say why there are none).
    pub checks: Vec<Check>,
    /// The advisories of the findings, by id.
    pub advisories: Advisories,
}

/// Why a scan produced no result.
#[derive(Debug)]
pub enum Failure {
    /// The database could not be opened or read; it is named.
    Database(db::DbError),
    /// `--db` or `[vuln] db` is not a database location.
    Usage(String),
    /// Cancelled.
    Stopped(Stopped),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Database(e) => write!(f, "{e}"),
            Failure::Usage(e) => f.write_str(e),
            Failure::Stopped(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for Failure {}

/// The database line every message carries: where, and when it last changed.
pub fn db_line(info: &db::DbInfo) -> String {
    let day = info.modified.get(..10).unwrap_or(&info.modified);
    format!("{} (modified {day})", info.source)
}

/// The staleness warning, when the database is older than `max_age` at `now_unix`.
pub fn stale_warning(
    info: &db::DbInfo,
    max_age: std::time::Duration,
    now_unix: i64,
) -> Option<String> {
    let modified = time::rfc3339_to_unix(&info.modified)?;
    let age = now_unix.saturating_sub(modified);
    (age > max_age.as_secs() as i64).then(|| {
        format!(
            "the vulnerability database {} was last modified {} ({} days ago, more than the {} days [vuln] max_age allows): advisories published since are missing",
            info.source,
            info.modified,
            age / 86_400,
            max_age.as_secs() / 86_400
        )
    })
}

/// What [`scan_files`] gives: each file as read, the checks, the database, the advisories of
/// the findings.
type Scan = (
    Vec<Result<Scanned, Unscannable>>,
    Vec<Check>,
    db::DbInfo,
    Advisories,
);

/// Reads the binaries and opens the database at once, then matches: the common part of
/// [`run`] and [`scan_built`].
fn scan_files(
    files: &[(PathBuf, String)],
    location: Option<&str>,
    open: db::OpenOptions,
    settings: &Settings,
    go_mod: Option<&(String, gomod::GoMod)>,
    sink: &dyn Sink,
    cancel: &Cancel,
) -> Result<Scan, Failure> {
    let text = location
        .or(settings.db.as_deref())
        .unwrap_or(db::DEFAULT_URL);
    let source =
        db::Source::parse(text).map_err(|e| Failure::Usage(format!("--db {text:?}: {e}")))?;
    sink.emit(Event::Began {
        step: Step::Vuln,
        total: Some(files.len() as u64),
        what: format!("{} binaries against {}", files.len(), source.display()),
    });
    let open = db::OpenOptions {
        cancel: cancel.clone(),
        ..open
    };
    // The index loads while the binaries' build info is read; their functions are read once
    // the entries of their modules are known, so that only the names those entries speak of
    // are kept.
    let (database, opened) = std::thread::scope(|s| {
        let database = s.spawn(|| db::Database::open(&source, &open, sink));
        let opened = open_all(files, sink, cancel);
        (database.join(), opened)
    });
    let opened = opened.map_err(Failure::Stopped)?;
    let database = match database {
        Ok(d) => d.map_err(Failure::Database)?,
        Err(_) => {
            return Err(Failure::Usage(
                "internal error: the database reader panicked".into(),
            ));
        }
    };
    cancel.check().map_err(Failure::Stopped)?;
    let wanted = wanted_modules(
        opened
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|o| o.binary())),
    );
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let entries = database.entries_for(&wanted).map_err(Failure::Database)?;
    let now = time::now_unix();
    let read = read_functions(&opened, &entries, now, sink, cancel).map_err(Failure::Stopped)?;
    drop(opened);
    let info = database.info().clone();
    let shown: Vec<String> = files.iter().map(|(_, s)| s.clone()).collect();
    let checks = judge(&read, &shown, &entries, settings, now, &info, go_mod);
    let advisories = advisories_of(&checks, entries);
    Ok((read, checks, info, advisories))
}

/// `goready vuln FILE...`: scans every file against one database. A database that cannot
/// be read is a [`Failure`] (the CLI exits 2 naming it), never a pass.
pub fn run(opts: &Options, sink: &dyn Sink, cancel: &Cancel) -> Result<VulnRun, Failure> {
    let files: Vec<(PathBuf, String)> = opts
        .files
        .iter()
        .map(|p| (p.clone(), p.display().to_string()))
        .collect();
    let (read, mut checks, database, advisories) = scan_files(
        &files,
        opts.db.as_deref(),
        db::OpenOptions {
            cache: opts.cache.clone(),
            ..db::OpenOptions::default()
        },
        &opts.settings,
        opts.go_mod.as_ref(),
        sink,
        cancel,
    )?;
    // An unreadable file is a usage error of this command, not a check.
    let mut unreadable = Vec::new();
    for (r, (_, shown)) in read.iter().zip(&files) {
        if let Err(Unscannable::Unreadable(why)) = r {
            unreadable.push((shown.clone(), why.clone()));
            checks.retain(|c| c.target.as_deref() != Some(shown));
        }
    }
    let stale = stale_warning(&database, opts.settings.max_age, time::now_unix());
    if let Some(w) = &stale {
        Say::new(Step::Vuln, sink).warn(w.clone());
    }
    Ok(VulnRun {
        checks,
        database,
        stale,
        unreadable,
        advisories,
    })
}

/// The scan `goready build` runs on the binaries it built (`(path, label)`: checks target the
/// label, as the build's other binary checks do). A database that cannot be read becomes one
/// skipped check per binary that says why, or an error with `[vuln] required = true`; a stale
/// one a warning note.
pub fn scan_built(
    files: &[(PathBuf, String)],
    settings: &Settings,
    go_mod: Option<&(String, gomod::GoMod)>,
    sink: &dyn Sink,
    cancel: &Cancel,
) -> BuiltScan {
    if files.is_empty() || !settings.scan {
        return BuiltScan::default();
    }
    // Offline, a cached copy is better than no scan: it is used, and every check says so.
    let open = db::OpenOptions {
        cache: Settings::cache_of(settings.cache.as_deref()),
        stale_if_unreachable: true,
        ..db::OpenOptions::default()
    };
    match scan_files(files, None, open, settings, go_mod, sink, cancel) {
        Ok((_, mut checks, info, advisories)) => {
            let warning = info
                .stale
                .clone()
                .or_else(|| stale_warning(&info, settings.max_age, time::now_unix()));
            if let Some(w) = warning {
                // The build's report is where this is read: each check carries the warning.
                for c in &mut checks {
                    c.message.push_str(&format!(" Warning: {w}."));
                }
                Say::new(Step::Vuln, sink).warn(w);
            }
            BuiltScan { checks, advisories }
        }
        Err(Failure::Stopped(_)) => BuiltScan::default(),
        Err(e) => BuiltScan {
            checks: files
                .iter()
                .map(|(_, label)| checks::no_database(label, &e.to_string(), settings.required))
                .collect(),
            advisories: Advisories::new(),
        },
    }
}
