//! The outside of an image: a `docker save` tarball, an OCI image layout (a directory or a
//! tar of one), and which image in it to read. The outer tar is indexed once (names,
//! offsets, sizes) without copying anything, so that the manifest (which `docker save`
//! writes last) is read first and each layer is then streamed from its offset. Every name
//! the archive's JSON gives is untrusted: it must stay inside the archive.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::oci::{self, Descriptor, DockerManifest, ImageConfig, Index, Manifest, Platform};

/// JSON documents (manifests, configs) larger than this are refused.
const MAX_JSON: u64 = 16 << 20;
/// An outer archive with more entries than this is refused (a real one has a few hundred).
const MAX_OUTER_ENTRIES: usize = 100_000;
/// Nested indexes deeper than this are refused.
const MAX_INDEX_DEPTH: usize = 4;

/// How the image was laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `docker save`'s manifest.json, layers as `<id>/layer.tar` (before Docker 25).
    DockerSave,
    /// `docker save`'s manifest.json over an OCI layout (`blobs/sha256/…`, Docker 25+).
    DockerSaveOci,
    /// An OCI image layout (index.json).
    Oci,
}

/// Where the archive's files are.
enum Store {
    /// An OCI layout directory.
    Dir(PathBuf),
    /// A tar file, indexed: name → (data offset, size).
    Tar {
        path: PathBuf,
        entries: HashMap<String, (u64, u64)>,
    },
}

/// An opened image archive.
pub struct Archive {
    store: Store,
    shown: String,
}

/// One layer to read: where its blob is and how big the archive says it is.
#[derive(Debug, Clone)]
pub struct LayerRef {
    /// The name inside the archive (`blobs/sha256/…` or `<id>/layer.tar`).
    pub name: String,
    /// Size of the blob in the archive (compressed, if it is).
    pub size: u64,
}

/// The image chosen inside an archive.
#[derive(Debug, Clone)]
pub struct Located {
    /// The archive's layout.
    pub layout: Layout,
    /// The image config.
    pub config: ImageConfig,
    /// The layers, base first.
    pub layers: Vec<LayerRef>,
    /// `name:tag` references the archive gives the image.
    pub tags: Vec<String>,
    /// Platforms the index offered, when there was a choice.
    pub offered: Vec<String>,
}

/// A reader over a byte range of a file.
pub struct Window {
    file: File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Window {
    fn new(mut file: File, start: u64, len: u64) -> io::Result<Window> {
        file.seek(SeekFrom::Start(start))?;
        Ok(Window {
            file,
            start,
            len,
            pos: 0,
        })
    }
}

impl Read for Window {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Window {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        // Past the end reads nothing, as a file does.
        self.file
            .seek(SeekFrom::Start(self.start + target.min(self.len)))?;
        self.pos = target;
        Ok(target)
    }
}

/// A relative path inside the archive, cleaned; `Err` for an absolute path or one that
/// climbs out with `..`.
pub fn inside(name: &str) -> Result<String, String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str().ok_or("not UTF-8")?),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(format!("{name:?} points outside the archive"));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "{name:?} is an absolute path, not a name in the archive"
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err(format!("{name:?} names no file"));
    }
    Ok(parts.join("/"))
}

impl Archive {
    /// Opens an OCI layout directory or an (uncompressed) tar archive.
    pub fn open(path: &Path) -> anyhow::Result<Archive> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {shown}"))?;
        if meta.is_dir() {
            if !path.join("index.json").is_file() && !path.join("manifest.json").is_file() {
                bail!(
                    "{shown} is a directory without index.json or manifest.json: not an OCI image layout"
                );
            }
            let root = path
                .canonicalize()
                .with_context(|| format!("cannot read {shown}"))?;
            return Ok(Archive {
                store: Store::Dir(root),
                shown,
            });
        }
        let mut file = File::open(path).with_context(|| format!("cannot read {shown}"))?;
        let mut magic = [0u8; 6];
        let n = read_full(&mut file, &mut magic)?;
        match super::layer::Compression::sniff(&magic[..n]) {
            super::layer::Compression::None => {}
            other => bail!(
                "{shown} is {}-compressed: goready reads image archives as docker save and \
                 OCI tools write them (uncompressed tar); decompress it first",
                other.name()
            ),
        }
        file.seek(SeekFrom::Start(0))?;
        let entries =
            index_tar(file).with_context(|| format!("{shown} is not a readable tar archive"))?;
        if !entries.contains_key("manifest.json") && !entries.contains_key("index.json") {
            bail!("{shown} holds neither manifest.json (docker save) nor index.json (OCI layout)");
        }
        Ok(Archive {
            store: Store::Tar {
                path: path.to_path_buf(),
                entries,
            },
            shown,
        })
    }

    /// The archive as given on the command line.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn has(&self, name: &str) -> bool {
        match &self.store {
            Store::Dir(root) => root.join(name).is_file(),
            Store::Tar { entries, .. } => entries.contains_key(name),
        }
    }

    /// Opens a file of the archive by its (already cleaned) name; returns it and its size.
    pub fn open_file(&self, name: &str) -> anyhow::Result<(Window, u64)> {
        match &self.store {
            Store::Dir(root) => {
                let path = root.join(name);
                // A symlink inside the layout must not lead outside it.
                let real = path
                    .canonicalize()
                    .with_context(|| format!("{}: {name} is missing", self.shown))?;
                if !real.starts_with(root) {
                    bail!("{}: {name} points outside the layout", self.shown);
                }
                let file = File::open(&real).with_context(|| format!("cannot read {name}"))?;
                let len = file.metadata()?.len();
                Ok((Window::new(file, 0, len)?, len))
            }
            Store::Tar { path, entries } => {
                let &(offset, size) = entries
                    .get(name)
                    .ok_or_else(|| anyhow!("{}: {name} is not in the archive", self.shown))?;
                let file = File::open(path)?;
                Ok((Window::new(file, offset, size)?, size))
            }
        }
    }

    fn read_json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> anyhow::Result<T> {
        let (mut r, size) = self.open_file(name)?;
        if size > MAX_JSON {
            bail!(
                "{}: {name} is {size} bytes, too large for a JSON document",
                self.shown
            );
        }
        let mut buf = Vec::with_capacity(size as usize);
        (&mut r).take(MAX_JSON).read_to_end(&mut buf)?;
        serde_json::from_slice(&buf).with_context(|| format!("{}: {name} is not valid", self.shown))
    }

    /// Chooses the image: `docker save`'s manifest.json when present (its first image, or
    /// the one tagged `want_tag`), else the OCI index, for `platform` (else the host's).
    pub fn locate(
        &self,
        platform: Option<&Platform>,
        want_tag: Option<&str>,
    ) -> anyhow::Result<Located> {
        if self.has("manifest.json") {
            return self.locate_docker(want_tag);
        }
        self.locate_oci(platform)
    }

    fn locate_docker(&self, want_tag: Option<&str>) -> anyhow::Result<Located> {
        let images: Vec<DockerManifest> = self.read_json("manifest.json")?;
        let image = match want_tag {
            Some(tag) => images
                .iter()
                .find(|m| m.repo_tags.iter().flatten().any(|t| tag_matches(t, tag)))
                .or(images.first()),
            None => images.first(),
        }
        .ok_or_else(|| anyhow!("{}: manifest.json lists no image", self.shown))?;
        let config_name =
            inside(&image.config).map_err(|e| anyhow!("{}: manifest.json: {e}", self.shown))?;
        let config: ImageConfig = self.read_json(&config_name)?;
        let mut layers = Vec::new();
        for l in &image.layers {
            let name = inside(l).map_err(|e| anyhow!("{}: manifest.json: {e}", self.shown))?;
            let (_, size) = self.open_file(&name)?;
            layers.push(LayerRef { name, size });
        }
        let layout = if config_name.starts_with("blobs/") {
            Layout::DockerSaveOci
        } else {
            Layout::DockerSave
        };
        Ok(Located {
            layout,
            config,
            layers,
            tags: image.repo_tags.clone().unwrap_or_default(),
            offered: Vec::new(),
        })
    }

    fn locate_oci(&self, platform: Option<&Platform>) -> anyhow::Result<Located> {
        let index: Index = self.read_json("index.json")?;
        let wanted = platform.cloned().unwrap_or_else(Platform::host);
        let mut offered = Vec::new();
        let manifest = self.pick(&index, &wanted, platform.is_some(), 0, &mut offered)?;
        let config_name =
            oci::blob_path(&manifest.config.digest).map_err(|e| anyhow!("{}: {e}", self.shown))?;
        let config: ImageConfig = self.read_json(&config_name)?;
        let mut layers = Vec::new();
        for d in &manifest.layers {
            let name = oci::blob_path(&d.digest).map_err(|e| anyhow!("{}: {e}", self.shown))?;
            let (_, size) = self.open_file(&name)?;
            layers.push(LayerRef { name, size });
        }
        let tags = index
            .manifests
            .iter()
            .filter_map(|d| {
                d.annotations
                    .get("io.containerd.image.name")
                    .or(d.annotations.get("org.opencontainers.image.ref.name"))
            })
            .cloned()
            .collect();
        Ok(Located {
            layout: Layout::Oci,
            config,
            layers,
            tags,
            offered,
        })
    }

    /// Walks an index down to one manifest for `wanted`: attestations are skipped; an entry
    /// without a platform is taken when it is the only candidate (its config decides).
    fn pick(
        &self,
        index: &Index,
        wanted: &Platform,
        explicit: bool,
        depth: usize,
        offered: &mut Vec<String>,
    ) -> anyhow::Result<Manifest> {
        if depth > MAX_INDEX_DEPTH {
            bail!(
                "{}: indexes nest deeper than {MAX_INDEX_DEPTH} levels",
                self.shown
            );
        }
        let candidates: Vec<&Descriptor> = index
            .manifests
            .iter()
            .filter(|d| !oci::is_attestation(d))
            .collect();
        offered.extend(
            candidates
                .iter()
                .filter_map(|d| d.platform.as_ref().map(Platform::label)),
        );
        let chosen = candidates
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| p.serves(wanted)))
            .or_else(|| {
                let unlabelled: Vec<_> =
                    candidates.iter().filter(|d| d.platform.is_none()).collect();
                (unlabelled.len() == candidates.len() && !candidates.is_empty())
                    .then(|| unlabelled[0])
            })
            .copied();
        let Some(d) = chosen else {
            if candidates.is_empty() {
                bail!("{}: the index lists no image", self.shown);
            }
            bail!(
                "{}: no image for {}{} (the index offers {})",
                self.shown,
                wanted.label(),
                if explicit {
                    ""
                } else {
                    ", the host's platform; choose one with --platform"
                },
                offered.join(", ")
            );
        };
        let name = oci::blob_path(&d.digest).map_err(|e| anyhow!("{}: {e}", self.shown))?;
        if oci::is_index(&d.media_type) {
            let nested: Index = self.read_json(&name)?;
            return self.pick(&nested, wanted, explicit, depth + 1, offered);
        }
        let value: serde_json::Value = self.read_json(&name)?;
        if value.get("manifests").is_some() {
            let nested: Index = serde_json::from_value(value)?;
            return self.pick(&nested, wanted, explicit, depth + 1, offered);
        }
        serde_json::from_value(value)
            .with_context(|| format!("{}: {name} is not an image manifest", self.shown))
    }
}

/// `docker save` tags images `name:tag`; a user may ask for `name` (meaning `:latest`) or
/// for the registry-qualified name.
fn tag_matches(have: &str, want: &str) -> bool {
    let norm = |s: &str| {
        let s = s.strip_prefix("docker.io/").unwrap_or(s);
        let s = s.strip_prefix("library/").unwrap_or(s);
        if s.rsplit('/').next().is_some_and(|last| last.contains(':')) {
            s.to_string()
        } else {
            format!("{s}:latest")
        }
    };
    norm(have) == norm(want)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Indexes a tar file: each regular file's name → (offset of its data, size). Links inside
/// the archive (older `docker save` links a repeated layer.tar to the first) are resolved
/// to their target's data.
fn index_tar(file: File) -> anyhow::Result<HashMap<String, (u64, u64)>> {
    let total = file.metadata()?.len();
    let mut archive = tar::Archive::new(file);
    let mut entries = HashMap::new();
    let mut links: Vec<(String, String)> = Vec::new();
    for (i, entry) in archive.entries_with_seek()?.enumerate() {
        if i >= MAX_OUTER_ENTRIES {
            bail!("more than {MAX_OUTER_ENTRIES} entries: not an image archive");
        }
        let entry = entry?;
        let raw = entry.path()?.to_string_lossy().into_owned();
        let Ok(name) = inside(&raw) else { continue };
        let kind = entry.header().entry_type();
        if kind.is_file() {
            let (offset, size) = (entry.raw_file_position(), entry.size());
            if offset.checked_add(size).is_none_or(|end| end > total) {
                bail!("{name} claims {size} bytes, past the end of the archive (truncated?)");
            }
            entries.insert(name, (offset, size));
        } else if kind.is_symlink() || kind.is_hard_link() {
            let Some(target) = entry.link_name()? else {
                continue;
            };
            let target = target.to_string_lossy().into_owned();
            let joined = if kind.is_symlink() {
                match name.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/{target}"),
                    None => target,
                }
            } else {
                target
            };
            if let Ok(t) = inside(&joined) {
                links.push((name, t));
            }
        }
    }
    for (name, target) in links {
        if let Some(&at) = entries.get(&target) {
            entries.insert(name, at);
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_stay_inside() {
        assert_eq!(inside("./blobs/sha256/ab").unwrap(), "blobs/sha256/ab");
        assert_eq!(inside("a/../b.json").unwrap(), "b.json");
        assert!(inside("../etc/passwd").is_err());
        assert!(inside("/etc/passwd").is_err());
        assert!(inside("a/../../b").is_err());
    }

    #[test]
    fn tags_match_as_docker_names_them() {
        assert!(tag_matches("app:ci", "app:ci"));
        assert!(tag_matches("app:latest", "app"));
        assert!(tag_matches("docker.io/library/app:latest", "app"));
        assert!(!tag_matches("app:ci", "app"));
    }
}
