//! Running the matrix: a fixed number of workers (`--jobs`) take targets in matrix order, a
//! progress display follows them, and `go build`'s output is read into facts (the compiler's
//! `file:line:col: message` diagnostics, a missing C compiler).

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::matrix::Target;

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

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar (stderr is a terminal and CI is not set).
    Bar,
    /// One line per finished target (CI logs, pipes).
    Lines,
    /// Nothing.
    Quiet,
}

impl ProgressMode {
    /// A bar on a terminal, plain lines in CI (`CI=true`) or when stderr is not a terminal.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        if std::io::stderr().is_terminal() && !ci {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// The progress display: shared by the workers.
pub struct Progress {
    mode: ProgressMode,
    bar: Option<indicatif::ProgressBar>,
    building: Mutex<Vec<String>>,
    done: AtomicUsize,
    total: usize,
}

impl Progress {
    /// A display for `total` targets.
    pub fn new(mode: ProgressMode, total: usize, jobs: usize) -> Self {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} building [{bar:24}] {pos}/{len} {elapsed} {wide_msg}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if mode == ProgressMode::Lines {
            eprintln!("goready build: {total} targets, {jobs} at a time");
        }
        Progress {
            mode,
            bar,
            building: Mutex::new(Vec::new()),
            done: AtomicUsize::new(0),
            total,
        }
    }

    /// A target started building.
    pub fn start(&self, label: &str) {
        let mut building = self.building.lock().unwrap_or_else(|e| e.into_inner());
        building.push(label.to_string());
        if let Some(bar) = &self.bar {
            bar.set_message(building.join(", "));
        }
    }

    /// A target is done; `summary` says how it went.
    pub fn finish(&self, label: &str, ok: bool, summary: &str, elapsed: Duration) {
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let mut building = self.building.lock().unwrap_or_else(|e| e.into_inner());
        building.retain(|l| l != label);
        let mark = if ok { "ok  " } else { "FAIL" };
        let line = format!(
            "{mark} {label:<22} {summary} ({:.1}s)",
            elapsed.as_secs_f64()
        );
        match (&self.bar, self.mode) {
            (Some(bar), _) => {
                bar.println(line);
                bar.set_message(building.join(", "));
                bar.inc(1);
            }
            (None, ProgressMode::Lines) => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "goready build: [{n}/{}] {line}", self.total);
            }
            _ => {}
        }
    }

    /// Removes the bar before the results are printed.
    pub fn close(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs `job` for every target on `jobs` worker threads and returns the results in matrix
/// order. Workers take the next target as they become free, so a slow target does not hold
/// the others up.
pub fn run_all<R, F>(targets: &[Target], jobs: usize, progress: &Progress, job: F) -> Vec<R>
where
    R: Send,
    F: Fn(&Target) -> (R, bool, String) + Sync,
{
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(targets.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, targets.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = targets.get(i) else { break };
                    let label = target.label();
                    progress.start(&label);
                    let started = Instant::now();
                    let (result, ok, summary) = job(target);
                    progress.finish(&label, ok, &summary, started.elapsed());
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
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
    fn workers_return_results_in_matrix_order() {
        let targets: Vec<Target> = (0..7)
            .map(|i| Target::new("linux", &format!("arch{i}"), i % 2 == 0))
            .collect();
        let progress = Progress::new(ProgressMode::Quiet, targets.len(), 3);
        let out = run_all(&targets, 3, &progress, |t| {
            std::thread::sleep(Duration::from_millis(if t.cgo { 30 } else { 1 }));
            (t.label(), true, String::new())
        });
        let want: Vec<String> = targets.iter().map(Target::label).collect();
        assert_eq!(out, want);
        assert_eq!(progress.done.load(Ordering::SeqCst), 7);
    }
}
