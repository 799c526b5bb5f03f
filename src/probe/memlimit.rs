//! The memory limit a process runs under (its cgroup's, v2 `memory.max` or v1
//! `memory.limit_in_bytes`, the smallest along the path to the hierarchy's root) and the
//! `GOMEMLIMIT` it was started with. Go's GC does not read the cgroup limit: unless
//! GOMEMLIMIT is set below it, the heap may grow until the kernel OOM-kills the container.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// v1 reports "no limit" as a page-aligned i64::MAX; anything this large is no limit.
const UNLIMITED: u64 = 1 << 62;

/// The effective cgroup memory limit of a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupLimit {
    /// 1 or 2.
    pub version: u8,
    /// The file the (smallest) limit was read from.
    pub file: String,
    /// The limit in bytes; `None` when every level says "max".
    pub bytes: Option<u64>,
}

/// Where the cgroup hierarchies are mounted, read from /proc/PID/mountinfo.
#[derive(Debug, Clone, Default)]
struct Mounts {
    /// (mount root within the hierarchy, mount point) of the cgroup2 mount.
    v2: Option<(String, PathBuf)>,
    /// The same for the v1 hierarchy that has the memory controller.
    v1_memory: Option<(String, PathBuf)>,
}

fn parse_mountinfo(text: &str) -> Mounts {
    let mut m = Mounts::default();
    for line in text.lines() {
        // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        if left.len() < 5 || right.is_empty() {
            continue;
        }
        let root = unescape(left[3]);
        let point = PathBuf::from(unescape(left[4]));
        match right[0] {
            "cgroup2" if m.v2.is_none() => m.v2 = Some((root, point)),
            "cgroup"
                if m.v1_memory.is_none()
                    && right
                        .get(2)
                        .is_some_and(|o| o.split(',').any(|opt| opt == "memory")) =>
            {
                m.v1_memory = Some((root, point))
            }
            _ => {}
        }
    }
    m
}

/// mountinfo escapes space, tab, newline and backslash as octal `\040` etc.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The process's cgroup paths: (v2 path from the `0::` line, v1 memory path).
fn parse_proc_cgroup(text: &str) -> (Option<String>, Option<String>) {
    let mut v2 = None;
    let mut v1 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if id == "0" && ctrls.is_empty() {
            v2 = Some(path.to_string());
        } else if ctrls.split(',').any(|c| c == "memory") {
            v1 = Some(path.to_string());
        }
    }
    (v2, v1)
}

/// The directory of `cgroup_path` under a mount of hierarchy root `root` at `point`.
fn cgroup_dir(root: &str, point: &Path, cgroup_path: &str) -> Option<PathBuf> {
    let rel = if root == "/" {
        cgroup_path
    } else {
        // Inside a cgroup namespace the path is already relative to the mount's root; on
        // the host it starts with the mount's root.
        cgroup_path.strip_prefix(root).unwrap_or(cgroup_path)
    };
    let rel = rel.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return None;
    }
    Some(point.join(rel))
}

/// The smallest limit in `file` found from `dir` up to `top` (inclusive).
fn smallest_limit(dir: &Path, top: &Path, file: &str, version: u8) -> Option<CgroupLimit> {
    let mut best: Option<(u64, PathBuf)> = None;
    let mut found_any = None;
    let mut cur = Some(dir);
    while let Some(d) = cur {
        let path = d.join(file);
        if let Ok(text) = std::fs::read_to_string(&path) {
            found_any.get_or_insert_with(|| path.clone());
            let t = text.trim();
            if t != "max" {
                if let Ok(v) = t.parse::<u64>() {
                    if v < UNLIMITED && best.as_ref().is_none_or(|(b, _)| v < *b) {
                        best = Some((v, path.clone()));
                    }
                }
            }
        }
        if d == top {
            break;
        }
        cur = d.parent().filter(|p| p.starts_with(top));
    }
    let first = found_any?;
    Some(match best {
        Some((bytes, path)) => CgroupLimit {
            version,
            file: path.display().to_string(),
            bytes: Some(bytes),
        },
        None => CgroupLimit {
            version,
            file: first.display().to_string(),
            bytes: None,
        },
    })
}

/// The effective cgroup memory limit of process `pid`, looked up through its own
/// /proc/PID/cgroup and /proc/PID/mountinfo under `proc_root`. `None` when no cgroup memory
/// controller is visible at all.
pub fn cgroup_limit(proc_root: &Path, pid: i32) -> Option<CgroupLimit> {
    let base = proc_root.join(pid.to_string());
    let cgroup = std::fs::read_to_string(base.join("cgroup")).ok()?;
    let mountinfo = std::fs::read_to_string(base.join("mountinfo")).ok()?;
    cgroup_limit_from(&cgroup, &mountinfo)
}

fn cgroup_limit_from(cgroup: &str, mountinfo: &str) -> Option<CgroupLimit> {
    let mounts = parse_mountinfo(mountinfo);
    let (v2_path, v1_path) = parse_proc_cgroup(cgroup);
    if let (Some(p), Some((root, point))) = (&v2_path, &mounts.v2) {
        if let Some(dir) = cgroup_dir(root, point, p) {
            if let Some(l) = smallest_limit(&dir, point, "memory.max", 2) {
                return Some(l);
            }
        }
    }
    if let (Some(p), Some((root, point))) = (&v1_path, &mounts.v1_memory) {
        if let Some(dir) = cgroup_dir(root, point, p) {
            return smallest_limit(&dir, point, "memory.limit_in_bytes", 1);
        }
    }
    None
}

/// Parses GOMEMLIMIT as the Go runtime does: bytes, optionally with a `B`, `KiB`, `MiB`,
/// `GiB` or `TiB` suffix; `off` means no limit (`Ok(None)`).
pub fn parse_gomemlimit(text: &str) -> Result<Option<u64>, String> {
    let s = text.trim();
    if s == "off" {
        return Ok(None);
    }
    let bad = || format!("GOMEMLIMIT={text:?} is not a byte count the Go runtime accepts");
    let (digits, mult): (&str, u64) = if let Some(d) = s.strip_suffix("KiB") {
        (d, 1 << 10)
    } else if let Some(d) = s.strip_suffix("MiB") {
        (d, 1 << 20)
    } else if let Some(d) = s.strip_suffix("GiB") {
        (d, 1 << 30)
    } else if let Some(d) = s.strip_suffix("TiB") {
        (d, 1 << 40)
    } else if let Some(d) = s.strip_suffix('B') {
        (d, 1)
    } else {
        (s, 1)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(mult).map(Some).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gomemlimit_parses_like_the_runtime() {
        assert_eq!(parse_gomemlimit("512MiB"), Ok(Some(512 << 20)));
        assert_eq!(parse_gomemlimit("1GiB"), Ok(Some(1 << 30)));
        assert_eq!(parse_gomemlimit("100"), Ok(Some(100)));
        assert_eq!(parse_gomemlimit("100B"), Ok(Some(100)));
        assert_eq!(parse_gomemlimit("off"), Ok(None));
        for bad in [
            "",
            "1.5GiB",
            "512MB",
            "-1",
            "GiB",
            "1 GiB",
            "99999999999TiB",
        ] {
            assert!(parse_gomemlimit(bad).is_err(), "{bad}");
        }
    }

    fn fake_sys(layout: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in layout {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        dir
    }

    #[test]
    fn v2_takes_the_smallest_limit_up_the_tree() {
        let sys = fake_sys(&[
            ("cg/memory.max", "max\n"),
            ("cg/app/memory.max", "1073741824\n"),
            ("cg/app/svc/memory.max", "max\n"),
        ]);
        let mountinfo = format!(
            "30 1 0:26 / {} rw,nosuid - cgroup2 cgroup2 rw\n",
            sys.path().join("cg").display()
        );
        let l = cgroup_limit_from("0::/app/svc\n", &mountinfo).unwrap();
        assert_eq!(l.version, 2);
        assert_eq!(l.bytes, Some(1 << 30));
        assert!(l.file.ends_with("cg/app/memory.max"), "{}", l.file);
    }

    #[test]
    fn v2_without_limits_is_unlimited() {
        let sys = fake_sys(&[("cg/memory.max", "max\n"), ("cg/a/memory.max", "max\n")]);
        let mountinfo = format!(
            "30 1 0:26 / {} rw - cgroup2 cgroup2 rw\n",
            sys.path().join("cg").display()
        );
        let l = cgroup_limit_from("0::/a\n", &mountinfo).unwrap();
        assert_eq!(l.bytes, None);
    }

    #[test]
    fn v1_memory_controller_and_its_unlimited_value() {
        let sys = fake_sys(&[
            ("memory/memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory/docker/abc/memory.limit_in_bytes", "536870912\n"),
        ]);
        let mountinfo = format!(
            "25 1 0:22 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n26 1 0:23 / {} rw,relatime - cgroup cgroup rw,memory\n",
            sys.path().join("memory").display()
        );
        let cg = "4:memory:/docker/abc\n1:cpu:/\n0::/\n";
        let l = cgroup_limit_from(cg, &mountinfo).unwrap();
        assert_eq!((l.version, l.bytes), (1, Some(512 << 20)));
        let l = cgroup_limit_from("4:memory:/\n", &mountinfo).unwrap();
        assert_eq!(l.bytes, None, "v1's huge default means no limit");
    }

    #[test]
    fn namespaced_paths_and_escapes() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"\04"), r"\04");
        let d = cgroup_dir(
            "/docker/abc",
            Path::new("/sys/fs/cgroup/memory"),
            "/docker/abc/x",
        )
        .unwrap();
        assert_eq!(d, Path::new("/sys/fs/cgroup/memory/x"));
        assert!(cgroup_dir("/", Path::new("/c"), "/../etc").is_none());
    }

    #[test]
    fn reads_this_machines_own_cgroup_without_failing() {
        // Whatever this machine has (v1, v2, none), the lookup must not panic and a limit
        // it reports must come from a real file.
        if let Some(l) = cgroup_limit(Path::new("/proc"), std::process::id() as i32) {
            assert!(Path::new(&l.file).is_file(), "{l:?}");
        }
    }
}
