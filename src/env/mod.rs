//! `goready env`: is the Go toolchain supported and trustworthy, and is the module's
//! dependency hygiene in order? Facts (`facts.rs`, `releases.rs`, `gomod.rs`) are gathered
//! apart from the rules that judge them (`toolchain_rules.rs`: the Go in use and where it lives;
//! `module_rules.rs`: how modules are fetched and checked, go.sum); nothing here edits the user's
//! environment or module files.

pub mod facts;
pub mod go_version;
pub mod gomod;
pub mod module_rules;
pub mod releases;
pub mod toolchain_rules;

use std::path::PathBuf;
use std::time::Instant;

use crate::gotool::Go;
use crate::model::Check;
use crate::registry as ids;

pub use facts::EnvFacts;
pub use releases::{Choice, ReleaseData};

/// What `goready env` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `go` command whose environment is judged.
    pub go: Go,
    /// The module directory (or any directory below its go.mod).
    pub dir: PathBuf,
    /// Which release data judges `env.go_supported`.
    pub releases: Choice,
    /// Private module path patterns (`--private`).
    pub private: Vec<String>,
}

/// The result of the env step.
#[derive(Debug)]
pub struct EnvRun {
    /// Every env check.
    pub checks: Vec<Check>,
    /// The facts they judged.
    pub facts: EnvFacts,
    /// A configuration problem that makes the run unusable: `go env` could not run, or the
    /// release data the user named could not be read (exit code 2).
    pub config_error: Option<String>,
}

/// Runs the env step: gathers facts (the release feed concurrently with `go env`), then
/// applies every env rule. Cancelled meanwhile (its `go` commands killed by the signal
/// watcher), it returns why instead of judging what the killed commands left.
pub fn run(
    opts: &Options,
    cancel: &crate::cancel::Cancel,
) -> Result<EnvRun, crate::cancel::Stopped> {
    let go = &opts.go;
    let started = Instant::now();
    let choice = opts.releases.clone();
    let releases = std::thread::spawn(move || releases::load(&choice));
    let facts = facts::gather(go, &opts.dir);
    let releases = releases
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("loading release data panicked")))
        .map_err(|e| format!("{e:#}"));
    cancel.check()?;
    let mut config_error = None;
    if let Err(e) = &facts.go_env {
        config_error = Some(format!("go env failed: {e}"));
    } else if let Err(e) = &releases {
        config_error = Some(e.clone());
    }
    let rule_opts = RuleOptions {
        private: opts.private.clone(),
    };
    let ms = started.elapsed().as_millis() as u64;
    let checks = evaluate(&facts, &releases, &rule_opts)
        .into_iter()
        .map(|mut c| {
            c.duration_ms = ms;
            c
        })
        .collect();
    Ok(EnvRun {
        checks,
        facts,
        config_error,
    })
}

/// Settings of the env rules.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
    /// Module path patterns that are private (`--private`): they must never reach a public
    /// proxy or checksum database.
    pub private: Vec<String>,
}

/// Every env rule, in documentation order.
pub fn evaluate(
    facts: &EnvFacts,
    releases: &Result<ReleaseData, String>,
    opts: &RuleOptions,
) -> Vec<Check> {
    let mut checks = vec![toolchain_rules::go_supported(facts, releases)];
    checks.push(toolchain_rules::go_mod_directive(facts));
    if let Err(e) = &facts.go_env {
        // Without go env there is nothing to judge; say so once per rule.
        for rule in [
            &ids::ENV_TOOLCHAIN_CONSISTENT,
            &ids::ENV_GOROOT_PROVENANCE,
            &ids::ENV_GOPATH_OVERLAP,
            &ids::ENV_GOPROXY,
            &ids::ENV_GOSUMDB,
            &ids::ENV_GOPRIVATE,
            &ids::ENV_GOFLAGS,
        ] {
            checks.push(Check::of(rule).error(format!("go env failed: {e}")));
        }
    } else {
        checks.push(toolchain_rules::toolchain_consistent(facts));
        checks.push(toolchain_rules::goroot_provenance(facts));
        checks.push(toolchain_rules::gopath_overlap(facts));
        checks.push(module_rules::goproxy(facts));
        checks.push(module_rules::gosumdb(facts));
        checks.push(module_rules::goprivate(facts, &opts.private));
        checks.push(module_rules::goflags(facts));
    }
    checks.push(module_rules::go_sum(facts));
    checks
}
