//! Which advisories a binary carries, and how surely: the matching of govulncheck v1.9.0's
//! binary mode (golang.org/x/vuln `internal/vulncheck/binary.go`, `vulncheck.go`,
//! `utils.go`), restated over our own types, plus what it leaves out.
//!
//! As govulncheck does:
//! - the modules are the build info's dependencies (a replaced one at its replacement's
//!   version; its entries looked up under the replacement's path), `stdlib` at the Go version
//!   as semver, and the main module;
//! - an entry applies to a module through its `affected` blocks that name that module and
//!   whose `SEMVER` ranges hold the version (no SEMVER range at all: every version); withdrawn
//!   entries are skipped; a block's `imports` are filtered by the binary's GOOS/GOARCH and a
//!   block whose imports are all filtered out is dropped;
//! - package level: a function of a vulnerable package is in the binary (the package's module
//!   is the longest module path that prefixes it, std packages belong to `stdlib`); symbol
//!   level: a vulnerable function is (an import without symbols: any function of it; a block
//!   without imports: any function of the module's packages); unexported symbols are dropped
//!   when the same advisory matched exported ones in the package;
//! - "fixed in" is the earliest fix above the version that no range of the module puts back.
//!
//! Beyond it (each says so in the match's notes): a binary whose function table cannot be read
//! stays at module level (evidence `stripped_fallback`) instead of claiming every symbol; a
//! fork (a replace that changes the path) is checked at module level (evidence `fork`) against
//! its upstream's entries at the fork's version and against the fork's own entries; a main
//! module at a pseudo-version or a `+dirty` tag is flagged as low confidence; what has no
//! version (a directory replacement, a `(devel)` main module) is named in the binary's notes
//! ([`uncompared`]); `toolchain` entries are matched against the Go that built the binary;
//! binaries older than Go 1.18 are scanned as far as their tables allow.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::data::{Evidence, Level};
use super::osv::{Affected, Entry, Import, Range};
use super::semver;
use super::symbols::PackageSymbols;

/// The module path govulncheck and the database use for the standard library.
pub const STDLIB: &str = "stdlib";
/// The module path the database uses for the go command and the toolchain.
pub const TOOLCHAIN: &str = "toolchain";

/// A module as the binary's build info records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Its path.
    pub path: String,
    /// Its version (`(devel)` or empty when unknown).
    pub version: String,
    /// The replacement (`=>`): path and version.
    pub replace: Option<(String, String)>,
}

impl Module {
    /// The path the code came from: the replacement's, where replaced.
    pub fn code_path(&self) -> &str {
        self.replace.as_ref().map_or(&self.path, |(p, _)| p)
    }

    /// The version the code is at: the replacement's, where replaced.
    pub fn code_version(&self) -> &str {
        self.replace.as_ref().map_or(&self.version, |(_, v)| v)
    }

    /// A replace that points at another module path (a fork, or a local directory).
    pub fn is_fork(&self) -> bool {
        self.replace.as_ref().is_some_and(|(p, _)| *p != self.path)
    }

    /// A replace by a local directory (`=> ./text (devel)`): it has no version. The go
    /// command's rule: a replacement path that starts `./`, `../` or is absolute.
    pub fn is_directory_replace(&self) -> bool {
        self.replace.as_ref().is_some_and(|(p, _)| {
            p.starts_with("./")
                || p.starts_with("../")
                || p.starts_with('/')
                || p.starts_with(".\\")
                || p.starts_with("..\\")
                || p.as_bytes().get(1) == Some(&b':')
        })
    }

    /// A fork whose version can be set against its upstream's ranges: a tagged version, or a
    /// pseudo-version built on a tag. A `v0.0.0-…` pseudo-version has no tag behind it, and
    /// every range that starts at 0 would hold it.
    fn fork_comparable(&self) -> bool {
        let v = self.code_version();
        self.is_fork()
            && !v.is_empty()
            && v != "(devel)"
            && (!semver::is_pseudo(v) || semver::is_base_pseudo(v))
    }
}

/// What matching needs to know of one binary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binary {
    /// The Go that built it (`go1.26.0`).
    pub go_version: String,
    /// The main package's import path (build info `path`), which `main.` functions belong to.
    pub main_path: String,
    /// The main module.
    pub main: Option<Module>,
    /// The dependencies.
    pub deps: Vec<Module>,
    /// `GOOS` of the build (empty: unknown, every platform filter passes).
    pub goos: String,
    /// `GOARCH` of the build.
    pub goarch: String,
    /// Its functions per package; `None` when the function table could not be read.
    pub symbols: Option<PackageSymbols>,
}

impl Binary {
    /// Every module path whose entries matching needs (replacements' paths, `stdlib`,
    /// `toolchain`), for the database to read only those.
    pub fn wanted_modules(&self) -> Vec<String> {
        let mut out: BTreeSet<String> = self
            .deps
            .iter()
            .chain(self.main.iter())
            // A replaced module's own path too: a fork is also checked against its
            // upstream's advisories, and a directory replacement says which it cannot be.
            .flat_map(|m| [m.path.clone(), m.code_path().to_string()])
            .collect();
        out.insert(STDLIB.into());
        out.insert(TOOLCHAIN.into());
        out.into_iter().collect()
    }

    /// The modules govulncheck scans: the dependencies, `stdlib`, the main module.
    fn modules(&self) -> Vec<Module> {
        let mut mods = self.deps.clone();
        mods.push(Module {
            path: STDLIB.into(),
            version: semver::go_tag_to_semver(&self.go_version).unwrap_or_default(),
            replace: None,
        });
        if let Some(main) = self.main.as_ref().filter(|m| !m.path.is_empty()) {
            mods.push(main.clone());
        }
        mods
    }
}

/// One advisory found in one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// `GO-YYYY-NNNN`.
    pub id: String,
    /// CVE / GHSA ids.
    pub aliases: Vec<String>,
    /// The advisory's summary.
    pub summary: String,
    /// The affected module as the binary has it (the replacement's path where replaced;
    /// `stdlib`, `toolchain`).
    pub module: String,
    /// Its version in the binary (semver; the Go version for `stdlib` and `toolchain`).
    pub version: String,
    /// Earliest fix that is not itself vulnerable (`v`-prefixed semver).
    pub fixed: Option<String>,
    /// How much is known to be in the binary.
    pub level: Level,
    /// Vulnerable functions found, fully qualified (`golang.org/x/text/language.Parse`,
    /// `net/http.Client.Do`), sorted; empty below symbol level.
    pub symbols: Vec<String>,
    /// What the level rests on.
    pub evidence: Evidence,
    /// Caveats: fork, low confidence, toolchain, old binary.
    pub notes: Vec<String>,
    /// A `toolchain` advisory: the Go that built the binary, not its code.
    pub toolchain: bool,
}

/// An entry with only the blocks that apply to one module.
struct Affecting<'e> {
    entry: &'e Entry,
    blocks: Vec<Affected>,
}

/// An advisory a fork is checked against at module level.
struct ForkVuln<'e> {
    vuln: Affecting<'e>,
    /// The upstream's (the replaced path's) advisory, not the fork's own.
    upstream: bool,
}

/// A module and the entries that apply to it.
struct ModVulns<'e> {
    module: Module,
    vulns: Vec<Affecting<'e>>,
}

/// Whether `version` is in the SEMVER ranges (govulncheck's `semver.Affects`).
pub fn affects(ranges: &[Range], version: &str) -> bool {
    if ranges.is_empty() {
        return true;
    }
    let mut semver_seen = false;
    for r in ranges.iter().filter(|r| r.kind == "SEMVER") {
        semver_seen = true;
        if contains(r, version) {
            return true;
        }
    }
    !semver_seen
}

/// Whether one SEMVER range holds `version` (govulncheck's `ContainsSemver`): events sorted
/// by version, `introduced: 0` first, then walked.
pub fn contains(range: &Range, version: &str) -> bool {
    if range.kind != "SEMVER" {
        return false;
    }
    if range.events.is_empty() {
        return true;
    }
    let key = |e: &super::osv::RangeEvent| -> (bool, String) {
        match (&e.introduced, &e.fixed) {
            (Some(i), _) if i == "0" => (true, String::new()),
            (_, Some(f)) if !f.is_empty() => (false, f.clone()),
            (Some(i), _) => (false, i.clone()),
            _ => (false, String::new()),
        }
    };
    let mut events: Vec<_> = range.events.iter().collect();
    // Stable: equal versions keep their order, as Go's sort.SliceStable does.
    events.sort_by(|a, b| {
        let (a0, av) = key(a);
        let (b0, bv) = key(b);
        match (a0, b0) {
            (true, _) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => semver::compare(&av, &bv),
        }
    });
    let mut affected = false;
    for e in events {
        let introduced = e.introduced.as_deref().unwrap_or("");
        let fixed = e.fixed.as_deref().unwrap_or("");
        if !affected && !introduced.is_empty() {
            affected = introduced == "0" || !semver::less(version, introduced);
        } else if affected && !fixed.is_empty() {
            affected = semver::less(version, fixed);
        }
    }
    affected
}

/// "Fixed in" (govulncheck's `FixedVersion`): of the module's blocks, the fixes above
/// `version`, lowest first, the first that no range contains; `v`-prefixed.
pub fn fixed_version(module: &str, version: &str, blocks: &[Affected]) -> Option<String> {
    let ours: Vec<&Affected> = blocks.iter().filter(|a| a.package.name == module).collect();
    let mut fixes: Vec<&str> = ours
        .iter()
        .flat_map(|a| a.ranges.iter().filter(|r| r.kind == "SEMVER"))
        .flat_map(|r| r.events.iter().filter_map(|e| e.fixed.as_deref()))
        .filter(|f| !f.is_empty() && semver::less(version, f))
        .collect();
    fixes.sort_by(|a, b| semver::compare(a, b));
    let fix = fixes.into_iter().find(|fix| {
        !ours
            .iter()
            .any(|a| a.ranges.iter().any(|r| contains(r, fix)))
    })?;
    Some(if fix.starts_with('v') {
        fix.to_string()
    } else {
        format!("v{fix}")
    })
}

fn platform_ok(value: &str, allowed: &[String]) -> bool {
    value.is_empty() || allowed.is_empty() || allowed.iter().any(|a| a == value)
}

/// Withdrawn at or before now (a timestamp that does not parse counts as withdrawn: the
/// entry says it is, only not when).
fn withdrawn(entry: &Entry, now_unix: i64) -> bool {
    match &entry.withdrawn {
        None => false,
        Some(at) => super::time::rfc3339_to_unix(at).is_none_or(|t| t < now_unix),
    }
}

/// The blocks of `entry` that apply to `module` at `version` on the platform.
fn applying_blocks(
    entry: &Entry,
    module: &str,
    version: &str,
    goos: &str,
    goarch: &str,
) -> Vec<Affected> {
    if version.is_empty() || version == "(devel)" {
        return Vec::new();
    }
    let mut out = Vec::new();
    for a in entry.affected.iter().filter(|a| a.package.name == module) {
        if !affects(&a.ranges, version) {
            continue;
        }
        let imports: &[Import] = a
            .ecosystem_specific
            .as_ref()
            .map_or(&[], |e| e.imports.as_slice());
        let kept: Vec<Import> = imports
            .iter()
            .filter(|p| platform_ok(goos, &p.goos) && platform_ok(goarch, &p.goarch))
            .cloned()
            .collect();
        if !imports.is_empty() && kept.is_empty() {
            continue;
        }
        let mut block = a.clone();
        block.ecosystem_specific = Some(super::osv::EcosystemSpecific { imports: kept });
        out.push(block);
    }
    out
}

fn imports_of(block: &Affected) -> &[Import] {
    block
        .ecosystem_specific
        .as_ref()
        .map_or(&[], |e| e.imports.as_slice())
}

/// govulncheck's `IsStdPackage`: no dot in the first path element.
fn is_std_package(pkg: &str) -> bool {
    if pkg.is_empty() {
        return false;
    }
    let first = pkg.split('/').next().unwrap_or(pkg);
    !first.contains('.')
}

/// A symbol as govulncheck's trace frame names it: the package, then the symbol's first two
/// dot-separated parts as receiver and function (`Type.Method`; a closure `f.func1` keeps
/// `f.func1`, a method's closure `T.M.func2` becomes `T.M`).
fn frame_name(pkg: &str, symbol: &str) -> String {
    let mut parts = symbol.split('.');
    match (parts.next(), parts.next()) {
        (Some(recv), Some(func)) => format!("{pkg}.{recv}.{func}"),
        _ => format!("{pkg}.{symbol}"),
    }
}

fn is_exported(symbol: &str) -> bool {
    let last = memchr::memrchr(b'.', symbol.as_bytes()).map_or(symbol, |i| &symbol[i + 1..]);
    match last.as_bytes().first() {
        Some(b) if b.is_ascii() => b.is_ascii_uppercase(),
        _ => last.chars().next().is_some_and(char::is_uppercase),
    }
}

/// What was found of one entry: the highest level and where.
struct Found {
    level: Level,
    module: String,
    version: String,
    fixed: Option<String>,
    /// Sorted, unique.
    symbols: Vec<String>,
    evidence: Evidence,
}

/// The entries by the module paths their `affected` blocks name.
fn by_module(entries: &[Entry]) -> HashMap<&str, Vec<&Entry>> {
    let mut by_module: HashMap<&str, Vec<&Entry>> = HashMap::new();
    for e in entries {
        let mut named: Vec<&str> = e.affected.iter().map(|a| a.package.name.as_str()).collect();
        named.sort_unstable();
        named.dedup();
        for m in named {
            by_module.entry(m).or_default().push(e);
        }
    }
    by_module
}

/// The module a package belongs to (govulncheck's `ForPackage` with an unknown module), as an
/// index into `modules` (the paths of the binary's modules that have entries, in order):
/// `stdlib` for a std package, else the longest module path that is a string prefix of it.
fn module_of<'m>(modules: impl IntoIterator<Item = &'m str>, pkg: &str) -> Option<usize> {
    let std = is_std_package(pkg);
    let mut best: Option<(usize, usize)> = None;
    for (i, path) in modules.into_iter().enumerate() {
        if std && path == STDLIB {
            return Some(i);
        }
        if pkg.starts_with(path) && best.is_none_or(|(_, len)| len < path.len()) {
            best = Some((i, path.len()));
        }
    }
    best.map(|(i, _)| i)
}

/// The path an advisory's `imports` name a package of `module` by: the replacement's path
/// where the module is replaced.
fn import_path<'p>(module: &Module, pkg: &'p str) -> std::borrow::Cow<'p, str> {
    match &module.replace {
        Some((rp, _)) => std::borrow::Cow::Owned(format!(
            "{rp}{}",
            pkg.get(module.path.len().min(pkg.len())..).unwrap_or("")
        )),
        None => std::borrow::Cow::Borrowed(pkg),
    }
}

/// govulncheck's `ForPackage`: a block without imports (the whole module), or an import of
/// this path.
fn package_hit(blocks: &[Affected], import_path: &str) -> bool {
    blocks.iter().any(|b| {
        let imps = imports_of(b);
        imps.is_empty() || imps.iter().any(|i| i.path == import_path)
    })
}

/// Which packages of a binary can change what [`match_binary`] finds against some entries:
/// those an advisory that applies at the binary's versions names (by import path, or all of
/// a module's through a block without imports), found as [`match_binary`] finds a package's
/// module. The scan splits and keeps only their function names; every other package's are
/// read past, which changes no match.
#[derive(Debug, Clone, Default)]
pub struct Relevant {
    /// The binary's modules that have entries, in matching's order, and the blocks that
    /// apply to each (none: no advisory applies to it).
    modules: Vec<(Module, Vec<Affected>)>,
}

impl Relevant {
    /// The packages of `bin` that matter against `entries` (see [`Relevant`]).
    pub fn of(bin: &Binary, entries: &[Entry], now_unix: i64) -> Relevant {
        let by_module = by_module(entries);
        let (affecting, _) = affecting(bin, &by_module, now_unix);
        let modules = affecting
            .into_iter()
            .map(|mv| {
                let blocks = mv.vulns.into_iter().flat_map(|v| v.blocks).collect();
                (mv.module, blocks)
            })
            .collect();
        Relevant { modules }
    }

    /// Whether functions of `pkg` (an import path, `%`-escapes undone) can matter.
    pub fn wants(&self, pkg: &str) -> bool {
        let Some(i) = module_of(self.modules.iter().map(|(m, _)| m.path.as_str()), pkg) else {
            return false;
        };
        let (module, blocks) = &self.modules[i];
        package_hit(blocks, &import_path(module, pkg))
    }

    /// Whether no package can matter (no advisory applies to any module of the binary).
    pub fn is_empty(&self) -> bool {
        self.modules.iter().all(|(_, blocks)| blocks.is_empty())
    }
}

/// A binary's modules that have entries, with the entries (blocks) that apply to each, and the
/// forks' own entries: govulncheck's `FetchVulnerabilities` (entries by the code's path) and
/// `affectingVulnerabilities` (blocks by the module's own path at the code's version).
#[allow(clippy::type_complexity)]
fn affecting<'e>(
    bin: &Binary,
    by_module: &HashMap<&str, Vec<&'e Entry>>,
    now_unix: i64,
) -> (Vec<ModVulns<'e>>, Vec<(Module, Vec<ForkVuln<'e>>)>) {
    let mods = bin.modules();
    // FetchVulnerabilities: entries by the code's path; affectingVulnerabilities: blocks by
    // the module's own path at the code's version.
    let mut affecting: Vec<ModVulns> = Vec::new();
    let mut forks: Vec<(Module, Vec<ForkVuln>)> = Vec::new();
    for m in &mods {
        let mut fork_vulns = Vec::new();
        // Beyond govulncheck: the upstream's advisories (entries naming the replaced path),
        // its ranges set against the fork's version.
        if m.fork_comparable()
            && let Some(list) = by_module.get(m.path.as_str())
        {
            for entry in list.iter().copied().filter(|e| !withdrawn(e, now_unix)) {
                let blocks =
                    applying_blocks(entry, &m.path, m.code_version(), &bin.goos, &bin.goarch);
                if !blocks.is_empty() {
                    fork_vulns.push(ForkVuln {
                        vuln: Affecting { entry, blocks },
                        upstream: true,
                    });
                }
            }
        }
        let Some(list) = by_module.get(m.code_path()) else {
            if !fork_vulns.is_empty() {
                forks.push((m.clone(), fork_vulns));
            }
            continue;
        };
        let mut vulns = Vec::new();
        for entry in list.iter().copied().filter(|e| !withdrawn(e, now_unix)) {
            let blocks = applying_blocks(entry, &m.path, m.code_version(), &bin.goos, &bin.goarch);
            if !blocks.is_empty() {
                vulns.push(Affecting { entry, blocks });
            } else if m.is_fork() {
                let blocks = applying_blocks(
                    entry,
                    m.code_path(),
                    m.code_version(),
                    &bin.goos,
                    &bin.goarch,
                );
                if !blocks.is_empty() {
                    fork_vulns.push(ForkVuln {
                        vuln: Affecting { entry, blocks },
                        upstream: false,
                    });
                }
            }
        }
        affecting.push(ModVulns {
            module: m.clone(),
            vulns,
        });
        if !fork_vulns.is_empty() {
            forks.push((m.clone(), fork_vulns));
        }
    }
    (affecting, forks)
}

/// What matching cannot compare in `bin`, where `entries` (all: `None`) hold advisories for
/// it: a module replaced by a local directory, and a main module at `(devel)`, have no
/// version to set against the ranges. govulncheck passes them over in silence; these notes
/// say so on the binary's checks.
pub fn uncompared(bin: &Binary, entries: Option<&[Entry]>, now_unix: i64) -> Vec<String> {
    let ids_for = |path: &str| -> Option<Vec<&str>> {
        match entries {
            None => Some(Vec::new()),
            Some(entries) => {
                let ids: Vec<&str> = entries
                    .iter()
                    .filter(|e| !withdrawn(e, now_unix))
                    .filter(|e| e.affected.iter().any(|a| a.package.name == path))
                    .map(|e| e.id.as_str())
                    .collect();
                (!ids.is_empty()).then_some(ids)
            }
        }
    };
    let listed = |ids: &[&str]| {
        if ids.is_empty() {
            String::new()
        } else {
            format!(" ({})", ids.join(", "))
        }
    };
    let mut notes = Vec::new();
    for m in bin.deps.iter().filter(|m| m.is_directory_replace()) {
        if let Some(ids) = ids_for(&m.path) {
            notes.push(format!(
                "{} is replaced by the directory {}, which has no version: its advisories{} are not checked",
                m.path,
                m.code_path(),
                listed(&ids)
            ));
        }
    }
    if let Some(main) = bin
        .main
        .as_ref()
        .filter(|m| !m.path.is_empty() && (m.version.is_empty() || m.version == "(devel)"))
        && let Some(ids) = ids_for(&main.path)
        && entries.is_some()
    {
        notes.push(format!(
            "the main module {} is at (devel), built without a VCS version: its advisories{} are not checked",
            main.path,
            listed(&ids)
        ));
    }
    notes
}

/// Matches one binary against the entries of the modules it holds (`entries` may hold more;
/// only those naming the binary's modules count). `now_unix` decides withdrawals.
pub fn match_binary(bin: &Binary, entries: &[Entry], now_unix: i64) -> Vec<Match> {
    let by_module = by_module(entries);
    let (affecting, forks) = affecting(bin, &by_module, now_unix);

    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let mut entry_of: HashMap<String, &Entry> = HashMap::new();
    let raise = |found: &mut BTreeMap<String, Found>, id: &str, f: Found| match found.get_mut(id) {
        Some(old) if f.level < old.level => *old = f,
        Some(old) if f.level == old.level && f.level == Level::Symbol => {
            old.symbols.extend(f.symbols);
            old.symbols.sort_unstable();
            old.symbols.dedup();
        }
        Some(_) => {}
        None => {
            found.insert(id.to_string(), f);
        }
    };

    let has_symbol_data = |blocks: &[Affected]| {
        blocks
            .iter()
            .any(|b| imports_of(b).iter().any(|i| !i.symbols.is_empty()))
    };

    // Module level.
    for mv in &affecting {
        for v in &mv.vulns {
            entry_of.insert(v.entry.id.clone(), v.entry);
            let no_imports = v.blocks.iter().all(|b| imports_of(b).is_empty());
            let evidence = if bin.symbols.is_none() {
                Evidence::StrippedFallback
            } else if no_imports {
                Evidence::AdvisoryWithoutSymbols
            } else {
                Evidence::SymbolsMatched
            };
            raise(
                &mut found,
                &v.entry.id,
                Found {
                    level: Level::Module,
                    module: mv.module.code_path().to_string(),
                    version: mv.module.code_version().to_string(),
                    fixed: fixed_version(
                        mv.module.code_path(),
                        mv.module.code_version(),
                        &v.blocks,
                    ),
                    symbols: Vec::new(),
                    evidence,
                },
            );
        }
    }

    if let Some(symbols) = &bin.symbols {
        // The module of a package (ForPackage with an unknown module): stdlib for std
        // packages, else the longest module path that is a string prefix of it.
        let module_of = |pkg: &str| -> Option<&ModVulns> {
            module_of(affecting.iter().map(|mv| mv.module.path.as_str()), pkg)
                .map(|i| &affecting[i])
        };
        // (id, pkg, module) → symbols found, for the exported-first filter.
        // Borrowed from the binary's symbols and the entries: an advisory without imports
        // hits every function of a module, thousands of names per binary.
        let mut sym_hits: BTreeMap<(&str, &str, &str), Vec<&str>> = BTreeMap::new();
        for (pkg, syms) in &symbols.by_package {
            let Some(mv) = module_of(pkg) else { continue };
            let import_path = import_path(&mv.module, pkg);
            for v in &mv.vulns {
                if !package_hit(&v.blocks, &import_path) {
                    continue;
                }
                let fixed =
                    fixed_version(mv.module.code_path(), mv.module.code_version(), &v.blocks);
                let evidence = if has_symbol_data(&v.blocks) {
                    Evidence::SymbolsMatched
                } else {
                    Evidence::AdvisoryWithoutSymbols
                };
                raise(
                    &mut found,
                    &v.entry.id,
                    Found {
                        level: Level::Package,
                        module: mv.module.code_path().to_string(),
                        version: mv.module.code_version().to_string(),
                        fixed: fixed.clone(),
                        symbols: Vec::new(),
                        evidence,
                    },
                );
                // ForSymbol.
                let hits = syms.iter().filter(|sym| {
                    v.blocks.iter().any(|b| {
                        let imps = imports_of(b);
                        imps.is_empty()
                            || imps.iter().any(|i| {
                                i.path == import_path
                                    && (i.symbols.is_empty() || i.symbols.contains(*sym))
                            })
                    })
                });
                let at = sym_hits
                    .entry((&v.entry.id, pkg, &mv.module.path))
                    .or_default();
                at.extend(hits.map(String::as_str));
                if at.is_empty() {
                    sym_hits.remove(&(v.entry.id.as_str(), pkg.as_str(), mv.module.path.as_str()));
                }
            }
        }
        for ((id, pkg, _), syms) in sym_hits {
            let any_exported = syms.iter().any(|s| is_exported(s));
            let mut kept: Vec<String> = syms
                .into_iter()
                .filter(|s| !any_exported || is_exported(s))
                .map(|s| frame_name(pkg, s))
                .collect();
            kept.sort_unstable();
            kept.dedup();
            let Some(pkg_level) = found.get(id) else {
                continue;
            };
            let f = Found {
                level: Level::Symbol,
                module: pkg_level.module.clone(),
                version: pkg_level.version.clone(),
                fixed: pkg_level.fixed.clone(),
                symbols: kept,
                evidence: pkg_level.evidence,
            };
            raise(&mut found, id, f);
        }
    }

    let mut out: Vec<Match> = found
        .into_iter()
        .map(|(id, f)| {
            let entry = entry_of[&id];
            let mut notes = Vec::new();
            if let Some(main) = bin.main.as_ref().filter(|m| m.path == f.module)
                && !semver::is_pseudo(&main.version)
                && main.version.ends_with("+dirty")
            {
                notes.push(format!(
                    "low confidence: the main module's version {} is a tag built with uncommitted changes, which may already hold a fix",
                    main.version
                ));
            } else if let Some(main) = bin.main.as_ref().filter(|m| m.path == f.module)
                && semver::is_pseudo(&main.version)
            {
                notes.push(if semver::is_base_pseudo(&main.version) {
                    format!(
                        "low confidence: the main module's version {} is a pseudo-version the go command derived from the last tag before the commit, so a fix made after that tag may already be in it",
                        main.version
                    )
                } else {
                    format!(
                        "low confidence: the main module's version {} is a pseudo-version (an untagged commit), compared by its date",
                        main.version
                    )
                });
            }
            Match {
                aliases: entry.aliases.clone(),
                summary: entry.summary.clone(),
                id,
                module: f.module,
                version: f.version,
                fixed: f.fixed,
                level: f.level,
                symbols: f.symbols,
                evidence: f.evidence,
                notes,
                toolchain: false,
            }
        })
        .collect();

    // Forks: module level, against the fork's own entries and its upstream's, never claimed
    // further (govulncheck looks the entries up by the fork's path and keeps only blocks of
    // the replaced path: it checks neither).
    for (m, vulns) in forks {
        for ForkVuln { vuln: v, upstream } in vulns {
            if out.iter().any(|x| x.id == v.entry.id) {
                continue;
            }
            let (module, note) = if upstream {
                (
                    m.path.clone(),
                    format!(
                        "fork: {} is replaced by {} {}; the advisory's ranges for {} are set against the fork's version, at module level only: the fork may carry a fix, or number its versions otherwise",
                        m.path,
                        m.code_path(),
                        m.code_version(),
                        m.path
                    ),
                )
            } else {
                (
                    m.code_path().to_string(),
                    format!(
                        "fork: {} is replaced by {} {}; the fork's own advisory is checked at module level only (the binary names the fork's packages by {}, not by the advisory's paths)",
                        m.path,
                        m.code_path(),
                        m.code_version(),
                        m.path
                    ),
                )
            };
            out.push(Match {
                id: v.entry.id.clone(),
                aliases: v.entry.aliases.clone(),
                summary: v.entry.summary.clone(),
                fixed: fixed_version(&module, m.code_version(), &v.blocks),
                module,
                version: m.code_version().to_string(),
                level: Level::Module,
                symbols: Vec::new(),
                evidence: Evidence::Fork,
                notes: vec![note],
                toolchain: false,
            });
        }
    }

    // The toolchain that built the binary.
    if let Some(go) = semver::go_tag_to_semver(&bin.go_version)
        && let Some(list) = by_module.get(TOOLCHAIN)
    {
        for entry in list.iter().copied().filter(|e| !withdrawn(e, now_unix)) {
            if out.iter().any(|x| x.id == entry.id) {
                continue;
            }
            let blocks = applying_blocks(entry, TOOLCHAIN, &go, &bin.goos, &bin.goarch);
            if blocks.is_empty() {
                continue;
            }
            out.push(Match {
                id: entry.id.clone(),
                aliases: entry.aliases.clone(),
                summary: entry.summary.clone(),
                module: TOOLCHAIN.into(),
                version: go.clone(),
                fixed: fixed_version(TOOLCHAIN, &go, &blocks),
                level: Level::Module,
                symbols: Vec::new(),
                evidence: Evidence::AdvisoryWithoutSymbols,
                notes: vec![format!(
                    "toolchain: the Go that built this binary ({}) is affected; the binary's code may not be, rebuild with a fixed Go to be sure",
                    bin.go_version
                )],
                toolchain: true,
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::symbols::Naming;

    fn entry(json: serde_json::Value) -> Entry {
        serde_json::from_value(json).unwrap()
    }

    /// GO-2022-1059's facts: golang.org/x/text, fixed in 0.3.8.
    fn x_text() -> Entry {
        entry(serde_json::json!({
            "id": "GO-2022-1059", "aliases": ["CVE-2022-32149"],
            "summary": "Denial of service via crafted Accept-Language header",
            "affected": [{
                "package": {"name": "golang.org/x/text", "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.8"}]}],
                "ecosystem_specific": {"imports": [{
                    "path": "golang.org/x/text/language",
                    "symbols": ["MatchStrings", "MustParse", "Parse", "ParseAcceptLanguage", "matcher.Match"]
                }]}
            }]
        }))
    }

    fn module(path: &str, version: &str) -> Module {
        Module {
            path: path.into(),
            version: version.into(),
            replace: None,
        }
    }

    fn binary(deps: Vec<Module>, names: &[&str]) -> Binary {
        Binary {
            go_version: "go1.26.0".into(),
            main_path: "example.com/app".into(),
            main: Some(module("example.com/app", "(devel)")),
            deps,
            goos: "linux".into(),
            goarch: "amd64".into(),
            symbols: Some(PackageSymbols::from_names(
                names.iter().copied(),
                Naming::Go120,
                "example.com/app",
            )),
        }
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn symbol_package_and_module_levels() {
        let deps = vec![module("golang.org/x/text", "v0.3.7")];
        let called = binary(
            deps.clone(),
            &[
                "main.main",
                "golang.org/x/text/language.ParseAcceptLanguage",
                "golang.org/x/text/language.(*matcher).Match",
                "golang.org/x/text/language.Make",
            ],
        );
        let m = match_binary(&called, &[x_text()], NOW);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].level, Level::Symbol);
        // govulncheck calls a method exported by its name alone: `matcher.Match` stays.
        assert_eq!(
            m[0].symbols,
            [
                "golang.org/x/text/language.ParseAcceptLanguage",
                "golang.org/x/text/language.matcher.Match"
            ]
        );
        assert_eq!(m[0].fixed.as_deref(), Some("v0.3.8"));
        assert_eq!(m[0].evidence, Evidence::SymbolsMatched);

        let imported = binary(deps.clone(), &["golang.org/x/text/language.Make"]);
        let m = match_binary(&imported, &[x_text()], NOW);
        assert_eq!(m[0].level, Level::Package);
        assert!(m[0].symbols.is_empty());

        let required = binary(deps.clone(), &["golang.org/x/text/unicode/norm.NFC"]);
        assert_eq!(
            match_binary(&required, &[x_text()], NOW)[0].level,
            Level::Module
        );

        let fixed = binary(vec![module("golang.org/x/text", "v0.3.8")], &[]);
        assert!(match_binary(&fixed, &[x_text()], NOW).is_empty());

        // Unexported symbols are dropped only where an exported one matched.
        let mut whole = x_text();
        whole.affected[0]
            .ecosystem_specific
            .as_mut()
            .unwrap()
            .imports[0]
            .symbols
            .clear();
        let both = binary(
            deps.clone(),
            &[
                "golang.org/x/text/language.Make",
                "golang.org/x/text/language.parse",
            ],
        );
        assert_eq!(
            match_binary(&both, std::slice::from_ref(&whole), NOW)[0].symbols,
            ["golang.org/x/text/language.Make"]
        );
        let only_unexported = binary(deps, &["golang.org/x/text/language.parse"]);
        assert_eq!(
            match_binary(&only_unexported, &[whole], NOW)[0].symbols,
            ["golang.org/x/text/language.parse"]
        );
    }

    #[test]
    fn without_a_function_table_only_the_module_is_claimed() {
        let mut bin = binary(vec![module("golang.org/x/text", "v0.3.7")], &[]);
        bin.symbols = None;
        let m = match_binary(&bin, &[x_text()], NOW);
        assert_eq!(m[0].level, Level::Module);
        assert_eq!(m[0].evidence, Evidence::StrippedFallback);
    }

    #[test]
    fn fixed_in_skips_fixes_that_a_later_range_reopens() {
        let e = entry(serde_json::json!({"id": "GO-1", "affected": [{
            "package": {"name": "m.io/x"},
            "ranges": [{"type": "SEMVER", "events": [
                {"introduced": "0"}, {"fixed": "1.1.0"}, {"introduced": "1.1.0"}, {"fixed": "1.2.0"}
            ]}]
        }]}));
        // 1.1.0 is itself vulnerable (re-introduced), so 1.2.0 is the fix to take.
        assert_eq!(
            fixed_version("m.io/x", "v1.0.0", &e.affected).as_deref(),
            Some("v1.2.0")
        );
        assert_eq!(fixed_version("m.io/x", "v1.2.0", &e.affected), None);
        let open = entry(serde_json::json!({"id": "GO-2", "affected": [{
            "package": {"name": "m.io/x"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]
        }]}));
        assert_eq!(fixed_version("m.io/x", "v1.0.0", &open.affected), None);
    }

    #[test]
    fn ranges_are_semver_only_and_sorted_before_the_walk() {
        let r = |events: serde_json::Value, kind: &str| -> Range {
            serde_json::from_value(serde_json::json!({"type": kind, "events": events})).unwrap()
        };
        let unsorted = r(
            serde_json::json!([{"introduced": "1.19.0"}, {"fixed": "1.19.1"}, {"introduced": "0"}, {"fixed": "1.18.6"}]),
            "SEMVER",
        );
        assert!(contains(&unsorted, "v1.18.1"));
        assert!(!contains(&unsorted, "v1.18.6"));
        assert!(contains(&unsorted, "go1.19.0"));
        let custom = r(serde_json::json!([{"introduced": "3.0.0"}]), "ECOSYSTEM");
        // Only non-SEMVER ranges: every version is affected, as govulncheck decides.
        assert!(affects(std::slice::from_ref(&custom), "v1.0.0"));
        let semver = r(serde_json::json!([{"introduced": "4.0.0"}]), "SEMVER");
        assert!(!affects(&[custom, semver], "v3.0.0"));
        assert!(affects(&[], "v0.0.1"));
    }

    #[test]
    fn withdrawn_entries_and_foreign_platforms_are_skipped() {
        let mut withdrawn = x_text();
        withdrawn.withdrawn = Some("2023-01-01T00:00:00Z".into());
        let bin = binary(
            vec![module("golang.org/x/text", "v0.3.7")],
            &["golang.org/x/text/language.Parse"],
        );
        assert!(match_binary(&bin, &[withdrawn], NOW).is_empty());

        let mut windows_only = x_text();
        windows_only.affected[0]
            .ecosystem_specific
            .as_mut()
            .unwrap()
            .imports[0]
            .goos = vec!["windows".into()];
        assert!(match_binary(&bin, std::slice::from_ref(&windows_only), NOW).is_empty());
        let mut on_windows = bin.clone();
        on_windows.goos = "windows".into();
        assert_eq!(
            match_binary(&on_windows, &[windows_only], NOW)[0].level,
            Level::Symbol
        );
    }

    #[test]
    fn replacements_forks_main_and_the_toolchain() {
        // Same-path replace: the replacement's version counts.
        let mut bumped = module("golang.org/x/text", "v0.3.7");
        bumped.replace = Some(("golang.org/x/text".into(), "v0.3.8".into()));
        assert!(match_binary(&binary(vec![bumped], &[]), &[x_text()], NOW).is_empty());

        // A fork: the fork's own advisories at module level, with a note.
        let fork_entry = entry(serde_json::json!({"id": "GO-9", "affected": [{
            "package": {"name": "github.com/fork/text"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
            "ecosystem_specific": {"imports": [{"path": "github.com/fork/text/language", "symbols": ["Parse"]}]}
        }]}));
        let mut forked = module("golang.org/x/text", "v0.3.7");
        forked.replace = Some(("github.com/fork/text".into(), "v1.0.0".into()));
        let m = match_binary(
            &binary(vec![forked], &["golang.org/x/text/language.Parse"]),
            &[fork_entry, x_text()],
            NOW,
        );
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!((m[0].id.as_str(), m[0].level), ("GO-9", Level::Module));
        assert!(m[0].notes[0].starts_with("fork:"));
        assert_eq!(m[0].evidence, Evidence::Fork);

        // The main module at a pseudo-version derived from a tag: low confidence.
        let main_entry = entry(serde_json::json!({"id": "GO-7", "affected": [{
            "package": {"name": "example.com/app"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.5"}]}]
        }]}));
        let mut bin = binary(vec![], &["main.main"]);
        bin.main = Some(module(
            "example.com/app",
            "v1.2.5-0.20240101120000-abcdef012345",
        ));
        let m = match_binary(&bin, &[main_entry], NOW);
        // No imports listed: every function of the module counts, main.main included.
        assert_eq!(m[0].symbols, ["example.com/app.main"]);
        assert!(
            m[0].notes[0].starts_with("low confidence"),
            "{:?}",
            m[0].notes
        );

        // stdlib at the Go version as semver; toolchain as a notice.
        let std_entry = entry(serde_json::json!({"id": "GO-5", "affected": [{
            "package": {"name": "stdlib"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.21.0-0"}, {"fixed": "1.21.0"}]}],
            "ecosystem_specific": {"imports": [{"path": "net/http", "symbols": ["Client.Do"]}]}
        }]}));
        let tool_entry = entry(serde_json::json!({"id": "GO-6", "affected": [{
            "package": {"name": "toolchain"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.21.0"}]}],
            "ecosystem_specific": {"imports": [{"path": "cmd/go"}]}
        }]}));
        let mut bin = binary(vec![], &["net/http.(*Client).Do"]);
        bin.go_version = "go1.21rc2".into();
        let m = match_binary(&bin, &[std_entry, tool_entry], NOW);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m[0].symbols, ["net/http.Client.Do"]);
        assert_eq!(m[0].version, "v1.21.0-rc.2");
        assert!(m[1].toolchain && m[1].level == Level::Module);
    }

    #[test]
    fn forks_meet_their_upstream_advisories_at_module_level_when_their_version_compares() {
        let fork = |version: &str| {
            let mut m = module("golang.org/x/text", "v0.3.7");
            m.replace = Some(("github.com/golang/text".into(), version.into()));
            binary(vec![m], &["golang.org/x/text/language.ParseAcceptLanguage"])
        };
        // A mirror at the same tag: the upstream's advisory, module level, with a note.
        let m = match_binary(&fork("v0.3.7"), &[x_text()], NOW);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(
            (m[0].module.as_str(), m[0].version.as_str(), m[0].level),
            ("golang.org/x/text", "v0.3.7", Level::Module)
        );
        assert_eq!(m[0].fixed.as_deref(), Some("v0.3.8"));
        assert_eq!(m[0].evidence, Evidence::Fork);
        assert!(
            m[0].notes[0].starts_with(
                "fork: golang.org/x/text is replaced by github.com/golang/text v0.3.7"
            )
        );
        // A fork past the fix, and one at an untagged commit (v0.0.0-…), are not claimed.
        assert!(match_binary(&fork("v0.3.8"), &[x_text()], NOW).is_empty());
        assert!(
            match_binary(
                &fork("v0.0.0-20220101000000-abcdefabcdef"),
                &[x_text()],
                NOW
            )
            .is_empty()
        );
        // A pseudo-version built on a tag compares.
        assert_eq!(
            match_binary(
                &fork("v0.3.8-0.20220101000000-abcdefabcdef"),
                &[x_text()],
                NOW
            )
            .len(),
            1
        );
    }

    #[test]
    fn what_has_no_version_is_named_not_matched() {
        let mut local = module("golang.org/x/text", "v0.3.7");
        local.replace = Some(("../text".into(), "(devel)".into()));
        assert!(local.is_directory_replace());
        let mut bin = binary(vec![local], &["golang.org/x/text/language.Parse"]);
        assert!(match_binary(&bin, &[x_text()], NOW).is_empty());
        let notes = uncompared(&bin, Some(&[x_text()]), NOW);
        assert_eq!(
            notes,
            [
                "golang.org/x/text is replaced by the directory ../text, which has no version: its advisories (GO-2022-1059) are not checked"
            ]
        );
        // No advisory for it: nothing to say.
        assert!(uncompared(&bin, Some(&[]), NOW).is_empty());
        let main_entry = entry(serde_json::json!({"id": "GO-7", "affected": [{
            "package": {"name": "example.com/app"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.5"}]}]
        }]}));
        bin.deps.clear();
        let notes = uncompared(&bin, Some(std::slice::from_ref(&main_entry)), NOW);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("the main module example.com/app is at (devel)"));
        // A tag built with uncommitted changes: low confidence too.
        bin.main = Some(module("example.com/app", "v1.2.4+dirty"));
        let m = match_binary(&bin, &[main_entry], NOW);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].notes[0].contains("uncommitted changes"),
            "{:?}",
            m[0].notes
        );
    }

    #[test]
    fn symbols_are_named_as_govulncheck_trace_frames_name_them() {
        assert_eq!(frame_name("p", "F"), "p.F");
        assert_eq!(frame_name("p", "T.M"), "p.T.M");
        assert_eq!(
            frame_name("p", "main.(*Server).Warnf.func2"),
            "p.main.(*Server)"
        );
    }

    #[test]
    fn a_block_without_imports_makes_every_function_of_the_module_vulnerable() {
        let e = entry(serde_json::json!({"id": "GO-3", "affected": [{
            "package": {"name": "github.com/a/b"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]
        }]}));
        let bin = binary(
            vec![module("github.com/a/b", "v1.0.0")],
            &["github.com/a/b/c.Do", "github.com/a/b/c.helper"],
        );
        let m = match_binary(&bin, &[e], NOW);
        assert_eq!(m[0].level, Level::Symbol);
        assert_eq!(m[0].symbols, ["github.com/a/b/c.Do"]);
        assert_eq!(m[0].evidence, Evidence::AdvisoryWithoutSymbols);
    }

    /// What the scan keeps of a binary's names (the packages [`Relevant`] wants) changes no
    /// match: the same findings as with every name, and the other packages are left out.
    #[test]
    fn the_relevant_packages_are_all_matching_needs() {
        let std_entry = entry(serde_json::json!({"id": "GO-4", "affected": [{
            "package": {"name": "stdlib"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.20.0"}]}],
            "ecosystem_specific": {"imports": [{"path": "net/http", "symbols": ["Serve"]}]}
        }]}));
        let whole = entry(serde_json::json!({"id": "GO-3", "affected": [{
            "package": {"name": "github.com/a/b"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]
        }]}));
        let entries = [x_text(), std_entry, whole];
        let names = [
            "main.main",
            "golang.org/x/text/language.Parse",
            "golang.org/x/text/language.(*matcher).Match",
            "golang.org/x/text/internal/tag.Index.Elem",
            "github.com/a/b/c.Do",
            "github.com/a/bc/d.Other",
            "github.com/other/mod.Do",
            "net/http.Serve",
            "fmt.Println",
        ];
        for (go, text) in [("go1.19.0", "v0.3.7"), ("go1.26.0", "v0.3.8")] {
            let mut bin = binary(
                vec![
                    module("golang.org/x/text", text),
                    module("github.com/a/b", "v1.0.0"),
                    module("github.com/a/bc", "v1.0.0"),
                    module("github.com/other/mod", "v1.0.0"),
                ],
                &names,
            );
            bin.go_version = go.into();
            let full = match_binary(&bin, &entries, NOW);
            let relevant = Relevant::of(&bin, &entries, NOW);
            bin.symbols = Some(PackageSymbols::from_names_of(
                names,
                Naming::Go120,
                "example.com/app",
                |p| relevant.wants(p),
            ));
            assert_eq!(match_binary(&bin, &entries, NOW), full, "{go}");
            let kept: Vec<&str> = bin
                .symbols
                .as_ref()
                .unwrap()
                .by_package
                .keys()
                .map(String::as_str)
                .collect();
            // github.com/a/bc is a string prefix match of github.com/a/b, as govulncheck
            // assigns packages: kept with it.
            let mut want = vec!["github.com/a/b/c", "github.com/a/bc/d"];
            if text == "v0.3.7" {
                // The package the advisory names; not the module's others.
                want.push("golang.org/x/text/language");
            }
            if go == "go1.19.0" {
                want.push("net/http");
            }
            want.sort();
            assert_eq!(kept, want, "{go}");
        }
        // No advisory applies at all: nothing is wanted.
        let mut clean = binary(vec![module("github.com/none/here", "v1.0.0")], &[]);
        clean.go_version = "go1.26.0".into();
        let relevant = Relevant::of(&clean, &entries, NOW);
        assert!(relevant.is_empty());
        assert!(!relevant.wants("net/http"));
    }
}
