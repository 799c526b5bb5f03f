//! `goready report`'s front door: [`run`] merges result files and publishes the merged
//! report; [`publish_merged`] is what `report` and `check` share once they hold one. It knows
//! nothing of the command line; the CLI builds the [`Options`] and turns the [`Published`] into
//! the exit code.

use std::io::Write;
use std::path::PathBuf;

use super::Env;
use super::publish::Outputs;
use crate::config::Config;
use crate::model::Report;
use crate::progress::{Say, Sink};
use crate::step::Step;

/// What `goready report` was asked to do.
pub struct Options<'a> {
    /// Result files, and directories to search for `*.json`.
    pub inputs: Vec<PathBuf>,
    /// Where the merged report goes.
    pub outputs: Outputs,
    /// goready.toml: its `[rules]` apply to the merged report.
    pub config: &'a Config,
    /// The environment the CI outputs read (the process's own, or a test's).
    pub env: Env<'a>,
}

/// The merged report, as published.
#[derive(Debug)]
pub struct Published {
    /// Every readable result file merged, goready.toml's `[rules]` applied.
    pub report: Report,
    /// Some result file could not be read (exit 2, after every output was written).
    pub unreadable: bool,
}

/// Runs `goready report`: reads and merges the result files, applies goready.toml's
/// `[rules]`, and publishes the merged report to every output asked for; what it could not
/// read or publish is said to `sink`.
pub fn run(opts: &Options, sink: &dyn Sink) -> anyhow::Result<Published> {
    let files = super::expand_inputs(&opts.inputs)?;
    let (mut report, unreadable) = super::read_and_merge(&files);
    opts.config.apply(&mut report);
    super::publish::judge(&mut report, &opts.outputs);
    let problems: Vec<String> = unreadable
        .iter()
        .map(|(path, e)| format!("cannot read result file {}: {e:#}", path.display()))
        .collect();
    publish_merged(
        &report,
        &opts.outputs,
        &problems,
        opts.env,
        Say::new(Step::Report, sink),
    )?;
    Ok(Published {
        report,
        unreadable: !unreadable.is_empty(),
    })
}

/// What `report` and `check` share once they hold a merged report: `problems` (inputs that
/// could not be read) as warnings to `say` and as error annotations, the table on stdout,
/// then every output asked for.
pub fn publish_merged(
    report: &Report,
    outputs: &Outputs,
    problems: &[String],
    env: Env,
    say: Say<'_>,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for message in problems {
        say.warn(message.clone());
        if outputs.github {
            writeln!(
                out,
                "::error title=goready::{}",
                super::github::escape_data(message)
            )?;
        }
    }
    if report.checks.is_empty() && problems.is_empty() {
        say.warn("the result files hold no checks");
    }
    let color = super::text::color_for_stdout();
    write!(
        out,
        "{}{}",
        super::text::headline(report, outputs.fail_on, color),
        super::text::checks_table_styled(report, color)
    )?;
    super::publish::publish(report, outputs, env, &mut out, say)?;
    out.flush()?;
    Ok(())
}
