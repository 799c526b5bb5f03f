//! What a format reader hands to the format-independent part of the inspector.

use super::facts::{Format, Linkage, Relro};
use super::memory::Memory;

/// Format-specific facts of one (thin) object file, plus where its Go data lives.
#[derive(Debug)]
pub struct Layout<'a> {
    /// Container format.
    pub format: Format,
    /// GOOS as the format tells it (ELF OS ABI and notes, Mach-O, PE).
    pub goos: &'static str,
    /// Needs a loader or shared libraries.
    pub linkage: Linkage,
    /// ELF PT_INTERP.
    pub interpreter: Option<String>,
    /// Shared libraries needed.
    pub needed: Vec<String>,
    /// Position-independent.
    pub pie: Option<bool>,
    /// ELF RELRO level.
    pub relro: Option<Relro>,
    /// Non-executable stack/data.
    pub nx: Option<bool>,
    /// The loaded address space.
    pub memory: Memory<'a>,
    /// Where Go's linker puts the build info blob: (address, size).
    pub buildinfo_range: Option<(u64, u64)>,
    /// Bytes of the section that holds the pclntab, where the format names one.
    pub pclntab_section: Option<&'a [u8]>,
    /// Bytes that hold the pclntab somewhere inside, where the format has no section of its
    /// own for it (PE: `.rdata`): searched for the magic before the whole file is.
    pub pclntab_region: Option<&'a [u8]>,
}

/// What the symbol table says: how many symbols are defined and where the wanted string
/// variables live.
#[derive(Debug, Default)]
pub struct Symbols {
    /// Defined symbols; zero means stripped.
    pub defined: usize,
    /// Addresses of the wanted variables (Go names, without Mach-O's leading underscore).
    pub vars: std::collections::BTreeMap<String, u64>,
}

/// Finds wanted names among symbol names compared in place in a string table (bytes up to a
/// NUL), without decoding them: a Go binary has tens of thousands of symbols, and most differ
/// from every wanted name at the first byte (type:*, go:*, runtime.*), which a table of first
/// bytes rejects with one lookup.
pub struct NameMatcher<'w> {
    wanted: Vec<&'w [u8]>,
    first_bytes: [bool; 256],
}

impl<'w> NameMatcher<'w> {
    /// A matcher for these names.
    pub fn new(wanted: &std::collections::BTreeSet<&'w str>) -> Self {
        let wanted: Vec<&[u8]> = wanted.iter().map(|w| w.as_bytes()).collect();
        let mut first_bytes = [false; 256];
        for w in &wanted {
            if let Some(&b) = w.first() {
                first_bytes[usize::from(b)] = true;
            }
        }
        NameMatcher {
            wanted,
            first_bytes,
        }
    }

    /// The wanted name that `name` (a string table tail: the name, a NUL, then anything)
    /// spells, if any.
    pub fn find(&self, name: &[u8]) -> Option<&'w [u8]> {
        if !name
            .first()
            .is_some_and(|&b| self.first_bytes[usize::from(b)])
        {
            return None;
        }
        self.wanted
            .iter()
            .find(|w| name.get(..w.len()) == Some(**w) && name.get(w.len()) == Some(&0))
            .copied()
    }
}

/// The C library implied by a list of needed libraries (and an ELF interpreter).
pub fn libc_of(interpreter: Option<&str>, needed: &[String]) -> Option<&'static str> {
    let interp = interpreter.unwrap_or("");
    if interp.contains("ld-musl") || needed.iter().any(|n| n.contains("musl")) {
        return Some("musl");
    }
    if interp.starts_with("/system/bin/linker") {
        return Some("bionic");
    }
    for lib in needed {
        let lower = lib.to_ascii_lowercase();
        if lower.starts_with("libc.so.6") || lower.starts_with("libc.so.7") {
            return Some(if lower == "libc.so.7" {
                "freebsd-libc"
            } else {
                "glibc"
            });
        }
        if lower.contains("libsystem") {
            return Some("libSystem");
        }
        if lower == "msvcrt.dll" {
            return Some("msvcrt");
        }
        if lower == "ucrtbase.dll" || lower.starts_with("api-ms-win-crt-") {
            return Some("ucrt");
        }
    }
    if interp.contains("ld-linux") {
        return Some("glibc");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libc_is_named_from_loader_and_libraries() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            libc_of(Some("/lib64/ld-linux-x86-64.so.2"), &s(&["libc.so.6"])),
            Some("glibc")
        );
        assert_eq!(
            libc_of(Some("/lib/ld-musl-x86_64.so.1"), &s(&["libc.so"])),
            Some("musl")
        );
        assert_eq!(
            libc_of(None, &s(&["/usr/lib/libSystem.B.dylib"])),
            Some("libSystem")
        );
        assert_eq!(libc_of(None, &s(&["KERNEL32.dll"])), None);
        assert_eq!(
            libc_of(None, &s(&["kernel32.dll", "msvcrt.dll"])),
            Some("msvcrt")
        );
        assert_eq!(
            libc_of(None, &s(&["api-ms-win-crt-runtime-l1-1-0.dll"])),
            Some("ucrt")
        );
        // A Go PIE without cgo has an interpreter but no libc.so.6: the loader is still glibc's.
        assert_eq!(
            libc_of(Some("/lib64/ld-linux-x86-64.so.2"), &[]),
            Some("glibc")
        );
    }
}
