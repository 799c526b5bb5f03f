//! Argument parsing and dispatch. Every flag is documented where it is defined; every step
//! writes a [`Report`] and turns it into an exit code the same way.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::inspect::{self, rules::RuleOptions};
use crate::model::{Report, Severity};
use crate::report::publish::Outputs;

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
    /// Merge result files (shards of a CI matrix, several steps) and publish them: JUnit,
    /// GitHub annotations + job summary + sticky PR comment, GitLab Code Quality + MR note,
    /// SARIF. The exit code is the merged verdict.
    Report(ReportArgs),
    // env, build, probe, pprof, test, check: one variant per step, in DESIGN.md order.
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

/// `goready report RESULT.json…`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result files written by the steps' `--json` (a directory is searched for *.json, as
    /// downloaded CI artifacts are laid out).
    #[arg(required = true, value_name = "RESULT.json")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub outputs: OutputArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Where a merged report goes: shared by `report` and `check`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Write JUnit XML (one testsuite per suite and target, one testcase per check).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// GitHub Actions: annotations, the job summary and step outputs (passed, failed, junit,
    /// report). On by itself when GITHUB_ACTIONS=true.
    #[arg(long)]
    pub github: bool,

    /// Create or update one sticky PR comment (GITHUB_API_URL, GITHUB_REPOSITORY, the PR from
    /// GITHUB_EVENT_PATH or --pr; token from $GITHUB_TOKEN or --token-env). Failures warn.
    #[arg(long)]
    pub pr_comment: bool,

    /// The pull request to comment on, when the event does not say (e.g. workflow_run).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,

    /// The environment variable that holds the API token (default GITHUB_TOKEN for
    /// --pr-comment, GITLAB_TOKEN for --gitlab-note). Tokens are never read from flags.
    #[arg(long, value_name = "NAME")]
    pub token_env: Option<String>,

    /// Write a GitLab Code Quality report (JSON).
    #[arg(long, value_name = "FILE")]
    pub gitlab_codequality: Option<PathBuf>,

    /// Create or update one sticky merge request note (CI_API_V4_URL, CI_PROJECT_ID,
    /// CI_MERGE_REQUEST_IID; a token with api scope in $GITLAB_TOKEN). Failures warn.
    #[arg(long)]
    pub gitlab_note: bool,

    /// Write SARIF 2.1.0 for code scanning.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,

    /// Repo-relative file that findings without a source location point at (line 1) in
    /// SARIF and Code Quality.
    #[arg(long, value_name = "PATH", default_value = crate::report::DEFAULT_FALLBACK_FILE)]
    pub fallback_file: String,
}

impl OutputArgs {
    /// The outputs to publish, with `--github` switched on inside GitHub Actions.
    pub fn outputs(&self, common: &CommonArgs, env: crate::report::Env) -> Outputs {
        Outputs {
            junit: self.junit.clone(),
            github: self.github || env("GITHUB_ACTIONS").as_deref() == Some("true"),
            pr_comment: self.pr_comment,
            pr: self.pr,
            token_env: self.token_env.clone(),
            gitlab_codequality: self.gitlab_codequality.clone(),
            gitlab_note: self.gitlab_note,
            sarif: self.sarif.clone(),
            result_json: common.json.clone(),
            fallback_file: self.fallback_file.clone(),
            fail_on: common.fail_on,
        }
    }
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
        Command::Report(args) => run_report(&args),
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
fn finish(report: &Report, common: &CommonArgs, unreadable: bool) -> anyhow::Result<u8> {
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

fn run_report(args: &ReportArgs) -> anyhow::Result<u8> {
    let env = &crate::report::process_env;
    let outputs = args.outputs.outputs(&args.common, env);
    let files = crate::report::expand_inputs(&args.inputs)?;
    let (report, unreadable) = crate::report::read_and_merge(&files);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (path, e) in &unreadable {
        let message = format!("cannot read result file {}: {e:#}", path.display());
        eprintln!("goready: {message}");
        if outputs.github {
            writeln!(
                out,
                "::error title=goready::{}",
                crate::report::github::escape_data(&message)
            )?;
        }
    }
    if report.checks.is_empty() && unreadable.is_empty() {
        eprintln!("goready: warning: the result files hold no checks");
    }
    write!(
        out,
        "{}",
        crate::report::text::checks_table_styled(&report, crate::report::text::color_for_stdout())
    )?;
    crate::report::publish::publish(&report, &outputs, env, &mut out)?;
    out.flush()?;
    finish(&report, &args.common, !unreadable.is_empty())
}
