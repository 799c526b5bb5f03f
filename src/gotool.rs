//! The Go toolchain, run from the outside: one place that knows how to find `go`, run it in
//! a module directory, and read `go env -json`. Every step that runs `go` goes through here.
//!
//! Long-running `go` commands (`go test`) run in their own process group ([`GroupChild`]):
//! `go test` starts the test binaries as its children, and killing `go` alone leaves them
//! running. The whole group is killed when goready is done with it, when the guard is dropped
//! (an error or a panic unwinding), and when goready receives SIGINT, SIGTERM or SIGHUP.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process::{self, Finished};

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
    /// [`Outcome`] with its exit status and output.
    pub fn run(
        &self,
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> anyhow::Result<Outcome> {
        let mut cmd = self.command(dir);
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        run_with_timeout(cmd, timeout).with_context(|| {
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

    /// Like [`GroupChild::wait`], but at `timeout` kills the whole group and returns `None`.
    /// A thread blocks in `waitid` so that a quick command is seen the moment it exits.
    pub fn wait_timeout(mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        #[cfg(unix)]
        let timed_out = {
            let pid = self.child.id();
            let (tx, rx) = std::sync::mpsc::channel();
            let waiter = std::thread::spawn(move || {
                let exited = group::wait_exited_unreaped(pid);
                let _ = tx.send(());
                exited
            });
            let timed_out = rx.recv_timeout(timeout).is_err();
            // The leader is not reaped yet, so its pid is still the group's id: this kills a
            // hung command at the timeout, and what a finished one left behind otherwise.
            self.kill_group();
            waiter
                .join()
                .map_err(|_| io::Error::other("waiting for the child panicked"))??;
            timed_out
        };
        #[cfg(not(unix))]
        let timed_out = {
            let started = Instant::now();
            loop {
                if self.child.try_wait()?.is_some() {
                    break false;
                }
                if started.elapsed() >= timeout {
                    self.kill_group();
                    break true;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        let status = self.child.wait()?;
        self.reaped = true;
        Ok((!timed_out).then_some(status))
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

/// What a `go` command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its exit status; `None` when goready killed it at the timeout.
    pub status: Option<ExitStatus>,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Outcome {
    /// Exited with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs `cmd` (stdout and stderr piped) as a [`GroupChild`] and kills its whole process group
/// when `timeout` passes, so that a hung `go` and the `git` it may have started never
/// outlive goready (nor survive Ctrl-C).
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> std::io::Result<Outcome> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = GroupChild::spawn(cmd)?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(
        child
            .take_stdout()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .take_stderr()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = child.wait_timeout(timeout)?;
    Ok(Outcome {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    })
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

/// Quotes `word` for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./=:,+@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl Go {
    /// `go env NAME...` in `dir`, supervised: the values in the order asked. Only for
    /// variables that need no C compiler to compute (`go env -json` runs `$CC` to probe
    /// flags, which can hang on a broken toolchain); GOHOSTOS, GOVERSION, GOCACHE are fine.
    pub fn env_vars(&self, dir: &Path, names: &[&str]) -> anyhow::Result<Vec<String>> {
        let mut cmd = self.command(dir);
        cmd.arg("env").args(names);
        let done = process::spawn(&mut cmd)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?
            .wait(None)?;
        if !done.success() {
            bail!(
                "`go env {}` failed in {}: {}",
                names.join(" "),
                dir.display(),
                String::from_utf8_lossy(&done.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&done.stdout);
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
        let mut cmd = self.command(dir);
        cmd.args(build.args());
        for (k, v) in build.env() {
            cmd.env(k, v);
        }
        let child = process::spawn(&mut cmd)
            .with_context(|| format!("cannot run {} (is Go installed?)", self.program.display()))?;
        Ok(child.wait(None)?)
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
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
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

    #[test]
    fn a_hung_child_is_killed_at_the_timeout_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild.pid");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("sleep 30 & echo $! > {}; wait", marker.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = run_with_timeout(cmd, Duration::from_millis(300)).unwrap();
        assert!(out.status.is_none(), "killed, not exited");
        assert!(out.elapsed < Duration::from_secs(20));
        let pid = std::fs::read_to_string(&marker).unwrap();
        // The grandchild (`sleep`) went with its group: /proc soon no longer lists it as
        // alive (SIGKILL is delivered asynchronously, so allow it a moment).
        let gone = || {
            std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                .map_or(true, |s| s.split_whitespace().nth(2) == Some("Z"))
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !gone() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(), "sleep {pid} survived");
    }
}
