//! The `binary` suite: rules that judge [`BinaryFacts`]. Each rule is documented in
//! docs/checks.md under its id.

use super::InspectError;
use super::facts::{BinaryFacts, Format, Linkage};
use crate::model::data::{BuildinfoData, ReadableData, StaticData, VcsData, VersionData};
use crate::model::{Check, Severity};
use crate::registry::{self as ids, Rule};

/// How strict the binary rules are.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
    /// A dynamically linked Linux binary fails `binary.static` as an error, not a warning.
    pub require_static: bool,
}

/// The check for a file that could be read but is not an executable goready understands.
pub fn unparsable(target: &str, err: &InspectError) -> Check {
    Check::of(&ids::BINARY_READABLE)
        .target(target)
        .error(err.to_string())
}

/// The check for a file that could not be read at all.
pub fn unreadable(target: &str, err: &std::io::Error) -> Check {
    Check::of(&ids::BINARY_READABLE)
        .target(target)
        .error(format!("cannot read {target}: {err}"))
}

/// Every binary rule for one inspected file (each slice of a universal file on its own).
pub fn evaluate(facts: &BinaryFacts, opts: &RuleOptions) -> Vec<Check> {
    if facts.slices.is_empty() {
        return evaluate_thin(facts, &facts.path, opts);
    }
    facts
        .slices
        .iter()
        .flat_map(|s| evaluate_thin(s, &format!("{} ({})", facts.path, s.platform()), opts))
        .collect()
}

fn evaluate_thin(f: &BinaryFacts, target: &str, opts: &RuleOptions) -> Vec<Check> {
    let at = |rule: &Rule| Check::of(rule).target(target);
    let readable = ReadableData {
        format: f.format.name().to_string(),
        platform: f.platform(),
        size: f.size,
    };
    let mut checks = vec![at(&ids::BINARY_READABLE).data(readable).pass(format!(
        "{} {} binary, {}",
        f.format.name(),
        f.platform(),
        crate::human::bytes(f.size)
    ))];
    if !f.is_go() {
        checks.push(
            at(&ids::BINARY_GO).skip(
                "no Go build info and no Go function table: not a Go binary, Go rules skipped",
            ),
        );
        // Linkage is not a Go fact: asked for, it is judged on any binary (goready checks its
        // own release binaries this way).
        if opts.require_static {
            checks.push(static_rule(f, at(&ids::BINARY_STATIC), opts));
        }
        return checks;
    }
    let go_version = f
        .buildinfo
        .as_ref()
        .map(|b| b.go_version.clone())
        .unwrap_or_else(|| "unknown Go version (no build info)".into());
    checks.push(at(&ids::BINARY_GO).pass(format!(
        "{go_version}; pclntab {} with {} functions",
        f.pclntab.version.as_deref().unwrap_or("?"),
        f.pclntab.functions.unwrap_or(0)
    )));

    checks.push(static_rule(f, at(&ids::BINARY_STATIC), opts));
    checks.push(if f.symbols_stripped {
        at(&ids::BINARY_STRIPPED).pass("no symbol table (built with -ldflags=-s)")
    } else {
        at(&ids::BINARY_STRIPPED).fail(
            "symbol table present: -ldflags=-s drops it; stack traces keep working from the pclntab",
        )
    });
    checks.push(if f.dwarf {
        at(&ids::BINARY_DWARF)
            .fail("DWARF debug info is shipped: -ldflags=-w drops it (keep an unstripped copy for debugging)")
    } else {
        at(&ids::BINARY_DWARF).pass("no DWARF debug info")
    });
    checks.push(buildinfo_rule(f, at(&ids::BINARY_BUILDINFO)));
    checks.push(vcs_rule(f, at(&ids::BINARY_VCS)));
    checks.push(match f.setting("-trimpath") {
        Some("true") => at(&ids::BINARY_TRIMPATH).pass("built with -trimpath"),
        Some(_) | None if f.buildinfo.is_some() => at(&ids::BINARY_TRIMPATH).fail(
            "built without -trimpath: the build machine's file paths are embedded in the binary",
        ),
        _ => at(&ids::BINARY_TRIMPATH).skip("no build info to tell whether -trimpath was used"),
    });
    checks.push(match &f.expected_version {
        None => at(&ids::BINARY_VERSION).skip("no --expect-version given"),
        Some(v) => {
            let data = VersionData {
                expected: v.expected.clone(),
                evidence: v.evidence.clone(),
                version_vars: f.version_vars.clone(),
            };
            if v.found {
                at(&ids::BINARY_VERSION)
                    .data(data)
                    .pass(format!("{} is embedded ({})", v.expected, v.evidence))
            } else {
                at(&ids::BINARY_VERSION).data(data).fail(format!(
                    "{} is not embedded: {}; inject it with -ldflags \"-X main.Version={}\"",
                    v.expected, v.evidence, v.expected
                ))
            }
        }
    });
    checks.push(if f.pprof_linked {
        at(&ids::BINARY_PPROF_LINKED).fail(
            "net/http/pprof is compiled in: serve it only on a loopback/admin listener, never on the public one",
        )
    } else {
        at(&ids::BINARY_PPROF_LINKED).pass("net/http/pprof is not compiled in")
    });
    checks.push(match f.pie {
        Some(true) => at(&ids::BINARY_PIE).pass("position-independent: ASLR randomises its base"),
        Some(false) => at(&ids::BINARY_PIE).fail(
            "not position-independent: its code always loads at the same address (-buildmode=pie)",
        ),
        None => at(&ids::BINARY_PIE).skip("position independence is unknown for this format"),
    });
    checks
}

fn static_rule(f: &BinaryFacts, check: crate::model::CheckBuilder, opts: &RuleOptions) -> Check {
    let data = StaticData {
        linkage: Some(f.linkage),
        interpreter: f.interpreter.clone(),
        needed: f.needed.clone(),
        libc: f.libc.clone(),
    };
    let check = check.data(data);
    if f.format != Format::Elf {
        return check.skip(format!(
            "{} binaries always load the system libraries ({})",
            f.goos.as_deref().unwrap_or("this OS"),
            if f.needed.is_empty() {
                "none listed".to_string()
            } else {
                f.needed.join(", ")
            }
        ));
    }
    if f.linkage == Linkage::Static {
        return check.pass("statically linked: no interpreter, no shared libraries");
    }
    let mut why = Vec::new();
    if let Some(interp) = &f.interpreter {
        why.push(format!("interpreter {interp}"));
    }
    if !f.needed.is_empty() {
        why.push(format!("needs {}", f.needed.join(", ")));
    }
    let libc = match f.libc.as_deref() {
        Some(l) => format!(
            "; it loads {l} at run time and will not start on images without it (Alpine, distroless/static, scratch)"
        ),
        None => String::new(),
    };
    let severity = if opts.require_static {
        Severity::Error
    } else {
        ids::BINARY_STATIC.severity
    };
    check
        .severity(severity)
        .fail(format!("dynamically linked: {}{libc}", why.join("; ")))
}

fn buildinfo_rule(f: &BinaryFacts, check: crate::model::CheckBuilder) -> Check {
    let Some(info) = &f.buildinfo else {
        return match &f.buildinfo_error {
            Some(why) => check.fail(format!("build info is corrupt: {why}")),
            None => check.fail(
                "no Go build info: `go version -m` and vulnerability scanners cannot tell which modules are inside",
            ),
        };
    };
    let main = info.main.as_ref();
    let data = BuildinfoData {
        go_version: info.go_version.clone(),
        path: info.path.clone(),
        main: main.cloned(),
        deps: info.deps.len(),
    };
    let check = check.data(data);
    match main {
        None => check.fail(format!(
            "{}: built outside module mode (no main module)",
            info.go_version
        )),
        Some(m) if m.version == "(devel)" || m.version.is_empty() => check.fail(format!(
            "{} {}: the main module has no version (build from a tagged VCS checkout, Go 1.24+)",
            m.path, m.version
        )),
        Some(m) => check.pass(format!(
            "{} {} built with {}, {} dependencies",
            m.path,
            m.version,
            info.go_version,
            info.deps.len()
        )),
    }
}

fn vcs_rule(f: &BinaryFacts, check: crate::model::CheckBuilder) -> Check {
    let revision = f.setting("vcs.revision");
    let owned = |v: Option<&str>| v.map(str::to_string);
    let data = VcsData {
        vcs: owned(f.setting("vcs")),
        revision: owned(revision),
        time: owned(f.setting("vcs.time")),
        modified: owned(f.setting("vcs.modified")),
    };
    let check = check.data(data);
    match (f.setting("vcs.modified"), revision) {
        (Some("true"), rev) => check.fail(format!(
            "built from a working tree with uncommitted changes (revision {}+dirty): the binary matches no commit",
            rev.unwrap_or("?")
        )),
        (Some(_), Some(rev)) => check.pass(format!("built from a clean checkout at {rev}")),
        _ => check.skip("no VCS stamp (built outside a repository, or with -buildvcs=false)"),
    }
}
