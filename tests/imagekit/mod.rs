//! Test support for `goready image`: writes container images the way `docker save` and OCI
//! tools lay them out, from layers the tests describe (host files, bytes, symlinks,
//! whiteouts, opaque directories), gzip-, zstd- (the `zstd` CLI) or un-compressed; and
//! unpacks the same layers into a directory the way a runtime does (`tar -xf` per layer,
//! whiteouts applied), for `chroot` to say what really happens.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// One thing in a layer.
#[derive(Debug, Clone)]
pub enum Item {
    /// A file with these bytes and mode.
    Bytes(String, Vec<u8>, u32),
    /// A host file's bytes (symlinks followed), mode kept.
    Host(String, PathBuf),
    /// A directory.
    Dir(String),
    /// A symlink to a target.
    Symlink(String, String),
    /// A whiteout of a path of the layers below.
    Whiteout(String),
    /// An opaque marker for a directory.
    Opaque(String),
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comp {
    None,
    Gzip,
    Zstd,
}

/// A layer: items and compression.
#[derive(Debug, Clone)]
pub struct Layer {
    pub items: Vec<Item>,
    pub comp: Comp,
}

/// An image: layers (base first), platform, and the run config (`config` object).
#[derive(Debug, Clone)]
pub struct Image {
    pub layers: Vec<Layer>,
    pub os: String,
    pub arch: String,
    pub config: Value,
}

impl Image {
    pub fn new(arch: &str, config: Value) -> Image {
        Image {
            layers: Vec::new(),
            os: "linux".into(),
            arch: arch.into(),
            config,
        }
    }

    pub fn layer(mut self, comp: Comp, items: Vec<Item>) -> Image {
        self.layers.push(Layer { items, comp });
        self
    }
}

/// Adds the directories above `path` to the tar (as a tool that tars a tree would).
fn parents(
    b: &mut tar::Builder<Vec<u8>>,
    path: &str,
    done: &mut std::collections::BTreeSet<String>,
) {
    let mut at = String::new();
    let parts: Vec<&str> = path.split('/').collect();
    for p in &parts[..parts.len().saturating_sub(1)] {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(p);
        if done.insert(at.clone()) {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            b.append_data(&mut h, format!("{at}/"), std::io::empty())
                .unwrap();
        }
    }
}

/// The layer as a plain tar.
pub fn layer_tar(layer: &Layer) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut done = std::collections::BTreeSet::new();
    for item in &layer.items {
        let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8], mode: u32| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(mode);
            h.set_size(bytes.len() as u64);
            b.append_data(&mut h, path, bytes).unwrap();
        };
        match item {
            Item::Bytes(p, bytes, mode) => {
                parents(&mut b, p, &mut done);
                file(&mut b, p, bytes, *mode);
            }
            Item::Host(p, host) => {
                parents(&mut b, p, &mut done);
                let bytes =
                    std::fs::read(host).unwrap_or_else(|e| panic!("{}: {e}", host.display()));
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(host).unwrap().permissions().mode() & 0o7777;
                file(&mut b, p, &bytes, mode);
            }
            Item::Dir(p) => {
                parents(&mut b, &format!("{p}/x"), &mut done);
            }
            Item::Symlink(p, target) => {
                parents(&mut b, p, &mut done);
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, p, target).unwrap();
            }
            Item::Whiteout(p) => {
                let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
                let wh = if dir.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{dir}/.wh.{name}")
                };
                parents(&mut b, &wh, &mut done);
                file(&mut b, &wh, b"", 0o644);
            }
            Item::Opaque(dir) => {
                let p = format!("{dir}/.wh..wh..opq");
                parents(&mut b, &p, &mut done);
                file(&mut b, &p, b"", 0o644);
            }
        }
    }
    b.into_inner().unwrap()
}

/// Compresses with flate2 (gzip) or the `zstd` CLI.
pub fn compress(bytes: Vec<u8>, comp: Comp) -> Vec<u8> {
    match comp {
        Comp::None => bytes,
        Comp::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            e.finish().unwrap()
        }
        Comp::Zstd => {
            let mut child = Command::new("zstd")
                .args(["-q", "-c", "-3"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("the zstd CLI (apt-get install zstd)");
            let mut stdin = child.stdin.take().unwrap();
            let writer = std::thread::spawn(move || {
                stdin.write_all(&bytes).unwrap();
            });
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap();
            assert!(out.status.success());
            out.stdout
        }
    }
}

/// `sha256:<hex>` of bytes, by `sha256sum`.
pub fn digest(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let owned = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&owned).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    format!("sha256:{}", text.split_whitespace().next().unwrap())
}

fn media(comp: Comp) -> &'static str {
    match comp {
        Comp::None => "application/vnd.oci.image.layer.v1.tar",
        Comp::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Comp::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// Files of an archive: (name, bytes), in the order they are written.
pub type Files = Vec<(String, Vec<u8>)>;

fn config_json(image: &Image, diff_ids: &[String]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": image.arch,
        "os": image.os,
        "config": image.config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap()
}

/// The blobs of an image: (config digest, config bytes, [(layer digest, blob, media type)]).
/// A layer blob: its digest, its bytes and its media type.
type Blob = (String, Vec<u8>, &'static str);

fn blobs(image: &Image) -> (String, Vec<u8>, Vec<Blob>) {
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for l in &image.layers {
        let plain = layer_tar(l);
        diff_ids.push(digest(&plain));
        let blob = compress(plain, l.comp);
        layers.push((digest(&blob), blob, media(l.comp)));
    }
    let config = config_json(image, &diff_ids);
    (digest(&config), config, layers)
}

fn blob_name(d: &str) -> String {
    format!("blobs/{}", d.replace(':', "/"))
}

fn manifest_of(
    config_digest: &str,
    config: &[u8],
    layers: &[(String, Vec<u8>, &'static str)],
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers.iter().map(|(d, b, m)| json!({"mediaType": m, "digest": d, "size": b.len()})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// `docker save` before Docker 25: `<id>/layer.tar`, `<config>.json`, manifest.json last.
pub fn docker_legacy(image: &Image, tag: &str) -> Files {
    let (cd, config, layers) = blobs(image);
    let mut files = Vec::new();
    let mut names = Vec::new();
    for (d, blob, _) in &layers {
        let id = &d["sha256:".len()..];
        files.push((format!("{id}/VERSION"), b"1.0".to_vec()));
        files.push((format!("{id}/layer.tar"), blob.clone()));
        names.push(format!("{id}/layer.tar"));
    }
    let config_name = format!("{}.json", &cd["sha256:".len()..]);
    files.push((config_name.clone(), config));
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&json!([{"Config": config_name, "RepoTags": [tag], "Layers": names}]))
            .unwrap(),
    ));
    files
}

/// `docker save` since Docker 25: an OCI layout plus manifest.json, in lexical order as
/// docker writes it (blobs first).
pub fn docker_oci(image: &Image, tag: &str) -> Files {
    let (cd, config, layers) = blobs(image);
    let manifest = manifest_of(&cd, &config, &layers);
    let md = digest(&manifest);
    let mut files = Vec::new();
    for (d, blob, _) in &layers {
        files.push((blob_name(d), blob.clone()));
    }
    files.push((blob_name(&cd), config));
    files.push((blob_name(&md), manifest.clone()));
    files.push((
        "index.json".into(),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len(),
            "annotations": {"io.containerd.image.name": format!("docker.io/library/{tag}"), "org.opencontainers.image.ref.name": tag.rsplit(':').next().unwrap()}
        }]}))
        .unwrap(),
    ));
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&json!([{"Config": blob_name(&cd), "RepoTags": [tag], "Layers": layers.iter().map(|(d, _, _)| blob_name(d)).collect::<Vec<_>>()}])).unwrap(),
    ));
    files.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    files
}

/// An OCI image layout: one index over several images (one per platform), with a buildx
/// style attestation manifest after each, as `docker buildx build --output type=oci` writes.
pub fn oci_index(images: &[Image], attestations: bool) -> Files {
    let mut files = Vec::new();
    let mut entries = Vec::new();
    for image in images {
        let (cd, config, layers) = blobs(image);
        let manifest = manifest_of(&cd, &config, &layers);
        let md = digest(&manifest);
        for (d, blob, _) in &layers {
            files.push((blob_name(d), blob.clone()));
        }
        files.push((blob_name(&cd), config));
        files.push((blob_name(&md), manifest.clone()));
        entries.push(json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len(),
            "platform": {"os": image.os, "architecture": image.arch}}));
        if attestations {
            // An attestation: its "layer" is an in-toto statement, not a tar.
            let statement = br#"{"_type":"https://in-toto.io/Statement/v0.1"}"#.to_vec();
            let sd = digest(&statement);
            let aconfig = b"{}".to_vec();
            let acd = digest(&aconfig);
            let am = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": acd, "size": aconfig.len()},
                "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": sd, "size": statement.len()}]})).unwrap();
            let amd = digest(&am);
            files.push((blob_name(&sd), statement));
            files.push((blob_name(&acd), aconfig));
            files.push((blob_name(&amd), am.clone()));
            entries.push(json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd, "size": am.len(),
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": md}}));
        }
    }
    // Attestations first would be wrong to pick: put one first to prove they are skipped.
    entries.rotate_right(usize::from(attestations));
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})).unwrap();
    files.push(("index.json".into(), index));
    files.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    files
}

/// Writes files as an uncompressed tar.
pub fn write_tar(files: &Files, out: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(bytes.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, bytes.as_slice()).unwrap();
    }
    b.finish().unwrap();
}

/// Writes files into a directory (an OCI layout directory).
pub fn write_dir(files: &Files, dir: &Path) {
    for (name, bytes) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// Unpacks the image as a runtime does: per layer, its whiteouts remove what the layers
/// below put there, then `tar -xf` extracts it (whiteout files excluded).
pub fn unpack(image: &Image, root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    for (i, l) in image.layers.iter().enumerate() {
        for item in &l.items {
            match item {
                Item::Whiteout(p) => {
                    let path = root.join(p);
                    if path.is_dir() && !path.is_symlink() {
                        std::fs::remove_dir_all(&path).unwrap();
                    } else if path.symlink_metadata().is_ok() {
                        std::fs::remove_file(&path).unwrap();
                    }
                }
                Item::Opaque(d) => {
                    let dir = root.join(d);
                    if let Ok(entries) = std::fs::read_dir(&dir) {
                        for e in entries {
                            let p = e.unwrap().path();
                            if p.is_dir() && !p.is_symlink() {
                                std::fs::remove_dir_all(&p).unwrap();
                            } else {
                                std::fs::remove_file(&p).unwrap();
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let blob = compress(layer_tar(l), l.comp);
        let file = root.parent().unwrap().join(format!("layer-{i}.blob"));
        std::fs::write(&file, blob).unwrap();
        let out = Command::new("tar")
            .arg("-xf")
            .arg(&file)
            .arg("-C")
            .arg(root)
            .arg("--exclude=.wh.*")
            .arg("--no-same-owner")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tar -xf: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_file(&file).unwrap();
    }
}
