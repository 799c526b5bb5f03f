//! The runtime's `moduledata` (Go's `runtime/symtab.go`): the linker-written record through
//! which the runtime reaches the pclntab and the `go:func.*` area that Go 1.18+ funcdata
//! offsets are relative to. `-s -w` drops the symbol that names it but not the record itself,
//! so a stripped binary's record is found by scanning the data for a pointer to the pclntab
//! header and checking that the fields around it describe that very table.

use memchr::memmem;

use super::memory::Memory;
use super::pclntab::{Pclntab, Version};

/// How many raw matches of the pclntab's address are checked before giving up: a real
/// binary holds the address in one or two places (the moduledata, sometimes a GC root).
const MAX_CANDIDATES: usize = 256;

/// Pointer-sized reads through the address space, with ELF `R_*_RELATIVE` relocations
/// applied: a RELA position-independent binary may leave a pointer's bytes zero in the file
/// and carry the value only as the relocation's addend.
#[derive(Debug)]
pub struct Pointers<'m, 'a> {
    /// The loaded address space.
    pub memory: &'m Memory<'a>,
    /// (address, value) of every relative relocation with an explicit addend, sorted.
    pub relocations: Vec<(u64, u64)>,
    /// Pointer size (4 or 8).
    pub ptr_size: u8,
    /// Byte order.
    pub big_endian: bool,
}

impl Pointers<'_, '_> {
    /// The pointer stored at `addr`, as the loader would leave it (before any slide).
    pub fn read(&self, addr: u64) -> Option<u64> {
        if let Ok(i) = self.relocations.binary_search_by_key(&addr, |r| r.0) {
            return Some(self.relocations[i].1);
        }
        self.memory.read_ptr(addr, self.ptr_size, self.big_endian)
    }

    /// The pointer-sized word `n` of a record at `base`.
    fn word(&self, base: u64, n: u64) -> Option<u64> {
        self.read(base.checked_add(n.checked_mul(u64::from(self.ptr_size))?)?)
    }
}

/// The fields of a validated `moduledata` that the function reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleData {
    /// Address of the record.
    pub addr: u64,
    /// `text`: the start of the module's code.
    pub text: u64,
    /// `etext`: the end of the module's code.
    pub etext: u64,
    /// `gofunc`: the address of `go:func.*`, the base of Go 1.18+ funcdata offsets.
    pub gofunc: u64,
}

/// Index of `gofunc` among moduledata's pointer-sized words: Go 1.18 added `rodata` and
/// `gofunc` after `etypes`, Go 1.20 `covctrs, ecovctrs` before them (pclntab magics 0xfffffff0
/// and 0xfffffff1 tell the two apart). Earlier layouts have no `gofunc`.
fn gofunc_word(version: Version) -> Option<u64> {
    match version {
        Version::V1_18 => Some(38),
        Version::V1_20 => Some(40),
        Version::V1_2 | Version::V1_16 => None,
    }
}

/// Checks that a moduledata candidate at `addr` describes `table`, whose header is loaded at
/// `header`: the slices it holds must start where the header's offsets say, the function
/// table must have the header's count plus the sentinel, and the code bounds must nest.
pub fn validate(
    ptrs: &Pointers<'_, '_>,
    table: &Pclntab<'_>,
    header: u64,
    addr: u64,
) -> Option<ModuleData> {
    let gofunc_at = gofunc_word(table.version)?;
    let w = |n: u64| ptrs.word(addr, n);
    let h = |n: usize| table.header_word(n);
    // Words of the Go 1.18+ record: 0 pcHeader, 1-3 funcnametab, 4-6 cutab, 7-9 filetab,
    // 10-12 pctab, 13-15 pclntable, 16-18 ftab, 19 findfunctab, 20 minpc, 21 maxpc,
    // 22 text, 23 etext.
    if w(0)? != header {
        return None;
    }
    let at = |off: u64| header.checked_add(off);
    // funcnametab ends where cutab starts, give or take the alignment padding before cutab
    // (none in Go 1.26 binaries, 8 bytes in one Go 1.20.3 binary, 24 in a Go 1.23 one).
    let name_gap = h(4)?.checked_sub(h(3)?)?;
    let name_len = w(2)?;
    if w(1)? != at(h(3)?)? || name_len > name_gap || name_gap - name_len > 256 {
        return None;
    }
    if w(4)? != at(h(4)?)? || w(7)? != at(h(5)?)? || w(10)? != at(h(6)?)? {
        return None;
    }
    if w(13)? != at(h(7)?)? || w(16)? != at(h(7)?)? {
        return None;
    }
    if w(17)? != h(0)?.checked_add(1)? {
        return None;
    }
    let (minpc, maxpc, text, etext) = (w(20)?, w(21)?, w(22)?, w(23)?);
    if !(text <= minpc && minpc < maxpc && maxpc <= etext) {
        return None;
    }
    let gofunc = w(gofunc_at)?;
    // go:func.* is read-only data the file backs.
    ptrs.memory.tail(gofunc)?;
    Some(ModuleData {
        addr,
        text,
        etext,
        gofunc,
    })
}

/// Finds the moduledata that points at the pclntab header loaded at `header`, without the
/// symbol table: every place in `regions` (file offset, bytes: the writable data, where the
/// linker puts the record) that holds the header's address, or a relative relocation whose
/// addend is it, is a candidate; the first that validates wins.
pub fn scan(
    regions: &[(usize, &[u8])],
    ptrs: &Pointers<'_, '_>,
    table: &Pclntab<'_>,
    header: u64,
) -> Option<ModuleData> {
    gofunc_word(table.version)?;
    let pattern = encode_ptr(header, ptrs.ptr_size, ptrs.big_endian);
    let finder = memmem::Finder::new(&pattern);
    let in_file = regions.iter().flat_map(|&(offset, bytes)| {
        finder
            .find_iter(bytes)
            .filter_map(move |at| ptrs.memory.addr_of(offset.checked_add(at)? as u64))
    });
    let relocated = ptrs
        .relocations
        .iter()
        .filter(|&&(_, value)| value == header)
        .map(|&(addr, _)| addr);
    in_file
        .chain(relocated)
        .take(MAX_CANDIDATES)
        .find_map(|addr| validate(ptrs, table, header, addr))
}

/// A pointer's bytes as the target stores it.
pub fn encode_ptr(value: u64, ptr_size: u8, big_endian: bool) -> Vec<u8> {
    match (ptr_size, big_endian) {
        (4, false) => (value as u32).to_le_bytes().to_vec(),
        (4, true) => (value as u32).to_be_bytes().to_vec(),
        (_, false) => value.to_le_bytes().to_vec(),
        (_, true) => value.to_be_bytes().to_vec(),
    }
}
