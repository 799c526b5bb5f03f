//! `goready build`: builds a GOOS/GOARCH/CGO matrix with the local `go`, several targets at
//! once, then proves every binary through the inspector (suite `binary`) and judges the
//! builds themselves (suite `build`): did each target compile (with the compiler's file and
//! line when not), does the native binary print the injected version, is the build set up to
//! link statically, and is a rebuild without the cache byte-identical.
//!
//! `matrix` decides what to build, `runner` runs the workers and reads `go build`'s output,
//! `version` injects and runs the version, `reproducible` compares two builds, and `rules`
//! judges. Every check carries its target's label, `GOOS/GOARCH cgo=N`.

pub mod matrix;
pub mod reproducible;
pub mod rules;
pub mod runner;
pub mod version_stamp;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::cancel::Cancel;
use crate::gotool::{self, Go};
use crate::inspect;
use crate::model::{Check, Report};
use crate::progress::{Event, Say, Sink};
use crate::step::Step;
use matrix::{Shard, Target};
use rules::{Compile, Rebuild, RuleOptions, TargetBuild};

/// The default `--version-var`.
pub const DEFAULT_VERSION_VAR: &str = "main.Version";

/// Everything `goready build` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `go` command that builds.
    pub go: Go,
    /// The module directory (`go build` runs there; outputs go to `DIR/dist`).
    pub dir: PathBuf,
    /// `--target` values (`GOOS/GOARCH`, comma-separated).
    pub targets: Vec<String>,
    /// `--cgo` values (`0`, `1`).
    pub cgo: Vec<String>,
    /// The main package (`--pkg`), relative to `dir`.
    pub package: String,
    /// Builds at once (`--jobs`); `None` for the number of CPUs.
    pub jobs: Option<usize>,
    /// Pass `-trimpath`.
    pub trimpath: bool,
    /// `--ldflags`.
    pub ldflags: Option<String>,
    /// `--tags`.
    pub tags: Option<String>,
    /// `--buildmode`.
    pub buildmode: Option<String>,
    /// `--version V`: inject V and prove it.
    pub version: Option<String>,
    /// `--version-var`: the string variable `-X` sets.
    pub version_var: String,
    /// `--version-cmd`: arguments that make the binary print its version.
    pub version_cmd: Vec<String>,
    /// `--sbom`: write each binary's SBOM beside it (build.sbom).
    pub sbom: Option<crate::sbom::Format>,
    /// The SBOMs' time and serial numbers (SOURCE_DATE_EPOCH); now when `None`.
    pub sbom_stamp: Option<crate::sbom::Stamp>,
    /// `--require-static`.
    pub require_static: bool,
    /// `--reproducible`.
    pub reproducible: bool,
    /// `--shard I/N`.
    pub shard: Option<Shard>,
    /// Scan every built binary for known vulnerabilities (`binary.vuln`) with these `[vuln]`
    /// settings; None: no scan.
    pub vuln: Option<crate::vuln::Settings>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            go: Go::default(),
            dir: PathBuf::from("."),
            targets: Vec::new(),
            cgo: Vec::new(),
            package: ".".into(),
            jobs: None,
            trimpath: true,
            ldflags: None,
            tags: None,
            buildmode: None,
            version: None,
            version_var: DEFAULT_VERSION_VAR.into(),
            version_cmd: vec!["--version".into()],
            sbom: None,
            sbom_stamp: None,
            require_static: false,
            reproducible: false,
            shard: None,
            vuln: None,
        }
    }
}

/// What the workers share.
struct Shared<'a> {
    go: &'a Go,
    opts: &'a Options,
    /// `opts.dir`, absolute.
    dir: PathBuf,
    dist: PathBuf,
    name: String,
    flags: Vec<String>,
    cwd: PathBuf,
    host: (String, String),
    /// A build cache no first build has used, shared by the `--reproducible` rebuilds.
    fresh_cache: Option<PathBuf>,
    inspect: inspect::Options,
    binary_rules: inspect::rules::RuleOptions,
    rule_opts: RuleOptions,
    /// `--sbom`: each built binary's (label, path, facts), kept until the vulnerability scan
    /// has run, so that its findings go into the SBOM as VEX.
    sbom_facts: std::sync::Mutex<Vec<(String, PathBuf, inspect::BinaryFacts)>>,
}

/// Runs the step: the errors returned are usage and setup errors (exit 2) and
/// [`crate::cancel::Stopped`] when `cancel` stopped it (no target starts after that, and no
/// half-built matrix is reported); everything that goes wrong with a target becomes a check.
/// Each target's start and end go to `sink`.
pub fn run(opts: &Options, sink: &dyn Sink, cancel: &Cancel) -> anyhow::Result<Report> {
    let go = &opts.go;
    if !opts.dir.is_dir() {
        bail!(
            "{} is not a directory: pass the module directory (the one with go.mod)",
            opts.dir.display()
        );
    }
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let dir = std::path::absolute(&opts.dir)
        .with_context(|| format!("resolving {}", opts.dir.display()))?;
    let targets = {
        let all = matrix::matrix(
            &matrix::parse_targets(&opts.targets)?,
            &matrix::parse_cgo(&opts.cgo)?,
        );
        match opts.shard {
            Some(shard) => shard.select(&all),
            None => all,
        }
    };
    let name = matrix::binary_name(&dir, &opts.package)?;
    let ldflags = version_stamp::ldflags(
        opts.ldflags.as_deref(),
        opts.version
            .as_deref()
            .map(|v| (opts.version_var.as_str(), v)),
    )?;
    let mut flags = Vec::new();
    if opts.trimpath {
        flags.push("-trimpath".to_string());
    }
    if let Some(tags) = opts.tags.as_deref().filter(|t| !t.is_empty()) {
        flags.push(format!("-tags={tags}"));
    }
    if let Some(mode) = opts.buildmode.as_deref().filter(|m| !m.is_empty()) {
        flags.push(format!("-buildmode={mode}"));
    }
    if let Some(l) = &ldflags {
        flags.push(format!("-ldflags={l}"));
    }
    let host = match go.env_vars(&dir, &["GOHOSTOS", "GOHOSTARCH"])?.as_slice() {
        [os, arch] => (os.clone(), arch.clone()),
        _ => bail!("`go env GOHOSTOS GOHOSTARCH` gave an unexpected answer"),
    };
    let say = Say::new(Step::Build, sink);
    if targets.is_empty() {
        say.info(format!(
            "shard {} has no targets (the matrix has fewer targets than shards)",
            opts.shard.map(|s| s.to_string()).unwrap_or_default()
        ));
        return Ok(Report::new(Vec::new()));
    }
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).with_context(|| format!("creating {}", dist.display()))?;
    // The rebuilds' cache lives (and is deleted) with this value.
    let fresh_cache = if opts.reproducible {
        Some(
            tempfile::Builder::new()
                .prefix("goready-gocache-")
                .tempdir()
                .context("creating an empty build cache for --reproducible")?,
        )
    } else {
        None
    };
    let mut vars = Vec::new();
    if opts.version.is_some() {
        vars.push(opts.version_var.clone());
    }
    let ctx = Shared {
        go,
        opts,
        dist,
        name,
        flags,
        host: host.clone(),
        fresh_cache: fresh_cache.as_ref().map(|d| d.path().to_path_buf()),
        inspect: inspect::Options {
            vars,
            expect_version: opts.version.clone(),
        },
        binary_rules: inspect::rules::RuleOptions {
            require_static: opts.require_static,
        },
        rule_opts: RuleOptions {
            version: opts.version.clone(),
            require_static: opts.require_static,
            reproducible: opts.reproducible,
            ldflags,
            buildmode: opts.buildmode.clone(),
            host,
        },
        dir,
        cwd,
        sbom_facts: std::sync::Mutex::new(Vec::new()),
    };
    let jobs = opts.jobs.unwrap_or_else(crate::pool::cores).max(1);
    sink.emit(Event::Began {
        step: Step::Build,
        total: Some(targets.len() as u64),
        what: format!(
            "{} targets, {} at a time",
            targets.len(),
            jobs.min(targets.len())
        ),
    });
    let per_target = crate::pool::map(&targets, jobs, |_, t| {
        // A target not started when goready was stopped is not started at all.
        cancel.check()?;
        Ok(runner::timed(t, sink, |t| ctx.target(t)))
    });
    let _ = std::fs::remove_dir(ctx.dist.join(".rebuild"));
    // A build the signal cut short (its `go` killed) is no result: stopped, not failed.
    cancel.check()?;
    let per_target: Result<Vec<Vec<Check>>, crate::cancel::Stopped> =
        per_target.into_iter().collect();
    let mut checks: Vec<Check> = per_target?.into_iter().flatten().collect();
    let mut advisories = crate::vuln::Advisories::new();
    if let Some(settings) = &opts.vuln {
        // Every binary of the matrix in one scan: the database is read once.
        let built: Vec<(PathBuf, String)> = targets
            .iter()
            .map(|t| (ctx.dist.join(t.output_name(&ctx.name)), t.label()))
            .filter(|(p, _)| p.is_file())
            .collect();
        let go_mod = crate::vuln::read_go_mod(
            &ctx.dir.join("go.mod"),
            &runner::display_path(Path::new(""), &ctx.dir.join("go.mod"), &ctx.cwd),
        );
        let scan = crate::vuln::scan_built(&built, settings, go_mod.as_ref(), sink, cancel);
        checks.extend(scan.checks);
        advisories = scan.advisories;
    }
    if let Some(format) = opts.sbom {
        let mut built =
            std::mem::take(&mut *ctx.sbom_facts.lock().unwrap_or_else(|e| e.into_inner()));
        // In matrix order, whichever target finished first.
        built.sort_by_key(|(label, _, _)| {
            targets
                .iter()
                .position(|t| t.label() == *label)
                .unwrap_or(usize::MAX)
        });
        let written: Vec<Check> = built
            .iter()
            .map(|(label, output, facts)| {
                ctx.sbom(output, facts, format, label, &checks, &advisories)
            })
            .collect();
        checks.extend(written);
    }
    Ok(Report::new(checks))
}

impl Shared<'_> {
    /// Builds, inspects and judges one target; returns its checks, whether it went well, and a
    /// one-line summary for the progress display.
    fn target(&self, target: &Target) -> (Vec<Check>, bool, String) {
        let output = self.dist.join(target.output_name(&self.name));
        let build = gotool::Build {
            goos: target.goos.clone(),
            goarch: target.goarch.clone(),
            cgo: target.cgo,
            flags: self.flags.clone(),
            output: output.clone(),
            package: self.opts.package.clone(),
            gocache: None,
        };
        let shown = runner::display_path(Path::new(""), &output, &self.cwd);
        let mut outcome = TargetBuild {
            target: target.clone(),
            output: shown,
            command: build.shell_line(),
            build_ms: 0,
            compile: Compile::NotRun(String::new()),
            version_run: None,
            rebuild: None,
        };
        let (compile, ms) = self.compile(&build);
        outcome.compile = compile;
        outcome.build_ms = ms;
        if !outcome.built() {
            // A failed build must not leave an older binary where a release step looks.
            let _ = std::fs::remove_file(&output);
        }

        let mut binary_checks = Vec::new();
        let mut facts = None;
        if outcome.built() {
            (binary_checks, facts) = self.inspect(&output, target);
            if self.opts.version.is_some() && target.is_native(&self.host.0, &self.host.1) {
                outcome.version_run = Some(version_stamp::run(&output, &self.opts.version_cmd));
            }
            if let Some(cache) = &self.fresh_cache {
                outcome.rebuild = Some(self.rebuild(&build, cache));
            }
        }
        let mut checks = rules::evaluate(&outcome, &self.rule_opts);
        checks.splice(1..1, binary_checks);
        if let (Some(_), Some(facts)) = (self.opts.sbom, facts) {
            self.sbom_facts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((target.label(), output.clone(), facts));
        }
        let problems = checks.iter().filter(|c| c.status.is_problem()).count();
        let summary = match &outcome.compile {
            Compile::Built { size } => format!(
                "{} ({}){}",
                outcome.output,
                crate::human::bytes(*size),
                match problems {
                    0 => String::new(),
                    1 => ", 1 finding".into(),
                    n => format!(", {n} findings"),
                }
            ),
            _ => checks[0].message.clone(),
        };
        let ok = outcome.built();
        (checks, ok, summary)
    }

    fn compile(&self, build: &gotool::Build) -> (Compile, u64) {
        match self.go.build(&self.dir, build) {
            Err(e) => (Compile::NotRun(format!("{e:#}")), 0),
            Ok(done) => {
                let ms = done.elapsed.as_millis() as u64;
                let mut text = done.stderr.clone();
                text.push_str(&done.stdout);
                if done.success() {
                    let size = std::fs::metadata(&build.output)
                        .map(|m| m.len())
                        .unwrap_or(0);
                    return (Compile::Built { size }, ms);
                }
                if runner::missing_c_compiler(&text) {
                    return (Compile::NoCCompiler { output: text }, ms);
                }
                let diagnostics = runner::diagnostics(&text, &self.dir, &self.cwd);
                (
                    Compile::Failed {
                        diagnostics,
                        output: text,
                    },
                    ms,
                )
            }
        }
    }

    /// The binary suite on the built file, every check re-targeted with the matrix label;
    /// the facts too, for the SBOM.
    fn inspect(
        &self,
        output: &Path,
        target: &Target,
    ) -> (Vec<Check>, Option<inspect::BinaryFacts>) {
        let label = target.label();
        let started = std::time::Instant::now();
        let facts = match inspect::inspect_path(output, &self.inspect) {
            Err(e) => return (vec![inspect::rules::unreadable(&label, &e)], None),
            Ok(Err(e)) => return (vec![inspect::rules::unparsable(&label, &e)], None),
            Ok(Ok(facts)) => facts,
        };
        // The rules target their checks at `facts.path`: the label takes its place.
        let mut facts = facts;
        facts.path = label;
        let ms = started.elapsed().as_millis() as u64;
        let checks = inspect::rules::evaluate(&facts, &self.binary_rules)
            .into_iter()
            .map(|mut c| {
                c.duration_ms = ms;
                if c.id == crate::registry::BINARY_VERSION.id && self.opts.version.is_none() {
                    c.message = "no --version given".into();
                }
                c
            })
            .collect();
        (checks, Some(facts))
    }

    /// `--sbom`: the binary's SBOM beside it in dist/, with this target's `binary.vuln`
    /// findings among `checks` (when the build scanned for them) as VEX; `advisories` (the
    /// scan's, by id) name what a not-affected statement says is absent.
    fn sbom(
        &self,
        output: &Path,
        facts: &inspect::BinaryFacts,
        format: crate::sbom::Format,
        label: &str,
        checks: &[Check],
        advisories: &crate::vuln::Advisories,
    ) -> Check {
        let started = std::time::Instant::now();
        let findings = crate::sbom::findings_of(checks, label);
        let stamp = match self.opts.sbom_stamp {
            Some(s) => Ok(s),
            None => crate::sbom::Stamp::from_source_date_epoch(None),
        };
        let dest = crate::sbom::destination(output, None, format);
        let written = stamp.and_then(|stamp| {
            crate::sbom::write_one(
                output,
                facts,
                &dest,
                format,
                &stamp,
                crate::sbom::Vex {
                    findings: &findings,
                    advisories: Some(advisories),
                },
            )
        });
        let shown = |p: &Path| runner::display_path(Path::new(""), p, &self.cwd);
        rules::sbom(
            label,
            written.map(|mut w| {
                w.binary = PathBuf::from(shown(&w.binary));
                w.sbom = PathBuf::from(shown(&w.sbom));
                w
            }),
            started.elapsed().as_millis() as u64,
        )
    }

    /// The `--reproducible` second build: same flags, an empty build cache, another output.
    fn rebuild(&self, first: &gotool::Build, cache: &Path) -> Rebuild {
        let keep_dir = self.dist.join(".rebuild");
        if let Err(e) = std::fs::create_dir_all(&keep_dir) {
            return Rebuild::Failed(format!("creating {}: {e}", keep_dir.display()));
        }
        let second = gotool::Build {
            output: keep_dir.join(first.output.file_name().unwrap_or_default()),
            gocache: Some(cache.to_path_buf()),
            ..first.clone()
        };
        let (compile, _) = self.compile(&second);
        match compile {
            Compile::Built { .. } => {}
            Compile::Failed { output, .. } | Compile::NoCCompiler { output } => {
                let _ = std::fs::remove_file(&second.output);
                return Rebuild::Failed(output.trim().to_string());
            }
            Compile::NotRun(why) => return Rebuild::Failed(why),
        }
        let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        let (a, b) = match (read(&first.output), read(&second.output)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Rebuild::Failed(format!("{e:#}")),
        };
        let comparison = reproducible::compare(&a, &b);
        let kept = if comparison.identical {
            let _ = std::fs::remove_file(&second.output);
            None
        } else {
            Some(runner::display_path(
                Path::new(""),
                &second.output,
                &self.cwd,
            ))
        };
        Rebuild::Compared { comparison, kept }
    }
}
