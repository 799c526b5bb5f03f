//! A reader for the parts of go.mod the env rules need: `module`, `go`, `toolchain`,
//! `require` and `replace`, each with its line number. It follows the grammar of
//! `golang.org/x/mod/modfile` (single lines and `verb ( … )` blocks, `//` comments, quoted
//! paths) without judging anything; unknown directives are skipped.

use serde::Serialize;

/// A directive's value and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct At {
    /// The value as written (`1.22.0`, `go1.23.4`).
    pub value: String,
    /// 1-based line in go.mod.
    pub line: u32,
}

/// One `require` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Require {
    /// Module path.
    pub path: String,
    /// Required version.
    pub version: String,
    /// Marked `// indirect`.
    pub indirect: bool,
    /// 1-based line in go.mod.
    pub line: u32,
}

/// One `replace` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replace {
    /// The replaced module path.
    pub old_path: String,
    /// The replacement: a module path or a directory (`./dep`, `../x`, `/abs`).
    pub new_path: String,
    /// The replacement's version; empty for a directory.
    pub new_version: String,
}

impl Replace {
    /// True when the replacement is a directory on disk: such modules have no go.sum lines.
    pub fn is_local(&self) -> bool {
        let p = &self.new_path;
        p.starts_with("./")
            || p.starts_with("../")
            || p.starts_with('/')
            || p == "."
            || p == ".."
            || p.starts_with(".\\")
            || p.starts_with("..\\")
            || (p.len() > 2 && p.as_bytes()[1] == b':')
    }
}

/// What go.mod says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GoMod {
    /// The module path.
    pub module: Option<At>,
    /// The `go` line.
    pub go: Option<At>,
    /// The `toolchain` line.
    pub toolchain: Option<At>,
    /// Every requirement.
    pub require: Vec<Require>,
    /// Every replacement.
    pub replace: Vec<Replace>,
}

impl GoMod {
    /// Parses go.mod text. Lines it cannot make sense of are skipped: `go` itself reports
    /// syntax errors better, and the rules only need the directives above.
    pub fn parse(text: &str) -> GoMod {
        let mut m = GoMod::default();
        let mut block: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let (code, comment) = split_comment(raw);
            let tokens = tokenize(code);
            if tokens.is_empty() {
                continue;
            }
            if let Some(verb) = &block {
                if tokens.len() == 1 && tokens[0] == ")" {
                    block = None;
                    continue;
                }
                let verb = verb.clone();
                m.directive(&verb, &tokens, comment, line);
                continue;
            }
            if tokens.len() == 2 && tokens[1] == "(" {
                block = Some(tokens[0].clone());
                continue;
            }
            m.directive(&tokens[0], &tokens[1..], comment, line);
        }
        m
    }

    fn directive(&mut self, verb: &str, args: &[String], comment: &str, line: u32) {
        let at = |v: &String| At {
            value: v.clone(),
            line,
        };
        match (verb, args) {
            ("module", [path]) => self.module = Some(at(path)),
            ("go", [v]) => self.go = Some(at(v)),
            ("toolchain", [v]) => self.toolchain = Some(at(v)),
            ("require", [path, version]) => self.require.push(Require {
                path: path.clone(),
                version: version.clone(),
                indirect: comment.trim() == "indirect" || comment.trim().starts_with("indirect;"),
                line,
            }),
            ("replace", _) => {
                let Some(arrow) = args.iter().position(|a| a == "=>") else {
                    return;
                };
                let (Some(old_path), Some(new_path)) = (args.first(), args.get(arrow + 1)) else {
                    return;
                };
                self.replace.push(Replace {
                    old_path: old_path.clone(),
                    new_path: new_path.clone(),
                    new_version: args.get(arrow + 2).cloned().unwrap_or_default(),
                });
            }
            _ => {}
        }
    }

    /// Requirements whose content is checked against go.sum: those not replaced by a local
    /// directory.
    pub fn summed_requirements(&self) -> impl Iterator<Item = &Require> {
        self.require.iter().filter(|r| {
            !self
                .replace
                .iter()
                .any(|rep| rep.old_path == r.path && rep.is_local())
        })
    }
}

/// Splits `code // comment`, ignoring `//` inside quoted strings.
fn split_comment(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == b'\\' && q == b'"' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'`' => quote = Some(b),
            None if b == b'/' && bytes.get(i + 1) == Some(&b'/') => {
                return (&line[..i], &line[i + 2..]);
            }
            None => {}
        }
        i += 1;
    }
    (line, "")
}

/// Splits on whitespace; `"…"` and `` `…` `` are one token each (unquoted). `(`, `)` and
/// `=>` stand alone even without spaces around them.
fn tokenize(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '`' {
            chars.next();
            let mut s = String::new();
            while let Some(ch) = chars.next() {
                if ch == c {
                    break;
                }
                if ch == '\\' && c == '"' {
                    if let Some(esc) = chars.next() {
                        s.push(esc);
                    }
                    continue;
                }
                s.push(ch);
            }
            tokens.push(s);
        } else if c == '(' || c == ')' {
            chars.next();
            tokens.push(c.to_string());
        } else {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '"' || ch == '`' {
                    break;
                }
                if ch == '=' && s.is_empty() {
                    // `=>` as its own token.
                    chars.next();
                    if chars.peek() == Some(&'>') {
                        chars.next();
                        s.push_str("=>");
                        break;
                    }
                    s.push('=');
                    continue;
                }
                if ch == '=' {
                    break;
                }
                s.push(ch);
                chars.next();
            }
            tokens.push(s);
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_directives_blocks_and_comments() {
        let m = GoMod::parse(
            "// a comment\nmodule \"example.com/svc\" // trailing\n\ngo 1.22.0\ntoolchain go1.23.4\n\
             require (\n\texample.com/a v1.2.3\n\texample.com/b v0.1.0 // indirect\n)\n\
             require example.com/c v2.0.0+incompatible\n\
             replace example.com/a => ./third_party/a\n\
             replace (\n  example.com/b v0.1.0 => example.com/fork v0.1.1\n)\n\
             exclude example.com/z v1.0.0\n",
        );
        assert_eq!(m.module.as_ref().unwrap().value, "example.com/svc");
        assert_eq!(
            m.go,
            Some(At {
                value: "1.22.0".into(),
                line: 4
            })
        );
        assert_eq!(m.toolchain.as_ref().unwrap().line, 5);
        assert_eq!(m.require.len(), 3);
        assert!(!m.require[0].indirect);
        assert!(m.require[1].indirect);
        assert_eq!(m.require[2].line, 10);
        assert_eq!(m.replace.len(), 2);
        assert!(m.replace[0].is_local());
        assert!(!m.replace[1].is_local());
        assert_eq!(m.replace[1].new_version, "v0.1.1");
        let summed: Vec<_> = m.summed_requirements().map(|r| r.path.as_str()).collect();
        assert_eq!(summed, ["example.com/b", "example.com/c"]);
    }

    #[test]
    fn arrow_without_spaces_and_garbage_do_not_panic() {
        let m = GoMod::parse("replace a=>./b\nreplace =>\nrequire (\ngo\n\"unterminated\n)))\n");
        assert_eq!(m.replace.len(), 1);
        assert_eq!(m.replace[0].new_path, "./b");
        for junk in [
            "\u{0}\u{1}(",
            "require (",
            "(((",
            "\"",
            "`",
            "=>=>",
            "//",
            "go 1 2",
        ] {
            let _ = GoMod::parse(junk);
        }
    }
}
