//! `goready pprof FILE`: the offline half of the profile checks — decode a saved profile,
//! print its top table like `go tool pprof -top`, compare it with a base, draw it.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::flame;
use super::profile::Profile;
use super::profile_rules::{self, PROFILER_FRAMES, PROFILER_IGNORE_REGEXP};
use super::regression::Ranking;
use super::top::Top;
use crate::model::Check;
use crate::progress::{Say, Sink};
use crate::step::Step;

/// What `goready pprof` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The profile file.
    pub file: PathBuf,
    /// The earlier profile (or result file) to compare with.
    pub base: Option<PathBuf>,
    /// Sample types to rank, by name or index (empty: the profile's default).
    pub sample_index: Vec<String>,
    /// Rows per ranking (0: every node past the 0.5 % cut).
    pub top: usize,
    /// Where to write the flame graph of the first sample type.
    pub flame: Option<PathBuf>,
    /// Share growth, in percentage points, that fails runtime.alloc_regression.
    pub max_alloc_growth: f64,
    /// Keep the profiler's own frames.
    pub keep_profiler_frames: bool,
}

/// What `goready pprof` found.
#[derive(Debug)]
pub enum PprofRun {
    /// The profile, ranked per sample type, and its checks.
    Ranked {
        /// The file as shown in messages.
        shown: String,
        /// The decoded profile.
        profile: Box<Profile>,
        /// One ranking per sample type asked for.
        rankings: Vec<Ranking>,
        /// runtime.allocs, then any runtime.alloc_regression.
        checks: Vec<Check>,
    },
    /// The file could not be read or decoded (exit 2).
    Unusable {
        /// The check that says so, for the result file.
        check: Box<Check>,
        /// Why, in one line for the user (`cannot decode FILE: …`).
        why: String,
    },
    /// The sample types asked for are not in the profile (exit 2, no result); why, in one
    /// line.
    NoSuchSampleType(String),
}

/// Runs `goready pprof`: decodes the profile, ranks it, compares it with the base and draws
/// the flame graph. A base that cannot be read or a flame graph that cannot be drawn is a
/// warning to `sink`; a profile that cannot be used at all is a [`PprofRun`] that says why.
pub fn run(args: &Options, sink: &dyn Sink) -> anyhow::Result<PprofRun> {
    let say = Say::new(Step::Pprof, sink);
    let shown = args.file.display().to_string();
    let started = std::time::Instant::now();
    let mut profile = match load(&args.file) {
        Ok(p) => p,
        Err(LoadError::Io(e)) => {
            let check = profile_rules::undecodable(&shown, &format!("cannot read: {e}"));
            let why = format!("cannot read {shown}: {e}");
            return Ok(PprofRun::Unusable {
                check: Box::new(check),
                why,
            });
        }
        Err(LoadError::Decode(e)) => {
            let why = format!("cannot decode {shown}: {e}");
            let check = Box::new(profile_rules::undecodable(&shown, &e));
            return Ok(PprofRun::Unusable { check, why });
        }
    };
    let indexes = match profile_rules::sample_indexes(&profile, &args.sample_index) {
        Ok(i) => i,
        Err(e) => {
            return Ok(PprofRun::NoSuchSampleType(format!("{shown}: {e}")));
        }
    };
    if !args.keep_profiler_frames {
        profile.drop_samples_with_frames(PROFILER_FRAMES);
    }
    let rankings: Vec<Ranking> = indexes.iter().map(|&i| profile.rank(i, args.top)).collect();
    let mut checks = vec![profile_rules::allocs_check(&shown, &profile, &rankings)];
    checks[0].duration_ms = started.elapsed().as_millis() as u64;

    if let Some(base) = &args.base {
        let new = &rankings[0].shares;
        match profile_rules::base_shares(base, &new.sample_type, args.keep_profiler_frames) {
            Ok(old) => checks.extend(profile_rules::regression_checks(
                &shown,
                &old,
                new,
                args.max_alloc_growth,
            )),
            Err(e) => {
                say.warn(format!("base {}: {e:#}", base.display()));
                checks.push(profile_rules::regression_error(
                    &shown,
                    format!("base {}: {e:#}", base.display()),
                ));
            }
        }
    }

    if let Some(out) = &args.flame {
        let title = format!("{} ({})", shown, profile.sample_types[indexes[0]].ty);
        let mut svg = Vec::new();
        match flame::write_svg(&profile, indexes[0], &title, &mut svg) {
            Ok(()) => std::fs::write(out, svg)
                .with_context(|| format!("writing flame graph {}", out.display()))?,
            Err(e) => say.warn(format!("no flame graph for {shown}: {e:#}")),
        }
    }

    Ok(PprofRun::Ranked {
        shown,
        profile: Box::new(profile),
        rankings,
        checks,
    })
}

/// The text output: per ranking pprof's header lines and table, with a line saying what
/// was left out and how to reproduce the numbers with `go tool pprof`.
pub fn text(file: &str, profile: &Profile, tops: &[&Top]) -> String {
    let mut out = String::new();
    let left_out = profile_rules::left_out_sentence(profile.dropped.as_ref(), profile);
    for top in tops {
        if let Some(bin) = profile.main_binary() {
            out.push_str(&format!("File: {}\n", go_base(bin)));
        }
        if let Some(id) = profile.main_build_id() {
            out.push_str(&format!("Build ID: {id}\n"));
        }
        for line in top.header() {
            out.push_str(&line);
            out.push('\n');
        }
        let nodecount = if top.rows.len() < top.nodes {
            format!(" -nodecount={}", top.rows.len())
        } else {
            String::new()
        };
        if left_out.is_empty() {
            out.push_str(&format!(
                "Same as: go tool pprof -top{nodecount} -sample_index={} {file}\n",
                top.sample_type.ty
            ));
        } else {
            out.push_str(&format!(
                "goready {left_out}; percentages are of the rest.\nSame as: go tool pprof -top{nodecount} -sample_index={} -relative_percentages -ignore='{PROFILER_IGNORE_REGEXP}' {file}\n",
                top.sample_type.ty
            ));
        }
        out.push_str(&top.table());
        out.push('\n');
    }
    out
}

fn go_base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Why a profile file could not be used.
enum LoadError {
    Io(std::io::Error),
    Decode(super::ProfileError),
}

fn load(path: &Path) -> Result<Profile, LoadError> {
    let meta = std::fs::metadata(path).map_err(LoadError::Io)?;
    if meta.is_dir() {
        return Err(LoadError::Io(std::io::Error::other("is a directory")));
    }
    // Neither a raw profile nor a gzip stream this large fits under the decoding cap: refuse
    // it before reading it into memory.
    let limit = super::profile::DEFAULT_MAX_DECOMPRESSED;
    if meta.len() > limit as u64 + (1 << 20) {
        return Err(LoadError::Decode(super::ProfileError::TooLarge { limit }));
    }
    let data = std::fs::read(path).map_err(LoadError::Io)?;
    Profile::parse(&data).map_err(LoadError::Decode)
}
