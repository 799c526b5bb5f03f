//! Cancellation by a token. The CLI turns a signal (SIGINT, SIGTERM, SIGHUP) or a watchdog
//! into [`Cancel::cancel`]; the phases of a step ask [`Cancel::check`] between units of work
//! and return [`Stopped`] through their `Result`s. Nothing below the CLI exits the process:
//! only the CLI maps a `Stopped` to an exit code or re-raises the signal.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// Why work was stopped before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// A signal asked goready to stop (Ctrl-C, a cancelled CI job).
    Interrupted,
    /// A time limit goready set itself passed (`probe --max-time`).
    TimedOut,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stopped::Interrupted => "interrupted",
            Stopped::TimedOut => "stopped: time limit passed",
        })
    }
}

impl std::error::Error for Stopped {}

const RUNNING: u8 = 0;
const INTERRUPTED: u8 = 1;
const TIMED_OUT: u8 = 2;

/// A cancel flag shared by the CLI and a step's threads. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicU8>);

impl Cancel {
    /// A token nobody has cancelled yet.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Asks every holder to stop, for `why`. The first reason given wins.
    pub fn cancel(&self, why: Stopped) {
        let code = match why {
            Stopped::Interrupted => INTERRUPTED,
            Stopped::TimedOut => TIMED_OUT,
        };
        let _ = self
            .0
            .compare_exchange(RUNNING, code, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Why work should stop, if it should.
    pub fn reason(&self) -> Option<Stopped> {
        match self.0.load(Ordering::SeqCst) {
            INTERRUPTED => Some(Stopped::Interrupted),
            TIMED_OUT => Some(Stopped::TimedOut),
            _ => None,
        }
    }

    /// `Err` once cancelled: phases call it between units of work and return early with `?`.
    pub fn check(&self) -> Result<(), Stopped> {
        match self.reason() {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.reason().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins_and_clones_share_the_flag() {
        let token = Cancel::new();
        assert_eq!(token.check(), Ok(()));
        let held = token.clone();
        token.cancel(Stopped::TimedOut);
        token.cancel(Stopped::Interrupted);
        assert_eq!(held.check(), Err(Stopped::TimedOut));
        assert!(held.is_cancelled());
    }
}
