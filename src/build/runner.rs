//! Running the matrix: each target's build announced as events (the workers are
//! [`crate::pool`]'s), and `go build`'s output read into facts (the compiler's
//! `file:line:col: message` diagnostics, a missing C compiler).

use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::matrix::Target;
use crate::progress::{Event, Sink};
use crate::step::Step;

/// One compiler diagnostic, located in the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, relative to goready's working directory when it is under it.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, when the compiler gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The compiler's message.
    pub message: String,
}

/// Source file extensions whose diagnostics can point at code (Go, and C through cgo).
const SOURCE_EXTENSIONS: &[&str] = &[
    "go", "c", "h", "s", "S", "cc", "cpp", "cxx", "hh", "hpp", "m", "f", "F", "f90",
];

/// Reads `go build` output into diagnostics. `dir` is where `go` ran (its paths are relative
/// to it), `cwd` where goready runs (the paths in checks are relative to it, so CI
/// annotations point at the repository's files).
pub fn diagnostics(output: &str, dir: &Path, cwd: &Path) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| parse_diagnostic(line.trim_start()))
        .map(|(file, line, column, message)| Diagnostic {
            file: display_path(dir, Path::new(file), cwd),
            line,
            column,
            message: message.to_string(),
        })
        .collect()
}

/// `path:line[:col]: message` → parts. The path must end in a source extension, which keeps
/// `exec: "gcc": …` and similar lines out.
fn parse_diagnostic(line: &str) -> Option<(&str, u32, Option<u32>, &str)> {
    for (colon, _) in line.match_indices(':') {
        let path = &line[..colon];
        let ext = path.rsplit_once('.').map(|(_, e)| e);
        if path.is_empty()
            || path.contains(char::is_whitespace) && !path.contains(['/', '\\'])
            || !ext.is_some_and(|e| SOURCE_EXTENSIONS.contains(&e))
        {
            continue;
        }
        let rest = &line[colon + 1..];
        let (line_no, rest) = leading_number(rest)?;
        let rest = rest.strip_prefix(':')?;
        let (column, rest) = match leading_number(rest) {
            Some((col, after)) => (Some(col), after.strip_prefix(':')?),
            None => (None, rest),
        };
        if line_no == 0 {
            return None;
        }
        return Some((path, line_no, column, rest.trim()));
    }
    None
}

fn leading_number(s: &str) -> Option<(u32, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n = s[..digits].parse().ok()?;
    Some((n, &s[digits..]))
}

/// `dir/file` made relative to `cwd` when it is inside it (lexically: `.` and `..` are
/// resolved without touching the file system); absolute otherwise.
pub fn display_path(dir: &Path, file: &Path, cwd: &Path) -> String {
    let joined = normalize(&cwd.join(dir).join(file));
    let cwd = normalize(cwd);
    match joined.strip_prefix(&cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        _ => joined.to_string_lossy().into_owned(),
    }
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// True when the build failed because the C compiler cgo needs is missing.
pub fn missing_c_compiler(output: &str) -> bool {
    output.lines().any(|l| {
        let l = l.trim();
        l.starts_with("cgo: C compiler") && l.contains("not found")
            || l.contains("exec: \"gcc\": executable file not found")
            || l.contains("exec: \"clang\": executable file not found")
    })
}

/// Runs `job` for one target between its [`Event::Started`] and [`Event::Finished`]: the
/// job returns its result, whether it went well, and a one-line summary (the elapsed time is
/// added).
pub fn timed<R>(
    target: &Target,
    sink: &dyn Sink,
    job: impl FnOnce(&Target) -> (R, bool, String),
) -> R {
    let label = target.label();
    sink.emit(Event::Started {
        step: Step::Build,
        item: label.clone(),
    });
    let started = Instant::now();
    let (result, ok, summary) = job(target);
    sink.emit(Event::Finished {
        step: Step::Build,
        item: label,
        ok,
        detail: format!("{summary} ({:.1}s)", started.elapsed().as_secs_f64()),
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_diagnostics_are_located_relative_to_the_working_directory() {
        let out = "# example.com/broken/cmd/svc\n\
                   cmd/svc/main.go:7:14: cannot use \"nope\" (untyped string constant) as int value\n\
                   cmd/svc/main.go:8:2: undefined: undefinedThing\n\
                   ./stamp.go:5:10: error: expected ';' after top level declarator\n\
                   /root/go/pkg/mod/x.com/y@v1/z.go:3: syntax error\n\
                   cgo: C compiler \"cc\" not found: exec: \"cc\": executable file not found in $PATH\n\
                   note: module requires Go 1.99\n";
        let cwd = Path::new("/repo");
        let d = diagnostics(out, Path::new("services/api"), cwd);
        assert_eq!(d.len(), 4, "{d:#?}");
        assert_eq!(d[0].file, "services/api/cmd/svc/main.go");
        assert_eq!((d[0].line, d[0].column), (7, Some(14)));
        assert!(d[0].message.starts_with("cannot use"));
        assert_eq!(d[2].file, "services/api/stamp.go");
        assert_eq!(d[3].file, "/root/go/pkg/mod/x.com/y@v1/z.go");
        assert_eq!((d[3].line, d[3].column), (3, None));
        assert!(missing_c_compiler(out));
        assert!(!missing_c_compiler("main.go:1:1: expected 'package'"));
    }

    #[test]
    fn paths_outside_the_working_directory_stay_absolute() {
        let cwd = Path::new("/repo/sub");
        assert_eq!(
            display_path(Path::new("../other"), Path::new("main.go"), cwd),
            "/repo/other/main.go"
        );
        assert_eq!(
            display_path(Path::new("."), Path::new("./main.go"), cwd),
            "main.go"
        );
    }

    #[test]
    fn a_target_is_announced_before_and_after_its_job_with_the_job_summary() {
        let rec = crate::progress::Recorder::new();
        let target = Target::new("linux", "arm64", false);
        let out = timed(&target, &rec, |t| {
            (t.goarch.clone(), false, "compile error".into())
        });
        assert_eq!(out, "arm64");
        let events = rec.events();
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            matches!(&events[0], Event::Started { step: Step::Build, item } if item == "linux/arm64 cgo=0"),
            "{events:?}"
        );
        assert!(
            matches!(&events[1], Event::Finished { item, ok: false, detail, .. }
                if item == "linux/arm64 cgo=0" && detail.starts_with("compile error (")),
            "{events:?}"
        );
    }
}
