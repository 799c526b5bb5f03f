//! Judging a test run: one `test.go_test` check per test (subtests included), a
//! `test.build` check per failed build, and a `test.package` check where a package as a whole
//! has something to say (no test files, a failure no test explains).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::events::{BuildRun, Outcome, PackageRun, TestRun, is_framing};
use super::output::{self, Panic};
use crate::model::data::{TestBuildData, TestData};
use crate::model::{Check, Status};
use crate::registry::{TEST_BUILD, TEST_GO_TEST, TEST_PACKAGE};

/// A check message keeps at most this many lines of output …
pub const MESSAGE_LINES: usize = 60;
/// … and this many bytes.
pub const MESSAGE_BYTES: usize = 8 * 1024;

/// Turns the paths tests and compilers print into repo-relative paths.
#[derive(Debug, Clone)]
pub struct Locator {
    /// Where `go` ran: compiler paths are relative to it.
    pub go_dir: PathBuf,
    /// The repository root locations are made relative to.
    pub root: PathBuf,
    /// Import path → source directory (from `go list`), for t.Error's base names.
    pub dirs: HashMap<String, PathBuf>,
}

impl Locator {
    /// `name.go` printed by a test of `import_path`, if that file is in the package's
    /// directory (a helper in another package without t.Helper prints its own base name).
    pub fn test_file(&self, import_path: &str, name: &str) -> Option<String> {
        let path = self.dirs.get(import_path)?.join(name);
        path.is_file().then(|| self.relative(&path))
    }

    /// A path as the compiler or a traceback printed it.
    pub fn printed(&self, printed: &str) -> String {
        let path = Path::new(printed);
        if path.is_absolute() {
            self.relative(path)
        } else {
            self.relative(&self.go_dir.join(path))
        }
    }

    fn relative(&self, path: &Path) -> String {
        let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        match full.strip_prefix(&self.root) {
            Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
            Err(_) => path.to_string_lossy().into_owned(),
        }
    }
}

/// The directory that repo-relative paths start from: the nearest ancestor of `dir` with a
/// `.git` (a directory, or a file in a worktree), else `dir` itself.
pub fn repo_root(dir: &Path) -> PathBuf {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    crate::repo::git_root(&dir).unwrap_or(dir)
}

/// The checks of one package: its tests, and a `test.package` check when needed.
pub fn package_checks(pkg: &PackageRun, loc: &Locator) -> Vec<Check> {
    let target = pkg.import_path.as_str();
    if pkg.build_failed() {
        // The test.build check speaks for it.
        return Vec::new();
    }
    let mut checks = Vec::new();
    // A timeout or crash panic is printed under whichever test test2json last named, or
    // under the package; look everywhere.
    let panic_anywhere = std::iter::once(&pkg.output.lines)
        .chain(pkg.tests.iter().map(|t| &t.output.lines))
        .find_map(|lines| output::find_panic(lines));
    let timeout = panic_anywhere.as_ref().and_then(|p| p.timeout());
    // Panics printed under a parent test that belong to one of its subtests.
    let mut adopted: HashMap<&str, (&TestRun, Panic)> = HashMap::new();
    for t in &pkg.tests {
        if let Some(p) = own_panic(t)
            && let Some(sub) = panicking_subtest(t, &p, target)
        {
            adopted.insert(sub, (t, p));
        }
    }
    // Failed (or, on a timeout, unfinished) subtests by parent, in one pass: a package can
    // have tens of thousands of subtests.
    let mut failed_children: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in &pkg.tests {
        let failed = match s.outcome {
            Some(o) => o == Outcome::Fail,
            None => timeout.is_some(),
        };
        if failed && let Some((parent, _)) = s.name.rsplit_once('/') {
            failed_children.entry(parent).or_default().push(&s.name);
        }
    }
    for t in &pkg.tests {
        let check = Check::of(&TEST_GO_TEST)
            .target(target)
            .title(&t.name)
            .duration_ms(seconds_to_ms(t.elapsed));
        let subtests_failed = failed_children
            .get(t.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let base = TestData {
            test: t.name.clone(),
            package: target.to_string(),
            ..TestData::default()
        };
        if let Some((parent, p)) = adopted.get(t.name.as_str()) {
            checks.push(panicked(check, p, target, loc, base, Some(&parent.name)));
            continue;
        }
        if let Some(p) = own_panic(t).filter(|p| p.timeout().is_none()) {
            if let Some(sub) = panicking_subtest(t, &p, target) {
                let mut msg = content(t, Some(p.start));
                push_line(
                    &mut msg,
                    &format!("subtest {sub} panicked: {}", p.summary()),
                );
                checks.push(check.data(base).fail(msg));
            } else {
                checks.push(panicked(check, &p, target, loc, base, None));
            }
            continue;
        }
        if t.outcome.is_none()
            && let (Some(timeout), Some(p)) = (&timeout, &panic_anywhere)
            && (timeout.running.contains(&t.name) || timeout.running.is_empty())
        {
            checks.push(timed_out(check, t, p, &timeout.after, target, loc, base));
            continue;
        }
        let located = last_location(t, target, loc);
        let check = match &located {
            Some((file, line, _)) => check.location(file.clone(), Some(*line)),
            None => check,
        };
        let data = TestData {
            test: t.name.clone(),
            package: target.to_string(),
            locations: Some(all_locations(t)),
            ..TestData::default()
        };
        checks.push(match t.outcome {
            // go test's own `pass` event is the evidence; its time only when it gave one.
            Some(Outcome::Pass) => check.pass(match t.elapsed.filter(|s| s.is_finite()) {
                Some(_) => format!("passed ({})", seconds(t.elapsed)),
                None => "passed".to_string(),
            }),
            Some(Outcome::Skip) => {
                let reason = located
                    .map(|(_, _, m)| m)
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| first_content(t).unwrap_or_default());
                let msg = if reason.is_empty() {
                    "skipped".to_string()
                } else {
                    format!("skipped: {reason}")
                };
                check.data(data).skip(msg)
            }
            Some(Outcome::Fail) => {
                let mut msg = content(t, None);
                if !subtests_failed.is_empty() {
                    push_line(
                        &mut msg,
                        &format!("failed subtests: {}", subtests_failed.join(", ")),
                    );
                }
                if msg.is_empty() {
                    msg = "failed without printing anything (t.Fail)".to_string();
                }
                check.data(data).fail(msg)
            }
            None => {
                let mut msg = content(t, None);
                push_line(
                    &mut msg,
                    "did not finish: the test binary exited while this test was running \
                     (os.Exit, a crash, or go test was stopped)",
                );
                check.data(data).fail(msg)
            }
        });
    }
    if let Some(c) = package_check(pkg, &checks, panic_anywhere.as_ref(), loc) {
        checks.push(c);
    }
    checks
}

/// The `test.package` check, when the package as a whole has something to say.
fn package_check(
    pkg: &PackageRun,
    tests: &[Check],
    panic: Option<&Panic>,
    loc: &Locator,
) -> Option<Check> {
    let target = pkg.import_path.as_str();
    let check = Check::of(&TEST_PACKAGE)
        .target(target)
        .duration_ms(seconds_to_ms(pkg.elapsed));
    if pkg.no_test_files() {
        return Some(check.skip("no test files"));
    }
    if pkg.no_tests_to_run() && pkg.tests.is_empty() {
        return Some(check.skip("test files but no tests ran (does -run match anything?)"));
    }
    let explained = tests.iter().any(|c| c.status == Status::Fail);
    match pkg.outcome {
        Some(Outcome::Fail) if !explained => {
            let mut msg = package_content(pkg, loc);
            let check = match panic.and_then(|p| p.deepest_in(target)) {
                Some(f) => check.location(loc.printed(&f.file), Some(f.line)),
                None => check,
            };
            if msg.is_empty() {
                msg = "FAIL although every test passed: TestMain, an init function or an \
                       exit path ended the test binary with a non-zero status"
                    .to_string();
            }
            Some(check.fail(msg))
        }
        None if !explained => Some(
            check
                .error("go test ended before reporting this package (was it stopped?)".to_string()),
        ),
        _ => None,
    }
}

/// A check for a failed build. `blocked` are the packages whose tests it kept from running.
pub fn build_check(build: &BuildRun, blocked: &[String], loc: &Locator) -> Check {
    // The `# p [p.test]` header names the package being compiled; a setup error's
    // ImportPath may name the missing dependency instead.
    let header = build
        .output
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("# ").filter(|h| !h.starts_with('[')));
    let target = strip_variant(header.unwrap_or(&build.import_path)).to_string();
    let body: Vec<&str> = build
        .output
        .lines
        .iter()
        .filter(|l| !l.starts_with("# "))
        .map(String::as_str)
        .collect();
    let mut msg = cap(&body, build.output.dropped);
    let others: Vec<&str> = blocked
        .iter()
        .map(String::as_str)
        .filter(|b| *b != target)
        .collect();
    if !others.is_empty() {
        push_line(
            &mut msg,
            &format!("blocks the tests of: {}", others.join(", ")),
        );
    }
    if msg.is_empty() {
        msg = "the build failed without output".to_string();
    }
    let check = Check::of(&TEST_BUILD).target(target).data(TestBuildData {
        import_path: build.import_path.clone(),
        packages: blocked.to_vec(),
    });
    match body.iter().find_map(|l| output::source_line(l)) {
        Some(s) => check.location(loc.printed(&s.path), Some(s.line)),
        None => check,
    }
    .fail(msg)
}

/// A package failed to build, but no build output says why (stderr lost, or a Go that
/// reports neither build events nor stderr blocks).
pub fn unexplained_build_check(pkg: &PackageRun, loc: &Locator) -> Check {
    let mut msg = package_content(pkg, loc);
    push_line(
        &mut msg,
        "the build failed; run `go vet` or `go test` on it to see why",
    );
    Check::of(&TEST_BUILD).target(&pkg.import_path).fail(msg)
}

/// `p [p.test]` → `p`.
pub fn strip_variant(import_path: &str) -> &str {
    import_path.split(" [").next().unwrap_or(import_path).trim()
}

fn panicked(
    check: crate::model::CheckBuilder,
    p: &Panic,
    target: &str,
    loc: &Locator,
    mut data: TestData,
    printed_under: Option<&str>,
) -> Check {
    data.panic = Some(p.summary());
    let mut lines: Vec<String> = p.message.clone();
    if let Some(g) = p.goroutines.first() {
        lines.push(String::new());
        lines.extend(output::render_goroutine(g, &|f| loc.printed(f)));
    }
    if let Some(parent) = printed_under {
        lines.push(format!("(printed under {parent})"));
    }
    let msg = cap(&lines.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    match p.deepest_in(target) {
        Some(f) => check.location(loc.printed(&f.file), Some(f.line)),
        None => check,
    }
    .data(data)
    .fail(msg)
}

fn timed_out(
    check: crate::model::CheckBuilder,
    t: &TestRun,
    p: &Panic,
    after: &str,
    target: &str,
    loc: &Locator,
    mut data: TestData,
) -> Check {
    data.timeout = Some(after.to_string());
    let mut msg = content(t, output::find_panic(&t.output.lines).map(|own| own.start));
    push_line(
        &mut msg,
        &format!("timed out: still running when the -timeout of {after} expired"),
    );
    let g = output::goroutine_of_test(&p.goroutines, target, &t.name);
    if let Some(g) = g {
        push_line(
            &mut msg,
            &output::render_goroutine(g, &|f| loc.printed(f)).join("\n"),
        );
    }
    let frame = g.and_then(|g| {
        g.frames
            .iter()
            .find(|f| !f.created_by && output::in_package(f.package(), target))
    });
    match frame {
        Some(f) => check.location(loc.printed(&f.file), Some(f.line)),
        None => check,
    }
    .data(data)
    .fail(msg)
}

/// The panic printed under this test itself (not a timeout dump printed under it).
fn own_panic(t: &TestRun) -> Option<Panic> {
    t.panic_chain.as_ref()?;
    output::find_panic(&t.output.lines)
}

/// Whether a panic printed under `t` came from one of its subtests: the panicking
/// goroutine runs a closure of the test (what t.Run runs), and a subtest's `--- FAIL` came
/// right before the panic.
fn panicking_subtest<'a>(t: &'a TestRun, p: &Panic, target: &str) -> Option<&'a str> {
    let first = t.panic_chain.as_ref()?.first()?;
    let g = p.goroutines.first()?;
    let top = t.name.split('/').next().unwrap_or(&t.name);
    // The frame tRunner called: the test function, or a subtest's closure.
    let runner = g
        .frames
        .iter()
        .position(|f| f.function == "testing.tRunner");
    let body = runner
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| g.frames.get(i))
        .or_else(|| {
            g.frames
                .iter()
                .rev()
                .find(|f| !f.created_by && output::in_package(f.package(), target))
        })?;
    let local = &body.function[body.package().len()..];
    (output::in_package(body.package(), target) && local.starts_with(&format!(".{top}.func")))
        .then_some(first.as_str())
}

/// The last `file.go:NN:` line of the test's own output: t.Fatal ends a test, and setup
/// logs come before the error more often than after it.
fn last_location(t: &TestRun, target: &str, loc: &Locator) -> Option<(String, u32, String)> {
    t.output.lines.iter().rev().find_map(|l| {
        let tl = output::test_line(l)?;
        let file = loc.test_file(target, &tl.file)?;
        Some((file, tl.line, tl.message))
    })
}

fn all_locations(t: &TestRun) -> Vec<String> {
    t.output
        .lines
        .iter()
        .filter_map(|l| output::test_line(l))
        .map(|tl| format!("{}:{}", tl.file, tl.line))
        .collect()
}

fn first_content(t: &TestRun) -> Option<String> {
    t.output
        .lines
        .iter()
        .find(|l| !is_framing(l) && !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

/// The test's own output without framing lines, dedented, capped; up to line `until`.
fn content(t: &TestRun, until: Option<usize>) -> String {
    let lines = &t.output.lines[..until
        .unwrap_or(t.output.lines.len())
        .min(t.output.lines.len())];
    let kept: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !is_framing(l))
        .collect();
    cap(&dedent(&kept), t.output.dropped)
}

/// Package-level output minus go's own summary lines.
fn package_content(pkg: &PackageRun, loc: &Locator) -> String {
    let kept: Vec<&str> = pkg
        .output
        .lines
        .iter()
        .map(String::as_str)
        .filter(|l| {
            !(*l == "PASS"
                || *l == "FAIL"
                || l.starts_with("ok  \t")
                || l.starts_with("FAIL\t")
                || l.starts_with("?   \t")
                || l.starts_with("testing: warning: no tests to run"))
        })
        .collect();
    let lines = match output::find_panic(&pkg.output.lines) {
        Some(p) => {
            let mut lines: Vec<String> = p.message.clone();
            if let Some(g) = p.goroutines.first() {
                lines.push(String::new());
                lines.extend(output::render_goroutine(g, &|f| loc.printed(f)));
            }
            lines
        }
        None => kept.iter().map(|s| s.to_string()).collect(),
    };
    cap(
        &lines.iter().map(String::as_str).collect::<Vec<_>>(),
        pkg.output.dropped,
    )
}

/// Removes the indentation all non-blank lines share (testing indents by four spaces).
fn dedent<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start()))
        .collect()
}

/// At most [`MESSAGE_LINES`] lines and [`MESSAGE_BYTES`] bytes, saying how much was left out.
fn cap(lines: &[&str], already_dropped: usize) -> String {
    let mut lines = lines.to_vec();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    let mut out = String::new();
    let mut shown = 0;
    for l in &lines {
        if shown == MESSAGE_LINES {
            break;
        }
        let room = MESSAGE_BYTES.saturating_sub(out.len() + 1);
        if shown > 0 {
            out.push('\n');
        }
        shown += 1;
        if l.len() > room {
            // One huge line: keep its start.
            let mut end = room;
            while !l.is_char_boundary(end) {
                end -= 1;
            }
            out.push_str(&l[..end]);
            out.push('…');
            break;
        }
        out.push_str(l);
    }
    let left = lines.len() - shown + already_dropped;
    if left > 0 {
        out.push_str(&format!(
            "\n… {left} more lines (run the test with go test -v)"
        ));
    }
    out
}

fn push_line(msg: &mut String, line: &str) {
    if !msg.is_empty() {
        msg.push('\n');
    }
    msg.push_str(line);
}

fn seconds_to_ms(s: Option<f64>) -> u64 {
    s.filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| (s * 1000.0).round() as u64)
        .unwrap_or(0)
}

fn seconds(s: Option<f64>) -> String {
    format!("{:.2}s", s.filter(|s| s.is_finite()).unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gotest::events::Collector;
    use crate::model::CheckData;

    fn run(lines: &[&str]) -> Vec<Check> {
        let mut c = Collector::default();
        for l in lines {
            c.push_line(l.as_bytes());
        }
        let loc = Locator {
            go_dir: PathBuf::from("/nonexistent"),
            root: PathBuf::from("/nonexistent"),
            dirs: HashMap::new(),
        };
        c.packages
            .iter()
            .flat_map(|p| package_checks(p, &loc))
            .collect()
    }

    #[test]
    fn messages_drop_framing_and_indentation() {
        let checks = run(&[
            r##"{"Action":"run","Package":"p","Test":"TestF"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestF","Output":"=== RUN   TestF\n"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestF","Output":"    f_test.go:7: got 2\n"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestF","Output":"        line two\n"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestF","Output":"--- FAIL: TestF (1.50s)\n"}"##,
            r##"{"Action":"fail","Package":"p","Test":"TestF","Elapsed":1.5}"##,
            r##"{"Action":"fail","Package":"p","Elapsed":1.6}"##,
        ]);
        assert_eq!(checks.len(), 1, "{checks:#?}");
        let c = &checks[0];
        assert_eq!(c.title, "TestF");
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.message, "f_test.go:7: got 2\n    line two");
        assert_eq!(c.duration_ms, 1500);
        let CheckData::Test(d) = &c.data else {
            panic!("{:?}", c.data)
        };
        assert_eq!(d.locations.as_deref().unwrap_or_default()[0], "f_test.go:7");
        // No package directory known: no location rather than a wrong one.
        assert_eq!(c.file, None);
    }

    #[test]
    fn long_output_is_capped_with_a_note() {
        let many: Vec<&str> = vec!["x"; 500];
        let text = cap(&many, 3);
        assert_eq!(text.lines().count(), MESSAGE_LINES + 1);
        assert!(text.ends_with("… 443 more lines (run the test with go test -v)"));
        let wide = "y".repeat(MESSAGE_BYTES * 2);
        let text = cap(&[&wide, "z"], 0);
        assert!(text.len() <= MESSAGE_BYTES + 64, "{}", text.len());
        assert!(text.ends_with("…\n… 1 more lines (run the test with go test -v)"));
        let multibyte = "é".repeat(MESSAGE_BYTES);
        assert!(cap(&[&multibyte], 0).ends_with('…'));
    }

    #[test]
    fn a_package_that_fails_with_every_test_passing_gets_a_package_check() {
        let checks = run(&[
            r##"{"Action":"run","Package":"p","Test":"TestA"}"##,
            r##"{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0}"##,
            r##"{"Action":"output","Package":"p","Output":"PASS\n"}"##,
            r##"{"Action":"output","Package":"p","Output":"FAIL\tp\t0.003s\n"}"##,
            r##"{"Action":"fail","Package":"p","Elapsed":0.004}"##,
        ]);
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[1].id, "test.package");
        assert_eq!(checks[1].status, Status::Fail);
        assert!(
            checks[1].message.contains("TestMain"),
            "{}",
            checks[1].message
        );
    }

    /// A stream with a build failure, a panic in a subtest, a failure and a timeout, in the
    /// shapes Go 1.26 prints them.
    const STREAM: &[&str] = &[
        r##"{"ImportPath":"m/b [m/b.test]","Action":"build-output","Output":"# m/b [m/b.test]\n"}"##,
        r##"{"ImportPath":"m/b [m/b.test]","Action":"build-output","Output":"b/b_test.go:6:6: undefined: x\n"}"##,
        r##"{"ImportPath":"m/b [m/b.test]","Action":"build-fail"}"##,
        r##"{"Action":"start","Package":"m/b"}"##,
        r##"{"Action":"output","Package":"m/b","Output":"FAIL\tm/b [build failed]\n"}"##,
        r##"{"Action":"fail","Package":"m/b","Elapsed":0,"FailedBuild":"m/b [m/b.test]"}"##,
        r##"{"Action":"run","Package":"m/e","Test":"TestE"}"##,
        r##"{"Action":"run","Package":"m/e","Test":"TestE/sub"}"##,
        r##"{"Action":"output","Package":"m/e","Test":"TestE/sub","Output":"--- FAIL: TestE/sub (0.00s)\n"}"##,
        r##"{"Action":"fail","Package":"m/e","Test":"TestE/sub","Elapsed":0}"##,
        r##"{"Action":"output","Package":"m/e","Test":"TestE","Output":"--- FAIL: TestE (0.00s)\n"}"##,
        r##"{"Action":"output","Package":"m/e","Test":"TestE","Output":"panic: boom [recovered]\n"}"##,
        r##"{"Action":"output","Package":"m/e","Test":"TestE","Output":"\n"}"##,
        r##"{"Action":"output","Package":"m/e","Test":"TestE","Output":"goroutine 7 [running]:\n"}"##,
        r##"{"Action":"output","Package":"m/e","Test":"TestE","Output":"m/e_test.TestE.func1(0x1)\n"}"##,
        r##"{"Action":"output","Package":"m/e","Test":"TestE","Output":"\t/r/e/e_test.go:6 +0x3\n"}"##,
        r##"{"Action":"output","Package":"m/e","Test":"TestE","Output":"testing.tRunner(0x1, 0x2)\n"}"##,
        r##"{"Action":"output","Package":"m/e","Test":"TestE","Output":"\t/go/src/testing/testing.go:2036 +0xea\n"}"##,
        r##"{"Action":"fail","Package":"m/e","Test":"TestE","Elapsed":0}"##,
        r##"{"Action":"fail","Package":"m/e","Elapsed":0.01}"##,
        r##"{"Action":"run","Package":"m/s","Test":"TestSleep"}"##,
        r##"{"Action":"output","Package":"m/s","Test":"TestSleep","Output":"    s_test.go:9: waiting\n"}"##,
        r##"{"Action":"output","Package":"m/s","Test":"TestSleep","Output":"panic: test timed out after 2s\n"}"##,
        r##"{"Action":"output","Package":"m/s","Test":"TestSleep","Output":"\trunning tests:\n"}"##,
        r##"{"Action":"output","Package":"m/s","Test":"TestSleep","Output":"\t\tTestSleep (2s)\n"}"##,
        r##"{"Action":"output","Package":"m/s","Test":"TestSleep","Output":"\n"}"##,
        r##"{"Action":"output","Package":"m/s","Test":"TestSleep","Output":"goroutine 4 [sleep]:\n"}"##,
        r##"{"Action":"output","Package":"m/s","Test":"TestSleep","Output":"m/s.TestSleep(0x1)\n"}"##,
        r##"{"Action":"output","Package":"m/s","Test":"TestSleep","Output":"\t/r/s/s_test.go:11 +0x1d\n"}"##,
        r##"{"Action":"output","Package":"m/s","Output":"FAIL\tm/s\t2.008s\n"}"##,
        r##"{"Action":"fail","Package":"m/s","Elapsed":2.011}"##,
    ];

    #[test]
    fn the_sample_stream_gives_the_expected_checks() {
        let checks = run(STREAM);
        let summary: Vec<(&str, &str, Status)> = checks
            .iter()
            .map(|c| (c.id.as_str(), c.title.as_str(), c.status))
            .collect();
        assert_eq!(
            summary,
            [
                ("test.go_test", "TestE", Status::Fail),
                ("test.go_test", "TestE/sub", Status::Fail),
                ("test.go_test", "TestSleep", Status::Fail),
            ]
        );
        let test = |c: &Check| match &c.data {
            CheckData::Test(d) => d.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(test(&checks[1]).panic.as_deref(), Some("boom"));
        assert_eq!(test(&checks[2]).timeout.as_deref(), Some("2s"));
        assert!(
            checks[2]
                .message
                .starts_with("s_test.go:9: waiting\ntimed out")
        );
    }

    #[test]
    fn truncated_dropped_and_reordered_events_never_panic() {
        // A small deterministic generator (xorshift) instead of a dependency.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..3000 {
            let mut lines: Vec<String> = STREAM.iter().map(|l| l.to_string()).collect();
            for _ in 0..1 + next(4) {
                let i = next(lines.len());
                match next(4) {
                    0 => {
                        let cut = next(lines[i].len() + 1);
                        let cut = (0..=cut).rev().find(|&c| lines[i].is_char_boundary(c));
                        lines[i].truncate(cut.unwrap_or(0));
                    }
                    1 => {
                        lines.remove(i);
                    }
                    2 => {
                        let j = next(lines.len());
                        lines.swap(i, j);
                    }
                    _ => {
                        let j = next(lines.len());
                        let dup = lines[j].clone();
                        lines.insert(i, dup);
                    }
                }
                if lines.is_empty() {
                    break;
                }
            }
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            for c in run(&refs) {
                assert!(!c.title.is_empty());
                assert!(c.message.len() <= MESSAGE_BYTES + 200);
            }
        }
    }

    #[test]
    fn durations_survive_odd_elapsed_values() {
        assert_eq!(seconds_to_ms(Some(f64::NAN)), 0);
        assert_eq!(seconds_to_ms(Some(-1.0)), 0);
        assert_eq!(seconds_to_ms(Some(1e300)), u64::MAX);
        assert_eq!(seconds_to_ms(Some(0.0125)), 13);
    }

    // A pass needs its evidence (docs/checks.md): only go test's own `pass` event for the
    // test makes one; a test that ran without an outcome, a package without tests, a failed
    // build never pass.
    #[test]
    fn go_test_pass_needs_the_pass_event() {
        let unfinished = run(&[
            r##"{"Action":"run","Package":"p","Test":"TestA"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}"##,
        ]);
        assert!(
            unfinished.iter().all(|c| c.status != Status::Pass),
            "{unfinished:#?}"
        );
        let none = run(&[
            r##"{"Action":"start","Package":"p"}"##,
            r##"{"Action":"output","Package":"p","Output":"?   \tp\t[no test files]\n"}"##,
            r##"{"Action":"skip","Package":"p","Elapsed":0}"##,
        ]);
        assert!(none.iter().all(|c| c.status != Status::Pass), "{none:#?}");
        let built = run(&STREAM[..6]);
        assert!(built.iter().all(|c| c.status != Status::Pass), "{built:#?}");
        let passed = run(&[
            r##"{"Action":"run","Package":"p","Test":"TestA"}"##,
            r##"{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.25}"##,
            r##"{"Action":"pass","Package":"p","Elapsed":0.3}"##,
        ]);
        assert_eq!(passed.len(), 1, "{passed:#?}");
        assert_eq!(passed[0].status, Status::Pass);
        assert_eq!(passed[0].message, "passed (0.25s)");
        let untimed = run(&[
            r##"{"Action":"run","Package":"p","Test":"TestA"}"##,
            r##"{"Action":"pass","Package":"p","Test":"TestA"}"##,
            r##"{"Action":"pass","Package":"p"}"##,
        ]);
        assert_eq!(untimed[0].message, "passed");
    }
}
