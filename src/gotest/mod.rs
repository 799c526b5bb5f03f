//! `goready test`: runs `go test -json` and turns its event stream into checks of suite
//! "test" — one per test (subtests included), one per failed build, and package-level checks
//! for a package without tests or one that fails outside any test.
//!
//! `events.rs` folds the stream into facts, `output.rs` reads what tests print (locations,
//! panics, timeouts), `rules.rs` judges, `memprofile.rs` adds a `runtime.allocs` check per
//! package (`--memprofile`). `go` runs in its own process group (see [`crate::process`]):
//! no `go` or test binary outlives goready.

pub mod events;
pub mod memprofile;
pub mod output;
pub mod rules;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::mpsc::{Sender, channel};

use anyhow::{Context, bail};

use crate::cancel::Cancel;
use crate::gotool::Go;
use crate::model::Check;
use crate::progress::{Say, Sink};
use crate::step::Step;
use events::{Collector, Outcome};
use rules::Locator;

/// The longest stdout line goready reads whole; the rest of a longer line is dropped
/// (test2json itself splits long output lines, so only a broken stream gets here).
pub const MAX_EVENT_LINE: usize = 1 << 20;
/// stderr kept for messages.
const MAX_STDERR: usize = 1 << 20;

/// What `goready test` runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where `go test` runs (the module, or a directory inside it).
    pub dir: PathBuf,
    /// Package patterns; empty means `./...`.
    pub packages: Vec<String>,
    /// Extra `go test` arguments (build, test and test-binary flags), after the packages.
    pub go_args: Vec<String>,
    /// `--memprofile`: a memory profile per package, ranked into `runtime.allocs` checks.
    pub memprofile: Option<memprofile::MemProfile>,
}

/// One `go test -json` process: its packages, goready's own flags for it (the user's
/// arguments follow them) and, with `--memprofile`, the directory its profile goes to.
#[derive(Debug, Clone)]
struct Invocation {
    packages: Vec<String>,
    flags: Vec<String>,
    outputdir: Option<PathBuf>,
}

/// How the `go test` processes ended.
struct Ran {
    /// The first unsuccessful exit status, if any.
    failed: Option<ExitStatus>,
    /// What they wrote to stderr (up to [`MAX_STDERR`] each).
    stderr: String,
}

/// What the `go test` processes send to the thread that folds their events.
enum Msg {
    /// A stdout line of invocation N.
    Line(usize, Vec<u8>),
    /// A piece of stderr, forwarded as it comes.
    Stderr(Vec<u8>),
    /// Invocation N is finished.
    Done(usize),
}

/// Runs `go test -json` and returns its checks. Package summary lines (`ok`, `FAIL`, `?`)
/// and go's stderr go to `sink` as [`crate::progress::Event::Output`] as they come, so a
/// long run shows life. Cancelled, it returns [`crate::cancel::Stopped`] (the signal watcher
/// has killed `go test`; no package starts after that).
pub fn run(opts: &Options, sink: &dyn Sink, cancel: &Cancel) -> anyhow::Result<Vec<Check>> {
    let say = Say::new(Step::Test, sink);
    if !opts.dir.is_dir() {
        bail!(
            "{} is not a directory; pass the Go module's directory with --dir",
            opts.dir.display()
        );
    }
    let go = Go::default();
    let packages = if opts.packages.is_empty() {
        vec!["./...".to_string()]
    } else {
        opts.packages.clone()
    };
    // --memprofile: one `go test` per package, each writing into a directory of its own.
    let scratch;
    let (invocations, jobs) = match &opts.memprofile {
        None => (
            vec![Invocation {
                packages,
                flags: Vec::new(),
                outputdir: None,
            }],
            1,
        ),
        Some(_) => {
            if let Some(flag) = memprofile::conflicting_flag(&opts.go_args) {
                bail!(
                    "--memprofile sets go test's -memprofile, -outputdir and -o for each \
                     package itself; leave {flag} out of the go test arguments"
                );
            }
            scratch = tempfile::Builder::new()
                .prefix("goready-memprofile-")
                .tempdir()
                .context("cannot create a temporary directory for the memory profiles")?;
            let listed =
                go.list_packages(&opts.dir, &packages, &memprofile::list_flags(&opts.go_args))?;
            let mut invocations = Vec::new();
            for (i, pkg) in listed.into_iter().enumerate() {
                let out = scratch.path().join(i.to_string());
                std::fs::create_dir(&out)
                    .with_context(|| format!("cannot create {}", out.display()))?;
                invocations.push(Invocation {
                    packages: vec![pkg],
                    flags: memprofile::flags(&out),
                    outputdir: Some(out),
                });
            }
            (invocations, memprofile::jobs(&opts.go_args))
        }
    };
    let mut collector = Collector::default();
    let ran = run_go_tests(&go, opts, &invocations, jobs, &mut collector, say, cancel)?;
    // A `go test` the signal killed is no result: stopped, not failed.
    cancel.check()?;
    let stderr_text = ran.stderr.clone();

    if collector.packages.is_empty() && collector.builds.is_empty() {
        let Some(status) = ran.failed else {
            say.info("go test matched no packages");
            return Ok(Vec::new());
        };
        let mut why = stderr_text.trim().to_string();
        if why.is_empty() {
            why = collector.stray.lines.join("\n");
        }
        bail!(
            "go test failed before testing any package ({status}): {why}\n\
             (packages and flags are passed to `go test -json PKG… ARGS…` in {})",
            opts.dir.display()
        );
    }

    // Go before 1.24 prints build errors on stderr, in `# import/path` blocks.
    let mut old_builds: HashMap<String, String> = HashMap::new();
    if collector
        .packages
        .iter()
        .any(|p| p.build_failed() && p.failed_build.is_none())
    {
        for b in events::stderr_builds(&stderr_text) {
            old_builds.insert(
                rules::strip_variant(&b.import_path).to_string(),
                b.import_path.clone(),
            );
            collector.add_build(b);
        }
    }
    // Which failed build kept which packages from testing.
    let mut blocked: HashMap<String, Vec<String>> = HashMap::new();
    let mut build_of: HashMap<&str, String> = HashMap::new();
    for p in collector.packages.iter().filter(|p| p.build_failed()) {
        let build = p
            .failed_build
            .clone()
            .or_else(|| old_builds.get(&p.import_path).cloned());
        if let Some(b) = build.filter(|b| collector.build(b).is_some()) {
            blocked
                .entry(b.clone())
                .or_default()
                .push(p.import_path.clone());
            build_of.insert(&p.import_path, b);
        }
    }

    let loc = Locator {
        go_dir: opts.dir.canonicalize().unwrap_or_else(|_| opts.dir.clone()),
        root: rules::repo_root(&opts.dir),
        dirs: go
            .package_dirs(&opts.dir, &needing_dirs(&collector))
            .unwrap_or_default(),
    };
    let mut checks = Vec::new();
    let mut reported_builds = std::collections::HashSet::new();
    for p in &collector.packages {
        if p.build_failed() {
            match build_of.get(p.import_path.as_str()) {
                Some(b) => {
                    if reported_builds.insert(b.clone())
                        && let Some(build) = collector.build(b)
                    {
                        checks.push(rules::build_check(build, &blocked[b], &loc));
                    }
                }
                None => checks.push(rules::unexplained_build_check(p, &loc)),
            }
            continue;
        }
        checks.extend(rules::package_checks(p, &loc));
    }
    for b in &collector.builds {
        if b.failed && reported_builds.insert(b.import_path.clone()) {
            checks.push(rules::build_check(b, &[], &loc));
        }
    }
    if let Some(status) = ran
        .failed
        .filter(|_| !checks.iter().any(|c| c.status.is_problem()))
    {
        let mut why = stderr_text.trim().to_string();
        if why.is_empty() {
            why = collector.stray.lines.join("\n");
        }
        checks.push(Check::of(&crate::registry::TEST_PACKAGE).error(format!(
            "go test exited with {status} but no test failed: {why}"
        )));
    }
    if let Some(mp) = &opts.memprofile {
        for inv in &invocations {
            if let (Some(pkg), Some(out)) = (inv.packages.first(), &inv.outputdir) {
                let run = collector.packages.iter().find(|p| &p.import_path == pkg);
                checks.extend(memprofile::package_check(pkg, run, out, mp, say));
            }
        }
    }
    Ok(checks)
}

/// Runs the `go test -json` invocations, at most `jobs` at once ([`crate::pool`]), folding
/// their events into `collector` in invocation order (a later one's lines wait in memory, as
/// `go test` itself prints packages in order) and passing stderr and package summaries on.
fn run_go_tests(
    go: &Go,
    opts: &Options,
    invocations: &[Invocation],
    jobs: usize,
    collector: &mut Collector,
    say: Say<'_>,
    cancel: &Cancel,
) -> anyhow::Result<Ran> {
    let n = invocations.len();
    let (tx, rx) = channel::<Msg>();
    std::thread::scope(|s| -> anyhow::Result<Ran> {
        // The pool runs beside this thread, which folds what the invocations send.
        let pool = s.spawn(move || {
            crate::pool::map(invocations, jobs, |i, inv| {
                cancel.check()?;
                let result = run_one(go, opts, inv, i, &tx);
                let _ = tx.send(Msg::Done(i));
                result
            })
        });

        let feed = |collector: &mut Collector, line: &[u8]| {
            if let Some(i) = collector.push_line(line)
                && let Some(summary) =
                    collector.packages[i].output.lines.iter().rev().find(|l| {
                        l.starts_with("ok ") || l.starts_with("FAIL") || l.starts_with("? ")
                    })
            {
                say.output(summary.clone());
            }
        };
        let mut pending: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
        let mut done = vec![false; n];
        let mut current = 0;
        let mut partial = String::new();
        for msg in rx {
            match msg {
                Msg::Line(i, line) if i == current => feed(collector, &line),
                Msg::Line(i, line) => pending[i].push(line),
                Msg::Stderr(chunk) => {
                    // Whole lines only: the reporter prints one event per line.
                    partial.push_str(&String::from_utf8_lossy(&chunk));
                    if let Some(end) = partial.rfind('\n') {
                        let lines: String = partial.drain(..=end).collect();
                        say.output(lines);
                    }
                }
                Msg::Done(i) => {
                    done[i] = true;
                    while current < n && done[current] {
                        current += 1;
                        if let Some(lines) = pending.get_mut(current) {
                            for line in std::mem::take(lines) {
                                feed(collector, &line);
                            }
                        }
                    }
                }
            }
        }
        if !partial.is_empty() {
            say.output(partial);
        }

        let ended = pool
            .join()
            .map_err(|_| anyhow::anyhow!("a go test runner panicked"))?;
        let mut ran = Ran {
            failed: None,
            stderr: String::new(),
        };
        for result in ended {
            let (status, stderr) = result?;
            if !status.success() && ran.failed.is_none() {
                ran.failed = Some(status);
            }
            ran.stderr.push_str(&stderr);
        }
        Ok(ran)
    })
}

/// Runs one `go test -json` to its end, sending its stdout lines and stderr to `tx`.
fn run_one(
    go: &Go,
    opts: &Options,
    inv: &Invocation,
    i: usize,
    tx: &Sender<Msg>,
) -> anyhow::Result<(ExitStatus, String)> {
    let mut args = inv.flags.clone();
    args.extend(opts.go_args.iter().cloned());
    let mut child = go.test_json(&opts.dir, &inv.packages, &args)?;
    let stdout = child
        .take_stdout()
        .context("go test's stdout was not piped")?;
    let stderr = child
        .take_stderr()
        .context("go test's stderr was not piped")?;
    let stderr_text = std::thread::scope(|s| -> anyhow::Result<String> {
        let err_tx = tx.clone();
        let stderr_reader = s.spawn(move || tee_stderr(stderr, err_tx));
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            if read_line_capped(&mut reader, &mut line, MAX_EVENT_LINE)? == 0 {
                break;
            }
            let _ = tx.send(Msg::Line(i, line.clone()));
        }
        Ok(stderr_reader.join().unwrap_or_default())
    })?;
    let status = child.wait().context("waiting for go test")?;
    Ok((status, stderr_text))
}

/// Packages whose locations need their source directory: those with anything but passes.
fn needing_dirs(c: &Collector) -> Vec<String> {
    c.packages
        .iter()
        .filter(|p| {
            !p.build_failed()
                && (p.outcome != Some(Outcome::Pass)
                    || p.tests.iter().any(|t| t.outcome != Some(Outcome::Pass)))
        })
        .map(|p| p.import_path.clone())
        .filter(|p| !p.starts_with('.') && !p.starts_with('/'))
        .collect()
}

/// Copies go's stderr to `tx` as it comes and returns (up to [`MAX_STDERR`] of) it.
fn tee_stderr(mut stderr: impl Read, tx: Sender<Msg>) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stderr.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_STDERR.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                let _ = tx.send(Msg::Stderr(buf[..n].to_vec()));
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// Reads one `\n`-terminated line into `line` (without the newline), keeping at most `max`
/// bytes of it. Returns the bytes consumed; 0 at the end of the stream.
pub fn read_line_capped(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(consumed);
        }
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = max.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(buf.len());
        reader.consume(used);
        consumed += used;
        if done.is_some() {
            return Ok(consumed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Stopped;
    use crate::progress::{Event, Recorder};

    /// A module with one passing test, in a fresh directory.
    fn module() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("go.mod"),
            "module example.com/said\n\ngo 1.22\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("a_test.go"),
            "package said\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn the_package_summary_goes_to_the_sink_as_go_printed_it() {
        let dir = module();
        let rec = Recorder::new();
        let opts = Options {
            dir: dir.path().to_path_buf(),
            ..Options::default()
        };
        let checks = run(&opts, &rec, &Cancel::new()).unwrap();
        assert!(checks.iter().any(|c| c.title == "TestA"), "{checks:?}");
        let said: Vec<String> = rec
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Output {
                    step: Step::Test,
                    text,
                } => Some(text),
                _ => None,
            })
            .collect();
        assert!(
            said.iter()
                .any(|l| l.starts_with("ok  \texample.com/said\t")),
            "{said:?}"
        );
    }

    #[test]
    fn a_cancelled_run_starts_no_go_test_and_says_why() {
        let dir = module();
        let cancel = Cancel::new();
        cancel.cancel(Stopped::Interrupted);
        let rec = Recorder::new();
        let opts = Options {
            dir: dir.path().to_path_buf(),
            ..Options::default()
        };
        let err = run(&opts, &rec, &cancel).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Stopped>(),
            Some(&Stopped::Interrupted),
            "{err:#}"
        );
        assert!(rec.events().is_empty(), "{:?}", rec.events());
    }

    #[test]
    fn long_lines_are_capped_and_the_stream_stays_in_step() {
        let mut input = vec![b'a'; 5000];
        input.push(b'\n');
        input.extend_from_slice(b"next\nlast");
        let mut r = BufReader::with_capacity(64, &input[..]);
        let mut line = Vec::new();
        assert_eq!(read_line_capped(&mut r, &mut line, 100).unwrap(), 5001);
        assert_eq!(line.len(), 100);
        line.clear();
        read_line_capped(&mut r, &mut line, 100).unwrap();
        assert_eq!(line, b"next");
        line.clear();
        assert_eq!(read_line_capped(&mut r, &mut line, 100).unwrap(), 4);
        assert_eq!(line, b"last");
        line.clear();
        assert_eq!(read_line_capped(&mut r, &mut line, 100).unwrap(), 0);
    }
}
