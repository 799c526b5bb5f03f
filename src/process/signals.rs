//! The one watcher of SIGINT, SIGTERM and SIGHUP to goready (a cancelled CI job, Ctrl-C):
//! every registered child is stopped by its [`Stop`] policy, then goready dies of the signal
//! it got, so that its caller sees the usual status. A second signal kills every child at
//! once. [`spawn`](super::spawn) installs it; the main thread asks [`interrupted`](super::interrupted) before it
//! reports anything, since a report of half-finished work would only mislead.

use std::sync::Once;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Entry, INTERRUPTED, Stop, kill_group, running};

/// Installs the watcher thread (once).
pub fn watch() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            // Children are still stopped on timeouts, exits and drops, only not on a signal
            // to goready.
            eprintln!("goready: warning: cannot watch for interrupts");
            return;
        };
        let _ = std::thread::Builder::new()
            .name("goready-signals".into())
            .spawn(move || {
                let mut first = true;
                for sig in signals.forever() {
                    INTERRUPTED.store(true, Ordering::SeqCst);
                    if first {
                        first = false;
                        std::thread::spawn(move || {
                            stop_all(sig, &format!("{} received", super::signal_name(sig)));
                            die_of(sig)
                        });
                    } else {
                        kill_all();
                        die_of(sig);
                    }
                }
            });
    });
}

/// Dies of `sig` (its default action), or exits with 128 + `sig` if that does not end it.
pub fn die_of(sig: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    std::process::exit(128 + sig);
}

/// Writes one line to stderr without its lock (the main thread may hold it).
fn say(line: &str) {
    // SAFETY: writes a valid buffer to fd 2; a failed write is ignored.
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
    }
}

/// Stops every registered child by its policy, says why, then exits with `code`: a time
/// limit goready set itself has passed (`goready probe --max-time`). Like a signal, it stops
/// the main thread's work half-done, so nothing is reported.
pub fn give_up(why: &str, code: i32) -> ! {
    INTERRUPTED.store(true, Ordering::SeqCst);
    stop_all(libc::SIGTERM, why);
    say(&format!("goready: {why}\n"));
    std::process::exit(code);
}

/// Stops every registered child by its policy and waits until they are gone; `sig` is what
/// a `Forward` child is passed, `cause` what goready says first.
fn stop_all(sig: i32, cause: &str) {
    let entries: Vec<_> = {
        let mut running = running();
        running.stopping = true;
        running.entries.clone()
    };
    if entries.is_empty() {
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
    say(&format!("goready: {cause}: {}\n", what.join("; ")));
    for e in &entries {
        match e.stop {
            // The tree is signalled by pid and start time, and its group only while a
            // member lives: safe without the lock (which its scan takes).
            Stop::Graceful(_) => {
                e.signal(libc::SIGTERM);
            }
            Stop::Kill | Stop::Forward => {
                // Under the registry's lock: a child is not reaped while it is signalled.
                let _running = running();
                if e.released.load(Ordering::SeqCst) {
                    continue;
                }
                if e.stop == Stop::Kill {
                    kill_group(e.pid);
                } else {
                    // SAFETY: kill only sends a signal, to our own child, not reaped yet.
                    unsafe {
                        libc::kill(e.pid as libc::pid_t, sig);
                    }
                }
            }
        }
    }
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
