//! Argument parsing and dispatch. Every flag is documented where it is defined; every step
//! writes a [`Report`] and turns it into an exit code the same way.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Rank a saved pprof profile like `go tool pprof -top` (offline), compare it with a base
    /// profile (runtime.alloc_regression), draw its flame graph.
    Pprof(PprofArgs),
    // env, build, probe, pprof, test, report, check: one variant per step, in DESIGN.md order.
}

/// Flags every step shares.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Write this step's result (goready/v1 JSON) to PATH, for `goready report` to merge.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Exit 1 when a check fails at or above this severity.
    #[arg(long, value_enum, default_value_t = Severity::Error, value_name = "LEVEL")]
    pub fail_on: Severity,
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

/// `goready pprof FILE`
#[derive(Debug, Args)]
pub struct PprofArgs {
    /// The profile: gzipped or raw profile.proto, e.g. a scrape of /debug/pprof/allocs or the
    /// file of `go test -memprofile`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Compare with this earlier profile, or with a goready result file holding its
    /// runtime.allocs check: sites whose share grew fail runtime.alloc_regression.
    #[arg(long, value_name = "FILE")]
    pub base: Option<PathBuf>,

    /// Sample type to rank, by name (alloc_space, inuse_objects, ...) or index; repeatable.
    /// Default: the profile's own default, and alloc_objects too for allocs profiles.
    #[arg(long = "sample-index", value_name = "NAME")]
    pub sample_index: Vec<String>,

    /// Rows per table, like `go tool pprof -top -nodecount=N`; 0 shows every node past the
    /// 0.5 % cut.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,

    /// Output on stdout: the tables (text) or the rankings and checks (json).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Write a flame graph (SVG) of the first sample type here.
    #[arg(long, value_name = "OUT.svg")]
    pub flame: Option<PathBuf>,

    /// With --base: a site fails when its share of the total grew by more than PCT
    /// percentage points (e.g. 6 % → 17 % is 11 points).
    #[arg(long, default_value_t = 10.0, value_name = "PCT")]
    pub max_alloc_growth: f64,

    /// Keep samples from the profiler's own work (runtime/pprof and net/http/pprof frames),
    /// which are otherwise left out.
    #[arg(long)]
    pub keep_profiler_frames: bool,

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
        Command::Pprof(args) => crate::probe::offline::run_pprof(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("goready: error: {e:#}");
            EXIT_USAGE
        }
    }
}

/// Writes the result file if asked and computes the exit code.
pub(crate) fn finish(report: &Report, common: &CommonArgs, unreadable: bool) -> anyhow::Result<u8> {
    if let Some(path) = &common.json {
        report.write_json(path)?;
    }
    if unreadable {
        return Ok(EXIT_USAGE);
    }
    Ok(report.exit_code(common.fail_on))
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
    let report = Report::new(checks);
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
