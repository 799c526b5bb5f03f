//! Where in go.mod a finding belongs: the `require` line of the affected module, the `go`
//! line for the standard library (the `toolchain` line, else `go`, for the toolchain). Code
//! scanning wants a file and a line for every result; this is the line a fix edits.

use std::collections::HashMap;

/// The lines of one go.mod that findings point at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoMod {
    /// The `module` path.
    pub module: String,
    /// The `go` directive's line.
    pub go_line: Option<u32>,
    /// The `toolchain` directive's line.
    pub toolchain_line: Option<u32>,
    /// Module path → its `require` line (1-based).
    pub requires: HashMap<String, u32>,
}

/// Strips a `//` comment and surrounding space.
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("").trim()
}

/// A go.mod token: bare, or double/back-quoted.
fn unquote(tok: &str) -> String {
    tok.trim_matches(|c| c == '"' || c == '`').to_string()
}

impl GoMod {
    /// Reads the directives findings need; what it does not understand it skips (go.mod is
    /// the go command's to validate).
    pub fn parse(text: &str) -> GoMod {
        let mut out = GoMod::default();
        let mut in_require = false;
        let mut in_other_block = false;
        for (i, raw) in text.lines().enumerate() {
            let n = (i + 1) as u32;
            let line = code(raw);
            if line.is_empty() {
                continue;
            }
            if in_require || in_other_block {
                if line == ")" {
                    in_require = false;
                    in_other_block = false;
                } else if in_require && let Some(path) = line.split_whitespace().next() {
                    out.requires.entry(unquote(path)).or_insert(n);
                }
                continue;
            }
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("module"), Some(path)) => out.module = unquote(path),
                (Some("go"), Some(_)) => out.go_line = Some(n),
                (Some("toolchain"), Some(_)) => out.toolchain_line = Some(n),
                (Some("require"), Some("(")) => in_require = true,
                (Some("require"), Some(path)) => {
                    out.requires.entry(unquote(path)).or_insert(n);
                }
                (Some(_), Some("(")) => in_other_block = true,
                _ => {}
            }
        }
        out
    }

    /// The line a finding about `module` points at.
    pub fn line_for(&self, module: &str) -> Option<u32> {
        match module {
            super::matching::STDLIB => self.go_line,
            super::matching::TOOLCHAIN => self.toolchain_line.or(self.go_line),
            m => self.requires.get(m).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_require_go_and_toolchain_lines() {
        let m = GoMod::parse(
            "// header\nmodule example.com/svc\n\ngo 1.22\n\ntoolchain go1.26.8\n\nrequire golang.org/x/net v0.1.0\n\nrequire (\n\tgolang.org/x/text v0.3.7 // indirect\n\t\"github.com/a/b\" v1.0.0\n)\n\nreplace (\n\tgolang.org/x/zzz => ../zzz\n)\n",
        );
        assert_eq!(m.module, "example.com/svc");
        assert_eq!(m.line_for("stdlib"), Some(4));
        assert_eq!(m.line_for("toolchain"), Some(6));
        assert_eq!(m.line_for("golang.org/x/net"), Some(8));
        assert_eq!(m.line_for("golang.org/x/text"), Some(11));
        assert_eq!(m.line_for("github.com/a/b"), Some(12));
        assert_eq!(m.line_for("golang.org/x/zzz"), None);
        let _ = GoMod::parse("require (\n(\n)\n)\nmodule\n\"\n");
    }
}
