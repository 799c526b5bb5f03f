//! `goready check`'s planning: the settings of every step, layered (goready.toml <
//! `GOREADY_*` variables < `--set` < `check`'s own flags), checked against the settings table
//! ([`crate::settings`]) into each step's typed settings, and judged by that step's own
//! parser (`super::settings::parse`) — so a key is a flag's name and a bad value gets the
//! step's own message, before anything runs.
//!
//! This lives on the CLI's side because it needs the typed `Args` structs and the command
//! line's matches (which flags were given, not defaulted); `crate::plan` receives the
//! finished [`check::Plan`] and runs it without knowing clap.

use std::path::Path;

use anyhow::{anyhow, bail};
use clap::ArgMatches;

use super::args::{BuildArgs, CheckArgs, EnvArgs, ImageArgs, OutputArgs, ProbeArgs, TestArgs};
use super::settings::{layer_flags, parse};
use crate::build::matrix;
use crate::config::{self, Config, Settings, Source};
use crate::model::{Check, Severity};
use crate::plan::{self, Action, Native, Plan};
use crate::registry;
use crate::settings::{StepArgs, Value};
use crate::step::Step;

/// The settings for a command: goready.toml, the `GOREADY_*` variables in `vars`, the `--set`
/// flags, then the flags given on the command line (`matches`) for the `steps` whose
/// settings it takes as flags.
pub fn settings(
    config: &Config,
    vars: impl IntoIterator<Item = (String, String)>,
    sets: &[String],
    matches: Option<(&ArgMatches, &[Step])>,
) -> anyhow::Result<Settings> {
    let mut settings = Settings::from_config(config);
    settings.layer_env(vars);
    settings.layer_sets(sets)?;
    if let Some((m, steps)) = matches {
        layer_flags(&mut settings, m, steps);
    }
    Ok(settings)
}

/// The `[report]` settings after layering, judged by `goready report`'s own flags: what
/// `check` and `report` publish to. Findings without a source location point at the
/// goready.toml that configures them (`config_file`), as the repository knows it (SARIF and
/// Code Quality want repo-relative paths), unless `fallback_file` is set.
pub fn report_outputs(
    settings: &mut Settings,
    config_file: Option<&Path>,
) -> anyhow::Result<(OutputArgs, StepArgs)> {
    if settings.get(Step::Report, "fallback_file").is_none()
        && let Some(rel) = config_file.and_then(crate::repo::repo_relative)
    {
        settings.set(
            Step::Report,
            "fallback_file",
            toml::Value::String(rel),
            Source::Set,
        );
    }
    let args = settings.step_args(Step::Report)?;
    Ok((parse::<OutputArgs>(settings, &args)?, args))
}

/// `goready check`: reads goready.toml (once), plans, runs the plan through
/// [`plan::run`] (which merges and publishes), and returns the exit code. `matches` are
/// `check`'s own, which say which flags were given.
pub fn run(args: &CheckArgs, matches: &ArgMatches, run: &super::Run) -> anyhow::Result<u8> {
    if !args.dir.is_dir() {
        bail!(
            "{} is not a directory: pass the Go module's directory (the one with go.mod)",
            args.dir.display()
        );
    }
    let config_path = match &args.common.config {
        Some(path) => Some(path.clone()),
        None => Some(args.dir.join(config::DEFAULT_FILE)).filter(|p| p.is_file()),
    };
    let config = match &config_path {
        Some(path) => Config::load(Some(path))?,
        None => Config::default(),
    };
    let mut settings = settings(
        &config,
        plan::goready_vars(),
        &args.sets,
        Some((matches, &[Step::Build, Step::Report])),
    )?;
    if settings.get(Step::Probe, "baseline").is_none() {
        // runtime.alloc_regression takes its base from the report's baseline, when that is
        // a result file already there with allocation shares to compare with.
        if let Some(base) = settings.get(Step::Report, "baseline").cloned() {
            let has_allocs = |p: &str| {
                crate::model::Report::read_json(Path::new(p))
                    .is_ok_and(|r| r.checks.iter().any(|c| c.id == "runtime.allocs"))
            };
            if base.value.as_str().is_some_and(has_allocs) {
                settings.set(Step::Probe, "baseline", base.value, base.source);
            }
        }
    }
    // The file that configures the steps, whether it exists or not.
    let toml = config_path
        .clone()
        .unwrap_or_else(|| args.dir.join(config::DEFAULT_FILE));
    let Planned { plan, outputs } = plan(&args.dir, &mut settings, Some(&toml))?;
    if args.dry_run {
        print!("{}", plan::describe_plan(&plan, config_path.as_deref()));
        let builds = plan.steps.iter().any(|(name, action)| {
            *name == Step::Build && matches!(action, plan::Action::Run { .. })
        });
        let vuln = super::options::vuln_settings(&config)?;
        if builds && vuln.scan {
            println!(
                "# build scans every binary for known vulnerabilities: database {} \
                 ([vuln] db, GOREADY_VULN_DB; scan = false turns it off)",
                vuln.db.as_deref().unwrap_or(crate::vuln::db::DEFAULT_URL)
            );
        }
        return Ok(0);
    }
    let env = &crate::report::process_env;
    let fail_on = args
        .common
        .fail_on
        .or(config.fail_on)
        .unwrap_or(Severity::Error);
    let report = plan::run(
        &plan::Options {
            plan,
            config_file: config_path,
            config: &config,
            outputs: outputs.outputs(&args.common, fail_on, env),
            env,
        },
        run.reporter,
        run.cancel,
    )?;
    super::finish_with(&report, &args.common, &config, false)
}

/// A plan, and where its merged report goes.
#[derive(Debug, Clone)]
pub struct Planned {
    /// What `check` runs.
    pub plan: Plan,
    /// The `[report]` settings, parsed.
    pub outputs: OutputArgs,
}

/// A step's settings with `check`'s DIR.
fn step_args(settings: &Settings, step: Step, dir: &Path) -> anyhow::Result<StepArgs> {
    let mut args = settings.step_args(step)?;
    args.dir = Some(dir.to_path_buf());
    Ok(args)
}

/// Decides every step from `settings` (`config_file`: the goready.toml that configures them,
/// which findings without a location point at). Errors are the user's settings (exit 2).
pub fn plan(
    dir: &Path,
    settings: &mut Settings,
    config_file: Option<&Path>,
) -> anyhow::Result<Planned> {
    let env = step_args(settings, Step::Env, dir)?;
    parse::<EnvArgs>(settings, &env)?;
    let build_args = step_args(settings, Step::Build, dir)?;
    let build: BuildArgs = parse(settings, &build_args)?;
    let targets = build_matrix(&build, settings)?;

    let probe = plan_probe(dir, settings, &build, &targets)?;
    let test = step_args(settings, Step::Test, dir)?;
    parse::<TestArgs>(settings, &test)?;
    let (outputs, report) = report_outputs(settings, config_file)?;
    let native = match &probe {
        Action::Run { needs, .. } => needs.as_ref(),
        Action::Skip(_) => None,
    };
    let mut steps = vec![(Step::Env, run_now(env))];
    steps.extend(
        split_build(&build_args, &targets, native)
            .into_iter()
            .map(|args| (Step::Build, run_now(args))),
    );
    steps.push((Step::Image, plan_image(settings)?));
    steps.push((Step::Probe, probe));
    steps.push((Step::Test, run_now(test)));
    let plan = Plan {
        dir: dir.to_path_buf(),
        steps,
        report,
        matrix: targets.iter().map(matrix::Target::label).collect(),
    };
    Ok(Planned { plan, outputs })
}

/// Run a step that needs nothing before it.
fn run_now(args: StepArgs) -> Action {
    Action::Run { args, needs: None }
}

/// The build's settings: one build of the whole matrix, or — when the probe starts the
/// native binary and the matrix has more — the native target first (the probe starts when
/// it is built), then the rest, one build per set of CGO settings (`shard` is then spelled
/// out as the targets it selects).
fn split_build(
    build: &StepArgs,
    targets: &[matrix::Target],
    native: Option<&Native>,
) -> Vec<StepArgs> {
    let Some(first) = native.and_then(|n| targets.iter().find(|t| t.label() == n.label)) else {
        return vec![build.clone()];
    };
    if targets.len() < 2 {
        return vec![build.clone()];
    }
    let mut base = build.clone();
    base.remove("shard");
    let part = |pairs: &[String], cgo: &[bool]| {
        let cgo = cgo.iter().map(|&c| if c { "1" } else { "0" }.to_string());
        let mut args = base.clone();
        // Both keys are [build] list rows: setting them cannot fail.
        let _ = args.set("targets", Value::List(vec![pairs.join(",")]));
        let _ = args.set("cgo", Value::List(vec![cgo.collect::<Vec<_>>().join(",")]));
        args
    };
    let pair = |t: &matrix::Target| format!("{}/{}", t.goos, t.goarch);
    let mut parts = vec![part(&[pair(first)], &[first.cgo])];
    // The rest: each GOOS/GOARCH with its CGO settings, grouped by those settings.
    let mut cgo_of: Vec<(String, Vec<bool>)> = Vec::new();
    for t in targets.iter().filter(|t| *t != first) {
        match cgo_of.iter_mut().find(|(p, _)| *p == pair(t)) {
            Some((_, cgo)) => cgo.push(t.cgo),
            None => cgo_of.push((pair(t), vec![t.cgo])),
        }
    }
    let mut groups: Vec<(Vec<bool>, Vec<String>)> = Vec::new();
    for (p, cgo) in cgo_of {
        match groups.iter_mut().find(|(c, _)| *c == cgo) {
            Some((_, pairs)) => pairs.push(p),
            None => groups.push((cgo, vec![p])),
        }
    }
    parts.extend(groups.iter().map(|(cgo, pairs)| part(pairs, cgo)));
    parts
}

/// The build matrix, checked now: a bad target is a setting error, not a failed build.
fn build_matrix(build: &BuildArgs, settings: &Settings) -> anyhow::Result<Vec<matrix::Target>> {
    let at = |key: &str| {
        settings
            .get(Step::Build, key)
            .map(|s| config::describe(Step::Build, key, &s.source))
            .unwrap_or_else(|| format!("[build] {key}"))
    };
    let targets = matrix::parse_targets(&build.matrix.targets)
        .map_err(|e| anyhow!("{}: {e:#}", at("targets")))?;
    let cgo = matrix::parse_cgo(&build.matrix.cgo).map_err(|e| anyhow!("{}: {e:#}", at("cgo")))?;
    let all = matrix::matrix(&targets, &cgo);
    Ok(match build.shard {
        Some(shard) => shard.select(&all),
        None => all,
    })
}

/// The image step: run when `[image]` names an archive or a ref, else skipped (the rest of
/// `[image]` is validated either way).
fn plan_image(settings: &Settings) -> anyhow::Result<Action> {
    let configured = ["archive", "ref"]
        .iter()
        .any(|k| settings.get(Step::Image, k).is_some());
    let args = settings.step_args(Step::Image)?;
    if !configured {
        // Still validate the rest of [image]: a typo should not wait for the day an archive
        // is set.
        let mut image = args.clone();
        image
            .set("archive", Value::One("-".into()))
            .map_err(anyhow::Error::msg)?;
        parse::<ImageArgs>(settings, &image)?;
        return Ok(Action::Skip(Check::of(&registry::IMAGE_ENTRYPOINT).skip(
            "no image configured: set [image] archive = \"app.tar\" (docker save or an OCI \
             layout) or ref = \"app:ci\" (the local Docker daemon) in goready.toml, or \
             GOREADY_IMAGE_ARCHIVE / --set image.ref=…",
        )));
    }
    parse::<ImageArgs>(settings, &args)?;
    Ok(run_now(args))
}

/// The probe: skipped when no service is configured (or on a platform without it), else run,
/// after the build when it starts `{bin}`.
fn plan_probe(
    dir: &Path,
    settings: &Settings,
    build: &BuildArgs,
    targets: &[matrix::Target],
) -> anyhow::Result<Action> {
    let configured = ["exec", "go_test"]
        .iter()
        .any(|k| settings.get(Step::Probe, k).is_some());
    let skip = |why: String| Action::Skip(Check::of(&registry::RUNTIME_START).skip(why));
    let mut args = step_args(settings, Step::Probe, dir)?;
    if !configured {
        // Still validate the rest of [probe]: a typo should not wait for the day exec is set.
        let mut probe = args.clone();
        probe
            .set("exec", Value::One("true".into()))
            .map_err(anyhow::Error::msg)?;
        parse::<ProbeArgs>(settings, &probe)?;
        return Ok(skip(
            "no service configured: set [probe] exec = \"{bin} --addr {addr} --admin {admin}\" \
             (the binary the build step made for this machine) or go_test = \"./cmd/svc\" (a \
             TestServe harness) in goready.toml, or GOREADY_PROBE_EXEC / --set probe.exec=…"
                .into(),
        ));
    }
    let mut needs = None;
    let mut unbuildable = None;
    if let Some(Value::One(line)) = args.get("exec").cloned()
        && line.contains("{bin}")
    {
        let stand_in = match plan::native(dir, &build.package, targets) {
            Ok(native) => {
                // Relative to DIR, where the service runs: the probe's checks then name the
                // binary the way the build's do, the same on every machine.
                let name = native
                    .bin
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let quoted = shlex::try_quote(&format!("dist/{name}"))
                    .map_err(|e| anyhow!("{}: {e}", native.bin.display()))?
                    .into_owned();
                needs = Some(native);
                quoted
            }
            Err(why) => {
                unbuildable = Some(why);
                "bin".to_string()
            }
        };
        args.set("exec", Value::One(line.replace("{bin}", &stand_in)))
            .map_err(anyhow::Error::msg)?;
    }
    parse::<ProbeArgs>(settings, &args)?;
    if let Some(why) = unbuildable {
        return Ok(skip(why));
    }
    if !cfg!(unix) {
        return Ok(skip(
            "goready probe runs on Linux and macOS; this machine cannot probe the service".into(),
        ));
    }
    Ok(Action::Run { args, needs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::plan::host;
    use crate::plan::init;
    use clap::CommandFactory;
    use std::ffi::OsString;

    fn module() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("go.mod"),
            "module example.com/api/v2\n\ngo 1.24\n",
        )
        .unwrap();
        dir
    }

    fn with(text: &str) -> Settings {
        settings(&Config::parse(text).unwrap(), [], &[], None).unwrap()
    }

    fn plan_of(dir: &Path, text: &str) -> anyhow::Result<Planned> {
        plan(dir, &mut with(text), None)
    }

    fn probe(planned: &Planned) -> &Action {
        &planned
            .plan
            .steps
            .iter()
            .find(|(n, _)| *n == Step::Probe)
            .unwrap()
            .1
    }

    #[test]
    fn no_service_configured_skips_the_probe_and_says_how_to_configure_it() {
        let dir = module();
        let plan = plan_of(dir.path(), "[probe]\nready_timeout = \"3s\"\n").unwrap();
        let Action::Skip(check) = probe(&plan) else {
            panic!("{plan:?}")
        };
        assert_eq!(check.id, registry::RUNTIME_START.id);
        assert_eq!(check.status, Status::Skip);
        assert!(
            check.message.contains("[probe] exec = "),
            "{}",
            check.message
        );
        // The rest of [probe] is still validated.
        let err = plan_err(dir.path(), "[probe]\nready_timeout = \"3 s\"\n");
        assert!(err.contains("[probe] ready_timeout"), "{err}");
    }

    fn plan_err(dir: &Path, text: &str) -> String {
        plan_of(dir, text).unwrap_err().to_string()
    }

    #[cfg(unix)]
    #[test]
    fn bin_is_the_native_binary_and_the_probe_waits_for_its_build() {
        let dir = module();
        let (os, arch) = host();
        let plan = plan_of(
            dir.path(),
            "[probe]\nexec = \"{bin} --addr {addr} --admin {admin}\"\n",
        )
        .unwrap();
        let Action::Run { args, needs } = probe(&plan) else {
            panic!("{plan:?}")
        };
        let native = needs.as_ref().expect("the probe needs the build");
        assert_eq!(native.label, format!("{os}/{arch} cgo=0"));
        // The binary is named as go build names it: the module path without its /v2.
        let file = format!("api_{os}_{arch}");
        assert_eq!(
            native.bin,
            std::path::absolute(dir.path().join("dist").join(&file)).unwrap()
        );
        let exec = format!("--exec=dist/{file} --addr {{addr}} --admin {{admin}}");
        let argv = args.argv();
        assert!(argv.contains(&OsString::from(exec)), "{argv:?}");
        assert!(argv[0].to_string_lossy().starts_with("--dir="), "{argv:?}");
    }

    #[test]
    fn the_native_target_builds_first_and_the_rest_by_cgo_setting() {
        let target = |goos: &str, goarch: &str, cgo: bool| matrix::Target {
            goos: goos.into(),
            goarch: goarch.into(),
            cgo,
        };
        let targets = [
            target("linux", "amd64", false),
            target("linux", "amd64", true),
            target("linux", "arm64", false),
            target("darwin", "arm64", false),
        ];
        let native = Native {
            label: targets[0].label(),
            bin: "dist/svc".into(),
        };
        let mut build = StepArgs::new(Step::Build);
        build.set("package", Value::One(".".into())).unwrap();
        build
            .set("targets", Value::List(vec!["linux/amd64".into()]))
            .unwrap();
        build.set("cgo", Value::List(vec!["0,1".into()])).unwrap();
        build.set("shard", Value::One("1/1".into())).unwrap();
        let words = |a: &StepArgs| -> Vec<String> {
            a.argv()
                .iter()
                .map(|w| w.to_string_lossy().into_owned())
                .collect()
        };
        let parts: Vec<Vec<String>> = split_build(&build, &targets, Some(&native))
            .iter()
            .map(words)
            .collect();
        assert_eq!(
            parts,
            [
                vec!["--target=linux/amd64", "--cgo=0", "--pkg=."],
                vec!["--target=linux/amd64", "--cgo=1", "--pkg=."],
                vec!["--target=linux/arm64,darwin/arm64", "--cgo=0", "--pkg=."],
            ]
        );
        // Without a probe of the native binary the matrix stays one build, as set.
        assert_eq!(split_build(&build, &targets, None), vec![build.clone()]);
    }

    #[test]
    fn bin_without_a_native_target_is_skipped_with_the_reason() {
        let dir = module();
        let (os, arch) = host();
        let other = if (os, arch) == ("windows", "arm64") {
            "linux/riscv64"
        } else {
            "windows/arm64"
        };
        let text = format!("[build]\ntargets = [\"{other}\"]\n[probe]\nexec = \"{{bin}}\"\n");
        let plan = plan_of(dir.path(), &text).unwrap();
        let Action::Skip(check) = probe(&plan) else {
            panic!("{plan:?}")
        };
        assert!(
            check
                .message
                .contains(&format!("has no {os}/{arch} target")),
            "{}",
            check.message
        );
    }

    #[test]
    fn flags_given_beat_the_file_and_flags_not_given_do_not() {
        let config = Config::parse(
            "[report]\njunit = \"file.xml\"\nfallback_file = \"svc/goready.toml\"\n\
             [build]\ntargets = [\"linux/amd64\"]\ncgo = [\"1\"]\n",
        )
        .unwrap();
        let matches = super::super::args::Cli::command()
            .try_get_matches_from([
                "goready",
                "check",
                "svc",
                "--junit",
                "flag.xml",
                "--target",
                "linux/arm64",
                "--target",
                "darwin/arm64",
                "--github",
            ])
            .unwrap();
        let m = matches.subcommand_matches("check").unwrap();
        let mut s = settings(&config, [], &[], Some((m, &[Step::Build, Step::Report]))).unwrap();
        let junit = s.get(Step::Report, "junit").unwrap();
        assert_eq!(junit.value.as_str(), Some("flag.xml"));
        assert_eq!(junit.source, Source::Flag("--junit".into()));
        let targets = s.get(Step::Build, "targets").unwrap();
        assert_eq!(targets.source, Source::Flag("--target".into()));
        assert_eq!(
            targets.value,
            toml::Value::Array(vec!["linux/arm64".into(), "darwin/arm64".into()])
        );
        // --fallback-file has a default; not given, the file's value stands.
        assert_eq!(
            s.get(Step::Report, "fallback_file").unwrap().value.as_str(),
            Some("svc/goready.toml")
        );
        assert_eq!(
            s.get(Step::Build, "cgo").unwrap().value,
            toml::Value::Array(vec!["1".into()])
        );
        let dir = module();
        let plan = plan(dir.path(), &mut s, None).unwrap();
        assert!(plan.outputs.github);
        assert_eq!(plan.outputs.junit.as_deref(), Some(Path::new("flag.xml")));
    }

    #[test]
    fn the_dry_run_shows_each_step_and_hides_header_values() {
        let dir = module();
        let plan = plan_of(
            dir.path(),
            "[probe]\nexec = \"svc\"\nheaders = [\"Authorization: Bearer s3cret\"]\n\
             [test]\ngo_args = [\"-run\", \"Test A\"]\n",
        )
        .unwrap();
        let text = plan::describe_plan(&plan.plan, None);
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("'--header=Authorization: ***'"), "{text}");
        assert!(text.contains(" -- -run 'Test A'\n"), "{text}");
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let names: Vec<&str> = lines.iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
        assert_eq!(names, ["env", "build", "probe", "test", "report"], "{text}");
    }

    #[test]
    fn an_image_archive_or_ref_runs_the_image_step_and_none_skips_it() {
        let dir = module();
        let shown = |text: &str| {
            let mut settings = with(text);
            plan::describe_plan(&plan(dir.path(), &mut settings, None).unwrap().plan, None)
        };
        let text = shown("[image]\narchive = \"dist/app.tar\"\nplatform = \"linux/arm64\"\n");
        assert!(
            text.contains("goready image --archive=dist/app.tar --platform=linux/arm64\n"),
            "{text}"
        );
        let text = shown("[image]\nref = \"app:ci\"\n");
        assert!(text.contains("goready image --ref=app:ci\n"), "{text}");
        let text = shown("");
        assert!(
            text.contains("# image: skipped: no image configured"),
            "{text}"
        );
        // A typo in [image] is refused even when the step is skipped.
        let mut settings = with("[image]\nplatfrom = \"linux/amd64\"\n");
        let err = plan(dir.path(), &mut settings, None).unwrap_err();
        assert!(format!("{err:#}").contains("platfrom"), "{err:#}");
    }

    /// The starter with `line` (a commented-out setting) uncommented.
    fn uncommented(text: &str, line: usize) -> String {
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                if i == line {
                    l.trim_start_matches("# ").to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_starter_parses_as_written_and_with_each_setting_uncommented() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("go.mod"), "module example.com/svc\n").unwrap();
        let text = init::starter(&super::super::settings::help_of);
        let accept = |text: &str| -> anyhow::Result<()> {
            let config = Config::parse(text)?;
            crate::vuln::Settings::from_table(config.steps.get("vuln"))
                .map_err(anyhow::Error::msg)?;
            let mut settings = settings(&config, [], &[], None)?;
            plan(dir.path(), &mut settings, None)?;
            Ok(())
        };
        accept(&text).unwrap();
        let mut tried = 0;
        for (i, line) in text.lines().enumerate() {
            let Some(rest) = line.strip_prefix("# ") else {
                continue;
            };
            let Some((key, _)) = rest.split_once(" = ") else {
                continue;
            };
            if !key
                .trim_matches('"')
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
            {
                continue;
            }
            tried += 1;
            let one = uncommented(&text, i);
            if let Err(e) = accept(&one) {
                panic!("uncommenting {line:?} breaks the starter: {e:#}");
            }
        }
        // Every setting of every table, [vuln]'s, fail_on and two rules.
        let settings = crate::settings::TABLE.len() + crate::vuln::settings::STARTER.len();
        assert_eq!(tried, settings + 3, "{text}");
        // Each [vuln] line, uncommented, is the value it shows.
        let vuln = |key: &str| {
            let i = text
                .lines()
                .position(|l| l.starts_with(&format!("# {key} = ")))
                .unwrap_or_else(|| panic!("no [vuln] {key} line\n{text}"));
            let config = Config::parse(&uncommented(&text, i)).unwrap();
            crate::vuln::Settings::from_table(config.steps.get("vuln")).unwrap()
        };
        let defaults = crate::vuln::Settings::default();
        assert_eq!(vuln("max_age").max_age, defaults.max_age);
        assert_eq!(vuln("required").required, defaults.required);
        assert_eq!(vuln("scan").scan, defaults.scan);
        assert_eq!(vuln("db").db.as_deref(), Some("https://vuln.go.dev"));
        assert_eq!(vuln("ignore").ignore[0].id, "GO-2022-1059");
    }
}
