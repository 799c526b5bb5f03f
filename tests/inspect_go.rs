//! `goready inspect` against real Go binaries built by the local toolchain for several
//! GOOS/GOARCH/CGO targets, cross-checked with the reference tools: `go version -m`,
//! `readelf`, llvm's Mach-O/PE readers and Go's own debug/gosym.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use goready::inspect::{self, BinaryFacts, Format, Linkage, Options, Relro};

fn facts(path: &Path) -> BinaryFacts {
    facts_with(path, &Options::default())
}

fn facts_with(path: &Path, opts: &Options) -> BinaryFacts {
    inspect::inspect_path(path, opts)
        .expect("readable")
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (path, version, sum) of a module line.
type ModLine = (String, String, String);

/// `go version -m`, parsed independently of goready's own modinfo parser.
#[derive(Debug, Default, PartialEq)]
struct GoVersionM {
    go: String,
    path: String,
    main: Option<ModLine>,
    deps: Vec<(String, String, String, Option<ModLine>)>,
    settings: BTreeMap<String, String>,
}

fn unquote_simple(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            assert!(
                !inner.replace("\\\\", "").replace("\\\"", "").contains('\\'),
                "fixture values use only \\\\ and \\\" escapes: {v}"
            );
            inner.replace("\\\"", "\"").replace("\\\\", "\\")
        }
        None => v.to_string(),
    }
}

fn go_version_m(path: &Path) -> GoVersionM {
    let text = tool("go", &["version", "-m"], path);
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    let mut out = GoVersionM {
        go: first.rsplit_once(": ").unwrap().1.to_string(),
        ..Default::default()
    };
    for line in lines {
        let cols: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        let triple = |c: &[&str]| {
            (
                c[1].to_string(),
                c[2].to_string(),
                c.get(3).copied().unwrap_or("").to_string(),
            )
        };
        match cols[0] {
            "path" => out.path = cols[1].to_string(),
            "mod" => out.main = Some(triple(&cols)),
            "dep" => {
                let (p, v, s) = triple(&cols);
                out.deps.push((p, v, s, None));
            }
            "=>" => out.deps.last_mut().unwrap().3 = Some(triple(&cols)),
            "build" => {
                let (k, v) = cols[1].split_once('=').unwrap();
                out.settings.insert(unquote_simple(k), unquote_simple(v));
            }
            other => panic!("unexpected go version -m line {other:?}"),
        }
    }
    out
}

fn assert_buildinfo_matches_go(path: &Path, f: &BinaryFacts) {
    let want = go_version_m(path);
    let got = f
        .buildinfo
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no buildinfo", path.display()));
    assert_eq!(got.go_version, want.go, "{}", path.display());
    assert_eq!(got.path, want.path, "{}", path.display());
    assert_eq!(
        got.main
            .as_ref()
            .map(|m| (m.path.clone(), m.version.clone(), m.sum.clone())),
        want.main,
        "{}",
        path.display()
    );
    let deps: Vec<_> = got
        .deps
        .iter()
        .map(|d| {
            let r = d
                .replace
                .as_ref()
                .map(|r| (r.path.clone(), r.version.clone(), r.sum.clone()));
            (d.path.clone(), d.version.clone(), d.sum.clone(), r)
        })
        .collect();
    assert_eq!(deps, want.deps, "{}", path.display());
    assert_eq!(got.settings, want.settings, "{}", path.display());
}

fn gosym(path: &Path) -> (u64, bool) {
    let out = tool(gosymcheck().to_str().unwrap(), &[], path);
    let mut functions = 0;
    let mut pprof = false;
    for line in out.lines() {
        match line.split_once(' ') {
            Some(("functions", n)) => functions = n.parse().unwrap(),
            Some(("pprof", b)) => pprof = b == "true",
            _ => {}
        }
    }
    (functions, pprof)
}

#[test]
fn buildinfo_of_every_fixture_matches_go_version_m_field_by_field() {
    for (spec, path) in fixtures() {
        let f = facts(path);
        assert_buildinfo_matches_go(path, &f);
        // The vulnerability scan's reader of the build info alone gives the same.
        let alone = inspect::build_info_bytes(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(alone.buildinfo, f.buildinfo, "{}", spec.name);
        assert!(alone.is_go, "{}", spec.name);
        assert_eq!(f.goos.as_deref(), Some(spec.goos), "{}", spec.name);
        assert_eq!(f.arch, spec.goarch, "{}", spec.name);
        assert_eq!(f.cgo, Some(spec.cgo), "{}", spec.name);
        assert_eq!(f.setting("GOARCH"), Some(spec.goarch));
    }
}

#[test]
fn pclntab_and_pprof_agree_with_go_debug_gosym() {
    for (spec, path) in fixtures() {
        let f = facts(path);
        assert!(f.pclntab.present, "{}", spec.name);
        assert_eq!(f.pclntab.version.as_deref(), Some("1.20"), "{}", spec.name);
        let expect_pprof = spec.src.contains("hello-svc");
        assert_eq!(f.pprof_linked, expect_pprof, "{}", spec.name);
        // The oracle needs runtime.pclntab symbols on PE, which -s removes.
        if spec.goos == "windows" && f.symbols_stripped {
            continue;
        }
        let (functions, pprof) = gosym(path);
        assert_eq!(f.pclntab.functions, Some(functions), "{}", spec.name);
        assert_eq!(f.pprof_linked, pprof, "{}", spec.name);
    }
}

#[test]
fn static_linux_build_facts_match_readelf() {
    let path = fixture("hello-linux-amd64");
    let f = facts(&path);
    assert_eq!(f.format, Format::Elf);
    assert_eq!(f.linkage, Linkage::Static);
    assert_eq!(f.interpreter, None);
    assert!(f.needed.is_empty());
    assert_eq!(f.libc, None);
    assert!(!f.symbols_stripped);
    assert!(f.dwarf);
    assert_eq!(f.pie, Some(false));
    assert_eq!(f.relro, Some(Relro::None));
    assert_eq!(
        f.version_vars.get("main.Version").map(String::as_str),
        Some("1.2.3")
    );
    assert_eq!(f.size, std::fs::metadata(&path).unwrap().len());
    assert_elf_matches_readelf(&path, &f);
}

/// Compares every ELF fact with what binutils' readelf prints.
fn assert_elf_matches_readelf(path: &Path, f: &BinaryFacts) {
    let program = tool("readelf", &["-lW"], path);
    let dynamic = tool("readelf", &["-dW"], path);
    let sections = tool("readelf", &["-SW"], path);
    let header = tool("readelf", &["-hW"], path);
    let interp = program
        .lines()
        .find_map(|l| l.trim().strip_prefix("[Requesting program interpreter: "))
        .map(|s| s.trim_end_matches(']').to_string());
    assert_eq!(f.interpreter, interp, "{}", path.display());
    let needed: Vec<String> = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .map(|l| {
            l.split('[')
                .nth(1)
                .unwrap()
                .trim_end_matches(']')
                .to_string()
        })
        .collect();
    assert_eq!(f.needed, needed, "{}", path.display());
    assert_eq!(
        f.symbols_stripped,
        !sections.contains(" .symtab "),
        "{}",
        path.display()
    );
    let dwarf = sections.contains(" .debug_info ") || sections.contains(" .zdebug_info ");
    assert_eq!(f.dwarf, dwarf, "{}", path.display());
    let is_dyn = header
        .lines()
        .any(|l| l.trim().starts_with("Type:") && l.contains("DYN"));
    assert_eq!(
        f.pie,
        Some(is_dyn && (interp.is_some() || dynamic.contains("PIE")))
    );
    let relro_seg = program.contains("GNU_RELRO");
    let bind_now = dynamic.contains("BIND_NOW") || dynamic.contains("Flags: NOW");
    let relro = match (relro_seg, bind_now) {
        (true, true) => Relro::Full,
        (true, false) => Relro::Partial,
        _ => Relro::None,
    };
    assert_eq!(f.relro, Some(relro), "{}", path.display());
    let stack = program
        .lines()
        .find(|l| l.trim_start().starts_with("GNU_STACK"));
    let nx = stack.is_some_and(|l| {
        !l.split_whitespace()
            .any(|w| w.contains('E') && w.len() <= 3 && w.starts_with('R'))
    });
    assert_eq!(f.nx, Some(nx), "{}", path.display());
    let linkage = if interp.is_some() || !needed.is_empty() {
        Linkage::Dynamic
    } else {
        Linkage::Static
    };
    assert_eq!(f.linkage, linkage);
}

#[test]
fn every_linux_fixture_matches_readelf() {
    for (spec, path) in fixtures().iter().filter(|(s, _)| s.goos == "linux") {
        let f = facts(path);
        assert_eq!(f.format, Format::Elf, "{}", spec.name);
        assert_elf_matches_readelf(path, &f);
    }
}

#[test]
fn cgo_build_links_glibc_dynamically() {
    let f = facts(&fixture("hello-linux-amd64-cgo"));
    assert_eq!(f.linkage, Linkage::Dynamic);
    assert!(f.interpreter.as_deref().unwrap().contains("ld-linux"));
    assert!(f.needed.iter().any(|n| n == "libc.so.6"), "{:?}", f.needed);
    assert_eq!(f.libc.as_deref(), Some("glibc"));
    assert_eq!(f.cgo, Some(true));
}

#[test]
fn stripped_trimpath_build_keeps_pclntab_and_the_version_in_its_data() {
    let path = fixture("hello-linux-amd64-sw-trimpath");
    let opts = Options {
        expect_version: Some("1.2.3".into()),
        ..Options::default()
    };
    let f = facts_with(&path, &opts);
    assert!(f.symbols_stripped);
    assert!(!f.dwarf);
    assert!(f.version_vars.is_empty(), "no symbol table to resolve them");
    assert_eq!(f.setting("-trimpath"), Some("true"));
    // With -trimpath, Go leaves -ldflags out of the build info: the data is the only witness.
    assert_eq!(f.setting("-ldflags"), None);
    let v = f.expected_version.unwrap();
    assert!(v.found, "{v:?}");
    assert!(v.evidence.contains("string header"), "{}", v.evidence);
    assert!(f.pclntab.present && f.pclntab.functions.unwrap() > 1000);
    assert!(
        f.pprof_linked,
        "pprof is found in the pclntab of a stripped binary"
    );

    let missing = facts_with(
        &path,
        &Options {
            expect_version: Some("9.9.9-not-there".into()),
            ..Options::default()
        },
    );
    assert!(!missing.expected_version.unwrap().found);
}

#[test]
fn pie_build_is_dynamic_with_partial_relro() {
    let f = facts(&fixture("hello-linux-amd64-pie"));
    assert_eq!(f.pie, Some(true));
    assert_eq!(
        f.linkage,
        Linkage::Dynamic,
        "a PIE with an interpreter is dynamic"
    );
    assert!(f.interpreter.is_some());
    assert_eq!(f.relro, Some(Relro::Partial));
    assert_eq!(f.cgo, Some(false));
    assert_eq!(f.setting("-buildmode"), Some("pie"));
    assert_eq!(
        f.version_vars.get("main.Version").map(String::as_str),
        Some("dev")
    );
}

#[test]
fn other_architectures_including_big_endian() {
    let cases = [
        ("hello-linux-arm64", "arm64", Some("2.0.0-arm")),
        ("hello-linux-386", "386", None), // -s: no symbol table to resolve it
        ("plain-linux-arm", "arm", Some("arm-1")),
        ("plain-linux-ppc64", "ppc64", Some("be-1")),
        ("plain-windows-386.exe", "386", Some("dev")),
    ];
    for (name, arch, version) in cases {
        let f = facts(&fixture(name));
        assert_eq!(f.arch, arch, "{name}");
        assert_eq!(
            f.version_vars.get("main.Version").map(String::as_str),
            version,
            "{name}"
        );
    }
    let stripped_386 = facts_with(
        &fixture("hello-linux-386"),
        &Options {
            expect_version: Some("3.0.0".into()),
            ..Options::default()
        },
    );
    assert!(stripped_386.symbols_stripped);
    let v = stripped_386.expected_version.unwrap();
    assert!(
        v.found && v.evidence.contains("string header"),
        "4-byte string headers: {v:?}"
    );
}

fn llvm_out(tool_name: &str, args: &[&str], path: &Path) -> String {
    tool(tool_name, args, path)
}

#[test]
fn darwin_builds_match_llvm_tools() {
    for name in ["hello-darwin-arm64", "hello-darwin-amd64-sw"] {
        let path = fixture(name);
        let f = facts(&path);
        assert_eq!(f.format, Format::Macho);
        assert_eq!(f.goos.as_deref(), Some("darwin"));
        assert_eq!(f.linkage, Linkage::Dynamic);
        assert_eq!(f.libc.as_deref(), Some("libSystem"));
        let dylibs: Vec<String> = llvm_out("llvm-objdump", &["--macho", "--dylibs-used"], &path)
            .lines()
            .skip(1)
            .map(|l| l.trim().split(" (").next().unwrap().to_string())
            .collect();
        assert_eq!(f.needed, dylibs, "{name}");
        let defined = llvm_out("llvm-nm", &["--defined-only"], &path);
        assert_eq!(f.symbols_stripped, defined.trim().is_empty(), "{name}");
        let header = llvm_out("llvm-objdump", &["--macho", "--private-header"], &path);
        assert_eq!(f.pie, Some(header.contains(" PIE")), "{name}");
        let sections = llvm_out("llvm-objdump", &["--section-headers"], &path);
        assert_eq!(f.dwarf, sections.contains("debug_info"), "{name}");
    }
    let unstripped = facts(&fixture("hello-darwin-arm64"));
    assert_eq!(
        unstripped.version_vars["main.Version"], "1.2.3",
        "Mach-O symbols carry a leading _"
    );
}

#[test]
fn windows_builds_match_llvm_readobj() {
    for name in [
        "hello-windows-amd64.exe",
        "hello-windows-amd64-sw.exe",
        "plain-windows-386.exe",
    ] {
        let path = fixture(name);
        let f = facts(&path);
        assert_eq!(f.format, Format::Pe);
        assert_eq!(f.goos.as_deref(), Some("windows"));
        let imports: Vec<String> = llvm_out("llvm-readobj", &["--coff-imports"], &path)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Name: ").map(str::to_string))
            .collect();
        assert_eq!(f.needed, imports, "{name}");
        let headers = llvm_out("llvm-readobj", &["--file-headers"], &path);
        assert_eq!(
            f.nx,
            Some(headers.contains("IMAGE_DLL_CHARACTERISTICS_NX_COMPAT")),
            "{name}"
        );
        assert_eq!(
            f.pie,
            Some(
                headers.contains("IMAGE_DLL_CHARACTERISTICS_DYNAMIC_BASE")
                    && !headers.contains("IMAGE_FILE_RELOCS_STRIPPED")
            ),
            "{name}"
        );
        let sections = llvm_out("llvm-objdump", &["--section-headers"], &path);
        assert_eq!(f.dwarf, sections.contains("debug_info"), "{name}");
        let symbols = llvm_out("llvm-nm", &["--defined-only"], &path);
        assert_eq!(f.symbols_stripped, symbols.trim().is_empty(), "{name}");
    }
}

#[test]
fn universal_macho_lists_each_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let fat = dir.path().join("hello-universal");
    run_ok(
        std::process::Command::new(llvm("llvm-lipo"))
            .arg("-create")
            .arg(fixture("hello-darwin-arm64"))
            .arg(fixture("hello-darwin-amd64-sw"))
            .arg("-output")
            .arg(&fat),
    );
    let f = facts(&fat);
    assert_eq!(f.format, Format::Macho);
    assert_eq!(f.slices.len(), 2);
    let mut arches: Vec<&str> = f.slices.iter().map(|s| s.arch.as_str()).collect();
    arches.sort();
    assert_eq!(arches, ["amd64", "arm64"]);
    let thin_arm = facts(&fixture("hello-darwin-arm64"));
    let slice_arm = f.slices.iter().find(|s| s.arch == "arm64").unwrap();
    assert_eq!(slice_arm.buildinfo, thin_arm.buildinfo);
    assert_eq!(slice_arm.pclntab, thin_arm.pclntab);
    assert!(!slice_arm.symbols_stripped);
    assert!(
        f.slices
            .iter()
            .find(|s| s.arch == "amd64")
            .unwrap()
            .symbols_stripped
    );
    assert!(!f.symbols_stripped, "one slice keeps its symbols");
    // go version -m reads the first slice of a universal file.
    assert_buildinfo_matches_go(&fat, &f.slices[0]);
    // So does the vulnerability scan's reader of the build info alone.
    let alone = inspect::build_info_bytes(&std::fs::read(&fat).unwrap()).unwrap();
    assert_eq!(alone.buildinfo, f.slices[0].buildinfo);

    let checks = inspect::rules::evaluate(&f, &Default::default());
    for arch in ["darwin/arm64", "darwin/amd64"] {
        assert!(
            checks
                .iter()
                .any(|c| c.target.as_deref().unwrap().ends_with(&format!("({arch})"))),
            "a check per slice for {arch}"
        );
    }
}

#[test]
fn go_toolchain_binaries_are_a_second_corpus() {
    let goroot = go_env("GOROOT");
    let mut files = Vec::new();
    for dir in [format!("{goroot}/bin"), format!("{goroot}/pkg/tool")] {
        for entry in walk(Path::new(&dir)) {
            files.push(entry);
        }
    }
    assert!(files.len() >= 8, "found {files:?}");
    for path in &files {
        let f = facts(path);
        assert_buildinfo_matches_go(path, &f);
        let (functions, pprof) = gosym(path);
        assert_eq!(f.pclntab.functions, Some(functions), "{}", path.display());
        assert_eq!(f.pprof_linked, pprof, "{}", path.display());
        if f.format == Format::Elf {
            assert_elf_matches_readelf(path, &f);
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn vcs_stamp_tells_a_dirty_tree_from_a_clean_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("svc");
    std::fs::create_dir(&src).unwrap();
    for file in ["go.mod", "main.go"] {
        std::fs::copy(
            repo().join("tests/fixtures/plain").join(file),
            src.join(file),
        )
        .unwrap();
    }
    let git = |args: &[&str]| {
        run_ok(
            std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args)
                .current_dir(&src),
        )
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "init"]);
    let build = |out: &str| {
        let bin = dir.path().join(out);
        run_ok(
            std::process::Command::new("go")
                // This machine's go env may set GOFLAGS=-buildvcs=false; the flag wins over it.
                .args(["build", "-buildvcs=true", "-o"])
                .arg(&bin)
                .arg(".")
                .current_dir(&src)
                .env("CGO_ENABLED", "0")
                .env("GOFLAGS", ""),
        );
        bin
    };
    let clean = facts(&build("clean"));
    assert_eq!(clean.setting("vcs.modified"), Some("false"));
    assert_eq!(clean.setting("vcs"), Some("git"));
    std::fs::write(src.join("extra.go"), "package main\n\nvar extra = 1\n").unwrap();
    let dirty = facts(&build("dirty"));
    assert_eq!(dirty.setting("vcs.modified"), Some("true"));

    let status = |f: &BinaryFacts| {
        inspect::rules::evaluate(f, &Default::default())
            .into_iter()
            .find(|c| c.id == "binary.vcs")
            .unwrap()
            .status
    };
    assert_eq!(status(&clean), goready::model::Status::Pass);
    assert_eq!(status(&dirty), goready::model::Status::Fail);
}
