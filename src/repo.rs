//! Where files sit in the checkout: the git root, repo-relative paths and the nearest
//! ancestor holding a file. Below every room that names files in checks (env, gotest, the
//! check plan), so none of them reaches into another for it; it imports nothing of the
//! crate.

use std::path::{Path, PathBuf};

/// The root of the git checkout holding `path`, if any.
pub fn git_root(path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(path).ok()?;
    abs.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// `path` relative to `root`, with `/` separators (`.` for the root itself).
pub fn relative_to(path: &Path, root: &Path) -> Option<String> {
    let abs = std::path::absolute(path).ok()?;
    let rel = abs.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// `path` relative to the root of its git checkout, when it is in one.
pub fn repo_relative(path: &Path) -> Option<String> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let root = git_root(dir.unwrap_or(Path::new(".")))?;
    relative_to(path, &root)
}

/// The nearest directory at or above `dir` holding the file `name`, as `go` searches for
/// go.mod.
pub fn find_up(dir: &Path, name: &str) -> Option<PathBuf> {
    let start = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    start
        .ancestors()
        .find(|d| d.join(name).is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_root_with_slashes() {
        let root = Path::new("/repo");
        assert_eq!(relative_to(Path::new("/repo"), root).unwrap(), ".");
        assert_eq!(
            relative_to(Path::new("/repo/services/api"), root).unwrap(),
            "services/api"
        );
        assert_eq!(relative_to(Path::new("/elsewhere"), root), None);
    }

    #[test]
    fn the_git_root_and_files_are_found_upwards() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let deep = root.join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join("a/go.mod"), "module x\n").unwrap();
        assert_eq!(git_root(&deep).as_deref(), Some(root.as_path()));
        assert_eq!(find_up(&deep, "go.mod"), Some(root.join("a")));
        assert_eq!(find_up(&deep, "go.work"), None);
        assert_eq!(
            repo_relative(&deep.join("x_test.go")).as_deref(),
            Some("a/b/x_test.go")
        );
    }
}
