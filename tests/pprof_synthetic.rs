//! Differential tests of the ranking against `go tool pprof -top` on profiles built to hit
//! the corners real Go programs rarely reach: inlined frames (and recursion inside them),
//! locations without lines, functions without names (with and without a mapped object),
//! one name under several function ids, negative and zero values, samples without a
//! stack, `drop_frames`/`keep_frames`, diff-base labels, and every unit family. The whole
//! printed report (header and table) must be the same text.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use goready::pprof::Profile;
use goready::pprof::proto;
use prost::Message;

/// xorshift64*: a small deterministic generator, so a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const NAMES: &[&str] = &[
    "main.main",
    "runtime.main",
    "main.handler",
    "main.(*Server).serve",
    "net/http.(*conn).serve",
    "encoding/json.Marshal",
    "main.work",
    "main.drop1",
    "main.dropHelper",
    "fmt.Sprintf",
    "bytes.(*Buffer).grow",
    "main.gen[go.shape.int]",
    "Class::method(int)",
    "a.b",
    "z.last",
    "runtime.mallocgc",
];

const TYPES: &[&[(&str, &str)]] = &[
    &[("alloc_objects", "count"), ("alloc_space", "bytes")],
    &[("samples", "count"), ("cpu", "nanoseconds")],
    &[("contentions", "count"), ("delay", "nanoseconds")],
    &[("objects", "count"), ("space", "bytes"), ("x", "gcu")],
];

struct Strings(Vec<String>);

impl Strings {
    fn id(&mut self, s: &str) -> i64 {
        if let Some(i) = self.0.iter().position(|x| x == s) {
            return i as i64;
        }
        self.0.push(s.to_string());
        (self.0.len() - 1) as i64
    }
}

fn synthetic(seed: u64) -> proto::Profile {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut st = Strings(vec![String::new()]);
    let types = TYPES[rng.below(TYPES.len() as u64) as usize];
    let sample_type: Vec<proto::ValueType> = types
        .iter()
        .map(|(t, u)| proto::ValueType {
            r#type: st.id(t),
            unit: st.id(u),
        })
        .collect();
    let mapping_files = ["/opt/svc/bin/svc", "/lib/libc.so.6", "", "[vdso]"];
    let n_mappings = rng.below(4);
    let mapping: Vec<proto::Mapping> = (0..n_mappings)
        .map(|i| proto::Mapping {
            id: i + 1,
            memory_start: 0x1000 * (i + 1),
            memory_limit: 0x1000 * (i + 2),
            filename: st.id(mapping_files[i as usize]),
            has_functions: true,
            ..Default::default()
        })
        .collect();
    let n_functions = 4 + rng.below(60);
    let function: Vec<proto::Function> = (0..n_functions)
        .map(|i| {
            let generated;
            let name = if rng.chance(12) {
                ""
            } else if rng.chance(50) {
                // A long tail of functions, most of which fall under the 0.5 % cut.
                generated = format!("lib/p{}.f{}", rng.below(8), rng.below(8));
                &generated
            } else {
                NAMES[rng.below(NAMES.len() as u64) as usize]
            };
            proto::Function {
                id: 100 + i,
                name: st.id(name),
                system_name: st.id(name),
                filename: st.id(&format!("/src/f{}.go", rng.below(3))),
                start_line: [0, 10, 20][rng.below(3) as usize],
            }
        })
        .collect();
    let n_locations = 3 + rng.below(80);
    let location: Vec<proto::Location> = (0..n_locations)
        .map(|i| {
            let n_lines = match rng.below(10) {
                0 => 0,
                1..=6 => 1,
                7 | 8 => 2,
                _ => 3,
            };
            proto::Location {
                id: 1 + i,
                // Sometimes a mapping id that does not exist: pprof treats it as none.
                mapping_id: rng.below(n_mappings + 2),
                address: 0x1000 + i * 16,
                line: (0..n_lines)
                    .map(|_| proto::Line {
                        function_id: 100 + rng.below(n_functions),
                        line: rng.below(100) as i64,
                        column: 0,
                    })
                    .collect(),
                is_folded: false,
            }
        })
        .collect();
    let magnitude: i64 = [10, 10_000, 5_000_000, 3_000_000_000][rng.below(4) as usize];
    let negatives = rng.chance(20);
    let base_labels = rng.chance(10);
    let (base_key, true_str) = (st.id("pprof::base"), st.id("true"));
    let n_samples = 5 + rng.below(300);
    let sample: Vec<proto::Sample> = (0..n_samples)
        .map(|_| {
            let depth = if rng.chance(3) { 0 } else { 1 + rng.below(12) };
            let location_id = (0..depth).map(|_| 1 + rng.below(n_locations)).collect();
            let value = (0..types.len())
                .map(|_| {
                    if rng.chance(8) {
                        return 0;
                    }
                    // Skewed: a few heavy samples and a long tail the cut drops.
                    let v = (rng.below(magnitude as u64) as i64)
                        >> rng.below(if magnitude > 100 { 30 } else { 3 });
                    if negatives && rng.chance(30) { -v } else { v }
                })
                .collect();
            let label = if base_labels && rng.chance(40) {
                vec![proto::Label {
                    key: base_key,
                    str: true_str,
                    ..Default::default()
                }]
            } else {
                Vec::new()
            };
            proto::Sample {
                location_id,
                value,
                label,
            }
        })
        .collect();
    let (drop_frames, keep_frames) = match rng.below(6) {
        0 => (st.id(r"main\.drop.*"), 0),
        1 => (st.id(r"main\.drop.*|runtime\..*"), st.id("runtime.main")),
        2 => (st.id("main."), 0),
        _ => (0, 0),
    };
    let default_sample_type = if rng.chance(50) {
        sample_type[0].r#type
    } else {
        0
    };
    proto::Profile {
        sample_type,
        sample,
        mapping,
        location,
        function,
        string_table: st.0.into_iter().map(String::into_bytes).collect(),
        drop_frames,
        keep_frames,
        period: 1,
        default_sample_type,
        ..Default::default()
    }
}

fn write_profile(path: &Path, msg: &proto::Profile, gzip: bool) {
    let raw = msg.encode_to_vec();
    let bytes = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&raw).unwrap();
        enc.finish().unwrap()
    } else {
        raw
    };
    std::fs::write(path, bytes).unwrap();
}

/// pprof's report from the `Showing nodes` line on (the lines before it name the file and
/// the time, which the test does not care about).
fn go_report(file: &Path, sample_index: usize, nodecount: usize) -> String {
    let mut cmd = Command::new("go");
    cmd.args(["tool", "pprof", "-top", "-symbolize=none"])
        .arg(format!("-sample_index={sample_index}"))
        .arg(format!("-nodecount={nodecount}"))
        .arg(file)
        .env("PPROF_BINARY_PATH", file.parent().unwrap());
    let out = common::run_ok(&mut cmd);
    let text = String::from_utf8(out.stdout).unwrap();
    let start = text
        .find("Showing nodes")
        .unwrap_or_else(|| panic!("no report in:\n{text}"));
    text[start..].to_string()
}

fn our_report(profile: &Profile, sample_index: usize, nodecount: usize) -> String {
    let top = profile.top(sample_index, nodecount);
    let mut out = String::new();
    for line in top.header().iter().skip(1) {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&top.table());
    out
}

const SEEDS: u64 = 40;

#[test]
fn synthetic_profiles_rank_exactly_like_go_tool_pprof() {
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    let mut all = String::new();
    for seed in 1..=SEEDS {
        let msg = synthetic(seed);
        let path = dir.path().join(format!("p{seed}.pb.gz"));
        write_profile(&path, &msg, seed % 2 == 0);
        let profile = Profile::parse(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let sample_index = (seed as usize) % msg.sample_type.len();
        let nodecount = if seed % 3 == 0 { 4 } else { 0 };
        let want = go_report(&path, sample_index, nodecount);
        let got = our_report(&profile, sample_index, nodecount);
        assert_eq!(
            got, want,
            "seed {seed} (sample index {sample_index}, nodecount {nodecount}): goready \
             (left) and go tool pprof (right) differ"
        );
        compared += want.lines().count();
        all.push_str(&want);
    }
    // The corners this test exists for must actually occur in the generated profiles.
    for features in [
        &["Dropped "][..],
        &["Showing top 4 nodes"],
        &[" (inline)"],
        &[" (partial-inline)"],
        &["<unknown>"],
        &["[svc]"],
        &["e-0"],
        &["  100%"],
        &["GCU"],
        &["kB ", "MB ", "GB "],
        &["ms ", "us ", "s "],
    ] {
        assert!(
            features.iter().any(|f| all.contains(f)),
            "no report exercised {features:?}"
        );
    }
    // The generator must produce real tables, not 40 empty reports.
    assert!(
        compared > SEEDS as usize * 5,
        "only {compared} lines compared"
    );
}

#[test]
fn default_sample_index_follows_the_profile_like_pprof() {
    for seed in 1..=12u64 {
        let msg = synthetic(seed);
        let profile = Profile::parse(&msg.encode_to_vec()).unwrap();
        let want = if msg.default_sample_type != 0 {
            0
        } else {
            msg.sample_type.len() - 1
        };
        assert_eq!(profile.sample_index(None).unwrap(), want, "seed {seed}");
    }
}

/// One function per sample value, each its own one-frame stack.
fn flat_profile(sites: &[(&str, i64)]) -> proto::Profile {
    let mut st = Strings(vec![String::new()]);
    let sample_type = vec![proto::ValueType {
        r#type: st.id("alloc_space"),
        unit: st.id("bytes"),
    }];
    let mut function = Vec::new();
    let mut location = Vec::new();
    let mut sample = Vec::new();
    for (i, (name, value)) in sites.iter().enumerate() {
        let id = i as u64 + 1;
        function.push(proto::Function {
            id,
            name: st.id(name),
            ..Default::default()
        });
        location.push(proto::Location {
            id,
            line: vec![proto::Line {
                function_id: id,
                ..Default::default()
            }],
            ..Default::default()
        });
        sample.push(proto::Sample {
            location_id: vec![id],
            value: vec![*value],
            label: Vec::new(),
        });
    }
    proto::Profile {
        sample_type,
        sample,
        location,
        function,
        string_table: st.0.into_iter().map(String::into_bytes).collect(),
        ..Default::default()
    }
}

#[test]
fn a_node_exactly_at_the_cut_is_kept_like_pprof() {
    // Total 1000 → the cut is 5: "edge" (5) stays, "below" (4) goes.
    let msg = flat_profile(&[("main.big", 991), ("main.edge", 5), ("main.below", 4)]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edge.pb");
    write_profile(&path, &msg, false);
    let profile = Profile::parse(&std::fs::read(&path).unwrap()).unwrap();
    let top = profile.top(0, 0);
    let names: Vec<&str> = top.rows.iter().map(|r| r.function.as_str()).collect();
    assert_eq!(names, ["main.big", "main.edge"]);
    assert_eq!((top.dropped_nodes, top.node_cutoff), (1, 5));
    assert_eq!(our_report(&profile, 0, 0), go_report(&path, 0, 0));
}
