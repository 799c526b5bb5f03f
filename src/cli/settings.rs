//! The settings table ([`crate::settings`]) meets the flags: each step with settings has its
//! clap command here ([`command_of`]), a step's typed settings are judged by that command's
//! own parsers ([`parse`], so a bad value gets the step's own message, blamed on where it was
//! set), the flags given on the command line are layered over goready.toml ([`layer_flags`]),
//! and each setting's help is its flag's ([`help_of`]). The tests hold the table and the
//! flags to each other.

use clap::parser::ValueSource;
use clap::{ArgMatches, FromArgMatches};

use super::args::{BuildArgs, EnvArgs, ImageArgs, OutputArgs, ProbeArgs, TestArgs};
use crate::config::{self, Settings, Source};
use crate::settings::{Row, StepArgs};
use crate::step::Step;

/// The clap command a step's `Args` struct describes, as `goready check` parses settings with
/// it (no binary name, no help flag).
fn step_command<A: clap::Args>() -> clap::Command {
    A::augment_args(
        clap::Command::new("goready.toml")
            .no_binary_name(true)
            .disable_help_flag(true)
            .disable_version_flag(true),
    )
}

/// The command whose flags are `step`'s settings: None for the steps without a table in
/// goready.toml.
pub fn command_of(step: Step) -> Option<clap::Command> {
    match step {
        Step::Env => Some(step_command::<EnvArgs>()),
        Step::Build => Some(step_command::<BuildArgs>()),
        Step::Image => Some(step_command::<ImageArgs>()),
        Step::Probe => Some(step_command::<ProbeArgs>()),
        Step::Test => Some(step_command::<TestArgs>()),
        Step::Report => Some(step_command::<OutputArgs>()),
        Step::Inspect | Step::Vuln | Step::Sbom | Step::Pprof | Step::Check => None,
    }
}

/// The help of the flag a row stands for (for goready.toml's starter).
pub fn help_of(row: &Row) -> Option<String> {
    let mut cmd = command_of(row.step)?;
    cmd.build();
    let arg = cmd.get_arguments().find(|a| a.get_id() == row.key)?;
    arg.get_help().map(ToString::to_string)
}

/// `args` judged by the step's own parser `A`: the typed struct the step runs with. Errors
/// name the setting they are about and where it was set (`settings`).
pub fn parse<A: clap::Args + FromArgMatches>(
    settings: &Settings,
    args: &StepArgs,
) -> anyhow::Result<A> {
    let cmd = step_command::<A>();
    let matches = cmd
        .clone()
        .try_get_matches_from(args.argv())
        .map_err(|e| explain(settings, args.step, &cmd, &e))?;
    A::from_arg_matches(&matches).map_err(|e| explain(settings, args.step, &cmd, &e))
}

/// A clap error about `step`'s command line, said about the setting it concerns.
fn explain(settings: &Settings, step: Step, cmd: &clap::Command, e: &clap::Error) -> anyhow::Error {
    let rendered = e.render().to_string();
    let text = rendered.trim().trim_start_matches("error: ");
    let text = text.split("\n\n").next().unwrap_or(text).trim();
    let about = match e.get(clap::error::ContextKind::InvalidArg) {
        Some(clap::error::ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let key = about.and_then(|arg| {
        let long = arg.trim_start_matches("--");
        let long = long.split([' ', '=']).next().unwrap_or(long);
        cmd.get_arguments()
            .find(|a| a.get_long() == Some(long))
            .map(|a| a.get_id().as_str().to_string())
    });
    match key
        .as_deref()
        .and_then(|k| settings.get(step, k).map(|s| (k, s)))
    {
        Some((k, s)) => anyhow::anyhow!("{}: {text}", config::describe(step, k, &s.source)),
        None => anyhow::anyhow!("[{step}] settings: {text}"),
    }
}

/// Layers the flags given on a command line (not their defaults) over `settings`, for the
/// `steps` whose settings that command takes as flags: `check` takes the build matrix
/// (`[build]`) and the outputs (`[report]`), `report` the outputs, under the same ids as the
/// steps' keys.
pub fn layer_flags(settings: &mut Settings, matches: &ArgMatches, steps: &[Step]) {
    for id in matches.ids() {
        let id = id.as_str();
        if matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let Some(row) = steps.iter().find_map(|&s| crate::settings::find(s, id)) else {
            continue;
        };
        let raw: Vec<String> = matches
            .get_raw(id)
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = match raw.as_slice() {
            [one] => toml::Value::String(one.clone()),
            many => toml::Value::Array(many.iter().cloned().map(toml::Value::String).collect()),
        };
        let flag = format!("--{}", row.flag);
        settings.set(row.step, id, value, Source::Flag(flag));
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;
    use crate::settings::{self, Form, Shown};

    /// The settable arguments of a command (clap's own help and version flags are not).
    fn arguments(cmd: &clap::Command) -> Vec<clap::Arg> {
        let mut cmd = cmd.clone();
        cmd.build();
        cmd.get_arguments()
            .filter(|a| {
                !matches!(
                    a.get_action(),
                    clap::ArgAction::Help
                        | clap::ArgAction::HelpShort
                        | clap::ArgAction::HelpLong
                        | clap::ArgAction::Version
                )
            })
            .cloned()
            .collect()
    }

    #[test]
    fn every_flag_of_each_step_has_its_row_and_every_row_its_flag() {
        for step in Step::ALL {
            let has_rows = settings::rows(step).next().is_some();
            let Some(cmd) = command_of(step) else {
                assert!(
                    !has_rows,
                    "[{step}] has rows: give it a command in command_of"
                );
                continue;
            };
            assert!(
                has_rows,
                "{step} has a command but no rows in settings::TABLE"
            );
            let args = arguments(&cmd);
            let reserved = settings::reserved(step);
            for arg in &args {
                let id = arg.get_id().as_str();
                if reserved.iter().any(|(k, _)| *k == id) {
                    continue;
                }
                // A negation is its switch's `false`.
                let long = arg.get_long().unwrap_or("");
                if settings::rows(step).any(|r| matches!(r.form, Form::Negatable(no) if no == long))
                {
                    continue;
                }
                let row = settings::find(step, id)
                    .unwrap_or_else(|| panic!("[{step}] --{id}: add its row to settings::TABLE"));
                let action = arg.get_action();
                let switch = matches!(action, clap::ArgAction::SetTrue);
                let form = match action {
                    clap::ArgAction::SetTrue => {
                        assert!(
                            matches!(row.form, Form::Switch | Form::Negatable(_)),
                            "[{step}] {id} is a switch, not {:?}",
                            row.form
                        );
                        row.form
                    }
                    _ if arg.is_last_set() => Form::Trailing,
                    _ if arg.is_positional() => Form::Positional,
                    clap::ArgAction::Append => Form::List,
                    clap::ArgAction::Set => Form::One,
                    other => panic!("[{step}] {id}: {other:?} is not a setting's shape"),
                };
                assert_eq!(row.form, form, "[{step}] {id}");
                assert_eq!(row.flag, arg.get_long().unwrap_or(""), "[{step}] {id}");
                let value_name = arg
                    .get_value_names()
                    .and_then(|n| n.first())
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                if !matches!(row.form, Form::Switch | Form::Negatable(_)) {
                    assert_eq!(row.value, value_name, "[{step}] {id}'s value name");
                }
                match (row.shown, arg.get_default_values()) {
                    (Shown::Default(v), [one]) => {
                        let shown: toml::Table = toml::from_str(&format!("v = {v}")).unwrap();
                        let text = match &shown["v"] {
                            toml::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        assert_eq!(text, one.to_string_lossy(), "[{step}] {id}'s default");
                    }
                    (Shown::Default(v), _) => panic!("[{step}] {id} has no default, shows {v}"),
                    (Shown::Off, _) => assert!(switch, "[{step}] {id} is not a switch"),
                    (Shown::Example(_), [one]) if !switch => {
                        panic!("[{step}] {id} has the default {one:?}: show it, not an example")
                    }
                    (Shown::Example(_), _) => {}
                }
            }
            for row in settings::rows(step) {
                assert!(
                    args.iter().any(|a| a.get_id() == row.key),
                    "[{step}] {}: the row has no flag in {step}'s Args",
                    row.key
                );
                assert!(help_of(row).is_some(), "[{step}] {}: no help", row.key);
            }
        }
    }
}

/// goready.toml's settings layered through the steps' real `Args`: the values, messages and
/// command lines `check` gets (the layering itself is `config::Settings`).
#[cfg(test)]
mod layering_tests {
    use std::ffi::OsString;
    use std::path::PathBuf;

    use super::super::args::{BuildArgs, EnvArgs, ProbeArgs, TestArgs};
    use crate::config::{Config, Settings, Source};
    use crate::step::Step;

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

    /// `step`'s settings judged by its parser `A`, with `dir` as check gives it; and the
    /// command line they render.
    fn parse<A: clap::Args + clap::FromArgMatches>(
        s: &Settings,
        step: Step,
        dir: Option<&str>,
    ) -> anyhow::Result<(A, Vec<OsString>)> {
        let mut args = s.step_args(step)?;
        args.dir = dir.map(PathBuf::from);
        let parsed = super::parse::<A>(s, &args)?;
        Ok((parsed, args.argv()))
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
        let (b, _) = parse::<BuildArgs>(&s, Step::Build, Some(".")).unwrap();
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
        let (b, _) = parse::<BuildArgs>(&s, Step::Build, Some(".")).unwrap();
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
        let (p, _) = parse::<ProbeArgs>(&s, Step::Probe, None).unwrap();
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
        let (p, _) = parse::<ProbeArgs>(&s, Step::Probe, None).unwrap();
        assert_eq!(p.ready_timeout, std::time::Duration::from_secs(5));
        s.set(
            Step::Build,
            "version",
            toml::Value::String("4.0.0".into()),
            Source::Flag("--version".into()),
        );
        let (b, argv) = parse::<BuildArgs>(&s, Step::Build, Some(".")).unwrap();
        assert_eq!(b.matrix.version.as_deref(), Some("4.0.0"));
        assert!(
            argv.contains(&OsString::from("--version=4.0.0")),
            "{argv:?}"
        );
        assert_eq!(
            s.get(Step::Build, "version").unwrap().source,
            Source::Flag("--version".into())
        );
    }

    #[test]
    fn an_unknown_key_names_the_file_the_table_and_the_key() {
        let s = file("[probe]\nexec = \"svc\"\nready_timout = \"3s\"\n");
        let err = parse::<ProbeArgs>(&s, Step::Probe, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("svc/goready.toml [probe] ready_timout: [probe] has no setting"),
            "{err}"
        );
        assert!(err.contains("did you mean \"ready_timeout\""), "{err}");
        let mut s = Settings::default();
        s.layer_env(vars(&[("GOREADY_BUILD_NUMBER", "17")]));
        let err = parse::<BuildArgs>(&s, Step::Build, Some("."))
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
        let err = parse::<ProbeArgs>(&s, Step::Probe, None)
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
        let err = parse::<ProbeArgs>(&s, Step::Probe, None)
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
            let err = parse::<ProbeArgs>(&file(text), Step::Probe, None)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        let mut s = Settings::default();
        s.set(
            Step::Probe,
            "exec",
            toml::Value::String("x".into()),
            Source::Set,
        );
        s.set(
            Step::Probe,
            "max_heap",
            toml::Value::String("-3".into()),
            Source::Set,
        );
        let err = parse::<ProbeArgs>(&s, Step::Probe, None)
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
        let (b, argv) = parse::<BuildArgs>(&s, Step::Build, Some(".")).unwrap();
        assert!(b.no_trimpath && b.require_static, "{argv:?}");
        assert_eq!(b.matrix.cgo, ["0", "1"]);
        assert!(argv.contains(&OsString::from("--no-trimpath")), "{argv:?}");
        let (t, argv) = parse::<TestArgs>(&s, Step::Test, Some("svc")).unwrap();
        assert_eq!(t.dir, PathBuf::from("svc"));
        assert_eq!(t.packages, ["./cmd/...", "./internal/..."]);
        assert_eq!(t.go_args, ["-race", "-run", "TestX"]);
        assert_eq!(
            argv,
            [
                "--dir=svc",
                "./cmd/...",
                "./internal/...",
                "--",
                "-race",
                "-run",
                "TestX"
            ]
            .map(OsString::from)
        );
        let (e, _) = parse::<EnvArgs>(&s, Step::Env, Some(".")).unwrap();
        assert!(e.offline);
        assert_eq!(e.private, ["example.com/*"], "one value is a list of one");
        // A variable can hold a TOML list.
        s.layer_env(vars(&[("GOREADY_TEST_GO_ARGS", r#"["-count=1", "-v"]"#)]));
        let (t, _) = parse::<TestArgs>(&s, Step::Test, Some(".")).unwrap();
        assert_eq!(t.go_args, ["-count=1", "-v"]);
    }

    #[test]
    fn reserved_keys_are_refused_with_the_reason() {
        let s = file("[build]\ndir = \"elsewhere\"\n");
        let err = parse::<BuildArgs>(&s, Step::Build, Some("."))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[build] dir") && err.contains("every step runs on goready check's DIR"),
            "{err}"
        );
    }
}
