//! The processes one child is responsible for: its process group, every process of its tree,
//! and every process ever seen there (by pid and start time), so that a process that moved
//! to a group or session of its own, or was orphaned, is still found and stopped.

use std::collections::BTreeMap;
use std::path::Path;

use super::procs::{self, ProcStat};

/// One child's processes, as far as goready has seen them.
#[derive(Debug, Default)]
pub(super) struct Tree {
    /// The child (the leader of its process group).
    leader: i32,
    /// Its process group.
    pgid: i32,
    /// Every process seen in the tree: pid -> start time.
    seen: BTreeMap<i32, u64>,
}

impl Tree {
    pub(super) fn new(leader: i32) -> Self {
        Tree {
            leader,
            pgid: leader,
            seen: BTreeMap::new(),
        }
    }

    /// Live (non-zombie) processes of the tree now. `orphans`: goready is a child subreaper,
    /// so a child of goready's that is no registered child (`is_leader`) escaped some tree.
    pub(super) fn alive(
        &mut self,
        orphans: bool,
        is_leader: &dyn Fn(i32) -> bool,
    ) -> Vec<ProcStat> {
        let all = procs::snapshot(Path::new("/proc"));
        let mut live: Vec<ProcStat> = procs::tree(&all, self.leader, self.pgid);
        let me = std::process::id() as i32;
        for p in &all {
            let remembered = self.seen.get(&p.pid) == Some(&p.start_time);
            let orphan = orphans && p.ppid == me && p.pid != self.leader && !is_leader(p.pid);
            if (remembered || orphan) && !live.iter().any(|l| l.pid == p.pid) {
                // Still ours, wherever it moved; its own children too.
                live.extend(procs::tree(&all, p.pid, 0));
            }
        }
        live.retain(|p| !p.is_zombie());
        live.sort_by_key(|p| p.pid);
        live.dedup_by_key(|p| p.pid);
        for p in &live {
            self.seen.insert(p.pid, p.start_time);
        }
        live
    }

    /// Sends `sig` to the group and to every live process of the tree; returns those.
    pub(super) fn signal(
        &mut self,
        sig: i32,
        orphans: bool,
        is_leader: &dyn Fn(i32) -> bool,
    ) -> Vec<ProcStat> {
        let live = self.alive(orphans, is_leader);
        // Only while a member is alive: an empty group's id may be reused by another.
        if live.iter().any(|p| p.pgrp == self.pgid) {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory is
            // involved.
            unsafe {
                libc::kill(-self.pgid, sig);
            }
        }
        for p in &live {
            // SAFETY: as above, for one process of the tree.
            unsafe {
                libc::kill(p.pid, sig);
            }
        }
        live
    }

    /// Reaps zombies of the tree that were re-parented to goready (a subreaper).
    pub(super) fn reap_orphans(&self) {
        let me = std::process::id() as i32;
        for p in procs::snapshot(Path::new("/proc")) {
            let ours = self.seen.contains_key(&p.pid) || p.pgrp == self.pgid;
            if p.ppid == me && p.is_zombie() && p.pid != self.leader && ours {
                let mut status = 0;
                // SAFETY: waitpid on a specific zombie child of ours, non-blocking.
                unsafe {
                    libc::waitpid(p.pid, &mut status, libc::WNOHANG);
                }
            }
        }
    }
}
