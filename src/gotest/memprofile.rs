//! `goready test --memprofile`: a memory profile per package, ranked into a `runtime.allocs`
//! check per package (target: the import path) by the same code `goready pprof` and
//! `goready probe` use.
//!
//! `go test` refuses `-memprofile` with several packages ("cannot use -memprofile flag with
//! multiple packages"), and the test binary's `-test.memprofile` (through `-args`) cannot
//! tell packages apart: every binary would write the same path, or litter the package
//! directories. So each package gets its own `go test -json -memprofile mem.pprof
//! -outputdir TMP/N -o TMP/N/pkg.test PKG` — `-o` because with a profile flag go otherwise
//! keeps the test binary in the current directory — run several at a time, their event
//! streams merged in package order as `go test` itself prints them.

use std::path::{Path, PathBuf};

use super::events::PackageRun;
use crate::model::{Check, CheckData};
use crate::pprof::profile_rules;

/// The profile's file name inside each package's output directory.
pub const PROFILE_FILE: &str = "mem.pprof";

/// `go test` flags `--memprofile` sets itself for every package.
const OWN_FLAGS: &[&str] = &["memprofile", "outputdir", "o", "c"];

/// Build flags that change which packages a pattern matches; passed to `go list` too.
const LIST_FLAGS: &[&str] = &["tags", "mod", "modfile"];

/// What `--memprofile` was asked for.
#[derive(Debug, Clone, Default)]
pub struct MemProfile {
    /// Keep each package's profile here (`<import path, '/' as '_'>.mem.pprof`); `None`
    /// removes them with the temporary directory they were written to.
    pub keep_dir: Option<PathBuf>,
    /// Rows per ranking (`go tool pprof -top -nodecount=N`; 0 for all).
    pub top: usize,
}

/// A flag's name (`-tags=x` → `tags`), for arguments that are flags.
fn flag_name(arg: &str) -> Option<&str> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    let name = body.split_once('=').map_or(body, |(n, _)| n);
    (!name.is_empty()).then_some(name)
}

/// The `go test` arguments before `-args` (the rest belongs to the test binaries).
fn go_flags(go_args: &[String]) -> &[String] {
    let end = go_args
        .iter()
        .position(|a| a == "-args" || a == "--args")
        .unwrap_or(go_args.len());
    &go_args[..end]
}

/// The first of the user's `go test` arguments that `--memprofile` cannot combine with.
pub fn conflicting_flag(go_args: &[String]) -> Option<&str> {
    go_flags(go_args)
        .iter()
        .find(|a| flag_name(a).is_some_and(|n| OWN_FLAGS.contains(&n)))
        .map(String::as_str)
}

/// The user's build flags that decide which packages match (for `go list`), with values.
pub fn list_flags(go_args: &[String]) -> Vec<String> {
    let flags = go_flags(go_args);
    let mut out = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        let arg = &flags[i];
        if flag_name(arg).is_some_and(|n| LIST_FLAGS.contains(&n)) {
            out.push(arg.clone());
            if !arg.contains('=')
                && let Some(value) = flags.get(i + 1)
            {
                out.push(value.clone());
                i += 1;
            }
        }
        i += 1;
    }
    out
}

/// How many packages run at once: `go test -p N` when given, else the number of CPUs (go's
/// own default).
pub fn jobs(go_args: &[String]) -> usize {
    let flags = go_flags(go_args);
    let given = flags
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.as_str() {
            "-p" | "--p" => flags.get(i + 1).and_then(|v| v.parse::<usize>().ok()),
            _ => a
                .strip_prefix("-p=")
                .or_else(|| a.strip_prefix("--p="))
                .and_then(|v| v.parse().ok()),
        });
    given
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1)
}

/// goready's own `go test` flags for a package whose outputs go to `out`.
pub fn flags(out: &Path) -> Vec<String> {
    vec![
        "-memprofile".into(),
        PROFILE_FILE.into(),
        "-outputdir".into(),
        out.display().to_string(),
        "-o".into(),
        out.join("pkg.test").display().to_string(),
    ]
}

/// The file name a package's profile is kept under: its import path with `/` as `_`.
pub fn kept_name(import_path: &str) -> String {
    let safe: String = import_path
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' => '_',
            c => c,
        })
        .collect();
    format!("{}.mem.pprof", safe.trim_start_matches('.'))
}

/// The `runtime.allocs` check of one package: its profile in `out` ranked, or — when the
/// tests ran but left no profile (a panic, a timeout, an `os.Exit` before the end) — a
/// skip. Packages that did not build or have no tests get none: their `test.*` checks say
/// why. A profile that cannot be kept in `keep_dir` is a warning to `say`.
pub fn package_check(
    import_path: &str,
    run: Option<&PackageRun>,
    out: &Path,
    opts: &MemProfile,
    say: crate::progress::Say<'_>,
) -> Option<Check> {
    let file = out.join(PROFILE_FILE);
    let Ok(bytes) = std::fs::read(&file) else {
        let ran = run.is_some_and(|r| !r.build_failed() && !r.no_test_files());
        return ran.then(|| {
            Check::of(&crate::registry::RUNTIME_ALLOCS)
                .target(import_path)
                .skip(
                    "no memory profile: the test binary ended before writing it (see the \
                     package's test checks)",
                )
        });
    };
    let kept = match &opts.keep_dir {
        Some(dir) => {
            let path = dir.join(kept_name(import_path));
            match std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, &bytes)) {
                Ok(()) => Some(path),
                Err(e) => {
                    say.warn(format!("cannot keep {}: {e}", path.display()));
                    None
                }
            }
        }
        None => None,
    };
    let started = std::time::Instant::now();
    let mut check = match profile_rules::rank_allocs(&bytes, opts.top) {
        Ok((profile, rankings)) => profile_rules::allocs_check(import_path, &profile, &rankings),
        Err(e) => profile_rules::undecodable(import_path, &format!("go test -memprofile: {e}")),
    };
    check.duration_ms = started.elapsed().as_millis() as u64;
    if let (Some(path), CheckData::Profile(data)) = (&kept, &mut check.data) {
        data.profile = Some(path.display().to_string());
    }
    Some(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn own_flags_conflict_before_args_only() {
        assert_eq!(
            conflicting_flag(&args(&["-race", "-outputdir=x"])),
            Some("-outputdir=x")
        );
        assert_eq!(conflicting_flag(&args(&["-o", "bin"])), Some("-o"));
        assert_eq!(
            conflicting_flag(&args(&["--memprofile", "m"])),
            Some("--memprofile")
        );
        assert_eq!(
            conflicting_flag(&args(&["-count", "1", "-args", "-o", "x"])),
            None
        );
        assert_eq!(conflicting_flag(&args(&["-memprofilerate=1"])), None);
    }

    #[test]
    fn list_flags_keep_values_in_both_spellings() {
        assert_eq!(
            list_flags(&args(&[
                "-race",
                "-tags",
                "a,b",
                "-run",
                "X",
                "-mod=vendor"
            ])),
            args(&["-tags", "a,b", "-mod=vendor"])
        );
        assert!(list_flags(&args(&["-args", "-tags", "x"])).is_empty());
    }

    #[test]
    fn jobs_follow_go_test_p() {
        assert_eq!(jobs(&args(&["-p", "3"])), 3);
        assert_eq!(jobs(&args(&["-p=1"])), 1);
        assert!(jobs(&[]) >= 1);
    }

    #[test]
    fn kept_names_are_flat_file_names() {
        assert_eq!(kept_name("example.com/m/a"), "example.com_m_a.mem.pprof");
        assert_eq!(kept_name("./local"), "_local.mem.pprof");
    }
}
