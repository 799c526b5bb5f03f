//! The command line: parses, dispatches to each step's front door (`run(&Options)` in the
//! step's own module, which knows nothing of clap), prints what it returns, and maps it to
//! an exit code — the same way for every step. `args` holds the clap structs, `options`
//! turns them into the steps' `Options`, `check` plans `goready check` (the settings
//! layering needs the steps' typed `Args`). Nothing below this module imports it
//! (`tests/layers.rs` holds that).

pub mod args;
pub mod check;
mod options;
mod vuln;

use std::io::Write;

use clap::{CommandFactory, FromArgMatches};

pub use args::*;

use crate::config::Config;
use crate::inspect;
use crate::model::{Report, Severity};
#[cfg(unix)]
use crate::probe;

/// Exit code for usage, configuration and internal errors (DESIGN.md).
pub const EXIT_USAGE: u8 = 2;

/// Runs the CLI and returns the process exit code.
pub fn main() -> u8 {
    // The matches are kept: `check` layers only the flags given on the command line over
    // goready.toml, and only clap knows which those were.
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(&cli.command, &matches) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("goready: error: {e:#}");
            EXIT_USAGE
        }
    }
}

/// Runs one command. goready.toml is read here, once, before any work: a broken file is a
/// usage error before minutes of building, not after (`check` reads DIR/goready.toml itself).
fn dispatch(command: &Command, matches: &clap::ArgMatches) -> anyhow::Result<u8> {
    if let Some(common) = command.common() {
        common.load_config()?;
    }
    match command {
        Command::Inspect(args) => run_inspect(args),
        Command::Vuln(args) => vuln::run_vuln(args),
        Command::Build(args) => run_build(args),
        Command::Env(args) => run_env(args),
        #[cfg(unix)]
        Command::Probe(args) => run_probe(args),
        Command::Test(args) => run_test(args),
        Command::Report(args) => run_report(args),
        Command::Pprof(args) => run_pprof(args),
        Command::Sbom(args) => run_sbom(args),
        Command::Check(args) => match matches.subcommand_matches("check") {
            Some(m) => check::run(args, m),
            None => Err(anyhow::anyhow!("internal error: no matches for check")),
        },
        Command::Init(args) => run_init(args),
    }
}

impl Command {
    /// The flags every step shares, for the steps that read goready.toml from the working
    /// directory (or --config).
    fn common(&self) -> Option<&CommonArgs> {
        match self {
            Command::Inspect(a) => Some(&a.common),
            Command::Vuln(a) => Some(&a.common),
            Command::Env(a) => Some(&a.common),
            Command::Build(a) => Some(&a.common),
            #[cfg(unix)]
            Command::Probe(a) => Some(&a.common),
            Command::Test(a) => Some(&a.common),
            Command::Report(a) => Some(&a.common),
            Command::Pprof(a) => Some(&a.common),
            Command::Check(_) | Command::Init(_) | Command::Sbom(_) => None,
        }
    }
}

/// Applies goready.toml's `[rules]`, writes the result file if asked, and computes the exit
/// code (`--fail-on`, else the config's `fail_on`, else error).
pub(crate) fn finish(report: &Report, common: &CommonArgs, unreadable: bool) -> anyhow::Result<u8> {
    finish_with(report, common, common.load_config()?, unreadable)
}

/// [`finish`] with the configuration already loaded (`check` reads DIR/goready.toml).
pub(crate) fn finish_with(
    report: &Report,
    common: &CommonArgs,
    config: &Config,
    unreadable: bool,
) -> anyhow::Result<u8> {
    let mut report = report.clone();
    config.apply(&mut report);
    if let Some(path) = &common.json {
        report.write_json(path)?;
    }
    if unreadable {
        return Ok(EXIT_USAGE);
    }
    let fail_on = common.fail_on.or(config.fail_on).unwrap_or(Severity::Error);
    Ok(report.exit_code(fail_on))
}

/// Prints the checks table of `report` on stdout.
fn print_checks(report: &Report) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write!(out, "{}", crate::report::text::checks_table(report))?;
    out.flush()?;
    Ok(())
}

fn run_env(args: &EnvArgs) -> anyhow::Result<u8> {
    let outcome = crate::env::run(&args.options()?);
    let report = args.common.configured(Report::new(outcome.checks))?;
    print_checks(&report)?;
    if let Some(e) = &outcome.config_error {
        eprintln!("goready: {e}");
    }
    finish(&report, &args.common, outcome.config_error.is_some())
}

fn run_build(args: &BuildArgs) -> anyhow::Result<u8> {
    let mut opts = args.options_checked()?;
    // The matrix's binaries are scanned for known vulnerabilities as goready.toml's [vuln]
    // says (on by default; `scan = false` turns it off).
    let config = args.common.load_config()?;
    let mut vuln =
        crate::vuln::Settings::from_table(config.table("vuln")).map_err(anyhow::Error::msg)?;
    // The action's and CI's environment reach the build's scan as they reach `goready vuln`.
    if let Ok(dir) = std::env::var("GOREADY_VULN_CACHE")
        && !dir.is_empty()
    {
        vuln.cache = Some(dir);
    }
    if let Ok(db) = std::env::var("GOREADY_VULN_DB")
        && !db.is_empty()
    {
        vuln.db = Some(db);
    }
    opts.vuln = Some(vuln);
    let report = crate::build::run(&opts)?;
    let report = args.common.configured(report)?;
    print_checks(&report)?;
    finish(&report, &args.common, false)
}

fn run_inspect(args: &InspectArgs) -> anyhow::Result<u8> {
    let inspected = inspect::run(&args.options());
    for u in &inspected.unreadable {
        eprintln!("goready: cannot read {}: {}", u.path, u.error);
    }
    let unreadable = !inspected.unreadable.is_empty();
    let binaries = inspected.binaries;
    let report = args.common.configured(Report::new(inspected.checks))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.stdout.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Output<'a> {
                binaries: &'a [inspect::BinaryFacts],
                checks: &'a [crate::model::Check],
            }
            let doc = Output {
                binaries: &binaries,
                checks: &report.checks,
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for facts in &binaries {
                write!(out, "{}", inspect::text::facts_table(facts))?;
            }
            write!(out, "{}", crate::report::text::checks_table(&report))?;
        }
    }
    out.flush()?;
    finish(&report, &args.common, unreadable)
}

fn run_test(args: &TestArgs) -> anyhow::Result<u8> {
    let checks = crate::gotest::run(&args.options(), &mut std::io::stderr())?;
    let report = args.common.configured(Report::new(checks))?;
    print_checks(&report)?;
    finish(&report, &args.common, false)
}

#[cfg(unix)]
fn run_probe(args: &ProbeArgs) -> anyhow::Result<u8> {
    let probed = probe::command::run(&args.options()?)?;
    let report = args.common.configured(Report::new(probed.checks))?;
    let facts = &probed.facts;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.stdout.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Output<'a> {
                service: &'a probe::run::ProbeFacts,
                checks: &'a [crate::model::Check],
            }
            serde_json::to_writer_pretty(
                &mut out,
                &Output {
                    service: facts,
                    checks: &report.checks,
                },
            )?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            write!(out, "{}", probe::facts_text::facts_table(facts))?;
            write!(out, "{}", probe::allocs::text(&probed.allocs, facts))?;
            write!(out, "{}", crate::report::text::checks_table(&report))?;
        }
    }
    out.flush()?;
    finish(&report, &args.common, facts.launch_error.is_some())
}

fn run_pprof(args: &PprofArgs) -> anyhow::Result<u8> {
    use crate::pprof::command::{self, PprofRun};
    let (shown, profile, rankings, checks) = match command::run(&args.options())? {
        PprofRun::Ranked {
            shown,
            profile,
            rankings,
            checks,
        } => (shown, profile, rankings, checks),
        PprofRun::Unusable(check) => {
            finish(&Report::new(vec![check]), &args.common, true)?;
            return Ok(EXIT_USAGE);
        }
        PprofRun::NoSuchSampleType => return Ok(EXIT_USAGE),
    };
    let report = args.common.configured(Report::new(checks))?;
    let tops: Vec<&crate::pprof::top::Top> = rankings.iter().map(|r| &r.top).collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.stdout.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Output<'a> {
                file: &'a str,
                samples: usize,
                sample_types: &'a [crate::pprof::ValueType],
                rankings: &'a [&'a crate::pprof::top::Top],
                checks: &'a [crate::model::Check],
            }
            let doc = Output {
                file: &shown,
                samples: profile.sample_count(),
                sample_types: &profile.sample_types,
                rankings: &tops,
                checks: &report.checks,
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            write!(out, "{}", command::text(&shown, &profile, &tops))?;
            write!(out, "{}", crate::report::text::checks_table(&report))?;
        }
    }
    out.flush()?;
    finish(&report, &args.common, false)
}

fn run_sbom(args: &SbomArgs) -> anyhow::Result<u8> {
    let done = crate::sbom::run(
        &args.options()?,
        &crate::progress::Discard,
        &crate::cancel::Cancel::new(),
    )?;
    for w in &done.written {
        println!("wrote {}", crate::sbom::summary(w));
    }
    for f in &done.failed {
        eprintln!("goready: no SBOM for {}: {}", f.binary.display(), f.error);
    }
    Ok(if done.failed.is_empty() {
        0
    } else {
        EXIT_USAGE
    })
}

fn run_report(args: &ReportArgs) -> anyhow::Result<u8> {
    let env = &crate::report::process_env;
    let config = args.common.load_config()?;
    let fail_on = args
        .common
        .fail_on
        .or(config.fail_on)
        .unwrap_or(Severity::Error);
    let mut outputs = args.outputs.outputs(&args.common, fail_on, env);
    // `[report] baseline` / `fail_on_new` and GOREADY_REPORT_* under the flags, as check
    // layers them.
    let layered = check::settings(config, check::goready_vars(), &[], None)?;
    if outputs.baseline.is_none() {
        outputs.baseline = layered
            .get("report", "baseline")
            .and_then(|s| s.value.as_str().map(std::path::PathBuf::from));
    }
    outputs.fail_on_new |= layered
        .get("report", "fail_on_new")
        .is_some_and(|s| s.value.as_bool() == Some(true) || s.value.as_str() == Some("true"));
    let merged = crate::report::command::run(&crate::report::command::Options {
        inputs: args.inputs.clone(),
        outputs,
        config,
        env,
    })?;
    finish_with(&merged.report, &args.common, config, merged.unreadable)
}

fn run_init(args: &InitArgs) -> anyhow::Result<u8> {
    use crate::check::init::{self, InitRun};
    let steps = check::steps();
    let outcome = init::run(&init::Options {
        dir: &args.dir,
        force: args.force,
        steps: &steps,
    })?;
    let shown = |paths: &[std::path::PathBuf]| -> Vec<String> {
        paths.iter().map(|p| p.display().to_string()).collect()
    };
    match outcome {
        InitRun::Exist(existing) => {
            eprintln!(
                "goready: {} already exist{}; nothing written (--force overwrites)",
                shown(&existing).join(", "),
                if existing.len() == 1 { "s" } else { "" }
            );
            Ok(EXIT_USAGE)
        }
        InitRun::Written(written) => {
            for path in shown(&written) {
                println!("wrote {path}");
            }
            println!(
                "next: goready check {} (goready check --dry-run shows what it will run)",
                args.dir.display()
            );
            Ok(0)
        }
    }
}
