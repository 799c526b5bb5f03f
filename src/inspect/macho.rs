//! Mach-O specifics: linked dylibs, PIE/NX flags, segments, and Go's sections.

use std::collections::BTreeSet;

use object::read::macho::{LoadCommandVariant, MachHeader, MachOFile, Nlist, Segment};
use object::{Object, ObjectSection};

use super::facts::{Format, Linkage};
use super::layout::{Layout, NameMatcher, Symbols};
use super::memory::{Memory, Range};

const MH_PIE: u32 = 0x0020_0000;
const MH_ALLOW_STACK_EXECUTION: u32 = 0x0002_0000;
const VM_PROT_RW: u32 = 3;
const LC_LOAD_DYLINKER: u32 = 0xe;

/// Reads the Mach-O-specific facts.
pub fn layout<'a, Mach: MachHeader<Endian = object::Endianness>>(
    file: &MachOFile<'a, Mach>,
    data: &'a [u8],
) -> Layout<'a> {
    let endian = file.endian();
    let flags = file.macho_header().flags(endian).0;
    let mut needed = Vec::new();
    let mut ranges = Vec::new();
    let mut first_rw_segment = None;
    let mut has_dylinker = false;
    if let Ok(mut commands) = file.macho_load_commands() {
        while let Ok(Some(command)) = commands.next() {
            if command.cmd().0 == LC_LOAD_DYLINKER {
                has_dylinker = true;
            }
            match command.variant() {
                Ok(LoadCommandVariant::Dylib(dylib)) => {
                    if let Ok(name) = command.string(endian, dylib.dylib.name) {
                        needed.push(String::from_utf8_lossy(name).into_owned());
                    }
                }
                Ok(LoadCommandVariant::Segment32(seg, _)) => {
                    add_segment(seg, endian, &mut ranges, &mut first_rw_segment)
                }
                Ok(LoadCommandVariant::Segment64(seg, _)) => {
                    add_segment(seg, endian, &mut ranges, &mut first_rw_segment)
                }
                _ => {}
            }
        }
    }
    let linkage = if needed.is_empty() && !has_dylinker {
        Linkage::Static
    } else {
        Linkage::Dynamic
    };
    let buildinfo_range = file
        .section_by_name("__go_buildinfo")
        .map(|s| (s.address(), s.size()))
        .or(first_rw_segment);
    Layout {
        format: Format::Macho,
        goos: "darwin",
        linkage,
        interpreter: None,
        needed,
        pie: Some(flags & MH_PIE != 0),
        relro: None,
        nx: Some(flags & MH_ALLOW_STACK_EXECUTION == 0),
        memory: Memory::new(data, ranges),
        buildinfo_range,
        pclntab_section: file
            .section_by_name("__gopclntab")
            .and_then(|s| s.data().ok()),
        pclntab_region: None,
    }
}

fn add_segment<S: Segment<Endian = object::Endianness>>(
    seg: &S,
    endian: object::Endianness,
    ranges: &mut Vec<Range>,
    first_rw: &mut Option<(u64, u64)>,
) {
    let addr: u64 = seg.vmaddr(endian).into();
    let filesize: u64 = seg.filesize(endian).into();
    // __PAGEZERO maps nothing from the file; skip any such segment.
    if filesize == 0 {
        return;
    }
    ranges.push(Range {
        addr,
        offset: seg.fileoff(endian).into(),
        size: filesize,
    });
    if first_rw.is_none()
        && addr != 0
        && seg.initprot(endian).0 == VM_PROT_RW
        && seg.maxprot(endian).0 == VM_PROT_RW
    {
        *first_rw = Some((addr, seg.vmsize(endian).into()));
    }
}

/// Counts defined symbols and finds the wanted variables (Go names: the leading underscore
/// of Mach-O names is dropped). Names are compared in place in the string table
/// ([`NameMatcher`]) rather than decoded one by one.
pub fn symbols<'a, Mach: MachHeader<Endian = object::Endianness>>(
    file: &MachOFile<'a, Mach>,
    data: &'a [u8],
    wanted: &BTreeSet<&str>,
) -> Symbols {
    let endian = file.endian();
    let strtab = string_table(file, data).unwrap_or_default();
    let matcher = NameMatcher::new(wanted);
    let mut result = Symbols::default();
    for nlist in file.macho_symbol_table().iter() {
        if !nlist.is_definition() {
            continue;
        }
        result.defined += 1;
        let Some(name) = strtab.get(nlist.n_strx(endian) as usize..) else {
            continue;
        };
        let name = name.strip_prefix(b"_").unwrap_or(name);
        if let Some(w) = matcher.find(name) {
            result.vars.insert(
                String::from_utf8_lossy(w).into_owned(),
                nlist.n_value(endian).into(),
            );
        }
    }
    result
}

/// The bytes of the LC_SYMTAB string table.
fn string_table<'a, Mach: MachHeader<Endian = object::Endianness>>(
    file: &MachOFile<'a, Mach>,
    data: &'a [u8],
) -> Option<&'a [u8]> {
    let endian = file.endian();
    let mut commands = file.macho_load_commands().ok()?;
    while let Ok(Some(command)) = commands.next() {
        if let Ok(LoadCommandVariant::Symtab(symtab)) = command.variant() {
            let start = usize::try_from(symtab.stroff.get(endian)).ok()?;
            let len = usize::try_from(symtab.strsize.get(endian)).ok()?;
            return data.get(start..start.checked_add(len)?);
        }
    }
    None
}
