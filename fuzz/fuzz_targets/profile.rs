//! Fuzzes the pprof profile decoder and everything that reads a decoded profile:
//! `Profile::parse_with` (gzip or raw profile.proto, validation, drop_frames pruning), then
//! for every sample type the `go tool pprof -top` ranking with its text, the site shares with
//! their sampling events and a regression comparison judged against its noise, the folded stacks of the flame graph, and the removal of the
//! profiler's own frames.
#![no_main]

use goready::pprof::profile::{ParseOptions, Profile};
use goready::pprof::profile_rules::PROFILER_FRAMES;
use goready::pprof::{flame, regression};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Caps well below the defaults, so a bomb among the inputs is refused quickly and the
    // fuzzer stays within its RSS limit.
    let opts = ParseOptions {
        max_decompressed: 8 << 20,
        max_decoded: 64 << 20,
    };
    let Ok(mut profile) = Profile::parse_with(data, &opts) else {
        return;
    };
    let _ = std::hint::black_box(profile.sample_index(None));
    let _ = std::hint::black_box(profile.sample_index(Some("alloc_space")));
    let _ = std::hint::black_box(profile.sample_index(Some("1")));
    for round in 0..2 {
        for i in 0..profile.sample_types.len() {
            let ranking = profile.rank(i, if round == 0 { 0 } else { 3 });
            std::hint::black_box((ranking.top.header(), ranking.top.table()));
            let growth = regression::compare(&ranking.shares, &ranking.shares.compact());
            std::hint::black_box(growth);
            if let Ok(j) = regression::judge(&ranking.shares.compact(), &ranking.shares) {
                std::hint::black_box(j.beyond(10.0).map(regression::shares_text).count());
            }
            std::hint::black_box(flame::folded_stacks(&profile, i));
        }
        std::hint::black_box(profile.totals());
        // The second round ranks what is left once the profiler's frames are gone.
        std::hint::black_box(profile.drop_samples_with_frames(PROFILER_FRAMES));
    }
});
