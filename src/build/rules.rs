//! The `build` suite: rules that judge what building one target produced ([`TargetBuild`]).
//! Each rule is documented in docs/checks.md under its id. The `binary` suite's checks of the
//! built file come from `inspect::rules`, re-targeted with the matrix label.

use super::matrix::Target;
use super::reproducible::Comparison;
use super::runner::Diagnostic;
use super::version_stamp::{self, VersionRun};
use crate::human;
use crate::model::Check;
use crate::model::data::{BuildVersionData, CompileData, ReproducibleData, StaticFlagsData, facts};
use crate::registry as ids;

/// How `go build` of one target went.
#[derive(Debug, Clone)]
pub enum Compile {
    /// It produced the output file.
    Built {
        /// Size of the output in bytes.
        size: u64,
    },
    /// The compiler (or linker) refused; diagnostics located where the output had them.
    Failed {
        /// Located diagnostics, in the compiler's order.
        diagnostics: Vec<Diagnostic>,
        /// The combined output, as `go` printed it.
        output: String,
    },
    /// cgo needs a C compiler and there is none.
    NoCCompiler {
        /// What `go` printed.
        output: String,
    },
    /// `go` could not be run at all.
    NotRun(String),
}

/// The second build of `--reproducible` and how it compares.
#[derive(Debug, Clone)]
pub enum Rebuild {
    /// Both builds exist; their comparison. `kept` is where the differing second build was
    /// left for inspection.
    Compared {
        /// Byte comparison of the two builds.
        comparison: Comparison,
        /// The second build, kept when it differs.
        kept: Option<String>,
    },
    /// The second build (or reading it) failed.
    Failed(String),
}

/// Everything one target's build produced, for the rules to judge.
#[derive(Debug, Clone)]
pub struct TargetBuild {
    /// The target.
    pub target: Target,
    /// The output path, as shown to users.
    pub output: String,
    /// The `go build` command, runnable in the module directory.
    pub command: String,
    /// Wall time of `go build`.
    pub build_ms: u64,
    /// How the build went.
    pub compile: Compile,
    /// `BIN --version` (native targets, with `--version`).
    pub version_run: Option<VersionRun>,
    /// The `--reproducible` rebuild.
    pub rebuild: Option<Rebuild>,
}

/// What the user asked for, as far as the rules need to know.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
    /// `--version V`.
    pub version: Option<String>,
    /// `--require-static`.
    pub require_static: bool,
    /// `--reproducible`.
    pub reproducible: bool,
    /// The final `-ldflags` value.
    pub ldflags: Option<String>,
    /// `--buildmode`.
    pub buildmode: Option<String>,
    /// GOHOSTOS/GOHOSTARCH, for the messages about targets this machine cannot run.
    pub host: (String, String),
}

/// The `build.compile` check.
pub fn compile(o: &TargetBuild, opts: &RuleOptions) -> Check {
    let label = o.target.label();
    let at = Check::of(&ids::BUILD_COMPILE)
        .target(&label)
        .duration_ms(o.build_ms);
    let secs = o.build_ms as f64 / 1000.0;
    match &o.compile {
        // go build said it succeeded, but nothing is there: no evidence of a build.
        Compile::Built { size: 0 } => at
            .data(CompileData {
                command: o.command.clone(),
                output: Some(o.output.clone()),
                ..CompileData::default()
            })
            .error(format!(
                "go build exited 0 but {} is missing or empty",
                o.output
            )),
        Compile::Built { size } => at
            .data(CompileData {
                command: o.command.clone(),
                output: Some(o.output.clone()),
                size: Some(*size),
                seconds: Some(secs),
                diagnostics: None,
            })
            .pass(format!(
                "built {} ({}) in {secs:.1}s",
                o.output,
                human::bytes(*size)
            )),
        Compile::Failed {
            diagnostics,
            output,
        } => {
            let data = CompileData {
                command: o.command.clone(),
                diagnostics: Some(facts(diagnostics)),
                output: Some(clip(output, 8192)),
                ..CompileData::default()
            };
            match diagnostics.first() {
                Some(first) => {
                    let more = match diagnostics.len() - 1 {
                        0 => String::new(),
                        1 => " (and 1 more error)".into(),
                        n => format!(" (and {n} more errors)"),
                    };
                    at.location(&first.file, Some(first.line))
                        .data(data)
                        .fail(format!(
                            "does not compile: {}:{}{}: {}{more}",
                            first.file,
                            first.line,
                            first.column.map(|c| format!(":{c}")).unwrap_or_default(),
                            first.message
                        ))
                }
                None => {
                    let hint = if o.target.cgo && !o.target.is_native(&opts.host.0, &opts.host.1) {
                        "; cgo for another platform needs a C cross-compiler for it (set CC, \
                         e.g. CC=aarch64-linux-gnu-gcc, or build this target with --cgo 0)"
                    } else {
                        ""
                    };
                    at.data(data)
                        .fail(format!("go build failed: {}{hint}", first_lines(output, 3)))
                }
            }
        }
        Compile::NoCCompiler { output } => at
            .data(CompileData {
                command: o.command.clone(),
                output: Some(clip(output, 8192)),
                ..CompileData::default()
            })
            .error(format!(
                "CGO_ENABLED=1 needs a C compiler and there is none: {}. Install one \
                 (e.g. apt-get install gcc), point CC at it, or leave cgo=1 out of the matrix \
                 (--cgo 0)",
                output
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('#'))
                    .unwrap_or("cgo: no C compiler")
            )),
        Compile::NotRun(why) => at
            .data(CompileData {
                command: o.command.clone(),
                ..CompileData::default()
            })
            .error(format!("cannot run go build: {why}")),
    }
}

impl TargetBuild {
    /// The output file exists.
    pub fn built(&self) -> bool {
        matches!(self.compile, Compile::Built { .. })
    }
}

/// Every `build` check of one target, after `build.compile`: `build.static` with
/// `--require-static`, `build.version` with `--version`, `build.reproducible` with
/// `--reproducible`.
pub fn evaluate(o: &TargetBuild, opts: &RuleOptions) -> Vec<Check> {
    let mut checks = vec![compile(o, opts)];
    if opts.require_static {
        checks.push(static_flags(o, opts));
    }
    if let (Some(v), true) = (&opts.version, o.built()) {
        checks.push(version_check(o, v, opts));
    }
    if opts.reproducible {
        checks.push(reproducible(o));
    }
    checks
}

/// `build.static`: the build is set up to produce a static Linux binary.
fn static_flags(o: &TargetBuild, opts: &RuleOptions) -> Check {
    let t = &o.target;
    let at = Check::of(&ids::BUILD_STATIC)
        .target(t.label())
        .data(StaticFlagsData {
            cgo: t.cgo,
            ldflags: opts.ldflags.clone(),
            buildmode: opts.buildmode.clone(),
        });
    if t.goos != "linux" {
        return at.skip(format!(
            "{} binaries always load the system's libraries; only Linux binaries can be static",
            t.goos
        ));
    }
    if let Some(mode) = opts
        .buildmode
        .as_deref()
        .filter(|m| *m == "pie" || *m == "shared")
    {
        if !extld_static(opts.ldflags.as_deref()) {
            return at.fail(format!(
                "-buildmode={mode} makes an executable the dynamic loader has to start; drop it, \
                 or link it with -extldflags -static-pie"
            ));
        }
    }
    if !t.cgo {
        return at.pass(
            "set up to link statically: CGO_ENABLED=0, so Go's own linker builds it without the C \
             library (binary.static checks the file)",
        );
    }
    if extld_static(opts.ldflags.as_deref()) {
        at.pass(
            "set up to link statically: CGO_ENABLED=1 with -extldflags -static, so the external \
             linker links libc in (binary.static checks the file)",
        )
    } else {
        at.fail(
            "CGO_ENABLED=1 without static linking flags: whenever a cgo package (net, os/user, \
             your own C code) is linked, the binary loads the system's libc at run time. Add \
             --ldflags '-linkmode external -extldflags \"-static\"' (musl-gcc gives a dependable \
             static libc) or build with --cgo 0",
        )
    }
}

/// Whether the `-ldflags` value tells the external linker to link statically.
fn extld_static(ldflags: Option<&str>) -> bool {
    let words = version_stamp::split_quoted(ldflags.unwrap_or(""));
    let mut values = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let w = w
            .strip_prefix("--")
            .map(|r| r.to_string())
            .unwrap_or_else(|| w.strip_prefix('-').map(str::to_string).unwrap_or_default());
        if w == "extldflags" {
            if let Some(v) = it.next() {
                values.push(v.clone());
            }
        } else if let Some(v) = w.strip_prefix("extldflags=") {
            values.push(v.to_string());
        }
    }
    values.iter().any(|v| {
        version_stamp::split_quoted(v)
            .iter()
            .any(|f| f == "-static" || f == "-static-pie" || f == "--static")
    })
}

/// `build.version`: the native binary prints the injected version.
fn version_check(o: &TargetBuild, version: &str, opts: &RuleOptions) -> Check {
    let t = &o.target;
    let at = Check::of(&ids::BUILD_VERSION).target(t.label());
    let Some(run) = &o.version_run else {
        return at.skip(format!(
            "a {}/{} binary cannot run on this {}/{} machine; binary.version checks its bytes",
            t.goos, t.goarch, opts.host.0, opts.host.1
        ));
    };
    let at = at.data(BuildVersionData {
        expected: version.to_string(),
        command: run.command.clone(),
        exit_code: run.exit_code,
        output: clip(&run.output, 2048),
        timed_out: run.timed_out,
    });
    if let Some(why) = &run.spawn_error {
        return at.error(format!("cannot run `{}`: {why}", run.command));
    }
    if run.timed_out {
        return at.fail(format!(
            "`{}` did not exit within {}s: does the program handle the flag? (--version-cmd sets \
             the arguments)",
            run.command,
            version_stamp::VERSION_TIMEOUT.as_secs()
        ));
    }
    let shown = first_lines(&run.output, 2);
    if run.exit_code != Some(0) {
        return at.fail(format!(
            "`{}` exited with {}: {shown:?}",
            run.command,
            run.exit_code
                .map(|c| format!("status {c}"))
                .unwrap_or_else(|| "a signal".into())
        ));
    }
    if run.mentions(version) {
        at.pass(format!("`{}` printed {shown:?}", run.command))
    } else {
        at.fail(format!(
            "`{}` printed {shown:?}, not {version}: the -X flag did not reach the variable the \
             program prints (--version-var must name it with its full import path, e.g. \
             main.Version, and it must be a string variable)",
            run.command
        ))
    }
}

/// `build.reproducible`: the rebuild without the build cache is byte-identical.
fn reproducible(o: &TargetBuild) -> Check {
    let at = Check::of(&ids::BUILD_REPRODUCIBLE).target(o.target.label());
    match &o.rebuild {
        None => at.skip("the target did not build, so there is nothing to rebuild"),
        Some(Rebuild::Failed(why)) => at.error(format!("the second build failed: {why}")),
        Some(Rebuild::Compared { comparison, kept }) => {
            let data = ReproducibleData {
                comparison: facts(comparison),
                kept: facts(kept),
            };
            let at = at.data(data);
            if comparison.identical {
                return at.pass(format!(
                    "rebuilt with an empty build cache: byte-identical ({} both times)",
                    human::bytes(comparison.sizes.0)
                ));
            }
            let first = comparison.first_difference.as_ref();
            let section = first.map(|d| d.section.as_str()).unwrap_or("?");
            let offset = first
                .map(|d| match d.section_offset {
                    Some(inner) => format!("file offset {:#x}, {inner:#x} into it", d.offset),
                    None => format!("file offset {:#x}", d.offset),
                })
                .unwrap_or_default();
            let kept = kept
                .as_deref()
                .map(|k| {
                    format!("; the second build is kept at {k} (compare with cmp -l or diffoscope)")
                })
                .unwrap_or_default();
            at.fail(format!(
                "rebuilt with an empty build cache: differs first in {section} ({offset}); {} \
                 bytes differ in {}{kept}. Look for inputs that change between builds: \
                 __DATE__/__TIME__ in C code, generated files, -X values from the clock, absolute \
                 paths without -trimpath",
                comparison.differing_bytes,
                comparison.differing_sections.join(", ")
            ))
        }
    }
}

/// `build.sbom`: the binary's SBOM was written (`--sbom`); its data is the
/// [`crate::sbom::Written`] record.
pub fn sbom(label: &str, written: anyhow::Result<crate::sbom::Written>, ms: u64) -> Check {
    let at = Check::of(&ids::BUILD_SBOM).target(label).duration_ms(ms);
    match written {
        Ok(w) => {
            let message = crate::sbom::summary(&w);
            at.data(crate::model::data::SbomData {
                binary: w.binary.display().to_string(),
                sbom: w.sbom.display().to_string(),
                format: w.format.name().to_string(),
                components: w.components,
                vulnerabilities: w.vulnerabilities,
            })
            .pass(message)
        }
        Err(e) => at.error(format!("no SBOM: {e:#}")),
    }
}

fn first_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(n)
        .collect();
    lines.join(" / ")
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_linking_flags_are_recognised_in_go_flag_syntax() {
        assert!(extld_static(Some(
            r#"-s -w -linkmode external -extldflags "-static""#
        )));
        assert!(extld_static(Some("-extldflags=-static-pie")));
        assert!(extld_static(Some("--extldflags '-lm -static'")));
        assert!(!extld_static(Some("-s -w")));
        assert!(!extld_static(Some("-extldflags -lm")));
        assert!(!extld_static(None));
    }

    // A pass needs its evidence (docs/checks.md).

    fn built(size: u64) -> TargetBuild {
        TargetBuild {
            target: Target::new("linux", "amd64", false),
            output: "dist/svc-linux-amd64".into(),
            command: "go build -o dist/svc-linux-amd64 .".into(),
            build_ms: 1500,
            compile: Compile::Built { size },
            version_run: None,
            rebuild: None,
        }
    }

    fn opts() -> RuleOptions {
        RuleOptions {
            version: Some("v1.2.3".into()),
            require_static: true,
            reproducible: true,
            host: ("linux".into(), "amd64".into()),
            ..RuleOptions::default()
        }
    }

    fn find(checks: &[Check], id: &str) -> Check {
        checks.iter().find(|c| c.id == id).cloned().unwrap()
    }

    #[test]
    fn compile_pass_needs_an_output_file() {
        let empty = compile(&built(0), &opts());
        assert_eq!(
            empty.status,
            crate::model::Status::Error,
            "{}",
            empty.message
        );
        let ok = compile(&built(3 << 20), &opts());
        assert_eq!(ok.status, crate::model::Status::Pass);
        assert!(
            ok.message
                .contains("built dist/svc-linux-amd64 (3.0 MiB) in 1.5s"),
            "{}",
            ok.message
        );
    }

    #[test]
    fn version_and_reproducible_passes_need_their_runs() {
        use crate::model::Status;
        let checks = evaluate(&built(3 << 20), &opts());
        assert_ne!(find(&checks, "build.version").status, Status::Pass);
        assert_ne!(find(&checks, "build.reproducible").status, Status::Pass);
        let mut ran = built(3 << 20);
        ran.version_run = Some(VersionRun {
            command: "dist/svc-linux-amd64 --version".into(),
            exit_code: Some(0),
            timed_out: false,
            output: "svc v1.2.3\n".into(),
            spawn_error: None,
        });
        let c = find(&evaluate(&ran, &opts()), "build.version");
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(
            c.message.contains("printed \"svc v1.2.3\""),
            "{}",
            c.message
        );
        // A failed build has nothing to run or rebuild (build.static judges the flags, which
        // exist whether or not the build ran).
        let mut failed = built(0);
        failed.compile = Compile::NotRun("no go".into());
        let checks = evaluate(&failed, &opts());
        assert!(
            checks
                .iter()
                .all(|c| c.id == "build.static" || c.status != Status::Pass),
            "{checks:?}"
        );
    }

    #[test]
    fn static_pass_says_it_judges_the_setup() {
        use crate::model::Status;
        let c = find(&evaluate(&built(3 << 20), &opts()), "build.static");
        assert_eq!(c.status, Status::Pass);
        assert!(
            c.message
                .contains("set up to link statically: CGO_ENABLED=0")
        );
        let mut darwin = built(3 << 20);
        darwin.target = Target::new("darwin", "arm64", false);
        let c = find(&evaluate(&darwin, &opts()), "build.static");
        assert_eq!(c.status, Status::Skip);
    }

    #[test]
    fn sbom_pass_needs_a_written_file() {
        let c = sbom("linux/amd64 cgo=0", Err(anyhow::anyhow!("disk full")), 3);
        assert_eq!(c.status, crate::model::Status::Error);
    }
}
