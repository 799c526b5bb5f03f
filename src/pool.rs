//! The one worker pool: a fixed number of scoped threads take items in order as they become
//! free (a slow item does not hold the others up) and the results come back in the items'
//! order. The build matrix, the inspected files and `go test --memprofile`'s packages run on
//! it. Scoped threads rather than a global pool (rayon): each caller sets its own width
//! (`--jobs`, one `go` per core, a memory budget) and borrows its context without `'static`.
//! The probe's load generator is not a pool of work items but concurrent connections on an
//! async runtime, and stays in `probe::load`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `work(i, &items[i])` for every item on at most `jobs` threads (at least one, at most
/// one per item) and returns the results in the items' order. A panic in `work` is re-raised
/// here once every thread has stopped.
pub fn map<T, R, F>(items: &[T], jobs: usize, work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &T) -> R + Sync,
{
    let jobs = jobs.clamp(1, items.len().max(1));
    if jobs == 1 {
        return items.iter().enumerate().map(|(i, t)| work(i, t)).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(i, item);
                    // A poisoned lock only means another worker panicked; the scope
                    // re-raises that panic.
                    slots.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// One worker per core (what `available_parallelism` says, 1 when it cannot tell).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn results_come_back_in_item_order_whichever_worker_finished_first() {
        let items: Vec<u64> = (0..9).collect();
        let widest = AtomicUsize::new(0);
        let running = AtomicUsize::new(0);
        let out = map(&items, 3, |i, &n| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            widest.fetch_max(now, Ordering::SeqCst);
            // Early items are slow: later ones finish first.
            std::thread::sleep(Duration::from_millis(if n < 3 { 40 } else { 1 }));
            running.fetch_sub(1, Ordering::SeqCst);
            (i, n * 10)
        });
        let want: Vec<(usize, u64)> = (0..9).map(|i| (i, i as u64 * 10)).collect();
        assert_eq!(out, want);
        assert!(widest.load(Ordering::SeqCst) <= 3, "more than 3 at once");
    }

    #[test]
    fn no_items_and_zero_jobs_are_fine() {
        let none: Vec<u8> = Vec::new();
        assert!(map(&none, 0, |_, &b| b).is_empty());
        assert_eq!(map(&[1u8, 2], 0, |_, &b| b + 1), [2, 3]);
    }
}
