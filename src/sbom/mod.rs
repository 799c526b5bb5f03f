//! `goready sbom FILE...`, and the SBOMs `goready build --sbom` writes beside each binary: a
//! CycloneDX 1.6 or SPDX 2.3 JSON document per Go binary, read from the binary's own bytes
//! (buildinfo through the inspector, the file's SHA-256), with goready's vulnerability
//! findings as VEX in the CycloneDX one.
//!
//! [`subject`] turns the inspector's facts into what an SBOM says; [`cyclonedx`] and [`spdx`]
//! write it; [`vex`] maps `binary.vuln` findings onto the document's components. [`render`] is
//! the pure core (facts and hash in, bytes out); [`run`] is the step's front door.

pub mod cyclonedx;
pub mod spdx;
pub mod subject;
pub mod vex;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::cancel::Cancel;
use crate::inspect::{self, BinaryFacts};
use crate::progress::{Event, Sink};
use crate::step::Step;
use crate::vuln::data::VulnData;
use crate::vuln::osv;
use subject::Subject;

/// The SBOM formats goready writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// CycloneDX 1.6 JSON, `<file>.cdx.json`, with VEX.
    Cyclonedx,
    /// SPDX 2.3 JSON, `<file>.spdx.json`.
    Spdx,
}

impl Format {
    /// The suffix appended to the binary's file name.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Cyclonedx => "cdx.json",
            Format::Spdx => "spdx.json",
        }
    }

    /// The name users write (`--format`, `[build] sbom`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Cyclonedx => "cyclonedx",
            Format::Spdx => "spdx",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cyclonedx" | "cdx" => Ok(Format::Cyclonedx),
            "spdx" => Ok(Format::Spdx),
            other => Err(format!("{other:?}: the SBOM format is cyclonedx or spdx")),
        }
    }
}

/// When a document says it was made, and how its serial number is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Set from `SOURCE_DATE_EPOCH`: the serial number and namespace are derived from the
    /// file's hash and this time (UUIDv5), so a rebuild of the same bytes writes the same
    /// document; otherwise they are random (UUIDv4), unique per document as both
    /// specifications ask.
    pub reproducible: bool,
}

/// The namespace of goready's UUIDv5 serial numbers (a UUIDv5 of goready's repository URL in
/// the URL namespace, fixed so that every goready derives the same serials).
const SERIAL_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x5a1e_0b8f_3c4d_5e6f_8a9b_0c1d_2e3f_4a5b);

impl Stamp {
    /// `SOURCE_DATE_EPOCH`'s value when set (the reproducible-builds.org convention: decimal
    /// seconds since the epoch), else now.
    pub fn from_source_date_epoch(value: Option<&str>) -> anyhow::Result<Stamp> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => match v.parse::<i64>() {
                Ok(secs) if (0..=253_402_300_799).contains(&secs) => Ok(Stamp {
                    secs,
                    reproducible: true,
                }),
                _ => bail!(
                    "SOURCE_DATE_EPOCH={v:?}: expected whole seconds since 1970-01-01 (e.g. `git log -1 --format=%ct`)"
                ),
            },
            None => Ok(Stamp {
                secs: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
                reproducible: false,
            }),
        }
    }

    /// RFC 3339 in UTC, to the second.
    pub fn rfc3339(&self) -> String {
        chrono::DateTime::from_timestamp(self.secs, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// A UUID for the document of the file hashing to `sha256`, in `format`.
    pub fn serial(&self, sha256: &str, format: &str) -> uuid::Uuid {
        if self.reproducible {
            uuid::Uuid::new_v5(
                &SERIAL_NAMESPACE,
                format!("{format}:{sha256}:{}", self.secs).as_bytes(),
            )
        } else {
            uuid::Uuid::new_v4()
        }
    }
}

/// VEX input for one binary: its `binary.vuln` findings and, when the scan has them, the
/// advisories they come from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vex<'a> {
    /// The findings.
    pub findings: &'a [VulnData],
    /// The advisories by id (names what a not-affected statement says is absent).
    pub advisories: Option<&'a BTreeMap<String, osv::Entry>>,
}

/// What a document holds, for the progress line and `build.sbom`'s message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Written {
    /// The binary, as given.
    pub binary: PathBuf,
    /// The document written.
    pub sbom: PathBuf,
    /// The format.
    pub format: Format,
    /// Components: the modules and the standard library.
    pub components: usize,
    /// VEX entries (CycloneDX only).
    pub vulnerabilities: usize,
}

/// The bytes of `facts`' document in `format`, for the file named `file_name` whose bytes
/// hash to `sha256`; the number of components and of VEX entries.
pub fn render(
    facts: &BinaryFacts,
    file_name: &str,
    sha256: &str,
    format: Format,
    stamp: &Stamp,
    vex: Vex<'_>,
) -> Result<(Vec<u8>, usize, usize), subject::NoSbom> {
    let subject = Subject::from_facts(facts, file_name, sha256)?;
    let components = subject.modules.len() + 1;
    let (mut bytes, vulnerabilities) = match format {
        Format::Cyclonedx => {
            let mut refs: BTreeMap<String, String> = BTreeMap::new();
            for m in &subject.modules {
                if let Some(orig) = &m.replaces {
                    refs.entry(orig.path.clone())
                        .or_insert_with(|| m.reference());
                }
            }
            // The path as linked wins over an original path of the same name.
            for m in &subject.modules {
                refs.insert(m.path.clone(), m.reference());
            }
            if let Some(p) = subject.stdlib_purl() {
                refs.insert(subject::STDLIB.into(), p);
            }
            let ctx = vex::Context {
                refs,
                main_ref: subject.purl(),
                goos: subject.goos.clone(),
                goarch: subject.goarch.clone(),
                advisories: vex.advisories,
            };
            let vulns = vex::vex(vex.findings, &ctx);
            let n = vulns.len();
            let bom = cyclonedx::document(&subject, stamp, vulns);
            (serde_json::to_vec_pretty(&bom).unwrap_or_default(), n)
        }
        Format::Spdx => {
            let doc = spdx::document(&subject, stamp);
            (serde_json::to_vec_pretty(&doc).unwrap_or_default(), 0)
        }
    };
    bytes.push(b'\n');
    Ok((bytes, components, vulnerabilities))
}

/// The `binary.vuln` findings among `checks` on `target` (a build's matrix label, or the
/// binary's path as given), read back from their typed data.
pub fn findings_of(checks: &[crate::model::Check], target: &str) -> Vec<VulnData> {
    checks
        .iter()
        .filter(|c| c.id == crate::registry::BINARY_VULN.id && c.target.as_deref() == Some(target))
        .filter_map(|c| match &c.data {
            crate::model::CheckData::Vuln(d) => Some((**d).clone()),
            _ => None,
        })
        .collect()
}

/// SHA-256 of a file, lowercase hex, read through a memory map.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    if len > 0 {
        // SAFETY: read-only private map, as the inspector's (see inspect::inspect_path).
        let map = unsafe { memmap2::Mmap::map(&file)? };
        ctx.update(&map);
    }
    Ok(ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Where the document of `binary` goes: `DIR/<file name>.<ext>`, DIR being `out` or the
/// binary's own directory.
pub fn destination(binary: &Path, out: Option<&Path>, format: Format) -> PathBuf {
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "binary".into());
    let dir = out
        .map(Path::to_path_buf)
        .or_else(|| binary.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    dir.join(format!("{name}.{}", format.extension()))
}

/// Hashes `binary`, renders its document from `facts` and writes it to `dest`.
pub fn write_one(
    binary: &Path,
    facts: &BinaryFacts,
    dest: &Path,
    format: Format,
    stamp: &Stamp,
    vex: Vex<'_>,
) -> anyhow::Result<Written> {
    let sha = sha256_file(binary).with_context(|| format!("reading {}", binary.display()))?;
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (bytes, components, vulnerabilities) =
        render(facts, &name, &sha, format, stamp, vex).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(dest, bytes).with_context(|| format!("writing {}", dest.display()))?;
    Ok(Written {
        binary: binary.to_path_buf(),
        sbom: dest.to_path_buf(),
        format,
        components,
        vulnerabilities,
    })
}

/// What `goready sbom` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The binaries.
    pub files: Vec<PathBuf>,
    /// CycloneDX or SPDX.
    pub format: Format,
    /// Where the documents go (`--out`); beside each binary when `None`.
    pub out: Option<PathBuf>,
    /// The documents' time and serial numbers.
    pub stamp: Stamp,
    /// VEX input per binary, keyed by the path as given.
    pub findings: BTreeMap<PathBuf, Vec<VulnData>>,
    /// The advisories the findings come from, by id.
    pub advisories: BTreeMap<String, osv::Entry>,
    /// `--vuln-db`: scan the files for known vulnerabilities first (the `goready vuln`
    /// scan), and write its findings as VEX; added to `findings`.
    pub vuln: Option<crate::vuln::Options>,
}

/// A binary that got no document, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The binary, as given.
    pub binary: PathBuf,
    /// Why (unreadable, not a Go binary, no build info, cannot write).
    pub error: String,
}

/// What `goready sbom` did.
#[derive(Debug, Clone, Default)]
pub struct SbomRun {
    /// One per document written, in the order the files were given.
    pub written: Vec<Written>,
    /// The files that got none.
    pub failed: Vec<Failed>,
}

/// The front door of `goready sbom`: inspects every file (the inspector's pool, in parallel),
/// then hashes and writes each document, checking `cancel` between files. A file that gets
/// no document is listed in [`SbomRun::failed`]; the error returned is a setup error (the
/// output directory cannot be made) or a cancellation.
pub fn run(opts: &Options, sink: &dyn Sink, cancel: &Cancel) -> anyhow::Result<SbomRun> {
    if let Some(dir) = &opts.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    sink.emit(Event::Began {
        step: Step::Sbom,
        total: Some(opts.files.len() as u64),
        what: format!(
            "{} {} SBOM{}",
            opts.files.len(),
            opts.format.name(),
            if opts.files.len() == 1 { "" } else { "s" }
        ),
    });
    let mut findings = opts.findings.clone();
    let mut advisories = opts.advisories.clone();
    if let Some(scan) = &opts.vuln {
        // A database that cannot be read stops the step: an SBOM without the VEX asked for
        // would read as "no known vulnerabilities".
        let scanned = crate::vuln::run(scan, sink, cancel)
            .map_err(|e| anyhow::anyhow!("the vulnerability scan for the VEX failed: {e}"))?;
        for path in &opts.files {
            let found = findings_of(&scanned.checks, &path.display().to_string());
            findings.entry(path.clone()).or_default().extend(found);
        }
        advisories.extend(scanned.advisories);
    }
    let inspected = inspect::run(
        &inspect::RunOptions {
            files: opts.files.clone(),
            ..Default::default()
        },
        cancel,
    )?;
    // The inspector reports in input order, a file that did not parse as a check instead of
    // facts: match facts back to their files by the path as given.
    let mut facts: BTreeMap<String, Vec<BinaryFacts>> = BTreeMap::new();
    for f in inspected.binaries {
        facts.entry(f.path.clone()).or_default().push(f);
    }
    let mut problems: BTreeMap<String, String> = BTreeMap::new();
    for u in &inspected.unreadable {
        problems.insert(u.path.clone(), format!("cannot read it: {}", u.error));
    }
    for c in &inspected.checks {
        if c.id == crate::registry::BINARY_READABLE.id && c.status.is_problem() {
            if let Some(t) = &c.target {
                problems
                    .entry(t.clone())
                    .or_insert_with(|| c.message.clone());
            }
        }
    }
    let mut outcome = SbomRun::default();
    for path in &opts.files {
        cancel.check()?;
        let shown = path.display().to_string();
        sink.emit(Event::Started {
            step: Step::Sbom,
            item: shown.clone(),
        });
        let one = match facts
            .get_mut(&shown)
            .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
        {
            None => Err(problems
                .get(&shown)
                .cloned()
                .unwrap_or_else(|| "not an executable goready can read".into())),
            Some(f) => {
                let dest = destination(path, opts.out.as_deref(), opts.format);
                let vex = Vex {
                    findings: findings.get(path).map(Vec::as_slice).unwrap_or_default(),
                    advisories: Some(&advisories),
                };
                write_one(path, &f, &dest, opts.format, &opts.stamp, vex)
                    .map_err(|e| format!("{e:#}"))
            }
        };
        match one {
            Ok(w) => {
                sink.emit(Event::Finished {
                    step: Step::Sbom,
                    item: shown,
                    ok: true,
                    detail: summary(&w),
                });
                outcome.written.push(w);
            }
            Err(error) => {
                sink.emit(Event::Finished {
                    step: Step::Sbom,
                    item: shown,
                    ok: false,
                    detail: error.clone(),
                });
                outcome.failed.push(Failed {
                    binary: path.clone(),
                    error,
                });
            }
        }
    }
    Ok(outcome)
}

/// One line about a written document: `dist/svc.cdx.json: 12 components, 2 vulnerabilities`.
pub fn summary(w: &Written) -> String {
    let mut s = format!(
        "{}: {} component{}",
        w.sbom.display(),
        w.components,
        if w.components == 1 { "" } else { "s" }
    );
    if w.format == Format::Cyclonedx && w.vulnerabilities > 0 {
        s.push_str(&format!(
            ", {} vulnerabilit{}",
            w.vulnerabilities,
            if w.vulnerabilities == 1 { "y" } else { "ies" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_fixes_time_and_serial() {
        let a = Stamp::from_source_date_epoch(Some("1700000000")).unwrap();
        assert_eq!(a.rfc3339(), "2023-11-14T22:13:20Z");
        assert_eq!(a.serial("ab", "cyclonedx"), a.serial("ab", "cyclonedx"));
        assert_ne!(a.serial("ab", "cyclonedx"), a.serial("ac", "cyclonedx"));
        assert_eq!(a.serial("ab", "spdx").get_version_num(), 5);
        let now = Stamp::from_source_date_epoch(None).unwrap();
        assert!(!now.reproducible);
        assert_ne!(
            now.serial("ab", "x"),
            now.serial("ab", "x"),
            "unique without the epoch"
        );
        assert_eq!(now.serial("ab", "x").get_version_num(), 4);
        for bad in ["yesterday", "-1", "1.5", "99999999999999"] {
            let e = Stamp::from_source_date_epoch(Some(bad)).unwrap_err();
            assert!(e.to_string().contains("SOURCE_DATE_EPOCH"), "{e}");
        }
        assert!(
            !Stamp::from_source_date_epoch(Some(" "))
                .unwrap()
                .reproducible
        );
    }

    #[test]
    fn documents_go_beside_the_binary_or_into_out() {
        assert_eq!(
            destination(Path::new("dist/svc_linux_arm64"), None, Format::Cyclonedx),
            Path::new("dist/svc_linux_arm64.cdx.json")
        );
        assert_eq!(
            destination(
                Path::new("dist/svc.exe"),
                Some(Path::new("sboms")),
                Format::Spdx
            ),
            Path::new("sboms/svc.exe.spdx.json")
        );
        assert_eq!("CycloneDX".parse::<Format>(), Ok(Format::Cyclonedx));
        assert!("swid".parse::<Format>().is_err());
    }

    /// Facts around hostile build info text, as the fuzz target builds them.
    fn facts_with(modinfo: &str, go: &str) -> BinaryFacts {
        let mut facts: BinaryFacts = serde_json::from_value(serde_json::json!({
            "path": "x", "format": "elf", "arch": "amd64", "goos": "linux", "size": 1,
            "linkage": "static", "interpreter": null, "needed": [], "libc": null,
            "symbols_stripped": false, "dwarf": false, "pclntab": {"present": true},
            "buildinfo": null, "pie": null, "relro": null, "nx": null, "cgo": null,
            "pprof_linked": false, "version_vars": {}
        }))
        .unwrap();
        let mut info = crate::inspect::buildinfo::parse_modinfo(modinfo).unwrap();
        info.go_version = go.into();
        facts.buildinfo = Some(info);
        facts
    }

    #[test]
    fn hostile_build_info_renders_json_with_clean_purls_and_spdx_ids() {
        let mut text = String::from(
            "path\t\u{0}evil \"path\"\nmod\t\t\t\n\
             dep\tex.com/ünï cødé\tv1.0.0+büild\th1:\"q\"\n\
             =>\t../../../../etc\t\t\n\
             dep\t/\t\t\n=>\t//x\tv0\t\n\
             dep\t\t\t\n\
             build\t-ldflags=\"-X -X= -X=a -X main.Version=\\\"<script>\"\n\
             build\tGOOS=../../x\n",
        );
        for i in 0..300 {
            text.push_str(&format!("dep\tm{i}.example/x\tv0.0.{i}\th1:{i}=\n"));
        }
        let stamp = Stamp::from_source_date_epoch(Some("0")).unwrap();
        for go in [
            "",
            "go",
            "go1..2",
            "go1.2.3.4",
            "go1.21rc",
            "\u{7f}go1.2",
            "devel +abc",
        ] {
            let facts = facts_with(&text, go);
            for format in [Format::Cyclonedx, Format::Spdx] {
                let (bytes, components, _) =
                    render(&facts, "x", "00", format, &stamp, Vex::default()).unwrap();
                assert_eq!(components, 304, "three odd modules, 300 more, stdlib");
                let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                let text = doc.to_string();
                for purl in text.split('"').filter(|s| s.starts_with("pkg:golang/")) {
                    assert!(
                        purl.bytes()
                            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'<'),
                        "{purl}"
                    );
                }
                if format == Format::Spdx {
                    for p in doc["packages"].as_array().unwrap() {
                        let id = p["SPDXID"].as_str().unwrap();
                        assert!(id.starts_with("SPDXRef-"));
                        assert!(
                            id.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
                            "{id}"
                        );
                    }
                }
            }
        }
        assert!(subject::x_values("-X").is_empty());
        assert_eq!(
            subject::x_values("-X=a=b -X c=d")[1],
            ("c".into(), "d".into())
        );
    }

    #[test]
    fn sha256_matches_a_known_digest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::write(&p, b"").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
