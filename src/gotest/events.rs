//! The event stream of `go test -json` (cmd/test2json), and a [`Collector`] that folds it
//! into per-package facts: which tests ran, how each ended, what each printed, which builds
//! failed. Only facts live here; `rules.rs` judges them.
//!
//! Events are `{Time, Action, Package, Test, Elapsed, Output}`; Go 1.24+ adds `build-output`
//! and `build-fail` events keyed by `ImportPath`, and `FailedBuild` on a package's `fail`
//! (before 1.24, and with `GODEBUG=gotestjsonbuildtext=1`, build output goes to stderr).

use std::collections::HashMap;

use serde::Deserialize;

/// What an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A package's test binary starts.
    Start,
    /// A test starts.
    Run,
    /// A parallel test pauses.
    Pause,
    /// A paused test continues.
    Cont,
    /// A test or package passed.
    Pass,
    /// Benchmark output.
    Bench,
    /// A test or package failed.
    Fail,
    /// A line (or part of one) the test, package or binary printed.
    Output,
    /// A test or package was skipped.
    Skip,
    /// Go 1.24+: a line of compiler/vet/setup output for `ImportPath`.
    BuildOutput,
    /// Go 1.24+: the build of `ImportPath` failed.
    BuildFail,
    /// Anything a newer Go adds (e.g. `attr`); ignored.
    #[serde(other)]
    Other,
}

/// One line of `go test -json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    /// What happened.
    #[serde(rename = "Action")]
    pub action: Action,
    /// The package's import path (absent on build events).
    #[serde(rename = "Package", default)]
    pub package: Option<String>,
    /// The test's full name (`TestX/sub`), absent on package events.
    #[serde(rename = "Test", default)]
    pub test: Option<String>,
    /// Seconds, on pass/fail/skip.
    #[serde(rename = "Elapsed", default)]
    pub elapsed: Option<f64>,
    /// Printed text, on output events.
    #[serde(rename = "Output", default)]
    pub output: Option<String>,
    /// Build events: the package being built (`p [p.test]` for a test variant).
    #[serde(rename = "ImportPath", default)]
    pub import_path: Option<String>,
    /// On a package's `fail`: the `ImportPath` of the build that failed.
    #[serde(rename = "FailedBuild", default)]
    pub failed_build: Option<String>,
}

/// Parses one line; `None` for anything that is not an event (goready keeps such lines as
/// stray output rather than failing).
pub fn parse_line(line: &[u8]) -> Option<Event> {
    serde_json::from_slice(line).ok()
}

/// How a test or package ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `pass`.
    Pass,
    /// `fail`.
    Fail,
    /// `skip`.
    Skip,
}

/// Lines per test (or package, or build) kept in memory; the rest are only counted. A
/// timeout dumps every goroutine, so this is generous.
pub const MAX_LINES: usize = 20_000;
/// Bytes per test (or package, or build) kept in memory.
pub const MAX_BYTES: usize = 4 << 20;

/// Printed lines, capped at [`MAX_LINES`] / [`MAX_BYTES`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// The lines, without their newline.
    pub lines: Vec<String>,
    /// Lines that did not fit.
    pub dropped: usize,
    bytes: usize,
    /// test2json splits very long lines; a piece without a newline continues.
    open: bool,
}

impl Output {
    /// Appends printed text (one line, or part of one).
    pub fn push(&mut self, text: &str) {
        let ends_line = text.ends_with('\n');
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if self.open
            && let Some(last) = self.lines.last_mut()
        {
            if self.bytes + text.len() <= MAX_BYTES {
                last.push_str(text);
                self.bytes += text.len();
            }
        } else if self.lines.len() < MAX_LINES && self.bytes + text.len() <= MAX_BYTES {
            self.bytes += text.len();
            self.lines.push(text.to_string());
        } else {
            self.dropped += 1;
        }
        self.open = !ends_line && self.dropped == 0;
    }

    /// Appends one whole line (text without its newline).
    pub fn push_line(&mut self, line: &str) {
        self.push(line);
        self.open = false;
    }

    /// Forgets the text (a passing test's output is not reported).
    pub fn clear(&mut self) {
        *self = Output::default();
    }
}

/// Lines that frame a test's output rather than being part of it.
pub fn is_framing(line: &str) -> bool {
    const PREFIXES: [&str; 9] = [
        "=== RUN",
        "=== PAUSE",
        "=== CONT",
        "=== NAME",
        "=== ATTR",
        "--- PASS:",
        "--- FAIL:",
        "--- SKIP:",
        "--- BENCH:",
    ];
    let trimmed = line.trim_start();
    PREFIXES.iter().any(|p| trimmed.starts_with(p))
}

/// One test (or subtest, example, benchmark, fuzz seed) as it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRun {
    /// Full name, `TestSubtests/bad`.
    pub name: String,
    /// How it ended; `None` if the binary stopped while it ran (timeout, crash, exit).
    pub outcome: Option<Outcome>,
    /// Seconds, from the final event.
    pub elapsed: Option<f64>,
    /// What it printed (test2json attributes output to the test that printed it).
    pub output: Output,
    /// It printed something besides the `=== RUN`/`--- FAIL` framing.
    pub has_content: bool,
    /// When a `panic:` was printed under this test: the strict subtests whose `--- FAIL`
    /// lines came right before it, deepest first. Go prints the panicking test's `--- FAIL`
    /// and then its parents', so the panic may belong to the first of these (the stack says).
    pub panic_chain: Option<Vec<String>>,
}

impl TestRun {
    fn new(name: &str) -> TestRun {
        TestRun {
            name: name.to_string(),
            outcome: None,
            elapsed: None,
            output: Output::default(),
            has_content: false,
            panic_chain: None,
        }
    }
}

/// One package's test run.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageRun {
    /// The import path (or the pattern, for a pattern `go` could not resolve).
    pub import_path: String,
    /// Its tests, in the order they started.
    pub tests: Vec<TestRun>,
    /// Output outside any test: the `ok`/`FAIL` summary, panics in init, TestMain's prints.
    pub output: Output,
    /// How the package ended; `None` if `go test` stopped before reporting it.
    pub outcome: Option<Outcome>,
    /// Seconds, from the package's final event.
    pub elapsed: Option<f64>,
    /// Go 1.24+: the build that failed and kept this package's tests from running.
    pub failed_build: Option<String>,
    /// Last test name → index into `tests` (a test that runs twice, `-count=2`, is two runs).
    index: HashMap<String, usize>,
    /// `--- FAIL` lines and fail events seen since the last other output (see `panic_chain`).
    fail_chain: Vec<usize>,
}

impl PackageRun {
    fn new(import_path: &str) -> PackageRun {
        PackageRun {
            import_path: import_path.to_string(),
            tests: Vec::new(),
            output: Output::default(),
            outcome: None,
            elapsed: None,
            failed_build: None,
            index: HashMap::new(),
            fail_chain: Vec::new(),
        }
    }

    /// The package printed `[no test files]`.
    pub fn no_test_files(&self) -> bool {
        self.summary_has("[no test files]")
    }

    /// The package has test files but ran no test (`-run` matched nothing).
    pub fn no_tests_to_run(&self) -> bool {
        self.summary_has("[no tests to run]")
    }

    /// The package failed to build (`[build failed]`) or to set up (`[setup failed]`).
    pub fn build_failed(&self) -> bool {
        self.failed_build.is_some()
            || self.summary_has("[build failed]")
            || self.summary_has("[setup failed]")
    }

    fn summary_has(&self, marker: &str) -> bool {
        self.output.lines.iter().any(|l| {
            (l.starts_with("ok ") || l.starts_with("FAIL") || l.starts_with('?'))
                && l.contains(marker)
        })
    }

    /// The test run for `name`: the current one, or a new one when it already ended and
    /// runs again.
    fn test(&mut self, name: &str, starting: bool) -> usize {
        if let Some(&i) = self.index.get(name)
            && !(starting && self.tests[i].outcome.is_some())
        {
            return i;
        }
        self.tests.push(TestRun::new(name));
        let i = self.tests.len() - 1;
        self.index.insert(name.to_string(), i);
        i
    }

    fn push(&mut self, ev: &Event) {
        let Some(name) = ev.test.as_deref() else {
            self.fail_chain.clear();
            match ev.action {
                Action::Output => self.output.push(ev.output.as_deref().unwrap_or("")),
                Action::Pass | Action::Fail | Action::Skip => {
                    self.outcome = outcome(ev.action);
                    self.elapsed = ev.elapsed;
                    if ev.failed_build.is_some() {
                        self.failed_build = ev.failed_build.clone();
                    }
                }
                _ => {}
            }
            return;
        };
        let i = self.test(name, ev.action == Action::Run);
        match ev.action {
            Action::Output => {
                let text = ev.output.as_deref().unwrap_or("");
                if text.starts_with("--- FAIL:") || text.trim_start().starts_with("--- FAIL:") {
                    self.chain(i);
                } else if (text.starts_with("panic: ") || text.starts_with("fatal error: "))
                    && self.tests[i].panic_chain.is_none()
                {
                    let parent = format!("{}/", self.tests[i].name);
                    let chain = self
                        .fail_chain
                        .iter()
                        .map(|&c| &self.tests[c].name)
                        .filter(|n| n.starts_with(&parent))
                        .cloned()
                        .collect();
                    self.tests[i].panic_chain = Some(chain);
                    self.tests[i].has_content = true;
                    self.fail_chain.clear();
                } else if !is_framing(text) {
                    self.tests[i].has_content = true;
                    self.fail_chain.clear();
                }
                self.tests[i].output.push(text);
            }
            Action::Fail => {
                self.chain(i);
                self.finish(i, ev);
            }
            Action::Pass | Action::Skip => {
                self.fail_chain.clear();
                self.finish(i, ev);
            }
            _ => self.fail_chain.clear(),
        }
    }

    fn chain(&mut self, i: usize) {
        if self.fail_chain.last() != Some(&i) {
            self.fail_chain.push(i);
        }
    }

    fn finish(&mut self, i: usize, ev: &Event) {
        let test = &mut self.tests[i];
        test.outcome = outcome(ev.action);
        test.elapsed = ev.elapsed;
        if test.outcome == Some(Outcome::Pass) {
            test.output.clear();
        }
    }
}

fn outcome(action: Action) -> Option<Outcome> {
    match action {
        Action::Pass => Some(Outcome::Pass),
        Action::Fail => Some(Outcome::Fail),
        Action::Skip => Some(Outcome::Skip),
        _ => None,
    }
}

/// One build `go test` ran for a package (Go 1.24+ build events, or a `# pkg` block of
/// stderr before that).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildRun {
    /// `p [p.test]` for a test variant, `p` for a dependency, the pattern for setup errors.
    pub import_path: String,
    /// Compiler, vet or setup output, `# p` headers included.
    pub output: Output,
    /// A `build-fail` event came.
    pub failed: bool,
}

/// Folds events into [`PackageRun`]s and [`BuildRun`]s as they stream in.
#[derive(Debug, Default)]
pub struct Collector {
    /// Packages in the order they started.
    pub packages: Vec<PackageRun>,
    /// Builds in the order their output started.
    pub builds: Vec<BuildRun>,
    /// stdout lines that were not events, capped.
    pub stray: Output,
    package_index: HashMap<String, usize>,
    build_index: HashMap<String, usize>,
}

impl Collector {
    /// Feeds one stdout line. Returns the index of the package when this event ended it.
    pub fn push_line(&mut self, line: &[u8]) -> Option<usize> {
        match parse_line(line) {
            Some(ev) => self.push(&ev),
            None => {
                let text = String::from_utf8_lossy(line);
                if !text.trim().is_empty() {
                    self.stray.push_line(text.trim_end());
                }
                None
            }
        }
    }

    /// Feeds one event. Returns the index of the package when this event ended it.
    pub fn push(&mut self, ev: &Event) -> Option<usize> {
        if matches!(ev.action, Action::BuildOutput | Action::BuildFail) {
            let path = ev.import_path.as_deref().unwrap_or("");
            let i = *self.build_index.entry(path.to_string()).or_insert_with(|| {
                self.builds.push(BuildRun {
                    import_path: path.to_string(),
                    ..BuildRun::default()
                });
                self.builds.len() - 1
            });
            let build = &mut self.builds[i];
            match ev.action {
                Action::BuildFail => build.failed = true,
                _ => build.output.push(ev.output.as_deref().unwrap_or("")),
            }
            return None;
        }
        let path = ev.package.as_deref()?;
        let i = *self
            .package_index
            .entry(path.to_string())
            .or_insert_with(|| {
                self.packages.push(PackageRun::new(path));
                self.packages.len() - 1
            });
        let pkg = &mut self.packages[i];
        pkg.push(ev);
        let ended =
            ev.test.is_none() && matches!(ev.action, Action::Pass | Action::Fail | Action::Skip);
        ended.then_some(i)
    }

    /// The build a package's `FailedBuild` names.
    pub fn build(&self, import_path: &str) -> Option<&BuildRun> {
        self.build_index.get(import_path).map(|&i| &self.builds[i])
    }

    /// Adds a build found outside the event stream (stderr of Go before 1.24).
    pub fn add_build(&mut self, build: BuildRun) {
        if !self.build_index.contains_key(&build.import_path) {
            self.build_index
                .insert(build.import_path.clone(), self.builds.len());
            self.builds.push(build);
        }
    }
}

/// Splits the stderr of Go before 1.24 (or `GODEBUG=gotestjsonbuildtext=1`) into build
/// blocks: each starts with a `# import/path` header line.
pub fn stderr_builds(stderr: &str) -> Vec<BuildRun> {
    let mut builds: Vec<BuildRun> = Vec::new();
    for line in stderr.lines() {
        if let Some(header) = line.strip_prefix("# ") {
            // vet's `# [p]` sub-header belongs to the block above it.
            if !header.starts_with('[') || builds.is_empty() {
                builds.push(BuildRun {
                    import_path: header.trim().to_string(),
                    output: Output::default(),
                    failed: true,
                });
            }
        }
        if let Some(build) = builds.last_mut() {
            build.output.push_line(line);
        }
    }
    builds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(lines: &[&str]) -> Collector {
        let mut c = Collector::default();
        for l in lines {
            c.push_line(l.as_bytes());
        }
        c
    }

    #[test]
    fn parses_go_1_24_build_events_and_failed_build() {
        let c = collect(&[
            r##"{"ImportPath":"m/b [m/b.test]","Action":"build-output","Output":"# m/b [m/b.test]\n"}"##,
            r##"{"ImportPath":"m/b [m/b.test]","Action":"build-output","Output":"b/b_test.go:6:6: undefined: x\n"}"##,
            r##"{"ImportPath":"m/b [m/b.test]","Action":"build-fail"}"##,
            r##"{"Action":"start","Package":"m/b"}"##,
            r##"{"Action":"output","Package":"m/b","Output":"FAIL\tm/b [build failed]\n"}"##,
            r##"{"Action":"fail","Package":"m/b","Elapsed":0,"FailedBuild":"m/b [m/b.test]"}"##,
        ]);
        assert_eq!(c.builds.len(), 1);
        let b = c.build("m/b [m/b.test]").unwrap();
        assert!(b.failed);
        assert_eq!(b.output.lines[1], "b/b_test.go:6:6: undefined: x");
        let p = &c.packages[0];
        assert_eq!(p.outcome, Some(Outcome::Fail));
        assert_eq!(p.failed_build.as_deref(), Some("m/b [m/b.test]"));
        assert!(p.build_failed());
    }

    #[test]
    fn subtests_get_their_own_output_and_passing_output_is_dropped() {
        let c = collect(&[
            r##"{"Action":"run","Package":"p","Test":"TestS"}"##,
            r##"{"Action":"run","Package":"p","Test":"TestS/good"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestS/good","Output":"    s_test.go:3: chatter\n"}"##,
            r##"{"Action":"pass","Package":"p","Test":"TestS/good","Elapsed":0.01}"##,
            r##"{"Action":"run","Package":"p","Test":"TestS/bad"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestS/bad","Output":"    s_test.go:8: bad one\n"}"##,
            r##"{"Action":"fail","Package":"p","Test":"TestS/bad","Elapsed":0.02}"##,
            r##"{"Action":"fail","Package":"p","Test":"TestS","Elapsed":0.03}"##,
            r##"{"Action":"fail","Package":"p","Elapsed":0.5}"##,
        ]);
        let p = &c.packages[0];
        let names: Vec<_> = p.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["TestS", "TestS/good", "TestS/bad"]);
        assert!(p.tests[1].output.lines.is_empty());
        assert_eq!(p.tests[2].output.lines, ["    s_test.go:8: bad one"]);
        assert_eq!(p.tests[2].elapsed, Some(0.02));
        assert!(!p.tests[0].has_content);
    }

    #[test]
    fn a_panic_printed_under_the_parent_remembers_the_failing_subtest_chain() {
        let c = collect(&[
            r##"{"Action":"run","Package":"p","Test":"TestE"}"##,
            r##"{"Action":"run","Package":"p","Test":"TestE/sub"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestE/sub","Output":"=== RUN   TestE/sub\n"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestE/sub","Output":"--- FAIL: TestE/sub (0.00s)\n"}"##,
            r##"{"Action":"fail","Package":"p","Test":"TestE/sub","Elapsed":0}"##,
            r##"{"Action":"output","Package":"p","Test":"TestE","Output":"--- FAIL: TestE (0.00s)\n"}"##,
            r##"{"Action":"output","Package":"p","Test":"TestE","Output":"panic: boom [recovered]\n"}"##,
            r##"{"Action":"fail","Package":"p","Test":"TestE","Elapsed":0}"##,
        ]);
        let p = &c.packages[0];
        assert_eq!(p.tests[0].panic_chain, Some(vec!["TestE/sub".to_string()]));
        assert_eq!(p.tests[1].panic_chain, None);
    }

    #[test]
    fn a_test_that_runs_twice_is_two_runs() {
        let c = collect(&[
            r##"{"Action":"run","Package":"p","Test":"TestA"}"##,
            r##"{"Action":"pass","Package":"p","Test":"TestA"}"##,
            r##"{"Action":"run","Package":"p","Test":"TestA"}"##,
            r##"{"Action":"fail","Package":"p","Test":"TestA"}"##,
        ]);
        let outcomes: Vec<_> = c.packages[0].tests.iter().map(|t| t.outcome).collect();
        assert_eq!(outcomes, [Some(Outcome::Pass), Some(Outcome::Fail)]);
    }

    #[test]
    fn garbage_lines_become_stray_output_not_panics() {
        let c = collect(&[
            "",
            "not json",
            "{",
            r##"{"Action":42}"##,
            r##"{"Action":"fail","Package":"p","Elapsed":"soon"}"##,
            r##"{"Action":"run"}"##,
            "\u{0}\u{1}\u{2}",
            r##"{"Action":"future-thing","Package":"p","Test":"T"}"##,
        ]);
        assert!(c.stray.lines.iter().any(|l| l == "not json"));
        assert_eq!(
            c.packages.len(),
            1,
            "unknown actions still name the package"
        );
        assert!(c.builds.is_empty());
    }

    #[test]
    fn output_is_capped_and_split_lines_are_joined() {
        let mut o = Output::default();
        o.push("part one ");
        o.push("and two\n");
        assert_eq!(o.lines, ["part one and two"]);
        for _ in 0..MAX_LINES + 10 {
            o.push("x\n");
        }
        assert_eq!(o.lines.len(), MAX_LINES);
        assert_eq!(o.dropped, 11);
    }

    #[test]
    fn old_go_stderr_splits_into_build_blocks() {
        let builds = stderr_builds(
            "# m/b [m/b.test]\nb/b_test.go:3:27: undefined: x\n# m/v\n# [m/v]\nv/v_test.go:5:40: bad printf\n",
        );
        assert_eq!(builds.len(), 2);
        assert_eq!(builds[0].import_path, "m/b [m/b.test]");
        assert_eq!(builds[1].import_path, "m/v");
        assert_eq!(builds[1].output.lines.len(), 3);
    }
}
