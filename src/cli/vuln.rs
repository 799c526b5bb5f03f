//! `goready vuln FILE...`: the flags to the scan's options, the scan's result to stdout, the
//! verdict to an exit code (`--fail-on`, whatever the format: a JSON run that found a
//! vulnerable symbol still exits 1).

use std::io::Write;

use super::{EXIT_USAGE, OutputFormat, Run, VulnArgs, finish};
use crate::model::Report;
use crate::vuln;

/// The `database` object of `--format json`.
#[derive(serde::Serialize)]
struct DbOut<'a> {
    source: &'a str,
    modified: &'a str,
    entries: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    stale: Option<&'a str>,
}

pub(super) fn run_vuln(args: &VulnArgs, run: &Run) -> anyhow::Result<u8> {
    let config = args.common.load_config()?;
    let settings =
        vuln::Settings::from_table(config.steps.get("vuln")).map_err(anyhow::Error::msg)?;
    let cache = vuln::Settings::cache_of(args.cache.as_deref().or(settings.cache.as_deref()));
    let opts = vuln::Options {
        files: args.files.clone(),
        db: args.db.clone(),
        cache,
        settings,
        go_mod: vuln::read_go_mod(std::path::Path::new("go.mod"), "go.mod"),
    };
    let scanned = vuln::run(&opts, run.reporter, run.cancel);
    run.reporter.finish();
    let scanned = match scanned {
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
