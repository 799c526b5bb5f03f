//! The one supervisor of every child goready starts: `go build`, `go test`, `go mod …`, a
//! freshly built binary asked for its `--version`, the service under `goready probe`, and the
//! steps of `goready check`. Callers describe the child with duct ([`cmd`], an
//! [`Expression`]); duct builds the `std::process::Command` and spawns it, and its handle is
//! shared: one thread may wait for the child while another stops it ([`Stopper`]). What duct
//! does not do is kept here: one spawn helper ([`spawn`]) that adds the process group, the
//! death signal and the registration; one signal watcher ([`signals`]); the way a child is
//! stopped as a parameter ([`Stop`]).
//!
//! Every child leads its own process group, so that stopping the group also stops what it
//! started (`go` runs `compile`, `link`, `cgo`, `gcc`, test binaries; a test or a service may
//! start servers). The children are registered while they run:
//!
//! - when a child exits, what is left of its group is killed before the child is reaped (so
//!   its pid, the group id, cannot have been reused);
//! - a timeout kills the group;
//! - SIGINT, SIGTERM or SIGHUP to goready (a cancelled CI job, Ctrl-C) cancels the run's
//!   token and stops every registered child by its policy; the CLI then makes goready die of
//!   the same signal, so its caller sees the usual status; a second signal kills everything
//!   at once;
//! - on Linux each child gets `PR_SET_PDEATHSIG`: even `kill -9` of goready takes the child
//!   down;
//! - a [`Supervised`] dropped while its child runs (an error, a panic) kills its processes.
//!
//! A child stopped gracefully ([`Stop::Graceful`], the service) may fork processes that leave
//! its group; goready then becomes a child subreaper (Linux), so that orphans of the tree are
//! re-parented to goready, stay visible in /proc, are stopped with the tree and reaped.

#[cfg(unix)]
pub mod procs;
#[cfg(unix)]
pub mod signals;
#[cfg(unix)]
mod tree;

use std::io;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use duct::{Expression, cmd};
pub use os_pipe::PipeReader;

/// How a child is stopped when goready stops it (a signal to goready, [`Supervised::stop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGKILL to its process group at once: tools whose half-done work is worth nothing
    /// (`go build`, `go test`, a `--version` run). `kill -9` of goready kills the child.
    Kill,
    /// SIGTERM to its group and every process of its tree, SIGKILL to whatever still runs
    /// after the grace period: the service, which should drain and exit on SIGTERM.
    /// `kill -9` of goready kills the child.
    Graceful(Duration),
    /// goready's own signal passed on to the child, which stops its own children and exits;
    /// goready waits for that. For goready's own subcommands (the steps of `goready check`).
    /// `kill -9` of goready sends the child SIGTERM.
    Forward,
}

impl Stop {
    /// The signal the kernel sends the child when goready dies.
    #[cfg(target_os = "linux")]
    fn death_signal(self) -> i32 {
        match self {
            Stop::Kill | Stop::Graceful(_) => libc::SIGKILL,
            Stop::Forward => libc::SIGTERM,
        }
    }
}

/// One registered child.
#[derive(Debug)]
struct Entry {
    /// The child's pid, also its process group id.
    pid: u32,
    stop: Stop,
    /// Set (under the registry's lock) before the child is reaped: from then on its pid may
    /// belong to another process, and nothing signals it.
    released: AtomicBool,
    /// A graceful stop's SIGTERM went out: a second stopper (the signal watcher and the
    /// child's owner at once) only waits, so the child sees one SIGTERM, not two (a Go
    /// service that restored the default action after the first would die of the second).
    term_sent: AtomicBool,
    #[cfg(unix)]
    tree: Mutex<tree::Tree>,
}

/// The children running now, and whether goready is shutting down (then a child that
/// starts is stopped at once).
#[derive(Debug, Default)]
struct Registry {
    entries: Vec<Arc<Entry>>,
    stopping: bool,
}

// A global, on purpose: the signal watcher must reach every running child of the process,
// whoever started it, and a signal handler has no other way in. Nothing else reads it.
static RUNNING: Mutex<Registry> = Mutex::new(Registry {
    entries: Vec::new(),
    stopping: false,
});

fn running() -> MutexGuard<'static, Registry> {
    lock(&RUNNING)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// goready is a child subreaper (set at the first [`Stop::Graceful`] spawn). Global because
/// the property it mirrors is the process's own (prctl sets it for the whole process, once).
#[cfg(unix)]
static SUBREAPER: AtomicBool = AtomicBool::new(false);

/// True when `pid` is a registered child: goready's own, not an orphan of some tree.
#[cfg(unix)]
fn is_registered(pid: i32) -> bool {
    running().entries.iter().any(|e| e.pid as i32 == pid)
}

/// A child leading its own process group, registered until it is reaped.
#[derive(Debug)]
pub struct Supervised {
    handle: duct::Handle,
    stdout: Option<PipeReader>,
    stderr: Option<PipeReader>,
    entry: Arc<Entry>,
    /// The main process's exit and when goready saw it, once reaped by [`Self::try_wait`].
    exit: Option<(ExitStatus, Instant)>,
    released: bool,
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

/// How a graceful stop went ([`Supervised::terminate`]).
#[cfg(unix)]
#[derive(Debug, Clone)]
pub struct Terminated {
    /// Every process was gone within the grace period after SIGTERM.
    pub graceful: bool,
    /// Time from SIGTERM until the main process exited, when that happened within the grace
    /// period (and it had not exited before).
    pub main_exit: Option<Duration>,
    /// Processes still running after the grace period, which got SIGKILL.
    pub killed: Vec<procs::ProcStat>,
    /// Processes still running even after SIGKILL (should never happen).
    pub leftover: Vec<procs::ProcStat>,
}

/// Starts `expr` as the leader of a new process group, stopped by `stop`. Unless `expr` says
/// otherwise (duct's `stdout_null`, `stderr_capture`, …, which take precedence), stdin is
/// closed and stdout and stderr are pipes, read through [`Supervised::take_stdout`] and
/// [`Supervised::take_stderr`]. The exit status is the caller's to judge (duct's `unchecked`).
pub fn spawn(expr: &Expression, stop: Stop) -> io::Result<Supervised> {
    let (out_read, out_write) = os_pipe::pipe()?;
    let (err_read, err_write) = os_pipe::pipe()?;
    let wired = expr
        .stdin_null()
        .stdout_file(out_write)
        .stderr_file(err_write)
        .unchecked();
    #[cfg(unix)]
    let wired = {
        #[cfg(target_os = "linux")]
        if matches!(stop, Stop::Graceful(_)) && !SUBREAPER.load(Ordering::SeqCst) {
            // Orphaned grandchildren are re-parented to goready rather than to init, so
            // they stay visible (and reapable) until the child is stopped.
            // SAFETY: prctl with integer arguments only.
            if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0 {
                SUBREAPER.store(true, Ordering::SeqCst);
            }
        }
        wired.before_spawn(move |cmd| {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
            #[cfg(target_os = "linux")]
            {
                let parent = std::process::id() as libc::pid_t;
                let death = stop.death_signal();
                // SAFETY: between fork and exec only async-signal-safe calls (prctl,
                // getppid, _exit); nothing of the parent's memory is touched.
                unsafe {
                    cmd.pre_exec(move || {
                        if libc::prctl(libc::PR_SET_PDEATHSIG, death, 0, 0, 0) != 0 {
                            return Err(io::Error::last_os_error());
                        }
                        // goready died between fork and prctl: do not start an orphan.
                        if libc::getppid() != parent {
                            libc::_exit(1);
                        }
                        Ok(())
                    });
                }
            }
            Ok(())
        })
    };
    // Registered under the lock, so that the signal watcher either sees the child or makes
    // this spawn stop it.
    let mut running = running();
    let handle = wired.start()?;
    // The expression holds the pipes' write ends: closed now, the child holds its own.
    drop(wired);
    let Some(&pid) = handle.pids().first() else {
        return Err(io::Error::other("duct started no process"));
    };
    let entry = Arc::new(Entry {
        pid,
        stop,
        released: AtomicBool::new(false),
        term_sent: AtomicBool::new(false),
        #[cfg(unix)]
        tree: Mutex::new(tree::Tree::new(pid as i32)),
    });
    if running.stopping {
        drop(running);
        kill_group(pid);
    } else {
        running.entries.push(entry.clone());
    }
    Ok(Supervised {
        handle,
        stdout: Some(out_read),
        stderr: Some(err_read),
        entry,
        exit: None,
        released: false,
    })
}

/// Runs `expr` with stdin closed and stdout/stderr captured; kills its group after `timeout`.
pub fn capture(expr: &Expression, timeout: Option<Duration>) -> io::Result<Finished> {
    let started = Instant::now();
    let mut child = spawn(&expr.stdout_capture().stderr_capture(), Stop::Kill)?;
    // Our own pipes are unused (the captures take precedence): nothing will come.
    drop((child.stdout.take(), child.stderr.take()));
    let timed_out = child.wait_exit(timeout)?;
    // Killing the group at exit also closes pipes a grandchild kept open, so that duct's
    // capture threads end.
    kill_group(child.entry.pid);
    child.release();
    let output = child.handle.wait()?;
    let status = output.status;
    let finished = Finished {
        status: (!timed_out).then_some(status),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    };
    child.exit = Some((status, Instant::now()));
    child.reap_orphans();
    Ok(finished)
}

/// Stops one supervised child from any thread, while another waits for it (a watchdog, a
/// cancelled run): the child's policy's first signal, sent at most once.
#[derive(Debug, Clone)]
pub struct Stopper {
    entry: Arc<Entry>,
}

impl Stopper {
    /// SIGTERM to a graceful child's tree, SIGKILL to a killed child's group, the forwarded
    /// signal (SIGTERM) to a step. A child already reaped is left alone.
    pub fn stop(&self) {
        #[cfg(unix)]
        self.entry.stop_signal(libc::SIGTERM);
    }
}

impl Supervised {
    /// The child's process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.entry.pid
    }

    /// The child's stdout (once): a pipe, at its end at once when the expression sent
    /// stdout elsewhere.
    pub fn take_stdout(&mut self) -> Option<PipeReader> {
        self.stdout.take()
    }

    /// The child's stderr (once), as [`Self::take_stdout`].
    pub fn take_stderr(&mut self) -> Option<PipeReader> {
        self.stderr.take()
    }

    /// A way to stop this child from another thread ([`Stopper`]).
    pub fn stopper(&self) -> Stopper {
        Stopper {
            entry: self.entry.clone(),
        }
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
        kill_group(self.entry.pid);
        self.release();
        let status = self.handle.wait()?.status;
        self.exit = Some((status, Instant::now()));
        self.reap_orphans();
        Ok((!timed_out).then_some(status))
    }

    /// The main process's exit, if it has exited (checked now). The child stays registered:
    /// what it started is still goready's to stop.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none()
            && let Ok(Some(output)) = self.handle.try_wait()
        {
            self.exit = Some((output.status, Instant::now()));
        }
        self.exit.map(|(s, _)| s)
    }

    /// When goready saw the main process exit ([`Self::try_wait`]).
    pub fn exited_at(&self) -> Option<Instant> {
        self.exit.map(|(_, at)| at)
    }

    /// The live processes of the child's tree now (see the module doc), by pid.
    #[cfg(unix)]
    pub fn processes(&self) -> Vec<procs::ProcStat> {
        self.entry.alive()
    }

    /// Stops the child gracefully: SIGTERM to its group and every process of its tree, then
    /// SIGKILL to whatever still runs after `grace`; reaps the main process.
    #[cfg(unix)]
    pub fn terminate(&mut self, grace: Duration) -> Terminated {
        let exited_before = self.try_wait().is_some();
        let began = Instant::now();
        self.entry.stop_signal(libc::SIGTERM);
        let mut main_exit = None;
        let mut live;
        loop {
            if self.try_wait().is_some() && main_exit.is_none() && !exited_before {
                main_exit = Some(began.elapsed());
            }
            live = self.entry.alive();
            if live.is_empty() && self.exit.is_some() || began.elapsed() >= grace {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let graceful = live.is_empty() && self.exit.is_some();
        let mut leftover = Vec::new();
        if !graceful {
            leftover = self.kill_tree(Duration::from_secs(5));
        }
        self.finish();
        Terminated {
            graceful,
            main_exit,
            killed: if graceful { Vec::new() } else { live },
            leftover,
        }
    }

    /// SIGKILL to the tree until nothing of it runs (at most `within`); returns what still
    /// runs then.
    #[cfg(unix)]
    fn kill_tree(&mut self, within: Duration) -> Vec<procs::ProcStat> {
        let until = Instant::now() + within;
        loop {
            let still = self.entry.signal(libc::SIGKILL);
            self.try_wait();
            if still.is_empty() && self.exit.is_some() {
                return Vec::new();
            }
            if Instant::now() >= until {
                return still;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Reaps the main process (killing it if it runs) and releases the registration.
    fn finish(&mut self) {
        if self.released {
            return;
        }
        self.release();
        if self.exit.is_none() {
            let _ = self.handle.kill();
            if let Ok(output) = self.handle.wait() {
                self.exit = Some((output.status, Instant::now()));
            }
        }
        self.reap_orphans();
    }

    /// Blocks until the child exits or `timeout` passes, without reaping it. Returns whether
    /// the timeout passed (then the group has been killed).
    #[cfg(unix)]
    fn wait_exit(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        let pid = self.entry.pid;
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
            if self.handle.try_wait()?.is_some() {
                return Ok(false);
            }
            if timeout.is_some_and(|t| started.elapsed() >= t) {
                let _ = self.handle.kill();
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Unregisters the child (before it is reaped: see [`Entry::released`]).
    fn release(&mut self) {
        self.released = true;
        let mut running = running();
        self.entry.released.store(true, Ordering::SeqCst);
        running.entries.retain(|e| !Arc::ptr_eq(e, &self.entry));
    }

    fn reap_orphans(&self) {
        #[cfg(unix)]
        if SUBREAPER.load(Ordering::SeqCst) {
            lock(&self.entry.tree).reap_orphans();
        }
    }
}

#[cfg(unix)]
impl Entry {
    fn alive(&self) -> Vec<procs::ProcStat> {
        let orphans = SUBREAPER.load(Ordering::SeqCst);
        lock(&self.tree).alive(orphans, &is_registered)
    }

    fn signal(&self, sig: i32) -> Vec<procs::ProcStat> {
        let orphans = SUBREAPER.load(Ordering::SeqCst);
        lock(&self.tree).signal(sig, orphans, &is_registered)
    }

    /// The first signal of this child's policy (`sig` is what a [`Stop::Forward`] child is
    /// passed); a graceful child's SIGTERM goes out once.
    fn stop_signal(&self, sig: i32) {
        match self.stop {
            // The tree is signalled by pid and start time, and its group only while a
            // member lives: safe without the registry's lock (which its scan takes).
            Stop::Graceful(_) => {
                if !self.term_sent.swap(true, Ordering::SeqCst) {
                    self.signal(libc::SIGTERM);
                }
            }
            Stop::Kill | Stop::Forward => {
                // Under the registry's lock: a child is not reaped while it is signalled.
                let _running = running();
                if self.released.load(Ordering::SeqCst) {
                    return;
                }
                if self.stop == Stop::Kill {
                    kill_group(self.pid);
                } else {
                    // SAFETY: kill only sends a signal, to our own child, not reaped yet.
                    unsafe {
                        libc::kill(self.pid as libc::pid_t, sig);
                    }
                }
            }
        }
    }
}

impl Drop for Supervised {
    /// A child is never left behind, even when its user returns early or panics.
    fn drop(&mut self) {
        if self.released {
            return;
        }
        #[cfg(unix)]
        if matches!(self.entry.stop, Stop::Graceful(_)) {
            // Its tree may reach beyond the group.
            self.kill_tree(Duration::from_secs(5));
        }
        if self.exit.is_none() {
            kill_group(self.entry.pid);
        }
        self.finish();
    }
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

/// `SIGTERM` for 15, `signal 99` for the unnamed.
#[cfg(unix)]
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGQUIT => "SIGQUIT".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGPIPE => "SIGPIPE".into(),
        libc::SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    #[cfg(unix)]
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn output_and_status_are_captured() {
        let done = capture(&cmd("sh", ["-c", "echo out; echo err >&2; exit 3"]), None).unwrap();
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
            &cmd("sh", ["-c", &script]),
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
        let done = capture(&cmd("sh", ["-c", &script]), None).unwrap();
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
        let status = spawn(&cmd("sh", ["-c", "exit 7"]), Stop::Kill)
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(status.code(), Some(7));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_child_leads_its_own_group_and_its_pipes_are_ours_unless_it_says_otherwise() {
        let mut child = spawn(
            &cmd("sh", ["-c", "cut -d' ' -f5 /proc/$$/stat; echo err >&2"]),
            Stop::Kill,
        )
        .unwrap();
        let pid = child.id();
        let (mut out, mut err) = (String::new(), String::new());
        child
            .take_stdout()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        child
            .take_stderr()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(child.wait().unwrap().success());
        // Field 5 of stat is the process group: the child's own pid.
        assert_eq!(out.trim(), pid.to_string());
        assert_eq!(err, "err\n");
        // The caller's own redirection wins over the supervisor's pipe.
        let mut quiet = spawn(&cmd("sh", ["-c", "echo out"]).stdout_null(), Stop::Kill).unwrap();
        let mut out = String::new();
        quiet
            .take_stdout()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(quiet.wait().unwrap().success());
        assert_eq!(out, "");
    }

    #[cfg(unix)]
    #[test]
    fn a_stopper_kills_the_child_while_another_thread_waits_for_it() {
        let child = spawn(&cmd("sleep", ["300"]), Stop::Kill).unwrap();
        let stopper = child.stopper();
        let waiter = std::thread::spawn(move || child.wait());
        std::thread::sleep(Duration::from_millis(50));
        stopper.stop();
        let status = waiter.join().unwrap().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        // Reaped and released: a stop now signals nothing (its pid may be another's).
        stopper.stop();
        assert!(!is_registered(stopper.entry.pid as i32));
    }

    /// `sh -c SCRIPT` under the graceful policy, with the pids its script writes to `dir`.
    #[cfg(target_os = "linux")]
    fn graceful(script: &str) -> (Supervised, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let child = spawn(
            &cmd("sh", ["-c", script]).dir(dir.path()),
            Stop::Graceful(Duration::from_millis(400)),
        )
        .unwrap();
        let ready = dir.path().join("ready");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(ready.exists(), "the script did not start");
        (child, dir)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_graceful_stop_lets_a_child_that_handles_sigterm_exit_on_its_own() {
        // The shell traps TERM and exits 0; without the trap it would die of the signal.
        let (mut child, _dir) =
            graceful("trap 'exit 0' TERM; touch ready; while :; do sleep 0.05; done");
        let stopped = child.terminate(Duration::from_secs(10));
        assert!(stopped.graceful, "{stopped:?}");
        assert!(stopped.killed.is_empty() && stopped.leftover.is_empty());
        assert!(stopped.main_exit.is_some());
        assert_eq!(child.try_wait().and_then(|s| s.code()), Some(0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_graceful_stop_kills_a_child_that_ignores_sigterm_and_its_grandchildren() {
        // The child ignores TERM; its grandchildren ignore it too, one of them in a session
        // (and process group) of its own, out of reach of a signal to the group.
        let (mut child, dir) = graceful(
            "trap '' TERM; \
             sh -c \"trap '' TERM; sleep 300\" & echo $! > kid; \
             setsid sh -c \"trap '' TERM; sleep 300\" & echo $! > escaped; \
             touch ready; while :; do sleep 0.05; done",
        );
        let pid = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let (kid, escaped) = (pid("kid"), pid("escaped"));
        // The stop reaches only what goready has seen of the tree: let it see both.
        let deadline = Instant::now() + Duration::from_secs(5);
        while child.processes().len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        let stopped = child.terminate(Duration::from_millis(400));
        assert!(!stopped.graceful, "{stopped:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "SIGKILL came before the grace period ended"
        );
        assert!(stopped.leftover.is_empty(), "{stopped:?}");
        let killed: Vec<i32> = stopped.killed.iter().map(|p| p.pid).collect();
        for pid in [kid.trim(), escaped.trim()] {
            assert!(
                killed.contains(&pid.parse().unwrap()),
                "{pid} not in {killed:?}"
            );
            assert!(!alive(pid), "grandchild {pid} survived");
        }
        assert_eq!(
            child.try_wait().and_then(|s| s.signal()),
            Some(libc::SIGKILL),
            "the child got SIGKILL"
        );
    }
}
