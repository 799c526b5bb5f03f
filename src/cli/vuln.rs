//! `goready vuln FILE...`: the flags to the scan's options, the scan's result to stdout, the
//! verdict to an exit code (`--fail-on`, whatever the format: a JSON run that found a
//! vulnerable symbol still exits 1).

use std::io::Write;

use super::{EXIT_USAGE, OutputFormat, VulnArgs, finish};
use crate::cancel::Cancel;
use crate::model::Report;
use crate::progress::{Event, Level, Sink};
use crate::vuln;

/// Until the CLI's one reporter exists: warnings and notes on stderr, the rest dropped.
struct StderrNotes;

impl Sink for StderrNotes {
    fn emit(&self, event: Event) {
        if let Event::Note { step, level, text } = event {
            let tag = match level {
                Level::Warning => "warning: ",
                Level::Info => "",
            };
            eprintln!("goready {step}: {tag}{text}");
        }
    }
}

/// The `database` object of `--format json`.
#[derive(serde::Serialize)]
struct DbOut<'a> {
    source: &'a str,
    modified: &'a str,
    entries: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    stale: Option<&'a str>,
}

pub(super) fn run_vuln(args: &VulnArgs) -> anyhow::Result<u8> {
    let config = args.common.load_config()?;
    let settings = vuln::Settings::from_table(config.table("vuln")).map_err(anyhow::Error::msg)?;
    let cache = vuln::Settings::cache_of(args.cache.as_deref().or(settings.cache.as_deref()));
    let opts = vuln::Options {
        files: args.files.clone(),
        db: args.db.clone(),
        cache,
        settings,
        go_mod: vuln::read_go_mod(std::path::Path::new("go.mod"), "go.mod"),
    };
    let scanned = match vuln::run(&opts, &StderrNotes, &Cancel::new()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("goready vuln: error: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    for (path, why) in &scanned.unreadable {
        eprintln!("goready vuln: cannot read {path}: {why}");
    }
    let report = args.common.configured(Report::new(scanned.checks))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let db = &scanned.database;
    match args.stdout.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Output<'a> {
                database: DbOut<'a>,
                checks: &'a [crate::model::Check],
            }
            let doc = Output {
                database: DbOut {
                    source: &db.source,
                    modified: &db.modified,
                    entries: db.entries,
                    stale: scanned.stale.as_deref(),
                },
                checks: &report.checks,
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            writeln!(
                out,
                "database: {} ({} entries)",
                vuln::db_line(db),
                db.entries
            )?;
            if let Some(w) = &scanned.stale {
                writeln!(out, "warning: {w}")?;
            }
            write!(out, "{}", crate::report::text::checks_table(&report))?;
        }
    }
    out.flush()?;
    finish(&report, &args.common, !scanned.unreadable.is_empty())
}
