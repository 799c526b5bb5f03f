//! The process table as Linux shows it in /proc: who is whose child, which process group a
//! process is in, and whether it is still running or only a zombie. A graceful stop needs a
//! child's whole tree — a service may fork workers that listen too, and a stop must reach
//! every one of them; the probe reads the same table for the service's processes.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// One line of /proc/PID/stat, the fields goready uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id.
    pub pid: i32,
    /// Executable name as the kernel keeps it (at most 15 bytes).
    pub comm: String,
    /// `R`, `S`, `D`, `Z` (zombie), `T`, ...
    pub state: char,
    /// Parent process id.
    pub ppid: i32,
    /// Process group id.
    pub pgrp: i32,
    /// Start time in clock ticks since boot: with the pid, it names one process for good
    /// (pids are reused).
    pub start_time: u64,
}

impl ProcStat {
    /// A zombie has exited and only waits to be reaped: it holds no resources, serves
    /// nothing, and cannot be signalled away.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Parses the content of /proc/PID/stat. The command name is in parentheses and may itself
/// contain spaces and parentheses, so the fields are read after the *last* `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    let mut rest = text[close + 1..].split_ascii_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    // Field 22 of stat; `rest` has consumed fields 3 to 5.
    let start_time = rest.nth(16).and_then(|v| v.parse().ok()).unwrap_or(0);
    Some(ProcStat {
        pid,
        comm,
        state,
        ppid,
        pgrp,
        start_time,
    })
}

/// Every process visible under `proc_root` (normally `/proc`). Processes that vanish while
/// being read are skipped.
pub fn snapshot(proc_root: &Path) -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(is_pid))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|text| parse_stat(&text))
        .collect()
}

fn is_pid(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// The service's processes: `root`, the members of process group `pgid`, and all their
/// descendants, zombies included (callers filter). A child that moved to its own session
/// is still found through its parent while the parent lives.
pub fn tree(procs: &[ProcStat], root: i32, pgid: i32) -> Vec<ProcStat> {
    let mut children: HashMap<i32, Vec<&ProcStat>> = HashMap::new();
    for p in procs {
        children.entry(p.ppid).or_default().push(p);
    }
    let mut seen = BTreeSet::new();
    let mut stack: Vec<i32> = procs
        .iter()
        .filter(|p| p.pid == root || (pgid > 0 && p.pgrp == pgid))
        .map(|p| p.pid)
        .collect();
    while let Some(pid) = stack.pop() {
        if !seen.insert(pid) {
            continue;
        }
        if let Some(kids) = children.get(&pid) {
            stack.extend(kids.iter().map(|k| k.pid));
        }
    }
    procs
        .iter()
        .filter(|p| seen.contains(&p.pid))
        .cloned()
        .collect()
}

/// The executable path of a process (`/proc/PID/exe`), when readable.
pub fn exe(pid: i32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string())
}

/// One variable of a process's initial environment (`/proc/PID/environ`).
pub fn environ_var(pid: i32, name: &str) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    raw.split(|&b| b == 0).find_map(|entry| {
        let entry = String::from_utf8_lossy(entry);
        let (k, v) = entry.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, pgrp: i32, state: char) -> ProcStat {
        ProcStat {
            pid,
            comm: format!("p{pid}"),
            state,
            ppid,
            pgrp,
            start_time: 0,
        }
    }

    #[test]
    fn parses_stat_lines_with_awkward_names() {
        let s = parse_stat(
            "4242 (my (odd) svc) S 1 4242 4242 0 -1 4194560 190 0 0 0 5 3 0 0 20 0 7 0 98765 1000 50",
        )
        .unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.start_time, 98765);
        assert_eq!(s.comm, "my (odd) svc");
        assert_eq!((s.state, s.ppid, s.pgrp), ('S', 1, 4242));
        assert!(parse_stat("").is_none());
        assert!(parse_stat("12 (x").is_none());
        assert!(parse_stat("x (y) S a b").is_none());
    }

    #[test]
    fn tree_follows_children_and_the_process_group() {
        let procs = vec![
            p(1, 0, 1, 'S'),
            p(100, 1, 100, 'S'),   // service
            p(101, 100, 100, 'S'), // worker
            p(102, 101, 102, 'S'), // grandchild in its own group, found through its parent
            p(103, 1, 100, 'S'),   // orphan still in the group
            p(104, 103, 100, 'Z'), // zombie child of the orphan
            p(200, 1, 200, 'S'),   // unrelated
        ];
        let mut pids: Vec<i32> = tree(&procs, 100, 100).iter().map(|p| p.pid).collect();
        pids.sort();
        assert_eq!(pids, vec![100, 101, 102, 103, 104]);
    }

    #[test]
    fn this_process_is_in_the_snapshot() {
        let me = std::process::id() as i32;
        let procs = snapshot(Path::new("/proc"));
        let mine = procs.iter().find(|p| p.pid == me).expect("self in /proc");
        assert!(!mine.is_zombie());
        assert!(environ_var(me, "PATH").is_some() || std::env::var_os("PATH").is_none());
    }
}
