//! What starting a container of the image would do, worked out on the merged view: the
//! command line resolved as a runtime resolves it (PATH from the config's Env, WorkingDir,
//! symlinks, a shell form's /bin/sh, a script's interpreter), then, for each ELF program,
//! its loader and libraries found as the dynamic loader finds them, and, for the Go program,
//! where it will look for CA roots and zoneinfo. Only facts; `rules` judges them.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use super::data::{
    CaCertsFacts, EntrypointFacts, Library, Linked, LoaderFacts, MissingVersion, Program,
    TzdataFacts, UserFacts,
};
use super::fs::{NodeKind, Tree};
use super::oci::RunConfig;
use crate::inspect::dynamic::{self, ElfNeeds};
use crate::inspect::linked::{self, Probe};
use crate::inspect::{self, BinaryFacts};

/// The PATH a runtime uses when the config's Env sets none (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Go's CA bundle files on Linux (crypto/x509/root_linux.go), in its order.
pub const CERT_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Go's CA directories on Linux.
pub const CERT_DIRS: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// Go's zoneinfo directories on Unix (time/zoneinfo_unix.go), in its order.
pub const ZONE_DIRS: &[&str] = &[
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/usr/lib/locale/TZ",
    "/etc/zoneinfo",
];

/// Where CA files may live (certificates are recognised only under these, and under the
/// config's SSL_CERT_FILE / SSL_CERT_DIR): the directories' symlinks point into them.
pub const CERT_TREES: &[&str] = &[
    "etc/ssl",
    "etc/pki",
    "usr/share/ca-certificates",
    "usr/local/share/ca-certificates",
    "usr/share/pki",
];

/// Libraries a program may pull in, transitively, before goready stops looking.
const MAX_LIBRARIES: usize = 512;

/// One program of the command line, examined.
#[derive(Debug, Clone)]
pub struct Examined {
    /// How it was found.
    pub program: Program,
    /// Its dynamic-loading facts, when it is ELF.
    pub elf: Option<ElfNeeds>,
    /// Its Go facts, when it is a Go program.
    pub facts: Option<BinaryFacts>,
    /// What it links, when it is a Go program.
    pub linked: Linked,
}

/// Reads a file's bytes that the first pass did not keep (from its layer).
pub type Fetch<'a> = dyn FnMut(usize, &str) -> anyhow::Result<Arc<[u8]>> + 'a;

/// The paths whose bytes the first pass keeps: every place the command line's programs may
/// be (PATH × name, WorkingDir), and what the rules read from /etc.
pub fn wanted_paths(config: &RunConfig) -> BTreeSet<String> {
    let mut wanted = BTreeSet::new();
    let argv = config.argv();
    let mut names: Vec<String> = argv.first().cloned().into_iter().collect();
    if let Some(cmd) = shell_command(&argv) {
        names.push("/bin/sh".into());
        names.extend(first_word(&cmd));
    }
    // A launcher (tini, dumb-init) runs a later argument.
    names.extend(argv.iter().skip(1).filter(|a| a.starts_with('/')).cloned());
    for name in names {
        for candidate in candidates(config, &name) {
            wanted.insert(candidate);
        }
    }
    for f in ["etc/passwd", "etc/group", "etc/ld.so.conf"] {
        wanted.insert(f.to_string());
    }
    wanted
}

/// `sh -c CMD`: the command string, when argv is a shell form.
pub fn shell_command(argv: &[String]) -> Option<String> {
    let prog = argv.first()?;
    let base = prog.rsplit('/').next().unwrap_or(prog);
    if matches!(base, "sh" | "bash" | "ash" | "dash")
        && argv.get(1).map(String::as_str) == Some("-c")
    {
        return argv.get(2).cloned();
    }
    None
}

/// The program a shell command string runs first (`exec` skipped, `VAR=x` skipped).
fn first_word(cmd: &str) -> Option<String> {
    let words =
        shlex::split(cmd).unwrap_or_else(|| cmd.split_whitespace().map(str::to_string).collect());
    words
        .into_iter()
        .find(|w| w != "exec" && (w.starts_with('/') || !w.contains('=')))
}

fn clean_abs(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Where a runtime looks for `name`: itself when it has a `/` (relative to WorkingDir),
/// else each PATH directory.
fn candidates(config: &RunConfig, name: &str) -> Vec<String> {
    if name.is_empty() {
        return Vec::new();
    }
    if name.contains('/') {
        let wd = config.working_dir.clone().unwrap_or_default();
        let full = if name.starts_with('/') {
            name.to_string()
        } else {
            format!("{wd}/{name}")
        };
        return vec![clean_abs(&full)];
    }
    let path = config.env_var("PATH").unwrap_or(DEFAULT_PATH);
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| clean_abs(&format!("{d}/{name}")))
        .collect()
}

/// Finds `name` as a runtime would and examines it.
fn find_program(
    tree: &Tree,
    config: &RunConfig,
    name: &str,
    role: &str,
    fetch: &mut Fetch<'_>,
) -> Examined {
    let mut program = Program {
        requested: name.to_string(),
        role: role.to_string(),
        path: None,
        via: Vec::new(),
        problem: None,
        format: None,
        arch: None,
        go: false,
    };
    let mut none = Examined {
        program: program.clone(),
        elf: None,
        facts: None,
        linked: Linked::default(),
    };
    if name.is_empty() {
        none.program.problem = Some("the command is empty".into());
        return none;
    }
    let mut first_problem = None;
    let mut found = None;
    for candidate in candidates(config, name) {
        match tree.lookup(&candidate) {
            Ok((r, Some(node))) => match &node.kind {
                NodeKind::File { .. } if node.is_executable_file() => {
                    found = Some((r, node));
                    break;
                }
                NodeKind::File { .. } => {
                    first_problem.get_or_insert(format!(
                        "/{} is not executable (mode {:o})",
                        r.path,
                        node.mode & 0o7777
                    ));
                    // A runtime's PATH search goes on past a file it cannot execute.
                    if name.contains('/') {
                        break;
                    }
                }
                NodeKind::Dir => {
                    first_problem.get_or_insert(format!("/{} is a directory", r.path));
                }
                _ => {
                    first_problem.get_or_insert(format!("/{} is not a regular file", r.path));
                }
            },
            Ok((_, None)) => {
                first_problem.get_or_insert("it resolves to the root directory".into());
            }
            Err(e) => {
                if !name.contains('/') {
                    continue;
                }
                first_problem.get_or_insert(e.to_string());
            }
        }
    }
    let Some((resolved, node)) = found else {
        program.problem = Some(first_problem.unwrap_or_else(|| {
            let path = config.env_var("PATH").unwrap_or(DEFAULT_PATH);
            format!("{name} is not in any PATH directory ({path})")
        }));
        none.program = program;
        return none;
    };
    program.path = Some(format!("/{}", resolved.path));
    program.via = resolved
        .links
        .iter()
        .map(|(l, t)| format!("{l} -> {t}"))
        .collect();
    let NodeKind::File { kept, source, .. } = &node.kind else {
        unreachable!("matched a file above")
    };
    let bytes = match &kept.content {
        Some(b) => Ok(b.clone()),
        None => fetch(source.0, &source.1),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            program.problem = Some(format!("cannot read it: {e:#}"));
            none.program = program;
            return none;
        }
    };
    if bytes.starts_with(b"\x7fELF") {
        program.format = Some("elf".into());
        let elf = dynamic::elf_needs(&bytes).ok();
        if elf.is_none() {
            program.problem = Some("its ELF headers are damaged".into());
        }
        let shown = program.path.clone().unwrap_or_default();
        let facts = inspect::inspect_bytes(&shown, &bytes, &inspect::Options::default()).ok();
        if let Some(f) = &facts {
            program.arch = Some(f.platform());
            program.go = f.is_go();
        } else if let Some(e) = &elf {
            program.arch = e.arch.as_ref().map(|a| format!("linux/{a}"));
        }
        let mut linked = Linked {
            unread: program.go,
            ..Linked::default()
        };
        if program.go
            && let Some(hits) = linked::probe(
                &bytes,
                &[
                    Probe::Function("crypto/x509.loadSystemRoots"),
                    Probe::Function("crypto/x509.SetFallbackRoots"),
                    Probe::Prefix("golang.org/x/crypto/x509roots/fallback."),
                    Probe::Function("time.LoadLocation"),
                    Probe::Prefix("time/tzdata."),
                    Probe::Prefix("net/http/pprof."),
                ],
            )
        {
            linked = Linked {
                system_roots: hits[0],
                fallback_roots: hits[1] || hits[2],
                load_location: hits[3],
                tzdata: hits[4],
                pprof: hits[5],
                unread: false,
            };
        }
        return Examined {
            program,
            elf,
            facts,
            linked,
        };
    }
    if let Some(line) = bytes.strip_prefix(b"#!") {
        program.format = Some("script".into());
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line).trim().to_string();
        if line.is_empty() {
            program.problem = Some("its #! line names no interpreter".into());
        }
    } else {
        program.format = Some("unknown".into());
        program.problem =
            Some("it is neither an ELF executable nor a #! script (exec format error)".into());
    }
    Examined {
        program,
        elf: None,
        facts: None,
        linked: Linked::default(),
    }
}

/// The programs the command line starts, in order: the entrypoint; the program a shell form
/// runs; a script's interpreter; the Go program a launcher runs.
pub fn programs(
    tree: &Tree,
    config: &RunConfig,
    fetch: &mut Fetch<'_>,
) -> (EntrypointFacts, Vec<Examined>) {
    let argv = config.argv();
    let shell = shell_command(&argv);
    let mut out = Vec::new();
    let Some(first) = argv.first() else {
        return (
            EntrypointFacts {
                argv,
                shell_form: false,
                programs: Vec::new(),
            },
            out,
        );
    };
    let entry = find_program(
        tree,
        config,
        first,
        if shell.is_some() {
            "shell"
        } else {
            "entrypoint"
        },
        fetch,
    );
    out.push(entry);
    // A script names its interpreter on its #! line (no PATH lookup).
    if out[0].program.format.as_deref() == Some("script")
        && let Some(path) = &out[0].program.path
        && let Some(NodeKind::File { kept, .. }) =
            tree.get(path.trim_start_matches('/')).map(|n| &n.kind)
    {
        let interp = kept
            .shebang
            .clone()
            .or_else(|| kept.content.as_ref().and_then(|c| shebang(c)))
            .unwrap_or_default();
        let interp = interp
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        if interp.starts_with('/') {
            out.push(find_program(tree, config, &interp, "interpreter", fetch));
        }
    }
    if let Some(cmd) = &shell
        && let Some(word) = first_word(cmd)
        && !is_shell_builtin(&word)
    {
        out.push(find_program(tree, config, &word, "service", fetch));
    }
    // A launcher that is not Go (tini, dumb-init): the first later argument that is a Go
    // program is the service.
    if shell.is_none() && !out.iter().any(|e| e.program.go) {
        for arg in argv.iter().skip(1).filter(|a| a.starts_with('/')) {
            let e = find_program(tree, config, arg, "service", fetch);
            if e.program.go {
                out.push(e);
                break;
            }
        }
    }
    let facts = EntrypointFacts {
        argv: argv.clone(),
        shell_form: shell.is_some(),
        programs: out.iter().map(|e| e.program.clone()).collect(),
    };
    (facts, out)
}

fn shebang(content: &[u8]) -> Option<String> {
    let line = content.strip_prefix(b"#!")?.split(|&b| b == b'\n').next()?;
    Some(String::from_utf8_lossy(line).trim().to_string())
}

fn is_shell_builtin(word: &str) -> bool {
    matches!(
        word,
        "cd" | "echo"
            | "set"
            | "true"
            | "false"
            | ":"
            | "."
            | "test"
            | "["
            | "export"
            | "trap"
            | "ulimit"
            | "umask"
    )
}

/// The multiarch directory Debian's loaders search for a machine.
fn triplet(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "amd64" => "x86_64-linux-gnu",
        "arm64" => "aarch64-linux-gnu",
        "386" => "i386-linux-gnu",
        "arm" => "arm-linux-gnueabihf",
        "ppc64le" => "powerpc64le-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        _ => return None,
    })
}

/// The musl name of a machine (`ld-musl-ARCH.so.1`, `/etc/ld-musl-ARCH.path`).
fn musl_arch(arch: &str) -> &str {
    match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i386",
        "ppc64le" => "powerpc64le",
        other => other,
    }
}

fn text_of(tree: &Tree, path: &str) -> Option<String> {
    let (_, node) = tree.lookup(path).ok()?;
    match &node?.kind {
        NodeKind::File { kept, .. } => kept
            .content
            .as_ref()
            .map(|c| String::from_utf8_lossy(c).into_owned()),
        _ => None,
    }
}

/// The directories /etc/ld.so.conf names, `include`s followed (globs of the form
/// `DIR/*.conf` or `DIR/*`).
fn ld_so_conf(tree: &Tree) -> Vec<String> {
    let mut dirs = Vec::new();
    let mut queue = VecDeque::from(["/etc/ld.so.conf".to_string()]);
    let mut seen = BTreeSet::new();
    while let Some(file) = queue.pop_front() {
        if !seen.insert(file.clone()) || seen.len() > 64 {
            continue;
        }
        let Some(text) = text_of(tree, &file) else {
            continue;
        };
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if let Some(pattern) = line.strip_prefix("include") {
                let pattern = pattern.trim();
                let (dir, glob) = pattern.rsplit_once('/').unwrap_or(("/etc", pattern));
                let suffix = glob.strip_prefix('*').unwrap_or("");
                if let Ok(r) = tree.resolve(dir, true) {
                    let mut files: Vec<String> = tree
                        .under(&r.path)
                        .filter(|(k, _)| !k[r.path.len()..].trim_start_matches('/').contains('/'))
                        .filter(|(k, _)| k.ends_with(suffix) || glob == "*")
                        .map(|(k, _)| format!("/{k}"))
                        .collect();
                    files.sort();
                    queue.extend(files);
                }
            } else if line.starts_with('/') {
                dirs.extend(
                    line.split([':', ',', ' ', '\t'])
                        .filter(|d| d.starts_with('/'))
                        .map(str::to_string),
                );
            }
        }
    }
    dirs
}

/// The ELF facts of a file in the merged view (a library, a loader).
fn elf_of(tree: &Tree, path: &str, fetch: &mut Fetch<'_>) -> Option<Arc<ElfNeeds>> {
    match &tree.get(path)?.kind {
        NodeKind::File { kept, source, .. } => kept.elf.clone().or_else(|| {
            let bytes = match &kept.content {
                Some(b) => b.clone(),
                None => fetch(source.0, &source.1).ok()?,
            };
            dynamic::elf_needs(&bytes).ok().map(Arc::new)
        }),
        _ => None,
    }
}

/// The highest `GLIBC_x.y[.z]` of a list of version names.
pub fn newest_glibc<'a>(versions: impl Iterator<Item = &'a String>) -> Option<String> {
    versions
        .filter_map(|v| {
            let n = v.strip_prefix("GLIBC_")?;
            let key: Vec<u32> = n
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            Some((key, v.clone()))
        })
        .max()
        .map(|(_, v)| v)
}

/// Finds the interpreter and every library of `exe` as the loader would.
pub fn loader(
    tree: &Tree,
    config: &RunConfig,
    exe: &Examined,
    fetch: &mut Fetch<'_>,
) -> Option<LoaderFacts> {
    let elf = exe.elf.as_ref()?;
    let binary = exe.program.path.clone()?;
    let arch = elf.arch.clone().unwrap_or_default();
    let mut facts = LoaderFacts {
        binary: binary.clone(),
        interpreter: elf.interpreter.clone(),
        interpreter_found: None,
        loader_libc: None,
        binary_libc: None,
        libraries: Vec::new(),
        missing_versions: Vec::new(),
        search_path: Vec::new(),
        image_glibc: None,
        needed_glibc: newest_glibc(elf.version_needs.iter().flat_map(|n| n.versions.iter())),
    };
    let wants_glibc = facts.needed_glibc.is_some()
        || elf
            .interpreter
            .as_deref()
            .is_some_and(|i| i.contains("ld-linux"));
    let wants_musl = elf
        .interpreter
        .as_deref()
        .is_some_and(|i| i.contains("ld-musl"))
        || elf.needed.iter().any(|n| n.contains("musl"));
    facts.binary_libc = if wants_musl {
        Some("musl".into())
    } else if wants_glibc {
        Some("glibc".into())
    } else {
        None
    };
    let mut loader_elf = None;
    if let Some(interp) = &elf.interpreter
        && let Ok((r, Some(node))) = tree.lookup(interp)
        && matches!(node.kind, NodeKind::File { .. })
    {
        facts.interpreter_found = Some(format!("/{}", r.path));
        loader_elf = elf_of(tree, &r.path, fetch);
    }
    if elf.interpreter.is_some() && facts.interpreter_found.is_none() {
        return Some(facts);
    }
    // What the image's loader is: glibc's defines GLIBC_ versions; musl's defines none.
    let loader_is_musl = match &loader_elf {
        Some(l) => !l.version_defs.iter().any(|v| v.starts_with("GLIBC_")),
        None => wants_musl,
    };
    if elf.interpreter.is_some() {
        facts.loader_libc = Some(if loader_is_musl { "musl" } else { "glibc" }.into());
    }

    let ld_library_path: Vec<String> = config
        .env_var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();
    let system: Vec<String> = if loader_is_musl {
        let file = format!("/etc/ld-musl-{}.path", musl_arch(&arch));
        match text_of(tree, &file) {
            Some(text) => text
                .split(['\n', ':'])
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect(),
            None => vec!["/lib".into(), "/usr/local/lib".into(), "/usr/lib".into()],
        }
    } else {
        let mut dirs = ld_so_conf(tree);
        if let Some(t) = triplet(&arch) {
            dirs.push(format!("/lib/{t}"));
            dirs.push(format!("/usr/lib/{t}"));
        }
        if elf.class64 {
            dirs.push("/lib64".into());
            dirs.push("/usr/lib64".into());
        }
        dirs.push("/lib".into());
        dirs.push("/usr/lib".into());
        dirs
    };

    let origin_of = |path: &str| {
        path.rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default()
    };
    let expand = |dirs: &[String], origin: &str| -> Vec<String> {
        dirs.iter()
            .map(|d| d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin))
            .collect()
    };
    let search = |needs: &ElfNeeds, path: &str| -> Vec<String> {
        let origin = origin_of(path);
        let mut dirs = Vec::new();
        if loader_is_musl {
            dirs.extend(ld_library_path.iter().cloned());
            dirs.extend(expand(&needs.rpath, &origin));
            dirs.extend(expand(&needs.runpath, &origin));
        } else {
            if needs.runpath.is_empty() {
                dirs.extend(expand(&needs.rpath, &origin));
                dirs.extend(expand(&elf.rpath, &origin_of(&binary)));
            }
            dirs.extend(ld_library_path.iter().cloned());
            dirs.extend(expand(&needs.runpath, &origin));
        }
        dirs.extend(system.iter().cloned());
        dirs
    };
    facts.search_path = search(elf, &binary);

    // Breadth first over the binary's libraries and theirs; each name is loaded once.
    let mut loaded: Vec<(String, String, Arc<ElfNeeds>)> = Vec::new(); // (name, path, facts)
    if let (Some(found), Some(l)) = (&facts.interpreter_found, &loader_elf) {
        if let Some(i) = &elf.interpreter {
            let name = i.rsplit('/').next().unwrap_or(i).to_string();
            loaded.push((name, found.clone(), l.clone()));
        }
        if let Some(soname) = &l.soname {
            loaded.push((soname.clone(), found.clone(), l.clone()));
        }
    }
    let mut queue: VecDeque<(String, String, Arc<ElfNeeds>)> = VecDeque::new();
    queue.push_back((binary.clone(), binary.clone(), Arc::new(elf.clone())));
    let mut objects: Vec<(String, Arc<ElfNeeds>)> = Vec::new();
    while let Some((_, path, needs)) = queue.pop_front() {
        objects.push((path.clone(), needs.clone()));
        for name in &needs.needed {
            if facts.libraries.len() >= MAX_LIBRARIES {
                break;
            }
            if loaded.iter().any(|(n, _, _)| n == name)
                || facts
                    .libraries
                    .iter()
                    .any(|l| &l.name == name && l.found.is_none())
            {
                continue;
            }
            if loader_is_musl && musl_serves(name) {
                facts.libraries.push(Library {
                    name: name.clone(),
                    needed_by: path.clone(),
                    found: facts.interpreter_found.clone(),
                    by_loader: true,
                });
                continue;
            }
            let dirs: Vec<String> = if name.contains('/') {
                vec![String::new()]
            } else {
                search(&needs, &path)
            };
            let mut hit = None;
            for dir in dirs {
                let candidate = if name.contains('/') {
                    name.clone()
                } else {
                    format!("{dir}/{name}")
                };
                let Ok((r, Some(node))) = tree.lookup(&candidate) else {
                    continue;
                };
                if !matches!(node.kind, NodeKind::File { .. }) {
                    continue;
                }
                // The loader skips a library of another machine or class.
                match elf_of(tree, &r.path, fetch) {
                    Some(lib) if lib.machine == elf.machine && lib.class64 == elf.class64 => {
                        hit = Some((format!("/{}", r.path), lib));
                        break;
                    }
                    _ => continue,
                }
            }
            match hit {
                Some((found, lib)) => {
                    facts.libraries.push(Library {
                        name: name.clone(),
                        needed_by: path.clone(),
                        found: Some(found.clone()),
                        by_loader: false,
                    });
                    loaded.push((name.clone(), found.clone(), lib.clone()));
                    queue.push_back((name.clone(), found, lib));
                }
                None => facts.libraries.push(Library {
                    name: name.clone(),
                    needed_by: path.clone(),
                    found: None,
                    by_loader: false,
                }),
            }
        }
    }
    // Symbol versions: each object's needs against the library it names.
    for (path, needs) in &objects {
        for need in &needs.version_needs {
            let Some((_, found, lib)) = loaded.iter().find(|(n, _, _)| n == &need.file) else {
                continue;
            };
            if lib.version_defs.is_empty() {
                continue;
            }
            for v in &need.versions {
                if !lib.version_defs.contains(v) {
                    facts.missing_versions.push(MissingVersion {
                        version: v.clone(),
                        library: need.file.clone(),
                        found: found.clone(),
                        needed_by: path.clone(),
                    });
                }
            }
        }
    }
    facts.image_glibc = loaded
        .iter()
        .find(|(n, _, _)| n == "libc.so.6")
        .and_then(|(_, _, l)| newest_glibc(l.version_defs.iter()));
    Some(facts)
}

/// Libraries musl's loader serves itself (musl's dynlink.c: libc and the names of the
/// libraries glibc splits out).
fn musl_serves(name: &str) -> bool {
    [
        "libc.",
        "libdl.",
        "libm.",
        "libpthread.",
        "librt.",
        "libutil.",
        "libxnet.",
        "libresolv.",
        "libcrypt.",
        "ld-musl-",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// Where Go will find CA roots (crypto/x509/root_unix.go's order).
pub fn ca_certs(tree: &Tree, config: &RunConfig, exe: &Examined) -> CaCertsFacts {
    let files: Vec<String> = match config.env_var("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        Some(f) => vec![f.to_string()],
        None => CERT_FILES.iter().map(|s| s.to_string()).collect(),
    };
    let dirs: Vec<String> = match config.env_var("SSL_CERT_DIR").filter(|v| !v.is_empty()) {
        Some(d) => d.split(':').map(str::to_string).collect(),
        None => CERT_DIRS.iter().map(|s| s.to_string()).collect(),
    };
    let mut found = Vec::new();
    // Only the first file that can be read counts.
    for f in &files {
        if let Ok((r, Some(node))) = tree.lookup(f)
            && let NodeKind::File { kept, .. } = &node.kind
        {
            if kept.pem {
                found.push(format!("/{}", r.path));
            }
            break;
        }
    }
    for d in &dirs {
        let Ok((r, Some(node))) = tree.lookup(d) else {
            continue;
        };
        if !matches!(node.kind, NodeKind::Dir) {
            continue;
        }
        let direct = tree
            .under(&r.path)
            .filter(|(k, _)| !k[r.path.len()..].trim_start_matches('/').contains('/'));
        for (k, _) in direct {
            if let Ok((_, Some(n))) = tree.lookup(k)
                && let NodeKind::File { kept, .. } = &n.kind
                && kept.pem
            {
                found.push(format!("/{}", r.path));
                break;
            }
        }
    }
    CaCertsFacts {
        binary: exe.program.path.clone().unwrap_or_default(),
        linked: exe.linked,
        searched: files.into_iter().chain(dirs).collect(),
        found,
    }
}

/// The zoneinfo sources Go reads, in order.
pub fn zone_sources(config: &RunConfig) -> Vec<String> {
    let mut sources = Vec::new();
    if let Some(z) = config.env_var("ZONEINFO").filter(|v| !v.is_empty()) {
        sources.push(z.to_string());
    }
    sources.extend(ZONE_DIRS.iter().map(|s| s.to_string()));
    if let Some(g) = config.env_var("GOROOT").filter(|v| !v.is_empty()) {
        sources.push(format!("{g}/lib/time/zoneinfo.zip"));
    }
    sources
}

/// Where Go will find zoneinfo.
pub fn tzdata(tree: &Tree, config: &RunConfig, exe: &Examined) -> TzdataFacts {
    let searched = zone_sources(config);
    let mut found = None;
    let mut zones = 0;
    for s in &searched {
        let Ok((r, Some(node))) = tree.lookup(s) else {
            continue;
        };
        match &node.kind {
            NodeKind::Dir => {
                let n = tree
                    .under(&r.path)
                    .filter(|(_, n)| matches!(&n.kind, NodeKind::File { kept, .. } if kept.tzif))
                    .count() as u64;
                if n > 0 {
                    found = Some(format!("/{}", r.path));
                    zones = n;
                    break;
                }
            }
            NodeKind::File { size, .. } if *size > 0 && s.ends_with(".zip") => {
                found = Some(format!("/{}", r.path));
                break;
            }
            _ => {}
        }
    }
    TzdataFacts {
        binary: exe.program.path.clone().unwrap_or_default(),
        linked: exe.linked,
        tz_env: config.env_var("TZ").map(str::to_string),
        searched,
        found,
        zones,
    }
}

/// The config's USER, resolved through the image's /etc/passwd (and /etc/group).
pub fn user(tree: &Tree, config: &RunConfig) -> UserFacts {
    let user = config.user.clone().unwrap_or_default();
    let passwd = text_of(tree, "/etc/passwd");
    let mut facts = UserFacts {
        user: user.clone(),
        uid: None,
        passwd: passwd.is_some(),
        problem: None,
    };
    let (name, group) = match user.split_once(':') {
        Some((u, g)) => (u.to_string(), Some(g.to_string())),
        None => (user.clone(), None),
    };
    if name.is_empty() {
        facts.uid = Some(0);
    } else if let Ok(uid) = name.parse::<u64>() {
        facts.uid = Some(uid);
    } else {
        let entry = passwd.as_deref().and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 3 && f[0] == name).then(|| f[2].parse::<u64>().ok())
            })
        });
        match (&passwd, entry) {
            (None, _) => {
                facts.problem = Some(format!(
                    "user {name:?} cannot be looked up: the image has no /etc/passwd"
                ))
            }
            (Some(_), None) => {
                facts.problem = Some(format!("user {name:?} is not in the image's /etc/passwd"))
            }
            (Some(_), Some(None)) => {
                facts.problem = Some(format!("user {name:?} has no numeric uid in /etc/passwd"))
            }
            (Some(_), Some(Some(uid))) => facts.uid = Some(uid),
        }
    }
    if facts.problem.is_none()
        && let Some(g) = group
        && !g.is_empty()
        && g.parse::<u64>().is_err()
    {
        let groups = text_of(tree, "/etc/group");
        let known = groups
            .as_deref()
            .is_some_and(|t| t.lines().any(|l| l.split(':').next() == Some(g.as_str())));
        if !known {
            facts.problem = Some(format!("group {g:?} is not in the image's /etc/group"));
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_forms_and_their_first_word() {
        let argv: Vec<String> = ["/bin/sh", "-c", "exec svc --port 8080"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_command(&argv).as_deref(),
            Some("exec svc --port 8080")
        );
        assert_eq!(first_word("exec svc --port 8080").as_deref(), Some("svc"));
        assert_eq!(first_word("GOGC=50 /app").as_deref(), Some("/app"));
        assert!(shell_command(&["/app".to_string()]).is_none());
    }

    #[test]
    fn newest_glibc_compares_numerically() {
        let v: Vec<String> = ["GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.4", "GLIBC_PRIVATE"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(newest_glibc(v.iter()).as_deref(), Some("GLIBC_2.34"));
    }

    #[test]
    fn path_candidates_follow_env_and_workdir() {
        let config = RunConfig {
            env: vec!["PATH=/opt/bin:/bin".into()],
            working_dir: Some("/srv".into()),
            ..RunConfig::default()
        };
        assert_eq!(candidates(&config, "svc"), vec!["opt/bin/svc", "bin/svc"]);
        assert_eq!(candidates(&config, "./svc"), vec!["srv/svc"]);
        assert_eq!(candidates(&config, "/app"), vec!["app"]);
    }
}
