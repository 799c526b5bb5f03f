//! `goready check`'s planning: the settings of every step, layered (goready.toml <
//! `GOREADY_*` variables < `--set` < `check`'s own flags) and turned into each step's command
//! line, validated by parsing it with that step's own clap `Args` — so a key is a flag's
//! name and a bad value gets the step's own message, before anything runs.
//!
//! This lives on the CLI's side because it needs the typed `Args` structs and the command
//! line's matches (which flags were given, not defaulted); `crate::check` receives the
//! finished [`check::Plan`] and the step table ([`steps`]) and runs the plan without
//! knowing clap.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{anyhow, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;

use super::args::{
    BuildArgs, CheckArgs, EnvArgs, ImageArgs, MatrixArgs, OutputArgs, ProbeArgs, TestArgs,
};
use crate::build::matrix;
use crate::check::{self, Action, Native, Plan, Step};
use crate::config::{self, Config, Settings, Source};
use crate::model::{Check, Severity};
use crate::rules;

/// Keys no step table takes, and why: `check` sets them itself.
const JSON: (&str, &str) = (
    "json",
    "goready check keeps each step's result and writes the merged one with its own --json",
);
const FAIL_ON: (&str, &str) = (
    "fail_on",
    "set fail_on at the top of goready.toml (or --fail-on); it judges the merged report",
);
const CONFIG: (&str, &str) = ("config", "goready check reads one goready.toml (--config)");
const DIR: (&str, &str) = ("dir", "every step runs on goready check's DIR");
const IMAGE: (&str, &str) = (
    "image",
    "write archive = \"PATH\" or ref = \"NAME\" for the image step",
);
const FORMAT: (&str, &str) = (
    "format",
    "goready check prints the merged table, not the steps' own output",
);

/// Every step table, in the order `check` runs the steps (report last).
pub fn steps() -> [Step; 6] {
    [
        Step {
            name: "env",
            command: config::step_command::<EnvArgs>,
            reserved: &[JSON, FAIL_ON, CONFIG, DIR],
            about: "goready env: the Go toolchain and the module's dependency hygiene.",
        },
        Step {
            name: "build",
            command: config::step_command::<BuildArgs>,
            reserved: &[JSON, FAIL_ON, CONFIG, DIR],
            about: "goready build: the GOOS/GOARCH/CGO matrix, built into DIR/dist, every \
                    binary inspected.",
        },
        Step {
            name: "image",
            command: config::step_command::<ImageArgs>,
            reserved: &[JSON, FAIL_ON, CONFIG, FORMAT, IMAGE],
            about: "goready image: will the entrypoint start in the container image. Set \
                    archive (a docker save tarball or OCI layout, built before goready check \
                    runs) or ref (an image in the local Docker daemon), or the step is skipped.",
        },
        Step {
            name: "probe",
            command: config::step_command::<ProbeArgs>,
            reserved: &[JSON, FAIL_ON, CONFIG, DIR, FORMAT],
            about: "goready probe: start the service and probe its runtime. Set exec or \
                    go_test, or the probe is skipped. In exec, {bin} is the binary the build \
                    step made for this machine (DIR/dist/<name>_<goos>_<goarch>; the probe then \
                    waits for that build), {addr} and {admin} are free loopback addresses. The \
                    service runs in DIR.",
        },
        Step {
            name: "test",
            command: config::step_command::<TestArgs>,
            reserved: &[JSON, FAIL_ON, CONFIG, DIR],
            about: "goready test: go test -json in DIR, one check per test and subtest.",
        },
        Step {
            name: "report",
            command: config::step_command::<OutputArgs>,
            reserved: &[],
            about: "Where the merged report goes: the same settings as goready report's \
                    flags. Paths are relative to the directory goready runs in.",
        },
    ]
}

/// The step table called `name`.
pub fn step(name: &str) -> Step {
    steps()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| unreachable!("no step {name}"))
}

/// The settings for `check` on `dir`: goready.toml, the `GOREADY_*` variables in `vars`, the
/// `--set` flags, then the flags given on the command line (`matches`).
pub fn settings(
    config: &Config,
    vars: impl IntoIterator<Item = (String, String)>,
    sets: &[String],
    matches: Option<&ArgMatches>,
) -> anyhow::Result<Settings> {
    let mut settings = Settings::from_config(config);
    settings.layer_env(vars);
    settings.layer_sets(sets)?;
    if let Some(m) = matches {
        layer_flags(&mut settings, m);
    }
    Ok(settings)
}

/// Layers the flags given on `check`'s command line (not their defaults) over `settings`.
/// `check`'s own step flags are flag groups of the steps, flattened: the build matrix
/// ([`MatrixArgs`], `[build]`) and the outputs ([`OutputArgs`], `[report]`), under the same
/// ids as the steps' keys.
fn layer_flags(settings: &mut Settings, matches: &ArgMatches) {
    let groups = [
        ("build", config::step_command::<MatrixArgs>()),
        ("report", (step("report").command)()),
    ];
    for (step, cmd) in groups {
        for arg in config::settings_of(&cmd) {
            let id = arg.get_id().as_str();
            if matches.value_source(id) != Some(ValueSource::CommandLine) {
                continue;
            }
            let raw: Vec<String> = matches
                .get_raw(id)
                .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let value = match raw.as_slice() {
                [one] => toml::Value::String(one.clone()),
                many => toml::Value::Array(many.iter().cloned().map(toml::Value::String).collect()),
            };
            let flag = format!("--{}", arg.get_long().unwrap_or(id));
            settings.set(step, id, value, Source::Flag(flag));
        }
    }
}

/// `goready check`: reads goready.toml (once), plans, runs the plan through
/// [`check::run`] (which merges and publishes), and returns the exit code. `matches` are
/// `check`'s own, which say which flags were given.
pub fn run(args: &CheckArgs, matches: &ArgMatches) -> anyhow::Result<u8> {
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
    let mut settings = settings(&config, goready_vars(), &args.sets, Some(matches))?;
    if settings.get("probe", "baseline").is_none() {
        // runtime.alloc_regression takes its base from the report's baseline, when that is
        // a result file already there with allocation shares to compare with.
        if let Some(base) = settings.get("report", "baseline").cloned() {
            let has_allocs = |p: &str| {
                crate::model::Report::read_json(Path::new(p))
                    .is_ok_and(|r| r.checks.iter().any(|c| c.id == "runtime.allocs"))
            };
            if base.value.as_str().is_some_and(has_allocs) {
                settings.set("probe", "baseline", base.value, base.source);
            }
        }
    }
    if settings.get("report", "fallback_file").is_none() {
        // Findings without a source location point at the goready.toml that configures
        // them, as the repository knows it (SARIF and Code Quality want repo-relative paths).
        let toml = config_path
            .clone()
            .unwrap_or_else(|| args.dir.join(config::DEFAULT_FILE));
        if let Some(rel) = check::repo_relative(&toml) {
            settings.set(
                "report",
                "fallback_file",
                toml::Value::String(rel),
                Source::Set,
            );
        }
    }
    let Planned { plan, outputs } = plan(&args.dir, &settings)?;
    if args.dry_run {
        print!("{}", check::describe_plan(&plan, config_path.as_deref()));
        return Ok(0);
    }
    let env = &crate::report::process_env;
    let fail_on = args
        .common
        .fail_on
        .or(config.fail_on)
        .unwrap_or(Severity::Error);
    let report = check::run(&check::Options {
        plan,
        config_file: config_path,
        config: &config,
        outputs: outputs.outputs(&args.common, fail_on, env),
        env,
    })?;
    super::finish_with(&report, &args.common, &config, false)
}

/// The `GOREADY_*` variables of this process: the environment layer of the settings.
pub fn goready_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| {
        let k = k.into_string().ok()?;
        k.starts_with("GOREADY_")
            .then(|| (k, v.to_string_lossy().into_owned()))
    })
}

fn leading_flag(name: &str, dir: &Path) -> OsString {
    let mut flag = OsString::from(format!("--{name}="));
    flag.push(dir.as_os_str());
    flag
}

/// A plan, and where its merged report goes.
#[derive(Debug, Clone)]
pub struct Planned {
    /// What `check` runs.
    pub plan: Plan,
    /// The `[report]` settings, parsed.
    pub outputs: OutputArgs,
}

/// Decides every step from `settings`. Errors are the user's settings (exit 2).
pub fn plan(dir: &Path, settings: &Settings) -> anyhow::Result<Planned> {
    let reserved = |name: &str| step(name).reserved;
    let dir_arg: OsString = dir.as_os_str().to_os_string();
    let (_, env_argv) =
        settings.parse::<EnvArgs>("env", std::slice::from_ref(&dir_arg), reserved("env"))?;
    let (build, build_argv) =
        settings.parse::<BuildArgs>("build", std::slice::from_ref(&dir_arg), reserved("build"))?;
    let targets = build_matrix(&build, settings)?;

    let probe = plan_probe(dir, settings, &build, &targets)?;
    let (_, test_argv) =
        settings.parse::<TestArgs>("test", &[leading_flag("dir", dir)], reserved("test"))?;
    let (outputs, report_argv) = settings.parse::<OutputArgs>("report", &[], &[])?;
    let with_dir = |argv: Vec<OsString>| [vec![dir_arg.clone()], argv].concat();
    let native = match &probe {
        Action::Run { needs, .. } => needs.as_ref(),
        Action::Skip(_) => None,
    };
    let mut steps = vec![(
        "env",
        Action::Run {
            argv: with_dir(env_argv),
            needs: None,
        },
    )];
    steps.extend(
        split_build(&build_argv, &targets, native)
            .into_iter()
            .map(|argv| {
                (
                    "build",
                    Action::Run {
                        argv: with_dir(argv),
                        needs: None,
                    },
                )
            }),
    );
    steps.push(("image", plan_image(settings)?));
    steps.push(("probe", probe));
    steps.push((
        "test",
        Action::Run {
            argv: [vec![leading_flag("dir", dir)], test_argv].concat(),
            needs: None,
        },
    ));
    let plan = Plan {
        dir: dir.to_path_buf(),
        steps,
        report_argv,
        matrix: targets.iter().map(matrix::Target::label).collect(),
    };
    Ok(Planned { plan, outputs })
}

/// The build's command lines: one for the whole matrix, or — when the probe starts the
/// native binary and the matrix has more — the native target first (the probe starts when
/// it is built), then the rest, one command per set of CGO settings (`--shard` is then
/// spelled out as the targets it selects).
fn split_build(
    argv: &[OsString],
    targets: &[matrix::Target],
    native: Option<&Native>,
) -> Vec<Vec<OsString>> {
    let Some(first) = native.and_then(|n| targets.iter().find(|t| t.label() == n.label)) else {
        return vec![argv.to_vec()];
    };
    if targets.len() < 2 {
        return vec![argv.to_vec()];
    }
    let base: Vec<OsString> = argv
        .iter()
        .filter(|w| {
            let w = w.to_string_lossy();
            !["--target=", "--cgo=", "--shard="]
                .iter()
                .any(|f| w.starts_with(f))
        })
        .cloned()
        .collect();
    let part = |pairs: &[String], cgo: &[bool]| {
        let cgo: Vec<&str> = cgo.iter().map(|&c| if c { "1" } else { "0" }).collect();
        let mut words = base.clone();
        words.push(format!("--target={}", pairs.join(",")).into());
        words.push(format!("--cgo={}", cgo.join(",")).into());
        words
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
            .get("build", key)
            .map(|s| config::describe("build", key, &s.source))
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
        .any(|k| settings.get("image", k).is_some());
    let mut image = settings.clone();
    if !configured {
        image.set(
            "image",
            "archive",
            toml::Value::String("-".into()),
            Source::Set,
        );
    }
    let (_, argv) = image.parse::<ImageArgs>("image", &[], step("image").reserved)?;
    if !configured {
        return Ok(Action::Skip(Check::of(&rules::IMAGE_ENTRYPOINT).skip(
            "no image configured: set [image] archive = \"app.tar\" (docker save or an OCI \
             layout) or ref = \"app:ci\" (the local Docker daemon) in goready.toml, or \
             GOREADY_IMAGE_ARCHIVE / --set image.ref=…",
        )));
    }
    Ok(Action::Run { argv, needs: None })
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
        .any(|k| settings.get("probe", k).is_some());
    let skip = |why: String| Action::Skip(Check::of(&rules::RUNTIME_START).skip(why));
    if !configured {
        // Still validate the rest of [probe]: a typo should not wait for the day exec is set.
        let mut probe = settings.clone();
        probe.set(
            "probe",
            "exec",
            toml::Value::String("true".into()),
            Source::Set,
        );
        probe.parse::<ProbeArgs>("probe", &[leading_flag("dir", dir)], step("probe").reserved)?;
        return Ok(skip(
            "no service configured: set [probe] exec = \"{bin} --addr {addr} --admin {admin}\" \
             (the binary the build step made for this machine) or go_test = \"./cmd/svc\" (a \
             TestServe harness) in goready.toml, or GOREADY_PROBE_EXEC / --set probe.exec=…"
                .into(),
        ));
    }
    let mut probe = settings.clone();
    let mut needs = None;
    let mut unbuildable = None;
    if let Some(setting) = settings.get("probe", "exec")
        && let toml::Value::String(line) = &setting.value
        && line.contains("{bin}")
    {
        let stand_in = match check::native(dir, &build.package, targets) {
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
        probe.set(
            "probe",
            "exec",
            toml::Value::String(line.replace("{bin}", &stand_in)),
            setting.source.clone(),
        );
    }
    let (_, argv) =
        probe.parse::<ProbeArgs>("probe", &[leading_flag("dir", dir)], step("probe").reserved)?;
    if let Some(why) = unbuildable {
        return Ok(skip(why));
    }
    if !cfg!(unix) {
        return Ok(skip(
            "goready probe runs on Linux and macOS; this machine cannot probe the service".into(),
        ));
    }
    Ok(Action::Run {
        argv: [vec![leading_flag("dir", dir)], argv].concat(),
        needs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::host;
    use crate::check::init;
    use crate::model::Status;
    use clap::CommandFactory;

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

    fn probe(planned: &Planned) -> &Action {
        &planned
            .plan
            .steps
            .iter()
            .find(|(n, _)| *n == "probe")
            .unwrap()
            .1
    }

    #[test]
    fn no_service_configured_skips_the_probe_and_says_how_to_configure_it() {
        let dir = module();
        let plan = plan(dir.path(), &with("[probe]\nready_timeout = \"3s\"\n")).unwrap();
        let Action::Skip(check) = probe(&plan) else {
            panic!("{plan:?}")
        };
        assert_eq!(check.id, rules::RUNTIME_START.id);
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
        plan(dir, &with(text)).unwrap_err().to_string()
    }

    #[cfg(unix)]
    #[test]
    fn bin_is_the_native_binary_and_the_probe_waits_for_its_build() {
        let dir = module();
        let (os, arch) = host();
        let plan = plan(
            dir.path(),
            &with("[probe]\nexec = \"{bin} --addr {addr} --admin {admin}\"\n"),
        )
        .unwrap();
        let Action::Run { argv, needs } = probe(&plan) else {
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
        let argv: Vec<OsString> = ["--package=.", "--target=linux/amd64", "--cgo=0,1"]
            .map(OsString::from)
            .to_vec();
        let words = |v: &Vec<OsString>| -> Vec<String> {
            v.iter().map(|w| w.to_string_lossy().into_owned()).collect()
        };
        let parts: Vec<Vec<String>> = split_build(&argv, &targets, Some(&native))
            .iter()
            .map(words)
            .collect();
        assert_eq!(
            parts,
            [
                vec!["--package=.", "--target=linux/amd64", "--cgo=0"],
                vec!["--package=.", "--target=linux/amd64", "--cgo=1"],
                vec![
                    "--package=.",
                    "--target=linux/arm64,darwin/arm64",
                    "--cgo=0"
                ],
            ]
        );
        // Without a probe of the native binary the matrix stays one build.
        assert_eq!(split_build(&argv, &targets, None), vec![argv.clone()]);
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
        let plan = plan(dir.path(), &with(&text)).unwrap();
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
        let s = settings(&config, [], &[], Some(m)).unwrap();
        let junit = s.get("report", "junit").unwrap();
        assert_eq!(junit.value.as_str(), Some("flag.xml"));
        assert_eq!(junit.source, Source::Flag("--junit".into()));
        let targets = s.get("build", "targets").unwrap();
        assert_eq!(targets.source, Source::Flag("--target".into()));
        assert_eq!(
            targets.value,
            toml::Value::Array(vec!["linux/arm64".into(), "darwin/arm64".into()])
        );
        // --fallback-file has a default; not given, the file's value stands.
        assert_eq!(
            s.get("report", "fallback_file").unwrap().value.as_str(),
            Some("svc/goready.toml")
        );
        assert_eq!(
            s.get("build", "cgo").unwrap().value,
            toml::Value::Array(vec!["1".into()])
        );
        let dir = module();
        let plan = plan(dir.path(), &s).unwrap();
        assert!(plan.outputs.github);
        assert_eq!(plan.outputs.junit.as_deref(), Some(Path::new("flag.xml")));
    }

    #[test]
    fn the_dry_run_shows_each_step_and_hides_header_values() {
        let dir = module();
        let plan = plan(
            dir.path(),
            &with(
                "[probe]\nexec = \"svc\"\nheaders = [\"Authorization: Bearer s3cret\"]\n\
                 [test]\ngo_args = [\"-run\", \"Test A\"]\n",
            ),
        )
        .unwrap();
        let text = check::describe_plan(&plan.plan, None);
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
        let shown =
            |text: &str| check::describe_plan(&plan(dir.path(), &with(text)).unwrap().plan, None);
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
        let err = plan(dir.path(), &with("[image]\nplatfrom = \"linux/amd64\"\n")).unwrap_err();
        assert!(format!("{err:#}").contains("platfrom"), "{err:#}");
    }

    #[test]
    fn every_setting_has_a_default_or_an_example() {
        for step in steps() {
            for arg in config::settings_of(&(step.command)()) {
                let key = arg.get_id().as_str();
                if step.reserved.iter().any(|(k, _)| *k == key) {
                    continue;
                }
                let has_default = matches!(arg.get_action(), clap::ArgAction::SetTrue)
                    || arg.get_default_values().len() == 1;
                let has_example = init::EXAMPLES
                    .iter()
                    .any(|(s, k, _)| *s == step.name && *k == key);
                assert!(
                    has_default || has_example,
                    "[{}] {key}: add an example to EXAMPLES",
                    step.name
                );
            }
        }
        // And no example names a setting that does not exist.
        for (s, k, _) in init::EXAMPLES {
            let step = step(s);
            assert!(
                config::settings_of(&(step.command)())
                    .iter()
                    .any(|a| a.get_id().as_str() == *k),
                "EXAMPLES names [{s}] {k}"
            );
        }
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
        let text = init::starter(&steps());
        let accept = |text: &str| -> anyhow::Result<()> {
            let config = Config::parse(text)?;
            let settings = settings(&config, [], &[], None)?;
            plan(dir.path(), &settings)?;
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
        // Every setting of every table, fail_on and two rules.
        let settings: usize = steps()
            .iter()
            .map(|s| {
                config::settings_of(&(s.command)())
                    .iter()
                    .filter(|a| !s.reserved.iter().any(|(k, _)| *k == a.get_id().as_str()))
                    .count()
            })
            .sum();
        assert_eq!(tried, settings + 3, "{text}");
    }
}

/// goready.toml's settings layered through the steps' real `Args`: the values, messages and
/// command lines `check` gets (the layering itself is `config::Settings`).
#[cfg(test)]
mod settings_tests {
    use std::ffi::OsString;
    use std::path::PathBuf;

    use super::super::args::{BuildArgs, EnvArgs, ProbeArgs, TestArgs};
    use crate::config::{Config, Settings, Source};

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> Settings {
        let mut config = Config::parse(text).unwrap();
        config.path = Some(PathBuf::from("svc/goready.toml"));
        Settings::from_config(&config)
    }

    fn dir() -> Vec<OsString> {
        vec![OsString::from(".")]
    }

    #[test]
    fn file_then_variables_then_set_then_flags() {
        let mut s = file(
            r#"
            [build]
            targets = ["linux/amd64", "darwin/arm64"]
            version = "1.0.0"
            ldflags = "-s -w"
            [probe]
            exec = "svc --addr {addr}"
            ready_timeout = "3s"
            grace = "2s"
            "#,
        );
        let (b, _) = s.parse::<BuildArgs>("build", &dir(), &[]).unwrap();
        assert_eq!(b.matrix.targets, ["linux/amd64", "darwin/arm64"]);
        assert_eq!(b.matrix.version.as_deref(), Some("1.0.0"));
        assert_eq!(
            b.ldflags.as_deref(),
            Some("-s -w"),
            "a value starting with -"
        );
        s.layer_env(vars(&[
            ("GOREADY_TARGETS", "linux/arm64"),
            ("GOREADY_BUILD_VERSION", "2.0.0"),
            ("GOREADY_VERSION", "9.9.9"),
            ("GOREADY_PROBE_READY_TIMEOUT", "4s"),
            ("GOREADY_PROBE_GRACE", ""),
            ("GOREADY_FAIL_ON", "warning"),
            ("GOREADY_GO", "/usr/bin/go"),
        ]));
        let (b, _) = s.parse::<BuildArgs>("build", &dir(), &[]).unwrap();
        assert_eq!(
            b.matrix.targets,
            ["linux/arm64"],
            "a variable replaces the file's list"
        );
        assert_eq!(
            b.matrix.version.as_deref(),
            Some("2.0.0"),
            "GOREADY_BUILD_VERSION beats the GOREADY_VERSION alias"
        );
        let (p, _) = s.parse::<ProbeArgs>("probe", &[], &[]).unwrap();
        assert_eq!(p.ready_timeout, std::time::Duration::from_secs(4));
        assert_eq!(
            p.grace,
            std::time::Duration::from_secs(2),
            "an empty variable is unset"
        );
        s.layer_sets(&[
            "probe.ready_timeout=5s".into(),
            "build.version=3.0.0".into(),
        ])
        .unwrap();
        let (p, _) = s.parse::<ProbeArgs>("probe", &[], &[]).unwrap();
        assert_eq!(p.ready_timeout, std::time::Duration::from_secs(5));
        s.set(
            "build",
            "version",
            toml::Value::String("4.0.0".into()),
            Source::Flag("--version".into()),
        );
        let (b, argv) = s.parse::<BuildArgs>("build", &dir(), &[]).unwrap();
        assert_eq!(b.matrix.version.as_deref(), Some("4.0.0"));
        assert!(
            argv.contains(&OsString::from("--version=4.0.0")),
            "{argv:?}"
        );
        assert_eq!(
            s.get("build", "version").unwrap().source,
            Source::Flag("--version".into())
        );
    }

    #[test]
    fn an_unknown_key_names_the_file_the_table_and_the_key() {
        let s = file("[probe]\nexec = \"svc\"\nready_timout = \"3s\"\n");
        let err = s
            .parse::<ProbeArgs>("probe", &[], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("svc/goready.toml [probe] ready_timout: [probe] has no setting"),
            "{err}"
        );
        assert!(err.contains("did you mean \"ready_timeout\""), "{err}");
        let mut s = Settings::default();
        s.layer_env(vars(&[("GOREADY_BUILD_NUMBER", "17")]));
        let err = s
            .parse::<BuildArgs>("build", &dir(), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("GOREADY_BUILD_NUMBER: [build] has no setting \"number\""),
            "{err}"
        );
    }

    #[test]
    fn a_bad_value_gets_the_steps_own_message_and_is_blamed_on_its_source() {
        let mut s = file("[probe]\nexec = \"svc\"\nready_timeout = \"3s\"\n");
        s.layer_env(vars(&[("GOREADY_PROBE_READY_TIMEOUT", "3x")]));
        let err = s
            .parse::<ProbeArgs>("probe", &[], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("GOREADY_PROBE_READY_TIMEOUT: invalid value '3x' for '--ready-timeout"),
            "{err}"
        );
        assert!(
            err.contains("unknown unit"),
            "the duration parser's words: {err}"
        );
        let s = file("[probe]\nexec = \"svc\"\nrequests = 0\n");
        let err = s
            .parse::<ProbeArgs>("probe", &[], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("svc/goready.toml [probe] requests: invalid value '0'"),
            "{err}"
        );
        for (text, want) in [
            (
                "[probe]\nexec = [\"a\", \"b\"]\n",
                "takes one value, not a list",
            ),
            (
                "[probe]\nexec = \"a\"\ngctrace = \"maybe\"\n",
                "give true or false",
            ),
            (
                "[probe]\nexec = \"a\"\nload = true\n",
                "give 'METHOD /path' as a string",
            ),
            (
                "[probe]\nexec = \"a\"\ngo_test = \".\"\n",
                "cannot be used with",
            ),
        ] {
            let err = file(text)
                .parse::<ProbeArgs>("probe", &[], &[])
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        let mut s = Settings::default();
        s.set(
            "probe",
            "exec",
            toml::Value::String("x".into()),
            Source::Set,
        );
        s.set(
            "probe",
            "max_heap",
            toml::Value::String("-3".into()),
            Source::Set,
        );
        let err = s
            .parse::<ProbeArgs>("probe", &[], &[])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--set probe.max_heap: "), "{err}");
    }

    #[test]
    fn booleans_lists_and_trailing_arguments_become_the_steps_own_flags() {
        let mut s = file(
            r#"
            [build]
            trimpath = false
            require_static = true
            cgo = ["0", "1"]
            [test]
            packages = ["./cmd/...", "./internal/..."]
            go_args = ["-race", "-run", "TestX"]
            [env]
            offline = "yes"
            private = "example.com/*"
            "#,
        );
        let (b, argv) = s.parse::<BuildArgs>("build", &dir(), &[]).unwrap();
        assert!(b.no_trimpath && b.require_static, "{argv:?}");
        assert_eq!(b.matrix.cgo, ["0", "1"]);
        assert!(argv.contains(&OsString::from("--no-trimpath")), "{argv:?}");
        let (t, argv) = s
            .parse::<TestArgs>("test", &[OsString::from("--dir=svc")], &[])
            .unwrap();
        assert_eq!(t.dir, PathBuf::from("svc"));
        assert_eq!(t.packages, ["./cmd/...", "./internal/..."]);
        assert_eq!(t.go_args, ["-race", "-run", "TestX"]);
        assert_eq!(
            argv,
            [
                "./cmd/...",
                "./internal/...",
                "--",
                "-race",
                "-run",
                "TestX"
            ]
            .map(OsString::from)
        );
        let (e, _) = s.parse::<EnvArgs>("env", &dir(), &[]).unwrap();
        assert!(e.offline);
        assert_eq!(e.private, ["example.com/*"], "one value is a list of one");
        // A variable can hold a TOML list.
        s.layer_env(vars(&[("GOREADY_TEST_GO_ARGS", r#"["-count=1", "-v"]"#)]));
        let (t, _) = s.parse::<TestArgs>("test", &dir(), &[]).unwrap();
        assert_eq!(t.go_args, ["-count=1", "-v"]);
    }

    #[test]
    fn reserved_keys_are_refused_with_the_reason() {
        let s = file("[build]\ndir = \"elsewhere\"\n");
        let err = s
            .parse::<BuildArgs>("build", &dir(), &[("dir", "every step runs on DIR")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[build] dir") && err.contains("every step runs on DIR"),
            "{err}"
        );
    }
}
