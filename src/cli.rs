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
    /// Build a GOOS/GOARCH/CGO matrix into DIR/dist, inspect every binary, prove the injected
    /// version, and optionally check static linking and reproducibility.
    Build(BuildArgs),
    // env, build, probe, pprof, test, report, check: one variant per step, in DESIGN.md order.
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

/// `goready build [DIR]`
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The module directory; binaries go to DIR/dist/<name>_<goos>_<goarch>[_cgo][.exe].
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Targets as GOOS/GOARCH, comma-separated or repeated. Default: linux/amd64,
    /// linux/arm64, darwin/arm64, windows/amd64 with CGO 0, plus linux/amd64 with CGO 1.
    #[arg(long = "target", value_name = "GOOS/GOARCH[,...]")]
    pub targets: Vec<String>,

    /// CGO_ENABLED settings to cross with the targets, e.g. `0,1` (default: 0).
    #[arg(long, value_name = "0,1")]
    pub cgo: Vec<String>,

    /// The main package to build, relative to DIR.
    #[arg(long = "pkg", value_name = "PKG", default_value = ".")]
    pub package: String,

    /// Targets built at once (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Build with -trimpath (the default).
    #[arg(long, overrides_with = "no_trimpath")]
    pub trimpath: bool,

    /// Build without -trimpath.
    #[arg(long, overrides_with = "trimpath")]
    pub no_trimpath: bool,

    /// Passed to go build -ldflags (the version's -X flag is appended).
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    pub ldflags: Option<String>,

    /// Passed to go build -tags.
    #[arg(long, value_name = "TAGS")]
    pub tags: Option<String>,

    /// Passed to go build -buildmode (e.g. pie).
    #[arg(long, value_name = "MODE")]
    pub buildmode: Option<String>,

    /// Inject this version with -X and prove it: the inspector must find it in every binary,
    /// and the native binary must print it.
    #[arg(long, value_name = "V")]
    pub version: Option<String>,

    /// The string variable -X sets, with its full import path.
    #[arg(long, value_name = "VAR", default_value = crate::build::DEFAULT_VERSION_VAR)]
    pub version_var: String,

    /// The arguments that make the binary print its version (split at spaces; quotes group).
    #[arg(
        long,
        value_name = "ARGS",
        default_value = "--version",
        allow_hyphen_values = true
    )]
    pub version_cmd: String,

    /// Linux binaries must be static: a dynamically linked binary fails binary.static as an
    /// error, and a CGO=1 build without -extldflags -static fails build.static.
    #[arg(long)]
    pub require_static: bool,

    /// Build every target a second time with an empty build cache and compare the bytes.
    #[arg(long)]
    pub reproducible: bool,

    /// Build only shard I of N (1-based): targets I, I+N, I+2N, ... of the matrix.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::build::matrix::Shard>,

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
        Command::Build(args) => run_build(&args),
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

fn run_build(args: &BuildArgs) -> anyhow::Result<u8> {
    // A broken goready.toml is a usage error before minutes of building, not after.
    args.common.load_config()?;
    let opts = crate::build::Options {
        dir: args.dir.clone(),
        targets: args.targets.clone(),
        cgo: args.cgo.clone(),
        package: args.package.clone(),
        jobs: args.jobs.map(usize::from),
        trimpath: !args.no_trimpath,
        ldflags: args.ldflags.clone(),
        tags: args.tags.clone(),
        buildmode: args.buildmode.clone(),
        version: args.version.clone(),
        version_var: args.version_var.clone(),
        version_cmd: crate::build::version::split_quoted(&args.version_cmd),
        require_static: args.require_static,
        reproducible: args.reproducible,
        shard: args.shard,
        progress: crate::build::runner::ProgressMode::detect(),
    };
    let report = args
        .common
        .configured(crate::build::run(&crate::gotool::Go::default(), &opts)?)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write!(out, "{}", crate::report::text::checks_table(&report))?;
    out.flush()?;
    finish(&report, &args.common, false)
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
