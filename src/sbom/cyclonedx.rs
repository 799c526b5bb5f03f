//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>): the few objects goready
//! writes, as serde structs of our own, in the order the specification lists their fields.
//! The document validates against the official strict 1.6 schema (tests/sbom.rs runs
//! cyclonedx-python-lib's validator on every one).

use serde::Serialize;

use super::Stamp;
use super::subject::{STDLIB, Subject};

/// The document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    /// `CycloneDX`.
    pub bom_format: &'static str,
    /// `1.6`.
    pub spec_version: &'static str,
    /// `urn:uuid:…`.
    pub serial_number: String,
    /// Always 1: each document is written afresh.
    pub version: u32,
    /// When, by what, about what.
    pub metadata: Metadata,
    /// The modules and the standard library.
    pub components: Vec<Component>,
    /// The main component's dependencies.
    pub dependencies: Vec<Dependency>,
    /// How complete the inventory and the graph are.
    pub compositions: Vec<Composition>,
    /// VEX: goready's vulnerability findings for this binary.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<Vulnerability>,
}

/// `metadata`.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// goready.
    pub tools: Tools,
    /// The binary itself.
    pub component: Component,
    /// Notes on the document as a whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// `metadata.tools` (the 1.5+ object form).
#[derive(Debug, Clone, Serialize)]
pub struct Tools {
    /// The tools, as components.
    pub components: Vec<Component>,
}

/// A component: the binary, a module, the standard library, or a tool.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Component {
    /// `application` or `library`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Unique within the document; what `dependencies` and `vulnerabilities` point at.
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// Module path (or `stdlib`, `goready`).
    pub name: String,
    /// Version, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// One sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `required` for what is linked into the binary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    /// The file's SHA-256 (the binary only: a module's `h1:` hash is no file hash).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// `pkg:golang/…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// For a replaced module: the module as required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pedigree: Option<Pedigree>,
    /// Links (the tool's repository).
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    /// `goready:` facts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// `hashes[]`.
#[derive(Debug, Clone, Serialize)]
pub struct Hash {
    /// `SHA-256`.
    pub alg: &'static str,
    /// Lowercase hex.
    pub content: String,
}

/// `pedigree`.
#[derive(Debug, Clone, Serialize)]
pub struct Pedigree {
    /// The module this one replaces.
    pub ancestors: Vec<Component>,
}

/// `externalReferences[]`.
#[derive(Debug, Clone, Serialize)]
pub struct ExternalReference {
    /// `vcs`, `website`, `advisories`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The address.
    pub url: String,
}

/// `properties[]`: a name in goready's `goready:` namespace and a value.
#[derive(Debug, Clone, Serialize)]
pub struct Property {
    /// `goready:…`.
    pub name: String,
    /// Text.
    pub value: String,
}

/// `dependencies[]`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// The component that depends.
    #[serde(rename = "ref")]
    pub reference: String,
    /// What it depends on.
    pub depends_on: Vec<String>,
}

/// `compositions[]`.
#[derive(Debug, Clone, Serialize)]
pub struct Composition {
    /// `complete`, `unknown`, …
    pub aggregate: &'static str,
    /// Components whose constituent parts this describes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assemblies: Vec<String>,
    /// Components whose dependencies this describes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
}

/// `vulnerabilities[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vulnerability {
    /// Unique in the document: the id and the module.
    #[serde(rename = "bom-ref")]
    pub bom_ref: String,
    /// `GO-YYYY-NNNN`.
    pub id: String,
    /// The Go vulnerability database.
    pub source: Source,
    /// The CVE / GHSA aliases.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<VulnReference>,
    /// The advisory's summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What to do: the fixed version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
    /// The VEX statement; absent for a finding that affects the binary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// The component (by bom-ref) and its version.
    pub affects: Vec<Affects>,
    /// goready's level, evidence and symbols.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<VulnProperty>,
}

/// A property of a vulnerability (same shape as [`Property`], comparable for tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VulnProperty {
    /// `goready:vuln:…`.
    pub name: String,
    /// Text.
    pub value: String,
}

/// `vulnerabilities[].source` and `references[].source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// `Go Vulnerability Database`, `NVD`, `GitHub Advisories`.
    pub name: String,
    /// The entry's page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `vulnerabilities[].references[]`: the same flaw under another id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VulnReference {
    /// `CVE-…`, `GHSA-…`.
    pub id: String,
    /// Who issued it.
    pub source: Source,
}

/// `vulnerabilities[].analysis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// `not_affected`, `in_triage`; absent when only a detail is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    /// `code_not_present`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<&'static str>,
    /// Why, in words.
    pub detail: String,
}

/// `vulnerabilities[].affects[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affects {
    /// The component's bom-ref.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The version in the binary and whether it is affected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<AffectedVersion>,
}

/// `affects[].versions[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AffectedVersion {
    /// The version in the binary.
    pub version: String,
    /// `affected`.
    pub status: &'static str,
}

/// What buildinfo can and cannot say about the graph, written into every document.
pub const NO_GRAPH: &str = "Go buildinfo lists every module linked into the binary but not which module requires which: the binary depends on each of them directly here, and the modules' own dependencies are unknown (compositions: unknown).";

/// Why a module's `h1:` sum is a property and not a `hashes` entry.
pub const H1_NOTE: &str = "goready:gomod:h1 is the module's go.sum hash as buildinfo records it: a SHA-256 over the module's file listing (golang.org/x/mod/sumdb/dirhash Hash1), not over any one file, so it is not a CycloneDX hash of a file; `go mod verify` and the checksum database check it.";

fn prop(name: impl Into<String>, value: impl Into<String>) -> Property {
    Property {
        name: name.into(),
        value: value.into(),
    }
}

/// The CycloneDX document of `subject`, with `vulnerabilities` as its VEX.
pub fn document(subject: &Subject, stamp: &Stamp, vulnerabilities: Vec<Vulnerability>) -> Bom {
    let main_ref = subject.purl();
    let mut main_props = vec![prop("goready:file:name", &subject.file_name)];
    main_props.push(prop(
        "goready:version:source",
        subject.version_source.describe(),
    ));
    main_props.push(prop("goready:go:version", &subject.go_version));
    for (key, value) in &subject.settings {
        main_props.push(prop(format!("goready:build:{key}"), value));
    }
    for (name, value) in &subject.x_values {
        main_props.push(prop(format!("goready:build:-X:{name}"), value));
    }
    let main = Component {
        kind: "application",
        bom_ref: Some(main_ref.clone()),
        name: subject.main_path.clone(),
        version: subject.version.clone(),
        hashes: vec![Hash {
            alg: "SHA-256",
            content: subject.sha256.clone(),
        }],
        purl: Some(main_ref.clone()),
        properties: main_props,
        ..Component::default()
    };

    let mut components = Vec::with_capacity(subject.modules.len() + 1);
    for m in &subject.modules {
        let mut properties = Vec::new();
        if !m.sum.is_empty() {
            properties.push(prop("goready:gomod:h1", &m.sum));
        }
        let mut pedigree = None;
        let mut description = None;
        if let Some(orig) = &m.replaces {
            properties.push(prop(
                "goready:gomod:replaces",
                format!("{} {}", orig.path, orig.version)
                    .trim_end()
                    .to_string(),
            ));
            if let Some(dir) = &m.local_dir {
                properties.push(prop("goready:gomod:replaced-by-directory", dir));
                description = Some(format!(
                    "{} {} replaced by the local directory {dir}: its code is not the published module's",
                    orig.path, orig.version
                ));
            } else {
                description = Some(format!(
                    "replaces {} {} (go.mod replace directive)",
                    orig.path, orig.version
                ));
                let mut ancestor_props = Vec::new();
                if !orig.sum.is_empty() {
                    ancestor_props.push(prop("goready:gomod:h1", &orig.sum));
                }
                pedigree = Some(Pedigree {
                    ancestors: vec![Component {
                        kind: "library",
                        name: orig.path.clone(),
                        version: Some(orig.version.clone()).filter(|v| !v.is_empty()),
                        purl: Some(orig.version.as_str())
                            .filter(|v| !v.is_empty())
                            .map(|v| super::subject::purl(&orig.path, Some(v), &[])),
                        properties: ancestor_props,
                        ..Component::default()
                    }],
                });
            }
        }
        components.push(Component {
            kind: "library",
            bom_ref: Some(m.reference()),
            name: m.path.clone(),
            version: m.version.clone(),
            description,
            scope: Some("required"),
            purl: m.purl(),
            pedigree,
            properties,
            ..Component::default()
        });
    }
    let stdlib_ref = subject
        .stdlib_purl()
        .unwrap_or_else(|| format!("goready:stdlib:{}", subject.go_version));
    components.push(Component {
        kind: "library",
        bom_ref: Some(stdlib_ref.clone()),
        name: STDLIB.into(),
        version: subject.stdlib_version.clone(),
        description: Some(format!(
            "the Go standard library of {}, linked into every Go binary",
            subject.go_version
        )),
        scope: Some("required"),
        purl: subject.stdlib_purl(),
        properties: vec![prop("goready:go:version", &subject.go_version)],
        ..Component::default()
    });

    let module_refs: Vec<String> = components
        .iter()
        .filter_map(|c| c.bom_ref.clone())
        .collect();
    let mut metadata_props = vec![prop("goready:dependencies", NO_GRAPH)];
    if subject.modules.iter().any(|m| !m.sum.is_empty()) {
        metadata_props.push(prop("goready:gomod:h1:note", H1_NOTE));
    }
    Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", stamp.serial(&subject.sha256, "cyclonedx")),
        version: 1,
        metadata: Metadata {
            timestamp: stamp.rfc3339(),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: "goready".into(),
                    version: Some(env!("CARGO_PKG_VERSION").into()),
                    external_references: vec![ExternalReference {
                        kind: "vcs",
                        url: env!("CARGO_PKG_REPOSITORY").into(),
                    }],
                    ..Component::default()
                }],
            },
            component: main,
            properties: metadata_props,
        },
        dependencies: vec![Dependency {
            reference: main_ref.clone(),
            depends_on: module_refs.clone(),
        }],
        compositions: vec![
            // The modules and the standard library are all the Go code there is; with cgo,
            // C code the buildinfo does not list may be linked too.
            Composition {
                aggregate: if subject.settings.get("CGO_ENABLED").map(String::as_str) == Some("0") {
                    "complete"
                } else {
                    "incomplete"
                },
                assemblies: vec![main_ref],
                dependencies: vec![],
            },
            Composition {
                aggregate: "unknown",
                assemblies: vec![],
                dependencies: module_refs,
            },
        ],
        components,
        vulnerabilities,
    }
}
