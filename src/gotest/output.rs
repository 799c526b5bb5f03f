//! Reading what tests print: `file_test.go:NN: message` lines of `t.Error`/`t.Log`, compiler
//! `path.go:L:C: message` lines, panics and their goroutine stacks (runtime/traceback.go's
//! format), and the `test timed out` panic of `-timeout`.

/// A `name.go:NN: message` line of t.Log/t.Error/t.Skip (testing prints the base name only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLine {
    /// The file's base name, `fail_test.go`.
    pub file: String,
    /// Its line.
    pub line: u32,
    /// What follows `file:line: `.
    pub message: String,
}

/// Parses a t.Log/t.Error line: indented, `name.go:NN: message` (or `name.go:NN:` alone).
pub fn test_line(line: &str) -> Option<TestLine> {
    let body = line.strip_prefix(' ').or_else(|| line.strip_prefix('\t'))?;
    let body = body.trim_start();
    let (loc, message) = match body.split_once(": ") {
        Some((loc, message)) => (loc, message),
        None => (body.strip_suffix(':')?, ""),
    };
    let (file, line_no) = loc.rsplit_once(':')?;
    if !file.ends_with(".go") || file.contains(['/', '\\', ' ']) || file.len() <= 3 {
        return None;
    }
    Some(TestLine {
        file: file.to_string(),
        line: line_no.parse().ok().filter(|&n| n > 0)?,
        message: message.to_string(),
    })
}

/// A `path.go:L:C: message` (or `path.go:L: message`) line of the compiler, vet or go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// As printed: relative to `go`'s working directory, or absolute.
    pub path: String,
    /// Line.
    pub line: u32,
}

/// Parses a compiler/vet diagnostic line.
pub fn source_line(line: &str) -> Option<SourceLine> {
    let go = line.find(".go:")?;
    let path = line[..go + 3].trim_start();
    if path.is_empty() || path.contains(": ") {
        return None;
    }
    let rest = &line[go + 4..];
    let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    let after = &rest[digits.len()..];
    if !(after.starts_with(':') || after.starts_with(' ')) {
        return None;
    }
    Some(SourceLine {
        path: path.to_string(),
        line: digits.parse().ok().filter(|&n| n > 0)?,
    })
}

/// One frame of a goroutine stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// `example.com/m/p.TestX.func1`, `testing.(*T).Run`, `panic`.
    pub function: String,
    /// Absolute path (or `_testmain.go`, or a -trimpath'ed path).
    pub file: String,
    /// Line.
    pub line: u32,
    /// The `created by …` frame that ends a goroutine's stack.
    pub created_by: bool,
}

impl Frame {
    /// The import path of the frame's function (`example.com/m/p_test` for an external test
    /// package; `.` in the last element is escaped `%2e` as in the binary's symbol names).
    pub fn package(&self) -> &str {
        function_package(&self.function)
    }
}

/// The package part of a Go function symbol name.
pub fn function_package(function: &str) -> &str {
    let slash = function.rfind('/').map_or(0, |i| i + 1);
    match function[slash..].find('.') {
        Some(dot) => &function[..slash + dot],
        None => function,
    }
}

/// Does a frame's package belong to the package under test (itself or its `_test`)?
pub fn in_package(frame_package: &str, import_path: &str) -> bool {
    let escaped = escape_last_element(import_path);
    [import_path, escaped.as_str()]
        .iter()
        .any(|p| frame_package == *p || frame_package.strip_suffix("_test") == Some(p))
}

fn escape_last_element(path: &str) -> String {
    let slash = path.rfind('/').map_or(0, |i| i + 1);
    format!("{}{}", &path[..slash], path[slash..].replace('.', "%2e"))
}

/// One goroutine of a traceback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goroutine {
    /// `goroutine 19 [running]:`.
    pub header: String,
    /// Innermost first.
    pub frames: Vec<Frame>,
    /// Index of the header line in the lines it was read from.
    pub start: usize,
    /// One past its last line.
    pub end: usize,
}

/// The goroutines of a traceback, read from `lines` starting at `from`.
pub fn goroutines(lines: &[String], from: usize) -> Vec<Goroutine> {
    let mut out: Vec<Goroutine> = Vec::new();
    let mut i = from;
    while i < lines.len() {
        let line = lines[i].as_str();
        if line.starts_with("goroutine ") && line.ends_with(':') {
            out.push(Goroutine {
                header: line.to_string(),
                frames: Vec::new(),
                start: i,
                end: i + 1,
            });
            i += 1;
            continue;
        }
        let Some(g) = out.last_mut() else {
            i += 1;
            continue;
        };
        if line.is_empty() || line.starts_with('\t') || line.starts_with(' ') {
            // A location line without its function line, or the blank between goroutines.
            i += 1;
            if !line.is_empty() {
                g.end = i;
            }
            continue;
        }
        let Some(location) = lines.get(i + 1).and_then(|l| l.strip_prefix('\t')) else {
            // Not a frame: the traceback is over (e.g. `FAIL pkg 0.01s`).
            if !line.starts_with("...") {
                break;
            }
            i += 1;
            continue;
        };
        let (function, created_by) = match line.strip_prefix("created by ") {
            Some(rest) => (rest.split(" in goroutine ").next().unwrap_or(rest), true),
            None => (strip_args(line), false),
        };
        let location = location.split(" +0x").next().unwrap_or(location);
        if let Some((file, line_no)) = location.rsplit_once(':')
            && let Ok(line_no) = line_no.trim().parse()
        {
            g.frames.push(Frame {
                function: function.to_string(),
                file: file.to_string(),
                line: line_no,
                created_by,
            });
        }
        i += 2;
        g.end = i;
    }
    out
}

/// `pkg.F(0x1, ...)` → `pkg.F`; `testing.(*T).Run(...)` → `testing.(*T).Run`.
fn strip_args(call: &str) -> &str {
    if call.ends_with(')')
        && let Some(open) = call.rfind('(')
    {
        return &call[..open];
    }
    call
}

/// A panic in printed output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    /// Index of the `panic: ` line.
    pub start: usize,
    /// The `panic: …` line(s) up to the traceback, e.g. `[signal SIGSEGV …]`.
    pub message: Vec<String>,
    /// The goroutines printed after it; the first is the one that panicked.
    pub goroutines: Vec<Goroutine>,
}

impl Panic {
    /// The first line without `panic: ` and the `[recovered]` notes testing adds.
    pub fn summary(&self) -> String {
        let first = self.message.first().map(String::as_str).unwrap_or("");
        let text = first.strip_prefix("panic: ").unwrap_or(first);
        text.replace(" [recovered, repanicked]", "")
            .replace(" [recovered]", "")
    }

    /// `-timeout` fired: `panic: test timed out after 2s`, with the tests still running.
    pub fn timeout(&self) -> Option<Timeout> {
        let first = self.message.first()?;
        let after = first.strip_prefix("panic: test timed out after ")?;
        let running = self
            .message
            .iter()
            .skip_while(|l| l.trim() != "running tests:")
            .skip(1)
            .filter_map(|l| {
                let l = l.trim();
                // `TestSleep (2s)`
                let (name, _) = l.rsplit_once(" (")?;
                Some(name.to_string())
            })
            .collect();
        Some(Timeout {
            after: after.trim().to_string(),
            running,
        })
    }

    /// The innermost frame of the panicking goroutine in the package under test.
    pub fn deepest_in(&self, import_path: &str) -> Option<&Frame> {
        self.goroutines
            .first()?
            .frames
            .iter()
            .find(|f| !f.created_by && in_package(f.package(), import_path))
    }
}

/// What `-timeout` reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout {
    /// The deadline, as Go printed it (`2s`).
    pub after: String,
    /// Full names of the tests still running.
    pub running: Vec<String>,
}

/// The first panic printed in `lines` (a line starting `panic: ` at column 0, or Go's
/// `fatal error: ` for runtime crashes such as concurrent map writes).
pub fn find_panic(lines: &[String]) -> Option<Panic> {
    let start = lines
        .iter()
        .position(|l| l.starts_with("panic: ") || l.starts_with("fatal error: "))?;
    let mut message = Vec::new();
    let mut i = start;
    while i < lines.len() && !lines[i].starts_with("goroutine ") {
        message.push(lines[i].clone());
        i += 1;
    }
    while message.last().is_some_and(|l| l.trim().is_empty()) {
        message.pop();
    }
    Some(Panic {
        start,
        message,
        goroutines: goroutines(lines, i),
    })
}

/// The goroutine that runs test `name` of `import_path` in a traceback: the one whose
/// frames include the test function (a subtest: one of its closures).
pub fn goroutine_of_test<'a>(
    goroutines: &'a [Goroutine],
    import_path: &str,
    name: &str,
) -> Option<&'a Goroutine> {
    let top = name.split('/').next().unwrap_or(name);
    let is_test_fn = |f: &Frame, closure: bool| {
        in_package(f.package(), import_path) && {
            let local = &f.function[f.package().len()..];
            if closure {
                local.starts_with(&format!(".{top}.func"))
            } else {
                local == format!(".{top}")
            }
        }
    };
    let subtest = name.contains('/');
    let find = |closure: bool| {
        goroutines.iter().find(|g| {
            g.frames
                .iter()
                .any(|f| !f.created_by && is_test_fn(f, closure))
        })
    };
    if subtest {
        find(true).or_else(|| find(false))
    } else {
        find(false)
    }
}

/// Stack frames worth showing: drops the runtime's and testing's own frames (and the test
/// main), which say nothing about the test.
pub fn interesting(frame: &Frame) -> bool {
    let pkg = frame.package();
    !(pkg == "runtime"
        || pkg == "testing"
        || pkg == "panic"
        || pkg == "main" && frame.file.ends_with("_testmain.go")
        || frame.function == "panic")
}

/// A goroutine's text with uninteresting frames left out, file paths shown through `path`
/// (repo-relative).
pub fn render_goroutine(g: &Goroutine, path: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut out = vec![g.header.clone()];
    for f in g.frames.iter().filter(|f| interesting(f)) {
        let prefix = if f.created_by { "created by " } else { "" };
        out.push(format!("{prefix}{}", f.function));
        out.push(format!("\t{}:{}", path(&f.file), f.line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    #[test]
    fn test_lines_are_base_name_line_message() {
        assert_eq!(
            test_line("    fail_test.go:7: got 2, want 3"),
            Some(TestLine {
                file: "fail_test.go".into(),
                line: 7,
                message: "got 2, want 3".into()
            })
        );
        assert_eq!(test_line("    x_test.go:12:").unwrap().line, 12);
        assert_eq!(test_line("fail_test.go:7: not indented"), None);
        assert_eq!(test_line("        line two"), None);
        assert_eq!(test_line("    see http://x.go:80: hi"), None);
        assert_eq!(test_line("    a.go:0: zero"), None);
        assert_eq!(test_line("    a.go:99999999999999: big"), None);
        assert_eq!(test_line("    .go:3: empty name"), None);
    }

    #[test]
    fn compiler_lines_keep_the_printed_path() {
        let l = source_line("broken/b_test.go:6:6: undefined: undefinedThing").unwrap();
        assert_eq!((l.path.as_str(), l.line), ("broken/b_test.go", 6));
        let l = source_line("./x.go:3: syntax error").unwrap();
        assert_eq!((l.path.as_str(), l.line), ("./x.go", 3));
        assert_eq!(source_line("# example.com/m/broken"), None);
        assert_eq!(source_line("\tgo get example.com/x"), None);
        assert_eq!(source_line("x.go:abc"), None);
        assert_eq!(source_line("é.go:"), None);
    }

    #[test]
    fn function_packages_handle_paths_receivers_and_test_packages() {
        assert_eq!(
            function_package("example.com/m/panicky.Boom"),
            "example.com/m/panicky"
        );
        assert_eq!(function_package("testing.(*T).Run"), "testing");
        assert_eq!(
            function_package("example.com/m/ext_test.TestExt.func1"),
            "example.com/m/ext_test"
        );
        assert!(in_package("example.com/m/ext_test", "example.com/m/ext"));
        assert!(in_package("example.com/m/v%2e2", "example.com/m/v.2"));
        assert!(!in_package("example.com/m/extra", "example.com/m/ext"));
    }

    const PANIC: &str = "\
panic: assignment to entry in nil map [recovered, repanicked]

goroutine 19 [running]:
testing.tRunner.func1.2({0x55a7a0, 0x6cae30})
\t/usr/local/go/src/testing/testing.go:1974 +0x232
panic({0x55a7a0?, 0x6cae30?})
\t/usr/local/go/src/runtime/panic.go:860 +0x13a
example.com/m/panicky.Boom(...)
\t/tmp/m/panicky/p.go:3
example.com/m/panicky.TestPanic(0x354e416206c8?)
\t/tmp/m/panicky/p_test.go:9 +0x29
testing.tRunner(0x354e416206c8, 0x592e38)
\t/usr/local/go/src/testing/testing.go:2036 +0xea
created by testing.(*T).Run in goroutine 1
\t/usr/local/go/src/testing/testing.go:2101 +0x4c5
FAIL\texample.com/m/panicky\t0.008s";

    #[test]
    fn a_panic_gives_its_message_and_the_deepest_frame_in_the_package() {
        let p = find_panic(&lines(PANIC)).unwrap();
        assert_eq!(p.summary(), "assignment to entry in nil map");
        assert_eq!(p.goroutines.len(), 1);
        let g = &p.goroutines[0];
        assert_eq!(g.frames.len(), 6);
        assert!(g.frames[5].created_by);
        let f = p.deepest_in("example.com/m/panicky").unwrap();
        assert_eq!((f.file.as_str(), f.line), ("/tmp/m/panicky/p.go", 3));
        assert!(p.timeout().is_none());
        let shown = render_goroutine(g, &|f| f.to_string());
        assert_eq!(shown.len(), 5, "{shown:?}");
        assert_eq!(shown[1], "example.com/m/panicky.Boom");
    }

    #[test]
    fn a_timeout_names_the_running_tests_and_their_goroutines() {
        let text = "\
panic: test timed out after 2s
\trunning tests:
\t\tTestSleep (2s)
\t\tTestSub/inner (2s)

goroutine 20 [running]:
testing.(*M).startAlarm.func1()
\t/usr/local/go/src/testing/testing.go:2802 +0x354
created by time.goFunc
\t/usr/local/go/src/time/sleep.go:215 +0x2d

goroutine 4 [sleep]:
time.Sleep(0x2540be400)
\t/usr/local/go/src/runtime/time.go:363 +0x165
example.com/m/sleepy.TestSleep(0x1bd0df1fc908?)
\t/tmp/m/sleepy/s_test.go:11 +0x1d
testing.tRunner(0x1bd0df1fc908, 0x592e38)
\t/usr/local/go/src/testing/testing.go:2036 +0xea

goroutine 5 [sleep]:
example.com/m/sleepy.TestSub.func1(0x1)
\t/tmp/m/sleepy/s_test.go:20 +0x1d
";
        let p = find_panic(&lines(text)).unwrap();
        let t = p.timeout().unwrap();
        assert_eq!(t.after, "2s");
        assert_eq!(t.running, ["TestSleep", "TestSub/inner"]);
        assert_eq!(p.goroutines.len(), 3);
        let g = goroutine_of_test(&p.goroutines, "example.com/m/sleepy", "TestSleep").unwrap();
        assert_eq!(g.header, "goroutine 4 [sleep]:");
        let g = goroutine_of_test(&p.goroutines, "example.com/m/sleepy", "TestSub/inner").unwrap();
        assert_eq!(g.header, "goroutine 5 [sleep]:");
        assert!(goroutine_of_test(&p.goroutines, "example.com/m/sleepy", "TestOther").is_none());
    }

    #[test]
    fn hostile_tracebacks_do_not_panic() {
        for text in [
            "panic: ",
            "panic: x\ngoroutine",
            "panic: x\ngoroutine 1 [running]:\nf(\n\tfile.go:notanumber",
            "panic: x\ngoroutine 1 [running]:\n\t/orphan.go:3\nf()\n",
            "panic: x\ngoroutine 1 [running]:\ncreated by \n\t:",
            "fatal error: concurrent map writes\n\ngoroutine 1 [running]:\n...additional frames elided...\nmain.f()\n\t/x.go:1",
        ] {
            let p = find_panic(&lines(text)).unwrap();
            let _ = (p.summary(), p.timeout(), p.deepest_in("m"));
            for g in &p.goroutines {
                let _ = render_goroutine(g, &|f| f.to_string());
            }
        }
    }
}
