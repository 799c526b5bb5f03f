//! `goready inspect FILE...`: many files through [`inspect_path`](super::inspect_path) and
//! the binary rules, in parallel, with the results in the order the files were given.
//!
//! Why a pool: each file costs page faults and a few table walks, and nothing is shared
//! between files, so the files spread across cores. The pool is small and bounded (one
//! worker per core, at most [`MAX_JOBS`]) because each worker holds one memory map at a
//! time: peak memory is that of the few files being read, never of the whole set. A map is
//! dropped as soon as its file's facts are taken.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use super::facts::BinaryFacts;
use super::rules::{self, RuleOptions};
use super::{InspectError, Options};
use crate::cancel::{Cancel, Stopped};
use crate::model::Check;

/// More workers than this only add maps held at once; the work per file is short.
pub const MAX_JOBS: usize = 4;

/// Bytes of files read at once by the pool. The pages a map touches count in the process's
/// RSS, so two 80 MB binaries read side by side cost twice one: past this budget the next
/// file waits for a worker to finish (a file larger than the budget is read alone), and the
/// peak follows the largest file rather than the sum of the largest few.
pub const MAPPED_BUDGET: u64 = 96 << 20;

/// The file bytes workers are reading now, under [`MAPPED_BUDGET`].
struct Budget {
    used: Mutex<u64>,
    freed: Condvar,
}

impl Budget {
    /// Waits until `bytes` more fit (or nothing else is being read), then counts them until
    /// the returned guard is dropped (even by a panic, so no worker waits forever).
    fn take(&self, bytes: u64) -> Reading<'_> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used > 0 && *used + bytes > MAPPED_BUDGET {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += bytes;
        Reading {
            budget: self,
            bytes,
        }
    }
}

/// One file's share of the [`Budget`], given back on drop.
struct Reading<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// What `goready inspect` is asked to do, without any notion of command-line flags.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The files, in the order their facts and checks are reported.
    pub files: Vec<PathBuf>,
    /// What to look for in each file.
    pub facts: Options,
    /// How strict the rules are.
    pub rules: RuleOptions,
    /// Files inspected at once; `None` = one per core (at most [`MAX_JOBS`]).
    pub jobs: Option<usize>,
}

/// A file that could not be read at all (missing, a directory, no permission).
#[derive(Debug)]
pub struct Unreadable {
    /// The path as given.
    pub path: String,
    /// Why.
    pub error: std::io::Error,
}

/// The facts and checks of every file, in input order.
#[derive(Debug, Default)]
pub struct InspectRun {
    /// Facts of each file that parsed as an executable.
    pub binaries: Vec<BinaryFacts>,
    /// Every check: a file's `binary.*` checks, or the `binary.readable` error of a file
    /// that could not be read or parsed.
    pub checks: Vec<Check>,
    /// Files that could not be read (also reported as checks): the caller says so and
    /// exits with the usage code.
    pub unreadable: Vec<Unreadable>,
}

/// One file's result, kept until the results are put back in input order.
enum Entry {
    Unreadable(std::io::Error),
    Unparsable(InspectError),
    Inspected(Box<BinaryFacts>, Vec<Check>),
}

/// Inspects every file and judges it; a bad file is a check, so the only error is
/// [`Stopped`] (`cancel` came: no file starts after that, and no partial run is returned).
pub fn run(opts: &RunOptions, cancel: &Cancel) -> Result<InspectRun, Stopped> {
    let n = opts.files.len();
    let jobs = opts
        .jobs
        .unwrap_or_else(crate::pool::cores)
        .clamp(1, MAX_JOBS)
        .min(n.max(1));
    let budget = Budget {
        used: Mutex::new(0),
        freed: Condvar::new(),
    };
    let entries = crate::pool::map(&opts.files, jobs, |_, path| {
        cancel.check()?;
        if jobs == 1 {
            return Ok(one(path, opts));
        }
        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        let _reading = budget.take(bytes);
        Ok(one(path, opts))
    });
    cancel.check()?;
    let entries: Vec<Entry> = entries.into_iter().collect::<Result<_, Stopped>>()?;
    let mut outcome = InspectRun::default();
    for (path, entry) in opts.files.iter().zip(entries) {
        let shown = path.display().to_string();
        match entry {
            Entry::Unreadable(error) => {
                outcome.checks.push(rules::unreadable(&shown, &error));
                outcome.unreadable.push(Unreadable { path: shown, error });
            }
            Entry::Unparsable(e) => outcome.checks.push(rules::unparsable(&shown, &e)),
            Entry::Inspected(facts, checks) => {
                outcome.checks.extend(checks);
                outcome.binaries.push(*facts);
            }
        }
    }
    Ok(outcome)
}

/// Inspects and judges one file; its map is gone when this returns.
fn one(path: &std::path::Path, opts: &RunOptions) -> Entry {
    let started = Instant::now();
    match super::inspect_path(path, &opts.facts) {
        Err(e) => Entry::Unreadable(e),
        Ok(Err(e)) => Entry::Unparsable(e),
        Ok(Ok(facts)) => {
            let ms = started.elapsed().as_millis() as u64;
            let checks = rules::evaluate(&facts, &opts.rules)
                .into_iter()
                .map(|mut c| {
                    c.duration_ms = ms;
                    c
                })
                .collect();
            Entry::Inspected(Box::new(facts), checks)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// Real files of three kinds, interleaved, through two workers: the results come back in
    /// the order given, whichever worker finished first.
    #[test]
    fn files_past_the_mapped_budget_wait_for_the_one_being_read() {
        let budget = Budget {
            used: Mutex::new(0),
            freed: Condvar::new(),
        };
        // Larger than the budget, alone: read at once.
        let big = budget.take(MAPPED_BUDGET + 1);
        let second_started = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let _r = budget.take(1);
                second_started.store(true, Ordering::SeqCst);
            });
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert!(
                !second_started.load(Ordering::SeqCst),
                "read beside the big file"
            );
            drop(big);
            waiter.join().unwrap();
        });
        assert!(second_started.load(Ordering::SeqCst));
        assert_eq!(*budget.used.lock().unwrap(), 0, "every share given back");
        // Small files share the budget.
        let a = budget.take(10 << 20);
        let b = budget.take(10 << 20);
        assert_eq!(*budget.used.lock().unwrap(), 20 << 20);
        drop((a, b));
    }

    #[test]
    fn parallel_results_keep_the_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        let missing = dir.path().join("missing");
        let exe = std::env::current_exe().unwrap();
        let files = vec![
            exe.clone(),
            script.clone(),
            missing.clone(),
            exe.clone(),
            script,
            exe,
        ];
        let go = Cancel::new();
        let serial = run(
            &RunOptions {
                files: files.clone(),
                jobs: Some(1),
                ..Default::default()
            },
            &go,
        )
        .unwrap();
        let parallel = run(
            &RunOptions {
                files: files.clone(),
                jobs: Some(2),
                ..Default::default()
            },
            &go,
        )
        .unwrap();
        let targets = |o: &InspectRun| -> Vec<String> {
            o.checks.iter().filter_map(|c| c.target.clone()).collect()
        };
        assert_eq!(targets(&serial), targets(&parallel));
        assert_eq!(parallel.binaries.len(), 3);
        assert_eq!(parallel.unreadable.len(), 1);
        assert_eq!(parallel.unreadable[0].path, missing.display().to_string());
        let mut seen: Vec<String> = targets(&parallel);
        seen.dedup();
        let expected: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        assert_eq!(seen, expected, "one run of checks per file, in input order");
    }

    #[test]
    fn a_cancelled_token_stops_the_run_with_its_reason_and_no_partial_result() {
        let exe = std::env::current_exe().unwrap();
        let files = vec![exe.clone(), exe];
        for jobs in [1, 2] {
            let cancel = Cancel::new();
            cancel.cancel(Stopped::TimedOut);
            let stopped = run(
                &RunOptions {
                    files: files.clone(),
                    jobs: Some(jobs),
                    ..Default::default()
                },
                &cancel,
            );
            assert_eq!(stopped.err(), Some(Stopped::TimedOut), "jobs={jobs}");
        }
        let interrupted = Cancel::new();
        interrupted.cancel(Stopped::Interrupted);
        let stopped = run(
            &RunOptions {
                files,
                ..Default::default()
            },
            &interrupted,
        );
        assert_eq!(stopped.err(), Some(Stopped::Interrupted));
    }
}
