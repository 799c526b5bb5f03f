//! `goready vuln` on real Go binaries against a v1 vulnerability database the tests write
//! themselves (real advisories' ids, packages and symbols; the ranges of the stdlib and
//! toolchain ones moved to include the Go that builds the fixtures; two crafted entries, ids
//! GO-0000-…, on paths no real advisory names: a fork's and a test main module's), cross-checked with
//! govulncheck v1.9.0 (`ci/install-tools.sh` installs it) on the same database and binaries:
//! the same advisories, levels, symbols and fixed versions per binary, and a stripped binary
//! equal to govulncheck on its unstripped twin. Where goready goes further on purpose (a fork,
//! a directory replacement, a main module at a pseudo-version or `(devel)`, the toolchain, a
//! binary in the pre-1.18 build info layout) the tests say what govulncheck does instead.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{Spec, build, go_version, run_goready};
use goready::model::{Check, CheckData, Report, Status};
use goready::vuln::data::{Evidence, Level, VulnData};
use serde_json::{Value, json};

const SRC_SYMBOL: &str = "tests/fixtures/vuln/cmd/symbol";
const SRC_PACKAGE: &str = "tests/fixtures/vuln/cmd/package";
const SRC_MODULE: &str = "tests/fixtures/vuln/cmd/module";
/// golang.org/x/text replaced by its GitHub mirror github.com/golang/text at the same tag.
const SRC_FORK: &str = "tests/fixtures/vuln-fork";
/// golang.org/x/text replaced by a local directory.
const SRC_LOCAL: &str = "tests/fixtures/vuln-local";
/// A main module the tests build in a git repository (see [`vcs_builds`]).
const SRC_MAIN: &str = "tests/fixtures/vuln-main";

fn spec(name: &'static str, src: &'static str, flags: &'static [&'static str]) -> Spec {
    Spec {
        name,
        src,
        goos: "linux",
        goarch: common::host_goarch(),
        cgo: false,
        flags,
    }
}

fn windows(name: &'static str, flags: &'static [&'static str]) -> Spec {
    Spec {
        name,
        src: SRC_SYMBOL,
        goos: "windows",
        goarch: "amd64",
        cgo: false,
        flags,
    }
}

/// The fixtures, built once (two at a time) and shared by every test of this file.
fn fixtures() -> &'static BTreeMap<&'static str, PathBuf> {
    static ALL: OnceLock<BTreeMap<&'static str, PathBuf>> = OnceLock::new();
    ALL.get_or_init(|| {
        let specs = [
            spec("vuln-symbol", SRC_SYMBOL, &[]),
            spec("vuln-package", SRC_PACKAGE, &[]),
            spec("vuln-module", SRC_MODULE, &[]),
            spec("vuln-symbol-stripped", SRC_SYMBOL, &["-ldflags=-s -w"]),
            // PE, and the Windows-only advisory that the Linux builds must not match.
            windows("vuln-symbol-windows", &[]),
            windows("vuln-symbol-windows-stripped", &["-ldflags=-s -w"]),
            spec("vuln-fork", SRC_FORK, &[]),
            spec("vuln-local", SRC_LOCAL, &[]),
        ];
        let queue = std::sync::Mutex::new(specs.to_vec());
        let done = std::sync::Mutex::new(BTreeMap::new());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while let Some(spec) = queue.lock().unwrap().pop() {
                        let path = build(&spec);
                        done.lock().unwrap().insert(spec.name, path);
                    }
                });
            }
        });
        done.into_inner().unwrap()
    })
}

fn fixture(name: &str) -> PathBuf {
    fixtures()[name].clone()
}

/// `go1.26.8` → (`1.26.0-0`, `1.26.9`): a range that holds the Go in use.
fn go_range() -> (String, String) {
    let v = go_version().trim_start_matches("go");
    let parts: Vec<u64> = v
        .split(['.', 'r', 'b', '-'])
        .take(3)
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let (major, minor, patch) = (parts[0], parts[1], *parts.get(2).unwrap_or(&0));
    (
        format!("{major}.{minor}.0-0"),
        format!("{major}.{minor}.{}", patch + 1),
    )
}

/// The advisories of the test database: real ids, aliases, packages and symbols.
fn advisories() -> Vec<Value> {
    let (go_from, go_fix) = go_range();
    let text = |id: &str, alias: &str, fixed: &str, symbols: &[&str], summary: &str| {
        json!({
            "schema_version": "1.3.1", "id": id, "modified": "2024-05-20T16:03:47Z",
            "published": "2022-10-11T00:00:00Z", "aliases": [alias], "summary": summary,
            "affected": [{
                "package": {"name": "golang.org/x/text", "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                "ecosystem_specific": {"imports": [{"path": "golang.org/x/text/language", "symbols": symbols}]}
            }]
        })
    };
    vec![
        text(
            "GO-2022-1059",
            "CVE-2022-32149",
            "0.3.8",
            &["MatchStrings", "ParseAcceptLanguage"],
            "Denial of service via crafted Accept-Language header in golang.org/x/text/language",
        ),
        // Fixed in 0.3.7, the fixtures' version: must not match.
        text(
            "GO-2021-0113",
            "CVE-2021-38561",
            "0.3.7",
            &["MatchStrings", "MustParse", "Parse", "ParseAcceptLanguage"],
            "Out-of-bounds read in golang.org/x/text/language",
        ),
        json!({
            "id": "GO-2026-5972", "modified": "2026-08-13T21:43:54Z", "aliases": ["CVE-2026-33818"],
            "summary": "Enforce maximum recursion depth in encoding/asn1",
            "affected": [{
                "package": {"name": "stdlib", "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [
                    {"introduced": "0"}, {"fixed": "1.25.13"},
                    {"introduced": go_from}, {"fixed": go_fix}
                ]}],
                "ecosystem_specific": {"imports": [{"path": "encoding/asn1",
                    "symbols": ["Unmarshal", "UnmarshalWithParams", "parseField", "parseSequenceOf"]}]}
            }]
        }),
        // Windows only: the Linux fixtures call filepath.Join, and must not match.
        json!({
            "id": "GO-2023-2185", "modified": "2024-05-20T16:03:47Z", "aliases": ["CVE-2023-45283"],
            "summary": "Insecure parsing of Windows paths with a \\??\\ prefix in path/filepath",
            "affected": [{
                "package": {"name": "stdlib", "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": go_fix}]}],
                "ecosystem_specific": {"imports": [{"path": "path/filepath", "goos": ["windows"],
                    "symbols": ["Abs", "Base", "Clean", "Dir", "Join", "Rel", "Split"]}]}
            }]
        }),
        // The toolchain: govulncheck's binary mode never reports it; goready as a notice.
        json!({
            "id": "GO-2026-6179", "modified": "2026-08-13T21:43:54Z", "aliases": ["CVE-2026-56865"],
            "summary": "Fix transparency log tile verification bypass in golang.org/x/mod/sumdb/tlog",
            "affected": [
                {"package": {"name": "toolchain", "ecosystem": "Go"},
                 "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": go_fix}]}],
                 "ecosystem_specific": {"imports": [{"path": "cmd/go"}]}},
                {"package": {"name": "golang.org/x/mod", "ecosystem": "Go"},
                 "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.40.0"}]}],
                 "ecosystem_specific": {"imports": [{"path": "golang.org/x/mod/sumdb/tlog",
                    "symbols": ["tileHashReader.ReadHashes"]}]}}
            ]
        }),
        // Crafted, no real advisory names these paths. GO-2022-1059's facts under the fork's
        // own path (the mirror github.com/golang/text that tests/fixtures/vuln-fork uses).
        json!({
            "id": "GO-0000-0001", "modified": "2024-05-20T16:03:47Z", "aliases": [],
            "summary": "Test advisory: GO-2022-1059's facts under the GitHub mirror's own path",
            "affected": [{
                "package": {"name": "github.com/golang/text", "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.8"}]}],
                "ecosystem_specific": {"imports": [{"path": "github.com/golang/text/language",
                    "symbols": ["ParseAcceptLanguage"]}]}
            }]
        }),
        // And one on the main module of tests/fixtures/vuln-main, fixed in the release after
        // the tag the tests give it (v1.2.3). No imports: every function of the module counts.
        json!({
            "id": "GO-0000-0002", "modified": "2024-05-20T16:03:47Z", "aliases": [],
            "summary": "Test advisory on the main module example.com/vulnmain",
            "affected": [{
                "package": {"name": "example.com/vulnmain", "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.4"}]}]
            }]
        }),
        // Withdrawn, and about x/text too: must never match.
        json!({
            "id": "GO-2022-0617", "modified": "2025-08-05T19:57:40Z",
            "withdrawn": "2024-08-21T16:25:56Z", "aliases": ["CVE-2020-8562"],
            "summary": "WITHDRAWN: Potential proxy IP restriction bypass",
            "affected": [{
                "package": {"name": "golang.org/x/text", "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]
            }]
        }),
    ]
}

/// Writes a v1 database directory (`index/db.json`, `index/modules.json`, `ID/*.json`).
fn write_db(dir: &Path, modified: &str) {
    std::fs::create_dir_all(dir.join("ID")).unwrap();
    std::fs::create_dir_all(dir.join("index")).unwrap();
    let mut modules: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for e in advisories() {
        let id = e["id"].as_str().unwrap().to_string();
        std::fs::write(dir.join(format!("ID/{id}.json")), e.to_string()).unwrap();
        for a in e["affected"].as_array().unwrap() {
            modules
                .entry(a["package"]["name"].as_str().unwrap().to_string())
                .or_default()
                .push(json!({"id": id, "modified": e["modified"]}));
        }
    }
    let index: Vec<Value> = modules
        .into_iter()
        .map(|(path, vulns)| json!({"path": path, "vulns": vulns}))
        .collect();
    std::fs::write(
        dir.join("index/modules.json"),
        Value::from(index).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("index/db.json"),
        json!({ "modified": modified }).to_string(),
    )
    .unwrap();
}

fn db() -> &'static Path {
    static DB: OnceLock<tempfile::TempDir> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        write_db(dir.path(), "2026-01-01T00:00:00Z");
        dir
    })
    .path()
}

/// What one tool says of one advisory in one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    level: Level,
    symbols: BTreeSet<String>,
    fixed: Option<String>,
}

fn govulncheck() -> PathBuf {
    let gopath = common::go_env("GOPATH");
    let candidates = [
        PathBuf::from(gopath.split(':').next().unwrap_or("")).join("bin/govulncheck"),
        PathBuf::from("govulncheck"),
    ];
    for c in candidates {
        if let Ok(out) = Command::new(&c).arg("-version").output()
            && String::from_utf8_lossy(&out.stdout).contains("govulncheck@v1.9.0")
        {
            return c;
        }
    }
    panic!("govulncheck v1.9.0 is not installed: run ci/install-tools.sh");
}

/// govulncheck's findings for one binary: per advisory, the highest level, the symbols of
/// its trace frames (`package.Receiver.Function`) and its fixed version.
fn govulncheck_findings(bin: &Path) -> BTreeMap<String, Seen> {
    let out = Command::new(govulncheck())
        .args(["-mode", "binary", "-format", "json", "-db"])
        .arg(format!("file://{}", db().display()))
        .arg(bin)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "govulncheck failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found: BTreeMap<String, Seen> = BTreeMap::new();
    for msg in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<Value>() {
        let msg = msg.unwrap();
        let Some(f) = msg.get("finding") else {
            continue;
        };
        let frame = &f["trace"][0];
        let str_of = |k: &str| frame.get(k).and_then(Value::as_str).unwrap_or("");
        let level = if !str_of("function").is_empty() {
            Level::Symbol
        } else if !str_of("package").is_empty() {
            Level::Package
        } else {
            Level::Module
        };
        let seen = found
            .entry(f["osv"].as_str().unwrap().to_string())
            .or_insert(Seen {
                level,
                symbols: BTreeSet::new(),
                fixed: f
                    .get("fixed_version")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        seen.level = seen.level.min(level);
        if level == Level::Symbol {
            let mut name = str_of("package").to_string();
            if !str_of("receiver").is_empty() {
                name = format!("{name}.{}", str_of("receiver").trim_start_matches('*'));
            }
            seen.symbols
                .insert(format!("{name}.{}", str_of("function")));
        }
    }
    found
}

/// Runs `goready vuln --format json` with extra args; returns (exit code, checks, stderr).
fn goready_vuln(bins: &[&Path], extra: &[&str]) -> (i32, Vec<Check>, String) {
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("vuln.json");
    let db = db().display().to_string();
    let mut args: Vec<String> = vec![
        "vuln".into(),
        "--format".into(),
        "json".into(),
        "--db".into(),
        db,
        "--json".into(),
        result.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(bins.iter().map(|b| b.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = run_goready(&refs);
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\n{stderr}"));
    let checks: Vec<Check> = serde_json::from_value(doc["checks"].clone()).unwrap();
    // The result file holds the same checks.
    let written = Report::read_json(&result).unwrap();
    assert_eq!(written.checks.len(), checks.len());
    (code, checks, stderr)
}

fn data(c: &Check) -> VulnData {
    match &c.data {
        CheckData::Vuln(d) => (**d).clone(),
        other => panic!("binary.vuln data is VulnData, not {other:?}"),
    }
}

/// goready's view, per binary path, per advisory (toolchain notices apart).
fn goready_findings(checks: &[Check]) -> BTreeMap<String, BTreeMap<String, Seen>> {
    let mut out: BTreeMap<String, BTreeMap<String, Seen>> = BTreeMap::new();
    for c in checks.iter().filter(|c| c.id == "binary.vuln") {
        let target = c.target.clone().unwrap();
        let per = out.entry(target).or_default();
        if c.status == Status::Pass {
            continue;
        }
        let d = data(c);
        if d.module == "toolchain" {
            continue;
        }
        per.insert(
            d.id.clone(),
            Seen {
                level: d.level,
                symbols: d.symbols.iter().cloned().collect(),
                fixed: d.fixed.clone(),
            },
        );
    }
    out
}

#[test]
fn levels_symbols_and_fixed_versions_match_govulncheck_per_binary() {
    let names = [
        "vuln-symbol",
        "vuln-package",
        "vuln-module",
        "vuln-symbol-windows",
    ];
    let bins: Vec<PathBuf> = names.iter().map(|n| fixture(n)).collect();
    let refs: Vec<&Path> = bins.iter().map(PathBuf::as_path).collect();
    let (code, checks, stderr) = goready_vuln(&refs, &[]);
    let ours = goready_findings(&checks);
    for bin in &bins {
        let theirs = govulncheck_findings(bin);
        let mine = &ours[&bin.display().to_string()];
        assert_eq!(mine, &theirs, "{}: goready vs govulncheck", bin.display());
    }
    // The scenario each fixture was written for.
    let at = |name: &str, id: &str| ours[&fixture(name).display().to_string()].get(id).cloned();
    let sym = at("vuln-symbol", "GO-2022-1059").unwrap();
    assert_eq!(sym.level, Level::Symbol);
    assert!(
        sym.symbols
            .contains("golang.org/x/text/language.ParseAcceptLanguage")
    );
    assert_eq!(sym.fixed.as_deref(), Some("v0.3.8"));
    assert_eq!(
        at("vuln-package", "GO-2022-1059").unwrap().level,
        Level::Package
    );
    assert_eq!(
        at("vuln-module", "GO-2022-1059").unwrap().level,
        Level::Module
    );
    for name in names {
        for absent in ["GO-2021-0113", "GO-2022-0617"] {
            assert!(
                at(name, absent).is_none(),
                "{name}: {absent} must not match"
            );
        }
    }
    // The Windows-only block applies to the PE build only.
    for name in ["vuln-symbol", "vuln-package", "vuln-module"] {
        assert!(
            at(name, "GO-2023-2185").is_none(),
            "{name}: GO-2023-2185 is Windows-only"
        );
    }
    let windows = at("vuln-symbol-windows", "GO-2023-2185").expect("GO-2023-2185 on Windows");
    assert_eq!(windows.level, Level::Symbol);
    assert!(
        windows.symbols.contains("path/filepath.Join"),
        "{windows:?}"
    );
    // A vulnerable symbol fails the run even in JSON: exit 1.
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn a_stripped_binary_is_judged_as_govulncheck_judges_its_unstripped_twin() {
    for (stripped, twin) in [
        ("vuln-symbol-stripped", "vuln-symbol"),
        ("vuln-symbol-windows-stripped", "vuln-symbol-windows"),
    ] {
        let (stripped, twin) = (fixture(stripped), fixture(twin));
        let facts = goready::inspect::inspect_path(&stripped, &Default::default())
            .unwrap()
            .unwrap();
        assert!(
            facts.symbols_stripped,
            "{} must be stripped",
            stripped.display()
        );
        let (_, checks, _) = goready_vuln(&[&stripped], &[]);
        let ours = goready_findings(&checks);
        let theirs = govulncheck_findings(&twin);
        // A function inlined at every call site (encoding/asn1.Unmarshal) proves the inline
        // trees were read without the symbol table.
        assert!(
            theirs
                .values()
                .any(|s| s.symbols.contains("encoding/asn1.Unmarshal")),
            "{theirs:?}"
        );
        assert_eq!(
            ours[&stripped.display().to_string()],
            theirs,
            "{} vs govulncheck on its unstripped twin",
            stripped.display()
        );
        for c in checks.iter().filter(|c| c.status == Status::Fail) {
            assert_ne!(
                data(c).evidence,
                Evidence::StrippedFallback,
                "{}",
                c.message
            );
        }
    }
}

#[test]
fn every_finding_says_its_evidence_and_the_toolchain_is_a_notice() {
    let bin = fixture("vuln-module");
    let (code, checks, _) = goready_vuln(&[&bin], &[]);
    let failed: Vec<&Check> = checks.iter().filter(|c| c.status == Status::Fail).collect();
    assert!(!failed.is_empty());
    for c in &failed {
        assert!(c.message.contains("Evidence: "), "{}", c.message);
        assert!(c.message.contains("Database: "), "{}", c.message);
        let d = data(c);
        if d.level != Level::Symbol {
            assert_eq!(
                c.severity,
                goready::model::Severity::Notice,
                "{}",
                c.message
            );
        }
    }
    let tool = failed
        .iter()
        .find(|c| data(c).module == "toolchain")
        .expect("a toolchain notice");
    let d = data(tool);
    assert_eq!(d.id, "GO-2026-6179");
    assert!(tool.message.contains("toolchain"), "{}", tool.message);
    // The Go that built the binary, as govulncheck writes it, at module level, with the fix
    // of its line and a note; govulncheck's binary mode never reports the toolchain.
    let (_, go_fix) = go_range();
    let go = go_version();
    assert_eq!(
        (d.level, d.evidence, d.fixed.clone()),
        (
            Level::Module,
            Evidence::AdvisoryWithoutSymbols,
            Some(format!("v{go_fix}"))
        )
    );
    assert_eq!(d.version, format!("v{}", go.trim_start_matches("go")));
    assert_eq!(tool.severity, goready::model::Severity::Notice);
    assert_eq!(
        d.notes,
        [format!(
            "toolchain: the Go that built this binary ({go}) is affected; the binary's code may not be, rebuild with a fixed Go to be sure"
        )]
    );
    assert!(!govulncheck_findings(&bin).contains_key("GO-2026-6179"));
    // Only notices: the default --fail-on error passes, --fail-on notice fails.
    assert_eq!(code, 0);
    let (code, _, _) = goready_vuln(&[&bin], &["--fail-on", "notice"]);
    assert_eq!(code, 1);
}

#[test]
fn one_finding_per_advisory_names_every_binary() {
    let bins = [fixture("vuln-symbol"), fixture("vuln-package")];
    let refs: Vec<&Path> = bins.iter().map(PathBuf::as_path).collect();
    let (_, checks, _) = goready_vuln(&refs, &[]);
    let report = Report::new(checks);
    let findings = goready::model::findings::findings(&report);
    let text: Vec<&goready::model::Finding> = findings
        .iter()
        .filter(|f| data(f.lead()).id == "GO-2022-1059")
        .collect();
    assert_eq!(text.len(), 1, "one finding for GO-2022-1059");
    let targets = text[0].targets();
    assert_eq!(targets.len(), 2, "{targets:?}");
    // The symbol-level binary makes the finding an error.
    assert_eq!(text[0].severity(), goready::model::Severity::Error);
}

#[test]
fn an_unreachable_database_exits_2_and_names_it() {
    let bin = fixture("vuln-module");
    let missing = "/nonexistent/vulndb-dir";
    let (code, _, stderr) = run_goready(&[
        "vuln",
        "--db",
        missing,
        "--format",
        "json",
        bin.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(missing), "{stderr}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (code, _, stderr) = run_goready(&[
        "vuln",
        "--db",
        &url,
        "--cache",
        "off",
        bin.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
}

#[test]
fn suppressions_show_their_reason_and_fail_again_after_until() {
    let bin = fixture("vuln-symbol");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("goready.toml");
    let run = |until: &str| {
        std::fs::write(
            &config,
            format!(
                "[vuln]\nmax_age = \"100000d\"\nignore = [{{ id = \"CVE-2022-32149\", reason = \"only trusted headers reach it\", until = \"{until}\" }}]\n"
            ),
        )
        .unwrap();
        goready_vuln(&[&bin], &["--config", config.to_str().unwrap()])
    };
    let (_, checks, stderr) = run("2999-01-31");
    let c = checks
        .iter()
        .find(|c| matches!(&c.data, CheckData::Vuln(d) if d.id == "GO-2022-1059"))
        .unwrap();
    assert_eq!(c.status, Status::Skip, "{}", c.message);
    assert!(c.message.contains("only trusted headers reach it"));
    assert_eq!(
        data(c).suppressed.unwrap().reason,
        "only trusted headers reach it"
    );
    assert!(!stderr.contains("max_age"), "{stderr}");
    let (_, checks, _) = run("2020-01-31");
    let c = checks
        .iter()
        .find(|c| matches!(&c.data, CheckData::Vuln(d) if d.id == "GO-2022-1059"))
        .unwrap();
    assert_eq!(c.status, Status::Fail);
    assert!(c.message.contains("expired on 2020-01-31"), "{}", c.message);
}

#[test]
fn the_report_names_the_database_and_warns_when_it_is_old() {
    let bin = fixture("vuln-module");
    let (_, stdout, stderr) = run_goready(&[
        "vuln",
        "--db",
        db().to_str().unwrap(),
        bin.to_str().unwrap(),
    ]);
    assert!(stdout.contains(&db().display().to_string()), "{stdout}");
    assert!(stdout.contains("modified 2026-01-01"), "{stdout}");
    // Written 2026-01-01: older than the default seven days.
    assert!(stdout.contains("max_age"), "{stdout}");
    assert!(stderr.contains("max_age"), "{stderr}");
}

#[test]
fn findings_point_at_the_require_line_of_go_mod_and_sarif_keeps_it() {
    let bin = fixture("vuln-symbol");
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("vuln.json");
    let sarif = dir.path().join("vuln.sarif");
    let out = common::goready()
        .current_dir(common::repo().join("tests/fixtures/vuln"))
        .args(["vuln", "--db"])
        .arg(db())
        .arg("--json")
        .arg(&result)
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = Report::read_json(&result).unwrap();
    let go_mod =
        std::fs::read_to_string(common::repo().join("tests/fixtures/vuln/go.mod")).unwrap();
    let line_of = |prefix: &str| {
        go_mod
            .lines()
            .position(|l| l.trim_start().starts_with(prefix))
            .map(|i| i as u32 + 1)
            .unwrap()
    };
    for c in report.checks.iter().filter(|c| c.status == Status::Fail) {
        let d = data(c);
        let want = match d.module.as_str() {
            "stdlib" | "toolchain" => line_of("go "),
            "golang.org/x/text" => line_of("require golang.org/x/text"),
            other => panic!("unexpected module {other}"),
        };
        assert_eq!(c.file.as_deref(), Some("go.mod"), "{}", c.message);
        assert_eq!(c.line, Some(want), "{}: {}", d.id, c.message);
    }
    let (code, _, stderr) = run_goready(&[
        "report",
        result.to_str().unwrap(),
        "--sarif",
        sarif.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let x_text = results
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .contains("GO-2022-1059")
        })
        .expect("a SARIF result for GO-2022-1059");
    let loc = &x_text["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "go.mod");
    assert_eq!(
        loc["region"]["startLine"],
        line_of("require golang.org/x/text")
    );
}

/// A copy of the fixture module in a temporary folder, for `goready build` to write dist/.
fn module_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = common::repo().join("tests/fixtures/vuln");
    for f in ["go.mod", "go.sum", "cmd/symbol/main.go"] {
        let to = dir.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(f), &to).unwrap();
    }
    dir
}

#[test]
fn build_scans_the_binaries_it_built_and_an_unreachable_database_is_a_skip_unless_required() {
    let module = module_copy();
    let config = module.path().join("goready.toml");
    let build = |toml: &str| {
        std::fs::write(&config, toml).unwrap();
        let json = module.path().join("build.json");
        let out = common::goready()
            .current_dir(module.path())
            .args(["build", ".", "--pkg", "./cmd/symbol", "--target"])
            .arg(format!("linux/{}", common::host_goarch()))
            .arg("--json")
            .arg(&json)
            .arg("--config")
            .arg(&config)
            .env("GOFLAGS", "-mod=mod")
            .env_remove("GOREADY_VULN_DB")
            .output()
            .unwrap();
        let report = Report::read_json(&json).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        let vuln: Vec<Check> = report
            .checks
            .into_iter()
            .filter(|c| c.id == "binary.vuln")
            .collect();
        (out.status.code(), vuln)
    };
    let label = format!("linux/{} cgo=0", common::host_goarch());
    let (code, vuln) = build(&format!("[vuln]\ndb = \"{}\"\n", db().display()));
    assert_eq!(code, Some(1));
    let x_text = vuln
        .iter()
        .find(|c| c.status == Status::Fail && data(c).id == "GO-2022-1059")
        .expect("GO-2022-1059 in the built binary");
    assert_eq!(x_text.target.as_deref(), Some(label.as_str()));
    assert_eq!(data(x_text).level, Level::Symbol);
    assert_eq!(x_text.file.as_deref(), Some("go.mod"));

    let missing = "/nonexistent/goready-vulndb";
    let (_, vuln) = build(&format!("[vuln]\ndb = \"{missing}\"\n"));
    assert_eq!(vuln.len(), 1, "{vuln:?}");
    assert_eq!(vuln[0].status, Status::Skip);
    assert!(vuln[0].message.contains(missing), "{}", vuln[0].message);

    let (code, vuln) = build(&format!("[vuln]\ndb = \"{missing}\"\nrequired = true\n"));
    assert_eq!(vuln[0].status, Status::Error, "{}", vuln[0].message);
    assert_eq!(code, Some(1));
}

/// `go version -m` of a binary: (dependency lines as `path version [=> path version]`, the
/// main module's version).
fn go_version_m(bin: &Path) -> (Vec<String>, String) {
    let out = common::run_ok(Command::new("go").args(["version", "-m"]).arg(bin));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut deps: Vec<String> = Vec::new();
    let mut main = String::new();
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split('\t').collect();
        match f.as_slice() {
            ["mod", _, v, ..] => main = v.to_string(),
            ["dep", p, v, ..] => deps.push(format!("{p} {v}")),
            ["=>", p, v, ..] => {
                let last = deps.last_mut().expect("=> follows a dep line");
                *last = format!("{last} => {p} {v}");
            }
            _ => {}
        }
    }
    (deps, main)
}

/// The checks of one target.
fn of_target<'c>(checks: &'c [Check], bin: &Path) -> Vec<&'c Check> {
    let target = bin.display().to_string();
    checks
        .iter()
        .filter(|c| c.id == "binary.vuln" && c.target.as_deref() == Some(target.as_str()))
        .collect()
}

fn failed<'c>(checks: &[&'c Check], id: &str) -> Option<&'c Check> {
    checks
        .iter()
        .copied()
        .find(|c| c.status == Status::Fail && data(c).id == id)
}

#[test]
fn a_fork_is_checked_at_module_level_against_its_upstream_and_its_own_advisories() {
    let bin = fixture("vuln-fork");
    // The reference reader sees the replace this fixture is about.
    let (deps, _) = go_version_m(&bin);
    assert!(
        deps.contains(&"golang.org/x/text v0.3.7 => github.com/golang/text v0.3.7".to_string()),
        "{deps:?}"
    );
    let (code, checks, stderr) = goready_vuln(&[&bin], &[]);
    let ours = of_target(&checks, &bin);
    let theirs = govulncheck_findings(&bin);

    // The upstream's advisory: the mirror is the same code at the same tag. govulncheck
    // looks entries up by the replacement's path and keeps only blocks of the replaced one,
    // so it says nothing; goready sets the upstream's range against the fork's version.
    assert!(!theirs.contains_key("GO-2022-1059"), "{theirs:?}");
    let up = failed(&ours, "GO-2022-1059").expect("GO-2022-1059 on the fork");
    let d = data(up);
    assert_eq!(
        (d.module.as_str(), d.version.as_str(), d.level, d.evidence),
        ("golang.org/x/text", "v0.3.7", Level::Module, Evidence::Fork)
    );
    assert_eq!(d.fixed.as_deref(), Some("v0.3.8"));
    assert!(d.symbols.is_empty(), "{d:?}");
    assert_eq!(up.severity, goready::model::Severity::Notice);
    assert_eq!(d.notes.len(), 1, "{:?}", d.notes);
    assert!(
        d.notes[0].starts_with(
            "fork: golang.org/x/text is replaced by github.com/golang/text v0.3.7; the advisory's ranges for golang.org/x/text"
        ),
        "{:?}",
        d.notes
    );
    assert!(
        up.message
            .contains("Evidence: the module is replaced by a fork"),
        "{}",
        up.message
    );

    // The fork's own advisory: govulncheck fetches it but drops its blocks (they name the
    // fork's path, the build info's dep line the upstream's); goready keeps it, module level.
    assert!(!theirs.contains_key("GO-0000-0001"), "{theirs:?}");
    let own = failed(&ours, "GO-0000-0001").expect("the fork's own advisory");
    let d = data(own);
    assert_eq!(
        (d.module.as_str(), d.version.as_str(), d.level, d.evidence),
        (
            "github.com/golang/text",
            "v0.3.7",
            Level::Module,
            Evidence::Fork
        )
    );
    assert!(
        d.notes[0].contains("the fork's own advisory"),
        "{:?}",
        d.notes
    );

    // Fixed at the fork's version: not claimed. Everything else is govulncheck's answer.
    assert!(failed(&ours, "GO-2021-0113").is_none());
    let mut rest = goready_findings(&checks)
        .remove(&bin.display().to_string())
        .unwrap();
    rest.remove("GO-2022-1059");
    rest.remove("GO-0000-0001");
    assert_eq!(rest, theirs);
    // Notices only: the default --fail-on error passes.
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_directory_replacement_is_named_as_not_checked_where_govulncheck_is_silent() {
    let bin = fixture("vuln-local");
    let (deps, _) = go_version_m(&bin);
    assert!(
        deps.contains(&"golang.org/x/text v0.3.7 => ./text (devel)".to_string()),
        "{deps:?}"
    );
    let (_, checks, _) = goready_vuln(&[&bin], &[]);
    let ours = of_target(&checks, &bin);
    let theirs = govulncheck_findings(&bin);
    // The local copy holds the function GO-2022-1059 names, under the upstream's path, but
    // has no version: neither tool claims the advisory.
    assert!(!theirs.contains_key("GO-2022-1059"), "{theirs:?}");
    assert!(failed(&ours, "GO-2022-1059").is_none());
    assert_eq!(
        goready_findings(&checks)[&bin.display().to_string()],
        theirs
    );
    // goready says so on every check of the binary (withdrawn GO-2022-0617 left out).
    let note = "golang.org/x/text is replaced by the directory ./text, which has no version: its advisories (GO-2021-0113, GO-2022-1059) are not checked";
    assert!(!ours.is_empty());
    for c in &ours {
        assert!(c.message.contains(note), "{}", c.message);
        if c.status == Status::Fail {
            assert!(
                data(c).notes.iter().any(|n| n == note),
                "{:?}",
                data(c).notes
            );
        }
    }
}

/// The main module of tests/fixtures/vuln-main built five ways in a git repository tagged
/// v1.2.3, in this order: at the tag, the tag with an uncommitted change, one commit later
/// (Go 1.24+ stamps a pseudo-version built on the tag), that with an uncommitted change, and
/// without VCS stamping. Commit dates are fixed, so the pseudo-version's time is known.
struct VcsBuilds {
    _dir: tempfile::TempDir,
    /// (name, binary).
    bins: Vec<(&'static str, PathBuf)>,
    /// The second commit's hash.
    head: String,
}

fn vcs_builds() -> &'static VcsBuilds {
    static B: OnceLock<VcsBuilds> = OnceLock::new();
    B.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        for f in ["go.mod", "main.go"] {
            std::fs::copy(common::repo().join(SRC_MAIN).join(f), repo.join(f)).unwrap();
        }
        let git = |args: &[&str], date: &str| {
            common::run_ok(
                Command::new("git")
                    .current_dir(&repo)
                    .args(["-c", "user.name=goready", "-c", "user.email=t@example.com"])
                    .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
                    .args(args)
                    .env("GIT_CONFIG_GLOBAL", "/dev/null")
                    .env("GIT_AUTHOR_DATE", date)
                    .env("GIT_COMMITTER_DATE", date),
            )
        };
        let go_build = |name: &'static str, vcs: bool| {
            let out = dir.path().join(name);
            common::run_ok(
                Command::new("go")
                    .current_dir(&repo)
                    .arg("build")
                    .arg(format!("-buildvcs={vcs}"))
                    .arg("-o")
                    .arg(&out)
                    .arg(".")
                    .env("GOFLAGS", "")
                    .env("GOTOOLCHAIN", "local")
                    .env("CGO_ENABLED", "0"),
            );
            (name, out)
        };
        let touch = || {
            let main = repo.join("main.go");
            let mut text = std::fs::read_to_string(&main).unwrap();
            text.push_str("\n// changed\n");
            std::fs::write(&main, text).unwrap();
        };
        const D1: &str = "2026-01-02T03:04:05Z";
        const D2: &str = "2026-02-03T04:05:06Z";
        git(&["init", "-q", "-b", "main"], D1);
        git(&["add", "."], D1);
        git(&["commit", "-q", "-m", "one"], D1);
        git(&["tag", "v1.2.3"], D1);
        let mut bins = vec![go_build("vcs-tag", true)];
        touch();
        bins.push(go_build("vcs-tag-dirty", true));
        git(&["commit", "-q", "-a", "-m", "two"], D2);
        bins.push(go_build("vcs-pseudo", true));
        touch();
        bins.push(go_build("vcs-pseudo-dirty", true));
        bins.push(go_build("vcs-devel", false));
        let head = String::from_utf8(git(&["rev-parse", "HEAD"], D2).stdout)
            .unwrap()
            .trim()
            .to_string();
        VcsBuilds {
            _dir: dir,
            bins,
            head,
        }
    })
}

#[test]
fn a_main_module_at_a_pseudo_version_or_dirty_is_low_confidence_and_devel_is_named() {
    let b = vcs_builds();
    let pseudo = format!("v1.2.4-0.20260203040506-{}", &b.head[..12]);
    let want = [
        ("vcs-tag", "v1.2.3".to_string(), None),
        (
            "vcs-tag-dirty",
            "v1.2.3+dirty".to_string(),
            Some("uncommitted changes"),
        ),
        (
            "vcs-pseudo",
            pseudo.clone(),
            Some("derived from the last tag"),
        ),
        (
            "vcs-pseudo-dirty",
            format!("{pseudo}+dirty"),
            Some("derived from the last tag"),
        ),
        ("vcs-devel", "(devel)".to_string(), None),
    ];
    let paths: Vec<&Path> = b.bins.iter().map(|(_, p)| p.as_path()).collect();
    let (code, checks, stderr) = goready_vuln(&paths, &[]);
    let all = goready_findings(&checks);
    for ((name, bin), (wname, version, low)) in b.bins.iter().zip(want) {
        assert_eq!(*name, wname);
        // The version the go command stamped, as the reference reader shows it.
        assert_eq!(go_version_m(bin).1, version, "{name}");
        // The same advisories, levels, symbols and fixes as govulncheck (which also matches
        // the main module, and passes over (devel)).
        let theirs = govulncheck_findings(bin);
        assert_eq!(
            all[&bin.display().to_string()],
            theirs,
            "{name} vs govulncheck"
        );
        let ours = of_target(&checks, bin);
        let Some(c) = failed(&ours, "GO-0000-0002") else {
            assert_eq!(
                name, &"vcs-devel",
                "{name}: the main module's advisory is missing"
            );
            // Not compared, as govulncheck, but said.
            for c in &ours {
                assert!(
                    c.message.contains(
                        "the main module example.com/vulnmain is at (devel), built without a VCS version: its advisories (GO-0000-0002) are not checked"
                    ),
                    "{}",
                    c.message
                );
            }
            assert!(!ours.is_empty());
            continue;
        };
        let d = data(c);
        assert_eq!(d.version, version, "{name}");
        assert_eq!(d.module, "example.com/vulnmain");
        assert_eq!(d.level, Level::Symbol, "{name}");
        assert_eq!(d.symbols, ["example.com/vulnmain.main"], "{name}");
        assert_eq!(d.fixed.as_deref(), Some("v1.2.4"));
        let flagged: Vec<&String> = d
            .notes
            .iter()
            .filter(|n| n.starts_with("low confidence: "))
            .collect();
        match low {
            None => assert!(flagged.is_empty(), "{name}: {flagged:?}"),
            Some(why) => {
                assert_eq!(flagged.len(), 1, "{name}: {:?}", d.notes);
                assert!(flagged[0].contains(&version), "{name}: {flagged:?}");
                assert!(flagged[0].contains(why), "{name}: {flagged:?}");
                assert!(c.message.contains("Note: low confidence"), "{}", c.message);
            }
        }
    }
    // A symbol-level finding still fails the run: low confidence is said, not hidden.
    assert_eq!(code, 1, "{stderr}");
}

/// Go's `binary.Uvarint`.
fn uvarint(b: &[u8]) -> (u64, usize) {
    let mut v = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    panic!("bad uvarint");
}

/// A crafted fixture: a copy of the 64-bit little-endian ELF `bin` whose `.go.buildinfo` is
/// rewritten in the layout Go 1.13–1.17 linkers wrote (flags 0: two pointers at 16 and 24 to
/// `{data, len}` string headers), claiming `go` as its Go version, and with the modinfo of
/// that era (no `build` lines, so no GOOS/GOARCH). Only Go ≥ 1.24 can be run here; the
/// function table stays the modern one, which is what "as far as the tables allow" reads.
fn pre_118_copy(bin: &Path, go: &str, out: &Path) {
    use object::{Object, ObjectSection};
    let mut bytes = std::fs::read(bin).unwrap();
    let (addr, off, size) = {
        let file = object::File::parse(&*bytes).unwrap();
        let s = file.section_by_name(".go.buildinfo").unwrap();
        let (off, size) = s.file_range().unwrap();
        (s.address(), off as usize, size as usize)
    };
    let sec = &bytes[off..off + size];
    assert_eq!(&sec[..14], b"\xff Go buildinf:");
    assert_eq!(sec[15] & 2, 2, "the source binary has the inline layout");
    let (vlen, n) = uvarint(&sec[32..]);
    let mut at = 32 + n + vlen as usize;
    let (mlen, n) = uvarint(&sec[at..]);
    at += n;
    let framed = &sec[at..at + mlen as usize];
    // The 16-byte sentinels stay; the lines between them lose `build` (Go 1.18+).
    let (head, body, tail) = (
        &framed[..16],
        &framed[16..framed.len() - 16],
        &framed[framed.len() - 16..],
    );
    let body: String = String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.starts_with("build\t"))
        .map(|l| format!("{l}\n"))
        .collect();
    let modinfo = [head, body.as_bytes(), tail].concat();
    let mut new = Vec::new();
    new.extend_from_slice(b"\xff Go buildinf:");
    new.extend_from_slice(&[8, 0]);
    let put = |v: &mut Vec<u8>, x: u64| v.extend_from_slice(&x.to_le_bytes());
    put(&mut new, addr + 32);
    put(&mut new, addr + 48);
    put(&mut new, addr + 64);
    put(&mut new, go.len() as u64);
    put(&mut new, addr + 64 + go.len() as u64);
    put(&mut new, modinfo.len() as u64);
    new.extend_from_slice(go.as_bytes());
    new.extend_from_slice(&modinfo);
    assert!(new.len() <= size, "{} > {size}", new.len());
    new.resize(size, 0);
    bytes[off..off + size].copy_from_slice(&new);
    std::fs::write(out, bytes).unwrap();
}

#[test]
fn a_go_1_17_build_info_layout_is_scanned_as_far_as_it_allows_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("vuln-symbol-go1.17");
    pre_118_copy(&fixture("vuln-symbol"), "go1.17.13", &old);
    // Go's own reader takes the crafted blob as the old layout.
    let out = common::run_ok(Command::new("go").args(["version", "-m"]).arg(&old));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("{}: go1.17.13\n", old.display())),
        "{text}"
    );
    assert!(!text.contains("\tbuild\t"), "{text}");
    assert_eq!(go_version_m(&old).0, ["golang.org/x/text v0.3.7"]);
    // govulncheck v1.9.0 reads the build info, finds no function-table layout it knows for
    // go1.17, and refuses the file.
    let refused = Command::new(govulncheck())
        .args(["-mode", "binary", "-db"])
        .arg(format!("file://{}", db().display()))
        .arg(&old)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("unrecognized binary format"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let (_, checks, stderr) = goready_vuln(&[&old], &[]);
    let ours = of_target(&checks, &old);
    assert!(!ours.is_empty(), "{stderr}");
    // Not refused: the modules and the function table are read.
    let x_text = failed(&ours, "GO-2022-1059").expect("GO-2022-1059 in the old-layout binary");
    let d = data(x_text);
    assert_eq!((d.level, d.version.as_str()), (Level::Symbol, "v0.3.7"));
    assert!(
        d.symbols
            .contains(&"golang.org/x/text/language.ParseAcceptLanguage".to_string()),
        "{d:?}"
    );
    // stdlib at the Go the build info names (v1.17.13 is below the 1.25.13 fix).
    let asn1 = failed(&ours, "GO-2026-5972").expect("GO-2026-5972 at go1.17.13");
    assert_eq!(data(asn1).version, "v1.17.13");
    assert_eq!(data(asn1).fixed.as_deref(), Some("v1.25.13"));
    // No GOOS in a Go 1.17 build info: the ELF file says linux, so the Windows-only
    // advisory still does not match.
    assert!(failed(&ours, "GO-2023-2185").is_none());
    // Each finding says what kind of binary it was read from.
    for c in ours.iter().filter(|c| c.status == Status::Fail) {
        assert!(
            data(c).notes.iter().any(|n| n.starts_with(
                "built with go1.17.13: govulncheck v1.9.0 refuses binaries before Go 1.18"
            )),
            "{:?}",
            data(c).notes
        );
    }
}
