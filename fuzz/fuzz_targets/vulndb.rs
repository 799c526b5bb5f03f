//! Fuzzes the vulnerability database readers: the v1 index files (`index/db.json`,
//! `index/modules.json`), one entry and the head a flat folder reads, gzip with its cap,
//! RFC 3339 times, and `vulndb.zip` read in place — on `Ok`, the entries of the first
//! modules its index names (each member inflated through the cap).
#![no_main]

use goready::vuln::db::{
    Cache, Database, Limits, OpenOptions, gunzip, parse_db_index, parse_entry, parse_entry_head,
    parse_modules, rfc3339_to_unix, valid_id,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = std::hint::black_box(parse_db_index(data));
    if let Ok(map) = parse_modules(data) {
        let modules: Vec<&str> = map.modules().take(4).collect();
        std::hint::black_box(map.ids_for(&modules));
    }
    let _ = std::hint::black_box(parse_entry(data, "GO-2022-1059"));
    let _ = std::hint::black_box(parse_entry_head(data));
    let _ = std::hint::black_box(gunzip(data, 1 << 20));
    let text = String::from_utf8_lossy(data);
    std::hint::black_box(rfc3339_to_unix(&text));
    std::hint::black_box(valid_id(&text));

    // Caps well below the defaults, so a bomb among the inputs is refused quickly.
    let opts = OpenOptions {
        cache: Cache::Off,
        limits: Limits {
            index_bytes: 1 << 20,
            entry_bytes: 1 << 20,
        },
        ..OpenOptions::default()
    };
    if let Ok(db) = Database::open_zip_bytes("fuzz.zip", data.to_vec(), &opts) {
        let modules: Vec<String> = db.index().modules().take(8).map(String::from).collect();
        let modules: Vec<&str> = modules.iter().map(String::as_str).collect();
        let _ = std::hint::black_box(db.entries_for(&modules));
    }
});
