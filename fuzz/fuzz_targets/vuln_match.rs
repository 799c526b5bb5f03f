//! Fuzzes the vulnerability scan's own parsers and matcher on untrusted text: function names
//! split into package and symbol (both naming conventions), semver comparison and Go tags,
//! go.mod's require lines, and matching a binary made of the input's names against entries
//! decoded from the input (hostile ranges, imports and symbols included), with replacements
//! (forks, directories) and a main module whose paths and versions come from the input.
#![no_main]

use goready::vuln::db::parse_entry;
use goready::vuln::gomod::GoMod;
use goready::vuln::matching::{Binary, Module, match_binary, uncompared};
use goready::vuln::osv::Entry;
use goready::vuln::semver;
use goready::vuln::symbols::{Naming, PackageSymbols, split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().take(256).collect();
    for name in &lines {
        std::hint::black_box(split(name, Naming::Go120));
        std::hint::black_box(split(name, Naming::Go118));
        std::hint::black_box(semver::go_tag_to_semver(name));
        std::hint::black_box(semver::is_base_pseudo(name));
    }
    for pair in lines.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        // Antisymmetry: a < b and b < a never both hold.
        assert!(!(semver::less(a, b) && semver::less(b, a)), "{a:?} {b:?}");
    }
    std::hint::black_box(GoMod::parse(&text));
    // The input as one entry, read as the database reader reads `ID/<id>.json`.
    let entries: Vec<Entry> = parse_entry(data, "GO-2022-1059").into_iter().collect();
    let symbols = PackageSymbols::from_names(lines.iter().copied(), Naming::Go120, "example.com/m");
    // Every other dependency replaced by the next line's path at the line after's version.
    let deps = lines
        .iter()
        .take(8)
        .enumerate()
        .map(|(i, l)| Module {
            path: l.to_string(),
            version: "v0.3.7".into(),
            replace: (i % 2 == 1).then(|| {
                let at = |k: usize| lines.get(i + k).copied().unwrap_or("").to_string();
                (at(1), at(2))
            }),
        })
        .collect();
    let main = lines.get(1).map(|v| Module {
        path: "example.com/m".into(),
        version: v.to_string(),
        replace: None,
    });
    let bin = Binary {
        go_version: lines.first().copied().unwrap_or("go1.26.0").to_string(),
        main_path: "example.com/m".into(),
        main,
        deps,
        goos: "linux".into(),
        goarch: "amd64".into(),
        symbols: Some(symbols),
    };
    std::hint::black_box(match_binary(&bin, &entries, 1_800_000_000));
    std::hint::black_box(uncompared(&bin, Some(&entries), 1_800_000_000));
    std::hint::black_box(bin.wanted_modules());
});
