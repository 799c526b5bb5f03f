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
//! The [`Plan`] — each step's settings, typed ([`StepArgs`]) — is made on the CLI's side
//! (`cli/check.rs`): it layers goready.toml, `GOREADY_*` variables, `--set` and `check`'s own
//! flags, checks them against the settings table ([`crate::settings`]) and has each step's
//! own parser judge the values. What stays here knows none of the CLI's types: the plan's
//! types, the binary `{bin}` names, the dry-run text, and running the plan ([`run`]). A
//! step's command line is rendered from its typed settings only where it is shown or run.
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
use crate::settings::StepArgs;
use crate::step::Step;

/// What `check` will do for one step.
#[derive(Debug, Clone)]
pub enum Action {
    /// Run `goready STEP ARGS…`.
    Run {
        /// The step's settings; its command line is rendered from them.
        args: StepArgs,
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
    pub steps: Vec<(Step, Action)>,
    /// The `[report]` settings (for `--dry-run`).
    pub report: StepArgs,
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
/// `[rules]` and publishes the merged report the way `goready report` does. Progress goes to
/// `sink`; cancelled, it returns [`crate::cancel::Stopped`] and publishes nothing.
pub fn run(
    opts: &Options,
    sink: &dyn crate::progress::Sink,
    cancel: &crate::cancel::Cancel,
) -> anyhow::Result<Report> {
    let mut report = execute(&opts.plan, opts.config_file.as_deref(), sink, cancel)?;
    opts.config.apply(&mut report);
    crate::report::publish::judge(&mut report, &opts.outputs);
    let say = crate::progress::Say::new(crate::step::Step::Check, sink);
    crate::report::command::publish_merged(&report, &opts.outputs, &[], opts.env, say)?;
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
        .map(|w| crate::gotool::shell_quote(w))
        .collect();
    quoted.join(" ")
}

/// `goready STEP ARGS…`: the step's command line, rendered from its settings.
fn command_line(args: &StepArgs) -> Vec<OsString> {
    let mut words = vec![OsString::from("goready"), OsString::from(args.step.name())];
    words.extend(args.argv());
    words
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
            Action::Run { args, needs } => {
                if let Some(native) = needs {
                    out.push_str(&format!(
                        "# {name}: after the build of {} ({})\n",
                        native.label,
                        native.bin.display()
                    ));
                }
                out.push_str(&shell_line(&command_line(args)));
                out.push('\n');
            }
        }
    }
    let mut words = vec![
        OsString::from("goready"),
        OsString::from("report"),
        OsString::from("RESULTS…"),
    ];
    words.extend(plan.report.argv());
    out.push_str(&shell_line(&words).replace("'RESULTS…'", "RESULTS…"));
    out.push('\n');
    out
}
