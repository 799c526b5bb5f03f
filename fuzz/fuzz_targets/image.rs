//! Fuzzes the image reader: the input is written as an image archive (a tar holding
//! manifest.json or index.json, layers, configs) and read end to end — the outer index, the
//! JSON documents, layer decompression (gzip, zstd, plain), tar entries, the merged view and
//! the rules — with small budgets; plus one layer read straight from the bytes.
#![no_main]

use goready::cancel::Cancel;
use goready::image::layer::{self, Budget, Keep, Limits};
use goready::image::{self, Options};
use goready::progress::Discard;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_unpacked: 64 << 20,
        max_entries: 10_000,
        max_kept_file: 8 << 20,
        max_library: 8 << 20,
    };
    let keep = |p: &str, _: u64| {
        if p.ends_with(".so") {
            Keep::ElfNeeds
        } else if p.starts_with("etc/") {
            Keep::Content
        } else {
            Keep::Nothing
        }
    };
    let _ = layer::read(
        std::io::Cursor::new(data),
        &keep,
        &limits,
        &Budget::default(),
        &Cancel::new(),
    );

    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("image.tar");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let opts = Options {
        image: path.display().to_string(),
        limits,
        jobs: Some(1),
        ..Options::default()
    };
    let _ = std::hint::black_box(image::run(&opts, &Discard, &Cancel::new()));
});
