//! The JSON documents of an image, as the OCI image spec and `docker save` write them: the
//! OCI index and manifest, `docker save`'s manifest.json, and the image config. Only the
//! fields goready reads; unknown fields are ignored, missing optional ones default.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A content descriptor (OCI `application/vnd.oci.descriptor.v1+json`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Descriptor {
    /// What the blob is (index, manifest, config, layer), by media type.
    #[serde(default, rename = "mediaType")]
    pub media_type: String,
    /// `sha256:<hex>`: names the blob under `blobs/<alg>/<hex>`.
    pub digest: String,
    /// The blob's size in bytes.
    #[serde(default)]
    pub size: u64,
    /// The platform an index entry is for.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Annotations (`vnd.docker.reference.type: attestation-manifest` marks attestations).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An OS/architecture pair, as index entries and configs state it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// `linux`, `windows`, … (`unknown` for attestations).
    #[serde(default)]
    pub os: String,
    /// GOARCH names: `amd64`, `arm64`, …
    #[serde(default)]
    pub architecture: String,
    /// `v7`, `v8`, … where the architecture has variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// `os/arch[/variant]`.
    pub fn label(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{}", self.os, self.architecture, v),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// Parses `os/arch[/variant]`.
    pub fn parse(text: &str) -> Option<Platform> {
        let mut parts = text.split('/');
        let os = parts.next().filter(|s| !s.is_empty())?;
        let architecture = parts.next().filter(|s| !s.is_empty())?;
        let variant = parts.next().map(str::to_string);
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant,
        })
    }

    /// The platform goready runs on, in GOOS/GOARCH names.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            "arm" => "arm",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// Whether an index entry for `self` serves a request for `wanted` (a variant is
    /// compared only when both name one).
    pub fn serves(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && match (&self.variant, &wanted.variant) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// An OCI image index (`index.json`, or a nested index blob).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Index {
    /// The manifests (or nested indexes) it lists.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// An OCI (or Docker v2 schema 2) image manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Media type, when stated (an index that is served as a manifest says so here).
    #[serde(default, rename = "mediaType")]
    pub media_type: String,
    /// The image config blob.
    pub config: Descriptor,
    /// Layer blobs, base first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// One image of `docker save`'s manifest.json.
#[derive(Debug, Clone, Deserialize)]
pub struct DockerManifest {
    /// Path of the config JSON inside the archive.
    #[serde(rename = "Config")]
    pub config: String,
    /// `name:tag` references.
    #[serde(default, rename = "RepoTags")]
    pub repo_tags: Option<Vec<String>>,
    /// Paths of the layer tarballs inside the archive, base first.
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

/// The image config (`application/vnd.oci.image.config.v1+json`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageConfig {
    /// GOARCH-style architecture.
    #[serde(default)]
    pub architecture: String,
    /// GOOS-style OS.
    #[serde(default)]
    pub os: String,
    /// CPU variant.
    #[serde(default)]
    pub variant: Option<String>,
    /// What a container runs with.
    #[serde(default)]
    pub config: Option<RunConfig>,
}

/// The execution parameters of the image config (`config` object). Docker writes the keys
/// capitalised, as the OCI spec does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    /// `USER`: `name`, `uid`, `name:group`, `uid:gid`.
    #[serde(default, rename = "User", skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `ENV`, as `KEY=value` strings.
    #[serde(default, rename = "Env", deserialize_with = "null_as_empty")]
    pub env: Vec<String>,
    /// `ENTRYPOINT` (a shell form is stored as `["/bin/sh", "-c", "…"]`).
    #[serde(
        default,
        rename = "Entrypoint",
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`.
    #[serde(default, rename = "Cmd", skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `WORKDIR`.
    #[serde(
        default,
        rename = "WorkingDir",
        skip_serializing_if = "Option::is_none"
    )]
    pub working_dir: Option<String>,
    /// `EXPOSE`d ports as keys: `8080/tcp`.
    #[serde(
        default,
        rename = "ExposedPorts",
        deserialize_with = "null_as_empty",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
}

impl RunConfig {
    /// The value of an `ENV` variable.
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env.iter().rev().find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then_some(v)
        })
    }

    /// The argv a runtime starts: ENTRYPOINT followed by CMD (CMD alone without one).
    pub fn argv(&self) -> Vec<String> {
        let mut argv = self.entrypoint.clone().unwrap_or_default();
        argv.extend(self.cmd.clone().unwrap_or_default());
        argv
    }
}

fn null_as_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Media types and annotations that mark what is not a runnable image.
pub fn is_attestation(d: &Descriptor) -> bool {
    d.annotations
        .get("vnd.docker.reference.type")
        .is_some_and(|t| t == "attestation-manifest")
        || d.platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
}

/// Whether a descriptor points at an index rather than a manifest.
pub fn is_index(media_type: &str) -> bool {
    media_type == "application/vnd.oci.image.index.v1+json"
        || media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
}

/// `blobs/<alg>/<hex>` for a digest, refusing anything that is not `alg:hex` (a digest is
/// untrusted text that becomes a path).
pub fn blob_path(digest: &str) -> Result<String, String> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| format!("digest {digest:?} is not ALGORITHM:HEX"))?;
    let alg_ok = !alg.is_empty()
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let hex_ok = !hex.is_empty()
        && hex.len() <= 256
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'=' || b == b'_');
    if !alg_ok || !hex_ok || alg.contains("..") {
        return Err(format!("digest {digest:?} is not ALGORITHM:HEX"));
    }
    Ok(format!("blobs/{alg}/{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_never_become_paths_outside_blobs() {
        assert_eq!(blob_path("sha256:abc123").unwrap(), "blobs/sha256/abc123");
        for bad in [
            "sha256:../../etc/passwd",
            "../x:abc",
            "sha256:",
            "abc",
            "sha256:ab/cd",
        ] {
            assert!(blob_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_with_nulls_reads_as_empty() {
        let c: ImageConfig = serde_json::from_str(
            r#"{"architecture":"amd64","os":"linux","config":{"Env":null,"Entrypoint":null,"Cmd":["/app"],"ExposedPorts":null}}"#,
        )
        .unwrap();
        let run = c.config.unwrap();
        assert_eq!(run.argv(), vec!["/app"]);
        assert!(run.env.is_empty());
    }

    #[test]
    fn platforms_parse_and_match() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert!(p.serves(&Platform::parse("linux/arm64").unwrap()));
        assert!(!p.serves(&Platform::parse("linux/amd64").unwrap()));
        assert!(Platform::parse("linux").is_none());
    }
}
