//! Go build info: the `\xff Go buildinf:` blob the linker writes into every module-aware
//! binary, and the `runtime/debug.BuildInfo` text inside it. The layout follows Go's
//! `debug/buildinfo` and `runtime/debug` (both formats: inline strings since Go 1.18, and
//! pointers to string headers before it).

use std::collections::BTreeMap;

use memchr::memmem;

use super::facts::{BuildInfo, Module};
use super::memory::Memory;

const MAGIC: &[u8] = b"\xff Go buildinf:";
const ALIGN: u64 = 16;
const HEADER_SIZE: u64 = 32;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE_STRINGS: u8 = 0x2;
/// Build info is never this large; a bigger length is a corrupt or hostile file.
const MAX_STRING: u64 = 16 << 20;

/// Why a binary has no usable build info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// No blob in the data where the linker puts it.
    NoBlob,
    /// A blob whose header or strings point outside the file.
    Corrupt(String),
}

/// Finds the blob in `[start, start+size)` and decodes it. Returns the build info and the
/// address range of the blob and its inline strings.
pub fn read(mem: &Memory<'_>, start: u64, size: u64) -> Result<(BuildInfo, (u64, u64)), Missing> {
    let addr = find_blob(mem, start, size).ok_or(Missing::NoBlob)?;
    let header = mem
        .read(addr, HEADER_SIZE)
        .ok_or_else(|| Missing::Corrupt("build info header is truncated".into()))?;
    let flags = header[15];
    let mut end = addr + HEADER_SIZE;
    let (go_version, modinfo) = if flags & FLAG_INLINE_STRINGS != 0 {
        let (vers, next) = inline_string(mem, addr + HEADER_SIZE)?;
        let (modinfo, after) = inline_string(mem, next)?;
        end = after;
        (vers, modinfo)
    } else {
        let ptr_size = header[14];
        if ptr_size != 4 && ptr_size != 8 {
            return Err(Missing::Corrupt(format!(
                "build info pointer size {ptr_size} is neither 4 nor 8"
            )));
        }
        let big = flags & FLAG_BIG_ENDIAN != 0;
        let ps = usize::from(ptr_size);
        let ptr = |at: usize| super::memory::read_uint(&header[at..at + ps], big).unwrap_or(0);
        let vers = pointed_string(mem, ptr(16), ptr_size, big);
        let modinfo = pointed_string(mem, ptr(16 + ps), ptr_size, big);
        (vers, modinfo)
    };
    if go_version.is_empty() {
        return Err(Missing::Corrupt(
            "build info has an empty Go version".into(),
        ));
    }
    let modinfo = String::from_utf8_lossy(strip_sentinels(modinfo));
    let mut info = parse_modinfo(&modinfo).map_err(Missing::Corrupt)?;
    info.go_version = String::from_utf8_lossy(go_version).into_owned();
    Ok((info, (addr, end)))
}

/// The address of the first 16-byte aligned magic in the range, if any.
fn find_blob(mem: &Memory<'_>, start: u64, size: u64) -> Option<u64> {
    let region = mem.read_up_to(start, size)?;
    memmem::find_iter(region, MAGIC)
        .map(|i| start + i as u64)
        .find(|addr| addr % ALIGN == 0)
}

/// A uvarint length followed by that many bytes; returns the bytes and the next address.
fn inline_string<'a>(mem: &Memory<'a>, addr: u64) -> Result<(&'a [u8], u64), Missing> {
    let head = mem
        .read_up_to(addr, 10)
        .ok_or_else(|| Missing::Corrupt("build info string is outside the file".into()))?;
    let (len, n) = uvarint(head)
        .ok_or_else(|| Missing::Corrupt("build info string length is malformed".into()))?;
    if len > MAX_STRING {
        return Err(Missing::Corrupt(format!(
            "build info string claims {len} bytes"
        )));
    }
    let body_addr = addr
        .checked_add(n as u64)
        .ok_or_else(|| Missing::Corrupt("build info string address overflows".into()))?;
    let body = mem.read(body_addr, len).ok_or_else(|| {
        Missing::Corrupt(format!(
            "build info string of {len} bytes runs past its segment"
        ))
    })?;
    Ok((body, body_addr.saturating_add(len)))
}

/// Pre-1.18 format: `addr` holds a Go string header {data pointer, length}.
fn pointed_string<'a>(mem: &Memory<'a>, addr: u64, ptr_size: u8, big: bool) -> &'a [u8] {
    let data = mem.read_ptr(addr, ptr_size, big);
    // addr comes from the file's header: the sum must not wrap.
    let len = addr
        .checked_add(u64::from(ptr_size))
        .and_then(|at| mem.read_ptr(at, ptr_size, big));
    match (data, len) {
        (Some(data), Some(len)) if len <= MAX_STRING => mem.read(data, len).unwrap_or_default(),
        _ => &[],
    }
}

/// Decodes an unsigned LEB128 varint (Go's `binary.Uvarint`).
fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && byte > 1 {
            return None;
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The module text is framed by two 16-byte binary sentinels; Go drops it unless framed.
fn strip_sentinels(b: &[u8]) -> &[u8] {
    if b.len() >= 33 && b[b.len() - 17] == b'\n' {
        &b[16..b.len() - 16]
    } else {
        &[]
    }
}

/// Parses the `runtime/debug.BuildInfo` text (`path`, `mod`, `dep`, `=>`, `build` lines).
pub fn parse_modinfo(text: &str) -> Result<BuildInfo, String> {
    let mut info = BuildInfo::default();
    let mut settings = BTreeMap::new();
    // Which module a `=>` line replaces: the main module or the last dependency.
    #[derive(Clone, Copy)]
    enum Last {
        None,
        Main,
        Dep,
    }
    let mut last = Last::None;
    for (n, line) in text.split_terminator('\n').enumerate() {
        let lineno = n + 1;
        let err = |what: &str| format!("build info line {lineno}: {what}");
        if let Some(path) = line.strip_prefix("path\t") {
            info.path = path.to_string();
        } else if let Some(rest) = line.strip_prefix("mod\t") {
            info.main = Some(module_line(rest).ok_or_else(|| err("bad mod line"))?);
            last = Last::Main;
        } else if let Some(rest) = line.strip_prefix("dep\t") {
            info.deps
                .push(module_line(rest).ok_or_else(|| err("bad dep line"))?);
            last = Last::Dep;
        } else if let Some(rest) = line.strip_prefix("=>\t") {
            let cols: Vec<&str> = rest.split('\t').collect();
            if cols.len() != 3 {
                return Err(err("replacement needs 3 columns"));
            }
            let replacement = Box::new(Module {
                path: cols[0].into(),
                version: cols[1].into(),
                sum: cols[2].into(),
                replace: None,
            });
            let target = match last {
                Last::Main => info.main.as_mut(),
                Last::Dep => info.deps.last_mut(),
                Last::None => None,
            };
            target
                .ok_or_else(|| err("replacement with no module before it"))?
                .replace = Some(replacement);
            last = Last::None;
        } else if let Some(kv) = line.strip_prefix("build\t") {
            let (key, value) = setting_line(kv).ok_or_else(|| err("bad build line"))?;
            settings.insert(key, value);
        }
    }
    info.settings = settings;
    Ok(info)
}

fn module_line(rest: &str) -> Option<Module> {
    let cols: Vec<&str> = rest.split('\t').collect();
    if cols.len() != 2 && cols.len() != 3 {
        return None;
    }
    Some(Module {
        path: cols[0].into(),
        version: cols[1].into(),
        sum: cols.get(2).copied().unwrap_or_default().into(),
        replace: None,
    })
}

/// `key=value` where either side may be Go-quoted.
fn setting_line(kv: &str) -> Option<(String, String)> {
    let (key, raw_value) = match kv.as_bytes().first()? {
        b'"' | b'`' => {
            let quoted = quoted_prefix(kv)?;
            let rest = kv[quoted.len()..].strip_prefix('=')?;
            (go_unquote(quoted)?, rest)
        }
        b'=' => return None,
        _ => {
            let (k, v) = kv.split_once('=')?;
            (k.to_string(), v)
        }
    };
    let value = match raw_value.as_bytes().first() {
        Some(b'"' | b'`') => go_unquote(raw_value)?,
        _ => raw_value.to_string(),
    };
    Some((key, value))
}

/// The leading Go string literal of `s` (Go's `strconv.QuotedPrefix`).
fn quoted_prefix(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let quote = *b.first()?;
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' if quote == b'"' => i += 2,
            c if c == quote => return Some(&s[..=i]),
            b'\n' if quote == b'"' => return None,
            _ => i += 1,
        }
    }
    None
}

/// Decodes a Go string literal (`"…"` with escapes, or a raw `` `…` `` string).
pub fn go_unquote(s: &str) -> Option<String> {
    if let Some(inner) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        return (!inner.contains('`')).then(|| inner.replace('\r', ""));
    }
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.char_indices().peekable();
    let hex = |digits: &str| u32::from_str_radix(digits, 16).ok();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            if c == '"' || c == '\n' {
                return None;
            }
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let (_, esc) = chars.next()?;
        let simple = match esc {
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            '\'' => Some(b'\''),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            continue;
        }
        let start = i + 2;
        let (width, radix_hex) = match esc {
            'x' => (2, true),
            'u' => (4, true),
            'U' => (8, true),
            '0'..='7' => (3, false),
            _ => return None,
        };
        let digits_start = if radix_hex { start } else { start - 1 };
        let digits = inner.get(digits_start..digits_start + width)?;
        let skip = if radix_hex { width } else { width - 1 };
        for _ in 0..skip {
            chars.next()?;
        }
        match esc {
            'x' => out.push(u8::try_from(hex(digits)?).ok()?),
            'u' | 'U' => {
                let ch = char::from_u32(hex(digits)?)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            _ => out.push(u8::try_from(u32::from_str_radix(digits, 8).ok()?).ok()?),
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::super::memory::Range;
    use super::*;

    const SAMPLE: &str = "path\texample.com/svc/cmd/svc\n\
        mod\texample.com/svc\t(devel)\t\n\
        dep\tgolang.org/x/sys\tv0.1.0\th1:abc=\n\
        dep\texample.com/lib\tv1.0.0\n\
        =>\t../lib\t(devel)\t\n\
        build\t-buildmode=exe\n\
        build\t-ldflags=\"-s -w -X main.Version=1.2.3\"\n\
        build\tCGO_ENABLED=0\n\
        build\t\"weird key\"=`raw value`\n\
        build\tvcs.modified=true\n";

    #[test]
    fn parses_every_line_kind() {
        let info = parse_modinfo(SAMPLE).unwrap();
        assert_eq!(info.path, "example.com/svc/cmd/svc");
        let main = info.main.unwrap();
        assert_eq!(
            (main.path.as_str(), main.version.as_str()),
            ("example.com/svc", "(devel)")
        );
        assert_eq!(info.deps.len(), 2);
        assert_eq!(info.deps[0].sum, "h1:abc=");
        assert_eq!(info.deps[1].replace.as_ref().unwrap().path, "../lib");
        assert_eq!(info.settings["-ldflags"], "-s -w -X main.Version=1.2.3");
        assert_eq!(info.settings["weird key"], "raw value");
        assert_eq!(info.settings["vcs.modified"], "true");
    }

    #[test]
    fn replacement_without_module_is_an_error() {
        assert!(parse_modinfo("=>\ta\tb\tc\n").is_err());
        assert!(parse_modinfo("mod\tonly-one-column\n").is_err());
        assert!(parse_modinfo("build\t=value\n").is_err());
    }

    #[test]
    fn go_unquote_handles_escapes() {
        assert_eq!(go_unquote(r#""a\tb\"c\\""#).unwrap(), "a\tb\"c\\");
        assert_eq!(
            go_unquote(r#""\x41\u00e9\101\U0001F600""#).unwrap(),
            "Aé A😀".replace(' ', "")
        );
        assert_eq!(go_unquote("`raw\\n`").unwrap(), "raw\\n");
        assert_eq!(go_unquote(r#""unterminated"#), None);
        assert_eq!(go_unquote(r#""bad\q""#), None);
        assert_eq!(go_unquote(r#""\x4""#), None);
    }

    fn framed(modinfo: &str) -> Vec<u8> {
        let mut v = vec![0x30u8; 16];
        v.extend_from_slice(modinfo.as_bytes());
        v.extend_from_slice(&[0xf9u8; 16]);
        v
    }

    fn uvarint_bytes(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    #[test]
    fn decodes_inline_blob_at_an_aligned_offset() {
        let mut data = vec![0u8; 48];
        // A misaligned decoy the search must skip.
        data[3..3 + MAGIC.len()].copy_from_slice(MAGIC);
        let at = data.len();
        data.extend_from_slice(MAGIC);
        data.extend_from_slice(&[8, FLAG_INLINE_STRINGS]);
        data.resize(at + 32, 0);
        let vers = b"go1.26.8";
        data.extend(uvarint_bytes(vers.len() as u64));
        data.extend_from_slice(vers);
        let m = framed(SAMPLE);
        data.extend(uvarint_bytes(m.len() as u64));
        data.extend_from_slice(&m);
        let len = data.len() as u64;
        let mem = Memory::new(
            &data,
            [Range {
                addr: 0x4000,
                offset: 0,
                size: len,
            }],
        );
        let (info, span) = read(&mem, 0x4000, len).unwrap();
        assert_eq!(span, (0x4000 + at as u64, 0x4000 + len));
        assert_eq!(info.go_version, "go1.26.8");
        assert_eq!(info.path, "example.com/svc/cmd/svc");

        // Every truncation is a clean error, never a panic.
        for cut in 0..data.len() {
            let mem = Memory::new(
                &data[..cut],
                [Range {
                    addr: 0x4000,
                    offset: 0,
                    size: len,
                }],
            );
            let _ = read(&mem, 0x4000, len);
        }
    }

    #[test]
    fn decodes_pointer_blob_big_endian_32_bit() {
        // Header at 0x1000 pointing at two string headers at 0x1020 and 0x1028.
        let mut data = Vec::new();
        data.extend_from_slice(MAGIC);
        data.extend_from_slice(&[4, FLAG_BIG_ENDIAN]);
        data.extend_from_slice(&0x1020u32.to_be_bytes());
        data.extend_from_slice(&0x1028u32.to_be_bytes());
        data.resize(0x20, 0);
        let vers = b"go1.17.13";
        let m = framed("path\tx\nmod\tx\t(devel)\t\n");
        let vers_at = 0x1030u32;
        let mod_at = vers_at + vers.len() as u32;
        data.extend_from_slice(&vers_at.to_be_bytes());
        data.extend_from_slice(&(vers.len() as u32).to_be_bytes());
        data.extend_from_slice(&mod_at.to_be_bytes());
        data.extend_from_slice(&(m.len() as u32).to_be_bytes());
        data.resize(0x30, 0);
        data.extend_from_slice(vers);
        data.extend_from_slice(&m);
        let len = data.len() as u64;
        let mem = Memory::new(
            &data,
            [Range {
                addr: 0x1000,
                offset: 0,
                size: len,
            }],
        );
        let (info, _) = read(&mem, 0x1000, len).unwrap();
        assert_eq!(info.go_version, "go1.17.13");
        assert_eq!(info.main.unwrap().path, "x");
    }

    #[test]
    fn hostile_pointer_layout_headers_are_refused_not_followed() {
        // Go 1.13–1.17 layout: the header's pointers and the string headers they point at come
        // from the file. Out of the mapped range, wrapping, or claiming a huge length: each is
        // a clear error (the Go version reads empty), never a panic or a read past the data.
        let blob = |vers_hdr: u64, data: u64, len: u64| {
            let mut d = Vec::new();
            d.extend_from_slice(MAGIC);
            d.extend_from_slice(&[8, 0]);
            d.extend_from_slice(&vers_hdr.to_le_bytes());
            d.extend_from_slice(&0x1020u64.to_le_bytes());
            d.extend_from_slice(&data.to_le_bytes());
            d.extend_from_slice(&len.to_le_bytes());
            d.extend_from_slice(b"go1.17.13");
            d
        };
        for (hdr, data, len) in [
            (0xdead_0000, 0x1030, 9),
            (u64::MAX - 3, 0x1030, 9),
            (0x1020, u64::MAX - 2, 9),
            (0x1020, 0x1030, u64::MAX),
            (0x1020, 0x1030, 10_000),
        ] {
            let data = blob(hdr, data, len);
            let size = data.len() as u64;
            let mem = Memory::new(
                &data,
                [Range {
                    addr: 0x1000,
                    offset: 0,
                    size,
                }],
            );
            assert_eq!(
                read(&mem, 0x1000, size).map(|_| ()),
                Err(Missing::Corrupt(
                    "build info has an empty Go version".into()
                )),
                "header {hdr:#x}, data {data:?}"
            );
        }
        // The same bytes with sane pointers read.
        let good = blob(0x1020, 0x1030, 9);
        let size = good.len() as u64;
        let mem = Memory::new(
            &good,
            [Range {
                addr: 0x1000,
                offset: 0,
                size,
            }],
        );
        // (Both header pointers name the one string header: the modinfo text is the version,
        // which holds no line the parser knows, so it parses empty.)
        assert_eq!(read(&mem, 0x1000, size).unwrap().0.go_version, "go1.17.13");
    }

    #[test]
    fn hostile_lengths_are_refused() {
        let mut data = Vec::new();
        data.extend_from_slice(MAGIC);
        data.extend_from_slice(&[8, FLAG_INLINE_STRINGS]);
        data.resize(32, 0);
        data.extend(uvarint_bytes(u64::MAX));
        let len = data.len() as u64;
        let mem = Memory::new(
            &data,
            [Range {
                addr: 0,
                offset: 0,
                size: len,
            }],
        );
        assert!(matches!(read(&mem, 0, len), Err(Missing::Corrupt(_))));
        assert_eq!(read(&mem, 16, len), Err(Missing::NoBlob));
    }
}
