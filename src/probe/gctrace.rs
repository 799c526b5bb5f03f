//! `GODEBUG=gctrace=1` lines, turned into numbers. The runtime prints one line per GC cycle
//! on stderr (runtime/mgc.go, Go 1.18+):
//!
//! ```text
//! gc 7 @0.512s 2%: 0.011+1.2+0.020 ms clock, 0.045+0.3/1.1/0+0.081 ms cpu, 4->4->1 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 4 P
//! ```
//!
//! The three clock phases are sweep termination (stop-the-world), concurrent mark, and mark
//! termination (stop-the-world): the pause is the first plus the third. Heap sizes are in MB
//! as the runtime prints them (2^20 bytes, truncated).

use serde::Serialize;

/// One GC cycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GcCycle {
    /// The cycle number (`gc N`).
    pub n: u64,
    /// Seconds since the program started.
    pub at_s: f64,
    /// Stop-the-world time: sweep termination + mark termination, in ms.
    pub pause_ms: f64,
    /// Heap at the start of the cycle, at mark end, and marked live, in MB.
    pub heap_start_mb: u64,
    /// Heap size when marking ended.
    pub heap_end_mb: u64,
    /// Live heap marked by this cycle.
    pub heap_live_mb: u64,
    /// The heap goal, in MB.
    pub goal_mb: u64,
    /// `(forced)`: started by runtime.GC() or debug.FreeOSMemory, e.g. `heap?gc=1`.
    pub forced: bool,
}

/// Parses one gctrace line; anything else (`scvg`, application output) is `None`.
pub fn parse_line(line: &str) -> Option<GcCycle> {
    let rest = line.trim().strip_prefix("gc ")?;
    let (n, rest) = rest.split_once(' ')?;
    let n: u64 = n.parse().ok()?;
    let rest = rest.strip_prefix('@')?;
    let (at, rest) = rest.split_once("s ")?;
    let at_s: f64 = at.parse().ok()?;
    let (_, rest) = rest.split_once(": ")?;
    let (clock, rest) = rest.split_once(" ms clock, ")?;
    let phases: Vec<f64> = clock
        .split('+')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if phases.len() != 3 {
        return None;
    }
    let (_, rest) = rest.split_once(" ms cpu, ")?;
    let (heaps, rest) = rest.split_once(" MB, ")?;
    let heaps: Vec<u64> = heaps
        .split("->")
        .map(|h| h.parse().ok())
        .collect::<Option<_>>()?;
    if heaps.len() != 3 {
        return None;
    }
    let (goal, _) = rest.split_once(" MB goal")?;
    Some(GcCycle {
        n,
        at_s,
        pause_ms: phases[0] + phases[2],
        heap_start_mb: heaps[0],
        heap_end_mb: heaps[1],
        heap_live_mb: heaps[2],
        goal_mb: goal.trim().parse().ok()?,
        forced: line.trim_end().ends_with("(forced)"),
    })
}

/// What the GC did while goready watched.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GcStats {
    /// Cycles seen.
    pub count: u64,
    /// Of which forced (`runtime.GC()`, e.g. goready's own `heap?gc=1`).
    pub forced: u64,
    /// Sum of stop-the-world pauses, ms.
    pub total_pause_ms: f64,
    /// Longest single pause, ms.
    pub max_pause_ms: f64,
    /// Heap goal of the last cycle, MB.
    pub last_goal_mb: u64,
    /// Largest heap goal seen, MB.
    pub max_goal_mb: u64,
    /// Largest live heap marked by a cycle, MB.
    pub max_live_mb: u64,
}

impl GcStats {
    /// Adds a cycle.
    pub fn add(&mut self, c: &GcCycle) {
        self.count += 1;
        self.forced += u64::from(c.forced);
        self.total_pause_ms += c.pause_ms;
        self.max_pause_ms = self.max_pause_ms.max(c.pause_ms);
        self.last_goal_mb = c.goal_mb;
        self.max_goal_mb = self.max_goal_mb.max(c.goal_mb);
        self.max_live_mb = self.max_live_mb.max(c.heap_live_mb);
    }

    /// `12 GC cycles, pauses 1.3 ms total (max 0.21 ms), heap goal 4 MB`.
    pub fn summary(&self) -> String {
        format!(
            "{} GC cycles ({} forced), pauses {:.3} ms total (max {:.3} ms), last heap goal {} MB",
            self.count, self.forced, self.total_pause_ms, self.max_pause_ms, self.last_goal_mb
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_runtime_format() {
        let c = parse_line("gc 7 @0.512s 2%: 0.011+1.2+0.020 ms clock, 0.045+0.3/1.1/0+0.081 ms cpu, 4->5->1 MB, 6 MB goal, 0 MB stacks, 0 MB globals, 4 P").unwrap();
        assert_eq!(c.n, 7);
        assert!((c.at_s - 0.512).abs() < 1e-9);
        assert!((c.pause_ms - 0.031).abs() < 1e-9);
        assert_eq!(
            (c.heap_start_mb, c.heap_end_mb, c.heap_live_mb, c.goal_mb),
            (4, 5, 1, 6)
        );
        assert!(!c.forced);
        let forced = parse_line("gc 12 @3.001s 0%: 0.005+0.40+0.003 ms clock, 0.020+0/0.35/0+0.012 ms cpu, 1->1->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)").unwrap();
        assert!(forced.forced);
        let leak = parse_line("gc 3 @1.0s 1% (checking for goroutine leaks): 1+2+3 ms clock, 1+1/1/1+1 ms cpu, 9->9->8 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 2 P").unwrap();
        assert_eq!(leak.pause_ms, 4.0);
    }

    #[test]
    fn ignores_other_lines() {
        for line in [
            "",
            "gc",
            "gc x @1s 1%: ...",
            "scvg: 0 MB released",
            "gc 1 @0.1s 1%: 1+2 ms clock, 1 ms cpu, 1->1->1 MB, 4 MB goal",
            "gc 1 @0.1s 1%: 1+2+3 ms clock, 1 ms cpu, 1->1 MB, 4 MB goal",
            "2024/01/01 hello-svc listening",
        ] {
            assert_eq!(parse_line(line), None, "{line}");
        }
    }

    #[test]
    fn stats_accumulate() {
        let mut s = GcStats::default();
        for line in [
            "gc 1 @0.1s 1%: 0.1+1+0.2 ms clock, 0+0/0/0+0 ms cpu, 3->3->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P",
            "gc 2 @0.2s 1%: 0.5+1+0.5 ms clock, 0+0/0/0+0 ms cpu, 7->8->6 MB, 9 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)",
        ] {
            s.add(&parse_line(line).unwrap());
        }
        assert_eq!(
            (s.count, s.forced, s.last_goal_mb, s.max_live_mb),
            (2, 1, 9, 6)
        );
        assert!((s.total_pause_ms - 1.3).abs() < 1e-9);
        assert!((s.max_pause_ms - 1.0).abs() < 1e-9);
    }
}
