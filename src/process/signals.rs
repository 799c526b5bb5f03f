//! The one watcher of SIGINT, SIGTERM and SIGHUP to goready (a cancelled CI job, Ctrl-C). It
//! only cancels the run's token and stops every registered child by its [`Stop`] policy; the
//! CLI decides what goready does then (it dies of the signal it got, so that its caller sees
//! the usual status, once [`Watch::wait_stopped`] says the children are gone). A second
//! signal kills every child at once and hands the signal to the CLI's `hurry`.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{Entry, Stop, kill_group, lock, running};
use crate::cancel::{Cancel, Stopped};
use crate::progress::{Say, Sink};
use crate::step::Step;

/// What the watcher saw, for the CLI.
#[derive(Clone)]
pub struct Watch {
    inner: Arc<Seen>,
}

struct Seen {
    /// The first signal, 0 while none came.
    first: AtomicI32,
    /// True once the children of the first signal are stopped.
    stopped: Mutex<bool>,
    ended: Condvar,
}

impl Watch {
    /// The first signal goready got, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.inner.first.load(Ordering::SeqCst) {
            0 => None,
            sig => Some(sig),
        }
    }

    /// The first signal goready got, once every child it stopped is gone; `None` at once
    /// when no signal came.
    pub fn wait_stopped(&self) -> Option<i32> {
        let sig = self.signal()?;
        let mut stopped = lock(&self.inner.stopped);
        while !*stopped {
            stopped = self
                .inner
                .ended
                .wait(stopped)
                .unwrap_or_else(|e| e.into_inner());
        }
        Some(sig)
    }
}

/// Starts the watcher thread: the first signal cancels `cancel` ([`Stopped::Interrupted`])
/// and stops the children (saying so to `sink` as `step`); a second one kills them and calls
/// `hurry` with it. `Err` when the signals cannot be watched (then children are still
/// stopped at timeouts, exits and drops, only not on a signal).
pub fn watch(
    cancel: Cancel,
    sink: Arc<dyn Sink>,
    step: Step,
    hurry: fn(i32),
) -> std::io::Result<Watch> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let watch = Watch {
        inner: Arc::new(Seen {
            first: AtomicI32::new(0),
            stopped: Mutex::new(false),
            ended: Condvar::new(),
        }),
    };
    let seen = watch.inner.clone();
    std::thread::Builder::new()
        .name("goready-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if seen
                    .first
                    .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    cancel.cancel(Stopped::Interrupted);
                    let seen = seen.clone();
                    let sink = sink.clone();
                    std::thread::spawn(move || {
                        let say = Say::new(step, &*sink);
                        stop_all(sig, &format!("{} received", super::signal_name(sig)), say);
                        *lock(&seen.stopped) = true;
                        seen.ended.notify_all();
                    });
                } else {
                    kill_all();
                    hurry(sig);
                }
            }
        })?;
    Ok(watch)
}

/// Stops every registered child by its policy and waits until they are gone; `sig` is what
/// a `Forward` child is passed, `cause` what is said first.
fn stop_all(sig: i32, cause: &str, say: Say<'_>) {
    let entries: Vec<_> = {
        let mut running = running();
        running.stopping = true;
        running.entries.clone()
    };
    if entries.is_empty() {
        say.info(format!("{cause}: stopping"));
        return;
    }
    let grace = entries
        .iter()
        .filter_map(|e| match e.stop {
            Stop::Graceful(g) => Some(g),
            _ => None,
        })
        .max();
    let mut what = Vec::new();
    if let Some(g) = grace {
        what.push(format!(
            "stopping the service (SIGTERM, SIGKILL after {})",
            crate::duration::format(g)
        ));
    }
    if entries.iter().any(|e| e.stop == Stop::Kill) {
        what.push("stopped go and the processes it started".to_string());
    }
    if entries.iter().any(|e| e.stop == Stop::Forward) {
        what.push("passed on to the running steps".to_string());
    }
    for e in &entries {
        e.stop_signal(sig);
    }
    say.info(format!("{cause}: {}", what.join("; ")));
    let until = Instant::now() + grace.unwrap_or_default();
    loop {
        let waiting = entries.iter().any(|e| match e.stop {
            Stop::Kill => false,
            Stop::Graceful(_) => Instant::now() < until && !e.alive().is_empty(),
            // A step stops its own children within their grace; it is waited for.
            Stop::Forward => running_child(e),
        });
        if !waiting {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_all();
}

/// Whether a registered child has not exited yet (it may have exited unreaped).
fn running_child(e: &Entry) -> bool {
    let _running = running();
    if e.released.load(Ordering::SeqCst) {
        return false;
    }
    // SAFETY: `info` is a valid, zeroed siginfo_t; WNOHANG|WNOWAIT neither blocks nor reaps.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            e.pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        rc == 0 && info.si_pid() == 0
    }
}

/// SIGKILL to every registered child's group and tree, until they are gone (a few seconds at
/// most).
fn kill_all() {
    let entries: Vec<_> = {
        let mut running = running();
        running.stopping = true;
        running.entries.clone()
    };
    for _ in 0..250 {
        let mut any = false;
        for e in &entries {
            if matches!(e.stop, Stop::Graceful(_)) {
                any |= !e.signal(libc::SIGKILL).is_empty();
                continue;
            }
            let _running = running();
            if !e.released.load(Ordering::SeqCst) {
                kill_group(e.pid);
            }
        }
        if !any {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
