//! The merged root filesystem: the layers applied in order as overlayfs (containerd's and
//! Docker's default snapshotters) presents them. A whiteout `.wh.NAME` hides NAME and all
//! beneath it in the layers below; an opaque marker `.wh..wh..opq` hides everything the
//! layers below hold in its directory; an entry of a layer replaces the same path below (a
//! directory over a directory merges). Paths are resolved the way the kernel resolves them
//! inside a container's root: symlinks followed (at most 40, then it is a loop), `..`
//! clamped at the root.

use std::collections::BTreeMap;
use std::fmt;

use super::layer::{Entry, EntryKind, Kept};

/// Symlinks followed in one resolution before it is called a loop (Linux's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// What a path in the merged view is.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A regular file.
    File {
        /// Size in bytes.
        size: u64,
        /// What was kept of it.
        kept: Kept,
        /// The layer and the path inside it that hold its bytes (a hard link's target).
        source: (usize, String),
    },
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink(String),
    /// A device, FIFO or socket.
    Other,
}

/// One path of the merged view.
#[derive(Debug, Clone)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Permission bits.
    pub mode: u32,
    /// The layer (0 = base) that put it there.
    pub layer: usize,
}

impl Node {
    /// Whether the node is a regular file with an execute bit.
    pub fn is_executable_file(&self) -> bool {
        matches!(self.kind, NodeKind::File { .. }) && self.mode & 0o111 != 0
    }
}

/// Why a path does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// Nothing at this (canonical) path.
    Missing(String),
    /// A path component is a file, not a directory.
    NotDir(String),
    /// More than 40 symlinks: a loop.
    Loop(String),
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unresolved::Missing(p) => write!(f, "/{p} does not exist"),
            Unresolved::NotDir(p) => write!(f, "/{p} is not a directory"),
            Unresolved::Loop(p) => {
                write!(f, "symlinks loop at /{p} (more than {MAX_LINKS} followed)")
            }
        }
    }
}

/// A resolved path: its canonical form and the symlinks followed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Canonical path, without a leading `/` (the root is `""`).
    pub path: String,
    /// `(link, target)` pairs followed, in order.
    pub links: Vec<(String, String)>,
}

/// The merged view of all layers.
#[derive(Debug, Default)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
    files: u64,
    bytes: u64,
}

impl Tree {
    /// An empty root.
    pub fn new() -> Self {
        Tree::default()
    }

    /// Number of regular files in the merged view.
    pub fn files(&self) -> u64 {
        self.files
    }

    /// Bytes of the regular files in the merged view.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The node at a canonical path.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// The node at a canonical path, to attach fetched content.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.nodes.get_mut(path)
    }

    /// The direct and indirect children of a directory (canonical path), in path order.
    pub fn under<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a String, &'a Node)> + 'a {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k.is_empty())
    }

    fn remove_tree(&mut self, path: &str) {
        if let Some(old) = self.nodes.remove(path) {
            self.forget(&old);
        }
        let prefix = format!("{path}/");
        self.remove_under(&prefix);
    }

    fn remove_under(&mut self, prefix: &str) {
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            if let Some(old) = self.nodes.remove(&k) {
                self.forget(&old);
            }
        }
    }

    fn forget(&mut self, node: &Node) {
        if let NodeKind::File { size, .. } = node.kind {
            self.files -= 1;
            self.bytes -= size;
        }
    }

    fn insert(&mut self, path: String, node: Node) {
        if let NodeKind::File { size, .. } = node.kind {
            self.files += 1;
            self.bytes += size;
        }
        if let Some(old) = self.nodes.insert(path, node) {
            self.forget(&old);
        }
    }

    /// Makes every ancestor of `path` a directory (overlayfs: a directory of an upper layer
    /// hides a file or link of the same name below).
    fn parents(&mut self, path: &str, layer: usize) {
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let dir = &path[..at + i];
            match self.nodes.get(dir) {
                Some(Node {
                    kind: NodeKind::Dir,
                    ..
                }) => {}
                _ => {
                    self.remove_tree(dir);
                    self.insert(
                        dir.to_string(),
                        Node {
                            kind: NodeKind::Dir,
                            mode: 0o755,
                            layer,
                        },
                    );
                }
            }
            at += i + 1;
        }
    }

    /// Applies one layer's entries over the view: its whiteouts first (they speak of the
    /// layers below), then its entries in tar order.
    pub fn apply(&mut self, layer: usize, entries: Vec<Entry>) {
        for e in &entries {
            let (dir, name) = split(&e.path);
            if name == ".wh..wh..opq" {
                let prefix = if dir.is_empty() {
                    String::new()
                } else {
                    format!("{dir}/")
                };
                self.remove_under(&prefix);
            } else if let Some(hidden) = name.strip_prefix(".wh.") {
                self.remove_tree(&join(dir, hidden));
            }
        }
        for e in entries {
            let (_, name) = split(&e.path);
            if name.starts_with(".wh.") || e.path.is_empty() {
                continue;
            }
            self.parents(&e.path, layer);
            let kind = match e.kind {
                EntryKind::File => NodeKind::File {
                    size: e.size,
                    kept: e.kept,
                    source: (layer, e.path.clone()),
                },
                EntryKind::Dir => NodeKind::Dir,
                EntryKind::Symlink(t) => NodeKind::Symlink(t),
                EntryKind::Other => NodeKind::Other,
                EntryKind::Hardlink(target) => match self.nodes.get(&target) {
                    Some(Node {
                        kind: kind @ NodeKind::File { .. },
                        ..
                    }) => kind.clone(),
                    // A link to nothing the layers hold: runtimes refuse such a layer; the
                    // path stays absent.
                    _ => continue,
                },
            };
            match (&kind, self.nodes.get(&e.path)) {
                (
                    NodeKind::Dir,
                    Some(Node {
                        kind: NodeKind::Dir,
                        ..
                    }),
                ) => {
                    if let Some(n) = self.nodes.get_mut(&e.path) {
                        n.mode = e.mode;
                    }
                    continue;
                }
                (_, Some(_)) => self.remove_tree(&e.path),
                (_, None) => {}
            }
            self.insert(
                e.path,
                Node {
                    kind,
                    mode: e.mode,
                    layer,
                },
            );
        }
    }

    /// Resolves `path` (absolute, or relative to `/`): every symlink followed, the last one
    /// too when `follow_last`.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<Resolved, Unresolved> {
        let mut pending: Vec<String> = components(path).into_iter().rev().collect();
        let mut current: Vec<String> = Vec::new();
        let mut links = Vec::new();
        while let Some(part) = pending.pop() {
            if part == ".." {
                current.pop();
                continue;
            }
            current.push(part);
            let here = current.join("/");
            match self.nodes.get(&here) {
                None => return Err(Unresolved::Missing(here)),
                Some(node) => match &node.kind {
                    NodeKind::Symlink(target) if follow_last || !pending.is_empty() => {
                        if links.len() >= MAX_LINKS {
                            return Err(Unresolved::Loop(here));
                        }
                        links.push((format!("/{here}"), target.clone()));
                        current.pop();
                        if target.starts_with('/') {
                            current.clear();
                        }
                        pending.extend(components(target).into_iter().rev());
                    }
                    NodeKind::Dir | NodeKind::Symlink(_) => {}
                    _ if pending.is_empty() => {}
                    _ => return Err(Unresolved::NotDir(here)),
                },
            }
        }
        Ok(Resolved {
            path: current.join("/"),
            links,
        })
    }

    /// Resolves `path` and returns the node there (the root has none).
    pub fn lookup(&self, path: &str) -> Result<(Resolved, Option<&Node>), Unresolved> {
        let r = self.resolve(path, true)?;
        let node = self.nodes.get(&r.path);
        Ok((r, node))
    }
}

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_string)
        .collect()
}

fn split(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", path),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            mode: 0o755,
            size: 3,
            kept: Kept::default(),
        }
    }

    fn link(path: &str, target: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::Symlink(target.into()),
            mode: 0o777,
            size: 0,
            kept: Kept::default(),
        }
    }

    #[test]
    fn whiteouts_hide_lower_layers_only() {
        let mut t = Tree::new();
        t.apply(
            0,
            vec![
                file("etc/a"),
                file("etc/b"),
                file("opt/x/1"),
                file("opt/x/2"),
            ],
        );
        t.apply(
            1,
            vec![
                file("etc/.wh.a"),
                file("opt/x/new"),
                file("opt/x/.wh..wh..opq"),
            ],
        );
        assert!(t.get("etc/a").is_none());
        assert!(t.get("etc/b").is_some());
        assert!(t.get("opt/x/1").is_none() && t.get("opt/x/2").is_none());
        assert!(
            t.get("opt/x/new").is_some(),
            "the opaque marker hides only lower layers"
        );
        assert_eq!(t.files(), 2);
    }

    #[test]
    fn symlinks_resolve_with_loops_and_root_clamping() {
        let mut t = Tree::new();
        t.apply(
            0,
            vec![
                file("usr/bin/app"),
                link("app", "usr/bin/app"),
                link("bin", "/usr/bin"),
                link("up", "../../../../usr/bin/app"),
                link("a", "b"),
                link("b", "a"),
            ],
        );
        assert_eq!(t.resolve("/app", true).unwrap().path, "usr/bin/app");
        assert_eq!(t.resolve("/bin/app", true).unwrap().path, "usr/bin/app");
        assert_eq!(t.resolve("/up", true).unwrap().path, "usr/bin/app");
        assert_eq!(t.resolve("/../../app", true).unwrap().path, "usr/bin/app");
        assert!(matches!(t.resolve("/a", true), Err(Unresolved::Loop(_))));
        assert!(matches!(
            t.resolve("/app/x", true),
            Err(Unresolved::NotDir(_))
        ));
        assert!(matches!(
            t.resolve("/nope", true),
            Err(Unresolved::Missing(_))
        ));
        assert_eq!(t.resolve("/app", false).unwrap().path, "app");
    }

    #[test]
    fn an_upper_directory_replaces_a_lower_link() {
        let mut t = Tree::new();
        t.apply(0, vec![file("usr/lib/x"), link("lib", "usr/lib")]);
        t.apply(1, vec![file("lib/y")]);
        assert!(matches!(t.get("lib").unwrap().kind, NodeKind::Dir));
        assert!(t.resolve("/lib/x", true).is_err());
    }
}
