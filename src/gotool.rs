//! The Go toolchain, run from the outside: one place that knows how to find `go`, run it in
//! a module directory, and read `go env -json`. Every step that runs `go` goes through here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

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
    /// A `go` command that runs in `dir`.
    pub fn command(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.current_dir(dir);
        cmd
    }

    /// `go env -json` in `dir`: every variable as Go resolves it (environment, go env file,
    /// defaults). One call answers everything a step needs to know about the toolchain.
    pub fn env_json(&self, dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
        let out = self
            .command(dir)
            .args(["env", "-json"])
            .output()
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        if !out.status.success() {
            bail!(
                "`go env -json` failed in {}: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout)
            .context("`go env -json` printed something that is not JSON")
    }

    /// `go test -c -o OUT PKG` in `dir`: the package's test binary, so that a service run
    /// under a test is one process goready can watch and stop (killing `go test` would
    /// leave the test binary running).
    pub fn test_binary(&self, dir: &Path, pkg: &str, out: &Path) -> anyhow::Result<()> {
        let result = self
            .command(dir)
            .args(["test", "-c", "-o"])
            .arg(out)
            .arg(pkg)
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        if !result.status.success() {
            bail!(
                "`go test -c {pkg}` failed in {}:\n{}",
                dir.display(),
                String::from_utf8_lossy(&result.stderr).trim()
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
        let out = self
            .command(dir)
            .args(["list", "-f", "{{.Dir}}", pkg])
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        if !out.status.success() {
            bail!(
                "`go list {pkg}` failed in {}: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text.lines().next().unwrap_or("").trim();
        if first.is_empty() || text.lines().count() > 1 {
            bail!(
                "`go list {pkg}` names {} packages; give exactly one",
                text.lines().count()
            );
        }
        Ok(PathBuf::from(first))
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
    fn a_missing_go_is_a_clear_error() {
        let go = Go {
            program: PathBuf::from("/nonexistent/go"),
        };
        let err = go.env_json(Path::new(".")).unwrap_err().to_string();
        assert!(err.contains("is Go installed"), "{err}");
    }
}
