//! `goready check [DIR]`: every step on one module, as goready.toml configures it, published
//! as one merged report.
//!
//! Each step runs as goready's own subcommand in a child process — `goready env DIR …`,
//! `goready build DIR …`, `goready probe --dir DIR …`, `goready test --dir DIR …` — with the
//! command line [`Settings`] derives from its table, and writes its result file; `check`
//! merges the results and publishes them the way `goready report` does. Running a step as it
//! runs alone keeps every guarantee it makes (process groups, timeouts, signal handling), and
//! makes `check` exactly the sum of its steps: `goready check --dry-run` prints the commands.
//!
//! A step that cannot run is a skipped check that says why (no service configured, nothing
//! to test); a step that fails does not stop the others, except the probe of the binary the
//! build made (`{bin}`), which needs that build.

pub mod init;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{Context, anyhow, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::build::matrix;
use crate::cli::{BuildArgs, CheckArgs, EnvArgs, OutputArgs, ProbeArgs, TestArgs};
use crate::config::{self, Config, Settings, Source};
use crate::model::{Check, Report, Severity};
use crate::rules;

/// Keys no step table takes, and why: `check` sets them itself.
const JSON: (&str, &str) = (
    "json",
    "goready check keeps each step's result and writes the merged one with its own --json",
);
const FAIL_ON: (&str, &str) = (
    "fail_on",
    "set fail_on at the top of goready.toml (or --fail-on); it judges the merged report",
);
const CONFIG: (&str, &str) = ("config", "goready check reads one goready.toml (--config)");
const DIR: (&str, &str) = ("dir", "every step runs on goready check's DIR");
const FORMAT: (&str, &str) = (
    "format",
    "goready check prints the merged table, not the steps' own output",
);

/// A step table of goready.toml: its name, the clap command of the step's `Args` struct (the
/// keys are its arguments' ids), and the keys `check` sets itself.
pub struct Step {
    /// `env`, `build`, `probe`, `test` or `report`.
    pub name: &'static str,
    /// The step's command line, as its `Args` struct declares it.
    pub command: fn() -> clap::Command,
    /// Keys `goready check` refuses, with the reason.
    pub reserved: &'static [(&'static str, &'static str)],
    /// What the table configures, for goready.toml's comments.
    pub about: &'static str,
}

/// Every step table, in the order `check` runs the steps (report last).
pub fn steps() -> [Step; 5] {
    [
        Step {
            name: "env",
            command: config::step_command::<EnvArgs>,
            reserved: &[JSON, FAIL_ON, CONFIG, DIR],
            about: "goready env: the Go toolchain and the module's dependency hygiene.",
        },
        Step {
            name: "build",
            command: config::step_command::<BuildArgs>,
            reserved: &[JSON, FAIL_ON, CONFIG, DIR],
            about: "goready build: the GOOS/GOARCH/CGO matrix, built into DIR/dist, every \
                    binary inspected.",
        },
        Step {
            name: "probe",
            command: config::step_command::<ProbeArgs>,
            reserved: &[JSON, FAIL_ON, CONFIG, DIR, FORMAT],
            about: "goready probe: start the service and probe its runtime. Set exec or \
                    go_test, or the probe is skipped. In exec, {bin} is the binary the build \
                    step made for this machine (DIR/dist/<name>_<goos>_<goarch>; the probe then \
                    waits for that build), {addr} and {admin} are free loopback addresses. The \
                    service runs in DIR.",
        },
        Step {
            name: "test",
            command: config::step_command::<TestArgs>,
            reserved: &[JSON, FAIL_ON, CONFIG, DIR],
            about: "goready test: go test -json in DIR, one check per test and subtest.",
        },
        Step {
            name: "report",
            command: config::step_command::<OutputArgs>,
            reserved: &[],
            about: "Where the merged report goes: the same settings as goready report's \
                    flags. Paths are relative to the directory goready runs in.",
        },
    ]
}

fn step(name: &str) -> Step {
    steps()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| unreachable!("no step {name}"))
}

/// What `check` will do for one step.
#[derive(Debug, Clone)]
pub enum Action {
    /// Run `goready STEP ARGV…`.
    Run {
        /// The step's command line (after the step name).
        argv: Vec<OsString>,
        /// The build this run needs: the probe of `{bin}`.
        needs: Option<Native>,
    },
    /// Do not run it; report this (skipped) check instead.
    Skip(Check),
}

/// The binary the build step makes for this machine: what `{bin}` stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Native {
    /// Its target's label (`linux/amd64 cgo=0`), as the build's checks carry it.
    pub label: String,
    /// Its path, absolute.
    pub bin: PathBuf,
}

/// Everything `check` will do, decided before anything runs: a bad setting is a usage error
/// (exit 2) before minutes of building, not after.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The module directory.
    pub dir: PathBuf,
    /// env, build, probe, test — in that order.
    pub steps: Vec<(&'static str, Action)>,
    /// Where the merged report goes.
    pub outputs: OutputArgs,
    /// The `[report]` settings as flags (for `--dry-run`).
    pub report_argv: Vec<OsString>,
}

/// `check`'s own flags that are step settings: (argument id, step, key). The output flags
/// (`--junit`, …) are `[report]` settings by the same names.
const FLAG_SETTINGS: [(&str, &str, &str); 3] = [
    ("targets", "build", "targets"),
    ("cgo", "build", "cgo"),
    ("version", "build", "version"),
];

/// The settings for `check` on `dir`: goready.toml, the `GOREADY_*` variables in `vars`, the
/// `--set` flags, then the flags given on the command line (`matches`).
pub fn settings(
    config: &Config,
    vars: impl IntoIterator<Item = (String, String)>,
    sets: &[String],
    matches: Option<&ArgMatches>,
) -> anyhow::Result<Settings> {
    let mut settings = Settings::from_config(config);
    settings.layer_env(vars);
    settings.layer_sets(sets)?;
    if let Some(m) = matches {
        layer_flags(&mut settings, m);
    }
    Ok(settings)
}

/// Layers the flags given on `check`'s command line (not their defaults) over `settings`.
fn layer_flags(settings: &mut Settings, matches: &ArgMatches) {
    let report = (step("report").command)();
    let mut ids: Vec<(String, &str, String)> = FLAG_SETTINGS
        .iter()
        .map(|(id, step, key)| (id.to_string(), *step, key.to_string()))
        .collect();
    for arg in config::settings_of(&report) {
        let id = arg.get_id().as_str().to_string();
        ids.push((id.clone(), "report", id));
    }
    for (id, step, key) in ids {
        if matches.value_source(&id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let raw: Vec<String> = matches
            .get_raw(&id)
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = match raw.as_slice() {
            [one] => toml::Value::String(one.clone()),
            many => toml::Value::Array(many.iter().cloned().map(toml::Value::String).collect()),
        };
        let flag = format!("--{}", id.replace('_', "-"));
        let flag = match id.as_str() {
            "targets" => "--target".to_string(),
            _ => flag,
        };
        settings.set(step, &key, value, Source::Flag(flag));
    }
}

/// The GOOS/GOARCH of the machine goready runs on, in Go's names: a binary for it runs here.
pub fn host() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    };
    (os, arch)
}

fn leading_flag(name: &str, dir: &Path) -> OsString {
    let mut flag = OsString::from(format!("--{name}="));
    flag.push(dir.as_os_str());
    flag
}

/// Decides every step from `settings`. Errors are the user's settings (exit 2).
pub fn plan(dir: &Path, settings: &Settings) -> anyhow::Result<Plan> {
    let reserved = |name: &str| step(name).reserved;
    let dir_arg: OsString = dir.as_os_str().to_os_string();
    let (_, env_argv) =
        settings.parse::<EnvArgs>("env", std::slice::from_ref(&dir_arg), reserved("env"))?;
    let (build, build_argv) =
        settings.parse::<BuildArgs>("build", std::slice::from_ref(&dir_arg), reserved("build"))?;
    let targets = build_matrix(&build, settings)?;

    let probe = plan_probe(dir, settings, &build, &targets)?;
    let (_, test_argv) =
        settings.parse::<TestArgs>("test", &[leading_flag("dir", dir)], reserved("test"))?;
    let (outputs, report_argv) = settings.parse::<OutputArgs>("report", &[], &[])?;
    let with_dir = |argv: Vec<OsString>| [vec![dir_arg.clone()], argv].concat();
    Ok(Plan {
        dir: dir.to_path_buf(),
        steps: vec![
            (
                "env",
                Action::Run {
                    argv: with_dir(env_argv),
                    needs: None,
                },
            ),
            (
                "build",
                Action::Run {
                    argv: with_dir(build_argv),
                    needs: None,
                },
            ),
            ("probe", probe),
            (
                "test",
                Action::Run {
                    argv: [vec![leading_flag("dir", dir)], test_argv].concat(),
                    needs: None,
                },
            ),
        ],
        outputs,
        report_argv,
    })
}

/// The build matrix, checked now: a bad target is a setting error, not a failed build.
fn build_matrix(build: &BuildArgs, settings: &Settings) -> anyhow::Result<Vec<matrix::Target>> {
    let at = |key: &str| {
        settings
            .get("build", key)
            .map(|s| config::describe("build", key, &s.source))
            .unwrap_or_else(|| format!("[build] {key}"))
    };
    let targets =
        matrix::parse_targets(&build.targets).map_err(|e| anyhow!("{}: {e:#}", at("targets")))?;
    let cgo = matrix::parse_cgo(&build.cgo).map_err(|e| anyhow!("{}: {e:#}", at("cgo")))?;
    let all = matrix::matrix(&targets, &cgo);
    Ok(match build.shard {
        Some(shard) => shard.select(&all),
        None => all,
    })
}

/// The probe: skipped when no service is configured (or on a platform without it), else run,
/// after the build when it starts `{bin}`.
fn plan_probe(
    dir: &Path,
    settings: &Settings,
    build: &BuildArgs,
    targets: &[matrix::Target],
) -> anyhow::Result<Action> {
    let configured = ["exec", "go_test"]
        .iter()
        .any(|k| settings.get("probe", k).is_some());
    let skip = |why: String| Action::Skip(Check::of(&rules::RUNTIME_START).skip(why));
    if !configured {
        // Still validate the rest of [probe]: a typo should not wait for the day exec is set.
        let mut probe = settings.clone();
        probe.set(
            "probe",
            "exec",
            toml::Value::String("true".into()),
            Source::Set,
        );
        probe.parse::<ProbeArgs>("probe", &[leading_flag("dir", dir)], step("probe").reserved)?;
        return Ok(skip(
            "no service configured: set [probe] exec = \"{bin} --addr {addr} --admin {admin}\" \
             (the binary the build step made for this machine) or go_test = \"./cmd/svc\" (a \
             TestServe harness) in goready.toml, or GOREADY_PROBE_EXEC / --set probe.exec=…"
                .into(),
        ));
    }
    let mut probe = settings.clone();
    let mut needs = None;
    let mut unbuildable = None;
    if let Some(setting) = settings.get("probe", "exec")
        && let toml::Value::String(line) = &setting.value
        && line.contains("{bin}")
    {
        let stand_in = match native(dir, build, targets) {
            Ok(native) => {
                // Relative to DIR, where the service runs: the probe's checks then name the
                // binary the way the build's do, the same on every machine.
                let name = native
                    .bin
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let quoted = shlex::try_quote(&format!("dist/{name}"))
                    .map_err(|e| anyhow!("{}: {e}", native.bin.display()))?
                    .into_owned();
                needs = Some(native);
                quoted
            }
            Err(why) => {
                unbuildable = Some(why);
                "bin".to_string()
            }
        };
        probe.set(
            "probe",
            "exec",
            toml::Value::String(line.replace("{bin}", &stand_in)),
            setting.source.clone(),
        );
    }
    let (_, argv) =
        probe.parse::<ProbeArgs>("probe", &[leading_flag("dir", dir)], step("probe").reserved)?;
    if let Some(why) = unbuildable {
        return Ok(skip(why));
    }
    if !cfg!(unix) {
        return Ok(skip(
            "goready probe runs on Linux and macOS; this machine cannot probe the service".into(),
        ));
    }
    Ok(Action::Run {
        argv: [vec![leading_flag("dir", dir)], argv].concat(),
        needs,
    })
}

/// The matrix target that runs on this machine (CGO 0 preferred) and the path its binary
/// gets, or why there is none.
fn native(dir: &Path, build: &BuildArgs, targets: &[matrix::Target]) -> Result<Native, String> {
    let (os, arch) = host();
    let target = targets
        .iter()
        .filter(|t| t.goos == os && t.goarch == arch)
        .min_by_key(|t| t.cgo)
        .ok_or_else(|| {
            format!(
                "[probe] exec starts {{bin}}, the {os}/{arch} binary of the build step, but the \
                 build matrix has no {os}/{arch} target: add it to [build] targets, or start \
                 the service with go_test"
            )
        })?;
    let name = matrix::binary_name(dir, &build.package).map_err(|e| format!("{e:#}"))?;
    let bin = std::path::absolute(dir.join("dist").join(target.output_name(&name)))
        .map_err(|e| format!("resolving {}: {e}", dir.display()))?;
    Ok(Native {
        label: target.label(),
        bin,
    })
}

/// `goready check`: plans, runs every step, merges and publishes.
pub fn run(args: &CheckArgs, matches: &ArgMatches) -> anyhow::Result<u8> {
    if !args.dir.is_dir() {
        bail!(
            "{} is not a directory: pass the Go module's directory (the one with go.mod)",
            args.dir.display()
        );
    }
    let config_path = match &args.common.config {
        Some(path) => Some(path.clone()),
        None => Some(args.dir.join(config::DEFAULT_FILE)).filter(|p| p.is_file()),
    };
    let config = match &config_path {
        Some(path) => Config::load(Some(path))?,
        None => Config::default(),
    };
    let mut settings = settings(&config, goready_vars(), &args.sets, Some(matches))?;
    if settings.get("probe", "baseline").is_none() {
        // runtime.alloc_regression takes its base from the report's baseline, when that is
        // a result file already there with allocation shares to compare with.
        if let Some(base) = settings.get("report", "baseline").cloned() {
            let has_allocs = |p: &str| {
                crate::model::Report::read_json(Path::new(p))
                    .is_ok_and(|r| r.checks.iter().any(|c| c.id == "runtime.allocs"))
            };
            if base.value.as_str().is_some_and(has_allocs) {
                settings.set("probe", "baseline", base.value, base.source);
            }
        }
    }
    if settings.get("report", "fallback_file").is_none() {
        // Findings without a source location point at the goready.toml that configures
        // them, as the repository knows it (SARIF and Code Quality want repo-relative paths).
        let toml = config_path
            .clone()
            .unwrap_or_else(|| args.dir.join(config::DEFAULT_FILE));
        if let Some(rel) = repo_relative(&toml) {
            settings.set(
                "report",
                "fallback_file",
                toml::Value::String(rel),
                Source::Set,
            );
        }
    }
    let plan = plan(&args.dir, &settings)?;
    if args.dry_run {
        print!("{}", describe_plan(&plan, config_path.as_deref()));
        return Ok(0);
    }
    let env = &crate::report::process_env;
    let fail_on = args
        .common
        .fail_on
        .or(config.fail_on)
        .unwrap_or(Severity::Error);
    let outputs = plan.outputs.outputs(&args.common, fail_on, env);
    let mut report = execute(&plan, config_path.as_deref())?;
    config.apply(&mut report);
    crate::report::publish::judge(&mut report, &outputs);
    crate::cli::publish_merged(&report, &outputs, &[], env)?;
    crate::cli::finish_with(&report, &args.common, &config, false)
}

/// The `GOREADY_*` variables of this process: the environment layer of the settings.
pub fn goready_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| {
        let k = k.into_string().ok()?;
        k.starts_with("GOREADY_")
            .then(|| (k, v.to_string_lossy().into_owned()))
    })
}

/// The root of the git checkout holding `path`, if any.
pub fn git_root(path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(path).ok()?;
    abs.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// `path` relative to `root`, with `/` separators (`.` for the root itself).
pub fn relative_to(path: &Path, root: &Path) -> Option<String> {
    let abs = std::path::absolute(path).ok()?;
    let rel = abs.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// `path` relative to the root of its git checkout, when it is in one.
fn repo_relative(path: &Path) -> Option<String> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let root = git_root(dir.unwrap_or(Path::new(".")))?;
    relative_to(path, &root)
}

/// A command line for people: shell-quoted, header values hidden.
fn shell_line(words: &[OsString]) -> String {
    let words: Vec<String> = words
        .iter()
        .map(|w| {
            let w = w.to_string_lossy();
            match w.strip_prefix("--header=").and_then(|h| h.split_once(':')) {
                Some((name, _)) => format!("--header={name}: ***"),
                None => w.into_owned(),
            }
        })
        .collect();
    let quoted: Vec<String> = words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-./=:,@%+^$".contains(&b));
            if plain {
                w.clone()
            } else {
                shlex::try_quote(w).map_or_else(|_| w.clone(), |q| q.into_owned())
            }
        })
        .collect();
    quoted.join(" ")
}

/// What `--dry-run` prints: the command each step would run.
pub fn describe_plan(plan: &Plan, config: Option<&Path>) -> String {
    let mut out = format!(
        "# goready check {} (settings from {})\n",
        plan.dir.display(),
        config.map_or("defaults, variables and flags".into(), |p| p
            .display()
            .to_string())
    );
    for (name, action) in &plan.steps {
        match action {
            Action::Skip(check) => {
                out.push_str(&format!("# {name}: skipped: {}\n", check.message));
            }
            Action::Run { argv, needs } => {
                if let Some(native) = needs {
                    out.push_str(&format!(
                        "# {name}: after the build of {} ({})\n",
                        native.label,
                        native.bin.display()
                    ));
                }
                let mut words = vec![OsString::from("goready"), OsString::from(*name)];
                words.extend(argv.iter().cloned());
                out.push_str(&shell_line(&words));
                out.push('\n');
            }
        }
    }
    let mut words = vec![
        OsString::from("goready"),
        OsString::from("report"),
        OsString::from("RESULTS…"),
    ];
    words.extend(plan.report_argv.iter().cloned());
    out.push_str(&shell_line(&words).replace("'RESULTS…'", "RESULTS…"));
    out.push('\n');
    out
}

/// The rule whose error stands for "this step could not run at all".
fn could_not_run_rule(step: &str) -> &'static rules::Rule {
    match step {
        "env" => &rules::ENV_TOOLCHAIN_CONSISTENT,
        "build" => &rules::BUILD_COMPILE,
        "probe" => &rules::RUNTIME_START,
        _ => &rules::TEST_PACKAGE,
    }
}

/// Runs the plan's steps in order and merges their results.
pub fn execute(plan: &Plan, config: Option<&Path>) -> anyhow::Result<Report> {
    let tmp = tempfile::Builder::new()
        .prefix("goready-check-")
        .tempdir()
        .context("creating a directory for the steps' results")?;
    // Every step reads the same goready.toml ([rules]); none reads one by accident.
    let config_file = match config {
        Some(path) => std::path::absolute(path)?,
        None => {
            let empty = tmp.path().join("goready.toml");
            std::fs::write(&empty, "")?;
            empty
        }
    };
    #[cfg(unix)]
    signals::forward();
    let total = plan.steps.len();
    let mut reports = Vec::new();
    let mut build: Option<Report> = None;
    let started = std::time::Instant::now();
    let mut in_steps = std::time::Duration::ZERO;
    for (i, (name, action)) in plan.steps.iter().enumerate() {
        let n = i + 1;
        let step_started = std::time::Instant::now();
        let checks = match action {
            Action::Skip(check) => {
                eprintln!(
                    "goready check: [{n}/{total}] {name} skipped: {}",
                    check.message
                );
                vec![check.clone()]
            }
            Action::Run { argv, needs } => {
                let unbuilt = needs
                    .as_ref()
                    .and_then(|native| unbuilt(native, build.as_ref()));
                if let Some(why) = unbuilt {
                    eprintln!("goready check: [{n}/{total}] {name} skipped: {why}");
                    vec![Check::of(&rules::RUNTIME_START).skip(why)]
                } else {
                    let mut words = vec![OsString::from("goready"), OsString::from(*name)];
                    words.extend(argv.iter().cloned());
                    eprintln!("goready check: [{n}/{total}] {}", shell_line(&words));
                    let json = tmp.path().join(format!("{name}.json"));
                    let ran = run_step(name, argv, &json, &config_file)?;
                    let mut checks = match Report::read_json(&json) {
                        Ok(report) => report.checks,
                        Err(_) => vec![Check::of(could_not_run_rule(name)).error(format!(
                            "goready {name} stopped without a result ({}){}",
                            describe_status(&ran.status),
                            ran.reason().map(|r| format!(": {r}")).unwrap_or_default()
                        ))],
                    };
                    if *name == "test" && checks.is_empty() {
                        checks.push(Check::of(&rules::TEST_PACKAGE).skip(format!(
                            "go test found no Go packages in {}: nothing to test",
                            plan.dir.display()
                        )));
                    }
                    checks
                }
            }
        };
        let report = Report::new(checks);
        let (pass, fail, skip, error) = report.counts();
        let took = step_started.elapsed();
        in_steps += took;
        eprintln!(
            "goready check: {name}: {pass} passed, {fail} failed, {skip} skipped, {error} errors \
             ({:.2} s)",
            took.as_secs_f64()
        );
        if *name == "build" {
            build = Some(report.clone());
        }
        reports.push(report);
    }
    eprintln!(
        "goready check: steps done in {:.2} s ({:.2} s in the steps themselves)",
        started.elapsed().as_secs_f64(),
        in_steps.as_secs_f64()
    );
    Ok(crate::report::merge(reports))
}

/// Why `{bin}` cannot be started: its target did not build (or the build did not run).
fn unbuilt(native: &Native, build: Option<&Report>) -> Option<String> {
    let compiled = build.is_some_and(|r| {
        r.checks.iter().any(|c| {
            c.id == rules::BUILD_COMPILE.id
                && c.target.as_deref() == Some(native.label.as_str())
                && c.status == crate::model::Status::Pass
        })
    });
    if compiled && native.bin.is_file() {
        return None;
    }
    Some(format!(
        "{{bin}} is {}, and the build of {} did not produce it (see build.compile): nothing to \
         start",
        native.bin.display(),
        native.label
    ))
}

fn describe_status(status: &ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => status.to_string(),
    }
}

/// How a step's process ended, and the end of what it printed on stderr.
struct StepRun {
    status: ExitStatus,
    stderr_tail: Vec<u8>,
}

impl StepRun {
    /// The step's own words for why it stopped: its `goready: error:` line, else its last
    /// line.
    fn reason(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.stderr_tail);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("goready: error: "))
            .or_else(|| lines.last().copied())
            .map(str::to_string)
    }
}

/// How much of a step's stderr is kept for the reason it stopped.
const STDERR_TAIL: usize = 16 * 1024;

/// Runs `goready STEP --json JSON --config CONFIG ARGV…`: stdout (the step's own table) is
/// dropped, stderr (progress, go's output) passes through.
fn run_step(name: &str, argv: &[OsString], json: &Path, config: &Path) -> anyhow::Result<StepRun> {
    let exe = std::env::current_exe().context("finding goready's own executable")?;
    let mut cmd = Command::new(exe);
    // The options go before ARGV: `goready test`'s ARGV may end in `-- GO_TEST_ARGS`.
    cmd.arg(name)
        .arg("--json")
        .arg(json)
        .arg("--config")
        .arg(config)
        .args(argv)
        .env_remove("GOREADY_FAIL_ON")
        .env_remove("GOREADY_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    let mut child = signals::spawn(&mut cmd)?;
    #[cfg(not(unix))]
    let mut child = cmd.spawn().context("starting a goready step")?;
    let mut tail = Vec::new();
    if let Some(mut stderr) = child.stderr.take() {
        let mut buf = [0u8; 8192];
        let mut out = std::io::stderr();
        loop {
            match stderr.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let _ = out.write_all(&buf[..n]);
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > STDERR_TAIL {
                        tail.drain(..tail.len() - STDERR_TAIL);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    #[cfg(unix)]
    let status = signals::wait(child)?;
    #[cfg(not(unix))]
    let status = child.wait().context("waiting for a goready step")?;
    Ok(StepRun {
        status,
        stderr_tail: tail,
    })
}

/// Signals to `check` go to the step that is running, which stops its own children the way
/// it does when run alone; `check` then dies of the same signal, publishing nothing.
#[cfg(unix)]
mod signals {
    use std::process::{Child, Command};
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::{Mutex, Once};

    use anyhow::Context;

    /// The running step's pid.
    static CURRENT: Mutex<Option<u32>> = Mutex::new(None);
    /// The signal received, or 0.
    static SIGNALLED: AtomicI32 = AtomicI32::new(0);

    fn exit_if_signalled() {
        let sig = SIGNALLED.load(Ordering::SeqCst);
        if sig != 0 {
            die_of(sig);
        }
    }

    /// Dies of `sig`, as every goready step does, so that the caller sees the usual status.
    fn die_of(sig: i32) -> ! {
        let _ = signal_hook::low_level::emulate_default_handler(sig);
        std::process::exit(128 + sig);
    }

    /// Installs the forwarding thread (once).
    pub fn forward() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                eprintln!("goready: warning: cannot watch for interrupts");
                return;
            };
            std::thread::spawn(move || {
                for sig in signals.forever() {
                    SIGNALLED.store(sig, Ordering::SeqCst);
                    let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
                    match *current {
                        Some(pid) => {
                            if let Ok(pid) = libc::pid_t::try_from(pid) {
                                // SAFETY: kill only sends a signal, to our own child, which
                                // is not reaped before CURRENT is cleared under this lock.
                                unsafe {
                                    libc::kill(pid, sig);
                                }
                            }
                        }
                        None => die_of(sig),
                    }
                }
            });
        });
    }

    /// Starts a step in its own process group (so that a terminal's Ctrl-C reaches it once,
    /// through `check`), told to stop (SIGTERM) if `check` itself dies.
    pub fn spawn(cmd: &mut Command) -> anyhow::Result<Child> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent; it runs in
        // the forked child before exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        exit_if_signalled();
        let child = cmd.spawn().context("starting a goready step")?;
        *current = Some(child.id());
        Ok(child)
    }

    /// Waits for the step. It is reaped only after signals stop going to it, so that its pid
    /// cannot have been reused by the time one is sent.
    pub fn wait(mut child: Child) -> anyhow::Result<std::process::ExitStatus> {
        let pid = child.id();
        loop {
            // SAFETY: `info` is a valid, zeroed siginfo_t that waitid fills in; WNOWAIT leaves
            // the child to be reaped below.
            let rc = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if rc == 0 {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                break;
            }
        }
        {
            let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
            *current = None;
        }
        let status = child.wait().context("waiting for a goready step")?;
        exit_if_signalled();
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use clap::CommandFactory;

    fn module() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("go.mod"),
            "module example.com/api/v2\n\ngo 1.24\n",
        )
        .unwrap();
        dir
    }

    fn with(text: &str) -> Settings {
        settings(&Config::parse(text).unwrap(), [], &[], None).unwrap()
    }

    fn probe(plan: &Plan) -> &Action {
        &plan.steps.iter().find(|(n, _)| *n == "probe").unwrap().1
    }

    #[test]
    fn no_service_configured_skips_the_probe_and_says_how_to_configure_it() {
        let dir = module();
        let plan = plan(dir.path(), &with("[probe]\nready_timeout = \"3s\"\n")).unwrap();
        let Action::Skip(check) = probe(&plan) else {
            panic!("{plan:?}")
        };
        assert_eq!(check.id, rules::RUNTIME_START.id);
        assert_eq!(check.status, Status::Skip);
        assert!(
            check.message.contains("[probe] exec = "),
            "{}",
            check.message
        );
        // The rest of [probe] is still validated.
        let err = plan_err(dir.path(), "[probe]\nready_timeout = \"3 s\"\n");
        assert!(err.contains("[probe] ready_timeout"), "{err}");
    }

    fn plan_err(dir: &Path, text: &str) -> String {
        plan(dir, &with(text)).unwrap_err().to_string()
    }

    #[cfg(unix)]
    #[test]
    fn bin_is_the_native_binary_and_the_probe_waits_for_its_build() {
        let dir = module();
        let (os, arch) = host();
        let plan = plan(
            dir.path(),
            &with("[probe]\nexec = \"{bin} --addr {addr} --admin {admin}\"\n"),
        )
        .unwrap();
        let Action::Run { argv, needs } = probe(&plan) else {
            panic!("{plan:?}")
        };
        let native = needs.as_ref().expect("the probe needs the build");
        assert_eq!(native.label, format!("{os}/{arch} cgo=0"));
        // The binary is named as go build names it: the module path without its /v2.
        let file = format!("api_{os}_{arch}");
        assert_eq!(
            native.bin,
            std::path::absolute(dir.path().join("dist").join(&file)).unwrap()
        );
        let exec = format!("--exec=dist/{file} --addr {{addr}} --admin {{admin}}");
        assert!(argv.contains(&OsString::from(exec)), "{argv:?}");
        assert!(argv[0].to_string_lossy().starts_with("--dir="), "{argv:?}");
    }

    #[test]
    fn bin_without_a_native_target_is_skipped_with_the_reason() {
        let dir = module();
        let (os, arch) = host();
        let other = if (os, arch) == ("windows", "arm64") {
            "linux/riscv64"
        } else {
            "windows/arm64"
        };
        let text = format!("[build]\ntargets = [\"{other}\"]\n[probe]\nexec = \"{{bin}}\"\n");
        let plan = plan(dir.path(), &with(&text)).unwrap();
        let Action::Skip(check) = probe(&plan) else {
            panic!("{plan:?}")
        };
        assert!(
            check
                .message
                .contains(&format!("has no {os}/{arch} target")),
            "{}",
            check.message
        );
    }

    #[test]
    fn a_probe_of_bin_is_skipped_when_its_target_did_not_build() {
        let native = Native {
            label: "linux/amd64 cgo=0".into(),
            bin: PathBuf::from("/nonexistent/dist/svc_linux_amd64"),
        };
        let failed = Report::new(vec![
            Check::of(&rules::BUILD_COMPILE)
                .target("linux/amd64 cgo=0")
                .fail("main.go:3: syntax error"),
        ]);
        let why = unbuilt(&native, Some(&failed)).unwrap();
        assert!(
            why.contains("build.compile") && why.contains("linux/amd64 cgo=0"),
            "{why}"
        );
        assert!(unbuilt(&native, None).is_some());
        // Built, but the file is gone: still nothing to start.
        let built = Report::new(vec![
            Check::of(&rules::BUILD_COMPILE)
                .target("linux/amd64 cgo=0")
                .pass("built"),
        ]);
        assert!(unbuilt(&native, Some(&built)).is_some());
        let exe = std::env::current_exe().unwrap();
        let here = Native { bin: exe, ..native };
        assert_eq!(unbuilt(&here, Some(&built)), None);
    }

    #[test]
    fn flags_given_beat_the_file_and_flags_not_given_do_not() {
        let config = Config::parse(
            "[report]\njunit = \"file.xml\"\nfallback_file = \"svc/goready.toml\"\n\
             [build]\ntargets = [\"linux/amd64\"]\ncgo = [\"1\"]\n",
        )
        .unwrap();
        let matches = crate::cli::Cli::command()
            .try_get_matches_from([
                "goready",
                "check",
                "svc",
                "--junit",
                "flag.xml",
                "--target",
                "linux/arm64",
                "--target",
                "darwin/arm64",
                "--github",
            ])
            .unwrap();
        let m = matches.subcommand_matches("check").unwrap();
        let s = settings(&config, [], &[], Some(m)).unwrap();
        let junit = s.get("report", "junit").unwrap();
        assert_eq!(junit.value.as_str(), Some("flag.xml"));
        assert_eq!(junit.source, Source::Flag("--junit".into()));
        let targets = s.get("build", "targets").unwrap();
        assert_eq!(targets.source, Source::Flag("--target".into()));
        assert_eq!(
            targets.value,
            toml::Value::Array(vec!["linux/arm64".into(), "darwin/arm64".into()])
        );
        // --fallback-file has a default; not given, the file's value stands.
        assert_eq!(
            s.get("report", "fallback_file").unwrap().value.as_str(),
            Some("svc/goready.toml")
        );
        assert_eq!(
            s.get("build", "cgo").unwrap().value,
            toml::Value::Array(vec!["1".into()])
        );
        let dir = module();
        let plan = plan(dir.path(), &s).unwrap();
        assert!(plan.outputs.github);
        assert_eq!(plan.outputs.junit.as_deref(), Some(Path::new("flag.xml")));
    }

    #[test]
    fn the_dry_run_shows_each_step_and_hides_header_values() {
        let dir = module();
        let plan = plan(
            dir.path(),
            &with(
                "[probe]\nexec = \"svc\"\nheaders = [\"Authorization: Bearer s3cret\"]\n\
                 [test]\ngo_args = [\"-run\", \"Test A\"]\n",
            ),
        )
        .unwrap();
        let text = describe_plan(&plan, None);
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("'--header=Authorization: ***'"), "{text}");
        assert!(text.contains(" -- -run 'Test A'\n"), "{text}");
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let names: Vec<&str> = lines.iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
        assert_eq!(names, ["env", "build", "probe", "test", "report"], "{text}");
    }
}
