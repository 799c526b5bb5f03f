//! Sends one merged report to every output asked for. Files (JUnit, SARIF, Code Quality) are
//! part of the result: failing to write one is an error. Everything that talks to a server
//! (the PR comment, the MR note) or decorates the job (summary) only warns: the verdict never
//! depends on it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::{BaselineState, Report, Severity};
use crate::report::api::Sticky;
use crate::report::checkrun::{self, CheckRunMode, CheckTarget, Started};
use crate::report::hub::Hub;
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
    /// The `goready` check run with every finding annotated.
    pub check_run: CheckRunMode,
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

/// The first 7 characters of a commit SHA, as GitHub shows it.
fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// The warning for a check run that could not be written: said once, with what stands in.
fn check_run_failed(e: &crate::report::api::ApiError, t: &CheckTarget) -> String {
    let why = match e.status {
        Some(403) => format!(
            " — the token may not write checks on {} (a pull request from a fork gets a read-only GITHUB_TOKEN; elsewhere grant `permissions: checks: write`)",
            t.repo
        ),
        Some(404) => format!(
            " — {} or commit {} was not found, or the token cannot see it",
            t.repo,
            short(&t.head_sha)
        ),
        _ => String::new(),
    };
    format!(
        "check run not written: {e}{why}; the findings are workflow-command annotations instead (GitHub shows at most 10 errors and 10 warnings of them); the verdict is unchanged"
    )
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
    // One GitHub client for the check run and the PR comment.
    let wants_hub = out.pr_comment || out.check_run != CheckRunMode::Off;
    let name = out.token_env.as_deref().unwrap_or("GITHUB_TOKEN");
    let hub = match wants_hub.then(|| token(name, env)) {
        None => None,
        Some(Err(e)) => {
            if out.pr_comment {
                warnings.push(format!("PR comment skipped: {e}"));
            }
            if out.check_run == CheckRunMode::On {
                warnings.push(format!("check run skipped: {e}"));
            }
            None
        }
        Some(Ok(t)) => match Hub::new(&github::api_url(env), t, say) {
            Ok(hub) => Some(hub),
            Err(e) => {
                warnings.push(format!("GitHub API not reachable: {e}"));
                None
            }
        },
    };

    // The check run first, in progress while the rest is written.
    let mut check: Option<(CheckTarget, Started)> = None;
    if let (Some(hub), true) = (&hub, out.check_run != CheckRunMode::Off) {
        match checkrun::check_target(env) {
            Err(e) => {
                if out.check_run == CheckRunMode::On {
                    warnings.push(format!("check run skipped: {e}"));
                }
            }
            Ok(t) if t.fork && out.check_run == CheckRunMode::Auto => info.push(
                "check run skipped: a pull request from a fork gets a read-only token; the findings are workflow-command annotations".into(),
            ),
            Ok(t) => match checkrun::start(hub, &t, env) {
                Ok(started) => check = Some((t, started)),
                Err(e) => warnings.push(check_run_failed(&e, &t)),
            },
        }
    }

    // With a check run every finding is annotated there; the workflow commands (10 per
    // level) stand in when there is none.
    let annotated = out.github && check.is_none();
    if annotated {
        for line in github::annotations(report) {
            writeln!(stdout, "{line}")?;
        }
    }
    if out.github {
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

    if let (true, Some(hub)) = (out.pr_comment, &hub) {
        match github::comment_target(out.pr, name, env) {
            Err(e) => warnings.push(format!("PR comment skipped: {e}")),
            Ok(target) => {
                let link = check.as_ref().and_then(|(_, s)| s.html_url.as_deref());
                match github::publish_pr_comment(report, out.fail_on, &target, hub, link, env) {
                    Ok(outcome) => info.push(describe(
                        &format!("PR comment on {}#{}", target.repo, target.pr),
                        &outcome,
                    )),
                    Err(e) => warnings.push(e),
                }
            }
        }
    }

    if let (Some(hub), Some((target, started))) = (&hub, &check) {
        match checkrun::finish(
            hub,
            target,
            started,
            report,
            out.fail_on,
            &out.fallback_file,
            env,
        ) {
            Ok(done) => info.push(format!(
                "check run {} on {} completed ({}): {} annotation{} in {} update{}{}",
                checkrun::CHECK_NAME,
                short(&target.head_sha),
                done.conclusion,
                done.annotations,
                if done.annotations == 1 { "" } else { "s" },
                done.requests,
                if done.requests == 1 { "" } else { "s" },
                started
                    .html_url
                    .as_deref()
                    .map(|u| format!(" — {u}"))
                    .unwrap_or_default()
            )),
            Err(e) => {
                warnings.push(check_run_failed(&e, target));
                if out.github && !annotated {
                    for line in github::annotations(report) {
                        writeln!(stdout, "{line}")?;
                    }
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
