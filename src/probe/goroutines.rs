//! The goroutine dump (`/debug/pprof/goroutine?debug=2`, the format of a Go panic) read
//! into stacks: goroutines grouped by what they wait for, their frames and who created
//! them, so two dumps can be compared stack by stack (`runtime.goroutine_leak`). Parsing
//! only; bad input yields fewer stacks, never a panic.

use std::collections::BTreeMap;

use serde::Serialize;

/// Goroutines that share a wait state, a stack and a creator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StackKey {
    /// `chan receive`, `select`, `IO wait` (the minutes blocked left out).
    pub state: String,
    /// Function names, innermost first.
    pub frames: Vec<String>,
    /// The function of the `created by` line, if any.
    pub created_by: Option<String>,
}

impl StackKey {
    /// The first frame that is not the Go runtime's own (`runtime.gopark`,
    /// `internal/poll.…`): where the goroutine's own code waits.
    pub fn own_frame(&self) -> &str {
        self.frames
            .iter()
            .find(|f| !is_runtime(f))
            .or(self.frames.first())
            .map(String::as_str)
            .unwrap_or("?")
    }
}

fn is_runtime(function: &str) -> bool {
    function.starts_with("runtime.")
        || function.starts_with("internal/")
        || function.starts_with("runtime/internal/")
        || function.contains(".runtime_")
}

/// A parsed dump: goroutines per stack.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    /// How many goroutines share each stack.
    pub stacks: BTreeMap<StackKey, u64>,
}

impl Dump {
    /// Every goroutine in the dump.
    pub fn total(&self) -> u64 {
        self.stacks.values().sum()
    }
}

/// Parses `goroutine N [state]:` blocks.
pub fn parse(text: &str) -> Dump {
    let mut dump = Dump::default();
    for block in text.split("\n\n") {
        let mut lines = block.lines().filter(|l| !l.trim().is_empty());
        let Some(head) = lines.next() else { continue };
        let Some(state) = head
            .strip_prefix("goroutine ")
            .and_then(|r| r.split_once(" ["))
            .and_then(|(_, r)| r.rsplit_once("]:"))
            .map(|(s, _)| s)
        else {
            continue;
        };
        // `[chan receive, 5 minutes]`, `[select, locked to thread]`: keep the wait reason.
        let state = state.split(',').next().unwrap_or("").trim().to_string();
        let mut frames = Vec::new();
        let mut created_by = None;
        for line in lines {
            if line.starts_with('\t') || line.starts_with("...") {
                continue;
            }
            if let Some(rest) = line.strip_prefix("created by ") {
                let f = rest.split(" in goroutine ").next().unwrap_or(rest);
                created_by = Some(f.trim().to_string());
                continue;
            }
            frames.push(function_of(line).to_string());
        }
        *dump
            .stacks
            .entry(StackKey {
                state,
                frames,
                created_by,
            })
            .or_insert(0) += 1;
    }
    dump
}

/// `main.run({0x79a430, 0x1f1dbea8440})` → `main.run`; `net/http.(*conn).serve(…)` keeps
/// its receiver (argument lists hold no parentheses).
fn function_of(line: &str) -> &str {
    let line = line.trim();
    match line.rfind('(') {
        Some(i) if line.ends_with(')') && i > 0 => &line[..i],
        _ => line,
    }
}

/// Stacks that have more goroutines in `after` than in `before`.
#[derive(Debug, Clone, Serialize)]
pub struct Growth {
    /// How many more.
    pub added: u64,
    /// Goroutines on this stack afterwards.
    pub count: u64,
    /// What they wait for.
    pub state: String,
    /// The first frame that is not the runtime's.
    pub function: String,
    /// Their creator, if named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Their frames, innermost first.
    pub frames: Vec<String>,
}

impl Growth {
    /// `+1,800 goroutines blocked in main.waitForever [chan receive] (created by main.leak)`.
    pub fn describe(&self) -> String {
        let by = self
            .created_by
            .as_ref()
            .map(|c| format!(" (created by {c})"))
            .unwrap_or_default();
        format!(
            "+{} goroutine{} blocked in {} [{}]{by}",
            thousands(self.added),
            if self.added == 1 { "" } else { "s" },
            self.function,
            self.state
        )
    }
}

/// The stacks that grew, most added first.
pub fn grown(before: &Dump, after: &Dump) -> Vec<Growth> {
    let mut out: Vec<Growth> = after
        .stacks
        .iter()
        .filter_map(|(key, &n)| {
            let old = before.stacks.get(key).copied().unwrap_or(0);
            (n > old).then(|| Growth {
                added: n - old,
                count: n,
                state: key.state.clone(),
                function: key.own_frame().to_string(),
                created_by: key.created_by.clone(),
                frames: key.frames.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| b.added.cmp(&a.added).then(a.function.cmp(&b.function)));
    out
}

/// `1800` → `1,800`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "goroutine 1 [select]:
main.run({0x79a430, 0x1f1dbea8440}, {0x1f1dbe94180, 0xf})
\t/src/main.go:99 +0x52e
main.main()
\t/src/main.go:73 +0x2d6

goroutine 40 [chan receive, 2 minutes]:
main.waitForever()
\t/src/main.go:148 +0x1b
created by main.leakyHandler in goroutine 33
\t/src/main.go:143 +0x1f

goroutine 41 [chan receive]:
main.waitForever()
\t/src/main.go:148 +0x1b
created by main.leakyHandler in goroutine 34
\t/src/main.go:143 +0x1f

goroutine 6 [IO wait]:
internal/poll.runtime_pollWait(0x7f245cc8aa00, 0x72)
\t/go/src/runtime/netpoll.go:351 +0x85
net.(*TCPListener).Accept(0x1f1dbe1a040)
\t/go/src/net/tcpsock.go:387 +0x30
...additional frames elided...
created by main.run in goroutine 1
\t/src/main.go:90 +0x485
";

    #[test]
    fn groups_goroutines_by_state_stack_and_creator() {
        let d = parse(DUMP);
        assert_eq!(d.total(), 4);
        let leak = d
            .stacks
            .iter()
            .find(|(k, _)| k.frames == ["main.waitForever"])
            .unwrap();
        assert_eq!(*leak.1, 2, "the minutes blocked do not split a stack");
        assert_eq!(leak.0.state, "chan receive");
        assert_eq!(leak.0.created_by.as_deref(), Some("main.leakyHandler"));
        let accept = d.stacks.keys().find(|k| k.state == "IO wait").unwrap();
        assert_eq!(accept.own_frame(), "net.(*TCPListener).Accept");
    }

    #[test]
    fn names_what_grew_between_two_dumps() {
        let before = parse(DUMP.split("\n\ngoroutine 41").next().unwrap());
        let after = parse(DUMP);
        let g = grown(&before, &after);
        assert_eq!(g.len(), 2);
        assert_eq!(
            g[0].describe(),
            "+1 goroutine blocked in main.waitForever [chan receive] (created by main.leakyHandler)"
        );
        assert_eq!(thousands(1800), "1,800");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn garbage_yields_no_stacks() {
        assert_eq!(parse("not a dump\n\n\x00\u{fffd}").total(), 0);
        assert_eq!(parse("goroutine x [").total(), 0);
    }
}
