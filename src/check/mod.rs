//! `goready check [DIR]`: every step on one module, as goready.toml configures it, published
//! as one merged report.
//!
//! Each step runs as goready's own subcommand in a child process — `goready env DIR …`,
//! `goready build DIR …`, `goready probe --dir DIR …`, `goready test --dir DIR …` — with the
//! command line the settings give it, and writes its result file; `check` merges the results
//! and publishes them the way `goready report` does. Running a step as it runs alone keeps
//! every guarantee it makes (process groups, timeouts, signal handling), and makes `check`
//! exactly the sum of its steps: `goready check --dry-run` prints the commands.
//!
//! The [`Plan`] — each step's command line — is made on the CLI's side (`cli/check.rs`):
//! it layers goready.toml, `GOREADY_*` variables, `--set` and `check`'s own flags, and
//! validates each step's settings by parsing them with that step's clap `Args`, which only
//! the CLI knows. What stays here knows none of the CLI's types: the plan's types, the step
//! table's shape ([`Step`]: the CLI fills in each step's clap command as a function, which
//! `init` reads to document every setting), the binary `{bin}` names, the dry-run text, and
//! running the plan ([`run`]).
//!
//! A step that cannot run is a skipped check that says why (no service configured, nothing
//! to test); a step that fails does not stop the others, except the probe of the binary the
//! build made (`{bin}`), which needs that build.

mod execute;
pub mod init;

pub use execute::execute;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::build::matrix;
use crate::config::Config;
use crate::model::{Check, Report};
use crate::report::Env;
use crate::report::publish::Outputs;

/// A step table of goready.toml: its name, the clap command of the step's `Args` struct (the
/// keys are its arguments' ids), and the keys `check` sets itself. The CLI, which owns the
/// `Args` structs, makes the table (`cli::check::steps`).
#[derive(Clone, Copy)]
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
    /// The `[report]` settings as flags (for `--dry-run`).
    pub report_argv: Vec<OsString>,
    /// The build matrix's labels, in the order one build of it reports them: the merged
    /// report keeps that order when the matrix is built in parts.
    pub matrix: Vec<String>,
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

/// The matrix target that runs on this machine (CGO 0 preferred) and the path the binary of
/// `package` gets, or why there is none.
pub fn native(dir: &Path, package: &str, targets: &[matrix::Target]) -> Result<Native, String> {
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
    let name = matrix::binary_name(dir, package).map_err(|e| format!("{e:#}"))?;
    let bin = std::path::absolute(dir.join("dist").join(target.output_name(&name)))
        .map_err(|e| format!("resolving {}: {e}", dir.display()))?;
    Ok(Native {
        label: target.label(),
        bin,
    })
}

/// What `goready check` runs: the plan, the goready.toml every step reads, and where the
/// merged report goes.
pub struct Options<'a> {
    /// Every step's command line, decided by the CLI.
    pub plan: Plan,
    /// The goready.toml file every step reads (None: none, and no step reads one by accident).
    pub config_file: Option<PathBuf>,
    /// Its contents: `[rules]` apply to the merged report.
    pub config: &'a Config,
    /// Where the merged report goes.
    pub outputs: Outputs,
    /// The environment the CI outputs read.
    pub env: Env<'a>,
}

/// `goready check`: runs every step of the plan, merges their results, applies goready.toml's
/// `[rules]` and publishes the merged report the way `goready report` does.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let mut report = execute(&opts.plan, opts.config_file.as_deref())?;
    opts.config.apply(&mut report);
    crate::report::publish::judge(&mut report, &opts.outputs);
    crate::report::command::publish_merged(&report, &opts.outputs, &[], opts.env)?;
    Ok(report)
}

/// The `GOREADY_*` variables of this process: the environment layer of the settings.
pub fn goready_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| {
        let k = k.into_string().ok()?;
        k.starts_with("GOREADY_")
            .then(|| (k, v.to_string_lossy().into_owned()))
    })
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
