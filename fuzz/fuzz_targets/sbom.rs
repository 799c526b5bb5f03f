//! Fuzzes the SBOM writers on hostile build info: the input is taken as the module text of a
//! binary's buildinfo (`path`, `mod`, `dep`, `=>`, `build` lines, arbitrary strings in them)
//! and, when it parses, rendered as CycloneDX and SPDX; the bytes must be JSON. Also the
//! `-ldflags` `-X` splitter and the Go-version-to-semver conversion on the raw input.
#![no_main]

use goready::inspect::{self, buildinfo};
use goready::sbom::{self, subject};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = std::hint::black_box(subject::x_values(&text));
    let _ = std::hint::black_box(subject::go_semver(&text));
    let Ok(mut info) = buildinfo::parse_modinfo(&text) else {
        return;
    };
    info.go_version = text.lines().next().unwrap_or_default().to_string();
    // A binary's facts around the fuzzed build info.
    let mut facts: inspect::BinaryFacts = serde_json::from_value(serde_json::json!({
        "path": "fuzz", "format": "elf", "arch": "amd64", "goos": "linux", "size": 1,
        "linkage": "static", "interpreter": null, "needed": [], "libc": null,
        "symbols_stripped": false, "dwarf": false, "pclntab": {"present": true},
        "buildinfo": null, "pie": null, "relro": null, "nx": null, "cgo": null,
        "pprof_linked": false, "version_vars": {"main.Version": "1"}
    }))
    .expect("facts");
    facts.buildinfo = Some(info);
    let stamp = sbom::Stamp {
        secs: 1_700_000_000,
        reproducible: true,
    };
    for format in [sbom::Format::Cyclonedx, sbom::Format::Spdx] {
        if let Ok((bytes, _, _)) =
            sbom::render(&facts, "fuzz", "00", format, &stamp, Default::default())
        {
            assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
        }
    }
});
