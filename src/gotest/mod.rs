//! `goready test`: runs `go test -json` and turns its event stream into checks of suite
//! "test" — one per test (subtests included), one per failed build, and package-level checks
//! for a package without tests or one that fails outside any test.
//!
//! `events.rs` folds the stream into facts, `output.rs` reads what tests print (locations,
//! panics, timeouts), `rules.rs` judges. `go` runs in its own process group (see
//! [`crate::process`]): no `go` or test binary outlives goready.

pub mod events;
pub mod output;
pub mod rules;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::gotool::Go;
use crate::model::Check;
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
}

/// Runs `go test -json` and returns its checks. Package summary lines (`ok`, `FAIL`, `?`)
/// and go's stderr are copied to `progress` as they come, so a long run shows life.
pub fn run(opts: &Options, progress: &mut dyn Write) -> anyhow::Result<Vec<Check>> {
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
    let mut child = go.test_json(&opts.dir, &packages, &opts.go_args)?;
    let stdout = child
        .take_stdout()
        .context("go test's stdout was not piped")?;
    let stderr = child
        .take_stderr()
        .context("go test's stderr was not piped")?;
    let mut collector = Collector::default();
    let stderr_text = std::thread::scope(|s| -> anyhow::Result<String> {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let stderr_reader = s.spawn(move || tee_stderr(stderr, tx));
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            // Forward what go printed on stderr meanwhile.
            for chunk in rx.try_iter() {
                let _ = progress.write_all(&chunk);
            }
            line.clear();
            if read_line_capped(&mut reader, &mut line, MAX_EVENT_LINE)? == 0 {
                break;
            }
            if let Some(i) = collector.push_line(&line)
                && let Some(summary) =
                    collector.packages[i].output.lines.iter().rev().find(|l| {
                        l.starts_with("ok ") || l.starts_with("FAIL") || l.starts_with("? ")
                    })
            {
                let _ = writeln!(progress, "{summary}");
            }
        }
        let text = stderr_reader.join().unwrap_or_default();
        for chunk in rx.try_iter() {
            let _ = progress.write_all(&chunk);
        }
        Ok(text)
    })?;
    let status = child.wait().context("waiting for go test")?;

    if collector.packages.is_empty() && collector.builds.is_empty() {
        if status.success() {
            let _ = writeln!(progress, "goready: go test matched no packages");
            return Ok(Vec::new());
        }
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
    if !status.success() && !checks.iter().any(|c| c.status.is_problem()) {
        let mut why = stderr_text.trim().to_string();
        if why.is_empty() {
            why = collector.stray.lines.join("\n");
        }
        checks.push(Check::of(&crate::rules::TEST_PACKAGE).error(format!(
            "go test exited with {status} but no test failed: {why}"
        )));
    }
    Ok(checks)
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
fn tee_stderr(mut stderr: impl Read, tx: std::sync::mpsc::Sender<Vec<u8>>) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stderr.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_STDERR.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                let _ = tx.send(buf[..n].to_vec());
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
