//! The `env` suite, toolchain: rules that judge the Go in use ([`EnvFacts`]) against the
//! release data and the module's `go`/`toolchain` lines, and where it lives (GOROOT,
//! GOPATH). Module hygiene is in `module_rules`. Each rule is documented in docs/checks.md
//! under its id.

use std::path::{Path, PathBuf};

use super::facts::{EnvFacts, ExeKind, switch_target};
use super::go_version::GoVersion;
use super::releases::{ReleaseData, Source, plural};
use crate::model::data::{
    GoModDirectiveData, GoSupportedData, GopathOverlapData, GorootProvenanceData, ReleasesSource,
    ToolchainConsistentData, facts as record,
};
use crate::model::{Check, Severity};
use crate::registry as ids;

/// How old the snapshot may get before its answers carry a warning: Go ships a new minor
/// line every six months, and each one ends the support of the oldest.
pub const SNAPSHOT_STALE_DAYS: i64 = 183;

fn list(lines: &[(u32, u32)]) -> String {
    lines
        .iter()
        .map(|(a, b)| format!("go{a}.{b}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// `env.go_supported`: a stable release inside Go's support window, on its newest patch.
pub fn go_supported(facts: &EnvFacts, releases: &Result<ReleaseData, String>) -> Check {
    let rule = Check::of(&ids::ENV_GO_SUPPORTED);
    if let Err(e) = &facts.go_env {
        return rule.error(format!("cannot tell which Go is in use: {e}"));
    }
    let data = match releases {
        Ok(d) => d,
        Err(e) => return rule.error(format!("no release data: {e}")),
    };
    let Some(window) = data.window() else {
        return rule.error(format!(
            "{} lists no stable release",
            data.source.describe()
        ));
    };
    let raw = facts.var("GOVERSION");
    let per = data.source.describe();
    let stale_note = match data.age_days() {
        Some(age) if age > SNAPSHOT_STALE_DAYS => format!(
            " The snapshot is {} old: a newer Go line may have ended a line's support since; \
             let goready reach go.dev or pass --releases FILE|URL.",
            plural(age, "day")
        ),
        _ => String::new(),
    };
    let mut info = GoSupportedData {
        go_version: raw.to_string(),
        source: Some(source_data(&data.source)),
        supported_lines: window
            .supported
            .iter()
            .map(|(a, b)| format!("go{a}.{b}"))
            .collect(),
        newest_release: window.newest.to_string(),
        newest_patch: None,
    };
    let Some(v) = facts.go_version else {
        return rule.data(info).fail(format!(
            "GOVERSION {raw:?} is not a Go release (a development build?): production builds \
             need a stable release; the newest is {} (per {per}).{stale_note}",
            window.newest
        ));
    };
    let newest_of_line = window.newest_of_line.get(&v.line()).copied();
    if let Some(n) = newest_of_line {
        info.newest_patch = Some(n.to_string());
    }
    let rule = rule.data(info);
    let supported = list(&window.supported);
    if v.is_prerelease() {
        let same_line = match newest_of_line {
            Some(n) => format!("the newest {} patch is {n}", v.line_name()),
            None => format!("{} has no stable release yet", v.line_name()),
        };
        return rule.fail(format!(
            "{v} is a pre-release, not for production: {same_line}; the newest release is {} \
             (per {per}).{stale_note}",
            window.newest
        ));
    }
    // A line the data does not know is no evidence of support: not evaluated, not a pass.
    if v > window.newest && !window.supported.contains(&v.line()) {
        return rule.skip(format!(
            "not evaluated: {v} is newer than anything in {per} (the newest release it knows \
             is {}), so whether {} is supported cannot be read from it; the release data is \
             stale — update goready or pass --releases FILE|URL.",
            window.newest,
            v.line_name()
        ));
    }
    if v > window.newest || newest_of_line.is_some_and(|n| v > n) {
        let known = match newest_of_line {
            Some(n) if v <= window.newest => {
                format!("the newest {} patch it knows is {n}", v.line_name())
            }
            _ => format!("the newest release it knows is {}", window.newest),
        };
        return rule.pass(format!(
            "{v} is newer than anything in {per} ({known}); {} is a supported line ({supported} \
             are), but the release data is stale — update goready or pass --releases FILE|URL.",
            v.line_name()
        ));
    }
    if !window.supported.contains(&v.line()) {
        let same_line = match newest_of_line {
            Some(n) => format!("the newest {} patch is {n}", v.line_name()),
            None => format!("{} is not in the release data", v.line_name()),
        };
        return rule.fail(format!(
            "{v} is end-of-life: Go fixes security issues only in {supported}; {same_line}; \
             upgrade to {} (per {per}).{stale_note}",
            window.newest
        ));
    }
    match newest_of_line {
        Some(n) if n > v => {
            let behind = n.patch.unwrap_or(0).saturating_sub(v.patch.unwrap_or(0));
            rule.severity(Severity::Warning).fail(format!(
                "{v} is {} behind {n}, missing their security fixes; upgrade to {n} \
                 ({} is supported; newest release {}; per {per}).{stale_note}",
                plural(i64::from(behind), "patch release"),
                v.line_name(),
                window.newest
            ))
        }
        _ => rule.pass(format!(
            "{v} is the newest patch of {}, a supported line ({supported} are; per {per}).\
             {stale_note}",
            v.line_name()
        )),
    }
}

fn source_data(s: &Source) -> ReleasesSource {
    match s {
        Source::Url(u) => ReleasesSource::Url { url: u.clone() },
        Source::File(p) => ReleasesSource::File { path: p.clone() },
        Source::Snapshot {
            date,
            age_days,
            fallback_reason,
        } => ReleasesSource::Snapshot {
            date: date.clone(),
            age_days: *age_days,
            reason: fallback_reason.clone(),
        },
    }
}

/// How GOTOOLCHAIN lets `go` switch toolchains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Never: `local`, or a fixed `goX`.
    Never,
    /// Download newer toolchains go.mod asks for (`auto`, `…+auto`).
    Auto,
    /// Look for `goX` binaries on PATH (`path`, `…+path`).
    Path,
}

/// Reads GOTOOLCHAIN as `toolchain.Select` does (the minimum part is already applied: go env
/// ran under it).
pub fn switch_mode(gotoolchain: &str) -> Switch {
    match gotoolchain
        .rsplit_once('+')
        .map(|(_, m)| m)
        .unwrap_or(gotoolchain)
    {
        "auto" => Switch::Auto,
        "path" => Switch::Path,
        _ => Switch::Never,
    }
}

/// `env.go_mod_directive`: go.mod's `go` and `toolchain` lines against the Go in use and
/// GOTOOLCHAIN.
pub fn go_mod_directive(facts: &EnvFacts) -> Check {
    let rule = Check::of(&ids::ENV_GO_MOD_DIRECTIVE);
    let Some(m) = &facts.module else {
        return rule.skip(format!(
            "no go.mod in {} or above: not a Go module",
            facts.dir.display()
        ));
    };
    let at = |line: Option<u32>| {
        Check::of(&ids::ENV_GO_MOD_DIRECTIVE).location(m.gomod_display.clone(), line)
    };
    let gomod = match &m.gomod {
        Ok(g) => g,
        Err(e) => return at(None).error(e.clone()),
    };
    if let Err(e) = &facts.go_env {
        return at(None).error(format!("cannot tell which Go is in use: {e}"));
    }
    let Some(running) = facts.go_version else {
        return at(None).skip(format!(
            "GOVERSION {:?} is not a release; go.mod's requirements cannot be compared",
            facts.var("GOVERSION")
        ));
    };
    let gotoolchain = facts.var("GOTOOLCHAIN");
    let mode = switch_mode(gotoolchain);
    let Some(go_line) = &gomod.go else {
        return at(None).severity(Severity::Warning).fail(
            "go.mod has no `go` line: Go then treats the module as go 1.16 (old language \
             semantics, no toolchain checks); add one with `go mod edit -go=<version>`",
        );
    };
    let Some(need_go) = GoVersion::parse_gover(&go_line.value) else {
        return at(Some(go_line.line)).fail(format!(
            "`go {}` is not a Go version: every go command rejects this go.mod",
            go_line.value
        ));
    };
    let toolchain = match &gomod.toolchain {
        Some(t) if t.value == "default" => None,
        Some(t) => match GoVersion::parse_release(&t.value) {
            Some(v) => Some((v, t)),
            None => {
                return at(Some(t.line)).fail(format!(
                    "`toolchain {}` is not a toolchain name (go1.N.P): every go command rejects \
                     this go.mod",
                    t.value
                ));
            }
        },
        None => None,
    };
    let info = GoModDirectiveData {
        go: go_line.value.clone(),
        toolchain: gomod.toolchain.as_ref().map(|t| t.value.clone()),
        running: running.to_string(),
        gotoolchain: gotoolchain.to_string(),
    };
    let go_short = need_go > running;
    let tool_short = toolchain.filter(|(t, _)| *t > running);
    if !go_short && tool_short.is_none() {
        let what = match toolchain {
            Some((t, _)) => format!("go {} and toolchain {t} are", go_line.value),
            None => format!("go {} is", go_line.value),
        };
        return at(Some(go_line.line)).data(info).pass(format!(
            "{what} satisfied by {running} (GOTOOLCHAIN={gotoolchain})"
        ));
    }
    // What `go` would switch to: the newer of the two lines (toolchain.Select).
    let mut target = switch_target(need_go);
    let mut line = go_line.line;
    let mut why = format!("go {}", go_line.value);
    if let Some((t, at_t)) = toolchain
        && t > target
    {
        target = t;
        line = at_t.line;
        why = format!("toolchain {}", at_t.value);
    }
    if !go_short && let Some((t, at_t)) = tool_short {
        (target, line, why) = (t, at_t.line, format!("toolchain {}", at_t.value));
    }
    let check = at(Some(line)).data(info);
    match mode {
        Switch::Never if go_short => check.fail(format!(
            "go.mod requires go >= {} but the Go here is {running} and \
             GOTOOLCHAIN={gotoolchain}: every go command in this module fails (\"go: go.mod \
             requires go >= {} (running go {}; GOTOOLCHAIN={gotoolchain})\"); install {target} \
             or lower the go line",
            go_line.value,
            go_line.value,
            running.to_string().trim_start_matches("go"),
        )),
        Switch::Never => check.severity(Severity::Warning).fail(format!(
            "`{why}` asks for {target}, but GOTOOLCHAIN={gotoolchain} ignores it: builds use \
             {running}, not the toolchain the module asks for; install {target} or drop the \
             toolchain line"
        )),
        Switch::Auto => {
            let proxy = facts.var("GOPROXY");
            if proxy.split([',', '|']).all(|p| p == "off") {
                check.fail(format!(
                    "`{why}` makes go switch to {target} (GOTOOLCHAIN={gotoolchain}), but \
                     GOPROXY=off cannot download it: every go command in this module fails"
                ))
            } else if facts.toolchain_cached(&target.to_string()) {
                check.severity(Severity::Warning).fail(format!(
                    "`{why}` makes go switch from {running} to {target} (GOTOOLCHAIN={gotoolchain}); \
                     it is already in the module cache, so builds use a toolchain the image \
                     does not install"
                ))
            } else {
                check.severity(Severity::Warning).fail(format!(
                    "`{why}` makes go download {target} at build time (GOTOOLCHAIN={gotoolchain}; \
                     {running} is installed): every fresh CI job fetches a toolchain through \
                     GOPROXY={proxy}; install {target} in the CI image, or lower the line"
                ))
            }
        }
        Switch::Path => {
            let name = target.to_string();
            match which(&name) {
                Some(found) => check.severity(Severity::Notice).fail(format!(
                    "`{why}` makes go run {} (GOTOOLCHAIN={gotoolchain}), not {running}",
                    found.display()
                )),
                None => check.fail(format!(
                    "`{why}` makes go look for {name} on PATH (GOTOOLCHAIN={gotoolchain}), and \
                     there is none: every go command in this module fails"
                )),
            }
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    crate::gotool::Go {
        program: PathBuf::from(name),
    }
    .resolve()
}

fn exe_version(kind: &ExeKind) -> Option<&str> {
    match kind {
        ExeKind::Go { version } => Some(version.as_str()),
        _ => None,
    }
}

/// The release part of a version string: `go1.26.8 X:foo` → `go1.26.8`.
fn head(v: &str) -> &str {
    v.split_whitespace().next().unwrap_or("")
}

/// `env.toolchain_consistent`: `which go`, GOROOT, GOVERSION and the go binary in GOROOT
/// agree.
pub fn toolchain_consistent(facts: &EnvFacts) -> Check {
    let rule = Check::of(&ids::ENV_TOOLCHAIN_CONSISTENT);
    let goversion = head(facts.var("GOVERSION"));
    let goroot = facts.var("GOROOT");
    let info = ToolchainConsistentData {
        which_go: record(&facts.go_on_path),
        goroot: goroot.to_string(),
        goversion: facts.var("GOVERSION").to_string(),
        goroot_go: record(&facts.goroot_go),
        goroot_version_file: facts.goroot_version_file.clone(),
    };
    let rule = rule.data(info);
    let Some(goroot_go) = &facts.goroot_go else {
        return rule.fail(format!(
            "GOROOT={goroot} has no bin/go: GOROOT points somewhere that is not a Go \
             installation (set by hand?); unset GOROOT and let go find its own"
        ));
    };
    let mut problems = Vec::new();
    match exe_version(&goroot_go.kind) {
        Some(v) if head(v) != goversion => problems.push(format!(
            "{} is {v} but go env GOVERSION is {goversion}: GOROOT points at another \
             installation than the go that runs",
            goroot_go.path.display()
        )),
        Some(_) => {}
        None => problems.push(format!(
            "{} is not a Go program it can read",
            goroot_go.path.display()
        )),
    }
    if let Some(file) = &facts.goroot_version_file
        && head(file) != goversion
    {
        problems.push(format!(
            "{goroot}/VERSION says {file} but GOVERSION is {goversion}: the standard library \
             is from another release than the compiler"
        ));
    }
    let mut notes = Vec::new();
    if let Some(on_path) = &facts.go_on_path
        && on_path.canonical != goroot_go.canonical
    {
        let switched = is_switched_toolchain(facts);
        match &on_path.kind {
            ExeKind::Go { version } if head(version) == goversion => notes.push(format!(
                "{} is a second copy of {goversion}",
                on_path.path.display()
            )),
            ExeKind::Go { version } if switched => notes.push(format!(
                "{} ({version}) switches to {goversion} from the module cache \
                 (GOTOOLCHAIN={})",
                on_path.path.display(),
                facts.var("GOTOOLCHAIN")
            )),
            ExeKind::Go { version } => problems.push(format!(
                "`which go` is {} ({version}) but go env reports {goversion} with \
                 GOROOT={goroot}: PATH and GOROOT name different Go installations",
                on_path.path.display()
            )),
            ExeKind::Script { shebang } => notes.push(format!(
                "`which go` is a script ({} starts {shebang}), as version managers install; \
                 it ran {goversion} from {goroot}",
                on_path.path.display()
            )),
            ExeKind::Other { reason } => problems.push(format!(
                "`which go` is {}: {reason}",
                on_path.path.display()
            )),
        }
    }
    if !problems.is_empty() {
        return rule.fail(problems.join("; "));
    }
    let which = facts
        .go_on_path
        .as_ref()
        .map(|p| p.path.display().to_string())
        .unwrap_or_else(|| "go".into());
    let mut msg =
        format!("{which}, GOROOT={goroot}, GOVERSION and {goroot}/bin/go agree on {goversion}");
    if !notes.is_empty() {
        msg.push_str(" (");
        msg.push_str(&notes.join("; "));
        msg.push(')');
    }
    rule.pass(msg)
}

fn is_switched_toolchain(facts: &EnvFacts) -> bool {
    let cache = facts.var("GOMODCACHE");
    !cache.is_empty()
        && Path::new(facts.var("GOROOT")).starts_with(Path::new(cache).join("golang.org"))
}

/// Where distributions and package managers put GOROOT, and who they are.
const PACKAGED: &[(&str, &str)] = &[
    ("/usr/lib/go-", "Debian/Ubuntu's golang package"),
    ("/usr/lib/golang", "Fedora/RHEL's golang package"),
    ("/usr/lib64/go", "openSUSE's go package"),
    (
        "/usr/lib/go",
        "a distribution package (Alpine, Arch, Debian)",
    ),
    ("/usr/share/go", "a distribution package"),
    ("/usr/local/Cellar/go", "Homebrew"),
    ("/opt/homebrew/Cellar/go", "Homebrew"),
    ("/home/linuxbrew/.linuxbrew/Cellar/go", "Homebrew"),
    ("/usr/local/opt/go", "Homebrew"),
    ("/opt/homebrew/opt/go", "Homebrew"),
    ("/nix/store/", "Nix"),
    ("/snap/go/", "the go snap"),
    ("/usr/local/lib/go", "a ports/packages tree (FreeBSD)"),
];

/// Go's own go.env defaults (`$GOROOT/go.env` of a release tree).
const OFFICIAL_DEFAULTS: &[(&str, &str)] = &[
    ("GOPROXY", "https://proxy.golang.org,direct"),
    ("GOSUMDB", "sum.golang.org"),
    ("GOTOOLCHAIN", "auto"),
];

/// Which packager a GOROOT path belongs to, if any.
pub fn packager(goroot: &str) -> Option<&'static str> {
    PACKAGED
        .iter()
        .find(|(prefix, _)| {
            goroot.starts_with(prefix)
                && (prefix.ends_with(['/', '-'])
                    || goroot.len() == prefix.len()
                    || goroot[prefix.len()..].starts_with(['/', '-']))
        })
        .map(|(_, who)| *who)
}

/// `env.goroot_provenance`: an official release tree, not a distribution's package.
pub fn goroot_provenance(facts: &EnvFacts) -> Check {
    let goroot = facts.var("GOROOT");
    let mut changed = Vec::new();
    if let Some(defaults) = &facts.goroot_go_env {
        for (key, official) in OFFICIAL_DEFAULTS {
            match defaults.get(*key) {
                Some(v) if v != official => {
                    changed.push(format!("{key}={v} (Go ships {official})"))
                }
                None => changed.push(format!("no {key} (Go ships {key}={official})")),
                _ => {}
            }
        }
    }
    let rule = Check::of(&ids::ENV_GOROOT_PROVENANCE).data(GorootProvenanceData {
        goroot: goroot.to_string(),
        packager: packager(goroot).map(str::to_string),
        go_env_changes: changed.clone(),
    });
    let env_note = if changed.is_empty() {
        String::new()
    } else {
        format!(
            "; its {goroot}/go.env changes Go's defaults: {}",
            changed.join(", ")
        )
    };
    if let Some(who) = packager(goroot) {
        return rule.fail(format!(
            "GOROOT={goroot} is {who}: a rebuilt, possibly patched Go that follows the \
             distribution's release schedule, not Go's{env_note}; use an official release \
             (go.dev/dl tarball, golang.org/toolchain or actions/setup-go) for production builds"
        ));
    }
    if !changed.is_empty() {
        return rule.fail(format!(
            "GOROOT={goroot} is not a distribution path, but its go.env was edited to change \
             Go's defaults: {}",
            changed.join(", ")
        ));
    }
    if goroot.is_empty() {
        return rule.skip("not evaluated: go env reported no GOROOT");
    }
    let go_env = if facts.goroot_go_env.is_some() {
        "its go.env keeps Go's defaults"
    } else {
        "it has no go.env (Go before 1.21 ships none)"
    };
    let kind = if is_switched_toolchain(facts) {
        "a toolchain downloaded from golang.org/toolchain".to_string()
    } else if let Some(version) = &facts.goroot_version_file {
        format!("not a distribution path; its VERSION file says {version}, and {go_env}")
    } else {
        // Neither a known packager nor a release layout: nothing says it is official.
        return rule.skip(format!(
            "not evaluated: GOROOT={goroot} is no known distribution path, but it has no \
             VERSION file either (a release tree has one): its provenance cannot be told"
        ));
    };
    rule.pass(format!("GOROOT={goroot}: {kind}"))
}

fn norm(p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    std::fs::canonicalize(&path).unwrap_or_else(|_| {
        path.components().fold(PathBuf::new(), |mut acc, c| {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    acc.pop();
                }
                other => acc.push(other),
            }
            acc
        })
    })
}

/// `env.gopath_overlap`: GOPATH, GOMODCACHE and GOROOT are apart.
pub fn gopath_overlap(facts: &EnvFacts) -> Check {
    let goroot = facts.var("GOROOT");
    let modcache = facts.var("GOMODCACHE");
    let gopath = facts.var("GOPATH");
    let rule = Check::of(&ids::ENV_GOPATH_OVERLAP).data(GopathOverlapData {
        gopath: gopath.to_string(),
        gomodcache: modcache.to_string(),
        goroot: goroot.to_string(),
    });
    let missing: Vec<&str> = [
        ("GOPATH", gopath),
        ("GOMODCACHE", modcache),
        ("GOROOT", goroot),
    ]
    .iter()
    .filter(|(_, v)| v.is_empty())
    .map(|(k, _)| *k)
    .collect();
    let mut problems = Vec::new();
    let (root, cache) = (norm(goroot), norm(modcache));
    let relate = |a: &Path, b: &Path| -> Option<&'static str> {
        if a == b {
            Some("is")
        } else if a.starts_with(b) {
            Some("is inside")
        } else if b.starts_with(a) {
            Some("contains")
        } else {
            None
        }
    };
    if !goroot.is_empty()
        && !modcache.is_empty()
        && let Some(rel) = relate(&cache, &root)
    {
        problems.push(format!(
            "GOMODCACHE={modcache} {rel} GOROOT={goroot}: downloaded modules mix with the \
             toolchain (a Go upgrade wipes the cache, or the cache shadows the standard library)"
        ));
    }
    for entry in std::env::split_paths(gopath).filter(|p| !p.as_os_str().is_empty()) {
        let shown = entry.display().to_string();
        let p = norm(&shown);
        if !goroot.is_empty()
            && let Some(rel) = relate(&p, &root)
        {
            problems.push(format!(
                "GOPATH entry {shown} {rel} GOROOT={goroot}: go install writes into the Go \
                 installation and packages there shadow the standard library (go itself \
                 warns about this)"
            ));
        }
        if !modcache.is_empty() && (p == cache || p.starts_with(&cache)) {
            problems.push(format!(
                "GOPATH entry {shown} {} GOMODCACHE={modcache}: go clean -modcache would delete \
                 it",
                if p == cache { "is" } else { "is inside" }
            ));
        }
    }
    if problems.is_empty() && !missing.is_empty() {
        // Apart from nothing is no evidence: every one of the three must be known.
        rule.skip(format!(
            "not evaluated: go env reported no {}",
            missing.join(", ")
        ))
    } else if problems.is_empty() {
        rule.pass(format!(
            "GOPATH={gopath}, GOMODCACHE={modcache} and GOROOT={goroot} are apart"
        ))
    } else {
        rule.fail(problems.join("; "))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::env::facts::Executable;
    use crate::env::releases::{Release, ReleaseData};
    use crate::model::Status;
    use std::collections::BTreeMap;

    /// EnvFacts of a healthy go1.26.8 setup, with `vars` overriding its `go env`.
    pub(crate) fn facts(vars: &[(&str, &str)]) -> EnvFacts {
        let mut env: BTreeMap<String, String> = [
            ("GOVERSION", "go1.26.8"),
            ("GOROOT", "/usr/local/go"),
            ("GOPATH", "/home/u/go"),
            ("GOMODCACHE", "/home/u/go/pkg/mod"),
            ("GOPROXY", "https://proxy.golang.org,direct"),
            ("GOSUMDB", "sum.golang.org"),
            ("GOTOOLCHAIN", "auto"),
            // go env -json reports these even when empty.
            ("GOFLAGS", ""),
            ("GOPRIVATE", ""),
            ("GONOPROXY", ""),
            ("GONOSUMDB", ""),
            ("GOINSECURE", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in vars {
            env.insert(k.to_string(), v.to_string());
        }
        let version = GoVersion::parse_release(&env["GOVERSION"]);
        let go = |v: &str| Executable {
            path: "/usr/local/go/bin/go".into(),
            canonical: "/usr/local/go/bin/go".into(),
            kind: ExeKind::Go { version: v.into() },
        };
        EnvFacts {
            dir: ".".into(),
            go_on_path: Some(go(&env["GOVERSION"])),
            goroot_go: Some(go(&env["GOVERSION"])),
            goroot_version_file: Some(env["GOVERSION"].clone()),
            go_env: Ok(env),
            go_version: version,
            goroot_go_env: None,
            legacy_vars: BTreeMap::new(),
            vendored: false,
            module: None,
            cached_toolchains: BTreeMap::new(),
        }
    }

    fn feed(versions: &[&str]) -> Result<ReleaseData, String> {
        Ok(ReleaseData {
            releases: versions
                .iter()
                .map(|v| {
                    let version = GoVersion::parse_release(v).unwrap();
                    Release {
                        version,
                        stable: !version.is_prerelease(),
                    }
                })
                .collect(),
            source: Source::File("feed.json".into()),
            unreadable: 0,
        })
    }

    #[test]
    fn support_window_verdicts() {
        let data = feed(&[
            "go1.27.2",
            "go1.27.0",
            "go1.26.9",
            "go1.26.8",
            "go1.25.4",
            "go1.28rc1",
        ]);
        let c = go_supported(&facts(&[("GOVERSION", "go1.27.2")]), &data);
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        let c = go_supported(&facts(&[]), &data);
        assert_eq!((c.status, c.severity), (Status::Fail, Severity::Warning));
        assert!(c.message.contains("behind go1.26.9"), "{}", c.message);
        let c = go_supported(&facts(&[("GOVERSION", "go1.25.4")]), &data);
        assert_eq!((c.status, c.severity), (Status::Fail, Severity::Error));
        assert!(c.message.contains("end-of-life"), "{}", c.message);
        assert!(
            c.message.contains("go1.25.4; upgrade to go1.27.2"),
            "{}",
            c.message
        );
        let c = go_supported(&facts(&[("GOVERSION", "go1.28rc1")]), &data);
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message.contains("go1.28 has no stable release yet"),
            "{}",
            c.message
        );
        // A line the data does not know: no evidence of support, so not a pass.
        let c = go_supported(&facts(&[("GOVERSION", "go1.29.0")]), &data);
        assert_eq!(c.status, Status::Skip, "{}", c.message);
        assert!(c.message.contains("stale"), "{}", c.message);
        let c = go_supported(&facts(&[("GOVERSION", "go1.26.10")]), &data);
        assert_eq!(c.status, Status::Pass);
        assert!(c.message.contains("stale"), "{}", c.message);
        let c = go_supported(&facts(&[("GOVERSION", "devel go1.28-abc")]), &data);
        assert_eq!(c.status, Status::Fail);
        let c = go_supported(&facts(&[]), &Err("boom".into()));
        assert_eq!(c.status, Status::Error);
    }

    #[test]
    fn gotoolchain_modes() {
        assert_eq!(switch_mode("auto"), Switch::Auto);
        assert_eq!(switch_mode("local"), Switch::Never);
        assert_eq!(switch_mode("go1.25.0"), Switch::Never);
        assert_eq!(switch_mode("go1.25.0+auto"), Switch::Auto);
        assert_eq!(switch_mode("local+path"), Switch::Path);
        assert_eq!(switch_mode("path"), Switch::Path);
    }

    #[test]
    fn overlaps_are_found_both_ways() {
        let ok = gopath_overlap(&facts(&[]));
        assert_eq!(ok.status, Status::Pass, "{}", ok.message);
        for (k, v) in [
            ("GOPATH", "/usr/local/go"),
            ("GOPATH", "/usr/local/go/gopath"),
            ("GOPATH", "/usr"),
            ("GOMODCACHE", "/usr/local/go/pkg/mod"),
            ("GOPATH", "/home/u/go/pkg/mod"),
        ] {
            let c = gopath_overlap(&facts(&[(k, v)]));
            assert_eq!(c.status, Status::Fail, "{k}={v}: {}", c.message);
        }
    }

    #[test]
    fn packagers_are_named() {
        assert_eq!(
            packager("/usr/lib/go-1.22"),
            Some("Debian/Ubuntu's golang package")
        );
        assert_eq!(
            packager("/usr/lib/golang"),
            Some("Fedora/RHEL's golang package")
        );
        assert!(packager("/usr/lib/go").is_some());
        assert!(packager("/usr/lib/gopher").is_none());
        assert!(packager("/nix/store/abc-go-1.22.1/share/go").is_some());
        assert!(packager("/usr/local/go").is_none());
        assert!(packager("/root/sdk/go1.26.8").is_none());
    }

    #[test]
    fn toolchain_mixups_are_named() {
        let mut f = facts(&[]);
        assert_eq!(toolchain_consistent(&f).status, Status::Pass);
        f.goroot_version_file = Some("go1.19.13".into());
        let c = toolchain_consistent(&f);
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message.contains("VERSION says go1.19.13"),
            "{}",
            c.message
        );
        let mut f = facts(&[]);
        f.go_on_path = Some(Executable {
            path: "/usr/bin/go".into(),
            canonical: "/usr/lib/go-1.19/bin/go".into(),
            kind: ExeKind::Go {
                version: "go1.19.8".into(),
            },
        });
        let c = toolchain_consistent(&f);
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message.contains("/usr/bin/go (go1.19.8)"),
            "{}",
            c.message
        );
    }

    // A pass needs its evidence (docs/checks.md).

    #[test]
    fn goroot_provenance_pass_needs_a_release_layout() {
        let c = goroot_provenance(&facts(&[]));
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(
            c.message.contains("VERSION file says go1.26.8") && c.message.contains("no go.env"),
            "{}",
            c.message
        );
        let mut no_version = facts(&[]);
        no_version.goroot_version_file = None;
        assert_eq!(goroot_provenance(&no_version).status, Status::Skip);
        let mut no_goroot = facts(&[]);
        if let Ok(env) = &mut no_goroot.go_env {
            env.remove("GOROOT");
        }
        assert_ne!(goroot_provenance(&no_goroot).status, Status::Pass);
    }

    #[test]
    fn gopath_overlap_pass_needs_all_three_paths() {
        for key in ["GOPATH", "GOMODCACHE", "GOROOT"] {
            let mut f = facts(&[]);
            if let Ok(env) = &mut f.go_env {
                env.remove(key);
            }
            let c = gopath_overlap(&f);
            assert_eq!(c.status, Status::Skip, "{key}: {}", c.message);
            assert!(c.message.contains(key), "{}", c.message);
        }
    }

    #[test]
    fn toolchain_and_version_passes_need_go_env() {
        let mut failed = facts(&[]);
        failed.go_env = Err("go: not found".into());
        let data = feed(&["go1.26.8"]);
        assert_ne!(go_supported(&failed, &data).status, Status::Pass);
        let mut no_goroot_go = facts(&[]);
        no_goroot_go.goroot_go = None;
        assert_ne!(toolchain_consistent(&no_goroot_go).status, Status::Pass);
        let c = toolchain_consistent(&facts(&[]));
        assert!(c.message.contains("agree on go1.26.8"), "{}", c.message);
        // No go.mod: nothing to satisfy.
        assert_ne!(go_mod_directive(&facts(&[])).status, Status::Pass);
    }
}
