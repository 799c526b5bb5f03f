//! Fuzzes the reading of goready/v1 result files, which `goready report` takes from anywhere
//! (other CI jobs, a base branch): the JSON into a `Report` with each check's data read into
//! its rule's type by id, findings judged against the registry, the Markdown summary drawn
//! from the typed data, and the write-back, which must read again to the same report.
#![no_main]

use goready::model::{Report, Severity, findings};
use goready::report::markdown;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut report) = serde_json::from_slice::<Report>(data) else {
        return;
    };
    findings::judge(&mut report, goready::registry::find, None, false);
    let opts = markdown::Options {
        fail_on: Severity::Error,
        max_bytes: 65_536,
        full_report_url: None,
        marker: None,
    };
    std::hint::black_box(markdown::render(&report, &opts));
    let written = serde_json::to_string(&report).expect("a read report writes");
    let again: Report = serde_json::from_str(&written).expect("a written report reads");
    assert_eq!(
        serde_json::to_string(&again).unwrap(),
        written,
        "a report changed on its second trip through JSON"
    );
});
