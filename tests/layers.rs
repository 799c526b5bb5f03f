//! The CLI is the top of the house: it calls the steps' front doors, and nothing below it
//! calls back. This reads goready's own sources and fails when a module outside `src/cli/`
//! (and `src/main.rs`, which only calls `cli::main`) names the `cli` module in a path —
//! `use crate::cli::X`, `use crate::{cli, model}`, `goready::cli::X`, `super::cli`, or a
//! path written inline.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `source` without comments, string and char literals (their text cannot import anything,
/// and a doc comment may well mention `cli::main`).
fn code_only(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(bytes.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < bytes.len() {
                if source[i..].starts_with("/*") {
                    depth += 1;
                    i += 2;
                } else if source[i..].starts_with("*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if let Some(end) = raw_string_end(rest) {
            i += end;
            out.push_str("\"\"");
        } else if rest.starts_with('"') {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if let Some(end) = char_literal_end(rest) {
            i += end;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The length of a raw string literal (`r"…"`, `r#"…"#`, `br"…"`) at the start of `text`.
fn raw_string_end(text: &str) -> Option<usize> {
    let after_b = text.strip_prefix('b').unwrap_or(text);
    let after_r = after_b.strip_prefix('r')?;
    let hashes = after_r.bytes().take_while(|&b| b == b'#').count();
    let body = after_r[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = body.find(&close)?;
    Some(text.len() - body.len() + end + close.len())
}

/// The length of a char literal (`'a'`, `'\n'`, `'\''`) at the start of `text`; None for a
/// lifetime (`'a`).
fn char_literal_end(text: &str) -> Option<usize> {
    let body = text.strip_prefix('\'')?;
    let mut chars = body.char_indices();
    let (_, first) = chars.next()?;
    let after = if first == '\\' {
        // An escape: up to the closing quote.
        body[1..].find('\'')? + 2
    } else {
        first.len_utf8()
    };
    body[after..].starts_with('\'').then_some(after + 2)
}

/// Identifier characters.
fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The path trees in `code` that start at the crate root — `crate::…`, `goready::…`,
/// `super::…` — as written after that root, whitespace removed: `cli::X`, `{cli,model}`.
fn rooted_paths(code: &str) -> Vec<String> {
    let compact = compact(code);
    let mut found = Vec::new();
    for root in ["crate::", "goready::", "super::"] {
        let mut from = 0;
        while let Some(at) = compact[from..].find(root) {
            let start = from + at;
            from = start + root.len();
            // `foo_crate::` or `my_goready::` is another path.
            if compact[..start].chars().next_back().is_some_and(ident_char) {
                continue;
            }
            let mut rest = &compact[from..];
            while let Some(r) = rest.strip_prefix("super::") {
                rest = r;
            }
            found.push(tree(rest).to_string());
        }
    }
    found
}

/// `code` with whitespace dropped, except one space between two words (`use crate`), so
/// that `crate :: cli` and `crate::cli` read the same.
fn compact(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut pending_space = false;
    for c in code.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && ident_char(c) && out.chars().next_back().is_some_and(ident_char) {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

/// The path tree at the start of `text`: up to the end of a brace group, or of the path.
fn tree(text: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return &text[..i],
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..=i];
                }
            }
            c if depth == 0 && !(ident_char(c) || c == ':') => return &text[..i],
            _ => {}
        }
    }
    text
}

/// Whether a path tree (as [`rooted_paths`] gives it) reaches the `cli` module: its first
/// segment is `cli`, or, for a brace group, one of its top-level items starts with `cli`.
fn reaches_cli(tree: &str) -> bool {
    let first_is_cli = |item: &str| {
        let segment: String = item.chars().take_while(|&c| ident_char(c)).collect();
        segment == "cli"
    };
    let Some(inner) = tree.strip_prefix('{') else {
        return first_is_cli(tree);
    };
    group_items(inner).iter().any(|i| first_is_cli(i))
}

/// The items of a use group's inside (`a::B, c::{d, e}` of `{a::B, c::{d, e}}`), split at
/// its top-level commas.
fn group_items(inner: &str) -> Vec<String> {
    let inner = inner.strip_suffix('}').unwrap_or(inner);
    let mut depth = 0usize;
    let mut item = String::new();
    let mut items = Vec::new();
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items.push(item);
    items
}

/// The lines of `source` whose code reaches the `cli` module.
fn cli_imports(source: &str) -> Vec<String> {
    let code = code_only(source);
    let mut found: Vec<String> = rooted_paths(&code)
        .into_iter()
        .filter(|t| reaches_cli(t))
        .collect();
    found.dedup();
    found
}

#[test]
fn nothing_below_the_cli_imports_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let cli = root.join("src").join("cli");
    let main = root.join("src").join("main.rs");
    let mut offenders = Vec::new();
    let mut read = 0;
    for file in &files {
        if file.starts_with(&cli) || *file == main {
            continue;
        }
        read += 1;
        let source = std::fs::read_to_string(file).unwrap();
        for path in cli_imports(&source) {
            offenders.push(format!(
                "{}: …::{path}",
                file.strip_prefix(root).unwrap().display()
            ));
        }
    }
    assert!(read > 20, "read only {read} files under src/");
    assert!(
        offenders.is_empty(),
        "modules below the CLI must not import it (pass what they need in their Options):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_way_of_naming_the_cli_is_caught() {
    for source in [
        "use crate::cli::EXIT_USAGE;",
        "use crate::cli::{BuildArgs, EnvArgs};",
        "use crate::{cli, model};",
        "use crate::{model::Report, cli::OutputFormat};",
        "use crate::{\n    config,\n    cli::{self, InitArgs},\n};",
        "use crate :: cli;",
        "use goready::cli::Cli;",
        "use super::super::cli::finish;",
        "fn f() -> u8 { crate::cli::EXIT_USAGE }",
        "let m = crate::cli::Cli::command();",
        "use crate::cli as top;",
    ] {
        assert!(!cli_imports(source).is_empty(), "not caught: {source}");
    }
}

#[test]
fn other_paths_comments_and_strings_are_not_the_cli() {
    for source in [
        "use crate::config::{self, Config};",
        "use crate::{client, model};",
        "use crate::clippy::X;",
        "use crate::{model::cli_like, report};",
        "// goready::cli::main parses the arguments\nuse crate::model;",
        "/// Called from `crate::cli::finish`.\nfn f() {}",
        "/* crate::cli /* nested */ crate::cli */ use crate::env;",
        "let s = \"crate::cli::X\";",
        "let s = r#\"use crate::cli;\"#;",
        "fn f<'a>(x: &'a str) -> char { 'c' }",
        "use my_crate::cli::X;",
    ] {
        assert_eq!(cli_imports(source), Vec::<String>::new(), "{source}");
    }
}

/// Whether `code` (comments and literals removed) names the crate `name` as a word.
fn names_crate(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + name.len()..].chars().next();
        !before.is_some_and(ident_char) && !after.is_some_and(ident_char)
    })
}

#[test]
fn clap_is_used_only_in_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let cli = root.join("src").join("cli");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(&cli))
        .filter(|f| names_crate(&code_only(&std::fs::read_to_string(f).unwrap()), "clap"))
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "clap belongs to src/cli (describe settings in src/settings.rs):\n{}",
        offenders.join("\n")
    );
    assert!(names_crate(
        &code_only("#[derive(clap::ValueEnum)]"),
        "clap"
    ));
    assert!(!names_crate(
        &code_only("// clap\nlet clapper = 1;"),
        "clap"
    ));
}

/// `code` (as [`code_only`] gives it) up to its unit tests: a `#[cfg(test)]` module may
/// print what it likes.
fn before_tests(code: &str) -> &str {
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]") {
        let start = from + at;
        from = start + "#[cfg(test)]".len();
        if code[from..].trim_start().starts_with("mod ") {
            return &code[..start];
        }
    }
    code
}

/// What only the CLI may do: print, exit, park a thread forever.
const CLI_ONLY: &[&str] = &[
    "println!",
    "eprintln!",
    "print!",
    "eprint!",
    "dbg!",
    "process::exit",
    "thread::park",
];

/// The [`CLI_ONLY`] names `code` uses (outside its unit tests), each where it stands alone.
fn cli_only_uses(source: &str) -> Vec<&'static str> {
    let code = code_only(source);
    let code = before_tests(&code);
    CLI_ONLY
        .iter()
        .copied()
        .filter(|name| {
            code.match_indices(name)
                .any(|(at, _)| !code[..at].chars().next_back().is_some_and(ident_char))
        })
        .collect()
}

#[test]
fn nothing_below_the_cli_prints_exits_or_parks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let cli = root.join("src").join("cli");
    let main = root.join("src").join("main.rs");
    let mut offenders = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(&cli) && **f != main) {
        let source = std::fs::read_to_string(file).unwrap();
        for name in cli_only_uses(&source) {
            offenders.push(format!(
                "{}: {name}",
                file.strip_prefix(root).unwrap().display()
            ));
        }
    }
    assert!(
        offenders.is_empty(),
        "below the CLI, progress goes to a progress::Sink and a stop is a cancel::Stopped \
         returned to the CLI:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn printing_exiting_and_parking_are_caught_but_not_in_tests_or_comments() {
    assert_eq!(cli_only_uses("fn f() { eprintln!(\"x\"); }"), ["eprintln!"]);
    assert_eq!(cli_only_uses("fn f() { print!(\"x\"); }"), ["print!"]);
    assert_eq!(
        cli_only_uses("fn f() -> ! { std::process::exit(2) }"),
        ["process::exit"]
    );
    assert_eq!(
        cli_only_uses("fn f() { loop { std::thread::park(); } }"),
        ["thread::park"]
    );
    assert!(cli_only_uses("// eprintln!(\"x\")\nfn f() { let _ = \"println!\"; }").is_empty());
    assert!(cli_only_uses("fn my_eprintln() {}\nfn f() { my_eprintln(); }").is_empty());
    assert!(
        cli_only_uses("fn f() {}\n#[cfg(test)]\nmod tests {\n    fn g() { println!(\"x\"); }\n}\n")
            .is_empty()
    );
    assert_eq!(
        cli_only_uses("#[cfg(test)]\nfn only_in_tests() {}\nfn f() { dbg!(1); }"),
        ["dbg!"]
    );
}

// ---------------------------------------------------------------------------------------------
// The rooms: no circle between top-level modules, and renderers read the model only.
// ---------------------------------------------------------------------------------------------

/// The rooms that run a step: a renderer (src/report/) reads their results through the model,
/// never their code.
const STEP_ROOMS: &[&str] = &[
    "build", "env", "gotest", "image", "inspect", "plan", "pprof", "probe", "sbom", "vuln",
];

/// `code` without its `#[cfg(test)]` modules: a test may use what it tests from above (the
/// model's tests use the rule registry), and that is no edge of the built library.
fn without_test_modules(code: &str) -> String {
    let compact_attr = |s: &str| s.split_whitespace().collect::<String>();
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let is_mod = trimmed.starts_with("mod ") && {
            let head: String = trimmed
                .chars()
                .take_while(|&c| c != '{' && c != ';')
                .collect();
            compact_attr(&head).starts_with("mod") && trimmed[head.len()..].starts_with('{')
        };
        if !is_mod {
            out.push_str(&rest[..at + "#[cfg(test)]".len()]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..at]);
        let open = after.find('{').unwrap();
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The module path of a file under src/: `src/probe/gather.rs` → [probe, gather],
/// `src/probe/mod.rs` → [probe], `src/model.rs` → [model].
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.strip_suffix(".rs").unwrap_or(&last);
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// The first segment of each item of a path tree (`{a::B, c}` → a, c; `x::Y` → x).
fn first_segments(tree: &str) -> Vec<Vec<String>> {
    let split = |t: &str| -> Vec<String> {
        t.split("::")
            .map(|s| s.chars().take_while(|&c| ident_char(c)).collect::<String>())
            .take_while(|s| !s.is_empty())
            .collect()
    };
    let Some(inner) = tree.strip_prefix('{') else {
        return vec![split(tree)];
    };
    group_items(inner).iter().map(|i| split(i.trim())).collect()
}

/// The top-level rooms a file's code names, each with how it was written. `super::` is
/// resolved from the file's own module; `X::data` of a room whose data.rs is a leaf counts
/// as that leaf, not the room.
fn rooms_named(
    module: &[String],
    source: &str,
    rooms: &std::collections::BTreeSet<String>,
    leaves: &std::collections::BTreeSet<String>,
) -> Vec<(String, String)> {
    let code = without_test_modules(&code_only(source));
    let compact = compact(&code);
    let mut found = Vec::new();
    for root in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = compact[from..].find(root) {
            let start = from + at;
            from = start + root.len();
            if compact[..start].chars().next_back().is_some_and(ident_char)
                || compact[..start].ends_with("::")
            {
                continue;
            }
            let mut base: Vec<String> = if root == "crate::" {
                Vec::new()
            } else {
                module[..module.len().saturating_sub(1)].to_vec()
            };
            let mut rest = &compact[from..];
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            let tree = tree(rest);
            for segs in first_segments(tree) {
                let full: Vec<String> = base.iter().cloned().chain(segs).collect();
                let Some(top) = full.first() else { continue };
                if !rooms.contains(top) {
                    continue;
                }
                let node = match full.get(1) {
                    Some(second) if leaves.contains(&format!("{top}::{second}")) => {
                        format!("{top}::{second}")
                    }
                    _ => top.clone(),
                };
                found.push((node, format!("{root}{tree}")));
            }
        }
    }
    found
}

/// The top-level modules lib.rs declares.
fn rooms(src: &Path) -> std::collections::BTreeSet<String> {
    let lib = code_only(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').trim().to_string())
        .collect()
}

/// A room's `data.rs` that names nothing of the crate: types shared by a rule and its
/// renderers through the model, so depending on it is depending on no room.
fn data_leaves(
    src: &Path,
    rooms: &std::collections::BTreeSet<String>,
) -> std::collections::BTreeSet<String> {
    rooms
        .iter()
        .filter(|r| *r != "model")
        .filter_map(|r| {
            let file = src.join(r).join("data.rs");
            let code = code_only(&std::fs::read_to_string(file).ok()?);
            let free = !compact(&code).contains("crate::") && !compact(&code).contains("super::");
            free.then(|| format!("{r}::data"))
        })
        .collect()
}

/// Edges between rooms: (from, to) → the first place and path that makes it.
type Edges = std::collections::BTreeMap<(String, String), String>;

/// Every edge between top-level rooms in the files under `src`, plus `extra` files given as
/// (path under src, source) in place of what is on disk.
fn room_edges(src: &Path, extra: &[(&str, &str)]) -> Edges {
    let rooms = rooms(src);
    let leaves = data_leaves(src, &rooms);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut sources: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter(|f| {
            !matches!(
                f.file_name().and_then(|n| n.to_str()),
                Some("lib.rs" | "main.rs")
            ) || f.parent() != Some(src)
        })
        .map(|f| {
            let s = std::fs::read_to_string(&f).unwrap();
            (f, s)
        })
        .collect();
    for (rel, source) in extra {
        sources.push((src.join(rel), source.to_string()));
    }
    let mut edges = Edges::new();
    for (file, source) in &sources {
        let module = module_path(src, file);
        let Some(from) = module.first() else { continue };
        let from = match module.get(1) {
            Some(second) if leaves.contains(&format!("{from}::{second}")) => {
                format!("{from}::{second}")
            }
            _ => from.clone(),
        };
        for (to, path) in rooms_named(&module, source, &rooms, &leaves) {
            if to != from {
                let at = format!(
                    "{}: {path}",
                    file.strip_prefix(src.parent().unwrap()).unwrap().display()
                );
                edges.entry((from.clone(), to)).or_insert(at);
            }
        }
    }
    edges
}

/// A circle through the rooms, if there is one: the rooms in order, the first repeated last.
fn a_circle(edges: &Edges) -> Option<Vec<String>> {
    let mut next: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    // Depth-first search with an explicit path; 0 unvisited, 1 on the path, 2 done.
    let mut state: std::collections::BTreeMap<&str, u8> = Default::default();
    fn visit<'a>(
        n: &'a str,
        next: &std::collections::BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut std::collections::BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(n, 1);
        path.push(n);
        for &m in next.get(n).map(Vec::as_slice).unwrap_or_default() {
            match state.get(m).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|&p| p == m).unwrap();
                    let mut circle: Vec<String> =
                        path[from..].iter().map(|s| s.to_string()).collect();
                    circle.push(m.to_string());
                    return Some(circle);
                }
                0 => {
                    if let Some(c) = visit(m, next, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n, 2);
        None
    }
    let nodes: Vec<&str> = next.keys().copied().collect();
    for n in nodes {
        if state.get(n).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, &next, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn describe_circle(circle: &[String], edges: &Edges) -> String {
    circle
        .windows(2)
        .map(|w| {
            format!(
                "{} → {} ({})",
                w[0],
                w[1],
                edges[&(w[0].clone(), w[1].clone())]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The renderers' imports of step rooms.
fn renderer_reaches(edges: &Edges) -> Vec<String> {
    edges
        .iter()
        .filter(|((from, to), _)| from == "report" && STEP_ROOMS.contains(&to.as_str()))
        .map(|((_, to), at)| format!("report → {to} ({at})"))
        .collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_circle_between_top_level_modules() {
    let edges = room_edges(&src(), &[]);
    assert!(
        edges.len() > 20,
        "found only {} edges: {edges:?}",
        edges.len()
    );
    // The edges the house is built on are seen (so a circle through them would be too).
    for edge in [
        ("report", "model"),
        ("registry", "model"),
        ("inspect", "model"),
        ("model", "vuln::data"),
    ] {
        assert!(
            edges.contains_key(&(edge.0.to_string(), edge.1.to_string())),
            "no edge {edge:?} in {edges:#?}"
        );
    }
    if let Some(circle) = a_circle(&edges) {
        panic!(
            "a circle between top-level modules:\n{}",
            describe_circle(&circle, &edges)
        );
    }
}

#[test]
fn renderers_read_the_model_not_the_step_rooms() {
    let edges = room_edges(&src(), &[]);
    let reaches = renderer_reaches(&edges);
    assert!(
        reaches.is_empty(),
        "renderers import step rooms:\n{}",
        reaches.join("\n")
    );
}

#[test]
fn a_planted_import_is_caught() {
    // The model naming the registry closes a circle (registry → model → registry).
    let planted = room_edges(
        &src(),
        &[("model/planted.rs", "use crate::registry::find;\n")],
    );
    let circle = a_circle(&planted).expect("model → registry closes a circle");
    assert!(
        circle.contains(&"model".to_string()) && circle.contains(&"registry".to_string()),
        "{circle:?}"
    );
    // So does a step room named from the model by `super::`.
    let planted = room_edges(
        &src(),
        &[(
            "model/planted.rs",
            "fn f() { super::super::probe::spark(); }\n",
        )],
    );
    assert!(a_circle(&planted).is_some());
    // A renderer reaching into a step room, as markdown.rs once did for human_bytes.
    let planted = room_edges(
        &src(),
        &[(
            "report/planted.rs",
            "use crate::{model::Report, inspect::rules::human_bytes};\n",
        )],
    );
    assert_eq!(renderer_reaches(&planted).len(), 1, "{planted:#?}");
    // A data leaf stays a leaf: the model may name it, and a test module naming anything is
    // no edge.
    let fine = room_edges(
        &src(),
        &[(
            "model/planted.rs",
            "use crate::vuln::data::VulnData;\n#[cfg(test)]\nmod tests {\n    use crate::registry;\n}\n",
        )],
    );
    assert!(a_circle(&fine).is_none(), "{:?}", a_circle(&fine));
}

#[test]
fn a_data_leaf_names_nothing_of_the_crate() {
    let rooms = rooms(&src());
    let leaves = data_leaves(&src(), &rooms);
    assert!(leaves.contains("vuln::data"), "{leaves:?}");
    for room in &rooms {
        let file = src().join(room).join("data.rs");
        if room != "model" && file.exists() {
            assert!(
                leaves.contains(&format!("{room}::data")),
                "{} names the crate: a room's data types must be a leaf (or live in model::data)",
                file.display()
            );
        }
    }
}
