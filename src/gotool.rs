//! The Go toolchain, run from the outside: one place that knows how to find `go`, run it in
//! a module directory, and read `go env -json`. Every step that runs `go` goes through here.
//!
//! Long-running `go` commands (`go test`) run in their own process group ([`GroupChild`]):
//! `go test` starts the test binaries as its children, and killing `go` alone leaves them
//! running. The whole group is killed when goready is done with it, when the guard is dropped
//! (an error or a panic unwinding), and when goready receives SIGINT, SIGTERM or SIGHUP.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

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

    /// Starts `go test -json PACKAGES ARGS` in `dir` in its own process group, with stdout
    /// and stderr piped and no stdin. Flags in `args` come after the packages, where
    /// `go test` accepts build, test and test-binary flags alike.
    pub fn test_json(
        &self,
        dir: &Path,
        packages: &[String],
        args: &[String],
    ) -> anyhow::Result<GroupChild> {
        let mut cmd = self.command(dir);
        cmd.args(["test", "-json"])
            .args(packages)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        GroupChild::spawn(cmd)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))
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
        let out = self
            .command(dir)
            .args(["list", "-e", "-f", "{{.ImportPath}}\t{{.Dir}}"])
            .args(import_paths)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((path, pkg_dir)) = line.split_once('\t')
                && !pkg_dir.is_empty()
            {
                dirs.insert(path.to_string(), PathBuf::from(pkg_dir));
            }
        }
        Ok(dirs)
    }
}

/// A child process leading its own process group. Dropping it kills the whole group, so no
/// `go` or test binary outlives goready; SIGINT, SIGTERM and SIGHUP to goready do the same.
#[derive(Debug)]
pub struct GroupChild {
    child: Child,
    reaped: bool,
}

impl GroupChild {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(mut cmd: Command) -> io::Result<GroupChild> {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            group::install_signal_cleanup();
            cmd.process_group(0);
        }
        let child = cmd.spawn()?;
        #[cfg(unix)]
        group::register(child.id());
        Ok(GroupChild {
            child,
            reaped: false,
        })
    }

    /// The child's stdout, when it was piped (once).
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's stderr, when it was piped (once).
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// Waits for the leader to exit, then kills whatever is left of its group (a test binary
    /// `go` left behind, a process a test started and never stopped) and reaps the leader.
    pub fn wait(mut self) -> io::Result<ExitStatus> {
        #[cfg(unix)]
        group::wait_exited_unreaped(self.child.id())?;
        self.kill_group();
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(status)
    }

    fn kill_group(&mut self) {
        #[cfg(unix)]
        group::kill(self.child.id());
        #[cfg(not(unix))]
        let _ = self.child.kill();
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill_group();
            let _ = self.child.wait();
        }
        #[cfg(unix)]
        group::unregister(self.child.id());
    }
}

/// The process groups goready leads, and the signal thread that kills them on the way out.
#[cfg(unix)]
mod group {
    use std::io;
    use std::sync::{Mutex, Once};

    /// Leaders (= group ids) of the groups currently alive.
    static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

    pub(super) fn register(pid: u32) {
        LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
    }

    pub(super) fn unregister(pid: u32) {
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|&p| p != pid);
    }

    /// SIGKILL to every process of the group led by `pid`. The leader is not reaped yet when
    /// this runs, so its pid (the group id) cannot have been reused.
    pub(super) fn kill(pid: u32) {
        if let Ok(pgid) = libc::pid_t::try_from(pid) {
            // SAFETY: killpg has no memory-safety preconditions; ESRCH (group gone) is fine.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }

    /// Blocks until `pid` (our child) has exited, leaving it a zombie (WNOWAIT) so that its
    /// pid stays reserved while we kill the rest of its group.
    pub(super) fn wait_exited_unreaped(pid: u32) -> io::Result<()> {
        loop {
            // SAFETY: `info` is a valid, zeroed siginfo_t that waitid fills in.
            let rc = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if rc == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// On SIGINT, SIGTERM or SIGHUP: kill every live group, then die of the same signal (so
    /// the caller sees the usual exit status).
    pub(super) fn install_signal_cleanup() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                return;
            };
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    // Hold the lock until the process is gone: the main thread, seeing its
                    // child die, blocks in `unregister` instead of reporting a half run.
                    let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
                    for pid in live.iter() {
                        kill(*pid);
                    }
                    if !live.is_empty() {
                        // Not eprintln!: the main thread may hold the stderr lock.
                        let msg = b"goready: interrupted; stopped go and its test processes\n";
                        // SAFETY: writes a valid buffer to fd 2; a failed write is ignored.
                        unsafe {
                            libc::write(2, msg.as_ptr().cast(), msg.len());
                        }
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(sig);
                    std::process::exit(128 + sig);
                }
            });
        });
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
