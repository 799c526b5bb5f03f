//! `goready init [DIR]`: a starter goready.toml that lists every setting of every step — its
//! help, its default or an example, commented out — and example CI files that run
//! `goready check`. The settings are the rows of [`crate::settings::TABLE`] (each flag's help
//! comes from the CLI, in [`Options::help`]), so the starter cannot fall behind a new flag.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config;
use crate::settings::{self, Row, Shown};

/// A setting's help text, as its flag has it (the CLI knows the flags).
pub type Help<'a> = &'a dyn Fn(&Row) -> Option<String>;
/// Comment text wrapped to fit, each line starting with `# `.
fn comment(out: &mut String, text: &str) {
    const WIDTH: usize = 92;
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > WIDTH - 2 {
            let _ = writeln!(out, "# {line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "# {line}");
    }
}

/// The starter goready.toml: every key of every step table, commented out, with its help and
/// its default (or an example).
pub fn starter(help: Help) -> String {
    let mut out = String::new();
    comment(
        &mut out,
        "goready.toml — what `goready check` runs on this module, written by `goready init`.",
    );
    comment(
        &mut out,
        "Every setting below is commented out and shows its default (or an example, marked). A \
         key is the flag of the step with the same name (ready_timeout is goready probe \
         --ready-timeout). Each one can also be set with a GOREADY_<STEP>_<KEY> variable \
         (GOREADY_PROBE_READY_TIMEOUT=10s) or `goready check --set probe.ready_timeout=10s`; \
         flags beat variables, variables beat this file. GOREADY_TARGETS, GOREADY_CGO and \
         GOREADY_VERSION are short for the [build] settings. `goready check --dry-run` shows \
         the command each step will run.",
    );
    out.push('\n');
    comment(
        &mut out,
        "The severity at which a failed check fails the job: error, warning or notice \
         (--fail-on, GOREADY_FAIL_ON).",
    );
    out.push_str("# fail_on = \"error\"\n\n");
    comment(
        &mut out,
        "Rules by id (docs/checks.md): another severity for their failures, or off.",
    );
    out.push_str("[rules]\n# \"binary.stripped\" = \"off\"\n# \"binary.static\" = \"error\"\n");
    for step in settings::tables() {
        out.push('\n');
        comment(&mut out, settings::about(step));
        let _ = writeln!(out, "[{step}]");
        for row in settings::rows(step) {
            out.push('\n');
            if let Some(help) = help(row) {
                comment(&mut out, &help);
            }
            let (value, mark) = match row.shown {
                Shown::Default(v) => (v, ""),
                Shown::Off => ("false", ""),
                Shown::Example(v) => (v, "  # example"),
            };
            let _ = writeln!(out, "# {} = {value}{mark}", row.key);
        }
    }
    out.push('\n');
    comment(
        &mut out,
        "Known vulnerabilities: goready vuln, and the scan of every binary goready build (so \
         check) makes.",
    );
    out.push_str("[vuln]\n");
    for (help, line) in crate::vuln::settings::STARTER {
        out.push('\n');
        comment(&mut out, help);
        let _ = writeln!(out, "# {line}");
    }
    out
}

/// `owner/name` of goready's repository, and the release this goready is.
fn action_ref() -> (String, String) {
    let repo = env!("CARGO_PKG_REPOSITORY")
        .trim_start_matches("https://github.com/")
        .trim_end_matches('/')
        .to_string();
    (repo, format!("v{}", env!("CARGO_PKG_VERSION")))
}

/// A YAML double-quoted scalar (JSON's string syntax is valid YAML).
fn yaml_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// `.github/workflows/goready.yml`: the action on the module at `rel` (from the repository
/// root).
pub fn github_workflow(rel: &str) -> String {
    let (repo, tag) = action_ref();
    let gomod = if rel == "." {
        "go.mod".to_string()
    } else {
        format!("{rel}/go.mod")
    };
    format!(
        "# goready: is this Go service production-ready? Written by `goready init`; settings \
         live in\n\
         # goready.toml. On pull requests from forks the token is read-only: the comment is \
         skipped\n\
         # with a warning (see goready's docs/ci.md for the workflow_run pattern).\n\
         name: goready\n\
         \n\
         on:\n\
         \x20 push:\n\
         \x20   branches: [main]\n\
         \x20 pull_request:\n\
         \n\
         permissions:\n\
         \x20 contents: read\n\
         \n\
         jobs:\n\
         \x20 goready:\n\
         \x20   runs-on: ubuntu-latest\n\
         \x20   timeout-minutes: 30\n\
         \x20   permissions:\n\
         \x20     contents: read\n\
         \x20     pull-requests: write # the sticky PR comment\n\
         \x20   steps:\n\
         \x20     - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n\
         \x20       with:\n\
         \x20         persist-credentials: false\n\
         \x20     - uses: actions/setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e # v7.0.0\n\
         \x20       with:\n\
         \x20         go-version-file: {gomod}\n\
         \x20     - id: goready\n\
         \x20       uses: {repo}@{tag}\n\
         \x20       with:\n\
         \x20         working-directory: {rel}\n",
        gomod = yaml_string(&gomod),
        rel = yaml_string(rel),
    )
}

/// `.gitlab-ci.yml`: goready's job template for the module at `rel`.
pub fn gitlab_ci(rel: &str) -> String {
    let (repo, tag) = action_ref();
    format!(
        "# goready in GitLab CI, written by `goready init`: JUnit and Code Quality reports on \
         every\n\
         # pipeline, and one sticky MR note on merge request pipelines when a masked CI/CD \
         variable\n\
         # GITLAB_TOKEN holds a token with api scope. Settings live in goready.toml.\n\
         include:\n\
         \x20 - remote: https://raw.githubusercontent.com/{repo}/{tag}/examples/gitlab-ci.yml\n\
         \n\
         goready:\n\
         \x20 extends: .goready\n\
         \x20 variables:\n\
         \x20   GOREADY_DIR: {rel}\n",
        rel = yaml_string(rel),
    )
}

/// The files `init` writes for `dir`: goready.toml there (each setting's help from `help`), the CI files
/// at the root of its git checkout (else in `dir`).
pub fn files(dir: &Path, help: Help) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let root = crate::repo::git_root(dir).unwrap_or_else(|| dir.to_path_buf());
    let rel =
        crate::repo::relative_to(dir, &std::path::absolute(&root)?).unwrap_or_else(|| ".".into());
    Ok(vec![
        (dir.join(config::DEFAULT_FILE), starter(help)),
        (
            root.join(".github/workflows/goready.yml"),
            github_workflow(&rel),
        ),
        (root.join(".gitlab-ci.yml"), gitlab_ci(&rel)),
    ])
}

/// What `goready init` was asked to do.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Where goready.toml goes.
    pub dir: &'a Path,
    /// Overwrite files that exist.
    pub force: bool,
    /// Each setting's help, for goready.toml's comments.
    pub help: Help<'a>,
}

/// What `goready init` did.
#[derive(Debug, PartialEq, Eq)]
pub enum InitRun {
    /// These files were written.
    Written(Vec<PathBuf>),
    /// These files exist, and without `force` nothing was written (exit 2).
    Exist(Vec<PathBuf>),
}

/// `goready init`: writes the files, or none of them when one exists and `force` is not set.
pub fn run(opts: &Options) -> anyhow::Result<InitRun> {
    if !opts.dir.is_dir() {
        bail!("{} is not a directory", opts.dir.display());
    }
    let files = files(opts.dir, opts.help)?;
    let existing: Vec<PathBuf> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.clone())
        .collect();
    if !existing.is_empty() && !opts.force {
        return Ok(InitRun::Exist(existing));
    }
    let mut written = Vec::new();
    for (path, text) in files {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(InitRun::Written(written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_use_slashes_from_the_root() {
        let root = Path::new("/repo");
        assert_eq!(
            crate::repo::relative_to(Path::new("/repo"), root).unwrap(),
            "."
        );
        assert_eq!(
            crate::repo::relative_to(Path::new("/repo/services/api"), root).unwrap(),
            "services/api"
        );
        assert_eq!(
            crate::repo::relative_to(Path::new("/elsewhere"), root),
            None
        );
    }
}
