//! Every Go function name a binary holds: the pclntab's function table, plus the names in
//! each function's inline tree (`FUNCDATA_InlTree`), where a function the compiler inlined
//! at all its call sites is the only trace left of it. Both survive `-s -w`.
//!
//! Layouts follow Go's `runtime/runtime2.go` (`_func`), `runtime/symtabinl.go`
//! (`inlinedCall`), `runtime/symtab.go` (`funcdata`, `pcvalue`, `moduledata`),
//! `internal/abi/symtab.go` (PCDATA/FUNCDATA ids) and `debug/gosym`; what govulncheck takes
//! from them follows golang.org/x/vuln's `internal/buildinfo/additions_scan.go` and
//! `internal/gosym/additions.go`.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use object::read::elf::{ElfFile, FileHeader};
use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};
use object::{FileKind, Object, ObjectSegment, SegmentFlags};

use super::memory::{Memory, read_uint};
use super::moduledata::{self, ModuleData, Pointers};
use super::pclntab::{Pclntab, Version};

/// `PCDATA_InlTreeIndex`: the pc-value table whose values index the inline tree.
const PCDATA_INL_TREE_INDEX: usize = 2;
/// `FUNCDATA_InlTree`: the funcdata slot that locates the inline tree.
const FUNCDATA_INL_TREE: usize = 3;
/// Symbols that name the funcdata base (`moduledata.gofunc`): Go 1.20+, then 1.18–1.19.
const GOFUNC_SYMBOLS: [&str; 2] = ["go:func.*", "go.func.*"];
/// A tree is treated as unreadable when its pc-value table claims more entries than this:
/// no real function inlines a hundred thousand calls, and the bound keeps hostile input from
/// asking for gigabytes.
const MAX_TREE_ENTRIES: usize = 100_000;

/// How the funcdata base was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The symbol table names `go:func.*` (`go.func.*` for Go 1.18–1.19): what govulncheck
    /// uses.
    Symbol,
    /// No such symbol (stripped): the runtime's `moduledata` was found by scanning the data
    /// for a pointer to the pclntab header and validated against the table.
    Scan,
    /// Go 1.13–1.17 funcdata are absolute addresses: no base is needed.
    Absolute,
}

/// Whether the inline trees were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InlineTrees {
    /// Read. `unreadable` trees pointed outside the file, had a corrupt pc-value table, or
    /// named something that is not in the function-name table; their names are missing.
    Read {
        /// Functions with a non-empty inline tree.
        trees: usize,
        /// Inline tree entries read (one per inlined call, duplicates included).
        calls: usize,
        /// Trees that could not be read.
        unreadable: usize,
    },
    /// Not read at all; the reason says why (so a symbol-level scan can say its evidence is
    /// the function table alone).
    NotFound(String),
}

/// Every Go function name found in a binary.
///
/// Included: every entry of the pclntab's function table (`names`) and every function named
/// by an entry of any function's inline tree (`inlined`, minus what `names` already has) —
/// together exactly the names govulncheck v1.9.0 collects from an unstripped Go 1.18+ binary
/// (its `ExtractPackagesAndSymbols`), here also from stripped ones. Names are as the binary
/// stores them: not split into package and symbol, generic brackets kept, `%2e` escapes
/// kept, `main.` not replaced by the module path; the matcher normalises.
///
/// Not included: functions of other modules (plugins, `-linkshared` libraries: only the
/// module whose pclntab is found is read); C functions linked through cgo (the pclntab
/// lists Go and Go-assembly functions only); the inline trees of functions whose tree could not be read (`inline_trees` counts
/// them, or says why none were read; then `inlined` is empty and only `names` is evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFunctions {
    /// The pclntab layout.
    pub version: Version,
    /// Every name in the pclntab's function table, in table order, exactly as stored
    /// (`net/http.(*Server).Serve`, `slices.Sort[go.shape.int]`, `type:.eq.[2]string`,
    /// `main.main.func1`): what debug/gosym's `Table.Funcs` lists. Not normalised.
    pub names: Vec<String>,
    /// Names that appear only in inline trees (inlined at every call site, no standalone
    /// copy), sorted and unique, as stored. `names` ∪ `inlined` is the set of names
    /// govulncheck v1.9.0 reads from an unstripped binary before it splits them into
    /// package and symbol.
    pub inlined: Vec<String>,
    /// Whether the inline trees were read, and how completely.
    pub inline_trees: InlineTrees,
    /// How the funcdata base was found; `None` when it was not (see `inline_trees`).
    pub found_by: Option<How>,
    /// The funcdata base (`moduledata.gofunc`, the address of `go:func.*`), Go 1.18+.
    pub gofunc: Option<u64>,
    /// The address of the runtime's `moduledata`, when the scan found it.
    pub moduledata: Option<u64>,
}

impl GoFunctions {
    /// Every name: the function table's and the inline trees', unique.
    pub fn all_names(&self) -> BTreeSet<&str> {
        self.names
            .iter()
            .chain(&self.inlined)
            .map(String::as_str)
            .collect()
    }
}

/// [`GoFunctions`] borrowed from the binary's bytes: the same names, not copied, and the
/// inline trees' names not yet set apart from the function table's. What the vulnerability
/// scan reads: it keeps the few names of packages an advisory speaks of and copies only those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoNames<'a> {
    /// The pclntab layout.
    pub version: Version,
    /// Every name in the function table, in table order, as stored.
    pub names: Vec<&'a [u8]>,
    /// Every name an inline tree names, once per name-table offset, in offset order; it may
    /// repeat names of `names` (a function both inlined and kept).
    pub inlined: Vec<&'a [u8]>,
    /// Whether the inline trees were read, and how completely.
    pub inline_trees: InlineTrees,
    /// How the funcdata base was found; `None` when it was not.
    pub found_by: Option<How>,
    /// The funcdata base, Go 1.18+.
    pub gofunc: Option<u64>,
    /// The address of the runtime's `moduledata`, when the scan found it.
    pub moduledata: Option<u64>,
}

impl GoNames<'_> {
    /// The owned form: names as strings, `inlined` sorted, unique and without the function
    /// table's names.
    pub fn to_functions(&self) -> GoFunctions {
        let text = |n: &[u8]| String::from_utf8_lossy(n).into_owned();
        let in_table: HashSet<&[u8]> = self.names.iter().copied().collect();
        let inlined: BTreeSet<String> = self
            .inlined
            .iter()
            .filter(|n| !in_table.contains(*n))
            .map(|n| text(n))
            .collect();
        GoFunctions {
            version: self.version,
            names: self.names.iter().map(|n| text(n)).collect(),
            inlined: inlined.into_iter().collect(),
            inline_trees: self.inline_trees.clone(),
            found_by: self.found_by,
            gofunc: self.gofunc,
            moduledata: self.moduledata,
        }
    }
}

/// Every Go function name in `data`, borrowed: see [`GoNames`] and [`go_functions`]. A
/// universal Mach-O gives the first readable slice's version and evidence and every slice's
/// names (repeats included).
pub fn go_names(data: &[u8]) -> Result<GoNames<'_>, FunctionsError> {
    let kind = FileKind::parse(data).map_err(|e| FunctionsError::NotObject(e.to_string()))?;
    let arches: Vec<&[u8]> = match kind {
        FileKind::MachOFat32 => MachOFatFile32::parse(data)
            .map_err(|e| FunctionsError::NotObject(e.to_string()))?
            .arches()
            .iter()
            .filter_map(|a| a.data(data).ok())
            .collect(),
        FileKind::MachOFat64 => MachOFatFile64::parse(data)
            .map_err(|e| FunctionsError::NotObject(e.to_string()))?
            .arches()
            .iter()
            .filter_map(|a| a.data(data).ok())
            .collect(),
        _ => return thin_names(data, Lookup::default()),
    };
    let mut merged: Option<GoNames> = None;
    let mut last_err = FunctionsError::NoPclntab;
    for bytes in arches {
        match (thin_names(bytes, Lookup::default()), &mut merged) {
            (Ok(f), None) => merged = Some(f),
            (Ok(f), Some(m)) => {
                m.names.extend(f.names);
                m.inlined.extend(f.inlined);
            }
            (Err(e), _) => last_err = e,
        }
    }
    merged.ok_or(last_err)
}

/// Why no function names could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionsError {
    /// Not an ELF, Mach-O or PE file, or its headers are broken.
    NotObject(String),
    /// An executable without a Go function table (not Go, or the table is damaged).
    NoPclntab,
}

impl fmt::Display for FunctionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FunctionsError::NotObject(why) => write!(f, "not a readable executable: {why}"),
            FunctionsError::NoPclntab => write!(f, "no Go function table (pclntab) found"),
        }
    }
}

impl std::error::Error for FunctionsError {}

/// Where to look for the funcdata base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lookup {
    /// The `go:func.*` symbol when there is one, else the moduledata scan.
    #[default]
    SymbolThenScan,
    /// Only the moduledata scan, even when symbols are present (to prove the scan).
    ScanOnly,
}

/// Every Go function name in `data` (an ELF, Mach-O, universal Mach-O or PE file): see
/// [`GoFunctions`]. Reads are bounded by the file; hostile input gives an error or fewer
/// names, never a panic.
pub fn go_functions(data: &[u8]) -> Result<GoFunctions, FunctionsError> {
    go_functions_with(data, Lookup::default())
}

/// [`go_functions`] with a choice of how the funcdata base is found.
pub fn go_functions_with(data: &[u8], lookup: Lookup) -> Result<GoFunctions, FunctionsError> {
    let kind = FileKind::parse(data).map_err(|e| FunctionsError::NotObject(e.to_string()))?;
    match kind {
        FileKind::MachOFat32 => {
            let fat = MachOFatFile32::parse(data)
                .map_err(|e| FunctionsError::NotObject(e.to_string()))?;
            universal(data, fat.arches(), lookup)
        }
        FileKind::MachOFat64 => {
            let fat = MachOFatFile64::parse(data)
                .map_err(|e| FunctionsError::NotObject(e.to_string()))?;
            universal(data, fat.arches(), lookup)
        }
        _ => thin(data, lookup),
    }
}

/// A universal binary: the union of its slices (the first slice's version and evidence).
fn universal<A: FatArch>(
    data: &[u8],
    arches: &[A],
    lookup: Lookup,
) -> Result<GoFunctions, FunctionsError> {
    let mut merged: Option<GoFunctions> = None;
    let mut last_err = FunctionsError::NoPclntab;
    for arch in arches {
        let Ok(bytes) = arch.data(data) else { continue };
        match thin(bytes, lookup) {
            Ok(f) => match &mut merged {
                None => merged = Some(f),
                Some(m) => {
                    let mut seen: HashSet<String> = m.names.iter().cloned().collect();
                    m.names
                        .extend(f.names.into_iter().filter(|n| seen.insert(n.clone())));
                    let mut inlined: BTreeSet<String> = m.inlined.drain(..).collect();
                    inlined.extend(f.inlined);
                    m.inlined = inlined.into_iter().filter(|n| !seen.contains(n)).collect();
                }
            },
            Err(e) => last_err = e,
        }
    }
    merged.ok_or(last_err)
}

fn thin(data: &[u8], lookup: Lookup) -> Result<GoFunctions, FunctionsError> {
    thin_names(data, lookup).map(|n| n.to_functions())
}

fn thin_names(data: &[u8], lookup: Lookup) -> Result<GoNames<'_>, FunctionsError> {
    let file = object::File::parse(data).map_err(|e| FunctionsError::NotObject(e.to_string()))?;
    let layout = super::layout_of(&file, data)
        .ok_or_else(|| FunctionsError::NotObject("unsupported object file kind".into()))?;
    let (offset, table) = super::locate_pclntab(&layout, data).ok_or(FunctionsError::NoPclntab)?;

    let names: Vec<&[u8]> = table.names().collect();

    let ptr_size = table.ptr_size;
    let big_endian = table.big_endian;
    let relocations = relative_relocations(&file);
    let ptrs = Pointers {
        memory: &layout.memory,
        relocations,
        ptr_size,
        big_endian,
    };
    let header = layout.memory.addr_of(offset as u64);
    let mut found_moduledata = None;

    let base = match table.version {
        Version::V1_2 | Version::V1_16 => Ok((Base::Absolute, How::Absolute)),
        Version::V1_18 | Version::V1_20 => {
            let symbol = match lookup {
                Lookup::SymbolThenScan => gofunc_symbol(&file, data),
                Lookup::ScanOnly => None,
            };
            match (symbol, header) {
                (Some(addr), _) => Ok((Base::Gofunc(addr), How::Symbol)),
                (None, Some(header)) => {
                    match moduledata::scan(&writable_regions(&file, data), &ptrs, &table, header) {
                        Some(ModuleData { gofunc, addr, .. }) => {
                            found_moduledata = Some(addr);
                            Ok((Base::Gofunc(gofunc), How::Scan))
                        }
                        None => Err(format!(
                            "no go:func.* symbol and no runtime moduledata points at the pclntab \
                         (pclntab {} at file offset {offset:#x})",
                            table.version.as_str()
                        )),
                    }
                }
                (None, None) => Err(format!(
                    "no go:func.* symbol, and the pclntab at file offset {offset:#x} is not in \
                     a loaded segment"
                )),
            }
        }
    };

    let (inline_trees, found_by, gofunc, inline_offsets) = match base {
        Err(why) => (InlineTrees::NotFound(why), None, None, Vec::new()),
        Ok((base, how)) => {
            let reader = TreeReader {
                table: &table,
                base,
                ptrs: &ptrs,
                memory: &layout.memory,
                table_offset: offset,
            };
            let (trees, offsets) = reader.read_offsets();
            let gofunc = match base {
                Base::Gofunc(g) => Some(g),
                Base::Absolute => None,
            };
            if trees.calls > 0 && trees.bad * 10 > trees.calls {
                // A base that turns one entry in ten into garbage is the wrong base (a
                // moduledata layout this reader does not know): say so rather than guess.
                (
                    InlineTrees::NotFound(format!(
                        "the inline trees did not decode: {} of {} entries name nothing in the \
                         function-name table or point outside their function",
                        trees.bad, trees.calls
                    )),
                    None,
                    gofunc,
                    Vec::new(),
                )
            } else {
                (
                    InlineTrees::Read {
                        trees: trees.trees,
                        calls: trees.calls,
                        unreadable: trees.unreadable,
                    },
                    Some(how),
                    gofunc,
                    offsets,
                )
            }
        }
    };

    let inlined = inline_offsets
        .into_iter()
        .filter_map(|off| table.name_at(off))
        .collect();
    Ok(GoNames {
        version: table.version,
        names,
        inlined,
        inline_trees,
        found_by,
        gofunc,
        moduledata: found_moduledata,
    })
}

/// The file bytes of the writable segments, where the linker puts the runtime's moduledata
/// (`.noptrdata`); the whole file when the headers name none.
fn writable_regions<'a>(file: &object::File<'a>, data: &'a [u8]) -> Vec<(usize, &'a [u8])> {
    const PF_W: u32 = 2;
    const VM_PROT_WRITE: u32 = 2;
    const IMAGE_SCN_MEM_WRITE: u32 = 0x8000_0000;
    let regions: Vec<(usize, &[u8])> = file
        .segments()
        .filter(|s| match s.flags() {
            SegmentFlags::Elf { p_flags, .. } => p_flags.0 & PF_W != 0,
            SegmentFlags::MachO { initprot, .. } => initprot.0 & VM_PROT_WRITE != 0,
            SegmentFlags::Coff { characteristics } => characteristics.0 & IMAGE_SCN_MEM_WRITE != 0,
            _ => false,
        })
        .filter_map(|s| {
            let (offset, size) = s.file_range();
            let start = usize::try_from(offset).ok()?;
            let bytes = data.get(start..start.checked_add(usize::try_from(size).ok()?)?)?;
            Some((start, bytes))
        })
        .collect();
    if regions.is_empty() {
        vec![(0, data)]
    } else {
        regions
    }
}

/// The address of `go:func.*` from the symbol table, if it has one.
fn gofunc_symbol(file: &object::File<'_>, data: &[u8]) -> Option<u64> {
    let wanted: BTreeSet<&str> = GOFUNC_SYMBOLS.into_iter().collect();
    let symbols = super::symbols_of(file, data, &wanted);
    GOFUNC_SYMBOLS
        .iter()
        .find_map(|name| symbols.vars.get(*name).copied())
}

/// ELF `R_*_RELATIVE` relocations with an explicit addend (RELA), as (address, value),
/// sorted. Only position-independent ELF files have them; REL files keep the value in place.
fn relative_relocations(file: &object::File<'_>) -> Vec<(u64, u64)> {
    match file {
        object::File::Elf32(f) => elf_relative(f),
        object::File::Elf64(f) => elf_relative(f),
        _ => Vec::new(),
    }
}

fn elf_relative<'a, Elf: FileHeader<Endian = object::Endianness>>(
    file: &ElfFile<'a, Elf>,
) -> Vec<(u64, u64)> {
    use object::elf;
    let relative = match file.architecture() {
        object::Architecture::X86_64 | object::Architecture::X86_64_X32 => elf::R_X86_64_RELATIVE,
        object::Architecture::Aarch64 => elf::R_AARCH64_RELATIVE,
        object::Architecture::I386 => elf::R_386_RELATIVE,
        object::Architecture::Arm => elf::R_ARM_RELATIVE,
        object::Architecture::PowerPc64 => elf::R_PPC64_RELATIVE,
        object::Architecture::Riscv64 => elf::R_RISCV_RELATIVE,
        object::Architecture::S390x => elf::R_390_RELATIVE,
        object::Architecture::LoongArch64 => elf::R_LARCH_RELATIVE,
        _ => return Vec::new(),
    };
    let Some(relocations) = file.dynamic_relocations() else {
        return Vec::new();
    };
    let mut out: Vec<(u64, u64)> = relocations
        .filter_map(|(addr, r)| match r.flags() {
            object::RelocationFlags::Elf { r_type }
                if r_type == relative && !r.has_implicit_addend() =>
            {
                Some((addr, r.addend() as u64))
            }
            _ => None,
        })
        .collect();
    out.sort_unstable();
    out
}

/// Where funcdata point.
#[derive(Debug, Clone, Copy)]
enum Base {
    /// Go 1.18+: u32 offsets from `go:func.*` at this address.
    Gofunc(u64),
    /// Go 1.13–1.17: pointer-sized absolute addresses.
    Absolute,
}

#[derive(Debug, Default)]
struct Tally {
    trees: usize,
    calls: usize,
    unreadable: usize,
    /// Entries whose name offset is not a name's start, or whose call site lies outside
    /// the function.
    bad: usize,
}

struct TreeReader<'t, 'a, 'm> {
    table: &'t Pclntab<'a>,
    base: Base,
    ptrs: &'t Pointers<'m, 'a>,
    memory: &'m Memory<'a>,
    /// File offset of the pclntab's magic.
    table_offset: usize,
}

impl TreeReader<'_, '_, '_> {
    /// Reads every function's inline tree; returns the tally and the name-table offsets
    /// of the names found, sorted and unique.
    fn read_offsets(&self) -> (Tally, Vec<u32>) {
        let mut tally = Tally::default();
        let mut offsets: Vec<u32> = Vec::new();
        for i in 0..self.table.len() {
            match self.tree(i, &mut offsets, &mut tally) {
                Some(0) => {}
                Some(_) => tally.trees += 1,
                None => tally.unreadable += 1,
            }
        }
        offsets.sort_unstable();
        offsets.dedup();
        (tally, offsets)
    }

    /// [`TreeReader::read_offsets`] with the names themselves.
    #[cfg(test)]
    fn read_all(&self) -> (Tally, BTreeSet<String>) {
        let (tally, offsets) = self.read_offsets();
        let names = offsets
            .into_iter()
            .filter_map(|off| self.table.name_at(off))
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect();
        (tally, names)
    }

    /// Reads function `i`'s tree into `offsets` (name offsets). `Some(entries)`, zero when
    /// the function has no tree; `None` when its tree cannot be read.
    fn tree(&self, i: usize, offsets: &mut Vec<u32>, tally: &mut Tally) -> Option<usize> {
        let t = self.table;
        let record = t.func_record(i)?;
        let big = t.big_endian;
        let u32_at = |b: &[u8], at: usize| -> Option<u32> {
            read_uint(b.get(at..at.checked_add(4)?)?, big).map(|v| v as u32)
        };
        // _func: the entry (a u32 offset since 1.18, a pointer before), then 4-byte fields;
        // the last one packs funcID, flag, pad and nfuncdata. Go 1.16 added cuOffset,
        // Go 1.20 startLine.
        let entry = match t.version {
            Version::V1_18 | Version::V1_20 => 4,
            Version::V1_2 | Version::V1_16 => usize::from(t.ptr_size),
        };
        let fields = match t.version {
            Version::V1_2 => 9,
            Version::V1_16 | Version::V1_18 => 10,
            Version::V1_20 => 11,
        };
        let field = |n: usize| entry + (n - 1) * 4;
        let npcdata = usize::try_from(u32_at(record, field(7))?).ok()?;
        let nfuncdata = usize::from(*record.get(field(fields - 1) + 3)?);
        if npcdata <= PCDATA_INL_TREE_INDEX || nfuncdata <= FUNCDATA_INL_TREE {
            return Some(0);
        }
        let fixed = field(fields);
        let pcdata_off = u32_at(record, fixed + PCDATA_INL_TREE_INDEX * 4)?;
        if pcdata_off == 0 {
            // The runtime reads offset 0 as "no table".
            return Some(0);
        }
        let funcdata_at = fixed.checked_add(npcdata.checked_mul(4)?)?;
        let tree_addr = match self.base {
            Base::Gofunc(gofunc) => {
                let off = u32_at(record, funcdata_at.checked_add(FUNCDATA_INL_TREE * 4)?)?;
                if off == u32::MAX {
                    return Some(0);
                }
                gofunc.checked_add(u64::from(off))?
            }
            Base::Absolute => {
                let ps = usize::from(t.ptr_size);
                // Pointer-sized funcdata are pointer-aligned in memory.
                let position = t.func_record_position(i)?.checked_add(funcdata_at)?;
                let pad = if ps == 8 && position % 8 != 0 { 4 } else { 0 };
                let at = funcdata_at
                    .checked_add(pad)?
                    .checked_add(FUNCDATA_INL_TREE * ps)?;
                let addr = self
                    .table_offset
                    .checked_add(position - funcdata_at + at)
                    .and_then(|o| self.memory.addr_of(o as u64))
                    .and_then(|a| self.ptrs.read(a));
                let value = match addr {
                    Some(v) => v,
                    None => read_uint(record.get(at..at.checked_add(ps)?)?, big)?,
                };
                if value == 0 {
                    return Some(0);
                }
                value
            }
        };
        let max = max_pc_value(t.pctab().get(usize::try_from(pcdata_off).ok()?..)?)?;
        if max < 0 {
            return Some(0);
        }
        let count = usize::try_from(max).ok()?.checked_add(1)?;
        if count > MAX_TREE_ENTRIES {
            return None;
        }
        // inlinedCall: Go 1.20+ {funcID u8, pad [3], nameOff i32, parentPc i32, startLine
        // i32}; Go 1.12–1.19 {parent i16, funcID u8, pad, file i32, line i32, func_ i32,
        // parentPc i32}.
        let (size, name_at, parent_pc_at) = match t.version {
            Version::V1_20 => (16, 4, 8),
            _ => (20, 12, 16),
        };
        let func_size = t.func_size(i)?;
        let bytes = self
            .memory
            .read(tree_addr, u64::try_from(count.checked_mul(size)?).ok()?)?;
        for entry in bytes.chunks_exact(size) {
            tally.calls += 1;
            let off = u32_at(entry, name_at)?;
            // parentPc is an offset from the function's entry, inside the function.
            let parent_pc = u32_at(entry, parent_pc_at)?;
            if t.is_name_start(off) && u64::from(parent_pc) < func_size {
                offsets.push(off);
            } else {
                tally.bad += 1;
            }
        }
        Some(count)
    }
}

/// The largest value of a pc-value table (Go's `runtime.step` encoding: zig-zag varint value
/// deltas from -1 and varint pc deltas, ended by a zero value delta once the pc has moved).
/// Decoding follows debug/gosym's walk, as govulncheck does, to count the entries of an
/// inline tree; `None` when the table runs off its slice.
pub fn max_pc_value(mut p: &[u8]) -> Option<i32> {
    let mut val: i32 = -1;
    let mut max: i32 = -1;
    let mut pc: u64 = 0;
    loop {
        let (uvdelta, n) = read_varint(p)?;
        if uvdelta == 0 && pc != 0 {
            return Some(max);
        }
        // Zig-zag: the low bit is the sign.
        let delta = ((uvdelta >> 1) as i32) ^ -((uvdelta & 1) as i32);
        val = val.wrapping_add(delta);
        p = p.get(n..)?;
        let (pcdelta, n) = read_varint(p)?;
        p = p.get(n..)?;
        pc = pc.wrapping_add(u64::from(pcdelta));
        if val > max {
            max = val;
        }
    }
}

/// A little-endian base-128 varint of at most 5 bytes, as Go's `readvarint` reads it.
fn read_varint(p: &[u8]) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    for (i, &b) in p.iter().enumerate().take(5) {
        v |= u32::from(b & 0x7f).wrapping_shl(7 * i as u32);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::memory::Range;
    use crate::inspect::moduledata::ModuleData;

    /// Where the synthetic file is loaded.
    const BASE: u64 = 0x40_0000;

    struct Synthetic {
        bytes: Vec<u8>,
        /// The funcdata base (Go 1.18+), the address of the tree area.
        gofunc: u64,
    }

    /// A file holding a pclntab of `version` at offset 0 and, after it, the inline trees:
    /// function `i` is `funcs[i].0` and inlines the calls named `funcs[i].1`. `_func` records,
    /// pcdata and funcdata are laid out as Go's linker does for that version.
    fn synthetic(version: Version, ptr: usize, big: bool, funcs: &[(&str, &[&str])]) -> Synthetic {
        let u32b = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let ptrb = |v: u64| -> Vec<u8> {
            match (ptr, big) {
                (4, false) => (v as u32).to_le_bytes().to_vec(),
                (4, true) => (v as u32).to_be_bytes().to_vec(),
                (_, false) => v.to_le_bytes().to_vec(),
                (_, true) => v.to_be_bytes().to_vec(),
            }
        };
        let modern = matches!(version, Version::V1_18 | Version::V1_20);
        let field = if modern { 4 } else { ptr };
        let header_words = match version {
            Version::V1_2 => 1,
            Version::V1_16 => 7,
            _ => 8,
        };
        let header_len = 8 + header_words * ptr;
        // Names: functions first, then the inlined callees.
        let mut nametab = Vec::new();
        let mut name_off = std::collections::HashMap::new();
        let all = funcs
            .iter()
            .flat_map(|(n, inl)| std::iter::once(*n).chain(inl.iter().copied()));
        for n in all {
            name_off.entry(n).or_insert_with(|| {
                let at = nametab.len() as u32;
                nametab.extend_from_slice(n.as_bytes());
                nametab.push(0);
                at
            });
        }
        // Pc-value tables: values 0..k-1, one pc step each, then the end.
        let mut pctab = vec![0u8];
        let mut pc_off = Vec::new();
        for (_, inl) in funcs {
            pc_off.push(pctab.len() as u32);
            for _ in 0..inl.len() {
                pctab.extend_from_slice(&[2, 1]);
            }
            pctab.push(0);
        }
        // Section offsets from the header (1.2: everything is relative to the table start,
        // so the name and pc tables sit before the function table).
        let pad8 = |n: usize| n.div_ceil(8) * 8;
        let nametab_at = pad8(
            header_len
                + if version == Version::V1_2 {
                    (2 * funcs.len() + 1) * field
                } else {
                    0
                },
        );
        let pctab_at = pad8(nametab_at + nametab.len());
        let pcln_at = pad8(pctab_at + pctab.len());
        let functab_base = if version == Version::V1_2 {
            header_len
        } else {
            pcln_at
        };
        let rel = |abs: usize| {
            if version == Version::V1_2 {
                abs
            } else {
                abs - pcln_at
            }
        };
        let functab_len = (2 * funcs.len() + 1) * field;
        let fields = match version {
            Version::V1_2 => 9,
            Version::V1_16 | Version::V1_18 => 10,
            Version::V1_20 => 11,
        };
        let (entry_size, name_at) = if version == Version::V1_20 {
            (16, 4)
        } else {
            (20, 12)
        };
        // The trees go after the records; records are 8-aligned like the linker's.
        let record_len = |_: usize| pad8(field + (fields - 1) * 4 + 3 * 4 + 4 + 4 * ptr + 8);
        let mut records_at = Vec::new();
        let mut at = pad8(if version == Version::V1_2 {
            pcln_at
        } else {
            pcln_at + functab_len
        });
        for i in 0..funcs.len() {
            records_at.push(at);
            at += record_len(i);
        }
        let trees_at = pad8(at);
        if version == Version::V1_2 {
            // Go 1.2–1.15 name and pc-value offsets count from the table's start.
            for v in name_off.values_mut() {
                *v += nametab_at as u32;
            }
            for v in &mut pc_off {
                *v += pctab_at as u32;
            }
        }
        let mut tree_off = Vec::new();
        let mut trees = Vec::new();
        for (_, inl) in funcs {
            tree_off.push(trees.len());
            for callee in *inl {
                let mut e = vec![0u8; entry_size];
                e[name_at..name_at + 4].copy_from_slice(&u32b(name_off[callee]));
                trees.extend(e);
            }
        }
        let gofunc = BASE + trees_at as u64;
        let mut out = vec![0u8; trees_at];
        out.extend(trees);
        // Header.
        let magic: u32 = match version {
            Version::V1_2 => 0xffff_fffb,
            Version::V1_16 => 0xffff_fffa,
            Version::V1_18 => 0xffff_fff0,
            Version::V1_20 => 0xffff_fff1,
        };
        out[..4].copy_from_slice(&u32b(magic));
        out[4..8].copy_from_slice(&[0, 0, 1, ptr as u8]);
        let words: Vec<usize> = match version {
            Version::V1_2 => vec![funcs.len()],
            Version::V1_16 => vec![
                funcs.len(),
                0,
                nametab_at,
                pctab_at,
                pctab_at,
                pctab_at,
                pcln_at,
            ],
            _ => vec![
                funcs.len(),
                0,
                0,
                nametab_at,
                pctab_at,
                pctab_at,
                pctab_at,
                pcln_at,
            ],
        };
        for (k, w) in words.iter().enumerate() {
            out[8 + k * ptr..8 + (k + 1) * ptr].copy_from_slice(&ptrb(*w as u64));
        }
        out[nametab_at..nametab_at + nametab.len()].copy_from_slice(&nametab);
        out[pctab_at..pctab_at + pctab.len()].copy_from_slice(&pctab);
        // Function table: {entry, funcoff} pairs and the end sentinel.
        let put_field = |out: &mut Vec<u8>, at: usize, v: u64| {
            if field == 4 {
                out[at..at + 4].copy_from_slice(&u32b(v as u32));
            } else {
                out[at..at + ptr].copy_from_slice(&ptrb(v));
            }
        };
        #[allow(clippy::needless_range_loop)] // i also indexes the table one past the end
        for i in 0..=funcs.len() {
            let entry = 0x1000 + 0x100 * i as u64;
            put_field(&mut out, functab_base + 2 * i * field, entry);
            if let Some(&record) = records_at.get(i) {
                put_field(
                    &mut out,
                    functab_base + (2 * i + 1) * field,
                    rel(record) as u64,
                );
            }
        }
        // _func records.
        for (i, (name, inl)) in funcs.iter().enumerate() {
            let r = records_at[i];
            let f = |n: usize| r + field + (n - 1) * 4;
            out[f(1)..f(1) + 4].copy_from_slice(&u32b(name_off[name]));
            out[f(7)..f(7) + 4].copy_from_slice(&u32b(3));
            out[f(fields - 1) + 3] = 4;
            let fixed = f(fields);
            out[fixed + 8..fixed + 12].copy_from_slice(&u32b(if inl.is_empty() {
                0
            } else {
                pc_off[i]
            }));
            let mut fd = fixed + 12;
            if modern {
                let v = if inl.is_empty() {
                    u32::MAX
                } else {
                    tree_off[i] as u32
                };
                out[fd + 12..fd + 16].copy_from_slice(&u32b(v));
            } else {
                if ptr == 8 && fd % 8 != 0 {
                    fd += 4;
                }
                let v = if inl.is_empty() {
                    0
                } else {
                    gofunc + tree_off[i] as u64
                };
                out[fd + 3 * ptr..fd + 4 * ptr].copy_from_slice(&ptrb(v));
            }
        }
        Synthetic { bytes: out, gofunc }
    }

    /// Reads the synthetic file's trees the way `thin` does.
    fn read_synthetic(s: &Synthetic, version: Version) -> (Tally, BTreeSet<String>) {
        let table = Pclntab::parse(&s.bytes).expect("synthetic table parses");
        assert_eq!(table.version, version);
        let memory = Memory::new(
            &s.bytes,
            [Range {
                addr: BASE,
                offset: 0,
                size: s.bytes.len() as u64,
            }],
        );
        let ptrs = Pointers {
            memory: &memory,
            relocations: Vec::new(),
            ptr_size: table.ptr_size,
            big_endian: table.big_endian,
        };
        let base = match version {
            Version::V1_2 | Version::V1_16 => Base::Absolute,
            _ => Base::Gofunc(s.gofunc),
        };
        let reader = TreeReader {
            table: &table,
            base,
            ptrs: &ptrs,
            memory: &memory,
            table_offset: 0,
        };
        reader.read_all()
    }

    const FUNCS: &[(&str, &[&str])] = &[
        ("main.main", &["net/http.(*conn).serve", "strings.Index"]),
        ("runtime.main", &[]),
        (
            "net/url.Parse",
            &["net/url.parse", "strings.Index", "strings.Cut"],
        ),
    ];

    #[test]
    fn inline_trees_of_every_layout_are_read() {
        for version in [
            Version::V1_2,
            Version::V1_16,
            Version::V1_18,
            Version::V1_20,
        ] {
            for (ptr, big) in [(8, false), (4, false), (8, true), (4, true)] {
                let s = synthetic(version, ptr, big, FUNCS);
                let (tally, names) = read_synthetic(&s, version);
                let case = format!("{version:?} ptr {ptr} big-endian {big}");
                assert_eq!(
                    names.iter().map(String::as_str).collect::<Vec<_>>(),
                    [
                        "net/http.(*conn).serve",
                        "net/url.parse",
                        "strings.Cut",
                        "strings.Index"
                    ],
                    "{case}"
                );
                assert_eq!((tally.trees, tally.calls), (2, 5), "{case}");
                assert_eq!((tally.unreadable, tally.bad), (0, 0), "{case}");
            }
        }
    }

    /// Appends a Go 1.20+ moduledata record for the synthetic table; `name_len` is the
    /// length it gives funcnametab, `ftab_len` the function table's.
    fn with_moduledata(s: &Synthetic, name_len: u64, ftab_len: u64) -> (Vec<u8>, usize) {
        let table = Pclntab::parse(&s.bytes).unwrap();
        let h = |n: usize| table.header_word(n).unwrap();
        let mut words = [0u64; 42];
        words[0] = BASE;
        words[1] = BASE + h(3);
        words[2] = name_len;
        words[4] = BASE + h(4);
        words[7] = BASE + h(5);
        words[10] = BASE + h(6);
        words[13] = BASE + h(7);
        words[16] = BASE + h(7);
        words[17] = ftab_len;
        (words[20], words[21], words[22], words[23]) = (0x1000, 0x1300, 0x1000, 0x1400);
        words[40] = s.gofunc;
        let mut bytes = s.bytes.clone();
        bytes.resize(bytes.len().div_ceil(8) * 8, 0);
        let at = bytes.len();
        for w in words {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        (bytes, at)
    }

    fn scan_synthetic(bytes: &[u8], at: usize) -> Option<ModuleData> {
        let table = Pclntab::parse(bytes).unwrap();
        let memory = Memory::new(
            bytes,
            [Range {
                addr: BASE,
                offset: 0,
                size: bytes.len() as u64,
            }],
        );
        let ptrs = Pointers {
            memory: &memory,
            relocations: Vec::new(),
            ptr_size: 8,
            big_endian: false,
        };
        moduledata::scan(&[(at, &bytes[at..])], &ptrs, &table, BASE)
    }

    #[test]
    fn the_moduledata_record_is_validated_against_the_table() {
        let s = synthetic(Version::V1_20, 8, false, FUNCS);
        let table = Pclntab::parse(&s.bytes).unwrap();
        let gap = table.header_word(4).unwrap() - table.header_word(3).unwrap();
        let nfunc = FUNCS.len() as u64;
        // Exact, and with alignment padding before cutab: found, gofunc read.
        for name_len in [gap, gap - 8] {
            let (bytes, at) = with_moduledata(&s, name_len, nfunc + 1);
            let md = scan_synthetic(&bytes, at).expect("valid record");
            assert_eq!((md.addr, md.gofunc), (BASE + at as u64, s.gofunc));
        }
        // A name table longer than its room, or a function count off by one: rejected.
        let (bytes, at) = with_moduledata(&s, gap + 1, nfunc + 1);
        assert_eq!(scan_synthetic(&bytes, at), None);
        let (bytes, at) = with_moduledata(&s, gap, nfunc);
        assert_eq!(scan_synthetic(&bytes, at), None);
        // Every corruption of the record is handled; a survivor still names the base.
        let (good, at) = with_moduledata(&s, gap, nfunc + 1);
        for i in at..good.len() {
            for v in [0x00, 0x01, 0xff] {
                let mut bad = good.clone();
                bad[i] = v;
                if let Some(md) = scan_synthetic(&bad, at)
                    && !(at + 40 * 8..at + 41 * 8).contains(&i)
                {
                    assert_eq!(md.gofunc, s.gofunc, "byte {i}");
                }
            }
        }
    }

    #[test]
    fn every_truncation_and_corruption_of_a_synthetic_tree_is_handled() {
        for version in [
            Version::V1_2,
            Version::V1_16,
            Version::V1_18,
            Version::V1_20,
        ] {
            let s = synthetic(version, 8, false, FUNCS);
            for cut in (0..s.bytes.len()).step_by(3) {
                let t = Synthetic {
                    bytes: s.bytes[..cut].to_vec(),
                    gofunc: s.gofunc,
                };
                if Pclntab::parse(&t.bytes).is_some() {
                    let _ = read_synthetic(&t, version);
                }
            }
            for i in 0..s.bytes.len() {
                for v in [0x00, 0x80, 0xff] {
                    let mut t = Synthetic {
                        bytes: s.bytes.clone(),
                        gofunc: s.gofunc,
                    };
                    t.bytes[i] = v;
                    if let Some(table) = Pclntab::parse(&t.bytes)
                        && table.version == version
                    {
                        let _ = read_synthetic(&t, version);
                    }
                }
            }
        }
    }

    #[test]
    fn pc_value_tables_decode_like_go() {
        // Values -1 → 0 (+1) → 2 (+2) → 1 (-1), then the terminating zero.
        assert_eq!(max_pc_value(&[2, 4, 4, 8, 1, 2, 0]), Some(2));
        // A zero value delta ends the table only once the pc has moved.
        assert_eq!(max_pc_value(&[0, 0, 2, 1, 0]), Some(0));
        assert_eq!(max_pc_value(&[0, 0]), None);
        // Multi-byte varints: +64 is zig-zag 128 = 0x80 0x01.
        assert_eq!(max_pc_value(&[0x80, 0x01, 1, 0]), Some(63));
        // Runs off the end: unreadable.
        assert_eq!(max_pc_value(&[2]), None);
        assert_eq!(max_pc_value(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), None);
        assert_eq!(max_pc_value(&[]), None);
    }
}
