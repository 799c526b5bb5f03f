//! What the env rules judge, gathered once: one `go env -json` call, the files of GOROOT
//! (`VERSION`, `go.env`, `bin/go`), the `go` on PATH, and the module's go.mod and go.sum.
//! Where a rule needs Go's own verdict on the module (`go mod verify`, `go mod tidy -diff`)
//! it is run here too, with the toolchain pinned so that goready never downloads one.
//! Nothing here changes the environment or a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::go_version::GoVersion;
use super::gomod::GoMod;
use crate::gotool::Go;
use crate::process::Finished;
use crate::repo;

/// How long `go mod verify` / `go mod tidy -diff` may run (they may download modules).
pub const MOD_TIMEOUT: Duration = Duration::from_secs(300);

/// Variables Go no longer reads (or never read) that people set to switch checksum checks
/// off; `go env -json` does not print them, so they are read from goready's environment,
/// which every `go` it runs inherits.
pub const LEGACY_VARS: &[&str] = &["GONOSUMCHECK", "GONOVERIFY"];

/// An executable that claims to be `go`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Executable {
    /// The path as found.
    pub path: PathBuf,
    /// The path with symlinks resolved.
    pub canonical: PathBuf,
    /// What the file is.
    pub kind: ExeKind,
}

/// What kind of file a `go` is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExeKind {
    /// A Go program; `version` is the Go version in its build info (what `go version FILE`
    /// prints).
    Go {
        /// The Go version that built it: for the go command, its own version.
        version: String,
    },
    /// A `#!` script, as version managers install (goenv, asdf, mise shims).
    Script {
        /// The `#!` line.
        shebang: String,
    },
    /// Anything else, or unreadable; the reason.
    Other {
        /// Why it is neither.
        reason: String,
    },
}

/// The module under DIR.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleFacts {
    /// The directory holding go.mod.
    pub root: PathBuf,
    /// go.mod's path for check locations: relative to the working directory when DIR is.
    pub gomod_display: String,
    /// go.mod as read; `Err` when it could not be read.
    pub gomod: Result<GoMod, String>,
    /// Lines in go.sum, `None` when there is no go.sum.
    pub go_sum_lines: Option<usize>,
    /// go.sum's path for check locations.
    pub gosum_display: String,
    /// A go.work that puts this module in a workspace.
    pub workspace: Option<PathBuf>,
    /// `go mod verify`, unless it was not run (then `skipped` says why).
    pub verify: Option<CommandResult>,
    /// `go mod tidy -diff`, unless it was not run.
    pub tidy: Option<CommandResult>,
    /// Why the go commands above were not run, when they were not.
    pub skipped: Option<String>,
    /// Why `go mod tidy -diff` alone was not run (a Go before 1.23).
    pub tidy_skipped: Option<String>,
}

/// A `go` command's result, or why it could not be run.
#[derive(Debug, Clone, Serialize)]
pub struct CommandResult {
    /// The command line, for messages.
    pub command: String,
    /// Exit code; `None` when killed at the timeout or not started.
    pub exit_code: Option<i32>,
    /// Timed out.
    pub timed_out: bool,
    /// stdout.
    pub stdout: String,
    /// stderr (or why it could not be started).
    pub stderr: String,
}

impl CommandResult {
    fn from(command: &str, r: anyhow::Result<Finished>) -> CommandResult {
        match r {
            Ok(o) => CommandResult {
                command: command.to_string(),
                exit_code: o.status.and_then(|s| s.code()),
                timed_out: o.status.is_none(),
                stdout: o.stdout,
                stderr: o.stderr,
            },
            Err(e) => CommandResult {
                command: command.to_string(),
                exit_code: None,
                timed_out: false,
                stdout: String::new(),
                stderr: format!("{e:#}"),
            },
        }
    }

    /// Exited 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Everything the env rules judge.
#[derive(Debug, Clone, Serialize)]
pub struct EnvFacts {
    /// The directory goready was pointed at.
    pub dir: PathBuf,
    /// `go env -json`; `Err` with the reason when it could not be run.
    pub go_env: Result<BTreeMap<String, String>, String>,
    /// GOVERSION, parsed (`None` for a development build or when go env failed).
    pub go_version: Option<GoVersion>,
    /// The `go` that runs (`which go`, or `$GOREADY_GO`).
    pub go_on_path: Option<Executable>,
    /// `$GOROOT/bin/go`.
    pub goroot_go: Option<Executable>,
    /// The first line of `$GOROOT/VERSION` (release trees have one).
    pub goroot_version_file: Option<String>,
    /// `$GOROOT/go.env`: the defaults this Go was shipped with.
    pub goroot_go_env: Option<BTreeMap<String, String>>,
    /// [`LEGACY_VARS`] that are set.
    pub legacy_vars: BTreeMap<String, String>,
    /// `vendor/modules.txt` exists in the module.
    pub vendored: bool,
    /// The module, when DIR is inside one.
    pub module: Option<ModuleFacts>,
    /// Whether a toolchain is in the module cache: `go1.N.P` → present.
    #[serde(skip)]
    pub cached_toolchains: BTreeMap<String, bool>,
}

impl EnvFacts {
    /// A `go env` value as go env reported it; `None` when it did not (or failed): a rule
    /// that needs the value then has no evidence.
    pub fn reported(&self, key: &str) -> Option<&str> {
        self.go_env
            .as_ref()
            .ok()
            .and_then(|m| m.get(key))
            .map(String::as_str)
    }

    /// A `go env` value; empty when unset or when go env failed.
    pub fn var(&self, key: &str) -> &str {
        self.go_env
            .as_ref()
            .ok()
            .and_then(|m| m.get(key))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Is toolchain `name` (e.g. `go1.27.0`) already in the module cache? Then switching to
    /// it needs no download.
    pub fn toolchain_cached(&self, name: &str) -> bool {
        self.cached_toolchains.get(name).copied().unwrap_or(false)
    }
}

/// Gathers the facts for DIR.
pub fn gather(go: &Go, dir: &Path) -> EnvFacts {
    let go_env = go.toolchain_env().map_err(|e| format!("{e:#}"));
    let mut facts = EnvFacts {
        dir: dir.to_path_buf(),
        go_env,
        go_version: None,
        go_on_path: go.resolve().map(|p| executable(&p)),
        goroot_go: None,
        goroot_version_file: None,
        goroot_go_env: None,
        legacy_vars: LEGACY_VARS
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect(),
        vendored: false,
        module: None,
        cached_toolchains: BTreeMap::new(),
    };
    facts.go_version = GoVersion::parse_release(facts.var("GOVERSION"));
    let goroot = PathBuf::from(facts.var("GOROOT"));
    if !goroot.as_os_str().is_empty() {
        let exe = goroot.join("bin").join(format!("go{}", facts.var("GOEXE")));
        if exe.exists() {
            facts.goroot_go = Some(executable(&exe));
        }
        facts.goroot_version_file = std::fs::read_to_string(goroot.join("VERSION"))
            .ok()
            .and_then(|s| s.lines().next().map(|l| l.trim().to_string()));
        facts.goroot_go_env = std::fs::read_to_string(goroot.join("go.env"))
            .ok()
            .map(|s| parse_env_file(&s));
    }
    if let Some(root) = repo::find_up(dir, "go.mod") {
        facts.vendored = root.join("vendor/modules.txt").is_file();
        let module = module_facts(go, dir, &root, &facts);
        for name in wanted_toolchains(&module) {
            let cached = toolchain_dir(&facts, &name).is_some_and(|d| d.is_dir());
            facts.cached_toolchains.insert(name, cached);
        }
        facts.module = Some(module);
    }
    facts
}

/// Where Go keeps a downloaded toolchain in the module cache.
fn toolchain_dir(facts: &EnvFacts, name: &str) -> Option<PathBuf> {
    let cache = facts.var("GOMODCACHE");
    if cache.is_empty() {
        return None;
    }
    let (goos, goarch) = (facts.var("GOHOSTOS"), facts.var("GOHOSTARCH"));
    Some(
        Path::new(cache)
            .join("golang.org")
            .join(format!("toolchain@v0.0.1-{name}.{goos}-{goarch}")),
    )
}

/// The toolchains go.mod could make `go` switch to (`go` and `toolchain` lines).
fn wanted_toolchains(m: &ModuleFacts) -> Vec<String> {
    let Ok(gomod) = &m.gomod else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Some(v) = gomod
        .go
        .as_ref()
        .and_then(|g| GoVersion::parse_gover(&g.value))
    {
        names.push(switch_target(v).to_string());
    }
    if let Some(t) = gomod
        .toolchain
        .as_ref()
        .and_then(|t| GoVersion::parse_release(&t.value))
    {
        names.push(t.to_string());
    }
    names
}

/// The toolchain `go` downloads for a `go` line: a language version ≥ 1.21 (`1.22`) means
/// its first release (`go1.22.0`); see `toolchain.Select` in cmd/go.
pub fn switch_target(go_line: GoVersion) -> GoVersion {
    if go_line.patch.is_none() && go_line.pre.is_none() && (go_line.major, go_line.minor) >= (1, 21)
    {
        GoVersion {
            patch: Some(0),
            ..go_line
        }
    } else {
        go_line
    }
}

fn module_facts(go: &Go, dir: &Path, root: &Path, facts: &EnvFacts) -> ModuleFacts {
    let gomod_path = root.join("go.mod");
    let gomod = match std::fs::read(&gomod_path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(GoMod::parse(&text)),
            Err(_) => Err(format!("{} is not UTF-8 text", gomod_path.display())),
        },
        Err(e) => Err(format!("cannot read {}: {e}", gomod_path.display())),
    };
    let go_sum_lines = std::fs::read(root.join("go.sum"))
        .ok()
        .map(|b| b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count());
    let workspace = match facts.var("GOWORK") {
        "off" => None,
        "" => repo::find_up(root, "go.work").map(|d| d.join("go.work")),
        explicit => Some(PathBuf::from(explicit)),
    };
    let mut m = ModuleFacts {
        root: root.to_path_buf(),
        gomod_display: display_path(dir, root, "go.mod"),
        gosum_display: display_path(dir, root, "go.sum"),
        gomod,
        go_sum_lines,
        workspace,
        verify: None,
        tidy: None,
        skipped: None,
        tidy_skipped: None,
    };
    // Go's own verdict on the module needs a Go that can load it, run without switching
    // toolchains: pin GOTOOLCHAIN to the one go env reported.
    let Some(running) = facts.go_version else {
        m.skipped = Some(match &facts.go_env {
            Err(e) => format!("go env failed: {e}"),
            Ok(_) => format!(
                "GOVERSION {:?} is not a Go release; go mod commands not run",
                facts.var("GOVERSION")
            ),
        });
        return m;
    };
    if let Ok(gomod) = &m.gomod
        && let Some(need) = gomod
            .go
            .as_ref()
            .and_then(|g| GoVersion::parse_gover(&g.value))
        && need > running
    {
        m.skipped = Some(format!(
            "the Go here ({running}) cannot load a module that requires go {need} \
             (see env.go_mod_directive); go mod verify and go mod tidy were not run"
        ));
        return m;
    }
    if m.gomod.is_err() {
        m.skipped = Some("go.mod could not be read".into());
        return m;
    }
    let pin = running.to_string();
    let env = [("GOTOOLCHAIN", pin.as_str())];
    let has_tidy_diff = GoVersion::parse_gover("1.23").is_some_and(|v| running >= v);
    // Both only read the module (the module cache locks itself), so they run side by side.
    let (verify, tidy) = std::thread::scope(|s| {
        let tidy = s.spawn(|| {
            has_tidy_diff.then(|| {
                CommandResult::from(
                    "go mod tidy -diff",
                    go.run(root, &["mod", "tidy", "-diff"], &env, MOD_TIMEOUT),
                )
            })
        });
        let verify = CommandResult::from(
            "go mod verify",
            go.run(root, &["mod", "verify"], &env, MOD_TIMEOUT),
        );
        let tidy = tidy.join().unwrap_or_else(|_| {
            Some(CommandResult::from(
                "go mod tidy -diff",
                Err(anyhow::anyhow!("goready's thread running it panicked")),
            ))
        });
        (verify, tidy)
    });
    m.verify = Some(verify);
    m.tidy = tidy;
    if !has_tidy_diff {
        m.tidy_skipped = Some(format!(
            "{running} has no `go mod tidy -diff` (Go 1.23+); tidiness not checked"
        ));
    }
    m
}

fn executable(path: &Path) -> Executable {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let kind = match std::fs::File::open(&canonical) {
        Err(e) => ExeKind::Other {
            reason: format!("cannot read: {e}"),
        },
        Ok(mut f) => {
            use std::io::Read;
            let mut head = [0u8; 256];
            let n = f.read(&mut head).unwrap_or(0);
            if head[..n].starts_with(b"#!") {
                let line = head[..n].split(|&b| b == b'\n').next().unwrap_or_default();
                ExeKind::Script {
                    shebang: String::from_utf8_lossy(line).trim().to_string(),
                }
            } else {
                match crate::inspect::inspect_path(&canonical, &crate::inspect::Options::default())
                {
                    Ok(Ok(b)) => match b.buildinfo {
                        Some(info) => ExeKind::Go {
                            version: info.go_version,
                        },
                        None => ExeKind::Other {
                            reason: "an executable without Go build info".into(),
                        },
                    },
                    Ok(Err(e)) => ExeKind::Other {
                        reason: e.to_string(),
                    },
                    Err(e) => ExeKind::Other {
                        reason: format!("cannot read: {e}"),
                    },
                }
            }
        }
    };
    Executable {
        path: path.to_path_buf(),
        canonical,
        kind,
    }
}

/// A path for check locations: relative to the root of the git checkout that holds it (CI
/// annotations want repo-relative paths, and a fingerprint must not depend on where the
/// checkout sits), else to the working directory when it can be, else absolute.
fn display_path(dir: &Path, root: &Path, file: &str) -> String {
    let full = root.join(file);
    if let Some(rel) = repo::git_root(root).and_then(|git| repo::relative_to(&full, &git)) {
        return rel;
    }
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|c| std::fs::canonicalize(c).ok());
    if let Some(cwd) = cwd
        && let Ok(rel) = full.strip_prefix(&cwd)
    {
        return rel.display().to_string();
    }
    if dir.is_relative()
        && let Ok(rel) = full.strip_prefix(std::fs::canonicalize(dir).unwrap_or_default())
    {
        return dir.join(rel).display().to_string();
    }
    full.display().to_string()
}

/// `KEY=value` lines, `#` comments, as in `$GOROOT/go.env` and the `go env -w` file.
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_go_is_a_go_binary_with_its_own_version() {
        let facts = gather(&Go::default(), Path::new("/"));
        let version = facts.var("GOVERSION").to_string();
        assert!(version.starts_with("go1."), "{version}");
        match &facts.goroot_go.as_ref().expect("GOROOT/bin/go").kind {
            ExeKind::Go { version: v } => assert_eq!(v, &version),
            other => panic!("{other:?}"),
        }
        assert_eq!(facts.goroot_version_file.as_deref(), Some(version.as_str()));
        assert!(facts.module.is_none(), "/ is not a module");
    }

    #[test]
    fn a_script_is_a_shim_not_a_go_binary() {
        let dir = tempfile::tempdir().unwrap();
        let shim = dir.path().join("go");
        std::fs::write(&shim, "#!/bin/sh\nexec /usr/local/go/bin/go \"$@\"\n").unwrap();
        assert_eq!(
            executable(&shim).kind,
            ExeKind::Script {
                shebang: "#!/bin/sh".into()
            }
        );
        std::fs::write(&shim, b"\x7fELF garbage").unwrap();
        assert!(matches!(executable(&shim).kind, ExeKind::Other { .. }));
    }

    #[test]
    fn env_files_parse_like_go_reads_them() {
        let m = parse_env_file(
            "# c\nGOPROXY=https://proxy.golang.org,direct\n\nGOTOOLCHAIN=auto\nbad\n",
        );
        assert_eq!(m["GOPROXY"], "https://proxy.golang.org,direct");
        assert_eq!(m["GOTOOLCHAIN"], "auto");
        assert_eq!(m.len(), 2);
    }
}
