//! What an ELF file asks of the system that loads it, and what a shared library offers:
//! PT_INTERP, DT_NEEDED, DT_SONAME, DT_RPATH/DT_RUNPATH, the symbol versions it needs
//! (`.gnu.version_r`, what `readelf -V` prints under "Version needs") and the ones it defines
//! (`.gnu.version_d`). `goready image` reads these from the entrypoint and from every shared
//! library in the image, to judge whether the dynamic loader will start the binary. Only
//! facts: the judging is `image::rules`. Every offset is untrusted; errors are values.

use object::elf;
use object::read::elf::{Dyn, ElfFile, FileHeader, ProgramHeader};
use object::{FileKind, Object, ObjectKind};
use serde::{Deserialize, Serialize};

use super::InspectError;

/// The versions a file needs from one library (one `Verneed` record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionNeed {
    /// The library's file name as the record names it (`libc.so.6`).
    pub file: String,
    /// Version names (`GLIBC_2.34`), in file order.
    pub versions: Vec<String>,
}

/// The dynamic-loading facts of one ELF file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfNeeds {
    /// 64-bit class.
    pub class64: bool,
    /// `e_machine`: loaders skip libraries of another machine or class.
    pub machine: u16,
    /// GOARCH-style name of the machine (amd64, arm64, …), when known.
    pub arch: Option<String>,
    /// ET_EXEC or ET_DYN with an entry point (a PIE or a program), as opposed to a library.
    pub executable: bool,
    /// PT_INTERP.
    pub interpreter: Option<String>,
    /// DT_NEEDED, in order.
    pub needed: Vec<String>,
    /// DT_SONAME.
    pub soname: Option<String>,
    /// DT_RPATH entries (used only when there is no DT_RUNPATH), `$ORIGIN` unexpanded.
    pub rpath: Vec<String>,
    /// DT_RUNPATH entries, `$ORIGIN` unexpanded.
    pub runpath: Vec<String>,
    /// `.gnu.version_r`.
    pub version_needs: Vec<VersionNeed>,
    /// `.gnu.version_d` names (the file's own base name record excluded).
    pub version_defs: Vec<String>,
}

/// At most this many records of each list are kept: a real file has a few dozen.
const MAX_RECORDS: usize = 4096;

/// Reads the dynamic-loading facts of an ELF file's bytes. A file whose section headers are
/// stripped still yields its program headers' facts (interpreter, needed libraries).
pub fn elf_needs(data: &[u8]) -> Result<ElfNeeds, InspectError> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf32) => read::<elf::FileHeader32<object::Endianness>>(data),
        Ok(FileKind::Elf64) => read::<elf::FileHeader64<object::Endianness>>(data),
        Ok(other) => Err(InspectError::NotObject(format!(
            "{other:?} is not an ELF file"
        ))),
        Err(_) => Err(InspectError::NotObject("no ELF magic number".into())),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn read<Elf: FileHeader<Endian = object::Endianness>>(
    data: &[u8],
) -> Result<ElfNeeds, InspectError> {
    let file = ElfFile::<Elf>::parse(data).map_err(|e| InspectError::Malformed(e.to_string()))?;
    let endian = file.endian();
    let header = file.elf_header();
    let mut interpreter = None;
    for ph in file.elf_program_headers() {
        if ph.p_type(endian) == elf::PT_INTERP {
            interpreter = ph.data(endian, data).ok().map(|b| {
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                text(&b[..end])
            });
        }
    }

    let mut needed = Vec::new();
    let mut soname = None;
    let mut rpath = Vec::new();
    let mut runpath = Vec::new();
    if let Ok(table) = file.elf_dynamic_table() {
        let strings = table.strings();
        for entry in table.dynamics().iter().take(MAX_RECORDS) {
            let tag = entry.d_tag(endian).0 as u32;
            let val: u64 = entry.d_val(endian).into();
            let Ok(value) = strings.get(val as u32) else {
                continue;
            };
            let split = |v: &[u8]| -> Vec<String> {
                text(v)
                    .split(':')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            match tag {
                t if t == elf::DT_NEEDED.0 as u32 => needed.push(text(value)),
                t if t == elf::DT_SONAME.0 as u32 => soname = Some(text(value)),
                t if t == elf::DT_RPATH.0 as u32 => rpath.extend(split(value)),
                t if t == elf::DT_RUNPATH.0 as u32 => runpath.extend(split(value)),
                _ => {}
            }
        }
    }

    let sections = file.elf_section_table();
    let strings_of = |link: object::SectionIndex| {
        sections
            .strings(endian, data, link)
            .map_err(|e| InspectError::Malformed(format!("version strings: {e}")))
    };
    let mut version_needs = Vec::new();
    if let Ok(Some((mut needs, link))) = sections.gnu_verneed(endian, data) {
        let strings = strings_of(link)?;
        while let Ok(Some((need, mut aux))) = needs.next() {
            if version_needs.len() >= MAX_RECORDS {
                break;
            }
            let file = need.file(endian, strings).map(text).unwrap_or_default();
            let mut versions = Vec::new();
            while let Ok(Some(a)) = aux.next() {
                if versions.len() >= MAX_RECORDS {
                    break;
                }
                if let Ok(name) = a.name(endian, strings) {
                    versions.push(text(name));
                }
            }
            version_needs.push(VersionNeed { file, versions });
        }
    }
    let mut version_defs = Vec::new();
    if let Ok(Some((mut defs, link))) = sections.gnu_verdef(endian, data) {
        let strings = strings_of(link)?;
        while let Ok(Some((def, mut aux))) = defs.next() {
            if version_defs.len() >= MAX_RECORDS {
                break;
            }
            // The base record names the file itself (its soname), not a version.
            if def.vd_flags.get(endian).0 & elf::VER_FLG_BASE.0 != 0 {
                continue;
            }
            if let Ok(Some(first)) = aux.next()
                && let Ok(name) = first.name(endian, strings)
            {
                version_defs.push(text(name));
            }
        }
    }

    let kind = file.kind();
    let executable = matches!(kind, ObjectKind::Executable)
        || (header.e_type(endian) == elf::ET_DYN && interpreter.is_some());
    Ok(ElfNeeds {
        class64: file.is_64(),
        machine: header.e_machine(endian).0,
        arch: super::go_arch(
            file.architecture(),
            file.endianness() == object::Endianness::Big,
        )
        .map(str::to_string),
        executable,
        interpreter,
        needed,
        soname,
        rpath,
        runpath,
        version_needs,
        version_defs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncations_are_errors_not_panics() {
        assert!(elf_needs(b"").is_err());
        assert!(elf_needs(b"#!/bin/sh\necho hi\n").is_err());
        let libc = std::fs::read("/bin/true").unwrap_or_default();
        for cut in [4usize, 16, 52, 64, 200, 4096] {
            if cut < libc.len() {
                let _ = elf_needs(&libc[..cut]);
            }
        }
    }
}
