//! `goready init [DIR]`: a starter goready.toml that lists every setting of every step — its
//! help, its default or an example, commented out — and example CI files that run
//! `goready check`. The settings are read from the steps' own clap definitions, so the
//! starter cannot fall behind a new flag.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::cli::{EXIT_USAGE, InitArgs};
use crate::config;

/// Values shown for settings without a default: `(step, key, TOML value)`. A test uncomments
/// each of them alone and has `goready check` parse the result.
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "env",
        "releases",
        r#""https://go.dev/dl/?mode=json&include=all""#,
    ),
    ("env", "private", r#"["example.com/internal/*"]"#),
    (
        "build",
        "targets",
        r#"["linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"]"#,
    ),
    ("build", "cgo", r#"["0", "1"]"#),
    ("build", "jobs", "2"),
    // On by default; `false` builds without -trimpath.
    ("build", "trimpath", "true"),
    ("build", "ldflags", r#""-s -w""#),
    ("build", "tags", r#""netgo""#),
    ("build", "buildmode", r#""pie""#),
    ("build", "version", r#""1.2.3""#),
    ("build", "shard", r#""1/2""#),
    ("probe", "exec", r#""{bin} --addr {addr} --admin {admin}""#),
    ("probe", "go_test", r#""./cmd/svc""#),
    ("probe", "pprof", r#""http://127.0.0.1:6060/debug/pprof/""#),
    ("probe", "public_port", "8080"),
    (
        "probe",
        "headers",
        r#"["Authorization: Bearer set-me-in-GOREADY_PROBE_HEADERS"]"#,
    ),
    ("probe", "max_heap", "64"),
    ("probe", "load", r#""GET /healthz""#),
    ("probe", "rate", r#""200/s""#),
    ("probe", "max_p99", r#""50ms""#),
    ("probe", "ca_cert", r#""certs/admin-ca.pem""#),
    ("probe", "artifacts", r#""goready-artifacts""#),
    ("probe", "expect_version", r#""1.2.3""#),
    // An earlier run's result file (e.g. the base branch's artifact) or a saved profile.
    ("probe", "baseline", r#""base/goready.json""#),
    ("test", "packages", r#"["./..."]"#),
    ("test", "go_args", r#"["-race", "-count=1"]"#),
    ("test", "memprofile_dir", r#""goready-memprofiles""#),
    ("report", "junit", r#""goready-junit.xml""#),
    ("report", "pr", "42"),
    ("report", "token_env", r#""GITHUB_TOKEN""#),
    (
        "report",
        "gitlab_codequality",
        r#""gl-code-quality-report.json""#,
    ),
    ("report", "sarif", r#""goready.sarif""#),
];

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

/// A default as TOML: numbers stay numbers, everything else is a string.
fn toml_default(text: &str) -> String {
    if text.parse::<i64>().is_ok() {
        text.to_string()
    } else {
        toml::Value::String(text.to_string()).to_string()
    }
}

/// The shown value of a setting and whether it is the default (else an example).
fn shown_value(step: &str, arg: &clap::Arg) -> (String, bool) {
    let key = arg.get_id().as_str();
    if let Some((_, _, v)) = EXAMPLES.iter().find(|(s, k, _)| *s == step && *k == key) {
        return (v.to_string(), false);
    }
    if matches!(arg.get_action(), clap::ArgAction::SetTrue) {
        return ("false".into(), true);
    }
    match arg.get_default_values() {
        [one] => (toml_default(&one.to_string_lossy()), true),
        _ => {
            // Every setting has a default or an example (a unit test holds this).
            let name = arg
                .get_value_names()
                .and_then(|n| n.first())
                .map(|n| n.to_string())
                .unwrap_or_else(|| "VALUE".into());
            (toml::Value::String(name).to_string(), false)
        }
    }
}

/// The starter goready.toml: every key of every step table, commented out, with its help and
/// its default (or an example).
pub fn starter() -> String {
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
    for step in super::steps() {
        out.push('\n');
        comment(&mut out, step.about);
        let _ = writeln!(out, "[{}]", step.name);
        for arg in config::settings_of(&(step.command)()) {
            let key = arg.get_id().as_str();
            if step.reserved.iter().any(|(k, _)| *k == key) {
                continue;
            }
            out.push('\n');
            if let Some(help) = arg.get_help() {
                comment(&mut out, &help.to_string());
            }
            let (value, default) = shown_value(step.name, &arg);
            let mark = if default { "" } else { "  # example" };
            let _ = writeln!(out, "# {key} = {value}{mark}");
        }
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

/// The files `init` writes for `dir`: goready.toml there, the CI files at the root of its git
/// checkout (else in `dir`).
pub fn files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let root = super::git_root(dir).unwrap_or_else(|| dir.to_path_buf());
    let rel = super::relative_to(dir, &std::path::absolute(&root)?).unwrap_or_else(|| ".".into());
    Ok(vec![
        (dir.join(config::DEFAULT_FILE), starter()),
        (
            root.join(".github/workflows/goready.yml"),
            github_workflow(&rel),
        ),
        (root.join(".gitlab-ci.yml"), gitlab_ci(&rel)),
    ])
}

/// `goready init`: writes the files, or none of them when one exists and --force is not
/// given.
pub fn run(args: &InitArgs) -> anyhow::Result<u8> {
    if !args.dir.is_dir() {
        bail!("{} is not a directory", args.dir.display());
    }
    let files = files(&args.dir)?;
    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        eprintln!(
            "goready: {} already exist{}; nothing written (--force overwrites)",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        );
        return Ok(EXIT_USAGE);
    }
    for (path, text) in &files {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!(
        "next: goready check {} (goready check --dry-run shows what it will run)",
        args.dir.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_a_default_or_an_example() {
        for step in super::super::steps() {
            for arg in config::settings_of(&(step.command)()) {
                let key = arg.get_id().as_str();
                if step.reserved.iter().any(|(k, _)| *k == key) {
                    continue;
                }
                let has_default = matches!(arg.get_action(), clap::ArgAction::SetTrue)
                    || arg.get_default_values().len() == 1;
                let has_example = EXAMPLES
                    .iter()
                    .any(|(s, k, _)| *s == step.name && *k == key);
                assert!(
                    has_default || has_example,
                    "[{}] {key}: add an example to EXAMPLES",
                    step.name
                );
            }
        }
        // And no example names a setting that does not exist.
        for (s, k, _) in EXAMPLES {
            let step = super::super::step(s);
            assert!(
                config::settings_of(&(step.command)())
                    .iter()
                    .any(|a| a.get_id().as_str() == *k),
                "EXAMPLES names [{s}] {k}"
            );
        }
    }

    #[test]
    fn relative_paths_use_slashes_from_the_root() {
        let root = Path::new("/repo");
        assert_eq!(
            super::super::relative_to(Path::new("/repo"), root).unwrap(),
            "."
        );
        assert_eq!(
            super::super::relative_to(Path::new("/repo/services/api"), root).unwrap(),
            "services/api"
        );
        assert_eq!(
            super::super::relative_to(Path::new("/elsewhere"), root),
            None
        );
    }
}

#[cfg(test)]
mod starter_tests {
    use super::*;
    use crate::config::Config;

    /// The starter with `line` (a commented-out setting) uncommented.
    fn uncommented(text: &str, line: usize) -> String {
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                if i == line {
                    l.trim_start_matches("# ").to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_starter_parses_as_written_and_with_each_setting_uncommented() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("go.mod"), "module example.com/svc\n").unwrap();
        let text = starter();
        let accept = |text: &str| -> anyhow::Result<()> {
            let config = Config::parse(text)?;
            let settings = super::super::settings(&config, [], &[], None)?;
            super::super::plan(dir.path(), &settings)?;
            Ok(())
        };
        accept(&text).unwrap();
        let mut tried = 0;
        for (i, line) in text.lines().enumerate() {
            let Some(rest) = line.strip_prefix("# ") else {
                continue;
            };
            let Some((key, _)) = rest.split_once(" = ") else {
                continue;
            };
            if !key
                .trim_matches('"')
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
            {
                continue;
            }
            tried += 1;
            let one = uncommented(&text, i);
            if let Err(e) = accept(&one) {
                panic!("uncommenting {line:?} breaks the starter: {e:#}");
            }
        }
        // Every setting of every table, fail_on and two rules.
        let settings: usize = super::super::steps()
            .iter()
            .map(|s| {
                config::settings_of(&(s.command)())
                    .iter()
                    .filter(|a| !s.reserved.iter().any(|(k, _)| *k == a.get_id().as_str()))
                    .count()
            })
            .sum();
        assert_eq!(tried, settings + 3, "{text}");
    }
}
