//! Fuzzes the whole binary inspector: `inspect_bytes` (ELF, Mach-O thin/universal, PE,
//! build info, pclntab, version search) and the binary rules on its facts; `build_info_bytes`
//! (the scan's build info alone, which must agree with it); the function-name
//! readers `functions::go_functions` and `functions::go_names` (pclntab, inline trees, the
//! moduledata scan, both ways of finding the funcdata base); plus the Go-table decoders on
//! the raw input: `Pclntab::parse`, `functions::max_pc_value` and `buildinfo::parse_modinfo`.
#![no_main]

use goready::inspect::functions::{self, Lookup};
use goready::inspect::{self, buildinfo, pclntab::Pclntab, rules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = inspect::Options {
        expect_version: Some("1.2.3".into()),
        vars: vec!["main.gitSHA".into()],
    };
    let full = inspect::inspect_bytes("fuzz", data, &opts);
    // The vulnerability scan's build-info-only reader answers as the inspector does.
    if let Err(why) = inspect::build_info_agrees(&full, &inspect::build_info_bytes(data)) {
        panic!("{why}");
    }
    if let Ok(facts) = full {
        let checks = rules::evaluate(&facts, &rules::RuleOptions::default());
        std::hint::black_box(checks);
    }

    for lookup in [Lookup::SymbolThenScan, Lookup::ScanOnly] {
        if let Ok(f) = functions::go_functions_with(data, lookup) {
            std::hint::black_box((f.all_names().len(), f.inline_trees));
        }
    }
    // The borrowed reader the vulnerability scan uses (its own walk of universal files).
    if let Ok(n) = functions::go_names(data) {
        std::hint::black_box((n.names.len(), n.inlined.len(), n.to_functions().names.len()));
    }
    std::hint::black_box(functions::max_pc_value(data));

    if let Some(table) = Pclntab::parse(data) {
        let n = table.names().map(|name| name.len()).fold(0usize, usize::wrapping_add);
        std::hint::black_box((n, table.len()));
    }

    let _ = std::hint::black_box(buildinfo::parse_modinfo(&String::from_utf8_lossy(data)));
});
