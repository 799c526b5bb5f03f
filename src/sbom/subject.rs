//! What an SBOM says about one binary, read from the binary itself: the facts the inspector
//! decoded (buildinfo, the file format, the symbol table's version variables) turned into the
//! few things both formats write — the main module with its version and where that version
//! came from, the platform, the modules (replacements resolved), the standard library and the
//! build settings. Both writers ([`super::cyclonedx`], [`super::spdx`]) read only this.

use std::collections::BTreeMap;

use crate::gotool::split_quoted;
use crate::inspect::BinaryFacts;
use crate::inspect::facts::Module;

/// Why a binary gets no SBOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSbom(pub String);

impl std::fmt::Display for NoSbom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoSbom {}

/// The binary an SBOM describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The file's name (no directory), as the SBOM names the file.
    pub file_name: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The main module's path (buildinfo's `mod` line; the `path` line for a binary built
    /// outside module mode).
    pub main_path: String,
    /// The version the SBOM gives the binary (see [`VersionSource`]); `None` when nothing
    /// better than `(devel)` is known.
    pub version: Option<String>,
    /// Where [`Subject::version`] came from.
    pub version_source: VersionSource,
    /// GOOS of the binary: buildinfo's `GOOS` setting, else the file format's.
    pub goos: String,
    /// GOARCH of the binary: buildinfo's `GOARCH` setting, else the file's machine; a
    /// universal Mach-O's slices joined with `+` (`amd64+arm64`).
    pub goarch: String,
    /// The Go version as buildinfo has it (`go1.26.8`, `go1.21rc2`, `devel go1.27-…`).
    pub go_version: String,
    /// The standard library's version as semver (`v1.26.8`), the way the Go vulnerability
    /// database names it; `None` for a development toolchain.
    pub stdlib_version: Option<String>,
    /// The dependency modules, in buildinfo's order.
    pub modules: Vec<ModuleRef>,
    /// Every `build` setting of buildinfo, unquoted.
    pub settings: BTreeMap<String, String>,
    /// `-X name=value` pairs of the `-ldflags` setting (absent with `-trimpath`).
    pub x_values: Vec<(String, String)>,
}

/// Where the binary's version came from, strongest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSource {
    /// `goready build --version V`: the inspector found V in the binary (the `-X` variable).
    Proved(String),
    /// buildinfo's main module version (Go 1.24+ stamps the VCS tag).
    BuildInfo,
    /// A version variable's value, read from the symbol table (`main.Version`).
    Symbol(String),
    /// An `-X` value in buildinfo's `-ldflags` setting.
    LdflagsX(String),
    /// Nothing: buildinfo says `(devel)` and no version variable is readable.
    Devel,
}

impl VersionSource {
    /// One line for the `goready:version:source` property.
    pub fn describe(&self) -> String {
        match self {
            VersionSource::Proved(evidence) => {
                format!("-X version injected by goready build and found in the binary ({evidence})")
            }
            VersionSource::BuildInfo => "buildinfo: the main module's version".into(),
            VersionSource::Symbol(var) => format!("the symbol table: {var}"),
            VersionSource::LdflagsX(var) => format!("buildinfo's -ldflags setting: -X {var}"),
            VersionSource::Devel => {
                "none: buildinfo says (devel) and no version variable is readable".into()
            }
        }
    }
}

/// One module linked into the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRef {
    /// The module whose code is in the binary: the replacement's path and version when
    /// replaced by another module, else the module itself. For a module replaced by a local
    /// directory, the original path (its import paths are the original's) with no version.
    pub path: String,
    /// Its version; `None` for a local directory replacement.
    pub version: Option<String>,
    /// Its go.sum `h1:` hash (empty when buildinfo has none: directory replacements, and
    /// binaries built with `-mod=vendor`).
    pub sum: String,
    /// The module as required, when replaced.
    pub replaces: Option<Module>,
    /// The local directory that stands in for it (`=> ./lib`).
    pub local_dir: Option<String>,
}

impl ModuleRef {
    /// The package URL, `pkg:golang/<path>@<version>`; `None` for a local directory (its
    /// code is not the published module's, so no purl may claim it is).
    pub fn purl(&self) -> Option<String> {
        let version = self.version.as_deref()?;
        Some(purl(&self.path, Some(version), &[]))
    }

    /// The id both formats use for it: the purl, or for a local directory its original path
    /// and the directory.
    pub fn reference(&self) -> String {
        match self.purl() {
            Some(p) => p,
            None => format!(
                "goready:local:{}=>{}",
                self.path,
                self.local_dir.as_deref().unwrap_or("")
            ),
        }
    }
}

impl Subject {
    /// Reads the subject from the inspector's facts of the file `file_name` whose bytes hash
    /// to `sha256`. A file without Go buildinfo gets no SBOM: the modules are what it lists.
    pub fn from_facts(
        facts: &BinaryFacts,
        file_name: &str,
        sha256: &str,
    ) -> Result<Subject, NoSbom> {
        let Some(info) = facts.buildinfo.as_ref() else {
            return Err(NoSbom(match (&facts.buildinfo_error, facts.is_go()) {
                (Some(why), _) => format!("its Go build info cannot be read: {why}"),
                (None, true) => "a Go binary without build info (built before Go 1.13, or the blob was removed): there is no module list to describe".into(),
                (None, false) => "not a Go binary (no Go build info)".into(),
            }));
        };
        let main = info.main.as_ref();
        let main_path = main
            .map(|m| m.path.clone())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| info.path.clone());
        let settings = info.settings.clone();
        let x_values = settings
            .get("-ldflags")
            .map(|flags| x_values(flags))
            .unwrap_or_default();
        let (version, version_source) = version_of(facts, main, &x_values);
        let goos = settings
            .get("GOOS")
            .cloned()
            .or_else(|| facts.goos.clone())
            .unwrap_or_else(|| "unknown".into());
        // A universal Mach-O holds one slice per architecture; its buildinfo (read from the
        // first slice) names one GOARCH, so the file's goarch lists each slice's.
        let goarch = if facts.slices.len() > 1 {
            facts
                .slices
                .iter()
                .map(|s| s.setting("GOARCH").unwrap_or(&s.arch).to_string())
                .collect::<Vec<_>>()
                .join("+")
        } else {
            settings
                .get("GOARCH")
                .cloned()
                .unwrap_or_else(|| facts.arch.clone())
        };
        let modules = info.deps.iter().map(module_ref).collect();
        Ok(Subject {
            file_name: file_name.to_string(),
            sha256: sha256.to_string(),
            main_path,
            version,
            version_source,
            goos,
            goarch,
            go_version: info.go_version.clone(),
            stdlib_version: go_semver(&info.go_version),
            modules,
            settings,
            x_values,
        })
    }

    /// The binary's own purl, with its `goarch` and `goos` (purl qualifiers sort by key).
    pub fn purl(&self) -> String {
        purl(
            &self.main_path,
            self.version.as_deref(),
            &[("goarch", &self.goarch), ("goos", &self.goos)],
        )
    }

    /// The standard library's purl, `pkg:golang/stdlib@v1.26.8`.
    pub fn stdlib_purl(&self) -> Option<String> {
        self.stdlib_version
            .as_deref()
            .map(|v| purl(STDLIB, Some(v), &[]))
    }
}

/// The standard library's name: the Go vulnerability database's, so that VEX and scanners
/// key on the same name.
pub const STDLIB: &str = "stdlib";

fn module_ref(dep: &Module) -> ModuleRef {
    match dep.replace.as_deref() {
        None => ModuleRef {
            path: dep.path.clone(),
            version: Some(dep.version.clone()).filter(|v| !v.is_empty()),
            sum: dep.sum.clone(),
            replaces: None,
            local_dir: None,
        },
        // A replacement path that is a file path (go.mod: "./lib", "../lib", "/abs"), not a
        // module path.
        Some(r) if is_local_path(&r.path) => ModuleRef {
            path: dep.path.clone(),
            version: None,
            sum: String::new(),
            replaces: Some(Module {
                replace: None,
                ..dep.clone()
            }),
            local_dir: Some(r.path.clone()),
        },
        Some(r) => ModuleRef {
            path: r.path.clone(),
            version: Some(r.version.clone()).filter(|v| !v.is_empty()),
            sum: r.sum.clone(),
            replaces: Some(Module {
                replace: None,
                ..dep.clone()
            }),
            local_dir: None,
        },
    }
}

/// go.mod's rule (modfile.IsDirectoryPath): a replacement is a directory when it is rooted or
/// starts with `./` or `../` (either slash on Windows).
fn is_local_path(p: &str) -> bool {
    p == "."
        || p == ".."
        || p.starts_with("./")
        || p.starts_with("../")
        || p.starts_with(".\\")
        || p.starts_with("..\\")
        || p.starts_with('/')
        || p.starts_with('\\')
        || p.as_bytes().get(1) == Some(&b':')
}

/// The `-X name=value` pairs of an `-ldflags` value (both `-X a=b` and `-X=a=b`).
pub fn x_values(ldflags: &str) -> Vec<(String, String)> {
    let words = split_quoted(ldflags);
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        let value = if w == "-X" || w == "--X" {
            i += 1;
            words.get(i).map(String::as_str)
        } else {
            w.strip_prefix("-X=").or_else(|| w.strip_prefix("--X="))
        };
        if let Some((name, v)) = value.and_then(|v| v.split_once('=')) {
            out.push((name.to_string(), v.to_string()));
        }
        i += 1;
    }
    out
}

/// The version variables an SBOM looks at, in order, when nothing stronger is known.
const VERSION_VARS: &[&str] = &["main.Version", "main.version"];

fn version_of(
    facts: &BinaryFacts,
    main: Option<&Module>,
    x: &[(String, String)],
) -> (Option<String>, VersionSource) {
    if let Some(proved) = facts.expected_version.as_ref().filter(|e| e.found) {
        return (
            Some(proved.expected.clone()),
            VersionSource::Proved(proved.evidence.clone()),
        );
    }
    if let Some(v) = main
        .map(|m| m.version.as_str())
        .filter(|v| !v.is_empty() && *v != "(devel)")
    {
        return (Some(v.to_string()), VersionSource::BuildInfo);
    }
    for var in VERSION_VARS {
        if let Some(v) = facts.version_vars.get(*var).filter(|v| !v.is_empty()) {
            return (Some(v.clone()), VersionSource::Symbol(var.to_string()));
        }
    }
    for var in VERSION_VARS {
        if let Some((_, v)) = x.iter().rev().find(|(n, v)| n == var && !v.is_empty()) {
            return (Some(v.clone()), VersionSource::LdflagsX(var.to_string()));
        }
    }
    (None, VersionSource::Devel)
}

/// A Go version as semver, the way the Go vulnerability database writes the standard
/// library's versions: `go1.21` → `v1.21.0`, `go1.21rc2` → `v1.21.0-rc.2`, `go1.26.8
/// X:nodwarf5` → `v1.26.8`. A development toolchain (`devel …`) has none.
pub fn go_semver(go: &str) -> Option<String> {
    let word = go.split_whitespace().next()?;
    let rest = word.strip_prefix("go")?;
    let (numbers, pre) = match rest.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => (&rest[..at], Some(&rest[at..])),
        None => (rest, None),
    };
    let mut parts: Vec<&str> = numbers.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    while parts.len() < 3 {
        parts.push("0");
    }
    let mut out = format!("v{}", parts.join("."));
    if let Some(pre) = pre {
        let (kind, n) = pre.split_at(pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len()));
        if !matches!(kind, "rc" | "beta" | "alpha") || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(&format!("-{kind}"));
        if !n.is_empty() {
            out.push_str(&format!(".{n}"));
        }
    }
    Some(out)
}

/// A `pkg:golang` package URL. The module path keeps its case (Go module paths are
/// case-sensitive) and its slashes as purl namespace separators; everything else outside the
/// purl's unreserved set is percent-encoded (the `+` of `+incompatible` becomes `%2B`).
pub fn purl(path: &str, version: Option<&str>, qualifiers: &[(&str, &str)]) -> String {
    let mut out = String::from("pkg:golang/");
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_encode)
        .collect();
    out.push_str(&segments.join("/"));
    if let Some(v) = version {
        out.push('@');
        out.push_str(&percent_encode(v));
    }
    let mut q: Vec<(&str, &str)> = qualifiers
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    q.sort();
    for (i, (k, v)) in q.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::buildinfo::parse_modinfo;
    use crate::inspect::facts::{Format, Linkage, PclntabFacts, VersionEvidence};

    pub(crate) fn facts_of(modinfo: &str) -> BinaryFacts {
        let mut info = parse_modinfo(modinfo).unwrap();
        info.go_version = "go1.26.8".into();
        BinaryFacts {
            path: "dist/svc".into(),
            format: Format::Elf,
            arch: "amd64".into(),
            goos: Some("linux".into()),
            size: 1,
            linkage: Linkage::Static,
            interpreter: None,
            needed: vec![],
            libc: None,
            symbols_stripped: false,
            dwarf: true,
            pclntab: PclntabFacts::default(),
            buildinfo: Some(info),
            buildinfo_error: None,
            pie: None,
            relro: None,
            nx: None,
            cgo: Some(false),
            pprof_linked: false,
            version_vars: BTreeMap::new(),
            expected_version: None,
            slices: vec![],
        }
    }

    const MODINFO: &str = "path\texample.com/svc/cmd/svc\n\
        mod\texample.com/svc\t(devel)\t\n\
        dep\tgolang.org/x/text\tv0.14.0\th1:text=\n\
        dep\trsc.io/sampler\tv1.3.0\th1:old=\n\
        =>\trsc.io/sampler\tv1.99.99\th1:new=\n\
        dep\texample.com/lib\tv0.0.0\n\
        =>\t./lib\t(devel)\t\n\
        dep\tgithub.com/x/y\tv2.0.0+incompatible\th1:y=\n\
        build\t-ldflags=\"-s -X main.Version=1.2.3 -X=main.commit=abc\"\n\
        build\tGOOS=linux\n\
        build\tGOARCH=arm64\n";

    #[test]
    fn replacements_resolve_to_the_code_that_is_linked() {
        let s = Subject::from_facts(&facts_of(MODINFO), "svc", "00").unwrap();
        let sampler = &s.modules[1];
        assert_eq!(
            (
                sampler.path.as_str(),
                sampler.version.as_deref(),
                sampler.sum.as_str()
            ),
            ("rsc.io/sampler", Some("v1.99.99"), "h1:new=")
        );
        assert_eq!(sampler.replaces.as_ref().unwrap().version, "v1.3.0");
        assert_eq!(
            sampler.purl().unwrap(),
            "pkg:golang/rsc.io/sampler@v1.99.99"
        );
        let lib = &s.modules[2];
        assert_eq!(lib.path, "example.com/lib");
        assert_eq!(lib.local_dir.as_deref(), Some("./lib"));
        assert_eq!(lib.purl(), None, "a directory is not the published module");
        assert_eq!(
            s.modules[3].purl().unwrap(),
            "pkg:golang/github.com/x/y@v2.0.0%2Bincompatible"
        );
    }

    #[test]
    fn platform_comes_from_buildinfo_before_the_file_format() {
        // The file says amd64 (facts.arch), buildinfo says arm64: buildinfo wins.
        let s = Subject::from_facts(&facts_of(MODINFO), "svc", "00").unwrap();
        assert_eq!((s.goos.as_str(), s.goarch.as_str()), ("linux", "arm64"));
        assert_eq!(
            s.purl(),
            "pkg:golang/example.com/svc@1.2.3?goarch=arm64&goos=linux"
        );
        // Without the settings, the file's own machine.
        let mut facts = facts_of("path\tx\nmod\tx\t(devel)\t\n");
        facts.arch = "386".into();
        facts.goos = Some("windows".into());
        let s = Subject::from_facts(&facts, "x.exe", "00").unwrap();
        assert_eq!((s.goos.as_str(), s.goarch.as_str()), ("windows", "386"));
        assert_eq!(s.purl(), "pkg:golang/x?goarch=386&goos=windows");
        // A universal file: every slice's GOARCH.
        let mut universal = facts_of(MODINFO);
        let mut amd = facts_of("path\tx\nbuild\tGOARCH=amd64\n");
        amd.arch = "amd64".into();
        universal.slices = vec![amd, facts_of(MODINFO)];
        let s = Subject::from_facts(&universal, "x", "00").unwrap();
        assert_eq!(s.goarch, "amd64+arm64");
        assert!(
            s.purl().ends_with("?goarch=amd64%2Barm64&goos=linux"),
            "{}",
            s.purl()
        );
    }

    #[test]
    fn version_prefers_proof_then_buildinfo_then_symbols_then_ldflags() {
        let mut facts = facts_of(MODINFO);
        let s = Subject::from_facts(&facts, "svc", "00").unwrap();
        assert_eq!(s.version.as_deref(), Some("1.2.3"));
        assert_eq!(
            s.version_source,
            VersionSource::LdflagsX("main.Version".into())
        );
        assert_eq!(
            s.x_values,
            [
                ("main.Version".to_string(), "1.2.3".to_string()),
                ("main.commit".to_string(), "abc".to_string())
            ]
        );
        facts
            .version_vars
            .insert("main.Version".into(), "1.2.4".into());
        let s = Subject::from_facts(&facts, "svc", "00").unwrap();
        assert_eq!(s.version.as_deref(), Some("1.2.4"));
        facts
            .buildinfo
            .as_mut()
            .unwrap()
            .main
            .as_mut()
            .unwrap()
            .version = "v1.2.5".into();
        let s = Subject::from_facts(&facts, "svc", "00").unwrap();
        assert_eq!(
            (s.version.as_deref(), &s.version_source),
            (Some("v1.2.5"), &VersionSource::BuildInfo)
        );
        facts.expected_version = Some(VersionEvidence {
            expected: "1.2.6".into(),
            found: true,
            evidence: "symbol main.Version".into(),
        });
        let s = Subject::from_facts(&facts, "svc", "00").unwrap();
        assert_eq!(s.version.as_deref(), Some("1.2.6"));
        // Not found is no proof.
        facts.expected_version.as_mut().unwrap().found = false;
        let s = Subject::from_facts(&facts, "svc", "00").unwrap();
        assert_eq!(s.version.as_deref(), Some("v1.2.5"));
        // Nothing at all.
        let s = Subject::from_facts(&facts_of("path\tx\nmod\tx\t(devel)\t\n"), "x", "00").unwrap();
        assert_eq!((s.version, s.version_source), (None, VersionSource::Devel));
    }

    #[test]
    fn a_file_without_buildinfo_gets_no_sbom_and_says_why() {
        let mut facts = facts_of("path\tx\n");
        facts.buildinfo = None;
        let err = Subject::from_facts(&facts, "x", "00").unwrap_err();
        assert!(err.0.contains("not a Go binary"), "{err}");
        facts.pclntab.present = true;
        let err = Subject::from_facts(&facts, "x", "00").unwrap_err();
        assert!(err.0.contains("without build info"), "{err}");
        facts.buildinfo_error = Some("truncated".into());
        let err = Subject::from_facts(&facts, "x", "00").unwrap_err();
        assert!(err.0.contains("truncated"), "{err}");
    }

    #[test]
    fn go_versions_become_the_vulnerability_databases_semver() {
        assert_eq!(go_semver("go1.26.8").as_deref(), Some("v1.26.8"));
        assert_eq!(go_semver("go1.21").as_deref(), Some("v1.21.0"));
        assert_eq!(go_semver("go1.21rc2").as_deref(), Some("v1.21.0-rc.2"));
        assert_eq!(go_semver("go1.18beta1").as_deref(), Some("v1.18.0-beta.1"));
        assert_eq!(
            go_semver("go1.26.8 X:nocoverageredesign").as_deref(),
            Some("v1.26.8")
        );
        assert_eq!(go_semver("devel go1.27-abcdef Tue"), None);
        assert_eq!(go_semver("go1.x"), None);
        assert_eq!(go_semver("go1.21xx3"), None);
        assert_eq!(go_semver(""), None);
    }

    #[test]
    fn purls_encode_what_is_not_unreserved() {
        assert_eq!(
            purl(
                "example.com/a b",
                Some("v1.0.0+meta"),
                &[("goos", "linux"), ("goarch", "arm64")]
            ),
            "pkg:golang/example.com/a%20b@v1.0.0%2Bmeta?goarch=arm64&goos=linux"
        );
        assert_eq!(purl("x", None, &[("goos", "")]), "pkg:golang/x");
    }
}
