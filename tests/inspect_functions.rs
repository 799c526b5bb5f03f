//! Every Go function name a binary holds (`inspect::functions`): the pclntab's function table
//! and the inline trees, read from real Go binaries built here for several targets, each
//! unstripped and stripped (`-s -w`). Cross-checked against Go's own readers: debug/gosym for
//! the function table, the DWARF inlined subroutines (debug/dwarf) for the inline trees, and
//! the compiler's `-m` report for what was inlined.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use common::*;
use goready::inspect::functions::{
    FunctionsError, GoFunctions, How, InlineTrees, Lookup, go_functions, go_functions_with,
};
use object::{Object, ObjectSegment};

const SRC: &str = "tests/fixtures/inlined";

/// Inlined at their only call sites; the linker keeps no standalone copy of them.
const INLINED: [&str; 2] = [
    "example.com/inlined/shape.Area",
    "example.com/inlined/shape.(*Box).Perimeter",
];
/// `//go:noinline`: stays in the function table.
const KEPT: &str = "example.com/inlined/shape.Kept";

macro_rules! twins {
    ($($name:literal, $goos:literal, $goarch:literal, [$($flag:literal),*];)*) => {
        &[$(
            Spec { name: $name, src: SRC, goos: $goos, goarch: $goarch, cgo: false,
                   flags: &[$($flag),*] },
            Spec { name: concat!($name, "-sw"), src: SRC, goos: $goos, goarch: $goarch,
                   cgo: false, flags: &[$($flag,)* "-ldflags=-s -w"] },
        )*]
    };
}

/// Each target twice: as built, and stripped the way GoReleaser does by default.
const TWINS: &[Spec] = twins![
    "inl-linux-amd64", "linux", "amd64", [];
    "inl-linux-amd64-pie", "linux", "amd64", ["-buildmode=pie"];
    "inl-linux-arm64", "linux", "arm64", [];
    "inl-linux-386", "linux", "386", [];
    "inl-linux-arm", "linux", "arm", [];
    "inl-linux-ppc64", "linux", "ppc64", [];
    "inl-windows-amd64", "windows", "amd64", [];
    "inl-windows-386", "windows", "386", [];
    "inl-darwin-arm64", "darwin", "arm64", [];
];

/// Every twin, built once per test process, two builds at a time.
fn built() -> &'static Vec<(Spec, PathBuf)> {
    static ALL: OnceLock<Vec<(Spec, PathBuf)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let queue = Mutex::new(TWINS.iter().collect::<Vec<_>>());
        let done = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while let Some(spec) = queue.lock().unwrap().pop() {
                        let path = build(spec);
                        done.lock().unwrap().push((spec.clone(), path));
                    }
                });
            }
        });
        let mut all = done.into_inner().unwrap();
        all.sort_by_key(|(s, _)| s.name);
        all
    })
}

fn path_of(name: &str) -> PathBuf {
    built()
        .iter()
        .find(|(s, _)| s.name == name)
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// The unstripped twins.
fn unstripped() -> impl Iterator<Item = &'static (Spec, PathBuf)> {
    built().iter().filter(|(s, _)| !s.name.ends_with("-sw"))
}

fn functions(path: &std::path::Path) -> GoFunctions {
    let data = std::fs::read(path).unwrap();
    go_functions(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn lines(out: &str) -> Vec<String> {
    out.lines().map(str::to_string).collect()
}

#[test]
fn the_compiler_inlines_the_fixture_functions_at_their_call_sites() {
    // The premise of every other test here, from the compiler's own report.
    let out = run_ok(
        Command::new("go")
            .current_dir(repo().join(SRC))
            .args(["build", "-gcflags=example.com/inlined/...=-m", "-o"])
            .arg(fixture_dir().join("inl-gcflags-m"))
            .arg(".")
            .env("CGO_ENABLED", "0")
            .env("GOFLAGS", "")
            .env("GOTOOLCHAIN", "local"),
    );
    let report = String::from_utf8_lossy(&out.stderr);
    for call in [
        "inlining call to shape.Area",
        "inlining call to shape.(*Box).Perimeter",
    ] {
        assert!(report.contains(call), "no {call:?} in:\n{report}");
    }
    assert!(
        !report.contains("inlining call to shape.Kept"),
        "Kept must stay a call:\n{report}"
    );
}

#[test]
fn an_inlined_function_is_found_in_the_inline_trees_of_every_target() {
    for (spec, path) in built() {
        let f = functions(path);
        for name in INLINED {
            assert!(
                !f.names.iter().any(|n| n == name),
                "{}: {name} has a standalone copy, the fixture proves nothing",
                spec.name
            );
            assert!(
                f.inlined.iter().any(|n| n == name),
                "{}: {name} not found in the inline trees ({:?})",
                spec.name,
                f.inline_trees
            );
            assert!(f.all_names().contains(name), "{}", spec.name);
        }
        assert!(f.names.iter().any(|n| n == KEPT), "{}", spec.name);
        assert!(!f.inlined.iter().any(|n| n == KEPT), "{}", spec.name);
        match f.inline_trees {
            InlineTrees::Read {
                trees,
                calls,
                unreadable,
            } => {
                assert_eq!(unreadable, 0, "{}", spec.name);
                assert!(
                    trees > 100 && calls >= trees,
                    "{}: {trees} {calls}",
                    spec.name
                );
            }
            InlineTrees::NotFound(why) => panic!("{}: {why}", spec.name),
        }
    }
}

#[test]
fn a_stripped_twin_gives_exactly_the_names_of_the_unstripped_one() {
    for (spec, path) in unstripped() {
        let stripped_path = path_of(&format!("{}-sw", spec.name));
        let data = std::fs::read(&stripped_path).unwrap();
        let facts = goready::inspect::inspect_bytes("sw", &data, &Default::default()).unwrap();
        assert!(facts.symbols_stripped, "{}-sw keeps symbols", spec.name);
        let full = functions(path);
        let stripped = go_functions(&data).unwrap();
        assert_eq!(full.found_by, Some(How::Symbol), "{}", spec.name);
        assert_eq!(stripped.found_by, Some(How::Scan), "{}-sw", spec.name);
        assert_eq!(full.names, stripped.names, "{}", spec.name);
        assert_eq!(full.inlined, stripped.inlined, "{}", spec.name);
        assert!(matches!(
            stripped.inline_trees,
            InlineTrees::Read { unreadable: 0, .. }
        ));
    }
}

#[test]
fn the_moduledata_scan_finds_the_go_func_symbol_address() {
    // On an unstripped binary both ways are available: the scan must land where the symbol
    // table says go:func.* is.
    for (spec, path) in unstripped() {
        let data = std::fs::read(path).unwrap();
        let by_symbol = go_functions(&data).unwrap();
        let by_scan = go_functions_with(&data, Lookup::ScanOnly).unwrap();
        assert_eq!(by_symbol.found_by, Some(How::Symbol), "{}", spec.name);
        assert_eq!(by_scan.found_by, Some(How::Scan), "{}", spec.name);
        assert!(by_symbol.gofunc.is_some());
        assert_eq!(by_scan.gofunc, by_symbol.gofunc, "{}", spec.name);
        assert!(by_scan.moduledata.is_some() && by_symbol.moduledata.is_none());
        assert_eq!(
            by_scan,
            GoFunctions {
                found_by: Some(How::Scan),
                moduledata: by_scan.moduledata,
                ..by_symbol
            }
        );
    }
}

#[test]
fn the_function_table_matches_debug_gosym_name_for_name() {
    let oracle = gosymcheck();
    for (spec, path) in unstripped() {
        let want = lines(&tool(oracle.to_str().unwrap(), &["-funcs"], path));
        let f = functions(path);
        assert!(want.len() > 1000, "{}: {}", spec.name, want.len());
        assert_eq!(f.names, want, "{}", spec.name);
    }
}

#[test]
fn the_inline_trees_name_what_dwarf_shows_inlined() {
    // DWARF's DW_TAG_inlined_subroutine entries come from the same compiler inlining
    // decisions as FUNCDATA_InlTree: the functions seen only inlined must be the same set.
    let oracle = gosymcheck();
    for (spec, path) in unstripped() {
        let dwarf: BTreeSet<String> = lines(&tool(oracle.to_str().unwrap(), &["-inlined"], path))
            .into_iter()
            .collect();
        let f = functions(path);
        let table: BTreeSet<&String> = f.names.iter().collect();
        let want: Vec<&String> = dwarf.iter().filter(|n| !table.contains(n)).collect();
        let got: Vec<&String> = f.inlined.iter().collect();
        assert!(want.len() > 500, "{}: {}", spec.name, want.len());
        assert_eq!(got, want, "{}", spec.name);
    }
}

/// Zeroes every `R_*_RELATIVE` target of an ELF file, as lld leaves RELA pointers by default
/// (`--no-apply-dynamic-relocs`): the values then live only in the relocations' addends.
fn zero_relative_targets(data: &mut [u8]) -> usize {
    let file = object::File::parse(&*data).unwrap();
    let segments: Vec<(u64, u64, u64)> = file
        .segments()
        .map(|s| (s.address(), s.file_range().0, s.file_range().1))
        .collect();
    let targets: Vec<usize> = file
        .dynamic_relocations()
        .unwrap()
        .filter(|(_, r)| {
            matches!(r.flags(), object::RelocationFlags::Elf { r_type }
                if r_type == object::elf::R_X86_64_RELATIVE)
        })
        .filter_map(|(addr, _)| {
            segments
                .iter()
                .find(|&&(va, _, size)| addr >= va && addr - va < size)
                .map(|&(va, off, _)| (off + addr - va) as usize)
        })
        .collect();
    for &at in &targets {
        data[at..at + 8].fill(0);
    }
    targets.len()
}

#[test]
fn a_pie_whose_pointers_live_only_in_relocations_is_read_through_them() {
    let path = path_of("inl-linux-amd64-pie-sw");
    let original = std::fs::read(&path).unwrap();
    let mut data = original.clone();
    let zeroed = zero_relative_targets(&mut data);
    assert!(zeroed > 1000, "only {zeroed} relative relocations");
    assert_ne!(data, original);
    let want = go_functions(&original).unwrap();
    let got = go_functions(&data).unwrap();
    assert_eq!(got.found_by, Some(How::Scan));
    assert_eq!(got.gofunc, want.gofunc);
    assert_eq!(got.names, want.names);
    assert_eq!(got.inlined, want.inlined);
}

/// The file offset that backs `addr` in an object file.
fn file_offset(data: &[u8], addr: u64) -> usize {
    let file = object::File::parse(data).unwrap();
    file.segments()
        .find_map(|s| {
            let (off, size) = s.file_range();
            (addr >= s.address() && addr - s.address() < size)
                .then(|| (off + addr - s.address()) as usize)
        })
        .unwrap()
}

#[test]
fn corrupt_moduledata_and_inline_trees_never_panic_and_never_invent_a_base() {
    for name in [
        "inl-linux-amd64-sw",
        "inl-linux-ppc64-sw",
        "inl-windows-386-sw",
        "inl-darwin-arm64-sw",
    ] {
        let data = std::fs::read(path_of(name)).unwrap();
        let good = go_functions(&data).unwrap();
        let moduledata = good.moduledata.expect("found by scan");
        let md = file_offset(&data, moduledata);
        let trees = file_offset(&data, good.gofunc.unwrap());
        let ptr = if name.contains("386") { 4 } else { 8 };
        // The lowest and highest byte of each of the moduledata's first 42 words.
        let bytes = (0..42).flat_map(|w| [md + w * ptr, md + w * ptr + ptr - 1]);
        for at in bytes {
            for value in [0x00u8, 0xff] {
                let mut bad = data.clone();
                if bad[at] == value {
                    continue;
                }
                bad[at] = value;
                let f = go_functions(&bad).unwrap();
                // The function table does not depend on the moduledata.
                assert_eq!(f.names, good.names, "{name} byte {at:#x}");
                // A damaged record is rejected or still yields the right base; never a wrong
                // one that decodes into other names.
                if f.found_by == Some(How::Scan) && f.gofunc != good.gofunc {
                    panic!(
                        "{name}: byte {at:#x} = {value:#x} gave gofunc {:x?}",
                        f.gofunc
                    );
                }
            }
        }
        // Random damage in go:func.* (the inline trees) and at its edges.
        for seed in 1..50u64 {
            let mut bad = data.clone();
            let n = noise(seed, 16);
            let at = trees + (u64::from_le_bytes(n[..8].try_into().unwrap()) as usize % 65536);
            if at + 8 <= bad.len() {
                bad[at..at + 8].copy_from_slice(&n[8..16]);
            }
            let f = go_functions(&bad).unwrap();
            assert_eq!(f.names, good.names, "{name} seed {seed}");
        }
        // Truncated just after each part the reader touches.
        for cut in [
            md,
            md + 8 * ptr,
            trees,
            trees + 16,
            trees + 4096,
            data.len() - 1,
        ] {
            let _ = go_functions(&data[..cut.min(data.len())]);
        }
    }
}

#[test]
fn inputs_that_are_not_go_binaries_get_clear_errors() {
    assert!(matches!(
        go_functions(b""),
        Err(FunctionsError::NotObject(_))
    ));
    assert!(matches!(
        go_functions(b"#!/bin/sh\necho hi\n"),
        Err(FunctionsError::NotObject(_))
    ));
    // A real executable that is not Go.
    let sh = std::fs::read("/bin/sh").unwrap();
    assert_eq!(go_functions(&sh), Err(FunctionsError::NoPclntab));
    assert_eq!(
        FunctionsError::NoPclntab.to_string(),
        "no Go function table (pclntab) found"
    );
}

#[test]
fn a_go_1_17_binary_is_read_with_absolute_funcdata_pointers() {
    // Go's own test data: a Go 1.17 linux/amd64 hello world (debug/buildinfo keeps it
    // base64-encoded). Its funcdata are addresses, not go:func.* offsets; no toolchain here
    // can build one.
    let encoded = std::path::Path::new(&go_env("GOROOT"))
        .join("src/debug/buildinfo/testdata/go117/go117.base64");
    let out = run_ok(Command::new("base64").arg("-d").arg(&encoded));
    let path = fixture_dir().join("go117");
    std::fs::write(&path, &out.stdout).unwrap();
    let f = go_functions(&out.stdout).unwrap();
    assert_eq!(f.version.as_str(), "1.16");
    assert_eq!(f.found_by, Some(How::Absolute));
    assert_eq!(f.gofunc, None);
    assert!(matches!(
        f.inline_trees,
        InlineTrees::Read { unreadable: 0, trees, .. } if trees > 100
    ));
    let oracle = gosymcheck();
    let want = lines(&tool(oracle.to_str().unwrap(), &["-funcs"], &path));
    assert_eq!(f.names, want);
    let table: BTreeSet<&String> = f.names.iter().collect();
    let dwarf = lines(&tool(oracle.to_str().unwrap(), &["-inlined"], &path));
    let want: Vec<&String> = dwarf.iter().filter(|n| !table.contains(n)).collect();
    assert!(want.len() > 100, "{}", want.len());
    assert_eq!(f.inlined.iter().collect::<Vec<_>>(), want);
}
