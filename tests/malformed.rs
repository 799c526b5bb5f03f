//! Hostile and broken input: the inspector answers every one with facts or a clear error,
//! never a panic or an out-of-bounds read (every offset in a file is untrusted).

mod common;

use std::path::Path;

use common::*;
use goready::inspect::{self, InspectError, Options};
use object::{Object, ObjectSection, ObjectSegment};

fn inspect_bytes(data: &[u8]) -> Result<inspect::BinaryFacts, InspectError> {
    let opts = Options {
        expect_version: Some("1.2.3".into()),
        vars: vec!["main.gitSHA".into()],
    };
    let result = inspect::inspect_bytes("input", data, &opts);
    // The vulnerability scan reads the build info alone: the same answer, or the same error.
    if let Err(why) = inspect::build_info_agrees(&result, &inspect::build_info_bytes(data)) {
        panic!("{why}");
    }
    // Every hostile input here also goes through the function-name reader (pclntab, inline
    // trees, moduledata scan): it too must answer, not panic.
    let _ = inspect::functions::go_functions(data);
    if let Ok(f) = &result {
        // The rules must cope with whatever facts came out.
        let _ = inspect::rules::evaluate(f, &Default::default());
    }
    result
}

#[test]
fn empty_short_and_random_inputs_are_not_objects() {
    assert!(matches!(inspect_bytes(&[]), Err(InspectError::NotObject(m)) if m.contains("empty")));
    assert!(matches!(
        inspect_bytes(b"\x7fEL"),
        Err(InspectError::NotObject(_))
    ));
    for seed in 1..200u64 {
        let data = noise(seed, (seed as usize * 97) % 5000);
        assert!(
            inspect_bytes(&data).is_err(),
            "random bytes #{seed} parsed as a binary"
        );
    }
}

#[test]
fn magic_followed_by_garbage_is_malformed() {
    for magic in [
        &b"\x7fELF\x02\x01\x01"[..],
        b"\x7fELF\x01\x02\x01",
        b"\xcf\xfa\xed\xfe",
        b"\xfe\xed\xfa\xce",
        b"\xca\xfe\xba\xbe",
        b"MZ",
    ] {
        for seed in 1..100u64 {
            let mut data = magic.to_vec();
            data.extend(noise(seed, 64 + seed as usize * 13));
            // A header of random fields is rejected, or at most read as a non-Go object:
            // nothing in it can hold the Go tables the facts are read from.
            match inspect_bytes(&data) {
                Err(_) => {}
                Ok(f) => assert!(
                    !f.is_go(),
                    "magic {magic:02x?} seed {seed}: garbage read as a Go binary"
                ),
            }
        }
    }
}

#[test]
fn a_shell_script_and_a_directory_get_clear_errors() {
    let err = inspect_bytes(b"#!/bin/sh\necho hi\n").unwrap_err();
    assert!(err.to_string().contains("script"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let io = inspect::inspect_path(dir.path(), &Options::default()).unwrap_err();
    assert!(io.to_string().contains("directory"), "{io}");
    let missing = inspect::inspect_path(Path::new("/nonexistent/x"), &Options::default());
    assert!(missing.is_err());
}

#[test]
fn a_non_go_elf_is_inspected_but_not_go() {
    let f = inspect_bytes(&std::fs::read("/bin/ls").unwrap()).unwrap();
    assert!(!f.is_go());
    assert!(f.buildinfo.is_none());
    assert!(!f.pclntab.present);
    assert_eq!(f.libc.as_deref(), Some("glibc"));
    let checks = inspect::rules::evaluate(&f, &Default::default());
    let go = checks.iter().find(|c| c.id == "binary.go").unwrap();
    assert_eq!(go.status, goready::model::Status::Skip);
}

/// Every offset where a header, load command, section or segment starts or ends.
fn boundaries(data: &[u8]) -> Vec<usize> {
    let mut cuts = vec![
        0, 1, 4, 16, 20, 24, 32, 52, 64, 0x40, 0x80, 0x100, 0x200, 0x1000,
    ];
    if let Ok(file) = object::File::parse(data) {
        for s in file.sections() {
            if let Some((off, size)) = s.file_range() {
                cuts.extend([off as usize, (off + size) as usize]);
            }
        }
        for s in file.segments() {
            let (off, size) = s.file_range();
            cuts.extend([off as usize, (off + size) as usize]);
        }
    }
    // ELF program and section header tables.
    if data.starts_with(b"\x7fELF") && data[4] == 2 {
        let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap()) as usize;
        let u16_at = |o: usize| u16::from_le_bytes(data[o..o + 2].try_into().unwrap()) as usize;
        let (phoff, shoff) = (u64_at(0x20), u64_at(0x28));
        let (phentsize, phnum, shentsize, shnum) =
            (u16_at(0x36), u16_at(0x38), u16_at(0x3a), u16_at(0x3c));
        cuts.extend((0..=phnum).map(|i| phoff + i * phentsize));
        cuts.extend((0..=shnum).map(|i| shoff + i * shentsize));
    }
    // Mach-O load commands.
    if data.starts_with(b"\xcf\xfa\xed\xfe") {
        let ncmds = u32::from_le_bytes(data[16..20].try_into().unwrap()) as usize;
        let mut at = 32;
        for _ in 0..ncmds {
            cuts.push(at);
            at += u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap()) as usize;
        }
        cuts.push(at);
    }
    // PE: DOS header, NT headers, section table.
    if data.starts_with(b"MZ") {
        let nt = u32::from_le_bytes(data[0x3c..0x40].try_into().unwrap()) as usize;
        let nsections = u16::from_le_bytes(data[nt + 6..nt + 8].try_into().unwrap()) as usize;
        let opt_size = u16::from_le_bytes(data[nt + 20..nt + 22].try_into().unwrap()) as usize;
        let table = nt + 24 + opt_size;
        cuts.extend([nt, nt + 4, nt + 24, table]);
        cuts.extend((0..=nsections).map(|i| table + i * 40));
    }
    let mut all: Vec<usize> = cuts
        .into_iter()
        .flat_map(|c| [c.saturating_sub(1), c, c + 1])
        .filter(|&c| c <= data.len())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

#[test]
fn truncation_at_every_header_boundary_of_real_binaries() {
    for name in [
        "plain-linux-amd64",
        "hello-darwin-amd64-sw",
        "plain-windows-386.exe",
        "plain-linux-ppc64",
    ] {
        let data = std::fs::read(fixture(name)).unwrap();
        let cuts = boundaries(&data);
        assert!(cuts.len() > 40, "{name}: only {} boundaries", cuts.len());
        for cut in cuts {
            let result = inspect_bytes(&data[..cut]);
            if cut < 16 {
                assert!(result.is_err(), "{name} cut at {cut}");
            }
        }
    }
}

#[test]
fn corrupted_header_fields_never_panic() {
    for name in [
        "plain-linux-amd64",
        "hello-darwin-amd64-sw",
        "plain-windows-386.exe",
    ] {
        let data = std::fs::read(fixture(name)).unwrap();
        let cuts = boundaries(&data);
        for (i, &at) in cuts.iter().enumerate() {
            for (k, value) in [0x00u8, 0xff, 0x7f, 0x80].into_iter().enumerate() {
                let mut bad = data.clone();
                // Overwrite a few bytes at and after the boundary: offsets, sizes, counts.
                for j in 0..8 {
                    if let Some(b) = bad.get_mut(at + j * ((i + k) % 3 + 1)) {
                        *b = value;
                    }
                }
                let _ = inspect_bytes(&bad);
            }
        }
    }
}

#[test]
fn every_fixture_still_inspects_after_random_corruption_of_go_tables() {
    // Corrupt bytes inside the buildinfo blob and the pclntab of a real binary.
    let data = std::fs::read(fixture("plain-linux-amd64")).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let mut targets = Vec::new();
    for name in [".go.buildinfo", ".gopclntab"] {
        let (off, size) = file.section_by_name(name).unwrap().file_range().unwrap();
        targets.push((off as usize, size.min(4096) as usize));
    }
    for (seed, &(off, size)) in (1u64..).zip(targets.iter().cycle().take(200)) {
        let mut bad = data.clone();
        let n = noise(seed, 16);
        let at = off + (u64::from_le_bytes(n[..8].try_into().unwrap()) as usize % size);
        bad[at..at + 8].copy_from_slice(&n[8..16]);
        let _ = inspect_bytes(&bad);
    }
}

/// Found by `cargo fuzz` (fuzz/): a Mach-O header followed by a pclntab whose function offset
/// is near `usize::MAX`, so `offset + 4` overflowed in the function-name lookup.
const FUZZ_CRASH_PCLNTAB_OFFSET_OVERFLOW: &[&str] = &[
    "cffaedfe0c6c0000030000000000000000fcfbffffff00000408080000000000000000000000000000000000",
    "0000000000000000003100000000fcfffafffffffd9e74bd004000ffff00005f54ff31ccccccccccffffffff",
    "fffff5ffffffffffffffffffffffff0000000000000004ffffffffffffffffffffffffffff64320000000000",
    "00ff000000000000000000ffffffffffffffffffffffffffffff4affffffffffffffffffff000000",
];

fn unhex(parts: &[&str]) -> Vec<u8> {
    let hex: String = parts.concat();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn fuzz_found_pclntab_offset_overflow_is_handled() {
    let data = unhex(FUZZ_CRASH_PCLNTAB_OFFSET_OVERFLOW);
    assert_eq!(data.len(), 172);
    // Overflow checks are on in test builds: this panicked before the fix.
    let _ = inspect_bytes(&data);
}
