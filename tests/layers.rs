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
    items.iter().any(|i| first_is_cli(i))
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
