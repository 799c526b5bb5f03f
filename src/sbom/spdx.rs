//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>): the binary as the package the
//! document describes (with its SHA256), a package per module and one for the standard
//! library, each with its purl as an external reference; DESCRIBES and DEPENDS_ON
//! relationships. Validated in the tests by spdx-tools (`pyspdxtools -i`).

use serde::Serialize;

use super::Stamp;
use super::cyclonedx::NO_GRAPH;
use super::subject::{STDLIB, Subject};

/// The document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// `SPDX-2.3`.
    pub spdx_version: &'static str,
    /// `CC0-1.0` (the SPDX specification requires it).
    pub data_license: &'static str,
    /// `SPDXRef-DOCUMENT`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: &'static str,
    /// The file's name.
    pub name: String,
    /// A unique URI for this document.
    pub document_namespace: String,
    /// When and by what.
    pub creation_info: CreationInfo,
    /// The binary, its modules, the standard library.
    pub packages: Vec<Package>,
    /// DESCRIBES, DEPENDS_ON.
    pub relationships: Vec<Relationship>,
    /// What buildinfo cannot say.
    pub comment: String,
}

/// `creationInfo`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationInfo {
    /// RFC 3339, UTC, seconds.
    pub created: String,
    /// `Tool: goready-0.1.0`.
    pub creators: Vec<String>,
}

/// `packages[]`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `SPDXRef-…`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    /// Module path (or `stdlib`).
    pub name: String,
    /// Version, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_info: Option<String>,
    /// The binary's file name (the described package only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_file_name: Option<String>,
    /// `NOASSERTION`: buildinfo does not say where a module was fetched from.
    pub download_location: &'static str,
    /// No files are listed.
    pub files_analyzed: bool,
    /// The binary's SHA256.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checksums: Vec<Checksum>,
    /// `NOASSERTION`: licences are not in the binary.
    pub license_concluded: &'static str,
    /// `NOASSERTION`.
    pub license_declared: &'static str,
    /// `NOASSERTION`.
    pub copyright_text: &'static str,
    /// The replacement, the `h1:` sum, the build settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The purl.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_refs: Vec<ExternalRef>,
    /// `APPLICATION` or `LIBRARY`.
    pub primary_package_purpose: &'static str,
}

/// `checksums[]`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checksum {
    /// `SHA256`.
    pub algorithm: &'static str,
    /// Lowercase hex.
    pub checksum_value: String,
}

/// `externalRefs[]`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRef {
    /// `PACKAGE-MANAGER`.
    pub reference_category: &'static str,
    /// `purl`.
    pub reference_type: &'static str,
    /// The purl.
    pub reference_locator: String,
}

/// `relationships[]`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// From.
    pub spdx_element_id: String,
    /// `DESCRIBES`, `DEPENDS_ON`.
    pub relationship_type: &'static str,
    /// To.
    pub related_spdx_element: String,
}

const NOASSERTION: &str = "NOASSERTION";

/// Why a module's `h1:` sum is in its comment and not in `checksums`.
const H1_NOTE_SPDX: &str = "A module's go.sum h1: value (in its comment) is a SHA-256 over the module's file listing (golang.org/x/mod/sumdb/dirhash Hash1), not over any one file, so it is not an SPDX checksum; `go mod verify` and the checksum database check it.";

/// An SPDX id from free text: only letters, digits, `.` and `-` are allowed.
fn spdx_id(kind: &str, n: usize, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{kind}-{n}-{clean}")
}

fn purl_ref(purl: String) -> ExternalRef {
    ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_type: "purl",
        reference_locator: purl,
    }
}

/// The SPDX document of `subject`.
pub fn document(subject: &Subject, stamp: &Stamp) -> Document {
    let main_id = spdx_id("Package", 0, &subject.main_path);
    let mut main_comment = vec![
        format!("GOOS={} GOARCH={}", subject.goos, subject.goarch),
        format!("version from {}", subject.version_source.describe()),
        format!("built by {}", subject.go_version),
    ];
    main_comment.extend(
        subject
            .settings
            .iter()
            .map(|(k, v)| format!("build {k}={v}")),
    );
    let mut packages = vec![Package {
        spdx_id: main_id.clone(),
        name: subject.main_path.clone(),
        version_info: subject.version.clone(),
        package_file_name: Some(subject.file_name.clone()),
        download_location: NOASSERTION,
        files_analyzed: false,
        checksums: vec![Checksum {
            algorithm: "SHA256",
            checksum_value: subject.sha256.clone(),
        }],
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION,
        copyright_text: NOASSERTION,
        comment: Some(main_comment.join("; ")),
        external_refs: vec![purl_ref(subject.purl())],
        primary_package_purpose: "APPLICATION",
    }];
    for (i, m) in subject.modules.iter().enumerate() {
        let mut notes = Vec::new();
        if let Some(orig) = &m.replaces {
            match &m.local_dir {
                Some(dir) => notes.push(format!(
                    "{} {} replaced by the local directory {dir}",
                    orig.path, orig.version
                )),
                None => notes.push(format!("replaces {} {}", orig.path, orig.version)),
            }
        }
        if !m.sum.is_empty() {
            notes.push(format!(
                "go.sum {} (hashes the module's file listing, not a file)",
                m.sum
            ));
        }
        packages.push(Package {
            spdx_id: spdx_id("Package", i + 1, &m.path),
            name: m.path.clone(),
            version_info: m.version.clone(),
            package_file_name: None,
            download_location: NOASSERTION,
            files_analyzed: false,
            checksums: Vec::new(),
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION,
            copyright_text: NOASSERTION,
            comment: (!notes.is_empty()).then(|| notes.join("; ")),
            external_refs: m.purl().into_iter().map(purl_ref).collect(),
            primary_package_purpose: "LIBRARY",
        });
    }
    packages.push(Package {
        spdx_id: spdx_id("Package", subject.modules.len() + 1, STDLIB),
        name: STDLIB.into(),
        version_info: subject.stdlib_version.clone(),
        package_file_name: None,
        download_location: NOASSERTION,
        files_analyzed: false,
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION,
        copyright_text: NOASSERTION,
        comment: Some(format!("the Go standard library of {}", subject.go_version)),
        external_refs: subject.stdlib_purl().into_iter().map(purl_ref).collect(),
        primary_package_purpose: "LIBRARY",
    });
    let mut relationships = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".into(),
        relationship_type: "DESCRIBES",
        related_spdx_element: main_id.clone(),
    }];
    relationships.extend(packages[1..].iter().map(|p| Relationship {
        spdx_element_id: main_id.clone(),
        relationship_type: "DEPENDS_ON",
        related_spdx_element: p.spdx_id.clone(),
    }));
    let mut comment = NO_GRAPH.replace(" (compositions: unknown)", "").to_string();
    if subject.modules.iter().any(|m| !m.sum.is_empty()) {
        comment.push(' ');
        comment.push_str(H1_NOTE_SPDX);
    }
    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: subject.file_name.clone(),
        document_namespace: format!(
            "https://spdx.org/spdxdocs/goready/{}-{}",
            subject
                .file_name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                })
                .collect::<String>(),
            stamp.serial(&subject.sha256, "spdx")
        ),
        creation_info: CreationInfo {
            created: stamp.rfc3339(),
            creators: vec![format!("Tool: goready-{}", env!("CARGO_PKG_VERSION"))],
        },
        packages,
        relationships,
        comment,
    }
}
