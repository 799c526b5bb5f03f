//! Argument parsing and dispatch. Every flag is documented where it is defined; every step
//! writes a [`Report`] and turns it into an exit code the same way.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::inspect::{self, rules::RuleOptions};
use crate::model::{Report, Severity};
#[cfg(unix)]
use crate::probe;
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
    /// Toolchain and module hygiene: supported Go release, go.mod's go/toolchain lines,
    /// GOROOT/PATH consistency, GOPROXY/GOSUMDB/GOPRIVATE/GOFLAGS, go.sum verified and tidy.
    Env(EnvArgs),
    /// Build a GOOS/GOARCH/CGO matrix into DIR/dist, inspect every binary, prove the injected
    /// version, and optionally check static linking and reproducibility.
    Build(BuildArgs),
    /// Start the service, prove its net/http/pprof wiring works and is not exposed, read its
    /// heap, memory limit and allocation profile (top sites, regressions against a baseline,
    /// flame graphs), stop it (no process is left behind).
    #[cfg(unix)]
    Probe(Box<ProbeArgs>),
    /// Run `go test -json` and report one check per test (subtests included), per failed
    /// build, and per package without tests or failing outside any test; with --memprofile,
    /// each package's top allocators.
    Test(TestArgs),
    /// Merge result files (shards of a CI matrix, several steps) and publish them: JUnit,
    /// GitHub annotations + job summary + sticky PR comment, GitLab Code Quality + MR note,
    /// SARIF. The exit code is the merged verdict.
    Report(ReportArgs),
    /// Rank a saved pprof profile like `go tool pprof -top` (offline), compare it with a base
    /// profile (runtime.alloc_regression), draw its flame graph.
    Pprof(PprofArgs),
    /// Run every step on DIR as goready.toml configures it — env, build (which inspects),
    /// probe, test — and publish the merged report like `goready report`.
    Check(Box<CheckArgs>),
    /// Write a commented starter goready.toml and example CI files (GitHub workflow, GitLab
    /// job); existing files are left alone unless --force.
    Init(InitArgs),
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

    /// Rule settings (`[rules]` severities, `off`) and step defaults [default: ./goready.toml
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

/// How `inspect`, `probe` and `pprof` print to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A readable table of facts, then the checks.
    Text,
    /// `inspect`: `{"binaries": [...], "checks": [...]}`; `probe`: `{"service": {...},
    /// "checks": [...]}`; `pprof`: `{"rankings": [...], "checks": [...]}`.
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
    /// <https://go.dev/dl/?mode=json&include=all>. Default: that feed, or goready's built-in
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

/// `goready probe (--exec CMD | --go-test PKG) ...` (the struct exists on every platform, so
/// that goready.toml's `[probe]` is validated the same everywhere; the step runs on Unix.)
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("launch").required(true).args(["exec", "go_test"])))]
pub struct ProbeArgs {
    /// Start the service with this command line (shell quoting, no shell). `{addr}` and
    /// `{admin}` are replaced by free loopback addresses, e.g.
    /// 'dist/svc --addr {addr} --admin {admin}'.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,

    /// Start the service from a Go test: build PKG's test binary with `go test -c` and run it
    /// with `-test.run`, the addresses in GOREADY_ADDR and GOREADY_ADMIN_ADDR.
    #[arg(long, value_name = "PKG")]
    pub go_test: Option<String>,

    /// The service's working directory: --exec runs there (a relative program path too) and
    /// --go-test packages are resolved from it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// The test to run with --go-test (a `go test -run` pattern).
    #[arg(long, value_name = "REGEX", default_value = "^TestServe$")]
    pub run: String,

    /// Probe pprof at this URL instead of discovering it on the service's sockets, e.g.
    /// http://127.0.0.1:6060/debug/pprof/ or https://127.0.0.1:6060/debug/pprof/.
    #[arg(long, value_name = "URL")]
    pub pprof: Option<String>,

    /// Trust the CA certificates in this PEM file (besides the system's roots) when pprof is
    /// served over TLS.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub ca_cert: Option<PathBuf>,

    /// Do not verify the TLS certificate of pprof served over https (the check's message
    /// says so).
    #[arg(long)]
    pub insecure: bool,

    /// The service is ready when this path answers 200 on one of its listening sockets.
    #[arg(long, value_name = "PATH", default_value = "/debug/pprof/")]
    pub ready: String,

    /// How long to wait for readiness (500ms, 8s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::duration::parse)]
    pub ready_timeout: std::time::Duration,

    /// Time between SIGTERM and SIGKILL when stopping the service.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::duration::parse)]
    pub grace: std::time::Duration,

    /// The port the world reaches (pprof there fails runtime.pprof_exposed even on
    /// loopback). Default: the {addr} port.
    #[arg(long, value_name = "PORT")]
    pub public_port: Option<u16>,

    /// A header sent to pprof and the ready path, e.g. 'Authorization: Bearer …'
    /// (repeatable; values are never printed).
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// Budget for the in-use heap (MemStats.HeapInuse after a forced GC), in MiB.
    #[arg(long, value_name = "MB", value_parser = parse_mb)]
    pub max_heap: Option<f64>,

    /// Run the service with GODEBUG=gctrace=1 and report GC count, pauses and heap goal.
    #[arg(long)]
    pub gctrace: bool,

    /// Send load to the main address ({addr}) before profiling, e.g. 'GET /hello'.
    #[arg(long, value_name = "'METHOD /path'")]
    pub load: Option<String>,

    /// Number of --load requests.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: u64,

    /// Parallel --load connections.
    #[arg(long, value_name = "C", default_value_t = 4, value_parser = parse_concurrency)]
    pub concurrency: usize,

    /// Stop sending --load after this long.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::parse)]
    pub load_timeout: std::time::Duration,

    /// Send --load in an open loop at this rate (e.g. 500/s): latency is measured from each
    /// request's intended send time, so a stall is not hidden. Default: a closed loop over
    /// --concurrency connections.
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Budget for the --load latency's 99th percentile (runtime.latency), e.g. 50ms.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub max_p99: Option<std::time::Duration>,

    /// Save the raw profiles as served (allocs.pb.gz, heap.pb.gz), a flame graph of each
    /// (allocs.svg, heap.svg) and the service's output here.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,

    /// Rows per runtime.allocs ranking (alloc_space, alloc_objects), like `go tool pprof
    /// -top -nodecount=N`; 0 shows every node past the 0.5 % cut.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,

    /// Compare allocation shares with this earlier allocs profile, or a goready result file
    /// holding its runtime.allocs check (e.g. from the base branch): runtime.alloc_regression.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// With --baseline: a site fails when its share of alloc_space grew by more than PCT
    /// percentage points (e.g. 6 % → 17 % is 11 points).
    #[arg(long, default_value_t = 10.0, value_name = "PCT", value_parser = parse_points)]
    pub max_alloc_growth: f64,

    /// Check that `SERVICE --version` prints this version (--exec only).
    #[arg(long, value_name = "V")]
    pub expect_version: Option<String>,

    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    #[command(flatten)]
    pub common: CommonArgs,
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| "write a header as 'Name: value'".to_string())?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!("{name:?} is not a header name"));
    }
    if value.contains(['\r', '\n']) {
        return Err("a header value cannot contain a line break".into());
    }
    Ok((name.to_string(), value.trim().to_string()))
}

fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!("{text:?}: give 1 to 1024 connections")),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.trim().strip_suffix("/s").unwrap_or(text.trim());
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1e7 => Ok(v),
        _ => Err(format!("{text:?}: give requests per second, e.g. 500/s")),
    }
}

fn parse_mb(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{text:?}: give a positive number of MiB, e.g. 64")),
    }
}

/// `goready test [PKG...] [-- GO_TEST_ARGS...]`
#[derive(Debug, Args)]
#[command(after_help = "Example: goready test --dir services/api ./... -- -race -timeout 5m")]
pub struct TestArgs {
    /// Package patterns as `go test` takes them, relative to --dir. Default: ./...
    #[arg(value_name = "PKG")]
    pub packages: Vec<String>,

    /// Run `go test` in this directory (the module root or a directory inside it). File
    /// locations are reported relative to the enclosing git checkout (else to this directory).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,

    /// Arguments for `go test`, after `--`: build, test and test-binary flags (`-race`,
    /// `-run X`, `-timeout 5m`, `-count 1`, `-tags t`); they follow the packages.
    #[arg(last = true, value_name = "GO_TEST_ARGS")]
    pub go_args: Vec<String>,

    /// Also profile memory per package (`go test -memprofile`, one `go test` per package) and
    /// report each package's top allocators as a runtime.allocs check.
    #[arg(long)]
    pub memprofile: bool,

    /// Keep the --memprofile profiles here, one `<import path, / as _>.mem.pprof` per package
    /// (implies --memprofile) [default: a temporary directory, removed afterwards].
    #[arg(long, value_name = "DIR")]
    pub memprofile_dir: Option<PathBuf>,

    /// Rows per runtime.allocs ranking with --memprofile, like `go tool pprof -top
    /// -nodecount=N`; 0 shows every node past the 0.5 % cut.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,

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
    #[arg(long, default_value_t = 10.0, value_name = "PCT", value_parser = parse_points)]
    pub max_alloc_growth: f64,

    /// Keep samples from the profiler's own work (runtime/pprof and net/http/pprof frames),
    /// which are otherwise left out.
    #[arg(long)]
    pub keep_profiler_frames: bool,

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
    pub fn outputs(
        &self,
        common: &CommonArgs,
        fail_on: Severity,
        env: crate::report::Env,
    ) -> Outputs {
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
            fail_on,
        }
    }
}

/// `goready check [DIR]`
#[derive(Debug, Args)]
#[command(
    after_help = "Settings, lowest to highest precedence: the step's defaults, DIR/goready.toml \
(or --config), GOREADY_<STEP>_<KEY> variables (GOREADY_PROBE_READY_TIMEOUT=10s), --set \
STEP.KEY=VALUE, and the flags above. `goready init` writes a goready.toml that lists every key."
)]
pub struct CheckArgs {
    /// The module directory: every step runs on it, and DIR/goready.toml configures them
    /// unless --config names another file.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// One step setting, as its goready.toml key (repeatable): `--set probe.ready_timeout=10s`,
    /// `--set 'test.go_args=["-race"]'` (a value written [...] is a TOML list).
    #[arg(long = "set", value_name = "STEP.KEY=VALUE")]
    pub sets: Vec<String>,

    /// Targets to build, GOOS/GOARCH (`[build] targets`; GOREADY_TARGETS).
    #[arg(long = "target", value_name = "GOOS/GOARCH[,...]")]
    pub targets: Vec<String>,

    /// CGO_ENABLED settings to build with, e.g. `0,1` (`[build] cgo`; GOREADY_CGO).
    #[arg(long, value_name = "0,1")]
    pub cgo: Vec<String>,

    /// The version to inject and prove in every binary (`[build] version`; GOREADY_VERSION).
    #[arg(long, value_name = "V")]
    pub version: Option<String>,

    /// Print every step's command line, resolved from goready.toml, variables and flags,
    /// and exit without running anything.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub outputs: OutputArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `goready init [DIR]`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where goready.toml goes (the module directory). The workflow files go to the root of
    /// its git checkout (else to DIR).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
}

/// `goready build [DIR]`
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The module directory; binaries go to `DIR/dist/<name>_<goos>_<goarch>[_cgo][.exe]`.
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

/// A number of percentage points: finite and not negative.
fn parse_points(text: &str) -> Result<f64, String> {
    match text.trim_end_matches('%').parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "{text:?} is not a number of percentage points (0 or more, e.g. 10)"
        )),
    }
}

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
    let result = match cli.command {
        Command::Inspect(args) => run_inspect(&args),
        Command::Build(args) => run_build(&args),
        Command::Env(args) => run_env(&args),
        #[cfg(unix)]
        Command::Probe(args) => run_probe(&args),
        Command::Test(args) => run_test(&args),
        Command::Report(args) => run_report(&args),
        Command::Pprof(args) => crate::probe::offline::run_pprof(&args),
        Command::Check(args) => match matches.subcommand_matches("check") {
            Some(m) => crate::check::run(&args, m),
            None => Err(anyhow::anyhow!("internal error: no matches for check")),
        },
        Command::Init(args) => crate::check::init::run(&args),
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
pub(crate) fn finish(report: &Report, common: &CommonArgs, unreadable: bool) -> anyhow::Result<u8> {
    finish_with(report, common, &common.load_config()?, unreadable)
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

fn run_test(args: &TestArgs) -> anyhow::Result<u8> {
    // A broken goready.toml is a usage error before any test runs.
    args.common.load_config()?;
    let opts = crate::gotest::Options {
        dir: args.dir.clone(),
        packages: args.packages.clone(),
        go_args: args.go_args.clone(),
        memprofile: (args.memprofile || args.memprofile_dir.is_some()).then(|| {
            crate::gotest::memprofile::MemProfile {
                keep_dir: args.memprofile_dir.clone(),
                top: args.top,
            }
        }),
    };
    let checks = crate::gotest::run(&opts, &mut std::io::stderr())?;
    let report = args.common.configured(Report::new(checks))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write!(out, "{}", crate::report::text::checks_table(&report))?;
    out.flush()?;
    finish(&report, &args.common, false)
}

#[cfg(unix)]
fn run_probe(args: &ProbeArgs) -> anyhow::Result<u8> {
    // A broken goready.toml is a usage error before any service is started.
    args.common.load_config()?;
    let launch = match (&args.exec, &args.go_test) {
        (Some(line), _) => probe::service::Launch::Exec(line.clone()),
        (None, Some(pkg)) => probe::service::Launch::GoTest {
            pkg: pkg.clone(),
            run: args.run.clone(),
        },
        (None, None) => anyhow::bail!("give --exec CMD or --go-test PKG"),
    };
    let tls = crate::http::Tls::new(&crate::http::TlsOptions {
        ca_cert: args.ca_cert.clone(),
        insecure: args.insecure,
    })
    .map_err(|e| anyhow::anyhow!("--ca-cert {e}"))?;
    let pprof = args
        .pprof
        .as_deref()
        .map(|u| crate::http::Endpoint::parse(u, &tls))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--pprof {e}"))?;
    let load = args
        .load
        .as_deref()
        .map(|l| -> anyhow::Result<probe::run::LoadPlan> {
            Ok(probe::run::LoadPlan {
                spec: probe::load::LoadSpec::parse(l).map_err(anyhow::Error::msg)?,
                requests: args.requests,
                concurrency: args.concurrency,
                limit: args.load_timeout,
                rate: args.rate,
            })
        })
        .transpose()?;
    if !args.ready.starts_with('/') {
        anyhow::bail!("--ready {:?}: give a path starting with /", args.ready);
    }
    if let Some(base) = args.baseline.as_ref().filter(|b| !b.is_file()) {
        anyhow::bail!("--baseline {}: no such file", base.display());
    }
    let opts = probe::run::ProbeOptions {
        launch,
        dir: std::path::absolute(&args.dir)?,
        pprof,
        tls,
        ready_path: args.ready.clone(),
        ready_timeout: args.ready_timeout,
        grace: args.grace,
        public_port: args.public_port,
        headers: args.headers.clone(),
        gctrace: args.gctrace,
        load,
        artifacts: args.artifacts.clone(),
        expect_version: args.expect_version.clone(),
    };
    if !args.dir.is_dir() {
        anyhow::bail!("--dir {}: not a directory", args.dir.display());
    }
    if args.exec.as_deref().is_some_and(|e| e.contains("{bin}")) {
        anyhow::bail!(
            "--exec: {{bin}} is the binary `goready check` builds; with `goready probe`, give the \
             service's path"
        );
    }
    probe::service::install_signal_handlers(args.grace)?;
    let facts = probe::run::run(&opts);
    if probe::service::interrupted() {
        // The signal thread stops the service and exits with 128 + the signal; a report of
        // a half-finished probe would only mislead.
        loop {
            std::thread::park();
        }
    }
    let mut facts = facts?;
    let rule_opts = probe::rules::RuleOptions {
        max_heap_mb: args.max_heap,
        expect_version: args.expect_version.clone(),
        go_test: args.go_test.is_some() && args.exec.is_none(),
        headers_given: !args.headers.is_empty(),
        ready_path: args.ready.clone(),
        max_p99: args.max_p99,
    };
    let mut checks = probe::rules::evaluate(&facts, &rule_opts);
    let allocs = probe::allocs::evaluate(
        &mut facts,
        &probe::allocs::AllocOptions {
            top: args.top,
            baseline: args.baseline.clone(),
            max_growth: args.max_alloc_growth,
            artifacts: args.artifacts.clone(),
        },
    );
    checks.extend(allocs.checks.iter().cloned());
    let report = args.common.configured(Report::new(checks))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Output<'a> {
                service: &'a probe::run::ProbeFacts,
                checks: &'a [crate::model::Check],
            }
            serde_json::to_writer_pretty(
                &mut out,
                &Output {
                    service: &facts,
                    checks: &report.checks,
                },
            )?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            write!(out, "{}", probe::text::facts_table(&facts))?;
            write!(out, "{}", probe::allocs::text(&allocs, &facts))?;
            write!(out, "{}", crate::report::text::checks_table(&report))?;
        }
    }
    out.flush()?;
    finish(&report, &args.common, facts.launch_error.is_some())
}

fn run_report(args: &ReportArgs) -> anyhow::Result<u8> {
    let env = &crate::report::process_env;
    // A broken goready.toml is a usage error before anything is published.
    let config = args.common.load_config()?;
    let fail_on = args
        .common
        .fail_on
        .or(config.fail_on)
        .unwrap_or(Severity::Error);
    let outputs = args.outputs.outputs(&args.common, fail_on, env);
    let files = crate::report::expand_inputs(&args.inputs)?;
    let (mut report, unreadable) = crate::report::read_and_merge(&files);
    config.apply(&mut report);
    let problems: Vec<String> = unreadable
        .iter()
        .map(|(path, e)| format!("cannot read result file {}: {e:#}", path.display()))
        .collect();
    publish_merged(&report, &outputs, &problems, env)?;
    finish_with(&report, &args.common, &config, !unreadable.is_empty())
}

/// What `report` and `check` share once they hold a merged report: `problems` (inputs that
/// could not be read) on stderr and as error annotations, the table on stdout, then every
/// output asked for.
pub(crate) fn publish_merged(
    report: &Report,
    outputs: &Outputs,
    problems: &[String],
    env: crate::report::Env,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for message in problems {
        eprintln!("goready: {message}");
        if outputs.github {
            writeln!(
                out,
                "::error title=goready::{}",
                crate::report::github::escape_data(message)
            )?;
        }
    }
    if report.checks.is_empty() && problems.is_empty() {
        eprintln!("goready: warning: the result files hold no checks");
    }
    write!(
        out,
        "{}",
        crate::report::text::checks_table_styled(report, crate::report::text::color_for_stdout())
    )?;
    crate::report::publish::publish(report, outputs, env, &mut out)?;
    out.flush()?;
    Ok(())
}
