//! Version injection and its proof at run time: the `-X` flag that puts the version into the
//! binary, the `-ldflags` word splitting Go uses, and running `BIN --version`.

use std::path::Path;
use std::time::Duration;

use anyhow::bail;

use crate::process;

/// How long `BIN --version` may take. A binary that ignores the flag and starts serving is
/// killed at this point and the check fails.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// The `-ldflags` value: the user's flags, then `-X VAR=VERSION` when a version is injected.
/// The value is quoted the way Go's flag parser (cmd/internal/quoted) reads it.
pub fn ldflags(user: Option<&str>, inject: Option<(&str, &str)>) -> anyhow::Result<Option<String>> {
    let user = user.map(str::trim).filter(|s| !s.is_empty());
    let x = match inject {
        None => None,
        Some((var, version)) => {
            if var.is_empty() || var.contains(char::is_whitespace) || !var.contains('.') {
                bail!(
                    "--version-var {var:?}: expected a package-qualified string variable, \
                     e.g. main.Version or example.com/svc/internal/build.Version"
                );
            }
            Some(format!("-X {}", quote(&format!("{var}={version}"))?))
        }
    };
    Ok(match (user, x) {
        (None, None) => None,
        (Some(u), None) => Some(u.to_string()),
        (None, Some(x)) => Some(x),
        (Some(u), Some(x)) => Some(format!("{u} {x}")),
    })
}

/// Quotes one word for Go's `-ldflags` splitter: bare when it has no space or quote, else
/// inside the quote character it does not contain (the splitter knows no escapes).
fn quote(word: &str) -> anyhow::Result<String> {
    if !word.is_empty() && !word.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
        return Ok(word.to_string());
    }
    if !word.contains('\'') {
        Ok(format!("'{word}'"))
    } else if !word.contains('"') {
        Ok(format!("\"{word}\""))
    } else {
        bail!("{word:?} holds both quote characters: Go's -ldflags cannot carry it")
    }
}

pub use crate::gotool::split_quoted;

/// What `BIN <version args>` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRun {
    /// The command as run, for the message.
    pub command: String,
    /// Exit code; `None` when killed at [`VERSION_TIMEOUT`] or by a signal.
    pub exit_code: Option<i32>,
    /// It was killed at the timeout.
    pub timed_out: bool,
    /// stdout, or stderr when stdout was empty (some tools print the version there).
    pub output: String,
    /// The run failed to start (the message says why).
    pub spawn_error: Option<String>,
}

impl VersionRun {
    /// Whether the output names `version`: a word equal to it or to `v` + it, so `1.2.3`
    /// matches `svc 1.2.3 (linux)` and `v1.2.3` but not `1.2.34`.
    pub fn mentions(&self, version: &str) -> bool {
        let version = version.trim();
        !version.is_empty()
            && (self.output.trim() == version
                || self
                    .output
                    .split(|c: char| c.is_whitespace() || "\"'`,;()[]{}=".contains(c))
                    .any(|w| w == version || w.strip_prefix('v') == Some(version)))
    }
}

/// Runs the freshly built binary with `args` (the default is `--version`), supervised: it
/// is killed after [`VERSION_TIMEOUT`] together with anything it started.
pub fn run(binary: &Path, args: &[String]) -> VersionRun {
    let command = std::iter::once(binary.display().to_string())
        .chain(args.iter().cloned())
        .map(|w| crate::gotool::shell_quote(&w))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = process::cmd(binary, args);
    if let Some(dir) = binary.parent() {
        cmd = cmd.dir(dir);
    }
    let finished = process::capture(&cmd, Some(VERSION_TIMEOUT));
    match finished {
        Err(e) => VersionRun {
            command,
            exit_code: None,
            timed_out: false,
            output: String::new(),
            spawn_error: Some(e.to_string()),
        },
        Ok(done) => {
            let stdout = done.stdout.trim().to_string();
            let output = if stdout.is_empty() {
                done.stderr.trim().to_string()
            } else {
                stdout
            };
            VersionRun {
                command,
                exit_code: done.status.and_then(|s| s.code()),
                timed_out: done.timed_out(),
                output,
                spawn_error: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_appended_to_the_users_ldflags() {
        assert_eq!(ldflags(None, None).unwrap(), None);
        assert_eq!(
            ldflags(Some(" -s -w "), Some(("main.Version", "1.2.3"))).unwrap(),
            Some("-s -w -X main.Version=1.2.3".into())
        );
        assert_eq!(
            ldflags(None, Some(("main.Version", "1.2.3 (rc)"))).unwrap(),
            Some("-X 'main.Version=1.2.3 (rc)'".into())
        );
        assert!(ldflags(None, Some(("Version", "1"))).is_err());
        assert!(ldflags(None, Some(("main.V", "a'b\"c d"))).is_err());
    }

    #[test]
    fn split_quoted_reads_what_ldflags_writes() {
        let flags = ldflags(
            Some(r#"-linkmode external -extldflags "-static -lm""#),
            Some(("main.Version", "it's 1")),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            split_quoted(&flags),
            [
                "-linkmode",
                "external",
                "-extldflags",
                "-static -lm",
                "-X",
                "main.Version=it's 1"
            ]
        );
        assert!(split_quoted("   ").is_empty());
    }

    #[test]
    fn version_output_matches_whole_words_only() {
        let run = |output: &str| VersionRun {
            command: String::new(),
            exit_code: Some(0),
            timed_out: false,
            output: output.into(),
            spawn_error: None,
        };
        assert!(run("1.2.3").mentions("1.2.3"));
        assert!(run("svc v1.2.3 (linux/amd64)").mentions("1.2.3"));
        assert!(run("version=\"1.2.3\"").mentions("1.2.3"));
        assert!(!run("1.2.34").mentions("1.2.3"));
        assert!(!run("dev").mentions("1.2.3"));
        assert!(!run("").mentions(""));
    }

    #[cfg(unix)]
    #[test]
    fn a_binary_that_is_not_executable_is_reported_not_panicked_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc");
        std::fs::write(&path, b"not a program").unwrap();
        let r = run(&path, &["--version".into()]);
        assert!(r.spawn_error.is_some(), "{r:?}");
    }
}
