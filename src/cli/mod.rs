//! The command line: parses, dispatches to each step's front door (`run(&Options)` in the
//! step's own module, which knows nothing of clap), prints what it returns, and maps it to
//! an exit code — the same way for every step. `args` holds the clap structs, `options`
//! turns them into the steps' `Options`, `check` plans `goready check` (the settings
//! layering needs the steps' typed `Args`). Nothing below this module imports it
//! (`tests/layers.rs` holds that).

pub mod args;
pub mod check;
mod options;
pub mod reporter;
pub mod settings;
mod vuln;

use std::io::Write;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};

pub use args::*;

use crate::cancel::{Cancel, Stopped};
use crate::config::Config;
use crate::inspect;
use crate::model::{Report, Severity};
#[cfg(unix)]
use crate::probe;
use crate::step::Step;
use reporter::{Mode, Reporter};

/// What every command runs with: the one reporter and the run's cancel token.
pub struct Run<'a> {
    /// Where every step's progress goes.
    pub reporter: &'a Reporter,
    /// Cancelled by a signal (the watcher) or a step's own watchdog.
    pub cancel: &'a Cancel,
}

/// Exit code for usage, configuration and internal errors (ARCHITECTURE.md, "The result contract").
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
    let reporter = Arc::new(Reporter::new(Mode::detect(cli.quiet)));
    let cancel = Cancel::new();
    // Before any work: a signal that comes first still ends goready the usual way.
    #[cfg(unix)]
    let watch = match crate::process::signals::watch(
        cancel.clone(),
        reporter.clone(),
        cli.command.step(),
        die_of,
    ) {
        Ok(watch) => Some(watch),
        Err(e) => {
            use crate::progress::Say;
            Say::new(cli.command.step(), &*reporter).warn(format!(
                "cannot watch for interrupts ({e}): a signal kills goready without stopping \
                 what it started"
            ));
            None
        }
    };
    let run = Run {
        reporter: &reporter,
        cancel: &cancel,
    };
    let result = dispatch(&cli.command, &matches, &run);
    reporter.finish();
    // A signal came: goready dies of it once the children are stopped, whatever the step
    // returned (a report of half-done work would only mislead).
    #[cfg(unix)]
    if let Some(sig) = watch.as_ref().and_then(|w| w.wait_stopped()) {
        die_of(sig);
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<Stopped>() {
                // Stopped by a signal that could not be re-raised above: the shell's code.
                Some(Stopped::Interrupted) => {
                    eprintln!("goready: {e:#}");
                    return 130;
                }
                Some(Stopped::TimedOut) => eprintln!("goready: {e:#}"),
                None => eprintln!("goready: error: {e:#}"),
            }
            EXIT_USAGE
        }
    }
}

/// Dies of `sig` (its default action, so that goready's caller sees the usual status), or
/// exits with 128 + `sig` if that does not end it. Never returns.
#[cfg(unix)]
fn die_of(sig: i32) {
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    std::process::exit(128 + sig);
}

/// Runs one command. goready.toml is read here, once, before any work: a broken file is a
/// usage error before minutes of building, not after (`check` reads DIR/goready.toml itself).
fn dispatch(command: &Command, matches: &clap::ArgMatches, run: &Run) -> anyhow::Result<u8> {
    if let Some(common) = command.common() {
        common.load_config()?;
    }
    match command {
        Command::Inspect(args) => run_inspect(args, run),
        Command::Vuln(args) => vuln::run_vuln(args, run),
        Command::Build(args) => run_build(args, run),
        Command::Env(args) => run_env(args, run),
        #[cfg(unix)]
        Command::Probe(args) => run_probe(args, run),
        Command::Test(args) => run_test(args, run),
        Command::Report(args) => match matches.subcommand_matches("report") {
            Some(m) => run_report(args, m, run),
            None => Err(anyhow::anyhow!("internal error: no matches for report")),
        },
        Command::Pprof(args) => run_pprof(args, run),
        Command::Sbom(args) => run_sbom(args, run),
        Command::Image(args) => run_image(args, run),
        Command::Check(args) => match matches.subcommand_matches("check") {
            Some(m) => check::run(args, m, run),
            None => Err(anyhow::anyhow!("internal error: no matches for check")),
        },
        Command::Init(args) => run_init(args),
    }
}

impl Command {
    /// The step the command runs (`init` writes `check`'s files).
    fn step(&self) -> Step {
        match self {
            Command::Inspect(_) => Step::Inspect,
            Command::Vuln(_) => Step::Vuln,
            Command::Sbom(_) => Step::Sbom,
            Command::Image(_) => Step::Image,
            Command::Env(_) => Step::Env,
            Command::Build(_) => Step::Build,
            #[cfg(unix)]
            Command::Probe(_) => Step::Probe,
            Command::Test(_) => Step::Test,
            Command::Report(_) => Step::Report,
            Command::Pprof(_) => Step::Pprof,
            Command::Check(_) | Command::Init(_) => Step::Check,
        }
    }

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
            Command::Image(a) => Some(&a.common),
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
    // Copied only when `[rules]` changes it: a scan's report can hold megabytes of symbols.
    let mut report = std::borrow::Cow::Borrowed(report);
    if config.changes_reports() {
        config.apply(report.to_mut());
    }
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

fn run_env(args: &EnvArgs, run: &Run) -> anyhow::Result<u8> {
    let outcome = crate::env::run(&args.options()?, run.cancel)?;
    run.reporter.finish();
    let report = args.common.configured(Report::new(outcome.checks))?;
    print_checks(&report)?;
    if let Some(e) = &outcome.config_error {
        eprintln!("goready: {e}");
    }
    finish(&report, &args.common, outcome.config_error.is_some())
}

fn run_build(args: &BuildArgs, run: &Run) -> anyhow::Result<u8> {
    let mut opts = args.options_checked()?;
    // The matrix's binaries are scanned for known vulnerabilities as goready.toml's [vuln]
    // says (on by default; `scan = false` turns it off).
    let config = args.common.load_config()?;
    opts.vuln = Some(options::vuln_settings(config)?);
    let report = crate::build::run(&opts, run.reporter, run.cancel)?;
    run.reporter.finish();
    let report = args.common.configured(report)?;
    print_checks(&report)?;
    finish(&report, &args.common, false)
}

fn run_inspect(args: &InspectArgs, run: &Run) -> anyhow::Result<u8> {
    let inspected = inspect::run(&args.options(), run.cancel)?;
    run.reporter.finish();
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

fn run_test(args: &TestArgs, run: &Run) -> anyhow::Result<u8> {
    let checks = crate::gotest::run(&args.options(), run.reporter, run.cancel)?;
    run.reporter.finish();
    let report = args.common.configured(Report::new(checks))?;
    print_checks(&report)?;
    finish(&report, &args.common, false)
}

fn run_image(args: &ImageArgs, run: &Run) -> anyhow::Result<u8> {
    let read = crate::image::run(&args.options(), run.reporter, run.cancel)?;
    run.reporter.finish();
    let report = args.common.configured(Report::new(read.checks))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.stdout.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Output<'a> {
                image: &'a crate::image::ImageFacts,
                checks: &'a [crate::model::Check],
            }
            serde_json::to_writer_pretty(
                &mut out,
                &Output {
                    image: &read.facts,
                    checks: &report.checks,
                },
            )?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            write!(out, "{}", crate::image::facts_text(&read.facts))?;
            write!(out, "{}", crate::report::text::checks_table(&report))?;
        }
    }
    out.flush()?;
    finish(&report, &args.common, false)
}

#[cfg(unix)]
fn run_probe(args: &ProbeArgs, run: &Run) -> anyhow::Result<u8> {
    let probed = probe::command::run(&args.options()?, run.reporter, run.cancel)?;
    run.reporter.finish();
    let report = args.common.configured(Report::new(probed.checks))?;
    let facts = &probed.facts;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.stdout.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Output<'a> {
                service: &'a probe::gather::ProbeFacts,
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

fn run_pprof(args: &PprofArgs, run: &Run) -> anyhow::Result<u8> {
    use crate::pprof::command::{self, PprofRun};
    let ran = command::run(&args.options(), run.reporter)?;
    run.reporter.finish();
    let (shown, profile, rankings, checks) = match ran {
        PprofRun::Ranked {
            shown,
            profile,
            rankings,
            checks,
        } => (shown, profile, rankings, checks),
        PprofRun::Unusable { check, why } => {
            eprintln!("goready: {why}");
            finish(&Report::new(vec![*check]), &args.common, true)?;
            return Ok(EXIT_USAGE);
        }
        PprofRun::NoSuchSampleType(why) => {
            eprintln!("goready: {why}");
            return Ok(EXIT_USAGE);
        }
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

fn run_sbom(args: &SbomArgs, run: &Run) -> anyhow::Result<u8> {
    let done = crate::sbom::run(&args.options()?, run.reporter, run.cancel)?;
    run.reporter.finish();
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

/// `goready report`: the outputs are the `[report]` settings layered exactly as `check`
/// layers them — goready.toml, then `GOREADY_REPORT_*` variables, then the flags given
/// (`matches`) — and judged by the same parser.
fn run_report(args: &ReportArgs, matches: &clap::ArgMatches, run: &Run) -> anyhow::Result<u8> {
    let env = &crate::report::process_env;
    let config = args.common.load_config()?;
    let fail_on = args
        .common
        .fail_on
        .or(config.fail_on)
        .unwrap_or(Severity::Error);
    let mut layered = check::settings(
        config,
        crate::plan::goready_vars(),
        &[],
        Some((matches, &[crate::step::Step::Report])),
    )?;
    let (outputs, _) = check::report_outputs(&mut layered, config.path.as_deref())?;
    let merged = crate::report::command::run(
        &crate::report::command::Options {
            inputs: args.inputs.clone(),
            outputs: outputs.outputs(&args.common, fail_on, env),
            config,
            env,
        },
        run.reporter,
    )?;
    finish_with(&merged.report, &args.common, config, merged.unreadable)
}

fn run_init(args: &InitArgs) -> anyhow::Result<u8> {
    use crate::plan::init::{self, InitRun};
    let outcome = init::run(&init::Options {
        dir: &args.dir,
        force: args.force,
        help: &settings::help_of,
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
