//! The command line: every clap struct, every flag documented where it is defined. Flag
//! groups that several commands share — `--format` ([`FormatArgs`]), `--top` ([`TopArgs`]),
//! the build matrix `--target/--cgo/--version` ([`MatrixArgs`]), `--json/--fail-on/--config`
//! ([`CommonArgs`]) and the report outputs ([`OutputArgs`]) — are defined once and
//! flattened. Nothing here runs a step: `super::options` turns these into each step's
//! clap-free `Options`.

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::model::{Report, Severity};
use crate::report::publish::Outputs;

/// Is this Go service production-ready? Checks binaries, toolchain and runtime in CI.
#[derive(Debug, Parser)]
#[command(name = "goready", version, about, long_about = None)]
pub struct Cli {
    /// The step to run.
    #[command(subcommand)]
    pub command: Command,

    /// No progress on stderr (the results, errors and the exit code stay).
    #[arg(long, short, global = true)]
    pub quiet: bool,
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
    /// Known vulnerabilities in Go binaries: every binary given, in one run, against the Go
    /// vulnerability database, at symbol level (stripped binaries too); one binary.vuln check
    /// per (binary, advisory).
    Vuln(VulnArgs),
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
    /// Will the entrypoint start where it ships: read a container image (docker save tarball,
    /// OCI layout, or docker:NAME) as a stream and check its entrypoint, platform, loader and
    /// libraries, CA roots, zoneinfo, user, size and pprof port.
    Image(ImageArgs),
    /// Rank a saved pprof profile like `go tool pprof -top` (offline), compare it with a base
    /// profile (runtime.alloc_regression), draw its flame graph.
    Pprof(PprofArgs),
    /// Write an SBOM per Go binary, read from the binary itself: CycloneDX 1.6 JSON
    /// (`FILE.cdx.json`, with goready's vulnerability findings as VEX) or SPDX 2.3 JSON
    /// (`FILE.spdx.json`).
    Sbom(SbomArgs),
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
    #[arg(long, value_name = "LEVEL", env = "GOREADY_FAIL_ON", value_parser = severity())]
    pub fail_on: Option<Severity>,

    /// Rule settings (`[rules]` severities, `off`) and step defaults [default: ./goready.toml
    /// when it exists].
    #[arg(long, value_name = "PATH", env = "GOREADY_CONFIG")]
    pub config: Option<PathBuf>,

    /// The configuration, once read: goready.toml is read once per run.
    #[arg(skip)]
    loaded: OnceLock<Config>,
}

impl CommonArgs {
    /// The configuration these flags point at, read on the first call (the dispatch makes
    /// it, so that a broken file is a usage error before any work) and kept for the rest of
    /// the run.
    pub fn load_config(&self) -> anyhow::Result<&Config> {
        if let Some(config) = self.loaded.get() {
            return Ok(config);
        }
        let config = Config::load(self.config.as_deref())?;
        Ok(self.loaded.get_or_init(|| config))
    }

    /// `report` with goready.toml's `[rules]` applied: what every output shows.
    pub fn configured(&self, mut report: Report) -> anyhow::Result<Report> {
        self.load_config()?.apply(&mut report);
        Ok(report)
    }
}

/// `--format`: how `inspect`, `probe` and `pprof` print to stdout.
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// Output on stdout: the facts and the checks as tables (text), or as one JSON document
    /// (json).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `--top`: the length of an allocation ranking (`probe`, `test --memprofile`, `pprof`).
#[derive(Debug, Clone, Args)]
pub struct TopArgs {
    /// Rows per allocation ranking (runtime.allocs, each sample type), like `go tool pprof
    /// -top -nodecount=N`; 0 shows every node past the 0.5 % cut.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,
}

/// The build matrix and the version to inject: `goready build`'s flags, and `goready
/// check`'s own flags for its `[build]` settings (`--target` is `[build] targets`).
#[derive(Debug, Clone, Args)]
pub struct MatrixArgs {
    /// Targets as GOOS/GOARCH, comma-separated or repeated (`[build] targets`;
    /// GOREADY_TARGETS). Default: linux/amd64, linux/arm64, darwin/arm64, windows/amd64 with
    /// CGO 0, plus linux/amd64 with CGO 1.
    #[arg(long = "target", value_name = "GOOS/GOARCH[,...]")]
    pub targets: Vec<String>,

    /// CGO_ENABLED settings to cross with the targets, e.g. `0,1` (`[build] cgo`;
    /// GOREADY_CGO; default: 0).
    #[arg(long, value_name = "0,1")]
    pub cgo: Vec<String>,

    /// Inject this version with -X and prove it: the inspector must find it in every binary,
    /// and the native binary must print it (`[build] version`; GOREADY_VERSION).
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
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

/// `goready vuln FILE...`
#[derive(Debug, Args)]
pub struct VulnArgs {
    /// Go binaries to scan (a whole matrix in one run).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The vulnerability database: an http(s) URL of the v1 API, a v1 folder (what
    /// `govulncheck -db file:///DIR` reads), a folder of OSV .json files, or vulndb.zip read
    /// as it is [default: goready.toml's [vuln] db, else https://vuln.go.dev].
    #[arg(long, value_name = "URL|DIR|ZIP", env = "GOREADY_VULN_DB")]
    pub db: Option<String>,

    /// Where fetched databases are cached [default: $XDG_CACHE_HOME/goready/vulndb, else
    /// ~/.cache/goready/vulndb]; `off` fetches every time.
    #[arg(long, value_name = "DIR|off", env = "GOREADY_VULN_CACHE")]
    pub cache: Option<String>,

    #[command(flatten)]
    pub stdout: FormatArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `goready inspect FILE...`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Binaries to inspect.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub stdout: FormatArgs,

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

/// `goready image IMAGE`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples: goready image app.tar; goready image oci-dir/ --platform linux/arm64; goready image docker:app:ci"
)]
pub struct ImageArgs {
    /// The image: a `docker save` tarball, an OCI image layout (directory or tar), or
    /// docker:NAME (runs `docker save NAME`; needs a Docker daemon).
    #[arg(value_name = "IMAGE", required_unless_present_any = ["archive", "ref"], conflicts_with_all = ["archive", "ref"])]
    pub image: Option<String>,

    /// The image as a file: a `docker save` tarball or an OCI layout (`[image] archive` in
    /// goready.toml; the same as giving IMAGE).
    #[arg(long, value_name = "PATH", conflicts_with = "ref")]
    pub archive: Option<String>,

    /// The image by name in the local Docker daemon, read with `docker save` (`[image] ref`
    /// in goready.toml; the same as IMAGE docker:NAME).
    #[arg(long = "ref", id = "ref", value_name = "NAME")]
    pub reference: Option<String>,

    /// The platform to read from a multi-platform index, OS/ARCH[/VARIANT] [default: the
    /// host's].
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,

    /// image.size fails when the merged root filesystem is larger than this, in MiB.
    #[arg(long, value_name = "MB", value_parser = parse_mb)]
    pub max_size: Option<f64>,

    #[command(flatten)]
    pub stdout: FormatArgs,

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
    /// `{admin}` are replaced by free loopback addresses, `{port}` and `{admin_port}` by
    /// their bare port numbers, e.g. 'dist/svc --addr {addr} --admin {admin}'.
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
    /// http://127.0.0.1:6060/debug/pprof/, https://127.0.0.1:6060/debug/pprof/ or
    /// http://127.0.0.1:{admin_port}/debug/pprof/.
    #[arg(long, value_name = "URL")]
    pub pprof: Option<String>,

    /// Trust the certificates in this PEM file (besides the system's roots) when pprof or the
    /// ready path is served over TLS: CAs that sign the server's certificate, or the server's
    /// own certificate, trusted when the server presents exactly it (pinned, whatever its CA
    /// flag, as Go's client and curl do; its name and dates are still checked).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub ca_cert: Option<PathBuf>,

    /// Do not verify the TLS certificate of pprof or the ready path served over https (the
    /// checks' messages say so).
    #[arg(long)]
    pub insecure: bool,

    /// The service is ready when this path answers 200 on one of its listening sockets.
    #[arg(long, value_name = "PATH", default_value = "/debug/pprof/")]
    pub ready: String,

    /// The whole probe's time limit: past it the service is stopped and goready exits 2
    /// without a report. Default: the sum of the phases' own limits (printed at the end).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub max_time: Option<std::time::Duration>,

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

    #[command(flatten)]
    pub ranking: TopArgs,

    /// Compare allocation shares with this earlier allocs profile, or a goready result file
    /// holding its runtime.allocs check (e.g. from the base branch): runtime.alloc_regression.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// With --baseline: a site fails when its share of alloc_space grew by more than PCT
    /// percentage points (e.g. 6 % → 17 % is 11 points) beyond the sampling noise (the
    /// growth's lower bound at 99 % confidence).
    #[arg(long, default_value_t = 10.0, value_name = "PCT", value_parser = parse_points)]
    pub max_alloc_growth: f64,

    /// After the first --load, keep that traffic going in rounds for this long, reading
    /// HeapInuse and the goroutine count after a forced GC each round (runtime.goroutine_leak,
    /// runtime.heap_growth); the CPU profile (runtime.cpu) covers it.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub soak: Option<std::time::Duration>,

    /// After --soak, how long goroutines get to finish before they are counted.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::duration::parse)]
    pub settle: std::time::Duration,

    /// runtime.goroutine_leak fails when more goroutines than this are left after --soak
    /// and --settle than after the first --load.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_goroutine_growth: u64,

    /// runtime.heap_growth fails when HeapInuse rises with the work by more than this over
    /// the --soak (fitted over the rounds), in MiB.
    #[arg(long, value_name = "MB", default_value = "2", value_parser = parse_mb)]
    pub max_heap_growth: f64,

    /// Stop the service with requests like this one in flight, e.g. 'GET /slow': each must
    /// complete and the service exit 0 within --grace (runtime.drain). It must take at least
    /// 20 ms: SIGTERM goes out a third of its measured latency after the requests are sent.
    #[arg(long, value_name = "'METHOD /path'")]
    pub drain: Option<String>,

    /// How many --drain requests are sent before SIGTERM.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = parse_concurrency)]
    pub drain_requests: usize,

    /// With --baseline: a function fails runtime.cpu_regression when its CPU share grew by
    /// more than PCT percentage points beyond the sampling noise (the growth's lower bound at
    /// 99 % confidence).
    #[arg(long, default_value_t = 10.0, value_name = "PCT", value_parser = parse_points)]
    pub max_cpu_growth: f64,

    /// Check that `SERVICE --version` prints this version (--exec only).
    #[arg(long, value_name = "V")]
    pub expect_version: Option<String>,

    #[command(flatten)]
    pub stdout: FormatArgs,

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

    #[command(flatten)]
    pub ranking: TopArgs,

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

    #[command(flatten)]
    pub ranking: TopArgs,

    #[command(flatten)]
    pub stdout: FormatArgs,

    /// Write a flame graph (SVG) of the first sample type here.
    #[arg(long, value_name = "OUT.svg")]
    pub flame: Option<PathBuf>,

    /// With --base: a site fails when its share of the total grew by more than PCT
    /// percentage points (e.g. 6 % → 17 % is 11 points) beyond the sampling noise (the
    /// growth's lower bound at 99 % confidence).
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

    /// Publish the `goready` check run: every finding annotated on the pull request's head
    /// commit through the Checks API (50 per request, no cap), completed with the verdict.
    /// `auto` skips it on a fork's pull request (read-only token); a token that may not write
    /// checks falls back to workflow-command annotations with one warning. Needs
    /// `permissions: checks: write`.
    #[arg(long, value_name = "auto|true|false", num_args = 0..=1, default_missing_value = "true")]
    pub check_run: Option<crate::report::checkrun::CheckRunMode>,

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

    /// An earlier result (the base branch's goready.json, or a directory of them): each failed
    /// check becomes new or existing by fingerprint, and the base's failures that are gone are
    /// listed as fixed. A baseline that does not exist yet is judged as none.
    #[arg(long, value_name = "FILE|DIR")]
    pub baseline: Option<PathBuf>,

    /// Only new findings at or above --fail-on fail the job (with --baseline).
    #[arg(long)]
    pub fail_on_new: bool,
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
            github: self.github
                || env("GITHUB_ACTIONS")
                    .as_deref()
                    .and_then(crate::settings::boolean)
                    == Some(true),
            pr_comment: self.pr_comment,
            check_run: self.check_run.unwrap_or_default(),
            pr: self.pr,
            token_env: self.token_env.clone(),
            gitlab_codequality: self.gitlab_codequality.clone(),
            gitlab_note: self.gitlab_note,
            sarif: self.sarif.clone(),
            result_json: common.json.clone(),
            fallback_file: self.fallback_file.clone(),
            fail_on,
            baseline: self.baseline.clone(),
            fail_on_new: self.fail_on_new,
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

    #[command(flatten)]
    pub matrix: MatrixArgs,

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

    #[command(flatten)]
    pub matrix: MatrixArgs,

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

    /// Write an SBOM beside each binary in DIR/dist: cyclonedx (`<binary>.cdx.json`) or spdx
    /// (`<binary>.spdx.json`), as `goready sbom` writes them (build.sbom).
    #[arg(long, value_name = "cyclonedx|spdx", value_parser = parse_sbom_format)]
    pub sbom: Option<crate::sbom::Format>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// The severities, as result files and `--fail-on` spell them.
const SEVERITIES: [Severity; 3] = [Severity::Notice, Severity::Warning, Severity::Error];

/// `--fail-on LEVEL`: one of [`SEVERITIES`] by name (listed in the help and in errors).
fn severity() -> impl clap::builder::TypedValueParser<Value = Severity> {
    let names = SEVERITIES.map(|s| match s {
        Severity::Notice => "notice",
        Severity::Warning => "warning",
        Severity::Error => "error",
    });
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(names).try_map(|name: String| {
        SEVERITIES
            .into_iter()
            .find(|s| s.to_string() == name)
            .ok_or_else(|| format!("{name:?} is not a severity"))
    })
}

/// `goready sbom FILE...`
#[derive(Debug, Args)]
#[command(
    after_help = "SOURCE_DATE_EPOCH (seconds since 1970) sets the documents' time and derives their \
serial numbers from the file's hash, so the same binary gives the same bytes."
)]
pub struct SbomArgs {
    /// Go binaries (any GOOS/GOARCH: ELF, Mach-O, PE).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The document format: cyclonedx (CycloneDX 1.6 JSON, FILE.cdx.json) or spdx (SPDX 2.3
    /// JSON, FILE.spdx.json).
    #[arg(long, value_name = "cyclonedx|spdx", default_value = "cyclonedx", value_parser = parse_sbom_format)]
    pub format: crate::sbom::Format,

    /// Write the documents into DIR (created if missing) [default: beside each binary].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Scan the binaries for known vulnerabilities against this Go vulnerability database
    /// (as `goready vuln --db`: https://vuln.go.dev, a v1 directory, a folder of OSV files or
    /// vulndb.zip) and write the findings as VEX in the CycloneDX documents; an unreadable
    /// database is an error.
    #[arg(long, value_name = "URL|DIR|ZIP")]
    pub vuln_db: Option<String>,

    /// goready.toml whose `[vuln]` settings (ignore with reasons, cache) the scan uses
    /// [default: ./goready.toml when it exists].
    #[arg(long, value_name = "PATH", env = "GOREADY_CONFIG")]
    pub config: Option<PathBuf>,
}

fn parse_sbom_format(text: &str) -> Result<crate::sbom::Format, String> {
    text.parse()
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn goready_toml_is_read_once_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("goready.toml");
        std::fs::write(&path, "fail_on = \"warning\"\n").unwrap();
        let cli = Cli::try_parse_from([
            "goready".as_ref(),
            "build".as_ref(),
            "--config".as_ref(),
            path.as_os_str(),
        ])
        .unwrap();
        let Command::Build(args) = cli.command else {
            panic!("{cli:?}")
        };
        let first: *const Config = args.common.load_config().unwrap();
        // A second read would now fail; the run keeps the configuration it started with.
        std::fs::write(&path, "fail_on = [[[").unwrap();
        let second = args.common.load_config().unwrap();
        assert!(std::ptr::eq(first, second));
        assert_eq!(second.fail_on, Some(Severity::Warning));
        // A fresh run reads the file again, and says what is wrong with it.
        let cli = Cli::try_parse_from([
            "goready".as_ref(),
            "test".as_ref(),
            "--config".as_ref(),
            path.as_os_str(),
        ])
        .unwrap();
        let Command::Test(args) = cli.command else {
            panic!("{cli:?}")
        };
        assert!(args.common.load_config().is_err());
    }

    #[test]
    fn shared_flag_groups_parse_the_same_in_every_command() {
        let top = |argv: &[&str]| match Cli::try_parse_from(argv).unwrap().command {
            Command::Test(a) => a.ranking.top,
            Command::Pprof(a) => a.ranking.top,
            #[cfg(unix)]
            Command::Probe(a) => a.ranking.top,
            other => panic!("{other:?}"),
        };
        assert_eq!(top(&["goready", "test", "--top", "7"]), 7);
        assert_eq!(top(&["goready", "pprof", "x.pb.gz", "--top", "7"]), 7);
        #[cfg(unix)]
        assert_eq!(top(&["goready", "probe", "--exec", "svc", "--top", "7"]), 7);
        assert_eq!(top(&["goready", "test"]), 20, "the one default");
        let Command::Check(check) = Cli::try_parse_from([
            "goready",
            "check",
            "--target",
            "linux/arm64",
            "--cgo",
            "1",
            "--version",
            "1.2.3",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        let Command::Build(build) = Cli::try_parse_from([
            "goready",
            "build",
            "--target",
            "linux/arm64",
            "--cgo",
            "1",
            "--version",
            "1.2.3",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        assert_eq!(check.matrix.targets, build.matrix.targets);
        assert_eq!(check.matrix.cgo, build.matrix.cgo);
        assert_eq!(check.matrix.version, build.matrix.version);
    }
}
