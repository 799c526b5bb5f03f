//! The readable table `goready inspect` prints for one binary.

use std::fmt::Write;

use super::facts::BinaryFacts;
use crate::human;

/// `key: value` lines for one binary (and each slice of a universal file).
pub fn facts_table(f: &BinaryFacts) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", f.path);
    write_facts(&mut out, f, "  ");
    for slice in &f.slices {
        let _ = writeln!(out, "  slice {}:", slice.arch);
        write_facts(&mut out, slice, "    ");
    }
    out.push('\n');
    out
}

fn write_facts(out: &mut String, f: &BinaryFacts, pad: &str) {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let opt = |v: Option<bool>| v.map(yes_no).unwrap_or("n/a");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(out, "{pad}{k:<19}{v}");
    };
    row(
        "format",
        format!("{} {} ({})", f.format.name(), f.arch, human::bytes(f.size)),
    );
    row("goos", f.goos.clone().unwrap_or_else(|| "unknown".into()));
    let mut linkage = format!("{:?}", f.linkage).to_lowercase();
    if let Some(i) = &f.interpreter {
        let _ = write!(linkage, ", interpreter {i}");
    }
    row("linkage", linkage);
    if !f.needed.is_empty() {
        row("needed", f.needed.join(", "));
    }
    row("libc", f.libc.clone().unwrap_or_else(|| "none".into()));
    row("symbols stripped", yes_no(f.symbols_stripped).into());
    row("dwarf", yes_no(f.dwarf).into());
    row(
        "pclntab",
        match (&f.pclntab.version, f.pclntab.functions) {
            (Some(v), Some(n)) => format!("go{v} layout, {n} functions"),
            _ => "not found".into(),
        },
    );
    match &f.buildinfo {
        Some(b) => {
            let main = b
                .main
                .as_ref()
                .map(|m| format!("{} {}", m.path, m.version))
                .unwrap_or_else(|| "no main module".into());
            row("go", b.go_version.clone());
            row("main module", main);
            row("dependencies", b.deps.len().to_string());
            for key in ["-trimpath", "CGO_ENABLED", "vcs.revision", "vcs.modified"] {
                if let Some(v) = b.settings.get(key) {
                    row(&format!("build {key}"), v.clone());
                }
            }
        }
        None => row(
            "buildinfo",
            f.buildinfo_error.clone().unwrap_or_else(|| "none".into()),
        ),
    }
    row("pie", opt(f.pie).into());
    if let Some(r) = f.relro {
        row("relro", format!("{r:?}").to_lowercase());
    }
    row("nx", opt(f.nx).into());
    row("cgo", opt(f.cgo).into());
    row("pprof linked", yes_no(f.pprof_linked).into());
    for (k, v) in &f.version_vars {
        row(k, format!("{v:?}"));
    }
    if let Some(v) = &f.expected_version {
        row(
            "expected version",
            format!(
                "{} {} ({})",
                v.expected,
                if v.found { "found" } else { "NOT found" },
                v.evidence
            ),
        );
    }
}
