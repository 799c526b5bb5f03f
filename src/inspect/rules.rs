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
    // Say which of the two Go marks was found, and only what was read of it.
    let table = match (&f.pclntab.version, f.pclntab.functions) {
        _ if !f.pclntab.present => "no Go function table (pclntab) found".to_string(),
        (Some(v), Some(n)) => format!("pclntab {v} with {n} functions"),
        (Some(v), None) => format!("pclntab {v}"),
        (None, _) => "a pclntab of unknown layout".to_string(),
    };
    checks.push(at(&ids::BINARY_GO).pass(format!("{go_version}; {table}")));

    checks.push(static_rule(f, at(&ids::BINARY_STATIC), opts));
    checks.push(if f.symbols_stripped {
        at(&ids::BINARY_STRIPPED)
            .pass("the symbol table defines no symbols (what -ldflags=-s leaves)")
    } else {
        at(&ids::BINARY_STRIPPED).fail(
            "symbol table present: -ldflags=-s drops it; stack traces keep working from the pclntab",
        )
    });
    checks.push(if f.dwarf {
        at(&ids::BINARY_DWARF)
            .fail("DWARF debug info is shipped: -ldflags=-w drops it (keep an unstripped copy for debugging)")
    } else {
        at(&ids::BINARY_DWARF)
            .pass("no .debug_info section (nor a compressed one): no DWARF debug info")
    });
    checks.push(buildinfo_rule(f, at(&ids::BINARY_BUILDINFO)));
    checks.push(vcs_rule(f, at(&ids::BINARY_VCS)));
    checks.push(match f.setting("-trimpath") {
        Some("true") => {
            at(&ids::BINARY_TRIMPATH).pass("built with -trimpath (build info: -trimpath=true)")
        }
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
    checks.push(match (f.pprof_linked, f.pclntab.present) {
        (true, _) => at(&ids::BINARY_PPROF_LINKED).fail(
            "net/http/pprof is compiled in: serve it only on a loopback/admin listener, never on the public one",
        ),
        // Absence is read from the function table: without one, nothing was seen.
        (false, false) => at(&ids::BINARY_PPROF_LINKED).skip(
            "not evaluated: no Go function table (pclntab) was read, so whether net/http/pprof \
             is compiled in cannot be seen",
        ),
        (false, true) => at(&ids::BINARY_PPROF_LINKED).pass(match f.pclntab.functions {
            Some(n) => format!("none of the {n} functions in the pclntab is net/http/pprof's"),
            None => "no net/http/pprof function in the pclntab".to_string(),
        }),
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
        return check.pass("statically linked: no PT_INTERP, no DT_NEEDED entry");
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
        (Some(m), Some(rev)) => check.pass(format!(
            "built from a clean checkout at {rev} (build info: vcs.modified={m})"
        )),
        _ => check.skip("no VCS stamp (built outside a repository, or with -buildvcs=false)"),
    }
}

#[cfg(test)]
mod tests {
    //! A pass needs its evidence (docs/checks.md): each rule fed facts that lack what it
    //! judges is not a pass, and a pass says what was read.
    use super::*;
    use crate::inspect::facts::{BuildInfo, Module, PclntabFacts, VersionEvidence};
    use crate::model::Status;

    /// An ELF Go binary as the inspector reads one: a pclntab, build info, clean VCS stamp.
    fn go_binary() -> BinaryFacts {
        let settings = [
            ("-trimpath", "true"),
            ("vcs", "git"),
            ("vcs.revision", "0123abcd"),
            ("vcs.modified", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        BinaryFacts {
            path: "svc".into(),
            format: Format::Elf,
            arch: "amd64".into(),
            goos: Some("linux".into()),
            size: 4 << 20,
            linkage: Linkage::Static,
            interpreter: None,
            needed: vec![],
            libc: None,
            symbols_stripped: true,
            dwarf: false,
            pclntab: PclntabFacts {
                present: true,
                version: Some("1.20".into()),
                functions: Some(4321),
            },
            buildinfo: Some(BuildInfo {
                go_version: "go1.26.0".into(),
                path: "example.com/svc".into(),
                main: Some(Module {
                    path: "example.com/svc".into(),
                    version: "v1.2.3".into(),
                    ..Module::default()
                }),
                deps: vec![],
                settings,
            }),
            buildinfo_error: None,
            pie: Some(false),
            relro: None,
            nx: None,
            cgo: Some(false),
            pprof_linked: false,
            version_vars: Default::default(),
            expected_version: None,
            slices: vec![],
        }
    }

    fn check(f: &BinaryFacts, id: &str) -> Check {
        evaluate(f, &RuleOptions::default())
            .into_iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id} check"))
    }

    #[test]
    fn pprof_linked_pass_needs_a_function_table() {
        let f = go_binary();
        let c = check(&f, "binary.pprof_linked");
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(c.message.contains("4321 functions"), "{}", c.message);
        let mut no_table = go_binary();
        no_table.pclntab = PclntabFacts::default();
        let c = check(&no_table, "binary.pprof_linked");
        assert_eq!(c.status, Status::Skip, "{}", c.message);
    }

    #[test]
    fn go_pass_says_only_what_was_read() {
        let c = check(&go_binary(), "binary.go");
        assert!(
            c.message.contains("go1.26.0") && c.message.contains("pclntab 1.20 with 4321"),
            "{}",
            c.message
        );
        let mut only_buildinfo = go_binary();
        only_buildinfo.pclntab = PclntabFacts::default();
        let c = check(&only_buildinfo, "binary.go");
        assert!(
            c.message.contains("no Go function table") && !c.message.contains("0 functions"),
            "{}",
            c.message
        );
        let mut neither = go_binary();
        neither.pclntab = PclntabFacts::default();
        neither.buildinfo = None;
        assert_ne!(check(&neither, "binary.go").status, Status::Pass);
    }

    #[test]
    fn buildinfo_vcs_trimpath_passes_need_build_info() {
        let f = go_binary();
        let c = check(&f, "binary.buildinfo");
        assert!(
            c.message
                .contains("example.com/svc v1.2.3 built with go1.26.0")
        );
        let c = check(&f, "binary.vcs");
        assert!(
            c.message.contains("0123abcd") && c.message.contains("vcs.modified=false"),
            "{}",
            c.message
        );
        assert_eq!(check(&f, "binary.trimpath").status, Status::Pass);
        // Only the function table: build info facts are absent.
        let mut bare = go_binary();
        bare.buildinfo = None;
        for id in ["binary.buildinfo", "binary.vcs", "binary.trimpath"] {
            assert_ne!(check(&bare, id).status, Status::Pass, "{id}");
        }
    }

    #[test]
    fn static_pass_needs_an_elf_without_loader_or_libraries() {
        let f = go_binary();
        let c = check(&f, "binary.static");
        assert_eq!(c.status, Status::Pass);
        assert!(
            c.message.contains("no PT_INTERP, no DT_NEEDED"),
            "{}",
            c.message
        );
        let mut pe = go_binary();
        pe.format = Format::Pe;
        assert_ne!(check(&pe, "binary.static").status, Status::Pass);
    }

    #[test]
    fn version_and_pie_passes_need_their_facts() {
        let f = go_binary();
        assert_ne!(check(&f, "binary.version").status, Status::Pass);
        let mut unknown = go_binary();
        unknown.pie = None;
        assert_ne!(check(&unknown, "binary.pie").status, Status::Pass);
        let mut found = go_binary();
        found.expected_version = Some(VersionEvidence {
            expected: "v1.2.3".into(),
            found: true,
            evidence: "symbol main.Version".into(),
        });
        let c = check(&found, "binary.version");
        assert_eq!(c.status, Status::Pass);
        assert!(c.message.contains("symbol main.Version"), "{}", c.message);
    }

    #[test]
    fn readable_pass_needs_parsed_bytes() {
        let err = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        assert_eq!(unreadable("svc", &err).status, Status::Error);
        let bad = InspectError::NotObject("a text file".into());
        assert_eq!(unparsable("svc", &bad).status, Status::Error);
        let c = check(&go_binary(), "binary.readable");
        assert_eq!(c.status, Status::Pass);
        assert_eq!(c.message, "elf linux/amd64 binary, 4.0 MiB");
    }

    #[test]
    fn stripped_and_dwarf_passes_name_what_was_read() {
        let f = go_binary();
        assert!(
            check(&f, "binary.stripped")
                .message
                .contains("defines no symbols")
        );
        assert!(
            check(&f, "binary.dwarf")
                .message
                .contains("no .debug_info section")
        );
        assert!(
            check(&f, "binary.readable")
                .message
                .contains("elf linux/amd64")
        );
    }
}
