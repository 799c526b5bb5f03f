//! Child processes that never outlive goready: the one place that starts `go build`,
//! `go test`, `go mod …` and a freshly built binary asked for its `--version`.
//!
//! Every child leads its own process group, so that killing the group also kills what it
//! started (`go` runs `compile`, `link`, `cgo`, `gcc`, test binaries; a test may start
//! servers). The groups are registered while they run:
//!
//! - when a child exits, what is left of its group is killed before the child is reaped (so
//!   its pid, the group id, cannot have been reused);
//! - a timeout kills the group;
//! - SIGINT, SIGTERM or SIGHUP to goready (a cancelled CI job, Ctrl-C) kills every registered
//!   group, then goready dies of the same signal, so its caller sees the usual status;
//! - on Linux each child gets `PR_SET_PDEATHSIG(SIGKILL)`: even `kill -9` of goready takes the
//!   child down;
//! - a [`Supervised`] dropped while its child runs (an error, a panic) kills the group.
//!
//! The service under `goready probe` is supervised separately (`probe/service.rs`): it is
//! stopped gracefully (SIGTERM, then SIGKILL after a grace period) and may re-parent
//! grandchildren to goready, which that module reaps as a subreaper.

use std::io::{self, Read};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Process groups of the children running now, and whether goready is shutting down (then a
/// child that starts is killed at once).
static RUNNING: Mutex<(Vec<u32>, bool)> = Mutex::new((Vec::new(), false));

fn running() -> std::sync::MutexGuard<'static, (Vec<u32>, bool)> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the SIGINT/SIGTERM/SIGHUP watcher that kills every running child's group before
/// goready exits. [`spawn`] calls it; calling it again does nothing.
pub fn kill_children_on_signal() {
    #[cfg(unix)]
    {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                // Another handler owns the signals: children are still killed on timeouts,
                // exits and drops, only not on a signal to goready.
                return;
            };
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    let groups = {
                        let mut running = running();
                        running.1 = true;
                        std::mem::take(&mut running.0)
                    };
                    for pgid in &groups {
                        kill_group(*pgid);
                    }
                    if !groups.is_empty() {
                        // Not eprintln!: the main thread may hold the stderr lock.
                        let msg =
                            b"goready: interrupted; stopped go and the processes it started\n";
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

/// A child leading its own process group, registered until it is reaped.
#[derive(Debug)]
pub struct Supervised {
    child: Child,
    pgid: u32,
    reaped: bool,
}

/// What a captured child printed and how it ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit status; `None` when goready killed it at the timeout.
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stdout (lossy UTF-8).
    pub stdout: String,
    /// Everything it wrote to stderr (lossy UTF-8).
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Finished {
    /// True when it exited on its own with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// True when goready killed it at the timeout.
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }
}

/// Starts `cmd` as the leader of a new process group. Its stdio is whatever the caller set.
pub fn spawn(cmd: &mut Command) -> io::Result<Supervised> {
    kill_children_on_signal();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent; it runs in
        // the forked child before exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    // Registered under the lock, so a signal arriving now either sees the group or makes
    // this spawn kill it.
    let mut running = running();
    let child = cmd.spawn()?;
    let pgid = child.id();
    if running.1 {
        drop(running);
        kill_group(pgid);
    } else {
        running.0.push(pgid);
    }
    Ok(Supervised {
        child,
        pgid,
        reaped: false,
    })
}

/// Runs `cmd` with stdin closed and stdout/stderr captured; kills its group after `timeout`.
pub fn capture(cmd: &mut Command, timeout: Option<Duration>) -> io::Result<Finished> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    spawn(cmd)?.output(timeout)
}

impl Supervised {
    /// The child's process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.pgid
    }

    /// The child's stdout, when it was piped (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's stderr, when it was piped (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Waits for the child, then kills what is left of its group and reaps it.
    pub fn wait(self) -> io::Result<ExitStatus> {
        self.wait_timeout(None)
            .map(|s| s.expect("no timeout, no kill"))
    }

    /// Waits at most `timeout` (None: forever). At the timeout the whole group is killed and
    /// the result is `None`; otherwise whatever the child left running is killed.
    pub fn wait_timeout(mut self, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
        let timed_out = self.wait_exit(timeout)?;
        // The leader is not reaped yet, so its pid is still the group's id.
        kill_group(self.pgid);
        let status = self.child.wait()?;
        self.release();
        Ok((!timed_out).then_some(status))
    }

    /// Reads the piped stdout/stderr to the end while waiting (see [`Self::wait_timeout`]).
    pub fn output(mut self, timeout: Option<Duration>) -> io::Result<Finished> {
        let started = Instant::now();
        let stdout = reader(self.take_stdout());
        let stderr = reader(self.take_stderr());
        // Killing the group at exit also closes pipes a grandchild kept open.
        let status = self.wait_timeout(timeout)?;
        Ok(Finished {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
            elapsed: started.elapsed(),
        })
    }

    /// Blocks until the child exits or `timeout` passes, without reaping it. Returns whether
    /// the timeout passed (then the group has been killed).
    #[cfg(unix)]
    fn wait_exit(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        let pid = self.pgid;
        let Some(timeout) = timeout else {
            wait_exited_unreaped(pid)?;
            return Ok(false);
        };
        // A thread blocks in waitid so that a quick command is seen the moment it exits.
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let exited = wait_exited_unreaped(pid);
            let _ = tx.send(());
            exited
        });
        let timed_out = rx.recv_timeout(timeout).is_err();
        if timed_out {
            kill_group(pid);
        }
        waiter
            .join()
            .map_err(|_| io::Error::other("waiting for the child panicked"))??;
        Ok(timed_out)
    }

    #[cfg(not(unix))]
    fn wait_exit(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        let started = Instant::now();
        loop {
            if self.child.try_wait()?.is_some() {
                return Ok(false);
            }
            if timeout.is_some_and(|t| started.elapsed() >= t) {
                kill_group(self.pgid);
                let _ = self.child.kill();
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn release(&mut self) {
        self.reaped = true;
        running().0.retain(|&p| p != self.pgid);
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if !self.reaped {
            kill_group(self.pgid);
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.release();
        }
    }
}

fn reader(stream: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut s) = stream {
            let _ = s.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Blocks until `pid` (our child) has exited, leaving it a zombie (WNOWAIT) so that its pid
/// stays reserved while we kill the rest of its group.
#[cfg(unix)]
fn wait_exited_unreaped(pid: u32) -> io::Result<()> {
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

/// SIGKILL to a whole process group; a group that is already gone is fine.
fn kill_group(pgid: u32) {
    #[cfg(unix)]
    if let Ok(pgid) = libc::pid_t::try_from(pgid)
        && pgid > 0
    {
        // SAFETY: killpg only sends a signal to a group goready created; ESRCH is fine.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_are_captured() {
        let done = capture(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            None,
        )
        .unwrap();
        assert_eq!(done.stdout, "out\n");
        assert_eq!(done.stderr, "err\n");
        assert_eq!(done.status.and_then(|s| s.code()), Some(3));
        assert!(!done.success() && !done.timed_out());
    }

    #[cfg(unix)]
    fn alive(pid: &str) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
    }

    #[cfg(unix)]
    #[test]
    fn a_hung_child_and_its_children_are_killed_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild");
        let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        let done = capture(
            Command::new("sh").args(["-c", &script]),
            Some(Duration::from_millis(300)),
        )
        .unwrap();
        assert!(done.timed_out());
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid.trim()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(pid.trim()), "grandchild {pid} survived the timeout");
    }

    #[cfg(unix)]
    #[test]
    fn what_a_finished_child_left_running_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("leftover");
        // The child exits at once but leaves a grandchild holding its stdout open.
        let script = format!("sleep 300 & echo $! > {}; exit 0", pidfile.display());
        let started = Instant::now();
        let done = capture(Command::new("sh").args(["-c", &script]), None).unwrap();
        assert!(done.success());
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "did not wait for the leftover"
        );
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid.trim()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(pid.trim()), "leftover {pid} survived");
    }

    #[test]
    fn streaming_wait_returns_the_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exit 7"]);
        let status = spawn(&mut cmd).unwrap().wait().unwrap();
        assert_eq!(status.code(), Some(7));
    }
}
