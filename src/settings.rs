//! Every step setting, described once: [`TABLE`] has one [`Row`] per key of a step table in
//! goready.toml (`[probe] ready_timeout`), which is also a flag of that step's subcommand
//! (`goready probe --ready-timeout`), a `GOREADY_PROBE_READY_TIMEOUT` variable and a
//! `goready check --set probe.ready_timeout=…`. goready.toml is checked against the table (an
//! unknown key, a list where one value goes), `goready init` writes its starter from it, and
//! `goready check` renders each step's command line from it. The flags themselves are clap
//! structs in `src/cli/args.rs`, which also hold each setting's help; a unit test there
//! (`cli::check::table_tests`) holds every flag of each step to its row and every row to its
//! flag: the same long name, shape, value name and default.
//!
//! # Adding a step's settings
//!
//! A step's settings are rows here and flags in its `Args` struct (`src/cli/args.rs`, where
//! each flag's doc comment is its help), nowhere else: add the flags, then rows to [`TABLE`] in
//! the order the starter should list them (the key is the flag's argument id, a default is
//! `D`, an example `E`), and map the step to its `Args` in `cli::settings::command_of`; the
//! flags `goready check` sets itself are in [`reserved`]. The table test names any flag without
//! a row, or row without a flag, or a default that differs. `[vuln]` is no step's table: its
//! `ignore` is a list of tables, which no flag can take; `crate::vuln::Settings` reads it and
//! `crate::vuln::settings::STARTER` is its part of the starter.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::step::Step;

/// How a setting is written on its step's command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `--flag` when true, nothing when false.
    Switch,
    /// `--flag` when true, `--NEGATION` when false (the default is on).
    Negatable(&'static str),
    /// `--flag=VALUE`, one value.
    One,
    /// `--flag=VALUE`, repeated for each value of a list (one value is a list of one).
    List,
    /// Positional values, after the flags.
    Positional,
    /// Values after `--`, passed through to the tool the step runs.
    Trailing,
}

/// What goready.toml's starter shows for a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The default, as the step's flag has it.
    Default(&'static str),
    /// An example, marked as one (the setting has no single default).
    Example(&'static str),
    /// A switch that is off unless set.
    Off,
}

/// One setting of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The step whose table holds it.
    pub step: Step,
    /// Its key in the table (the flag's argument id: `ready_timeout`).
    pub key: &'static str,
    /// How the step's command line takes it.
    pub form: Form,
    /// The long flag without dashes (`ready-timeout`); empty for positional and trailing
    /// values.
    pub flag: &'static str,
    /// The value's name in help and messages (`DURATION`); empty for switches.
    pub value: &'static str,
    /// What the starter shows: a default or an example, as TOML.
    pub shown: Shown,
}

const fn row(
    step: Step,
    key: &'static str,
    form: Form,
    flag: &'static str,
    value: &'static str,
    shown: Shown,
) -> Row {
    Row {
        step,
        key,
        form,
        flag,
        value,
        shown,
    }
}

const fn one(
    step: Step,
    key: &'static str,
    flag: &'static str,
    value: &'static str,
    shown: Shown,
) -> Row {
    row(step, key, Form::One, flag, value, shown)
}

const fn list(
    step: Step,
    key: &'static str,
    flag: &'static str,
    value: &'static str,
    shown: Shown,
) -> Row {
    row(step, key, Form::List, flag, value, shown)
}

const fn switch(step: Step, key: &'static str, flag: &'static str) -> Row {
    row(step, key, Form::Switch, flag, "", Shown::Off)
}

use Shown::{Default as D, Example as E};
use Step::{Build, Env, Image, Probe, Report, Test};

/// Every step setting, step by step in the order `goready check` runs the steps, each step's
/// in the order goready.toml's starter lists them.
#[rustfmt::skip]
pub const TABLE: &[Row] = &[
    one(Env, "releases", "releases", "FILE|URL", E(r#""https://go.dev/dl/?mode=json&include=all""#)),
    switch(Env, "offline", "offline"),
    list(Env, "private", "private", "PATTERN", E(r#"["example.com/internal/*"]"#)),
    list(Build, "targets", "target", "GOOS/GOARCH[,...]", E(r#"["linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"]"#)),
    list(Build, "cgo", "cgo", "0,1", E(r#"["0", "1"]"#)),
    one(Build, "version", "version", "V", E(r#""1.2.3""#)),
    one(Build, "package", "pkg", "PKG", D(r#"".""#)),
    one(Build, "jobs", "jobs", "N", E("2")),
    // On by default; `false` builds without -trimpath.
    row(Build, "trimpath", Form::Negatable("no-trimpath"), "trimpath", "", E("true")),
    one(Build, "ldflags", "ldflags", "FLAGS", E(r#""-s -w""#)),
    one(Build, "tags", "tags", "TAGS", E(r#""netgo""#)),
    one(Build, "buildmode", "buildmode", "MODE", E(r#""pie""#)),
    one(Build, "version_var", "version-var", "VAR", D(r#""main.Version""#)),
    one(Build, "version_cmd", "version-cmd", "ARGS", D(r#""--version""#)),
    switch(Build, "require_static", "require-static"),
    switch(Build, "reproducible", "reproducible"),
    one(Build, "shard", "shard", "I/N", E(r#""1/2""#)),
    one(Build, "sbom", "sbom", "cyclonedx|spdx", E(r#""cyclonedx""#)),
    one(Image, "archive", "archive", "PATH", E(r#""dist/image.tar""#)),
    one(Image, "ref", "ref", "NAME", E(r#""app:ci""#)),
    one(Image, "platform", "platform", "OS/ARCH", E(r#""linux/amd64""#)),
    one(Image, "max_size", "max-size", "MB", E("200")),
    one(Probe, "exec", "exec", "CMD", E(r#""{bin} --addr {addr} --admin {admin}""#)),
    one(Probe, "go_test", "go-test", "PKG", E(r#""./cmd/svc""#)),
    one(Probe, "run", "run", "REGEX", D(r#""^TestServe$""#)),
    one(Probe, "pprof", "pprof", "URL", E(r#""http://127.0.0.1:6060/debug/pprof/""#)),
    one(Probe, "ca_cert", "ca-cert", "FILE", E(r#""certs/admin-ca.pem""#)),
    switch(Probe, "insecure", "insecure"),
    one(Probe, "ready", "ready", "PATH", D(r#""/debug/pprof/""#)),
    one(Probe, "max_time", "max-time", "DURATION", E(r#""5m""#)),
    one(Probe, "ready_timeout", "ready-timeout", "DURATION", D(r#""30s""#)),
    one(Probe, "grace", "grace", "DURATION", D(r#""5s""#)),
    one(Probe, "public_port", "public-port", "PORT", E("8080")),
    list(Probe, "headers", "header", "NAME: VALUE", E(r#"["Authorization: Bearer set-me-in-GOREADY_PROBE_HEADERS"]"#)),
    one(Probe, "max_heap", "max-heap", "MB", E("64")),
    switch(Probe, "gctrace", "gctrace"),
    one(Probe, "load", "load", "'METHOD /path'", E(r#""GET /healthz""#)),
    one(Probe, "requests", "requests", "N", D("200")),
    one(Probe, "concurrency", "concurrency", "C", D("4")),
    one(Probe, "load_timeout", "load-timeout", "DURATION", D(r#""60s""#)),
    one(Probe, "rate", "rate", "N/s", E(r#""200/s""#)),
    one(Probe, "max_p99", "max-p99", "DURATION", E(r#""50ms""#)),
    one(Probe, "artifacts", "artifacts", "DIR", E(r#""goready-artifacts""#)),
    one(Probe, "top", "top", "N", D("20")),
    // An earlier run's result file (e.g. the base branch's artifact) or a saved profile.
    one(Probe, "baseline", "baseline", "FILE", E(r#""base/goready.json""#)),
    one(Probe, "max_alloc_growth", "max-alloc-growth", "PCT", D("10")),
    one(Probe, "soak", "soak", "DURATION", E(r#""30s""#)),
    one(Probe, "settle", "settle", "DURATION", D(r#""1s""#)),
    one(Probe, "max_goroutine_growth", "max-goroutine-growth", "N", D("10")),
    one(Probe, "max_heap_growth", "max-heap-growth", "MB", D("2")),
    one(Probe, "drain", "drain", "'METHOD /path'", E(r#""GET /slow""#)),
    one(Probe, "drain_requests", "drain-requests", "N", D("8")),
    one(Probe, "max_cpu_growth", "max-cpu-growth", "PCT", D("10")),
    one(Probe, "expect_version", "expect-version", "V", E(r#""1.2.3""#)),
    row(Test, "packages", Form::Positional, "", "PKG", E(r#"["./..."]"#)),
    row(Test, "go_args", Form::Trailing, "", "GO_TEST_ARGS", E(r#"["-race", "-count=1"]"#)),
    switch(Test, "memprofile", "memprofile"),
    one(Test, "memprofile_dir", "memprofile-dir", "DIR", E(r#""goready-memprofiles""#)),
    one(Test, "top", "top", "N", D("20")),
    one(Report, "junit", "junit", "FILE", E(r#""goready-junit.xml""#)),
    switch(Report, "github", "github"),
    switch(Report, "pr_comment", "pr-comment"),
    one(Report, "check_run", "check-run", "auto|true|false", E(r#""auto""#)),
    one(Report, "pr", "pr", "N", E("42")),
    one(Report, "token_env", "token-env", "NAME", E(r#""GITHUB_TOKEN""#)),
    one(Report, "gitlab_codequality", "gitlab-codequality", "FILE", E(r#""gl-code-quality-report.json""#)),
    switch(Report, "gitlab_note", "gitlab-note"),
    one(Report, "sarif", "sarif", "FILE", E(r#""goready.sarif""#)),
    one(Report, "fallback_file", "fallback-file", "PATH", D(r#""goready.toml""#)),
    one(Report, "baseline", "baseline", "FILE|DIR", E(r#""base/goready.json""#)),
    switch(Report, "fail_on_new", "fail-on-new"),
];

/// A key `goready check` sets itself, and why a step table cannot.
pub type Reserved = (&'static str, &'static str);

const JSON: Reserved = (
    "json",
    "goready check keeps each step's result and writes the merged one with its own --json",
);
const FAIL_ON: Reserved = (
    "fail_on",
    "set fail_on at the top of goready.toml (or --fail-on); it judges the merged report",
);
const CONFIG: Reserved = ("config", "goready check reads one goready.toml (--config)");
const DIR: Reserved = ("dir", "every step runs on goready check's DIR");
const IMAGE: Reserved = (
    "image",
    "write archive = \"PATH\" or ref = \"NAME\" for the image step",
);
const FORMAT: Reserved = (
    "format",
    "goready check prints the merged table, not the steps' own output",
);

/// The flags of `step` that are not settings: `goready check` sets them itself.
pub fn reserved(step: Step) -> &'static [Reserved] {
    match step {
        Step::Env | Step::Build | Step::Test => &[JSON, FAIL_ON, CONFIG, DIR],
        Step::Probe => &[JSON, FAIL_ON, CONFIG, DIR, FORMAT],
        Step::Image => &[JSON, FAIL_ON, CONFIG, FORMAT, IMAGE],
        Step::Report => &[],
        Step::Inspect | Step::Vuln | Step::Sbom | Step::Pprof | Step::Check => {
            &[JSON, FAIL_ON, CONFIG, DIR, FORMAT]
        }
    }
}

/// What a step table configures, for the starter's comments.
pub fn about(step: Step) -> &'static str {
    match step {
        Step::Env => "goready env: the Go toolchain and the module's dependency hygiene.",
        Step::Build => {
            "goready build: the GOOS/GOARCH/CGO matrix, built into DIR/dist, every binary \
             inspected."
        }
        Step::Probe => {
            "goready probe: start the service and probe its runtime. Set exec or go_test, or \
             the probe is skipped. In exec, {bin} is the binary the build step made for this \
             machine (DIR/dist/<name>_<goos>_<goarch>; the probe then waits for that build), \
             {addr} and {admin} are free loopback addresses. The service runs in DIR."
        }
        Step::Test => "goready test: go test -json in DIR, one check per test and subtest.",
        Step::Report => {
            "Where the merged report goes: the same settings as goready report's flags. Paths \
             are relative to the directory goready runs in."
        }
        Step::Inspect => "goready inspect: facts of given binaries.",
        Step::Vuln => "goready vuln: known vulnerabilities in the binaries.",
        Step::Sbom => "goready sbom: an SBOM per binary.",
        Step::Image => {
            "goready image: will the entrypoint start in the container image. Set archive (a \
             docker save tarball or OCI layout, built before goready check runs) or ref (an \
             image in the local Docker daemon), or the step is skipped."
        }
        Step::Pprof => "goready pprof: a saved profile ranked.",
        Step::Check => "goready check: every step on one module.",
    }
}

/// The rows of `step`, in table order.
pub fn rows(step: Step) -> impl Iterator<Item = &'static Row> {
    TABLE.iter().filter(move |r| r.step == step)
}

/// The row of `step.key`.
pub fn find(step: Step, key: &str) -> Option<&'static Row> {
    rows(step).find(|r| r.key == key)
}

/// The steps that have a table in goready.toml (the steps with settings), in `Step` order,
/// which is the order `goready check` runs them.
pub fn tables() -> impl Iterator<Item = Step> {
    Step::ALL
        .into_iter()
        .filter(|&s| TABLE.iter().any(|r| r.step == s))
}

/// The step whose table is called `name`.
pub fn table(name: &str) -> Option<Step> {
    tables().find(|s| s.name() == name)
}

/// The one reader of booleans written as text (a variable, `--set`, a TOML string):
/// `true`/`1`/`yes`/`on` and `false`/`0`/`no`/`off`, in any case; anything else is `None`.
pub fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A setting's value, checked against its row's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A switch.
    Switch(bool),
    /// One value.
    One(String),
    /// A list (of one or more values).
    List(Vec<String>),
}

/// One step's settings, typed: what `goready check` plans with. The command line is rendered
/// from it once, when the step is shown (`--dry-run`) or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepArgs {
    /// The step.
    pub step: Step,
    /// The module directory, as the step takes it (`DIR` or `--dir=DIR`); None: not given.
    pub dir: Option<std::path::PathBuf>,
    values: BTreeMap<&'static str, Value>,
}

impl StepArgs {
    /// No settings.
    pub fn new(step: Step) -> StepArgs {
        StepArgs {
            step,
            dir: None,
            values: BTreeMap::new(),
        }
    }

    /// Sets `key` (a row of this step, else a programming error that is refused).
    pub fn set(&mut self, key: &str, value: Value) -> Result<(), String> {
        let row = find(self.step, key)
            .ok_or_else(|| format!("[{}] has no setting {key:?}", self.step))?;
        let fits = matches!(
            (row.form, &value),
            (Form::Switch | Form::Negatable(_), Value::Switch(_))
                | (Form::One, Value::One(_))
                | (
                    Form::List | Form::Positional | Form::Trailing,
                    Value::List(_)
                )
        );
        if !fits {
            return Err(format!(
                "[{}] {key}: {value:?} does not fit {:?}",
                self.step, row.form
            ));
        }
        self.values.insert(row.key, value);
        Ok(())
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.values.remove(key)
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// The step's command line (after the subcommand): flags in table order, then positional
    /// values, then `--` and the trailing ones.
    pub fn argv(&self) -> Vec<OsString> {
        let mut options: Vec<OsString> = Vec::new();
        let mut positional: Vec<OsString> = Vec::new();
        let mut trailing: Vec<OsString> = Vec::new();
        if let Some(dir) = &self.dir {
            match self.step {
                // DIR is their positional argument.
                Step::Env | Step::Build | Step::Check => positional.push(dir.clone().into()),
                Step::Probe
                | Step::Test
                | Step::Inspect
                | Step::Vuln
                | Step::Sbom
                | Step::Image
                | Step::Pprof
                | Step::Report => {
                    let mut flag = OsString::from("--dir=");
                    flag.push(dir);
                    options.push(flag);
                }
            }
        }
        for row in rows(self.step) {
            let Some(value) = self.values.get(row.key) else {
                continue;
            };
            let items: Vec<String> = match value {
                Value::Switch(on) => {
                    match (on, row.form) {
                        (true, _) => options.push(format!("--{}", row.flag).into()),
                        (false, Form::Negatable(no)) => options.push(format!("--{no}").into()),
                        (false, _) => {}
                    }
                    continue;
                }
                Value::One(v) => vec![v.clone()],
                Value::List(items) => items.clone(),
            };
            match row.form {
                Form::Positional => positional.extend(items.into_iter().map(OsString::from)),
                Form::Trailing => trailing.extend(items.into_iter().map(OsString::from)),
                Form::One | Form::List | Form::Switch | Form::Negatable(_) => options.extend(
                    items
                        .into_iter()
                        .map(|v| OsString::from(format!("--{}={v}", row.flag))),
                ),
            }
        }
        options.extend(positional);
        if !trailing.is_empty() {
            options.push("--".into());
            options.extend(trailing);
        }
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_per_step_and_flags_are_dashed_keys_or_named() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert!(
                    !(a.step == b.step && a.key == b.key),
                    "[{}] {} twice",
                    a.step,
                    a.key
                );
            }
            let positional = matches!(a.form, Form::Positional | Form::Trailing);
            assert_eq!(a.flag.is_empty(), positional, "[{}] {}", a.step, a.key);
            assert!(
                !reserved(a.step).iter().any(|(k, _)| *k == a.key),
                "[{}] {} is reserved",
                a.step,
                a.key
            );
            if let Shown::Default(v) | Shown::Example(v) = a.shown {
                let parsed: Result<toml::Table, _> = toml::from_str(&format!("v = {v}"));
                assert!(parsed.is_ok(), "[{}] {}: {v} is not TOML", a.step, a.key);
            }
        }
    }

    #[test]
    fn one_boolean_reader() {
        for t in ["true", "1", "yes", "on", " TRUE ", "On"] {
            assert_eq!(boolean(t), Some(true), "{t}");
        }
        for f in ["false", "0", "no", "off", "False"] {
            assert_eq!(boolean(f), Some(false), "{f}");
        }
        for neither in ["", "2", "maybe", "y"] {
            assert_eq!(boolean(neither), None, "{neither}");
        }
    }

    #[test]
    fn argv_is_rendered_from_typed_values_once() {
        let mut args = StepArgs::new(Step::Test);
        args.dir = Some("svc".into());
        args.set("go_args", Value::List(vec!["-run".into(), "Test A".into()]))
            .unwrap();
        args.set("packages", Value::List(vec!["./...".into()]))
            .unwrap();
        args.set("memprofile", Value::Switch(true)).unwrap();
        args.set("top", Value::One("5".into())).unwrap();
        assert!(args.set("top", Value::List(vec![])).is_err());
        assert!(args.set("nope", Value::Switch(true)).is_err());
        let words: Vec<String> = args
            .argv()
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            words,
            [
                "--dir=svc",
                "--memprofile",
                "--top=5",
                "./...",
                "--",
                "-run",
                "Test A"
            ]
        );
        let mut build = StepArgs::new(Step::Build);
        build.dir = Some(".".into());
        build.set("trimpath", Value::Switch(false)).unwrap();
        build
            .set(
                "targets",
                Value::List(vec!["linux/amd64".into(), "linux/arm64".into()]),
            )
            .unwrap();
        let words: Vec<String> = build
            .argv()
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            words,
            [
                "--target=linux/amd64",
                "--target=linux/arm64",
                "--no-trimpath",
                "."
            ]
        );
    }

    #[test]
    fn the_tables_are_the_steps_with_settings_in_run_order() {
        let names: Vec<&str> = tables().map(Step::name).collect();
        assert_eq!(names, ["env", "build", "image", "probe", "test", "report"]);
        assert_eq!(table("probe"), Some(Step::Probe));
        assert_eq!(table("inspect"), None);
    }
}
