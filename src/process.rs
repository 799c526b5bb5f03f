//! Child processes that never outlive goready. Every child goready starts (`go build`, a
//! freshly built binary asked for its `--version`) runs in its own process group, so that
//! killing the group also kills what the child started (`go` runs `compile`, `link`, `gcc`,
//! `cgo` as its own children). The groups are registered while they run:
//!
//! - SIGINT, SIGTERM or SIGHUP to goready (a cancelled CI job) kills every registered group,
//!   then goready exits 130;
//! - a timeout kills the group (a binary that ignores `--version` and starts serving);
//! - on Linux the child also gets `PR_SET_PDEATHSIG(SIGKILL)`, so even a `kill -9` of
//!   goready takes `go` down with it;
//! - a [`Supervised`] that is dropped while its child still runs (a panic) kills the group.

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Process groups of the children that are running now, and whether goready is shutting
/// down (then new children are killed as soon as they start).
static RUNNING: Mutex<(Vec<u32>, bool)> = Mutex::new((Vec::new(), false));

/// Exit code after an interrupt (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Installs the SIGINT/SIGTERM/SIGHUP handler that kills every running child's process
/// group before goready exits. Safe to call more than once; only the first call installs.
pub fn kill_children_on_signal() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            let groups = {
                let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
                running.1 = true;
                std::mem::take(&mut running.0)
            };
            for pgid in groups {
                kill_group(pgid);
            }
            eprintln!("goready: interrupted; stopped the running builds");
            std::process::exit(EXIT_INTERRUPTED);
        });
        if let Err(e) = installed {
            // Another handler owns the signals (an embedding program): children are still
            // killed on timeouts and drops, only not on a signal to goready.
            eprintln!("goready: warning: cannot watch for interrupts: {e}");
        }
    });
}

/// A child in its own process group, registered until it is reaped.
#[derive(Debug)]
pub struct Supervised {
    child: Child,
    pgid: u32,
    done: bool,
}

/// What a supervised child left behind.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit status; `None` when goready killed it after the timeout.
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
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

/// Starts `cmd` (stdin closed, stdout and stderr captured) in a new process group.
pub fn spawn(cmd: &mut Command) -> io::Result<Supervised> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent; it runs
        // in the forked child before exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
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
        done: false,
    })
}

impl Supervised {
    /// The child's process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.pgid
    }

    /// Waits for the child, reading its output; after `timeout` kills its process group.
    /// Whatever the child started is killed when it exits, so nothing stays behind.
    pub fn wait(mut self, timeout: Option<Duration>) -> io::Result<Finished> {
        let started = Instant::now();
        let stdout = reader(self.child.stdout.take());
        let stderr = reader(self.child.stderr.take());
        let status = match timeout {
            None => Some(self.child.wait()?),
            Some(limit) => loop {
                if let Some(status) = self.child.try_wait()? {
                    break Some(status);
                }
                if started.elapsed() >= limit {
                    kill_group(self.pgid);
                    self.child.wait()?;
                    break None;
                }
                std::thread::sleep(Duration::from_millis(10));
            },
        };
        let elapsed = started.elapsed();
        // Grandchildren (a daemonising service, a stray compiler) would hold the pipes open.
        kill_group(self.pgid);
        self.release();
        Ok(Finished {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
            elapsed,
        })
    }

    fn release(&mut self) {
        self.done = true;
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        running.0.retain(|&p| p != self.pgid);
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if !self.done {
            kill_group(self.pgid);
            let _ = self.child.wait();
            self.release();
        }
    }
}

fn reader(stream: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut s) = stream {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    })
}

/// SIGKILL to a whole process group; a group that is already gone is fine.
fn kill_group(pgid: u32) {
    #[cfg(unix)]
    {
        if let Ok(pgid) = libc::pid_t::try_from(pgid) {
            // SAFETY: killpg only sends a signal; pgid > 0 was checked by the conversion and
            // is a group goready created.
            unsafe {
                if pgid > 0 {
                    libc::killpg(pgid, libc::SIGKILL);
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = pgid;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_are_captured() {
        let done = spawn(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]))
            .unwrap()
            .wait(None)
            .unwrap();
        assert_eq!(done.stdout, b"out\n");
        assert_eq!(done.stderr, b"err\n");
        assert_eq!(done.status.and_then(|s| s.code()), Some(3));
        assert!(!done.success() && !done.timed_out());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_hung_child_and_its_children_are_killed_at_the_timeout() {
        // The shell starts a grandchild (sleep) and reports its pid; both must be gone.
        let child = spawn(Command::new("sh").args(["-c", "sleep 60 & echo $!; wait"])).unwrap();
        let pgid = child.id();
        let done = child.wait(Some(Duration::from_millis(300))).unwrap();
        assert!(done.timed_out());
        let pid: u32 = String::from_utf8_lossy(&done.stdout)
            .trim()
            .parse()
            .unwrap();
        let gone = (0..200).any(|_| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false);
            if alive {
                std::thread::sleep(Duration::from_millis(10));
            }
            !alive
        });
        assert!(gone, "grandchild {pid} outlived the timeout");
        assert!(!RUNNING.lock().unwrap().0.contains(&pgid));
    }
}
