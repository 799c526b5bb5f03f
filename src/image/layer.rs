//! One layer: its compression told by its first bytes (gzip, zstd, or a plain tar), its tar
//! entries read as a stream, and for each entry what the rules need kept (see [`Keep`]).
//! Nothing is written to disk. Hostile input is bounded: a layer may not expand past the
//! image's budget of unpacked bytes, nor hold more entries than the budget allows.

use std::io::{self, BufRead, BufReader, Read, Seek};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::cancel::Cancel;
use crate::inspect::dynamic::{self, ElfNeeds};

/// How a layer blob is compressed, by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// A plain tar.
    None,
    /// `1f 8b`.
    Gzip,
    /// `28 b5 2f fd`.
    Zstd,
    /// `BZh`: not an OCI layer compression.
    Bzip2,
    /// `fd 37 7a 58 5a 00`: not an OCI layer compression.
    Xz,
}

impl Compression {
    /// Tells the compression from the first bytes of a blob.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(b"BZh") {
            Compression::Bzip2
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Compression::Xz
        } else {
            Compression::None
        }
    }

    /// The name used in messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }
}

/// What to keep of a regular file while the layer streams past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Only its metadata.
    Nothing,
    /// Its bytes (up to the budget for one file).
    Content,
    /// Its dynamic-loading facts, when it is ELF (a shared library).
    ElfNeeds,
    /// Whether it holds a PEM certificate.
    Pem,
    /// Whether it starts with the TZif magic of a compiled zone.
    Tzif,
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(String),
    /// A hard link to another path of the layers.
    Hardlink(String),
    /// A device, FIFO or socket.
    Other,
}

/// Facts kept about a regular file.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    /// Its bytes ([`Keep::Content`]).
    pub content: Option<Arc<[u8]>>,
    /// Its ELF facts ([`Keep::ElfNeeds`]).
    pub elf: Option<Arc<ElfNeeds>>,
    /// Holds `-----BEGIN CERTIFICATE-----` ([`Keep::Pem`]).
    pub pem: bool,
    /// Starts with `TZif` ([`Keep::Tzif`]).
    pub tzif: bool,
    /// Starts with `#!`: the interpreter line ([`Keep::Content`] files only).
    pub shebang: Option<String>,
}

/// One tar entry of a layer.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path inside the image, cleaned, without a leading `/`.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits.
    pub mode: u32,
    /// Size of a regular file.
    pub size: u64,
    /// What was kept of it.
    pub kept: Kept,
}

/// Budgets that keep a hostile image from taking unbounded time or memory.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes all layers may expand to, together (default 32 GiB).
    pub max_unpacked: u64,
    /// Tar entries all layers may hold, together (default 4 million).
    pub max_entries: u64,
    /// The largest file whose bytes are kept (an entrypoint; default 1 GiB).
    pub max_kept_file: u64,
    /// The largest library whose ELF facts are read (default 256 MiB).
    pub max_library: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unpacked: 32 << 30,
            max_entries: 4_000_000,
            max_kept_file: 1 << 30,
            max_library: 256 << 20,
        }
    }
}

/// Counters shared by the layers of one image (read in parallel).
#[derive(Debug, Default)]
pub struct Budget {
    /// Bytes decompressed so far.
    pub unpacked: AtomicU64,
    /// Entries read so far.
    pub entries: AtomicU64,
}

/// Counts decompressed bytes against the budget; fails once it is spent.
struct Counted<'a, R> {
    inner: R,
    budget: &'a Budget,
    limit: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.budget.unpacked.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limit {
            return Err(io::Error::other(format!(
                "the layers expand past {} (a decompression bomb?)",
                crate::human::bytes(self.limit)
            )));
        }
        Ok(n)
    }
}

/// A buffered reader whose forward skips stay inside its buffer when they can: the tar
/// reader skips every file's data with a seek, and `BufReader::seek` would throw the buffer
/// away each time (one refill per entry); `seek_relative` keeps it.
struct RelativeSeek<R>(BufReader<R>);

impl<R: Read> Read for RelativeSeek<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read + Seek> Seek for RelativeSeek<R> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        match to {
            io::SeekFrom::Current(n) => {
                self.0.seek_relative(n)?;
                self.0.stream_position()
            }
            other => self.0.seek(other),
        }
    }
}

/// zstd streams may hold several frames back to back; each gets a decoder.
struct ZstdFrames<R: BufRead> {
    decoder: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(inner: R) -> io::Result<Self> {
        let decoder = ruzstd::decoding::StreamingDecoder::new(inner)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}")))?;
        Ok(ZstdFrames {
            decoder: Some(decoder),
        })
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(dec) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if !dec.decoder.is_finished() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "zstd: the stream ends inside a frame (truncated)",
                ));
            }
            let Some(dec) = self.decoder.take() else {
                return Ok(0);
            };
            let mut inner = dec.into_inner();
            if inner.fill_buf()?.is_empty() {
                return Ok(0);
            }
            self.decoder =
                Some(ruzstd::decoding::StreamingDecoder::new(inner).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))
                })?);
        }
    }
}

/// Reads one layer blob: calls `keep` with each regular file's path and size to learn what
/// to keep, and returns every entry (in tar order) with its compression.
pub fn read<R: Read + Seek + Send>(
    blob: R,
    keep: &dyn Fn(&str, u64) -> Keep,
    limits: &Limits,
    budget: &Budget,
    cancel: &Cancel,
) -> anyhow::Result<(Compression, Vec<Entry>)> {
    let mut buffered = BufReader::with_capacity(256 << 10, blob);
    let head = buffered.fill_buf()?;
    let compression = Compression::sniff(head);
    let entries = match compression {
        Compression::None => {
            // A plain tar on a seekable file: file data is skipped, never read.
            let mut archive = tar::Archive::new(RelativeSeek(buffered));
            walk(archive.entries_with_seek()?, keep, limits, budget, cancel)?
        }
        Compression::Gzip => {
            let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
            let mut archive = tar::Archive::new(Counted {
                inner: decoder,
                budget,
                limit: limits.max_unpacked,
            });
            walk(archive.entries()?, keep, limits, budget, cancel)?
        }
        Compression::Zstd => {
            let decoder = ZstdFrames::new(buffered)?;
            let mut archive = tar::Archive::new(Counted {
                inner: decoder,
                budget,
                limit: limits.max_unpacked,
            });
            walk(archive.entries()?, keep, limits, budget, cancel)?
        }
        other => bail!(
            "{}-compressed layers are not OCI layers (gzip, zstd or none)",
            other.name()
        ),
    };
    Ok((compression, entries))
}

/// A path inside the image from a tar entry's name: `./` and a leading `/` dropped, `.`
/// removed; `Err` when `..` climbs above the root (a path traversal).
pub fn clean(raw: &str) -> Result<String, String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("entry {raw:?} climbs out of the root filesystem"));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn walk<R: Read>(
    entries: tar::Entries<'_, R>,
    keep: &dyn Fn(&str, u64) -> Keep,
    limits: &Limits,
    budget: &Budget,
    cancel: &Cancel,
) -> anyhow::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for entry in entries {
        let mut entry = entry.context("damaged tar entry")?;
        let count = budget.entries.fetch_add(1, Ordering::Relaxed) + 1;
        if count > limits.max_entries {
            bail!(
                "more than {} entries in the layers (a tar bomb?)",
                limits.max_entries
            );
        }
        if count % 4096 == 0 {
            cancel.check()?;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = clean(&raw).map_err(anyhow::Error::msg)?;
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644);
        let size = entry.size();
        let link = || -> anyhow::Result<String> {
            Ok(entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default())
        };
        let kind = match header.entry_type() {
            t if t.is_file() || t == tar::EntryType::Continuous => EntryKind::File,
            t if t.is_dir() => EntryKind::Dir,
            t if t.is_symlink() => EntryKind::Symlink(link()?),
            t if t.is_hard_link() => {
                let target = link()?;
                EntryKind::Hardlink(clean(&target).map_err(anyhow::Error::msg)?)
            }
            t if t.is_pax_global_extensions() || t.is_pax_local_extensions() => continue,
            _ => EntryKind::Other,
        };
        let mut kept = Kept::default();
        if kind == EntryKind::File && size > 0 {
            match keep(&path, size) {
                Keep::Nothing => {}
                Keep::Content => {
                    if size > limits.max_kept_file {
                        bail!(
                            "/{path} is {}, more than goready keeps of one file ({})",
                            crate::human::bytes(size),
                            crate::human::bytes(limits.max_kept_file)
                        );
                    }
                    let bytes = read_exact_len(&mut entry, size, &path)?;
                    if bytes.starts_with(b"#!") {
                        let line = bytes[2..].split(|&b| b == b'\n').next().unwrap_or_default();
                        kept.shebang = Some(String::from_utf8_lossy(line).trim().to_string());
                    }
                    kept.content = Some(bytes.into());
                }
                Keep::ElfNeeds if size <= limits.max_library => {
                    let mut magic = [0u8; 4];
                    entry
                        .read_exact(&mut magic)
                        .with_context(|| format!("/{path} is truncated"))?;
                    if &magic == b"\x7fELF" {
                        let mut bytes = magic.to_vec();
                        bytes.extend(read_exact_len(&mut entry, size - 4, &path)?);
                        kept.elf = dynamic::elf_needs(&bytes).ok().map(Arc::new);
                    }
                }
                Keep::ElfNeeds => {}
                Keep::Pem => {
                    if size <= 16 << 20 {
                        let bytes = read_exact_len(&mut entry, size, &path)?;
                        kept.pem =
                            memchr::memmem::find(&bytes, b"-----BEGIN CERTIFICATE-----").is_some();
                    }
                }
                Keep::Tzif => {
                    let mut magic = [0u8; 4];
                    if size >= 4 {
                        entry
                            .read_exact(&mut magic)
                            .with_context(|| format!("/{path} is truncated"))?;
                        kept.tzif = &magic == b"TZif";
                    }
                }
            }
        }
        out.push(Entry {
            path,
            kind,
            mode,
            size,
            kept,
        });
    }
    Ok(out)
}

fn read_exact_len(r: &mut impl Read, size: u64, path: &str) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(size.min(64 << 20)).unwrap_or(0));
    r.take(size).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < size {
        bail!("/{path} is truncated: {} of {size} bytes", bytes.len());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_is_told_by_magic() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(b"etc/\0\0"), Compression::None);
    }

    #[test]
    fn entry_names_are_cleaned_and_traversal_refused() {
        assert_eq!(clean("./usr/bin/app").unwrap(), "usr/bin/app");
        assert_eq!(clean("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(clean("a/./b/../c").unwrap(), "a/c");
        assert!(clean("../../etc/shadow").is_err());
        assert!(clean("a/../../x").is_err());
    }
}
