//! Running a [`Plan`]: every step as goready's own subcommand in a child process, supervised
//! by [`crate::process`] with [`Stop::Forward`] (a signal to `check` goes to every running
//! step, which stops its own children the way it does when run alone; `check` then returns
//! [`crate::cancel::Stopped`], publishing nothing, and the CLI dies of the same signal).
//!
//! Steps that do not depend on each other overlap: env, the first build and test start at
//! once; a further build (the rest of the matrix) waits for the build before it, so that the
//! builds do not fight over the cores; a probe of `{bin}` waits for the first build, which
//! makes that binary. What each step prints stays together: one step's stderr goes to the
//! sink live at a time, the others' is kept and sent whole when the live one ends
//! ([`Console`]); the CLI's reporter prints it.
//! The merged report is the one a run of the steps one after another gives: reports in plan
//! order, the build's checks in matrix order.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::ExitStatus;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{Action, Native, Plan, command_line, shell_line};
use crate::cancel::Cancel;
use crate::model::{Check, Report};
use crate::process::{self, Stop};
use crate::progress::{Say, Sink};
use crate::registry;
use crate::step::Step;

/// The rule whose error stands for "this step could not run at all".
fn could_not_run_rule(step: Step) -> &'static registry::Rule {
    match step {
        Step::Env => &registry::ENV_TOOLCHAIN_CONSISTENT,
        Step::Build | Step::Inspect => &registry::BUILD_COMPILE,
        Step::Image => &registry::IMAGE_ENTRYPOINT,
        Step::Probe => &registry::RUNTIME_START,
        Step::Test => &registry::TEST_PACKAGE,
        // Not run by `check` (yet): the report step is check's own publishing, and the
        // others are not planned; should one be, its failure to run is still an error.
        Step::Vuln | Step::Sbom | Step::Pprof | Step::Report | Step::Check => {
            &registry::BUILD_COMPILE
        }
    }
}

/// The step a step waits for: a build waits for the build before it, a probe of `{bin}` for
/// the first build (which makes the native binary).
fn waits_for(plan: &Plan, i: usize) -> Option<usize> {
    let builds: Vec<usize> = (0..plan.steps.len())
        .filter(|&j| plan.steps[j].0 == Step::Build)
        .collect();
    match &plan.steps[i] {
        (Step::Build, _) => builds.iter().copied().take_while(|&j| j < i).last(),
        (_, Action::Run { needs: Some(_), .. }) => builds.first().copied(),
        _ => None,
    }
}

/// Runs the plan's steps, overlapping what is independent, and merges their results. What
/// the steps print goes to `sink`; cancelled, no further step starts, the running ones are
/// stopped by the signal watcher, and the result is [`crate::cancel::Stopped`].
pub fn execute(
    plan: &Plan,
    config: Option<&Path>,
    sink: &dyn Sink,
    cancel: &Cancel,
) -> anyhow::Result<Report> {
    let tmp = tempfile::Builder::new()
        .prefix("goready-check-")
        .tempdir()
        .context("creating a directory for the steps' results")?;
    // Every step reads the same goready.toml ([rules]); none reads one by accident.
    let config_file = match config {
        Some(path) => std::path::absolute(path)?,
        None => {
            let empty = tmp.path().join("goready.toml");
            std::fs::write(&empty, "")?;
            empty
        }
    };
    let say = Say::new(Step::Check, sink);
    let console = Console::new(Lines(say));
    let done: Vec<Done> = plan.steps.iter().map(|_| Done::default()).collect();
    let started = Instant::now();
    let ctx = Ctx {
        plan,
        console: &console,
        done: &done,
        dir: tmp.path(),
        config: &config_file,
        cancel,
    };
    let results: Vec<anyhow::Result<(Report, Duration)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..plan.steps.len())
            .map(|i| {
                let ctx = &ctx;
                scope.spawn(move || {
                    let ran = ctx.step(i);
                    // Whatever happened, a step waiting for this one is told.
                    let report = ran.as_ref().map(|(r, _)| r.clone()).ok();
                    ctx.done[i].set(report);
                    ran
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a step's thread panicked")))
            })
            .collect()
    });
    // The signal watcher stopped what ran; a merged report of half-run steps would only
    // mislead.
    cancel.check()?;
    let mut in_steps = Duration::ZERO;
    let mut reports = Vec::new();
    for result in results {
        let (report, took) = result?;
        in_steps += took;
        reports.push(report);
    }
    say.info(format!(
        "check: steps done in {:.2} s ({:.2} s in the steps themselves, overlapped)",
        started.elapsed().as_secs_f64(),
        in_steps.as_secs_f64()
    ));
    Ok(merge_in_plan_order(plan, reports))
}

/// The steps' reports (one per step of the plan) merged as a run of the steps one after
/// another gives them: in plan order, every build's checks in the first build's place, in
/// the order one build of the whole matrix reports them.
fn merge_in_plan_order(plan: &Plan, reports: Vec<Report>) -> Report {
    let mut merged = Vec::new();
    let mut build: Option<(usize, Vec<Check>)> = None;
    for ((step, _), report) in plan.steps.iter().zip(reports) {
        if *step != Step::Build {
            merged.push(report);
            continue;
        }
        let (_, checks) = build.get_or_insert_with(|| {
            merged.push(Report::new(Vec::new()));
            (merged.len() - 1, Vec::new())
        });
        checks.extend(report.checks);
    }
    if let Some((slot, mut checks)) = build {
        checks.sort_by_key(|c| {
            c.target
                .as_ref()
                .and_then(|t| plan.matrix.iter().position(|m| m == t))
                .unwrap_or(usize::MAX)
        });
        merged[slot] = Report::new(checks);
    }
    crate::report::merge(merged)
}

/// What every step's thread shares.
struct Ctx<'a> {
    plan: &'a Plan,
    console: &'a Console<Lines<'a>>,
    done: &'a [Done],
    /// Where the steps' result files go.
    dir: &'a Path,
    config: &'a Path,
    cancel: &'a Cancel,
}

impl Ctx<'_> {
    /// Runs step `i` (after the step it waits for); returns its report and how long it ran.
    fn step(&self, i: usize) -> anyhow::Result<(Report, Duration)> {
        let (name, action) = &self.plan.steps[i];
        let total = self.plan.steps.len();
        let n = i + 1;
        let needed = waits_for(self.plan, i).map(|j| self.done[j].wait());
        // No step starts once goready is stopping.
        self.cancel.check()?;
        let step_started = Instant::now();
        let say = |line: String| self.console.write(i, format!("{line}\n").as_bytes());
        let checks = match action {
            Action::Skip(check) => {
                say(format!(
                    "goready check: [{n}/{total}] {name} skipped: {}",
                    check.message
                ));
                vec![check.clone()]
            }
            Action::Run { args, needs } => {
                let unbuilt = needs
                    .as_ref()
                    .and_then(|native| unbuilt(native, needed.as_ref().and_then(Option::as_ref)));
                if let Some(why) = unbuilt {
                    say(format!(
                        "goready check: [{n}/{total}] {name} skipped: {why}"
                    ));
                    vec![Check::of(&registry::RUNTIME_START).skip(why)]
                } else {
                    say(format!(
                        "goready check: [{n}/{total}] {}",
                        shell_line(&command_line(args))
                    ));
                    let json = self.dir.join(format!("{n}-{name}.json"));
                    let ran = run_step(*name, &args.argv(), &json, self.config, |chunk| {
                        self.console.write(i, chunk)
                    });
                    let ran = match ran {
                        Ok(ran) => ran,
                        Err(e) => {
                            self.console.end(i);
                            return Err(e);
                        }
                    };
                    let mut checks = match Report::read_json(&json) {
                        Ok(report) => report.checks,
                        Err(_) => vec![Check::of(could_not_run_rule(*name)).error(format!(
                            "goready {name} stopped without a result ({}){}",
                            describe_status(&ran.status),
                            ran.reason().map(|r| format!(": {r}")).unwrap_or_default()
                        ))],
                    };
                    if *name == Step::Test && checks.is_empty() {
                        checks.push(Check::of(&registry::TEST_PACKAGE).skip(format!(
                            "go test found no Go packages in {}: nothing to test",
                            self.plan.dir.display()
                        )));
                    }
                    checks
                }
            }
        };
        let report = Report::new(checks);
        let took = step_started.elapsed();
        // Progress, not the verdict: findings by severity, as every surface counts them; only
        // the merged report, judged at --fail-on, says what failed.
        let verdict = crate::report::Verdict::of(&report, crate::model::Severity::Error);
        say(format!(
            "goready check: {name}: {} checks; findings: {} ({:.2} s)",
            report.checks.len(),
            verdict.severities(),
            took.as_secs_f64()
        ));
        self.console.end(i);
        Ok((report, took))
    }
}

/// A step's end, for the steps that wait for it: its report, or `None` when it could not run.
#[derive(Default)]
struct Done {
    report: Mutex<Option<Option<Report>>>,
    ended: Condvar,
}

impl Done {
    fn set(&self, report: Option<Report>) {
        *lock(&self.report) = Some(report);
        self.ended.notify_all();
    }

    fn wait(&self) -> Option<Report> {
        let mut slot = lock(&self.report);
        while slot.is_none() {
            slot = self.ended.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
        slot.clone().flatten()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What goes to the sink as [`crate::progress::Event::Output`]: whole lines of the steps'
/// stderr (one write, one event).
struct Lines<'a>(Say<'a>);

impl Write for Lines<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.output(String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The steps' output, shared by the running steps so that each one's output stays together:
/// the first step to write streams live; the others' output is kept, and when the live step
/// ends, the kept output of the steps that ended meanwhile is sent whole (in plan order),
/// then the next running step's, which streams live from then on.
struct Console<W: Write> {
    state: Mutex<ConsoleState<W>>,
}

struct ConsoleState<W> {
    out: W,
    live: Option<usize>,
    /// What the steps that are not live printed, by step.
    kept: BTreeMap<usize, Vec<u8>>,
    /// Steps that ended while another was live.
    ended: Vec<usize>,
}

impl<W: Write> Console<W> {
    fn new(out: W) -> Self {
        Console {
            state: Mutex::new(ConsoleState {
                out,
                live: None,
                kept: BTreeMap::new(),
                ended: Vec::new(),
            }),
        }
    }

    fn write(&self, step: usize, bytes: &[u8]) {
        let mut state = lock(&self.state);
        let live = *state.live.get_or_insert(step);
        if live == step {
            let _ = state.out.write_all(bytes);
        } else {
            state.kept.entry(step).or_default().extend_from_slice(bytes);
        }
    }

    fn end(&self, step: usize) {
        let mut state = lock(&self.state);
        if state.live != Some(step) {
            state.ended.push(step);
            return;
        }
        let state = &mut *state;
        state.ended.sort_unstable();
        for s in state.ended.drain(..) {
            if let Some(text) = state.kept.remove(&s) {
                let _ = state.out.write_all(&text);
            }
        }
        // The next live step: the first (in plan order) that printed and still runs.
        state.live = state.kept.keys().next().copied();
        if let Some(next) = state.live
            && let Some(text) = state.kept.remove(&next)
        {
            let _ = state.out.write_all(&text);
        }
    }
}

/// Why `{bin}` cannot be started: its target did not build (or the build did not run).
pub(super) fn unbuilt(native: &Native, build: Option<&Report>) -> Option<String> {
    let compiled = build.is_some_and(|r| {
        r.checks.iter().any(|c| {
            c.id == registry::BUILD_COMPILE.id
                && c.target.as_deref() == Some(native.label.as_str())
                && c.status == crate::model::Status::Pass
        })
    });
    if compiled && native.bin.is_file() {
        return None;
    }
    Some(format!(
        "{{bin}} is {}, and the build of {} did not produce it (see build.compile): nothing to \
         start",
        native.bin.display(),
        native.label
    ))
}

fn describe_status(status: &ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => status.to_string(),
    }
}

/// How a step's process ended, and the end of what it printed on stderr.
struct StepRun {
    status: ExitStatus,
    stderr_tail: Vec<u8>,
}

impl StepRun {
    /// The step's own words for why it stopped: its `goready: error:` line, else its last
    /// line.
    fn reason(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.stderr_tail);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("goready: error: "))
            .or_else(|| lines.last().copied())
            .map(str::to_string)
    }
}

/// How much of a step's stderr is kept for the reason it stopped.
const STDERR_TAIL: usize = 16 * 1024;

/// Runs `goready STEP --json JSON --config CONFIG ARGV…`: stdout (the step's own table) is
/// dropped, stderr (progress, go's output) goes to `out`, a line at a time.
fn run_step(
    step: Step,
    argv: &[OsString],
    json: &Path,
    config: &Path,
    out: impl Fn(&[u8]),
) -> anyhow::Result<StepRun> {
    let exe = std::env::current_exe().context("finding goready's own executable")?;
    // The options go before ARGV: `goready test`'s ARGV may end in `-- GO_TEST_ARGS`.
    let mut words: Vec<OsString> = vec![
        step.name().into(),
        "--json".into(),
        json.into(),
        "--config".into(),
        config.into(),
    ];
    words.extend(argv.iter().cloned());
    let cmd = process::cmd(exe, words)
        .env_remove("GOREADY_FAIL_ON")
        .env_remove("GOREADY_CONFIG")
        .stdout_null();
    let mut child = process::spawn(&cmd, Stop::Forward).context("starting a goready step")?;
    let mut tail = Vec::new();
    if let Some(stderr) = child.take_stderr() {
        let mut stderr = BufReader::new(stderr);
        let mut line = Vec::new();
        loop {
            line.clear();
            match stderr.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    out(&line);
                    tail.extend_from_slice(&line);
                    if tail.len() > STDERR_TAIL {
                        tail.drain(..tail.len() - STDERR_TAIL);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    let status = child.wait().context("waiting for a goready step")?;
    Ok(StepRun {
        status,
        stderr_tail: tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::StepArgs;
    use std::path::PathBuf;

    #[test]
    fn a_probe_of_bin_is_skipped_when_its_target_did_not_build() {
        let native = Native {
            label: "linux/amd64 cgo=0".into(),
            bin: PathBuf::from("/nonexistent/dist/svc_linux_amd64"),
        };
        let failed = Report::new(vec![
            Check::of(&registry::BUILD_COMPILE)
                .target("linux/amd64 cgo=0")
                .fail("main.go:3: syntax error"),
        ]);
        let why = unbuilt(&native, Some(&failed)).unwrap();
        assert!(
            why.contains("build.compile") && why.contains("linux/amd64 cgo=0"),
            "{why}"
        );
        assert!(unbuilt(&native, None).is_some());
        // Built, but the file is gone: still nothing to start.
        let built = Report::new(vec![
            Check::of(&registry::BUILD_COMPILE)
                .target("linux/amd64 cgo=0")
                .pass("built"),
        ]);
        assert!(unbuilt(&native, Some(&built)).is_some());
        let exe = std::env::current_exe().unwrap();
        let here = Native { bin: exe, ..native };
        assert_eq!(unbuilt(&here, Some(&built)), None);
    }

    #[test]
    fn builds_in_parts_merge_as_one_build_of_the_matrix_in_plan_order() {
        let run = |step: Step| {
            (
                step,
                Action::Run {
                    args: StepArgs::new(step),
                    needs: None,
                },
            )
        };
        let plan = Plan {
            dir: PathBuf::from("."),
            steps: vec![
                run(Step::Env),
                run(Step::Build),
                run(Step::Build),
                run(Step::Probe),
            ],
            report: StepArgs::new(Step::Report),
            matrix: vec!["linux/amd64 cgo=0".into(), "linux/arm64 cgo=0".into()],
        };
        let built = |target: &str| {
            vec![
                Check::of(&registry::BUILD_COMPILE)
                    .target(target)
                    .pass("built"),
                Check::of(&registry::BINARY_VERSION)
                    .target(target)
                    .pass("1.0"),
            ]
        };
        let merged = merge_in_plan_order(
            &plan,
            vec![
                Report::new(vec![
                    Check::of(&registry::ENV_TOOLCHAIN_CONSISTENT).pass("ok"),
                ]),
                // The native target (second in the matrix) was built first.
                Report::new(built("linux/arm64 cgo=0")),
                Report::new(built("linux/amd64 cgo=0")),
                Report::new(vec![Check::of(&registry::RUNTIME_START).pass("up")]),
            ],
        );
        let order: Vec<(&str, Option<&str>)> = merged
            .checks
            .iter()
            .map(|c| (c.id.as_str(), c.target.as_deref()))
            .collect();
        let amd = Some("linux/amd64 cgo=0");
        let arm = Some("linux/arm64 cgo=0");
        assert_eq!(
            order,
            [
                (registry::ENV_TOOLCHAIN_CONSISTENT.id, None),
                (registry::BUILD_COMPILE.id, amd),
                (registry::BINARY_VERSION.id, amd),
                (registry::BUILD_COMPILE.id, arm),
                (registry::BINARY_VERSION.id, arm),
                (registry::RUNTIME_START.id, None),
            ]
        );
    }

    #[test]
    fn each_steps_output_stays_together_while_steps_overlap() {
        let console = Console::new(Vec::new());
        // env (0) writes first and streams; build (1) and test (2) write meanwhile.
        console.write(0, b"env: start\n");
        console.write(1, b"build: start\n");
        console.write(2, b"test: start\n");
        console.write(0, b"env: done\n");
        console.write(2, b"test: pa");
        console.write(2, b"ss\n");
        console.end(2);
        console.write(1, b"build: one\n");
        console.end(0);
        // build is live now: its kept lines came out, the rest streams.
        console.write(1, b"build: two\n");
        console.write(3, b"probe: start\n");
        console.end(1);
        console.write(3, b"probe: done\n");
        console.end(3);
        let out = String::from_utf8(console.state.into_inner().unwrap().out).unwrap();
        assert_eq!(
            out,
            "env: start\nenv: done\ntest: start\ntest: pass\nbuild: start\nbuild: one\n\
             build: two\nprobe: start\nprobe: done\n"
        );
    }
}
