//! Argument parsing and dispatch. Every flag is documented where it is defined; every step
//! writes a [`Report`] and turns it into an exit code the same way.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::inspect::{self, rules::RuleOptions};
use crate::model::{Report, Severity};

/// Exit code for usage, configuration and internal errors (DESIGN.md).
pub const EXIT_USAGE: u8 = 2;

/// Is this Go service production-ready? Checks binaries, toolchain and runtime in CI.
#[derive(Debug, Parser)]
#[command(name = "goready", version, about, long_about = None)]
pub struct Cli {
    /// The step to run.
    #[command(subcommand)]
    pub command: Command,
}

/// goready's steps.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect ELF, Mach-O (thin or universal) and PE files: linkage, symbols, DWARF, Go
    /// build info, pclntab, PIE/RELRO, net/http/pprof, embedded version.
    Inspect(InspectArgs),
    /// Toolchain and module hygiene: supported Go release, go.mod's go/toolchain lines,
    /// GOROOT/PATH consistency, GOPROXY/GOSUMDB/GOPRIVATE/GOFLAGS, go.sum verified and tidy.
    Env(EnvArgs),
    // build, probe, pprof, test, report, check: one variant per step, in DESIGN.md order.
}

/// Flags every step shares.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Write this step's result (goready/v1 JSON) to PATH, for `goready report` to merge.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Exit 1 when a check fails at or above this severity [default: goready.toml's
    /// fail_on, else error].
    #[arg(long, value_enum, value_name = "LEVEL", env = "GOREADY_FAIL_ON")]
    pub fail_on: Option<Severity>,

    /// Rule settings ([rules] severities, `off`) and step defaults [default: ./goready.toml
    /// when it exists].
    #[arg(long, value_name = "PATH", env = "GOREADY_CONFIG")]
    pub config: Option<PathBuf>,
}

impl CommonArgs {
    /// The configuration these flags point at.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        Config::load(self.config.as_deref())
    }

    /// `report` with goready.toml's `[rules]` applied: what every output shows.
    pub fn configured(&self, mut report: Report) -> anyhow::Result<Report> {
        self.load_config()?.apply(&mut report);
        Ok(report)
    }
}

/// How `inspect` prints to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A readable table per file, then the checks.
    Text,
    /// `{"binaries": [...], "checks": [...]}`.
    Json,
}

/// `goready inspect FILE...`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Binaries to inspect.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Check that this version string is embedded (found through the symbol table, or in the
    /// data of stripped binaries; -trimpath drops -ldflags from the build info).
    #[arg(long, value_name = "V")]
    pub expect_version: Option<String>,

    /// Also resolve this string variable (repeatable), e.g. `main.gitSHA`.
    #[arg(long = "var", value_name = "NAME")]
    pub vars: Vec<String>,

    /// A dynamically linked Linux binary fails binary.static as an error (default: warning).
    #[arg(long)]
    pub require_static: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `goready env [DIR]`
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The module directory (go.mod is looked up from here, as go does).
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,

    /// Go release data: a file or http(s) URL in the format of
    /// https://go.dev/dl/?mode=json&include=all. Default: that feed, or goready's built-in
    /// snapshot when it cannot be reached within a few seconds.
    #[arg(long, value_name = "FILE|URL", conflicts_with = "offline")]
    pub releases: Option<String>,

    /// Do not fetch the release feed; judge by goready's built-in snapshot.
    #[arg(long)]
    pub offline: bool,

    /// A private module path pattern (GOPRIVATE syntax, repeatable): env.goprivate fails when
    /// it would reach a public proxy or checksum database.
    #[arg(long = "private", value_name = "PATTERN")]
    pub private: Vec<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Inspect(args) => run_inspect(&args),
        Command::Env(args) => run_env(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("goready: error: {e:#}");
            EXIT_USAGE
        }
    }
}

/// Applies goready.toml's `[rules]`, writes the result file if asked, and computes the exit
/// code (`--fail-on`, else the config's `fail_on`, else error).
fn finish(report: &Report, common: &CommonArgs, unreadable: bool) -> anyhow::Result<u8> {
    let config = common.load_config()?;
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

fn run_env(args: &EnvArgs) -> anyhow::Result<u8> {
    let releases = match (&args.releases, args.offline) {
        (Some(src), _) => crate::env::Choice::Explicit(src.clone()),
        (None, true) => crate::env::Choice::Offline,
        (None, false) => crate::env::Choice::Default,
    };
    if !args.dir.is_dir() {
        anyhow::bail!("{} is not a directory", args.dir.display());
    }
    let opts = crate::env::Options {
        dir: args.dir.clone(),
        releases,
        private: args.private.clone(),
    };
    let outcome = crate::env::run(&crate::gotool::Go::default(), &opts);
    let report = args.common.configured(Report::new(outcome.checks))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write!(out, "{}", crate::report::text::checks_table(&report))?;
    out.flush()?;
    if let Some(e) = &outcome.config_error {
        eprintln!("goready: {e}");
    }
    finish(&report, &args.common, outcome.config_error.is_some())
}

fn run_inspect(args: &InspectArgs) -> anyhow::Result<u8> {
    let opts = inspect::Options {
        vars: args.vars.clone(),
        expect_version: args.expect_version.clone(),
    };
    let rule_opts = RuleOptions {
        require_static: args.require_static,
    };
    let mut binaries = Vec::new();
    let mut checks = Vec::new();
    let mut unreadable = false;
    for path in &args.files {
        let shown = path.display().to_string();
        let started = std::time::Instant::now();
        match inspect::inspect_path(path, &opts) {
            Err(e) => {
                unreadable = true;
                eprintln!("goready: cannot read {shown}: {e}");
                checks.push(inspect::rules::unreadable(&shown, &e));
            }
            Ok(Err(e)) => checks.push(inspect::rules::unparsable(&shown, &e)),
            Ok(Ok(facts)) => {
                let ms = started.elapsed().as_millis() as u64;
                checks.extend(
                    inspect::rules::evaluate(&facts, &rule_opts)
                        .into_iter()
                        .map(|mut c| {
                            c.duration_ms = ms;
                            c
                        }),
                );
                binaries.push(facts);
            }
        }
    }
    let report = args.common.configured(Report::new(checks))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
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
