//! Hostile and broken profiles: each gets a clear error naming what is wrong — never a
//! panic, never unbounded memory.

mod common;

use std::io::Write;

use goready::pprof::{ParseOptions, ProfileError, proto};
use goready::pprof::{Profile, flame};
use prost::Message;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A small valid profile: main.main → main.alloc, one sample, every table filled.
fn valid() -> proto::Profile {
    let strings = [
        "",
        "alloc_space",
        "bytes",
        "main.main",
        "main.alloc",
        "/bin/svc",
    ];
    proto::Profile {
        sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
        sample: vec![proto::Sample {
            location_id: vec![2, 1],
            value: vec![4096],
            label: Vec::new(),
        }],
        mapping: vec![proto::Mapping {
            id: 1,
            filename: 5,
            has_functions: true,
            ..Default::default()
        }],
        location: vec![
            proto::Location {
                id: 1,
                mapping_id: 1,
                line: vec![proto::Line {
                    function_id: 1,
                    ..Default::default()
                }],
                ..Default::default()
            },
            proto::Location {
                id: 2,
                mapping_id: 1,
                line: vec![proto::Line {
                    function_id: 2,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
        function: vec![
            proto::Function {
                id: 1,
                name: 3,
                ..Default::default()
            },
            proto::Function {
                id: 2,
                name: 4,
                ..Default::default()
            },
        ],
        string_table: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

fn parse(msg: &proto::Profile) -> Result<Profile, ProfileError> {
    Profile::parse(&msg.encode_to_vec())
}

fn malformed(msg: &proto::Profile) -> String {
    match parse(msg) {
        Err(ProfileError::Malformed(why)) => why,
        other => panic!("expected a malformed-profile error, got {other:?}"),
    }
}

#[test]
fn the_valid_base_case_ranks() {
    let p = parse(&valid()).unwrap();
    let top = p.top(0, 0);
    assert_eq!(top.rows[0].function, "main.alloc");
    assert_eq!((top.rows[0].flat, top.rows[0].cum), (4096, 4096));
    assert_eq!(top.rows[1].function, "main.main");
    assert_eq!((top.rows[1].flat, top.rows[1].cum), (0, 4096));
}

#[test]
fn string_indexes_out_of_range_are_named() {
    let mut m = valid();
    m.function[1].name = 99;
    let why = malformed(&m);
    assert!(
        why.contains("function 2: name refers to string 99"),
        "{why}"
    );
    assert!(why.contains("has 6 entries"), "{why}");

    let mut m = valid();
    m.sample_type[0].unit = -1;
    assert!(malformed(&m).contains("sample_type[0].unit refers to string -1"));

    let mut m = valid();
    m.mapping[0].filename = 6;
    assert!(malformed(&m).contains("mapping 1: filename"));

    let mut m = valid();
    m.sample[0].label = vec![proto::Label {
        key: 1000,
        ..Default::default()
    }];
    assert!(malformed(&m).contains("sample 0: label key refers to string 1000"));

    let mut m = valid();
    m.default_sample_type = 7;
    assert!(malformed(&m).contains("default_sample_type"));
}

#[test]
fn ids_that_do_not_resolve_are_named() {
    let mut m = valid();
    m.sample[0].location_id.push(77);
    let why = malformed(&m);
    assert!(why.contains("location id 77"), "{why}");

    let mut m = valid();
    m.location[0].line[0].function_id = 9;
    assert!(malformed(&m).contains("function id 9"));

    let mut m = valid();
    m.location[0].line[0].function_id = 0;
    assert!(malformed(&m).contains("function id 0"));

    let mut m = valid();
    m.location[1].id = 1;
    assert!(malformed(&m).contains("two locations have id 1"));

    let mut m = valid();
    m.function[0].id = 0;
    assert!(malformed(&m).contains("reserved id 0"));

    // An unknown mapping id means "no mapping", as in go tool pprof: not an error.
    let mut m = valid();
    m.location[0].mapping_id = 42;
    assert!(parse(&m).is_ok());
}

#[test]
fn sample_value_count_must_match_the_sample_types() {
    let mut m = valid();
    m.sample[0].value.push(1);
    let why = malformed(&m);
    assert!(
        why.contains("sample 0 has 2 values but the profile has 1 sample types"),
        "{why}"
    );

    let mut m = valid();
    m.sample_type.clear();
    assert!(malformed(&m).contains("no sample types"));
}

#[test]
fn string_table_must_start_with_the_empty_string() {
    let mut m = valid();
    m.string_table[0] = b"x".to_vec();
    assert!(malformed(&m).contains("string_table[0]"));
    let mut m = valid();
    m.string_table.clear();
    assert!(malformed(&m).contains("string table is empty"));
}

#[test]
fn wrong_wire_types_are_protobuf_errors() {
    // Field 1 (sample_type, a message) sent as a varint.
    let err = Profile::parse(&[0x08, 0x01]).unwrap_err();
    assert!(matches!(err, ProfileError::NotProfile(_)), "{err:?}");
    assert!(err.to_string().contains("wire type"), "{err}");
    // A sample whose location_id (uint64) comes as fixed32.
    let err = Profile::parse(&[0x12, 0x05, 0x0d, 0, 0, 0, 0]).unwrap_err();
    assert!(err.to_string().contains("wire type"), "{err}");
    // A string table entry (bytes) sent as fixed64.
    let err = Profile::parse(&[0x31, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap_err();
    assert!(err.to_string().contains("wire type"), "{err}");
}

#[test]
fn truncated_profiles_never_decode_silently() {
    let raw = valid().encode_to_vec();
    for cut in 1..raw.len() {
        let err = Profile::parse(&raw[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                ProfileError::NotProfile(_) | ProfileError::Malformed(_)
            ),
            "cut at {cut}: {err:?}"
        );
    }
    let gz = gzip(&raw);
    for cut in 2..gz.len() {
        let err = Profile::parse(&gz[..cut]).unwrap_err();
        assert!(
            matches!(err, ProfileError::Gzip(_) | ProfileError::Empty),
            "gzip cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn a_truncated_profile_file_fails_the_command_with_an_error_check() {
    let mut m = valid();
    for i in 0..2000 {
        m.sample.push(proto::Sample {
            location_id: vec![2, 1],
            value: vec![i],
            label: Vec::new(),
        });
    }
    let gz = gzip(&m.encode_to_vec());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.pb.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let result = dir.path().join("r.json");
    let (code, stdout, stderr) = common::run_goready(&[
        "pprof",
        path.to_str().unwrap(),
        "--json",
        result.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("cannot gunzip profile"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    assert_eq!(report["checks"][0]["id"], "runtime.allocs");
    assert_eq!(report["checks"][0]["status"], "error");
}

/// `members` gzip members of 1 MiB of zeros each: ~1 KiB on disk per MiB inflated.
fn gzip_bomb(members: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; 1 << 20]).unwrap();
    enc.finish().unwrap().repeat(members)
}

#[test]
fn a_gzip_bomb_is_stopped_at_the_cap() {
    let bomb = gzip_bomb(64);
    assert!(bomb.len() < 200 << 10);
    let opts = ParseOptions {
        max_decompressed: 16 << 20,
        ..ParseOptions::default()
    };
    let err = Profile::parse_with(&bomb, &opts).unwrap_err();
    assert_eq!(err, ProfileError::TooLarge { limit: 16 << 20 });
    assert!(err.to_string().contains("gzip bomb"), "{err}");
}

#[test]
fn a_gzip_bomb_past_the_default_cap_fails_the_command_clearly() {
    // 600 MiB inflated from ~600 KiB: past the 512 MiB default.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.pb.gz");
    std::fs::write(&path, gzip_bomb(600)).unwrap();
    let (code, _, stderr) = common::run_goready(&["pprof", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("beyond 512 MiB") && stderr.contains("gzip bomb"),
        "{stderr}"
    );
}

#[test]
fn a_flood_of_empty_messages_is_refused_before_decoding() {
    // 2 bytes per empty location on the wire, ~60 bytes each decoded.
    let flood = [0x22u8, 0x00].repeat(1 << 20);
    let opts = ParseOptions {
        max_decoded: 32 << 20,
        ..ParseOptions::default()
    };
    let err = Profile::parse_with(&flood, &opts).unwrap_err();
    assert_eq!(err, ProfileError::TooLarge { limit: 32 << 20 });
}

#[test]
fn empty_and_text_inputs_say_what_they_are() {
    assert_eq!(Profile::parse(&[]).unwrap_err(), ProfileError::Empty);
    assert_eq!(Profile::parse(&gzip(&[])).unwrap_err(), ProfileError::Empty);
    // The legacy text format of /debug/pprof/heap?debug=1.
    let text = b"heap profile: 1: 2048 [3: 4096] @ heap/1048576\n1: 2048 [1: 2048] @ 0x1\n";
    let err = Profile::parse(text).unwrap_err();
    assert!(err.to_string().contains("?debug"), "{err}");
    // An HTML page from a catch-all route.
    let err = Profile::parse(b"<!doctype html><html></html>").unwrap_err();
    assert!(matches!(err, ProfileError::NotProfile(_)), "{err:?}");
}

#[test]
fn extreme_values_wrap_like_go_instead_of_panicking() {
    let mut m = valid();
    m.sample[0].value = vec![i64::MAX];
    m.sample.push(proto::Sample {
        location_id: vec![2, 1],
        value: vec![i64::MAX],
        label: Vec::new(),
    });
    m.sample.push(proto::Sample {
        location_id: vec![1],
        value: vec![i64::MIN],
        label: Vec::new(),
    });
    let p = parse(&m).unwrap();
    let top = p.top(0, 0);
    let _ = top.table();
    let _ = top.header();
    let _ = flame::folded_stacks(&p, 0);
    let _ = goready::pprof::regression::SiteShares::from_profile(&p, 0);
}

#[test]
fn non_utf8_names_are_kept_lossily_like_pprof_keeps_bytes() {
    let mut m = valid();
    m.string_table[4] = b"main.\xffbad".to_vec();
    let p = parse(&m).unwrap();
    assert_eq!(p.top(0, 0).rows[0].function, "main.\u{fffd}bad");
}

#[test]
fn drop_frames_on_a_non_ascii_name_does_not_panic() {
    // Found by cargo-fuzz: pprof's argument-list trimming of names for `drop_frames` sliced a
    // name inside a multi-byte character.
    let input =
        std::fs::read(common::repo().join("fuzz/seeds/profile/regression-drop-frames-utf8"))
            .unwrap();
    let _ = Profile::parse(&input);

    let mut m = valid();
    m.string_table
        .push("main.\u{e9}\u{fffd}o(x)".as_bytes().to_vec());
    m.string_table.push("main\\.\u{e9}.*".as_bytes().to_vec());
    m.function[1].name = 6;
    m.drop_frames = 7;
    let p = parse(&m).unwrap();
    // The leaf matched drop_frames and was pruned; its caller is left.
    assert_eq!(p.top(0, 0).rows[0].function, "main.main");
}

#[test]
fn an_oversized_file_is_refused_with_a_clear_error() {
    // A sparse 600 MiB file (goready refuses it by its size, before reading it).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.pb");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    let (code, _, stderr) = common::run_goready(&["pprof", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("beyond 512 MiB"), "{stderr}");
}
