//! ELF specifics: loader, libraries, PIE/RELRO/NX, and where Go keeps its tables.

use std::collections::BTreeSet;

use object::read::elf::{Dyn, ElfFile, FileHeader, ProgramHeader, SectionHeader, Sym};
use object::{Object, ObjectSection};

use super::facts::{Format, Linkage, Relro};
use super::layout::{Layout, NameMatcher, Symbols};
use super::memory::{Memory, Range};

const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_GNU_STACK: u32 = 0x6474_e551;
const PT_GNU_RELRO: u32 = 0x6474_e552;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const DT_NEEDED: u32 = 1;
const DT_BIND_NOW: u32 = 24;
const DT_FLAGS: u32 = 30;
const DT_FLAGS_1: u32 = 0x6fff_fffb;
const DF_BIND_NOW: u64 = 0x8;
const DF_1_NOW: u64 = 0x1;
const DF_1_PIE: u64 = 0x0800_0000;
const ELFOSABI_FREEBSD: u8 = 9;
const ELFOSABI_SOLARIS: u8 = 6;

/// Reads the ELF-specific facts.
pub fn layout<'a, Elf: FileHeader<Endian = object::Endianness>>(
    file: &ElfFile<'a, Elf>,
    data: &'a [u8],
) -> Layout<'a> {
    let endian = file.endian();
    let header = file.elf_header();
    let phdrs = file.elf_program_headers();

    let mut interpreter = None;
    let mut relro_segment = false;
    let mut nx = false;
    let mut ranges = Vec::new();
    let mut first_data_segment = None;
    for ph in phdrs {
        let flags = ph.p_flags(endian).0;
        match ph.p_type(endian).0 {
            PT_LOAD => {
                let addr: u64 = ph.p_vaddr(endian).into();
                ranges.push(Range {
                    addr,
                    offset: ph.p_offset(endian).into(),
                    size: ph.p_filesz(endian).into(),
                });
                if first_data_segment.is_none() && flags & (PF_X | PF_W) == PF_W {
                    first_data_segment = Some((addr, ph.p_memsz(endian).into()));
                }
            }
            PT_INTERP => {
                interpreter = ph
                    .data(endian, data)
                    .ok()
                    .map(|b| String::from_utf8_lossy(trim_nul(b)).into_owned());
            }
            PT_GNU_RELRO => relro_segment = true,
            PT_GNU_STACK => nx = flags & PF_X == 0,
            _ => {}
        }
    }

    let mut needed = Vec::new();
    let mut bind_now = false;
    let mut pie_flag = false;
    if let Ok(table) = file.elf_dynamic_table() {
        for entry in table.dynamics() {
            let tag = entry.d_tag(endian).0 as u32;
            let val: u64 = entry.d_val(endian).into();
            match tag {
                DT_NEEDED => {
                    if let Ok(name) = table.strings().get(val as u32) {
                        needed.push(String::from_utf8_lossy(name).into_owned());
                    }
                }
                DT_BIND_NOW => bind_now = true,
                DT_FLAGS => bind_now |= val & DF_BIND_NOW != 0,
                DT_FLAGS_1 => {
                    bind_now |= val & DF_1_NOW != 0;
                    pie_flag |= val & DF_1_PIE != 0;
                }
                0 => break,
                _ => {}
            }
        }
    }

    let is_dyn = header.e_type(endian).0 == ET_DYN;
    let pie = is_dyn && (interpreter.is_some() || pie_flag);
    let relro = match (relro_segment, bind_now) {
        (true, true) => Relro::Full,
        (true, false) => Relro::Partial,
        _ => Relro::None,
    };
    let linkage = if interpreter.is_some() || !needed.is_empty() {
        Linkage::Dynamic
    } else {
        Linkage::Static
    };

    let section_range = |name: &str| file.section_by_name(name).map(|s| (s.address(), s.size()));
    let goos = goos_of(file, header.e_ident().os_abi.0, interpreter.as_deref());
    Layout {
        format: Format::Elf,
        goos,
        linkage,
        interpreter,
        needed,
        pie: Some(pie),
        relro: Some(relro),
        nx: Some(nx),
        memory: Memory::new(data, ranges),
        buildinfo_range: section_range(".go.buildinfo").or(first_data_segment),
        pclntab_section: file
            .section_by_name(".gopclntab")
            .and_then(|s| s.data().ok()),
        pclntab_region: None,
    }
}

/// GOOS from the OS ABI byte and the OS notes Go's linker writes.
fn goos_of<'a, Elf: FileHeader<Endian = object::Endianness>>(
    file: &ElfFile<'a, Elf>,
    os_abi: u8,
    interpreter: Option<&str>,
) -> &'static str {
    if os_abi == ELFOSABI_FREEBSD {
        return "freebsd";
    }
    if os_abi == ELFOSABI_SOLARIS {
        return "solaris";
    }
    if file.section_by_name(".note.netbsd.ident").is_some() {
        return "netbsd";
    }
    if file.section_by_name(".note.openbsd.ident").is_some() {
        return "openbsd";
    }
    if interpreter.is_some_and(|i| i.starts_with("/system/bin/linker")) {
        return "android";
    }
    "linux"
}

const SHN_LORESERVE: u16 = 0xff00;
const SHN_XINDEX: u16 = 0xffff;
const STT_NOTYPE: u8 = 0;
const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;
const STT_TLS: u8 = 6;

/// Counts defined symbols and finds the wanted variables. Names are compared in place in
/// the string table ([`NameMatcher`]), and only for data symbols: a Go binary has tens of
/// thousands of symbols, and decoding every name would cost more than the rest of the
/// inspection.
pub fn symbols<'a, Elf: FileHeader<Endian = object::Endianness>>(
    file: &ElfFile<'a, Elf>,
    data: &'a [u8],
    wanted: &BTreeSet<&str>,
) -> Symbols {
    let endian = file.endian();
    let table = file.elf_symbol_table();
    let strtab = file
        .elf_section_table()
        .section(table.string_section())
        .ok()
        .and_then(|s| s.data(endian, data).ok())
        .unwrap_or_default();
    let matcher = NameMatcher::new(wanted);
    let mut result = Symbols::default();
    for sym in table.symbols() {
        let shndx = sym.st_shndx(endian).0;
        if shndx == 0 || (shndx >= SHN_LORESERVE && shndx != SHN_XINDEX) {
            continue;
        }
        let kind = sym.st_type().0;
        if !matches!(kind, STT_NOTYPE | STT_OBJECT | STT_FUNC | STT_TLS) {
            continue;
        }
        result.defined += 1;
        if kind == STT_FUNC {
            continue;
        }
        let name_at = sym.st_name(endian) as usize;
        let Some(name) = strtab.get(name_at..) else {
            continue;
        };
        if let Some(w) = matcher.find(name) {
            result.vars.insert(
                String::from_utf8_lossy(w).into_owned(),
                sym.st_value(endian).into(),
            );
        }
    }
    result
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}
