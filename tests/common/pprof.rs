//! `go tool pprof` as the reference: its `-top` table parsed into raw values, for tests
//! that compare goready's rankings (of `goready pprof`, `probe` and `test --memprofile`)
//! with it row by row.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::run_ok;

/// The `-ignore` regexp equivalent to goready leaving out the profiler's own frames.
pub const IGNORE_PROFILER: &str = "-ignore=^(runtime/pprof|net/http/pprof)\\.";

/// One row of `go tool pprof -top -unit=B`: raw values (counts get a `B` suffix too).
#[derive(Debug, PartialEq)]
pub struct Row {
    pub name: String,
    pub flat: i64,
    pub cum: i64,
    pub inline: String,
}

/// `go tool pprof -top` output, split into the header lines and the table lines.
pub fn go_pprof(args: &[&str], file: &Path) -> (Vec<String>, Vec<String>) {
    let out = run_ok(
        Command::new("go")
            .args(["tool", "pprof", "-top"])
            .args(args)
            .arg(file),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("flat  flat%"))
        .unwrap_or_else(|| panic!("no table in go tool pprof output:\n{text}"));
    (lines[..at].to_vec(), lines[at + 1..].to_vec())
}

/// `go tool pprof -top -sample_index=SI -unit=B EXTRA FILE` as rows, and its header lines.
pub fn go_rows(sample_index: &str, extra: &[&str], file: &Path) -> (Vec<Row>, Vec<String>) {
    let si = format!("-sample_index={sample_index}");
    let mut args = vec![si.as_str(), "-unit=B"];
    args.extend_from_slice(extra);
    let (header, table) = go_pprof(&args, file);
    let raw = |s: &str| -> i64 {
        s.strip_suffix('B')
            .unwrap_or(s)
            .parse()
            .unwrap_or_else(|_| panic!("not a raw value: {s:?}"))
    };
    let rows = table
        .iter()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let mut name = f[5..].join(" ");
            let mut inline = String::new();
            for mark in [" (inline)", " (partial-inline)"] {
                if let Some(n) = name.strip_suffix(mark) {
                    inline = mark.trim().trim_matches(['(', ')']).to_string();
                    name = n.to_string();
                }
            }
            Row {
                name,
                flat: raw(f[0]),
                cum: raw(f[3]),
                inline,
            }
        })
        .collect();
    (rows, header)
}

/// The rows of one ranking in goready's JSON (`{"rows": [{"function", "flat", "cum"}]}`).
pub fn rows_of(ranking: &Value) -> Vec<Row> {
    ranking["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {ranking}"))
        .iter()
        .map(|r| Row {
            name: r["function"].as_str().unwrap().to_string(),
            flat: r["flat"].as_i64().unwrap(),
            cum: r["cum"].as_i64().unwrap(),
            inline: r["inline"].as_str().unwrap_or("").to_string(),
        })
        .collect()
}

/// The ranking of `sample_type` in a `runtime.allocs` check's data.
pub fn ranking<'a>(check: &'a Value, sample_type: &str) -> &'a Value {
    check["data"]["rankings"]
        .as_array()
        .unwrap_or_else(|| panic!("no rankings in {check}"))
        .iter()
        .find(|r| r["sample_type"]["type"] == sample_type)
        .unwrap_or_else(|| panic!("no {sample_type} ranking in {check}"))
}

/// The number in pprof's `Dropped N nodes` line, if any.
pub fn dropped(header: &[String]) -> u64 {
    header
        .iter()
        .find_map(|l| l.strip_prefix("Dropped "))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
        .unwrap_or(0)
}

/// Panics unless `path` is a well-formed XML document with an `<svg>` root (every tag
/// closed by its own name); returns its text.
pub fn assert_svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut reader = quick_xml::Reader::from_str(&text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i64;
    let mut root = None;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e)) => {
                if depth == 0 {
                    root = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                }
                depth += 1;
            }
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(_) => {}
            Err(e) => panic!(
                "{} is not well-formed XML at byte {}: {e}",
                path.display(),
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(depth, 0, "{}: unclosed elements", path.display());
    assert_eq!(root.as_deref(), Some("svg"), "{}", path.display());
    text
}

/// `name` as it appears in XML text.
pub fn xml_escaped(name: &str) -> String {
    name.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
