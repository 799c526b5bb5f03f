//! `goready inspect`: facts about ELF, Mach-O (thin and universal) and PE binaries, read
//! from the bytes. Every offset in the file is untrusted: readers return `Option`/`Result`
//! and never index past what they checked.
//!
//! [`inspect_bytes`] is the one front door over the formats; `elf`, `macho` and `pe` only
//! produce a `layout::Layout`; `buildinfo` and `pclntab` decode Go's own tables; `rules`
//! judges the facts; [`run`] is the front door of `goready inspect FILE...` (many files, in
//! parallel, judged).

mod batch;
pub mod buildinfo;
pub mod dynamic;
mod elf;
pub mod facts;
pub mod functions;
mod layout;
pub mod linked;
mod macho;
pub mod memory;
pub mod moduledata;
pub mod pclntab;
mod pe;
pub mod rules;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use memchr::memmem;
use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};
use object::{FileKind, Object, ObjectSection, ObjectSymbol};

pub use batch::{InspectRun, MAX_JOBS, RunOptions, Unreadable, run};
pub use facts::{BinaryFacts, Format, Linkage, Relro};
use facts::{PclntabFacts, VersionEvidence};
use layout::{Layout, Symbols};
use memory::Memory;
use pclntab::Pclntab;

/// The version variables looked up when no `--var` is given.
pub const DEFAULT_VERSION_VARS: &[&str] = &[
    "main.Version",
    "main.version",
    "main.commit",
    "main.buildTime",
];

/// How far `--expect-version` looks: at most this many raw matches are checked for a Go
/// string header pointing at them.
const MAX_VERSION_CANDIDATES: usize = 64;

/// What to look for beyond the fixed facts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Extra string variables to resolve (`--var NAME`), besides [`DEFAULT_VERSION_VARS`].
    pub vars: Vec<String>,
    /// A version that must be embedded (`--expect-version`).
    pub expect_version: Option<String>,
}

/// Why a file could not be inspected (the file was readable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectError {
    /// Not an ELF, Mach-O or PE executable at all.
    NotObject(String),
    /// Claims to be one, but its headers are truncated or inconsistent.
    Malformed(String),
}

impl fmt::Display for InspectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InspectError::NotObject(why) => write!(f, "not an executable: {why}"),
            InspectError::Malformed(why) => write!(f, "malformed binary: {why}"),
        }
    }
}

impl std::error::Error for InspectError {}

/// Maps a file and inspects it. The outer error is I/O (missing, a directory, no
/// permission): the caller reports those as unreadable input.
pub fn inspect_path(
    path: &Path,
    opts: &Options,
) -> std::io::Result<Result<BinaryFacts, InspectError>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::other("is a directory"));
    }
    let shown = path.display().to_string();
    if meta.len() == 0 {
        return Ok(inspect_bytes(&shown, &[], opts));
    }
    // SAFETY: the map is read-only and private; goready never writes through it. A file that
    // another process truncates while we read it can raise SIGBUS, as with any reader that
    // maps files (ripgrep, go's own tools do the same); CI artifacts are not modified under us.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(inspect_bytes(&shown, &map, opts))
}

/// Inspects one file's bytes. `path` is only echoed into the facts.
pub fn inspect_bytes(path: &str, data: &[u8], opts: &Options) -> Result<BinaryFacts, InspectError> {
    let kind = FileKind::parse(data).map_err(|_| InspectError::NotObject(describe(data)))?;
    match kind {
        FileKind::MachOFat32 => {
            let fat = MachOFatFile32::parse(data).map_err(malformed)?;
            universal(path, data, fat.arches(), opts)
        }
        FileKind::MachOFat64 => {
            let fat = MachOFatFile64::parse(data).map_err(malformed)?;
            universal(path, data, fat.arches(), opts)
        }
        FileKind::Elf32
        | FileKind::Elf64
        | FileKind::MachO32
        | FileKind::MachO64
        | FileKind::Pe32
        | FileKind::Pe64 => thin(path, data, opts),
        other => Err(InspectError::NotObject(format!(
            "{other:?} files are not executables goready inspects"
        ))),
    }
}

/// What [`build_info_bytes`] reads: the build info alone, without the inspector's other facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfoOnly {
    /// The decoded build info; `None` when absent or corrupt.
    pub buildinfo: Option<facts::BuildInfo>,
    /// Why a build info blob that is there could not be decoded.
    pub buildinfo_error: Option<String>,
    /// Whether the file is a Go binary (build info or a function table): looked for only
    /// when there is no build info, since a build info is itself the answer.
    pub is_go: bool,
    /// The operating system the file's format says (`linux`, `darwin`, `windows`), for a
    /// build info without a GOOS setting (before Go 1.18).
    pub goos: &'static str,
    /// Go's name for the file's machine (`amd64`, `arm64`), when Go has one.
    pub goarch: Option<&'static str>,
}

/// The build info of one file's bytes (a universal file's: its first architecture's), as
/// [`inspect_bytes`] reads it, without locating the function table, walking the symbol table
/// or the other facts: what the vulnerability scan needs before it knows which names matter.
pub fn build_info_bytes(data: &[u8]) -> Result<BuildInfoOnly, InspectError> {
    let kind = FileKind::parse(data).map_err(|_| InspectError::NotObject(describe(data)))?;
    let arches: Vec<Result<&[u8], object::Error>> = match kind {
        FileKind::MachOFat32 => {
            let fat = MachOFatFile32::parse(data).map_err(malformed)?;
            fat.arches().iter().map(|a| a.data(data)).collect()
        }
        FileKind::MachOFat64 => {
            let fat = MachOFatFile64::parse(data).map_err(malformed)?;
            fat.arches().iter().map(|a| a.data(data)).collect()
        }
        FileKind::Elf32
        | FileKind::Elf64
        | FileKind::MachO32
        | FileKind::MachO64
        | FileKind::Pe32
        | FileKind::Pe64 => vec![Ok(data)],
        other => {
            return Err(InspectError::NotObject(format!(
                "{other:?} files are not executables goready inspects"
            )));
        }
    };
    // Every slice is parsed, as the inspector does: one it cannot read fails the file alike.
    let mut first = None;
    for bytes in arches {
        let bytes = bytes.map_err(malformed)?;
        let file = object::File::parse(bytes).map_err(malformed)?;
        let layout = layout_of(&file, bytes)
            .ok_or_else(|| InspectError::NotObject("unsupported object file kind".into()))?;
        let goarch = go_arch(file.architecture(), !file.is_little_endian());
        first.get_or_insert((layout, bytes, goarch));
    }
    let Some((layout, thin_data, goarch)) = first else {
        return Err(InspectError::Malformed(
            "universal file with no architectures".into(),
        ));
    };
    let (buildinfo, buildinfo_error) = read_buildinfo(&layout);
    let is_go = buildinfo.is_some() || locate_pclntab(&layout, thin_data).is_some();
    Ok(BuildInfoOnly {
        buildinfo: buildinfo.map(|(info, _)| info),
        buildinfo_error,
        is_go,
        goos: layout.goos,
        goarch,
    })
}

/// Whether [`build_info_bytes`]'s answer agrees with [`inspect_bytes`]'s on the same bytes: the
/// same build info, decoding error and is-Go answer (of a universal file's first slice), or the
/// same error. The vulnerability scan trusts the fast reader for what the inspector reads; the
/// hostile-input tests and the `inspect` fuzz target hold it to that.
pub fn build_info_agrees(
    full: &Result<BinaryFacts, InspectError>,
    alone: &Result<BuildInfoOnly, InspectError>,
) -> Result<(), String> {
    match (full, alone) {
        (Ok(facts), Ok(alone)) => {
            let first = facts.slices.first().unwrap_or(facts);
            if first.buildinfo != alone.buildinfo
                || first.buildinfo_error != alone.buildinfo_error
                || first.is_go() != alone.is_go
            {
                return Err(format!(
                    "inspect_bytes read {:?} / {:?} / is Go {}, build_info_bytes {:?} / {:?} / \
                     is Go {}",
                    first.buildinfo,
                    first.buildinfo_error,
                    first.is_go(),
                    alone.buildinfo,
                    alone.buildinfo_error,
                    alone.is_go
                ));
            }
            Ok(())
        }
        (Err(a), Err(b)) if a == b => Ok(()),
        (a, b) => Err(format!(
            "inspect_bytes {:?} but build_info_bytes {:?}",
            a.as_ref().err(),
            b.as_ref().err()
        )),
    }
}

/// The build info where the layout says it is, with its span in memory; or why not.
type ReadBuildInfo = (Option<(facts::BuildInfo, (u64, u64))>, Option<String>);

fn read_buildinfo(layout: &Layout<'_>) -> ReadBuildInfo {
    match layout.buildinfo_range {
        Some((addr, size)) => match buildinfo::read(&layout.memory, addr, size) {
            Ok(read) => (Some(read), None),
            Err(buildinfo::Missing::NoBlob) => (None, None),
            Err(buildinfo::Missing::Corrupt(why)) => (None, Some(why)),
        },
        None => (None, None),
    }
}

fn malformed(e: object::Error) -> InspectError {
    InspectError::Malformed(e.to_string())
}

/// A short description of a file that is not an object file, for the error message.
fn describe(data: &[u8]) -> String {
    if data.is_empty() {
        "the file is empty".into()
    } else if data.starts_with(b"#!") {
        "a script (starts with #!)".into()
    } else if data.len() < 16 {
        format!(
            "only {} bytes, too short for any executable header",
            data.len()
        )
    } else if data.starts_with(b"\x7fELF") || data.starts_with(b"MZ") {
        "the header is truncated or inconsistent".into()
    } else {
        "no ELF, Mach-O or PE magic number".into()
    }
}

fn universal<A: FatArch>(
    path: &str,
    data: &[u8],
    arches: &[A],
    opts: &Options,
) -> Result<BinaryFacts, InspectError> {
    if arches.is_empty() {
        return Err(InspectError::Malformed(
            "universal file with no architectures".into(),
        ));
    }
    let mut slices = Vec::with_capacity(arches.len());
    for arch in arches {
        let bytes = arch.data(data).map_err(malformed)?;
        let mut facts = thin(path, bytes, opts)?;
        facts.size = bytes.len() as u64;
        slices.push(facts);
    }
    let first = &slices[0];
    let any = |f: fn(&BinaryFacts) -> bool| slices.iter().any(f);
    let all = |f: fn(&BinaryFacts) -> bool| slices.iter().all(f);
    let mut needed: Vec<String> = slices.iter().flat_map(|s| s.needed.clone()).collect();
    needed.sort();
    needed.dedup();
    Ok(BinaryFacts {
        path: path.to_string(),
        format: Format::Macho,
        arch: slices
            .iter()
            .map(|s| s.arch.as_str())
            .collect::<Vec<_>>()
            .join("+"),
        goos: first.goos.clone(),
        size: data.len() as u64,
        linkage: if any(|s| s.linkage == Linkage::Dynamic) {
            Linkage::Dynamic
        } else {
            Linkage::Static
        },
        interpreter: None,
        needed,
        libc: first.libc.clone(),
        symbols_stripped: all(|s| s.symbols_stripped),
        dwarf: any(|s| s.dwarf),
        pclntab: first.pclntab.clone(),
        buildinfo: first.buildinfo.clone(),
        buildinfo_error: first.buildinfo_error.clone(),
        pie: Some(all(|s| s.pie == Some(true))),
        relro: None,
        nx: Some(all(|s| s.nx == Some(true))),
        cgo: first.cgo,
        pprof_linked: any(|s| s.pprof_linked),
        version_vars: first.version_vars.clone(),
        expected_version: first.expected_version.clone(),
        slices,
    })
}

/// The format reader's layout of a thin object file; `None` for kinds goready does not read.
fn layout_of<'a>(file: &object::File<'a>, data: &'a [u8]) -> Option<Layout<'a>> {
    Some(match file {
        object::File::Elf32(f) => elf::layout(f, data),
        object::File::Elf64(f) => elf::layout(f, data),
        object::File::MachO32(f) => macho::layout(f, data),
        object::File::MachO64(f) => macho::layout(f, data),
        object::File::Pe32(f) => pe::layout(f, data),
        object::File::Pe64(f) => pe::layout(f, data),
        _ => return None,
    })
}

/// The pclntab and the file offset of its magic: the format's section, else a scan of the
/// region that holds it (PE `.rdata`), else of the whole file.
fn locate_pclntab<'a>(layout: &Layout<'a>, data: &'a [u8]) -> Option<(usize, Pclntab<'a>)> {
    let offset_of = |sub: &[u8]| {
        let at = (sub.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
        (at <= data.len()).then_some(at)
    };
    if let Some(section) = layout.pclntab_section
        && let Some(table) = Pclntab::parse(section)
    {
        return Some((offset_of(section)?, table));
    }
    if let Some(region) = layout.pclntab_region
        && let Some((at, table)) = Pclntab::scan(region)
    {
        return Some((offset_of(region)?.checked_add(at)?, table));
    }
    Pclntab::scan(data)
}

/// The symbol table's defined-symbol count and the addresses of the `wanted` data symbols.
fn symbols_of(file: &object::File<'_>, data: &[u8], wanted: &BTreeSet<&str>) -> Symbols {
    match file {
        object::File::Elf32(f) => elf::symbols(f, data, wanted),
        object::File::Elf64(f) => elf::symbols(f, data, wanted),
        object::File::MachO32(f) => macho::symbols(f, data, wanted),
        object::File::MachO64(f) => macho::symbols(f, data, wanted),
        _ => read_symbols(file, wanted),
    }
}

fn thin(path: &str, data: &[u8], opts: &Options) -> Result<BinaryFacts, InspectError> {
    let file = object::File::parse(data).map_err(malformed)?;
    let layout = layout_of(&file, data)
        .ok_or_else(|| InspectError::NotObject("unsupported object file kind".into()))?;
    let big_endian = file.endianness() == object::Endianness::Big;
    let ptr_size: u8 = if file.is_64() { 8 } else { 4 };
    let arch = go_arch(file.architecture(), big_endian)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:?}", file.architecture()).to_lowercase());

    let pclntab = locate_pclntab(&layout, data).map(|(_, t)| t);
    let pprof_linked = pclntab
        .as_ref()
        .is_some_and(|t| t.has_function_with_prefix(b"net/http/pprof."));

    let (read, buildinfo_error) = read_buildinfo(&layout);
    let (buildinfo, buildinfo_span) = match read {
        Some((info, span)) => (Some(info), Some(span)),
        None => (None, None),
    };

    let wanted: BTreeSet<&str> = DEFAULT_VERSION_VARS
        .iter()
        .copied()
        .chain(opts.vars.iter().map(String::as_str))
        .collect();
    let symbols = symbols_of(&file, data, &wanted);
    let version_vars: BTreeMap<String, String> = symbols
        .vars
        .iter()
        .filter_map(|(name, &addr)| {
            read_go_string(&layout.memory, addr, ptr_size, big_endian).map(|v| (name.clone(), v))
        })
        .collect();

    let dwarf = file.sections().any(|s| {
        s.name().is_ok_and(|n| {
            matches!(
                n,
                ".debug_info" | ".zdebug_info" | "__debug_info" | "__zdebug_info"
            )
        })
    });

    let settings = buildinfo.as_ref().map(|b| &b.settings);
    let goos = settings
        .and_then(|s| s.get("GOOS").cloned())
        .unwrap_or_else(|| layout.goos.to_string());
    let libc = layout::libc_of(layout.interpreter.as_deref(), &layout.needed).map(str::to_string);
    let is_go = buildinfo.is_some() || pclntab.is_some();
    let cgo = match settings
        .and_then(|s| s.get("CGO_ENABLED"))
        .map(String::as_str)
    {
        Some("1") => Some(true),
        Some("0") => Some(false),
        // Without the setting, a Go binary that loads libc went through cgo (os/user, net).
        _ if is_go => Some(layout.needed.iter().any(|n| {
            let l = n.to_ascii_lowercase();
            l.starts_with("libc.") || l.contains("libsystem") || l == "msvcrt.dll"
        })),
        _ => None,
    };

    let expected_version = opts.expect_version.as_ref().map(|expected| {
        find_version(
            expected,
            &version_vars,
            symbols.defined == 0,
            data,
            &layout,
            buildinfo_span,
            ptr_size,
            big_endian,
        )
    });

    Ok(BinaryFacts {
        path: path.to_string(),
        format: layout.format,
        arch,
        goos: Some(goos),
        size: data.len() as u64,
        linkage: layout.linkage,
        interpreter: layout.interpreter.clone(),
        needed: layout.needed.clone(),
        libc,
        symbols_stripped: symbols.defined == 0,
        dwarf,
        pclntab: PclntabFacts {
            present: pclntab.is_some(),
            version: pclntab.as_ref().map(|t| t.version.as_str().to_string()),
            functions: pclntab.as_ref().map(|t| t.len() as u64),
        },
        buildinfo,
        buildinfo_error,
        pie: layout.pie,
        relro: layout.relro,
        nx: layout.nx,
        cgo,
        pprof_linked,
        version_vars,
        expected_version,
        slices: Vec::new(),
    })
}

/// Go's GOARCH for an object architecture.
fn go_arch(arch: object::Architecture, big_endian: bool) -> Option<&'static str> {
    use object::Architecture as A;
    Some(match (arch, big_endian) {
        (A::X86_64, _) => "amd64",
        (A::X86_64_X32, _) => "amd64p32",
        (A::I386, _) => "386",
        (A::Aarch64, _) => "arm64",
        (A::Arm, _) => "arm",
        (A::Riscv64, _) => "riscv64",
        (A::PowerPc64, false) => "ppc64le",
        (A::PowerPc64, true) => "ppc64",
        (A::PowerPc, _) => "ppc",
        (A::S390x, _) => "s390x",
        (A::LoongArch64, _) => "loong64",
        (A::Mips, false) => "mipsle",
        (A::Mips, true) => "mips",
        (A::Mips64, false) => "mips64le",
        (A::Mips64, true) => "mips64",
        (A::Sparc64, _) => "sparc64",
        (A::Wasm32, _) => "wasm",
        _ => return None,
    })
}

/// The generic symbol walk, for PE (ELF and Mach-O have faster ones in `elf.rs`, `macho.rs`).
fn read_symbols(file: &object::File<'_>, wanted: &BTreeSet<&str>) -> Symbols {
    let mut defined = 0;
    let mut vars = BTreeMap::new();
    for sym in file.symbols() {
        if !sym.is_definition() {
            continue;
        }
        defined += 1;
        let Ok(name) = sym.name() else { continue };
        if wanted.contains(name) {
            vars.insert(name.to_string(), sym.address());
        }
    }
    Symbols { defined, vars }
}

/// Reads a Go `string` variable: a {data pointer, length} header at `addr`.
fn read_go_string(mem: &Memory<'_>, addr: u64, ptr_size: u8, big: bool) -> Option<String> {
    let ptr = mem.read_ptr(addr, ptr_size, big)?;
    let len = mem.read_ptr(addr.checked_add(u64::from(ptr_size))?, ptr_size, big)?;
    if len == 0 {
        return Some(String::new());
    }
    if len > 4096 {
        return None;
    }
    mem.read(ptr, len)
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// Decides whether `expected` is embedded: by the symbol table when it resolves a version
/// variable; otherwise (stripped) by finding the bytes in the data, preferably with a Go
/// string header `{ptr, len}` that points at them.
#[allow(clippy::too_many_arguments)]
fn find_version(
    expected: &str,
    vars: &BTreeMap<String, String>,
    stripped: bool,
    data: &[u8],
    layout: &Layout<'_>,
    buildinfo_span: Option<(u64, u64)>,
    ptr_size: u8,
    big_endian: bool,
) -> VersionEvidence {
    let evidence = |found: bool, evidence: String| VersionEvidence {
        expected: expected.to_string(),
        found,
        evidence,
    };
    if let Some((name, _)) = vars.iter().find(|(_, v)| v.as_str() == expected) {
        return evidence(true, format!("symbol {name}"));
    }
    if !stripped && !vars.is_empty() {
        let held: Vec<String> = vars.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
        return evidence(false, format!("the symbol table says {}", held.join(", ")));
    }
    if expected.is_empty() {
        return evidence(false, "an empty version cannot be searched for".into());
    }
    // The build info's -ldflags setting quotes the -X flag itself; a match there proves
    // nothing about the variable, so it is excluded.
    let excluded = buildinfo_span.and_then(|(start, end)| {
        let s = layout.memory.file_offset(start)?;
        Some(s..s + (end - start))
    });
    let mut first_raw = None;
    for offset in memmem::find_iter(data, expected.as_bytes())
        .filter(|&o| !excluded.as_ref().is_some_and(|r| r.contains(&(o as u64))))
        .take(MAX_VERSION_CANDIDATES)
    {
        first_raw.get_or_insert(offset);
        let Some(addr) = layout.memory.addr_of(offset as u64) else {
            continue;
        };
        let header = go_string_header(addr, expected.len() as u64, ptr_size, big_endian);
        if let Some(at) = memmem::find(data, &header) {
            return evidence(
                true,
                format!(
                    "data: a Go string header at file offset {at:#x} points at the bytes at {offset:#x}"
                ),
            );
        }
    }
    match first_raw {
        Some(offset) => evidence(
            true,
            format!(
                "data: the bytes appear at file offset {offset:#x} (no symbol table or string \
                 header confirms which variable holds them)"
            ),
        ),
        None => evidence(
            false,
            if stripped {
                "not in the symbol table (stripped) nor anywhere in the data".into()
            } else {
                "no version variable in the symbol table and the bytes are not in the data".into()
            },
        ),
    }
}

fn go_string_header(addr: u64, len: u64, ptr_size: u8, big: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for v in [addr, len] {
        match (ptr_size, big) {
            (4, false) => out.extend_from_slice(&(v as u32).to_le_bytes()),
            (4, true) => out.extend_from_slice(&(v as u32).to_be_bytes()),
            (_, false) => out.extend_from_slice(&v.to_le_bytes()),
            (_, true) => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
    out
}
