//! The Go toolchain, run from the outside: one place that knows how to find `go`, run it in
//! a module directory, and read `go env -json`. Every step that runs `go` goes through here.
//!
//! Commands that can run long or start children (`go build`, `go test`, `go mod …`) run
//! supervised by [`crate::process`]: in their own process group, killed with everything they
//! started when they finish, time out, or goready is interrupted.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::{self, Expression, Finished, Stop, Supervised};

/// A `go` command to run.
#[derive(Debug, Clone)]
pub struct Go {
    /// The program: `$GOREADY_GO` when set, else `go` from PATH.
    pub program: PathBuf,
}

impl Default for Go {
    fn default() -> Self {
        Go {
            program: std::env::var_os("GOREADY_GO")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("go")),
        }
    }
}

impl Go {
    /// `go ARGS` in `dir`, for [`crate::process`] to run.
    pub fn command<I>(&self, dir: &Path, args: I) -> Expression
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        // As an OsStr, not a Path: duct would make a Path program `./go`, relative to `dir`,
        // where a bare `go` is looked up on PATH as the shell does.
        process::cmd(self.program.as_os_str(), args).dir(dir)
    }

    /// `go env -json` in `dir`: every variable as Go resolves it (environment, go env file,
    /// defaults). One call answers everything a step needs to know about the toolchain.
    pub fn env_json(&self, dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
        let out = process::capture(&self.command(dir, ["env", "-json"]), None)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        if !out.success() {
            bail!(
                "`go env -json` failed in {}: {}",
                dir.display(),
                out.stderr.trim()
            );
        }
        serde_json::from_str(&out.stdout)
            .context("`go env -json` printed something that is not JSON")
    }

    /// `go test -c -o OUT PKG` in `dir`: the package's test binary, so that a service run
    /// under a test is one process goready can watch and stop (killing `go test` would
    /// leave the test binary running).
    pub fn test_binary(&self, dir: &Path, pkg: &str, out: &Path) -> anyhow::Result<()> {
        let cmd = self.command(
            dir,
            [
                OsString::from("test"),
                "-c".into(),
                "-o".into(),
                out.into(),
                pkg.into(),
            ],
        );
        let result = process::capture(&cmd, None)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        if !result.success() {
            bail!(
                "`go test -c {pkg}` failed in {}:\n{}",
                dir.display(),
                result.stderr.trim()
            );
        }
        if !out.is_file() {
            bail!(
                "`go test -c {pkg}` wrote no test binary: the package has no test files. Add a \
                 TestServe that starts the service (see examples/hello-svc/main_test.go)"
            );
        }
        Ok(())
    }

    /// The directory of package `pkg` (`go list -f {{.Dir}}`), where `go test` would run
    /// its test binary.
    pub fn package_dir(&self, dir: &Path, pkg: &str) -> anyhow::Result<PathBuf> {
        let out = process::capture(&self.command(dir, ["list", "-f", "{{.Dir}}", pkg]), None)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        if !out.success() {
            bail!(
                "`go list {pkg}` failed in {}: {}",
                dir.display(),
                out.stderr.trim()
            );
        }
        let text = &out.stdout;
        let first = text.lines().next().unwrap_or("").trim();
        if first.is_empty() || text.lines().count() > 1 {
            bail!(
                "`go list {pkg}` names {} packages; give exactly one",
                text.lines().count()
            );
        }
        Ok(PathBuf::from(first))
    }

    /// `go env -json` outside any module: in a fresh empty directory. Run inside a module
    /// whose go.mod asks for a newer Go, `go` would first switch to (and download) that
    /// toolchain when GOTOOLCHAIN allows it; goready reports that instead of doing it, so it
    /// asks the Go that is installed. Everything but GOMOD and GOWORK is the same as inside
    /// the module.
    pub fn toolchain_env(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let empty = tempfile::Builder::new()
            .prefix("goready-env-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        self.env_json(empty.path())
    }

    /// The file `go` resolves to: `$GOREADY_GO` as given, else the first `go` on PATH
    /// (what `which go` prints). `None` when there is none.
    pub fn resolve(&self) -> Option<PathBuf> {
        if self.program.components().count() > 1 {
            return Some(self.program.clone());
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .filter(|d| !d.as_os_str().is_empty())
            .map(|d| d.join(&self.program))
            .find(|p| is_executable(p))
    }

    /// Runs `go ARGS` in `dir` with extra environment, killing it (and anything it started)
    /// after `timeout`. A `go` that cannot be started is an error; a `go` that fails is an
    /// [`Finished`] with its exit status and output.
    pub fn run(
        &self,
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> anyhow::Result<Finished> {
        let cmd = env
            .iter()
            .fold(self.command(dir, args), |cmd, (k, v)| cmd.env(k, v));
        process::capture(&cmd, Some(timeout)).with_context(|| {
            format!(
                "cannot run `{} {}` (is Go installed?)",
                self.program.display(),
                args.join(" ")
            )
        })
    }

    /// Starts `go test -json PACKAGES ARGS` in `dir` in its own process group, with stdout
    /// and stderr piped and no stdin. Flags in `args` come after the packages, where
    /// `go test` accepts build, test and test-binary flags alike.
    pub fn test_json(
        &self,
        dir: &Path,
        packages: &[String],
        args: &[String],
    ) -> anyhow::Result<Supervised> {
        let words = ["test", "-json"]
            .into_iter()
            .map(String::from)
            .chain(packages.iter().cloned())
            .chain(args.iter().cloned());
        process::spawn(&self.command(dir, words), Stop::Kill)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))
    }

    /// The packages `go test PATTERNS` would test in `dir`: the import paths `go list -e`
    /// resolves the patterns to, with the build `flags` that change what matches (`-tags`,
    /// `-mod`). A pattern that resolves to nothing comes back as itself, so that `go test`
    /// reports it in its own words.
    pub fn list_packages(
        &self,
        dir: &Path,
        patterns: &[String],
        flags: &[String],
    ) -> anyhow::Result<Vec<String>> {
        let words = ["list", "-e", "-f", "{{.ImportPath}}"]
            .into_iter()
            .map(String::from)
            .chain(flags.iter().cloned())
            .chain(["--".to_string()])
            .chain(patterns.iter().cloned());
        let out = process::capture(&self.command(dir, words), None)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        if !out.success() {
            bail!(
                "`go list {}` failed in {}: {}",
                patterns.join(" "),
                dir.display(),
                out.stderr.trim()
            );
        }
        Ok(out
            .stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// The source directory of each import path, from one `go list -e` in `dir`. Paths
    /// `go list` cannot resolve are left out.
    pub fn package_dirs(
        &self,
        dir: &Path,
        import_paths: &[String],
    ) -> anyhow::Result<HashMap<String, PathBuf>> {
        let mut dirs = HashMap::new();
        if import_paths.is_empty() {
            return Ok(dirs);
        }
        let words = ["list", "-e", "-f", "{{.ImportPath}}\t{{.Dir}}"]
            .into_iter()
            .map(String::from)
            .chain(import_paths.iter().cloned());
        let out = process::capture(&self.command(dir, words), None)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        for line in out.stdout.lines() {
            if let Some((path, pkg_dir)) = line.split_once('\t')
                && !pkg_dir.is_empty()
            {
                dirs.insert(path.to_string(), PathBuf::from(pkg_dir));
            }
        }
        Ok(dirs)
    }
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file() || p.with_extension("exe").is_file()
    }
}

/// One `go build` of one target: `GOOS=… GOARCH=… CGO_ENABLED=… go build FLAGS -o OUTPUT PKG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// `GOOS`.
    pub goos: String,
    /// `GOARCH`.
    pub goarch: String,
    /// `CGO_ENABLED=1` when true, `0` otherwise.
    pub cgo: bool,
    /// Flags between `build` and `-o` (`-trimpath`, `-ldflags=…`, `-tags=…`).
    pub flags: Vec<String>,
    /// The output file.
    pub output: PathBuf,
    /// The package to build (`.`, `./cmd/svc`).
    pub package: String,
    /// A build cache of its own (`GOCACHE`), for a build that must not reuse cached results.
    pub gocache: Option<PathBuf>,
}

impl Build {
    /// The variables this build sets on top of the inherited environment.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("GOOS", self.goos.clone()),
            ("GOARCH", self.goarch.clone()),
            ("CGO_ENABLED", if self.cgo { "1" } else { "0" }.to_string()),
        ];
        if let Some(cache) = &self.gocache {
            env.push(("GOCACHE", cache.display().to_string()));
        }
        env
    }

    /// The arguments after the program name.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["build".to_string()];
        args.extend(self.flags.iter().cloned());
        args.push("-o".into());
        args.push(self.output.display().to_string());
        args.push(self.package.clone());
        args
    }

    /// The same build as a POSIX shell command, run in the module directory, so a user can
    /// reproduce it by hand (a private `GOCACHE` is left out: it is deleted afterwards).
    pub fn shell_line(&self) -> String {
        let mut words: Vec<String> = self
            .env()
            .into_iter()
            .filter(|(k, _)| *k != "GOCACHE")
            .map(|(k, v)| format!("{k}={}", shell_quote(&v)))
            .collect();
        words.push("go".into());
        words.extend(self.args().iter().map(|a| shell_quote(a)));
        words.join(" ")
    }
}

/// Quotes `word` for a POSIX shell when it needs it: the one shell quoter (words of safe
/// characters stay bare, the rest are quoted by shlex). A NUL byte, which no argument can
/// hold, is shown as `\0`.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./=:,+@%".contains(&b));
    if plain {
        return word.to_string();
    }
    let word = word.replace('\0', "\\0");
    shlex::try_quote(&word).map_or_else(|_| word.clone(), |q| q.into_owned())
}

impl Go {
    /// `go env NAME...` in `dir`, supervised: the values in the order asked. Only for
    /// variables that need no C compiler to compute (`go env -json` runs `$CC` to probe
    /// flags, which can hang on a broken toolchain); GOHOSTOS, GOVERSION, GOCACHE are fine.
    pub fn env_vars(&self, dir: &Path, names: &[&str]) -> anyhow::Result<Vec<String>> {
        let words = std::iter::once("env").chain(names.iter().copied());
        let done = process::capture(&self.command(dir, words), None)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        if !done.success() {
            bail!(
                "`go env {}` failed in {}: {}",
                names.join(" "),
                dir.display(),
                done.stderr.trim()
            );
        }
        let text = &done.stdout;
        let values: Vec<String> = text.lines().map(str::to_string).collect();
        if values.len() != names.len() {
            bail!(
                "`go env {}` printed {} lines",
                names.join(" "),
                values.len()
            );
        }
        Ok(values)
    }

    /// Runs `go build` in `dir` as a supervised child (its own process group, killed if
    /// goready is interrupted). An `Err` means `go` could not be started at all.
    pub fn build(&self, dir: &Path, build: &Build) -> anyhow::Result<Finished> {
        let cmd = build
            .env()
            .into_iter()
            .fold(self.command(dir, build.args()), |cmd, (k, v)| cmd.env(k, v));
        process::capture(&cmd, None)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))
    }
}

/// Splits a flag list the way Go does (cmd/internal/quoted.Split): at white space, with
/// single- or double-quoted words and no escapes. An unterminated quote ends at the end.
pub fn split_quoted(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return words;
        };
        let mut word = String::new();
        if first == '\'' || first == '"' {
            chars.next();
            for c in chars.by_ref() {
                if c == first {
                    break;
                }
                word.push(c);
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_json_reads_the_local_toolchain() {
        let env = Go::default().env_json(Path::new(".")).unwrap();
        assert!(
            env["GOVERSION"].starts_with("go1."),
            "{:?}",
            env.get("GOVERSION")
        );
        assert!(Path::new(&env["GOROOT"]).join("bin").is_dir());
    }

    #[test]
    fn env_vars_come_back_in_the_order_asked() {
        let v = Go::default()
            .env_vars(Path::new("."), &["GOHOSTARCH", "GOVERSION", "GOHOSTOS"])
            .unwrap();
        assert!(v[1].starts_with("go1."), "{v:?}");
        assert_eq!(v[2], std::env::consts::OS.replace("macos", "darwin"));
        assert!(!v[0].is_empty());
    }

    #[test]
    fn build_shell_line_reproduces_the_command() {
        let b = Build {
            goos: "linux".into(),
            goarch: "arm64".into(),
            cgo: false,
            flags: vec!["-trimpath".into(), "-ldflags=-s -X main.Version=1.0".into()],
            output: PathBuf::from("dist/svc_linux_arm64"),
            package: "./cmd/svc".into(),
            gocache: Some(PathBuf::from("/tmp/cache")),
        };
        assert_eq!(
            b.shell_line(),
            "GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath \
             '-ldflags=-s -X main.Version=1.0' -o dist/svc_linux_arm64 ./cmd/svc"
        );
        assert!(b.env().contains(&("GOCACHE", "/tmp/cache".into())));
        for word in ["it's", "a b", "$HOME", "", "\"q\" 'q'", "x\ny", "-X a=b c"] {
            let quoted = shell_quote(word);
            assert_eq!(
                shlex::split(&quoted).as_deref(),
                Some(&[word.to_string()][..]),
                "{word:?} quoted as {quoted}"
            );
        }
        let nul = shell_quote("a\0b");
        assert!(!nul.contains('\0'), "{nul:?}");
        assert_eq!(shlex::split(&nul), Some(vec![r"a\0b".to_string()]));
    }

    #[test]
    fn a_missing_go_is_a_clear_error() {
        let go = Go {
            program: PathBuf::from("/nonexistent/go"),
        };
        let err = go.env_json(Path::new(".")).unwrap_err().to_string();
        assert!(err.contains("is Go installed"), "{err}");
    }

    #[test]
    fn toolchain_env_agrees_with_env_json_outside_modules() {
        let go = Go::default();
        let outside = go.toolchain_env().unwrap();
        let here = go.env_json(Path::new(".")).unwrap();
        for key in ["GOVERSION", "GOROOT", "GOPATH", "GOPROXY", "GOFLAGS"] {
            assert_eq!(outside.get(key), here.get(key), "{key}");
        }
        // The repository has no go.mod at its root, the temporary directory none at all.
        assert!(
            ["", "/dev/null", "NUL"].contains(&outside["GOMOD"].as_str()),
            "{:?}",
            outside["GOMOD"]
        );
    }

    #[test]
    fn resolve_finds_go_on_path() {
        let found = Go::default().resolve().expect("go on PATH");
        assert!(found.ends_with("go"), "{}", found.display());
        assert!(is_executable(&found));
    }
}
