//! Comparing two builds of the same target byte for byte, and naming where they first
//! differ. Build IDs are a hash of everything else (Go's `\xff Go build ID: "…"` string, the
//! GNU build-id note, Mach-O's LC_UUID), so they always differ when anything differs; the
//! first difference *outside* them is the one that names the cause.

use std::ops::Range;

use memchr::memmem;
use object::{Object, ObjectSection, ObjectSegment};
use serde::Serialize;

/// How two builds of one target compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Sizes of the first and second build.
    pub sizes: (u64, u64),
    /// Byte-identical.
    pub identical: bool,
    /// The first differing byte outside build IDs, when they differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<Difference>,
    /// Every section (in file order) with at least one differing byte.
    pub differing_sections: Vec<String>,
    /// Number of differing bytes over the common length.
    pub differing_bytes: u64,
}

/// Where the builds first differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// File offset of the first differing byte.
    pub offset: u64,
    /// The section holding it (`.rodata`; `__TEXT,__cstring` for Mach-O), or a description
    /// of the area (file headers, past the end of the shorter file).
    pub section: String,
    /// The offset within that section, when it is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section_offset: Option<u64>,
}

/// A named file range.
#[derive(Debug, Clone)]
struct Area {
    name: String,
    range: Range<u64>,
}

/// Compares two builds. `a` is parsed (with the `object` crate) for its sections; unparsable
/// input still compares, with areas named by offset only.
pub fn compare(a: &[u8], b: &[u8]) -> Comparison {
    let sizes = (a.len() as u64, b.len() as u64);
    if a == b {
        return Comparison {
            sizes,
            identical: true,
            first_difference: None,
            differing_sections: Vec::new(),
            differing_bytes: 0,
        };
    }
    let sections = sections(a);
    let ids = build_id_areas(a, &sections);
    let common = a.len().min(b.len());
    let mut differing_bytes = 0u64;
    let mut first_any = None;
    let mut first_cause = None;
    let mut differing_sections: Vec<String> = Vec::new();
    // Compare in chunks: equal chunks (almost all of them) cost one memcmp.
    const CHUNK: usize = 4096;
    let mut start = 0;
    while start < common {
        let end = (start + CHUNK).min(common);
        if a[start..end] != b[start..end] {
            for off in start..end {
                if a[off] == b[off] {
                    continue;
                }
                let off = off as u64;
                differing_bytes += 1;
                first_any.get_or_insert(off);
                if first_cause.is_none() && !ids.iter().any(|r| r.contains(&off)) {
                    first_cause = Some(off);
                }
                let name = locate(&sections, off).0;
                if !differing_sections.contains(&name) {
                    differing_sections.push(name);
                }
            }
        }
        start = end;
    }
    let first = first_cause.or(first_any).unwrap_or(common as u64);
    let difference = if first >= common as u64 {
        Difference {
            offset: first,
            section: format!(
                "past the end of the shorter build (sizes {} and {})",
                sizes.0, sizes.1
            ),
            section_offset: None,
        }
    } else {
        let (section, section_offset) = locate(&sections, first);
        Difference {
            offset: first,
            section,
            section_offset,
        }
    };
    Comparison {
        sizes,
        identical: false,
        first_difference: Some(difference),
        differing_sections,
        differing_bytes,
    }
}

/// The file ranges of the sections (and, for formats whose headers hold no section, the
/// segments), narrowest first when they nest.
fn sections(data: &[u8]) -> Vec<Area> {
    let Ok(file) = object::File::parse(data) else {
        return Vec::new();
    };
    let macho = matches!(file.format(), object::BinaryFormat::MachO);
    let mut areas = Vec::new();
    for section in file.sections() {
        let Some((offset, size)) = section.file_range() else {
            continue;
        };
        if size == 0 {
            continue;
        }
        let name = section.name().unwrap_or("?");
        let name = match (macho, section.segment_name()) {
            (true, Ok(Some(segment))) => format!("{segment},{name}"),
            _ => name.to_string(),
        };
        areas.push(Area {
            name,
            range: offset..offset.saturating_add(size),
        });
    }
    for segment in file.segments() {
        let (offset, size) = segment.file_range();
        if size == 0 {
            continue;
        }
        let name = match segment.name() {
            Ok(Some(n)) if !n.is_empty() => format!("segment {n}"),
            _ => format!("segment at file offset {offset:#x}"),
        };
        areas.push(Area {
            name,
            range: offset..offset.saturating_add(size),
        });
    }
    areas.sort_by_key(|a| a.range.end - a.range.start);
    areas
}

/// The narrowest area holding `offset`, and the offset within it.
fn locate(areas: &[Area], offset: u64) -> (String, Option<u64>) {
    match areas.iter().find(|a| a.range.contains(&offset)) {
        Some(area) => (area.name.clone(), Some(offset - area.range.start)),
        None => {
            let first_section = areas.iter().map(|a| a.range.start).min().unwrap_or(0);
            if offset < first_section {
                ("file headers (before the first section)".into(), None)
            } else {
                (
                    format!("outside any section (file offset {offset:#x})"),
                    None,
                )
            }
        }
    }
}

/// The file ranges that only hold build IDs.
fn build_id_areas(data: &[u8], sections: &[Area]) -> Vec<Range<u64>> {
    let mut ids: Vec<Range<u64>> = sections
        .iter()
        .filter(|a| a.name == ".note.gnu.build-id" || a.name == ".note.go.buildid")
        .map(|a| a.range.clone())
        .collect();
    // Go's build ID string sits at the start of the text on Mach-O and PE (and in
    // .note.go.buildid on ELF): `\xff Go build ID: "…"\n \xff`.
    const MARK: &[u8] = b"\xff Go build ID: \"";
    if let Some(at) = memmem::find(&data[..data.len().min(1 << 20)], MARK) {
        let body = at + MARK.len();
        if let Some(len) = memchr::memchr(b'"', &data[body..data.len().min(body + 512)]) {
            ids.push(at as u64..(body + len + 1) as u64);
        }
    }
    if let Ok(file) = object::File::parse(data) {
        if let (Ok(Some(uuid)), object::BinaryFormat::MachO) = (file.mach_uuid(), file.format()) {
            if let Some(at) = memmem::find(&data[..data.len().min(1 << 16)], &uuid) {
                ids.push(at as u64..(at + uuid.len()) as u64);
            }
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_builds_compare_equal() {
        let c = compare(b"same bytes", b"same bytes");
        assert!(c.identical && c.first_difference.is_none() && c.differing_bytes == 0);
    }

    #[test]
    fn a_go_build_id_difference_is_passed_over_for_the_cause() {
        let mut a = b"HDR\xff Go build ID: \"aaaa/bbbb\"\n \xffpayload-1".to_vec();
        let mut b = a.clone();
        b[18] = b'z'; // inside the build ID
        let n = b.len();
        b[n - 1] = b'2';
        let c = compare(&a, &b);
        assert!(!c.identical);
        assert_eq!(c.differing_bytes, 2);
        assert_eq!(c.first_difference.unwrap().offset, (n - 1) as u64);
        // Only the build ID differs: it is then the first difference after all.
        a[n - 1] = b'2';
        let c = compare(&a, &b);
        assert_eq!(c.first_difference.unwrap().offset, 18);
    }

    #[test]
    fn a_longer_build_differs_past_the_common_length() {
        let c = compare(b"abc", b"abcd");
        let d = c.first_difference.unwrap();
        assert_eq!(d.offset, 3);
        assert!(d.section.contains("sizes 3 and 4"), "{}", d.section);
    }
}
