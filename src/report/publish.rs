//! Sends one merged report to every output asked for. Files (JUnit, SARIF, Code Quality) are
//! part of the result: failing to write one is an error. Everything that talks to a server
//! (the PR comment, the MR note) or decorates the job (summary) only warns: the verdict never
//! depends on it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::{BaselineState, Report, Severity};
use crate::report::api::Sticky;
use crate::report::{Env, Verdict, github, gitlab, junit, sarif};

/// The outputs of `goready report` (and `goready check`).
#[derive(Debug, Clone)]
pub struct Outputs {
    /// JUnit XML file.
    pub junit: Option<PathBuf>,
    /// Annotations, job summary and step outputs.
    pub github: bool,
    /// The sticky PR comment.
    pub pr_comment: bool,
    /// The PR number when the event does not carry it.
    pub pr: Option<u64>,
    /// The variable holding the API token (default GITHUB_TOKEN / GITLAB_TOKEN).
    pub token_env: Option<String>,
    /// GitLab Code Quality JSON file.
    pub gitlab_codequality: Option<PathBuf>,
    /// The sticky MR note.
    pub gitlab_note: bool,
    /// SARIF file.
    pub sarif: Option<PathBuf>,
    /// The merged result file (`--json`), for the `report` step output.
    pub result_json: Option<PathBuf>,
    /// Where findings without a source file are attached (SARIF, Code Quality).
    pub fallback_file: String,
    /// The level that fails the job.
    pub fail_on: Severity,
    /// `--baseline`: the base's result file or directory.
    pub baseline: Option<PathBuf>,
    /// `--fail-on-new`: only new findings fail the job.
    pub fail_on_new: bool,
}

/// Judges a merged report once, before it is written or rendered: settling evidence, findings
/// and, with `--baseline`, new/existing/fixed ([`crate::model::findings::judge`]).
pub fn judge(report: &mut Report, out: &Outputs) {
    let baseline = out
        .baseline
        .as_ref()
        .map(|p| (p.display().to_string(), crate::report::read_baseline(p)));
    crate::model::findings::judge(
        report,
        crate::registry::find,
        baseline.as_ref().map(|(p, b)| (p.as_str(), b)),
        out.fail_on_new,
    );
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Reads the token from the named variable; the token itself never appears in a message.
fn token(name: &str, env: Env) -> Result<String, String> {
    if !valid_env_name(name) {
        return Err(format!(
            "--token-env {name:?} is not an environment variable name"
        ));
    }
    env(name).ok_or_else(|| format!("${name} is empty or not set"))
}

fn describe(what: &str, outcome: &Sticky) -> String {
    match outcome {
        Sticky::Created { id } => format!("{what} created (id {id})"),
        Sticky::Updated {
            id,
            changed,
            deleted,
            not_deleted,
        } => {
            let mut s = if *changed {
                format!("{what} updated (id {id})")
            } else {
                format!("{what} unchanged (id {id})")
            };
            if !deleted.is_empty() {
                s.push_str(&format!(
                    "; removed {} duplicate{}",
                    deleted.len(),
                    if deleted.len() == 1 { "" } else { "s" }
                ));
            }
            if !not_deleted.is_empty() {
                s.push_str(&format!(
                    "; {} duplicate(s) could not be removed",
                    not_deleted.len()
                ));
            }
            s
        }
    }
}

/// Writes every output. What was published is said to `say`; warnings are said too (and
/// written as workflow commands on GitHub) and returned; an `Err` is a file that could not
/// be written.
pub fn publish(
    report: &Report,
    out: &Outputs,
    env: Env,
    stdout: &mut dyn Write,
    say: crate::progress::Say<'_>,
) -> anyhow::Result<Vec<String>> {
    if let Some(path) = &out.junit {
        junit::write(report, path)?;
    }
    if let Some(path) = &out.sarif {
        sarif::write(report, &out.fallback_file, path)?;
    }
    if let Some(path) = &out.gitlab_codequality {
        gitlab::write_code_quality(report, &out.fallback_file, path)?;
    }

    let mut warnings = Vec::new();
    let mut info = Vec::new();
    match &report.baseline {
        Some(b) if b.state == BaselineState::Unreadable => warnings.push(format!(
            "the baseline {} could not be read ({}): judged as none, every finding counts as new",
            b.path,
            b.detail.as_deref().unwrap_or("unknown reason")
        )),
        Some(b) if b.state == BaselineState::Missing => {
            info.push(format!("no baseline at {} yet: judged as none", b.path))
        }
        None if out.fail_on_new => warnings
            .push("--fail-on-new without --baseline: every finding counts as new".to_string()),
        _ => {}
    }
    if out.github {
        for line in github::annotations(report) {
            writeln!(stdout, "{line}")?;
        }
        match github::write_step_summary(report, out.fail_on, env) {
            Ok(Some(_)) => {}
            Ok(None) => info.push("GITHUB_STEP_SUMMARY is not set: no job summary written".into()),
            Err(e) => warnings.push(format!("job summary not written: {e:#}")),
        }
        if let Some(path) = env("GITHUB_OUTPUT") {
            let verdict = Verdict::of(report, out.fail_on);
            let outputs = [
                ("passed", verdict.passed().to_string()),
                ("failed", verdict.failing.to_string()),
                (
                    "junit",
                    out.junit.as_deref().map(absolute).unwrap_or_default(),
                ),
                (
                    "report",
                    out.result_json.as_deref().map(absolute).unwrap_or_default(),
                ),
            ];
            if let Err(e) = github::write_outputs(Path::new(&path), &outputs) {
                warnings.push(format!("step outputs not written: {e:#}"));
            }
        }
    }

    if out.pr_comment {
        let name = out.token_env.as_deref().unwrap_or("GITHUB_TOKEN");
        match token(name, env).and_then(|t| Ok((t, github::comment_target(out.pr, name, env)?))) {
            Err(e) => warnings.push(format!("PR comment skipped: {e}")),
            Ok((token, target)) => {
                match github::publish_pr_comment(report, out.fail_on, &target, token, env, say) {
                    Ok(outcome) => info.push(describe(
                        &format!("PR comment on {}#{}", target.repo, target.pr),
                        &outcome,
                    )),
                    Err(e) => warnings.push(e),
                }
            }
        }
    }

    if out.gitlab_note {
        let name = out.token_env.as_deref().unwrap_or("GITLAB_TOKEN");
        match token(name, env).and_then(|t| Ok((t, gitlab::note_target(name, env)?))) {
            Err(e) => warnings.push(format!("MR note skipped: {e}")),
            Ok((token, target)) => {
                match gitlab::publish_mr_note(report, out.fail_on, &target, token, env, say) {
                    Ok(outcome) => {
                        info.push(describe(&format!("MR note on !{}", target.mr), &outcome))
                    }
                    Err(e) => warnings.push(e),
                }
            }
        }
    }

    for line in &info {
        say.info(line.clone());
    }
    for w in &warnings {
        say.warn(w.clone());
        if out.github {
            writeln!(stdout, "{}", github::warning_command(w))?;
        }
    }
    Ok(warnings)
}
