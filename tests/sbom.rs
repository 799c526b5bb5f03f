//! `goready sbom` and `goready build --sbom` on real Go binaries: tests/fixtures/sbom (a module
//! from the module proxy, rsc.io/quote and what it requires; one module replaced by another
//! version of itself; one replaced by a local directory) built for this machine, cross-compiled
//! for the other architecture, and for darwin and windows. Every document is validated by the
//! official validators pinned in ci/requirements.txt (cyclonedx-python-lib's strict 1.6 JSON
//! schema, spdx-tools' `pyspdxtools`); the module set is compared with `go version -m` and with
//! `cyclonedx-gomod bin` v1.10.0 (ci/install-tools.sh installs both kinds of tool).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use common::*;
use serde_json::Value;

const SRC: &str = "tests/fixtures/sbom";

/// The architecture that is not this machine's: the cross-compiled fixture's.
fn cross_goarch() -> &'static str {
    if host_goarch() == "arm64" {
        "amd64"
    } else {
        "arm64"
    }
}

fn specs() -> Vec<Spec> {
    let spec = |name, goos, goarch, flags| Spec {
        name,
        src: SRC,
        goos,
        goarch,
        cgo: false,
        flags,
    };
    vec![
        spec(
            "sbomsvc-native",
            "linux",
            host_goarch(),
            &["-ldflags=-X main.Version=1.4.0"] as &'static [&'static str],
        ),
        spec(
            "sbomsvc-cross",
            "linux",
            cross_goarch(),
            &["-trimpath", "-ldflags=-s -w -X main.Version=1.4.0"],
        ),
        spec(
            "sbomsvc-darwin-arm64",
            "darwin",
            "arm64",
            &["-ldflags=-X main.Version=1.4.0"],
        ),
        spec(
            "sbomsvc-windows-amd64.exe",
            "windows",
            "amd64",
            &["-ldflags=-X main.Version=1.4.0"],
        ),
    ]
}

/// Every fixture, built once per test process (two at a time).
fn binaries() -> &'static BTreeMap<&'static str, PathBuf> {
    static ALL: OnceLock<BTreeMap<&'static str, PathBuf>> = OnceLock::new();
    ALL.get_or_init(|| {
        let queue = Mutex::new(specs());
        let done = Mutex::new(BTreeMap::new());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    loop {
                        let Some(spec) = queue.lock().unwrap().pop() else {
                            break;
                        };
                        let path = build(&spec);
                        done.lock().unwrap().insert(spec.name, path);
                    }
                });
            }
        });
        done.into_inner().unwrap()
    })
}

fn bin(name: &str) -> PathBuf {
    binaries()
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn scratch() -> tempfile::TempDir {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sbom-tests");
    std::fs::create_dir_all(&root).unwrap();
    tempfile::tempdir_in(root).unwrap()
}

/// Runs `goready sbom ARGS` with `env`; (exit code, stdout, stderr).
fn sbom(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = goready();
    cmd.arg("sbom").args(args).env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes every fixture's document in `format` into a fresh directory; returns it.
fn documents(format: &str) -> (tempfile::TempDir, BTreeMap<&'static str, PathBuf>) {
    let dir = scratch();
    let files: Vec<PathBuf> = binaries().values().cloned().collect();
    let mut args: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let out = dir.path().to_str().unwrap().to_string();
    args.extend(["--format", format, "--out", &out]);
    let (code, stdout, stderr) = sbom(&args, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let ext = if format == "spdx" {
        "spdx.json"
    } else {
        "cdx.json"
    };
    let docs = binaries()
        .keys()
        .map(|name| {
            let path = dir.path().join(format!("{name}.{ext}"));
            assert!(
                path.is_file(),
                "{} missing; goready said {stdout}",
                path.display()
            );
            assert!(stdout.contains(&path.display().to_string()), "{stdout}");
            (*name, path)
        })
        .collect();
    (dir, docs)
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// cyclonedx-python-lib's strict CycloneDX 1.6 JSON validator over `files`; the errors, one
/// line per invalid file.
const CDX_VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
validator = JsonStrictValidator(SchemaVersion.V1_6)
bad = 0
for path in sys.argv[1:]:
    with open(path) as f:
        error = validator.validate_str(f.read())
    if error is not None:
        bad += 1
        print(path, str(error).splitlines()[0])
sys.exit(1 if bad else 0)
"#;

fn validate_cyclonedx(files: &[&Path]) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(CDX_VALIDATE)
        .args(files)
        .output()
        .expect("python3 (pip install -r ci/requirements.txt)");
    assert!(
        out.status.success(),
        "CycloneDX 1.6 strict validation failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn validate_spdx(file: &Path) {
    let out = Command::new("pyspdxtools")
        .arg("-i")
        .arg(file)
        .output()
        .expect("pyspdxtools (pip install -r ci/requirements.txt)");
    assert!(
        out.status.success(),
        "pyspdxtools -i {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A module as `go version -m` shows it: (path, version, sum), the replacement's when
/// replaced, and the original (path, version) it replaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GoMod {
    path: String,
    version: String,
    sum: String,
    replaces: Option<(String, String)>,
}

/// `go version -m FILE`: the Go version and the dependency modules.
fn go_version_m(bin: &Path) -> (String, Vec<GoMod>) {
    let out = run_ok(Command::new("go").args(["version", "-m"]).arg(bin));
    let text = String::from_utf8(out.stdout).unwrap();
    let go = text
        .lines()
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .to_string();
    let mut mods: Vec<GoMod> = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.trim_start().split('\t').collect();
        match cols.as_slice() {
            ["dep", path, version, rest @ ..] => mods.push(GoMod {
                path: path.to_string(),
                version: version.to_string(),
                sum: rest.first().unwrap_or(&"").to_string(),
                replaces: None,
            }),
            ["=>", path, version, rest @ ..] => {
                let last = mods.last_mut().unwrap();
                last.replaces = Some((last.path.clone(), last.version.clone()));
                last.path = path.to_string();
                last.version = version.to_string();
                last.sum = rest.first().unwrap_or(&"").to_string();
            }
            _ => {}
        }
    }
    (go, mods)
}

fn prop<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_str())
}

/// The CycloneDX components as `go version -m` would list them: the local directory
/// replacement under its directory, (devel), like go does.
fn cdx_modules(doc: &Value) -> Vec<GoMod> {
    let mut out: Vec<GoMod> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] != "stdlib")
        .map(|c| {
            let replaces = prop(c, "goready:gomod:replaces").map(|r| {
                let (p, v) = r.split_once(' ').unwrap();
                (p.to_string(), v.to_string())
            });
            match prop(c, "goready:gomod:replaced-by-directory") {
                Some(dir) => GoMod {
                    path: dir.to_string(),
                    version: "(devel)".into(),
                    sum: String::new(),
                    replaces,
                },
                None => GoMod {
                    path: c["name"].as_str().unwrap().to_string(),
                    version: c["version"].as_str().unwrap().to_string(),
                    sum: prop(c, "goready:gomod:h1").unwrap_or("").to_string(),
                    replaces,
                },
            }
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_document_passes_the_official_cyclonedx_and_spdx_validators() {
    let (_dir, cdx) = documents("cyclonedx");
    let files: Vec<&Path> = cdx.values().map(PathBuf::as_path).collect();
    validate_cyclonedx(&files);
    let (_dir2, spdx) = documents("spdx");
    for file in spdx.values() {
        validate_spdx(file);
    }
    // The validators are not a rubber stamp: a document that breaks the schema is refused.
    let broken = scratch();
    let mut doc = json(&cdx["sbomsvc-native"]);
    doc["components"][0]["hashes"] = serde_json::json!([{"alg": "h1", "content": "x"}]);
    let bad = broken.path().join("bad.cdx.json");
    std::fs::write(&bad, doc.to_string()).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(CDX_VALIDATE)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success(), "an h1 hash must be refused");
}

#[test]
fn module_set_matches_go_version_m_with_replacements_sums_and_stdlib() {
    let (_dir, cdx) = documents("cyclonedx");
    let (_dir2, spdx) = documents("spdx");
    for (name, path) in binaries() {
        let (go, mut expected) = go_version_m(path);
        expected.sort();
        let doc = json(&cdx[name]);
        assert_eq!(cdx_modules(&doc), expected, "{name}");
        // The fixture's three cases are really there.
        assert!(
            expected
                .iter()
                .any(|m| m.path == "rsc.io/quote" && m.sum.starts_with("h1:"))
        );
        let sampler = expected
            .iter()
            .find(|m| m.path == "rsc.io/sampler")
            .unwrap();
        assert_eq!(sampler.version, "v1.99.99");
        assert_eq!(
            sampler.replaces,
            Some(("rsc.io/sampler".into(), "v1.3.0".into()))
        );
        assert!(expected.iter().any(|m| m.path == "./greet"));

        let components = doc["components"].as_array().unwrap();
        let sampler = components
            .iter()
            .find(|c| c["name"] == "rsc.io/sampler")
            .unwrap();
        assert_eq!(sampler["purl"], "pkg:golang/rsc.io/sampler@v1.99.99");
        assert_eq!(sampler["pedigree"]["ancestors"][0]["version"], "v1.3.0");
        let greet = components
            .iter()
            .find(|c| c["name"] == "example.com/greet")
            .unwrap();
        assert!(
            greet.get("purl").is_none(),
            "a local directory claims no published module"
        );

        // The standard library, once, at the Go version as semver.
        let std: Vec<&Value> = components
            .iter()
            .filter(|c| c["name"] == "stdlib")
            .collect();
        assert_eq!(std.len(), 1);
        let semver = format!("v{}", go.trim_start_matches("go"));
        assert_eq!(std[0]["version"], semver.as_str());
        assert_eq!(std[0]["purl"], format!("pkg:golang/stdlib@{semver}"));

        // The main component depends on every component; the graph's limits are stated.
        let main_ref = doc["metadata"]["component"]["bom-ref"].as_str().unwrap();
        let deps = &doc["dependencies"];
        assert_eq!(deps.as_array().unwrap().len(), 1);
        assert_eq!(deps[0]["ref"], main_ref);
        let refs: BTreeSet<&str> = components
            .iter()
            .map(|c| c["bom-ref"].as_str().unwrap())
            .collect();
        let depends: BTreeSet<&str> = deps[0]["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(depends, refs);
        assert!(
            prop(&doc["metadata"], "goready:dependencies")
                .unwrap()
                .contains("not which module requires which")
        );

        // SPDX: the same modules, by purl, each DEPENDS_ON from the described package.
        let sp = json(&spdx[name]);
        let packages = sp["packages"].as_array().unwrap();
        assert_eq!(
            packages.len(),
            expected.len() + 2,
            "{name}: the file, the modules, stdlib"
        );
        let purls: BTreeSet<String> = packages[1..]
            .iter()
            .flat_map(|p| p["externalRefs"].as_array().cloned().unwrap_or_default())
            .map(|r| r["referenceLocator"].as_str().unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = components
            .iter()
            .filter_map(|c| c["purl"].as_str().map(str::to_string))
            .collect();
        assert_eq!(purls, want, "{name}");
        let described = sp["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["relationshipType"] == "DESCRIBES")
            .unwrap()["relatedSpdxElement"]
            .clone();
        assert_eq!(described, packages[0]["SPDXID"]);
        let depends_on = sp["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["relationshipType"] == "DEPENDS_ON" && r["spdxElementId"] == described)
            .count();
        assert_eq!(depends_on, packages.len() - 1);
    }
}

#[test]
fn the_file_itself_is_the_main_component_with_its_hash_version_and_platform() {
    let (_dir, cdx) = documents("cyclonedx");
    let (_dir2, spdx) = documents("spdx");
    for (name, path) in binaries() {
        let doc = json(&cdx[name]);
        let main = &doc["metadata"]["component"];
        let sha = tool("sha256sum", &[], path);
        let sha = sha.split_whitespace().next().unwrap();
        assert_eq!(main["hashes"][0]["alg"], "SHA-256");
        assert_eq!(main["hashes"][0]["content"], sha, "{name}");
        assert_eq!(main["type"], "application");
        assert_eq!(main["name"], "example.com/sbomsvc");
        // The -X version: from the symbol table, or (stripped, -trimpath) nowhere but the
        // data, which goready sbom does not guess at.
        let spec = specs().into_iter().find(|s| s.name == *name).unwrap();
        let stripped = spec.flags.iter().any(|f| f.contains("-s -w"));
        let version = if stripped { None } else { Some("1.4.0") };
        assert_eq!(main["version"].as_str(), version, "{name}");
        let purl = main["purl"].as_str().unwrap();
        let expected_purl = format!(
            "pkg:golang/example.com/sbomsvc{}?goarch={}&goos={}",
            version.map(|v| format!("@{v}")).unwrap_or_default(),
            spec.goarch,
            spec.goos
        );
        assert_eq!(purl, expected_purl, "{name}");
        assert_eq!(prop(main, "goready:build:GOOS"), Some(spec.goos));
        assert_eq!(prop(main, "goready:build:GOARCH"), Some(spec.goarch));
        assert_eq!(prop(main, "goready:build:CGO_ENABLED"), Some("0"));
        if stripped {
            assert_eq!(prop(main, "goready:build:-trimpath"), Some("true"));
        } else {
            assert_eq!(
                prop(main, "goready:build:-X:main.Version"),
                Some("1.4.0"),
                "{name}"
            );
        }
        assert_eq!(doc["metadata"]["tools"]["components"][0]["name"], "goready");

        let sp = json(&spdx[name]);
        let file = &sp["packages"][0];
        assert_eq!(file["checksums"][0]["algorithm"], "SHA256");
        assert_eq!(file["checksums"][0]["checksumValue"], sha);
        assert_eq!(file["packageFileName"], *name);
        assert_eq!(file["externalRefs"][0]["referenceLocator"], purl);
    }
}

/// cyclonedx-gomod, pinned by ci/install-tools.sh into GOBIN.
fn cyclonedx_gomod() -> PathBuf {
    let gobin = go_env("GOBIN");
    let dir = if gobin.is_empty() {
        PathBuf::from(go_env("GOPATH")).join("bin")
    } else {
        PathBuf::from(gobin)
    };
    let path = dir.join("cyclonedx-gomod");
    assert!(
        path.is_file(),
        "{} is missing: run ci/install-tools.sh (go install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0)",
        path.display()
    );
    path
}

#[test]
fn module_set_matches_cyclonedx_gomod_which_gets_the_cross_compiled_platform_wrong() {
    let (_dir, cdx) = documents("cyclonedx");
    let out_dir = scratch();
    for name in ["sbomsvc-native", "sbomsvc-cross"] {
        let path = bin(name);
        let theirs_path = out_dir.path().join(format!("{name}.gomod.json"));
        let out = Command::new(cyclonedx_gomod())
            .args(["bin", "-json", "-output"])
            .arg(&theirs_path)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = json(&theirs_path);
        let ours = json(&cdx[name]);
        // The same (name, version) pairs; cyclonedx-gomod names a directory replacement by
        // its directory, goready by the module path it stands in for.
        let their_set: BTreeSet<(String, String)> = theirs["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["version"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let our_set: BTreeSet<(String, String)> = cdx_modules(&ours)
            .into_iter()
            .map(|m| (m.path, m.version))
            .collect();
        assert_eq!(our_set, their_set, "{name}");

        let goarch_of = |purl: &str| {
            purl.split(['?', '&'])
                .find_map(|q| q.strip_prefix("goarch="))
                .map(str::to_string)
        };
        let our_arch = goarch_of(ours["metadata"]["component"]["purl"].as_str().unwrap());
        let their_arch = goarch_of(theirs["metadata"]["component"]["purl"].as_str().unwrap());
        let spec = specs().into_iter().find(|s| s.name == name).unwrap();
        assert_eq!(
            our_arch.as_deref(),
            Some(spec.goarch),
            "goready reads the binary"
        );
        if name == "sbomsvc-cross" {
            // cyclonedx-gomod asks `go env` of the machine it runs on, not the binary.
            assert_eq!(their_arch.as_deref(), Some(host_goarch()), "{name}");
            assert_ne!(
                their_arch, our_arch,
                "cyclonedx-gomod got the cross-compiled GOARCH right?"
            );
        } else {
            assert_eq!(their_arch, our_arch);
        }
    }
}

#[test]
fn source_date_epoch_gives_the_same_bytes_twice_and_unique_serials_without_it() {
    let native = bin("sbomsvc-native");
    let file = native.to_str().unwrap();
    for (format, ext) in [("cyclonedx", "cdx.json"), ("spdx", "spdx.json")] {
        let mut runs = Vec::new();
        for epoch in [Some("1700000000"), Some("1700000000"), None, None] {
            let dir = scratch();
            let env: Vec<(&str, &str)> = epoch
                .map(|e| ("SOURCE_DATE_EPOCH", e))
                .into_iter()
                .collect();
            let (code, _, stderr) = sbom(
                &[
                    file,
                    "--format",
                    format,
                    "--out",
                    dir.path().to_str().unwrap(),
                ],
                &env,
            );
            assert_eq!(code, 0, "{stderr}");
            runs.push(std::fs::read(dir.path().join(format!("sbomsvc-native.{ext}"))).unwrap());
        }
        assert_eq!(runs[0], runs[1], "{format}: same epoch, same bytes");
        let text = String::from_utf8(runs[0].clone()).unwrap();
        assert!(text.contains("2023-11-14T22:13:20Z"), "{format}: {text}");
        assert_ne!(
            runs[2], runs[3],
            "{format}: without SOURCE_DATE_EPOCH each document is unique"
        );
    }
    let (code, _, stderr) = sbom(&[file], &[("SOURCE_DATE_EPOCH", "last tuesday")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("SOURCE_DATE_EPOCH"), "{stderr}");
}

#[test]
fn documents_go_beside_the_binary_and_a_file_that_is_not_go_is_named() {
    let dir = scratch();
    let copy = dir.path().join("svc");
    std::fs::copy(bin("sbomsvc-native"), &copy).unwrap();
    let script = dir.path().join("run.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let c_like = dir.path().join("true");
    std::fs::copy("/bin/true", &c_like).unwrap();
    let (code, stdout, stderr) = sbom(
        &[
            copy.to_str().unwrap(),
            script.to_str().unwrap(),
            c_like.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(dir.path().join("svc.cdx.json").is_file(), "{stdout}");
    assert!(
        stderr.contains("run.sh") && stderr.contains("script"),
        "{stderr}"
    );
    assert!(
        stderr.contains("true") && stderr.contains("not a Go binary"),
        "{stderr}"
    );
    assert!(!dir.path().join("run.sh.cdx.json").exists());
    assert!(!dir.path().join("true.cdx.json").exists());
}

/// VEX in a real binary's document: findings on its modules, as the vulnerability scan
/// writes them, through the library's own render (the scan is another step's); validated by
/// the strict schema, and every `affects` points at a component of the document.
#[test]
fn vex_of_a_real_binary_validates_and_points_at_its_components() {
    use goready::vuln::data::{Evidence, Level, Suppression, VulnData};
    let path = bin("sbomsvc-native");
    let facts = goready::inspect::inspect_path(&path, &Default::default())
        .unwrap()
        .unwrap();
    // Built through the check data's JSON, as a renderer reads it back.
    let finding = |id: &str, module: &str, version: &str, level: Level, evidence: Evidence| {
        let symbols: Vec<&str> = if level == Level::Symbol {
            vec!["rsc.io/quote.Hello"]
        } else {
            vec![]
        };
        serde_json::from_value::<VulnData>(serde_json::json!({
            "id": id,
            "aliases": [format!("CVE-2099-{}", &id[8..])],
            "module": module,
            "version": version,
            "fixed": "v9.9.9",
            "level": level,
            "symbols": symbols,
            "evidence": evidence,
            "summary": "made up for the test",
        }))
        .unwrap()
    };
    let mut suppressed = finding(
        "GO-2099-0003",
        "stdlib",
        "",
        Level::Symbol,
        Evidence::SymbolsMatched,
    );
    suppressed.suppressed = Some(Suppression {
        reason: "not reachable from the handler".into(),
        until: Some("2099-01-01".into()),
    });
    let findings = vec![
        finding(
            "GO-2099-0001",
            "rsc.io/quote",
            "v1.5.2",
            Level::Symbol,
            Evidence::SymbolsMatched,
        ),
        finding(
            "GO-2099-0002",
            "golang.org/x/text",
            "v0.0.0-20170915032832-14c0d48ead0c",
            Level::Package,
            Evidence::SymbolsMatched,
        ),
        finding(
            "GO-2099-0004",
            "rsc.io/sampler",
            "v1.99.99",
            Level::Module,
            Evidence::StrippedFallback,
        ),
        suppressed,
    ];
    let stamp = goready::sbom::Stamp::from_source_date_epoch(Some("1700000000")).unwrap();
    let (bytes, _, n) = goready::sbom::render(
        &facts,
        "sbomsvc-native",
        &goready::sbom::sha256_file(&path).unwrap(),
        goready::sbom::Format::Cyclonedx,
        &stamp,
        goready::sbom::Vex {
            findings: &findings,
            advisories: None,
        },
    )
    .unwrap();
    assert_eq!(n, 4);
    let dir = scratch();
    let file = dir.path().join("vex.cdx.json");
    std::fs::write(&file, &bytes).unwrap();
    validate_cyclonedx(&[&file]);
    let doc = json(&file);
    let refs: BTreeSet<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    let by_id = |id: &str| vulns.iter().find(|v| v["id"] == id).unwrap();
    for v in vulns {
        let r = v["affects"][0]["ref"].as_str().unwrap();
        assert!(refs.contains(r), "{r} is not a component");
    }
    assert!(by_id("GO-2099-0001").get("analysis").is_none());
    assert_eq!(
        by_id("GO-2099-0001")["affects"][0]["ref"],
        "pkg:golang/rsc.io/quote@v1.5.2"
    );
    let a = &by_id("GO-2099-0002")["analysis"];
    assert_eq!(
        (a["state"].as_str(), a["justification"].as_str()),
        (Some("not_affected"), Some("code_not_present"))
    );
    assert_eq!(by_id("GO-2099-0004")["analysis"]["state"], "in_triage");
    let s = &by_id("GO-2099-0003");
    assert!(
        s["affects"][0]["ref"]
            .as_str()
            .unwrap()
            .starts_with("pkg:golang/stdlib@v1.")
    );
    assert!(
        s["analysis"]["detail"]
            .as_str()
            .unwrap()
            .contains("not reachable from the handler")
    );
}

#[test]
fn build_sbom_writes_a_valid_document_beside_each_binary_with_the_proved_version() {
    let dir = scratch();
    let module = dir.path().join("mod");
    copy_dir(&repo().join(SRC), &module);
    let json_out = dir.path().join("build.json");
    let target = format!("linux/{}", cross_goarch());
    let out = goready()
        .current_dir(&module)
        .args([
            "build",
            "--target",
            &target,
            "--sbom",
            "spdx",
            "--version",
            "2.0.1",
            "--json",
        ])
        .arg(&json_out)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("CI")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc_path = module.join(format!("dist/sbomsvc_linux_{}.spdx.json", cross_goarch()));
    validate_spdx(&doc_path);
    let doc = json(&doc_path);
    assert_eq!(
        doc["packages"][0]["versionInfo"], "2.0.1",
        "the version goready build proved"
    );
    assert_eq!(
        doc["packages"][0]["externalRefs"][0]["referenceLocator"],
        format!(
            "pkg:golang/example.com/sbomsvc@2.0.1?goarch={}&goos=linux",
            cross_goarch()
        )
    );
    assert!(
        doc["packages"][0]["comment"]
            .as_str()
            .unwrap()
            .contains("goready build")
    );
    let report = json(&json_out);
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "build.sbom")
        .expect("a build.sbom check");
    assert_eq!(check["status"], "pass");
    assert_eq!(check["data"]["format"], "spdx");
    assert!(check["message"].as_str().unwrap().contains(".spdx.json"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "dist") {
            continue;
        }
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// `goready sbom --vuln-db`: the scan of `goready vuln` runs first and its findings become the
/// CycloneDX document's VEX. The database is a flat folder of OSV files the test writes (one
/// real advisory's facts, two made up for the fixture); `goready vuln --format json` on the same
/// binary and database is the reference for which findings and levels there are, and a
/// goready.toml suppression carries its reason into the VEX.
#[test]
fn vuln_db_findings_become_vex_with_suppression_reasons() {
    let dir = scratch();
    let db = dir.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    let entries = [
        serde_json::json!({"schema_version":"1.3.1","id":"GO-2021-0113","modified":"2024-05-20T16:03:47Z","published":"2021-10-06T17:51:21Z","aliases":["CVE-2021-38561","GHSA-ppp9-7jff-5vj2"],"summary":"Out-of-bounds read in golang.org/x/text/language","affected":[{"package":{"name":"golang.org/x/text","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.7"}]}],"ecosystem_specific":{"imports":[{"path":"golang.org/x/text/language","symbols":["MatchStrings","MustParse","Parse","ParseAcceptLanguage"]}]}}]}),
        serde_json::json!({"schema_version":"1.3.1","id":"GO-2099-0001","modified":"2024-05-20T16:03:47Z","published":"2024-05-20T16:03:47Z","summary":"Made up: rsc.io/sampler.Hello","affected":[{"package":{"name":"rsc.io/sampler","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}],"ecosystem_specific":{"imports":[{"path":"rsc.io/sampler","symbols":["Hello"]}]}}]}),
        serde_json::json!({"schema_version":"1.3.1","id":"GO-2099-0002","modified":"2024-05-20T16:03:47Z","published":"2024-05-20T16:03:47Z","summary":"Made up: net/http.Server.Serve","affected":[{"package":{"name":"stdlib","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}],"ecosystem_specific":{"imports":[{"path":"net/http","symbols":["Server.Serve"]}]}}]}),
    ];
    for e in &entries {
        std::fs::write(
            db.join(format!("{}.json", e["id"].as_str().unwrap())),
            e.to_string(),
        )
        .unwrap();
    }
    let config = dir.path().join("goready.toml");
    std::fs::write(
        &config,
        "[vuln]\nignore = [{ id = \"GO-2099-0001\", reason = \"sampler text is static\", until = \"2099-01-31\" }]\n",
    )
    .unwrap();
    let binary = bin("sbomsvc-native");
    let cache = dir.path().join("cache");
    let envs = [("GOREADY_VULN_CACHE", cache.to_str().unwrap())];

    // The reference: goready vuln on the same binary and database.
    let mut cmd = goready();
    cmd.args(["vuln", "--format", "json", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .arg(&binary);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let scan: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let levels: BTreeMap<String, (String, String)> = scan["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "binary.vuln" && c["data"]["level"].is_string())
        .map(|c| {
            (
                c["data"]["id"].as_str().unwrap().to_string(),
                (
                    c["data"]["level"].as_str().unwrap().to_string(),
                    c["data"]["evidence"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(levels.len(), 3, "every advisory is a finding: {scan}");
    assert_eq!(
        levels["GO-2099-0001"].0, "symbol",
        "sampler.Hello is linked"
    );

    let out_dir = dir.path().join("sboms");
    let mut args = vec![binary.to_str().unwrap().to_string()];
    args.extend(
        [
            "--vuln-db",
            db.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ]
        .map(String::from),
    );
    args.extend(["--out".to_string(), out_dir.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = sbom(&args, &envs);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("3 vulnerabilities"), "{stdout}");
    let file = out_dir.join("sbomsvc-native.cdx.json");
    validate_cyclonedx(&[&file]);
    let doc = json(&file);
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 3);
    for v in vulns {
        let id = v["id"].as_str().unwrap();
        let (level, evidence) = &levels[id];
        assert_eq!(prop(v, "goready:vuln:level"), Some(level.as_str()), "{id}");
        let state = v["analysis"]["state"].as_str();
        match (level.as_str(), evidence.as_str()) {
            ("symbol", _) => assert_eq!(state, None, "{id}: {v}"),
            (_, "symbols_matched") => {
                assert_eq!(state, Some("not_affected"), "{id}");
                assert_eq!(v["analysis"]["justification"], "code_not_present");
                // The advisory came with the scan: the detail names what is absent.
                let detail = v["analysis"]["detail"].as_str().unwrap();
                assert!(detail.contains("; absent: "), "{id}: {detail}");
            }
            _ => assert_eq!(state, Some("in_triage"), "{id}"),
        }
    }
    let sampler = vulns.iter().find(|v| v["id"] == "GO-2099-0001").unwrap();
    assert_eq!(
        sampler["affects"][0]["ref"], "pkg:golang/rsc.io/sampler@v1.99.99",
        "the replacement"
    );
    assert!(
        sampler["analysis"]["detail"]
            .as_str()
            .unwrap()
            .contains("sampler text is static"),
        "{sampler}"
    );
    let std = vulns.iter().find(|v| v["id"] == "GO-2099-0002").unwrap();
    assert!(
        std["affects"][0]["ref"]
            .as_str()
            .unwrap()
            .starts_with("pkg:golang/stdlib@")
    );

    // An unreadable database is an error, not an SBOM that reads as "no vulnerabilities".
    let missing = dir.path().join("no-such-db");
    let (code, _, stderr) = sbom(
        &[
            binary.to_str().unwrap(),
            "--vuln-db",
            missing.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
        &envs,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no-such-db"), "{stderr}");
}

/// `goready build --sbom cyclonedx` with the build's vulnerability scan on (the database in
/// GOREADY_VULN_DB): each binary's document carries its target's `binary.vuln` findings as VEX,
/// and a not-affected statement names the advisory's vulnerable functions the binary lacks
/// (the scan hands the build the advisories, not only the findings).
#[test]
fn build_sbom_carries_the_builds_vulnerability_findings_as_vex() {
    let dir = scratch();
    let module = dir.path().join("mod");
    copy_dir(&repo().join(SRC), &module);
    let db = dir.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(
        db.join("GO-2099-0001.json"),
        serde_json::json!({"schema_version":"1.3.1","id":"GO-2099-0001","modified":"2024-05-20T16:03:47Z","published":"2024-05-20T16:03:47Z","summary":"Made up: rsc.io/sampler.Hello","affected":[{"package":{"name":"rsc.io/sampler","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}],"ecosystem_specific":{"imports":[{"path":"rsc.io/sampler","symbols":["Hello"]}]}}]}).to_string(),
    )
    .unwrap();
    // The package is linked, these two functions are not: package level, not affected.
    std::fs::write(
        db.join("GO-2099-0003.json"),
        serde_json::json!({"schema_version":"1.3.1","id":"GO-2099-0003","modified":"2024-05-20T16:03:47Z","published":"2024-05-20T16:03:47Z","summary":"Made up: functions sampler does not have","affected":[{"package":{"name":"rsc.io/sampler","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}],"ecosystem_specific":{"imports":[{"path":"rsc.io/sampler","symbols":["NeverLinked","Text.NeverLinked"]}]}}]}).to_string(),
    )
    .unwrap();
    let target = format!("linux/{}", host_goarch());
    let out = goready()
        .current_dir(&module)
        .args([
            "build",
            "--target",
            &target,
            "--sbom",
            "cyclonedx",
            "--json",
            "build.json",
        ])
        .env("GOREADY_VULN_DB", &db)
        .env("GOREADY_VULN_CACHE", dir.path().join("cache"))
        .env_remove("CI")
        .output()
        .unwrap();
    let report = json(&module.join("build.json"));
    let level_of = |id: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "binary.vuln" && c["data"]["id"] == id)
            .unwrap_or_else(|| {
                panic!(
                    "no binary.vuln for {id}: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })["data"]
            .clone()
    };
    assert_eq!(level_of("GO-2099-0001")["level"], "symbol");
    let absent = level_of("GO-2099-0003");
    assert_eq!(
        (&absent["level"], &absent["evidence"]),
        (&Value::from("package"), &Value::from("symbols_matched")),
        "{absent}"
    );
    let doc_path = module.join(format!("dist/sbomsvc_linux_{}.cdx.json", host_goarch()));
    validate_cyclonedx(&[&doc_path]);
    let doc = json(&doc_path);
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    let vex = |id: &str| {
        vulns
            .iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("no VEX for {id}: {doc}"))
    };
    let v = vex("GO-2099-0001");
    assert_eq!(v["affects"][0]["ref"], "pkg:golang/rsc.io/sampler@v1.99.99");
    assert!(v.get("analysis").is_none(), "symbol level: affecting");
    let v = vex("GO-2099-0003");
    assert_eq!(v["analysis"]["state"], "not_affected", "{v}");
    assert_eq!(v["analysis"]["justification"], "code_not_present", "{v}");
    let detail = v["analysis"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("absent: rsc.io/sampler.NeverLinked, rsc.io/sampler.Text.NeverLinked"),
        "the absent functions are named: {detail}"
    );
    let sbom = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "build.sbom")
        .unwrap();
    assert_eq!(sbom["data"]["vulnerabilities"], 2, "{sbom}");
}
