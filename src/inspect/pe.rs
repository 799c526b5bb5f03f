//! PE specifics: imported DLLs, ASLR/NX characteristics, and the data section where Go's
//! linker puts the build info.

use object::LittleEndian as LE;
use object::{Object, ObjectSection};

use object::read::pe::{ImageNtHeaders, ImageOptionalHeader, PeFile};

use super::facts::{Format, Linkage};
use super::layout::Layout;
use super::memory::{Memory, Range};

const DYNAMIC_BASE: u16 = 0x0040;
const NX_COMPAT: u16 = 0x0100;
const RELOCS_STRIPPED: u16 = 0x0001;
const SCN_ALIGN_BITS: u32 = 0x0060_0000;
/// IMAGE_SCN_CNT_INITIALIZED_DATA | MEM_READ | MEM_WRITE: Go's `.data`.
const SCN_RW_DATA: u32 = 0xC000_0040;

/// Reads the PE-specific facts.
pub fn layout<'a, Pe: ImageNtHeaders>(file: &PeFile<'a, Pe>, data: &'a [u8]) -> Layout<'a> {
    let nt = file.nt_headers();
    let optional = nt.optional_header();
    let image_base = optional.image_base();
    let dll = optional.dll_characteristics().0;
    let relocs_stripped = nt.file_header().characteristics.get(LE).0 & RELOCS_STRIPPED != 0;

    let mut ranges = Vec::new();
    let mut data_section = None;
    for section in file.section_table().iter() {
        let va = u64::from(section.virtual_address.get(LE));
        let raw = u64::from(section.size_of_raw_data.get(LE));
        let addr = image_base.wrapping_add(va);
        ranges.push(Range {
            addr,
            offset: u64::from(section.pointer_to_raw_data.get(LE)),
            size: raw,
        });
        let characteristics = section.characteristics.get(LE).0;
        if data_section.is_none()
            && va != 0
            && raw != 0
            && characteristics & !SCN_ALIGN_BITS == SCN_RW_DATA
        {
            data_section = Some((addr, u64::from(section.virtual_size.get(LE))));
        }
    }

    let mut needed = Vec::new();
    if let Ok(Some(imports)) = file.import_table()
        && let Ok(mut descriptors) = imports.descriptors()
    {
        while let Ok(Some(descriptor)) = descriptors.next() {
            if let Ok(name) = imports.name(descriptor.name.get(LE)) {
                needed.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Layout {
        format: Format::Pe,
        goos: "windows",
        linkage: if needed.is_empty() {
            Linkage::Static
        } else {
            Linkage::Dynamic
        },
        interpreter: None,
        needed,
        pie: Some(dll & DYNAMIC_BASE != 0 && !relocs_stripped),
        relro: None,
        nx: Some(dll & NX_COMPAT != 0),
        memory: Memory::new(data, ranges),
        buildinfo_range: data_section,
        // Go keeps the pclntab inside .rdata with no section of its own: it is found by its
        // magic, in .rdata first so that the rest of the file is never paged in.
        pclntab_section: None,
        pclntab_region: file.section_by_name(".rdata").and_then(|s| s.data().ok()),
    }
}
