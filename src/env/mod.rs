//! `goready env`: is the Go toolchain supported and trustworthy, and is the module's
//! dependency hygiene in order? Facts (`facts.rs`, `releases.rs`, `gomod.rs`) are gathered
//! apart from the rules that judge them (`rules.rs`); nothing here edits the user's
//! environment or module files.

pub mod facts;
pub mod gomod;
pub mod releases;
pub mod toolchain_rules;
pub mod version;

use std::path::PathBuf;
use std::time::Instant;

use crate::gotool::Go;
use crate::model::Check;

pub use facts::EnvFacts;
pub use releases::{Choice, ReleaseData};

/// What `goready env` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The module directory (or any directory below its go.mod).
    pub dir: PathBuf,
    /// Which release data judges `env.go_supported`.
    pub releases: Choice,
    /// Private module path patterns (`--private`).
    pub private: Vec<String>,
}

/// The result of the env step.
#[derive(Debug)]
pub struct Outcome {
    /// Every env check.
    pub checks: Vec<Check>,
    /// The facts they judged.
    pub facts: EnvFacts,
    /// A configuration problem that makes the run unusable: `go env` could not run, or the
    /// release data the user named could not be read (exit code 2).
    pub config_error: Option<String>,
}

/// Runs the env step: gathers facts (the release feed concurrently with `go env`), then
/// applies every env rule.
pub fn run(go: &Go, opts: &Options) -> Outcome {
    let started = Instant::now();
    let choice = opts.releases.clone();
    let releases = std::thread::spawn(move || releases::load(&choice));
    let facts = facts::gather(go, &opts.dir);
    let releases = releases
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("loading release data panicked")))
        .map_err(|e| format!("{e:#}"));
    let mut config_error = None;
    if let Err(e) = &facts.go_env {
        config_error = Some(format!("go env failed: {e}"));
    } else if let Err(e) = &releases {
        config_error = Some(e.clone());
    }
    let rule_opts = toolchain_rules::RuleOptions {
        private: opts.private.clone(),
    };
    let ms = started.elapsed().as_millis() as u64;
    let checks = toolchain_rules::evaluate(&facts, &releases, &rule_opts)
        .into_iter()
        .map(|mut c| {
            c.duration_ms = ms;
            c
        })
        .collect();
    Outcome {
        checks,
        facts,
        config_error,
    }
}
