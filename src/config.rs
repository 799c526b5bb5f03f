//! `goready.toml`: what users configure. Rule ids are the unit: each can get another severity
//! or be turned off, and every step applies that the same way (where the CLI finishes a step), so a merged
//! report and a single step agree.
//!
//! Step settings (`[env]`, `[build]`, `[image]`, `[probe]`, `[test]`, `[report]`: the steps with rows in
//! [`crate::settings::TABLE`]) are read by `goready check` and, for `[report]`, by `goready
//! report`. [`Settings`] layers the file, the `GOREADY_<STEP>_<KEY>` variables, `--set
//! step.key=value` and the flags given, and [`Settings::step_args`] checks a step's settings
//! against the table (unknown keys, lists where one value goes, booleans) into the typed
//! [`StepArgs`] that `check` plans with; the step's own parser (its flags, in the CLI) then
//! judges the values, so its messages are the step's own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;

use crate::model::{Report, Severity};
use crate::registry;
use crate::settings::{self, Form, StepArgs, Value};
use crate::step::Step;

/// The file goready looks for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "goready.toml";

/// Tables read whole by the code they configure rather than layered as a step's flags:
/// `[vuln]` (database, age, suppressions; `crate::vuln::Settings`), which `vuln`, `build`
/// and `check` share. Its `ignore` list of tables has no flag form, so it is no row of the
/// settings table.
pub const OWN_TABLES: [&str; 1] = ["vuln"];

/// The top-level keys of goready.toml that are not step tables.
const TOP_LEVEL: [&str; 2] = ["fail_on", "rules"];

/// Short `GOREADY_*` variables kept for the GitHub Action's inputs: each is another name for
/// one step setting (the `GOREADY_<STEP>_<KEY>` form wins when both are set).
pub const ENV_ALIASES: [(&str, Step, &str); 4] = [
    ("GOREADY_TARGETS", Step::Build, "targets"),
    ("GOREADY_CGO", Step::Build, "cgo"),
    ("GOREADY_VERSION", Step::Build, "version"),
    ("GOREADY_IMAGE", Step::Image, "archive"),
];

/// What a rule is set to in `[rules]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSetting {
    /// Drop the rule's checks from every report.
    Off,
    /// Report failures as notices.
    Notice,
    /// Report failures as warnings.
    Warning,
    /// Report failures as errors.
    Error,
}

/// The parts of goready.toml every step reads. Unknown top-level tables are kept for
/// `goready check` (see [`Config::table`]).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    /// Default for `--fail-on`.
    #[serde(default)]
    pub fail_on: Option<Severity>,
    /// Per-rule severity or `off`, keyed by rule id.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleSetting>,
    /// Step tables (`[env]`, `[build]`, `[image]`, `[probe]`, `[test]`, `[report]`), kept raw.
    #[serde(flatten)]
    pub steps: BTreeMap<String, toml::Value>,
    /// Where the file was read from (None: no file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

impl Config {
    /// Reads `path`, or `./goready.toml` when `path` is None and that file exists; no file is
    /// an empty configuration. Unknown rule ids are an error that names the closest id.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from(DEFAULT_FILE);
                if !default.is_file() {
                    return Ok(Config::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut config = Config::parse(&text).with_context(|| format!("in {}", path.display()))?;
        config.path = Some(path);
        Ok(config)
    }

    /// Parses goready.toml text and validates the rule ids and the top-level keys (the keys
    /// inside step tables are validated by the step they belong to, in `goready check`).
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        for (key, value) in &config.steps {
            if settings::table(key).is_none() && !OWN_TABLES.contains(&key.as_str()) {
                let known: Vec<&str> = TOP_LEVEL
                    .iter()
                    .copied()
                    .chain(settings::tables().map(Step::name))
                    .chain(OWN_TABLES.iter().copied())
                    .collect();
                let hint = closest(key, known.iter().copied())
                    .map(|c| format!(" (did you mean {c:?}?)"))
                    .unwrap_or_default();
                let tables: Vec<String> = settings::tables()
                    .map(Step::name)
                    .chain(OWN_TABLES.iter().copied())
                    .map(|s| format!("[{s}]"))
                    .collect();
                bail!(
                    "unknown key {key:?}{hint}; goready.toml has fail_on, [rules] and the step \
                     tables {}",
                    tables.join(", ")
                );
            }
            if !value.is_table() {
                bail!("{key} must be a table: write [{key}] and its settings under it");
            }
        }
        for id in config.rules.keys() {
            if registry::find(id).is_none() {
                let hint = closest_rule(id)
                    .map(|c| format!(" (did you mean {c:?}?)"))
                    .unwrap_or_default();
                bail!(
                    "[rules] names unknown rule {id:?}{hint}; the ids are listed in docs/checks.md"
                );
            }
        }
        Ok(config)
    }

    /// A step's table (`[build]`, …), if the file has one.
    pub fn table(&self, step: Step) -> Option<&toml::Value> {
        self.steps.get(step.name())
    }

    /// Whether [`Config::apply`] can change a report (some `[rules]` are set).
    pub fn changes_reports(&self) -> bool {
        !self.rules.is_empty()
    }

    /// Applies `[rules]` to a report: drops checks of rules set to `off` and sets the
    /// severity of the others.
    pub fn apply(&self, report: &mut Report) {
        if !self.changes_reports() {
            return;
        }
        report
            .checks
            .retain(|c| self.rules.get(&c.id) != Some(&RuleSetting::Off));
        for check in &mut report.checks {
            check.severity = match self.rules.get(&check.id) {
                Some(RuleSetting::Notice) => Severity::Notice,
                Some(RuleSetting::Warning) => Severity::Warning,
                Some(RuleSetting::Error) => Severity::Error,
                Some(RuleSetting::Off) | None => continue,
            };
        }
    }
}

/// Where a step setting came from: every error about a setting names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A key of a step table in this goready.toml.
    File(PathBuf),
    /// This environment variable.
    Env(String),
    /// `--set step.key=value`.
    Set,
    /// This flag of `goready check` (e.g. `--target`).
    Flag(String),
}

/// One step setting and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The value as TOML has it (variables and `--set` give strings, or arrays written `[…]`).
    pub value: toml::Value,
    /// Where it was set.
    pub source: Source,
}

/// Names a setting the way the user wrote it: `goready.toml [build] targets`,
/// `GOREADY_BUILD_TARGETS`, `--set build.targets`, `--target`.
pub fn describe(step: Step, key: &str, source: &Source) -> String {
    match source {
        Source::File(path) => format!("{} [{step}] {key}", path.display()),
        Source::Env(name) => name.clone(),
        Source::Set => format!("--set {step}.{key}"),
        Source::Flag(flag) => flag.clone(),
    }
}

/// The step settings after layering: goready.toml, then `GOREADY_*` variables, then
/// `--set`, then `goready check`'s own flags — each layer replacing a key's value whole (a
/// list from a variable replaces the file's list; it is not appended to).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    steps: BTreeMap<Step, BTreeMap<String, Setting>>,
}

/// A setting's key as written in a table, a variable (`READY_TIMEOUT`) or `--set`
/// (`ready-timeout` is accepted too).
fn normalize_key(key: &str) -> String {
    key.trim().to_ascii_lowercase().replace('-', "_")
}

/// A value given as text (a variable, `--set`): a TOML array when written `[…]`, else the
/// text itself; the step's parser reads numbers, durations and booleans from text.
pub fn text_value(text: &str) -> toml::Value {
    if text.trim_start().starts_with('[') {
        if let Ok(mut table) = toml::from_str::<toml::Table>(&format!("v = {text}")) {
            if let Some(v) = table.remove("v") {
                return v;
            }
        }
    }
    toml::Value::String(text.to_string())
}

impl Settings {
    /// The step tables of `config` (validated as tables by [`Config::parse`]).
    pub fn from_config(config: &Config) -> Settings {
        let path = config
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
        let mut layered = Settings::default();
        for step in settings::tables() {
            if let Some(toml::Value::Table(table)) = config.table(step) {
                for (key, value) in table {
                    layered.set(step, key, value.clone(), Source::File(path.clone()));
                }
            }
        }
        layered
    }

    /// Layers `GOREADY_<STEP>_<KEY>` variables (`GOREADY_PROBE_READY_TIMEOUT=10s`) and the
    /// [`ENV_ALIASES`] over what is there. Empty values count as unset; variables of any other
    /// form (`GOREADY_FAIL_ON`, `GOREADY_GO`, …) are not step settings and are left alone.
    pub fn layer_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        let mut aliases = Vec::new();
        let mut specific = Vec::new();
        for (name, value) in vars {
            if value.is_empty() {
                continue;
            }
            if let Some((_, step, key)) = ENV_ALIASES.iter().find(|(n, ..)| *n == name) {
                aliases.push((*step, key.to_string(), value, name));
                continue;
            }
            let Some(rest) = name.strip_prefix("GOREADY_") else {
                continue;
            };
            for step in settings::tables() {
                let prefix = format!("{}_", step.name().to_ascii_uppercase());
                if let Some(key) = rest.strip_prefix(&prefix).filter(|k| !k.is_empty()) {
                    specific.push((step, key.to_string(), value.clone(), name.clone()));
                }
            }
        }
        // Sorted, so that the outcome does not depend on the environment's order.
        aliases.sort();
        specific.sort();
        for (step, key, value, name) in aliases.into_iter().chain(specific) {
            self.set(step, &key, text_value(&value), Source::Env(name));
        }
    }

    /// Layers `--set step.key=value` flags; a later one wins.
    pub fn layer_sets(&mut self, sets: &[String]) -> anyhow::Result<()> {
        for set in sets {
            let usage = || {
                anyhow!("--set {set:?}: write step.key=value, e.g. --set probe.ready_timeout=10s")
            };
            let (path, value) = set.split_once('=').ok_or_else(usage)?;
            let (step, key) = path.split_once('.').ok_or_else(usage)?;
            let Some(step) = settings::table(step.trim()) else {
                let names: Vec<&str> = settings::tables().map(Step::name).collect();
                bail!(
                    "--set {set:?}: {:?} is not a step with settings; those are {}",
                    step.trim(),
                    names.join(", ")
                );
            };
            if key.trim().is_empty() {
                return Err(usage());
            }
            self.set(step, key, text_value(value), Source::Set);
        }
        Ok(())
    }

    /// Sets `step.key` (replacing a value from a lower layer).
    pub fn set(&mut self, step: Step, key: &str, value: toml::Value, source: Source) {
        self.steps
            .entry(step)
            .or_default()
            .insert(normalize_key(key), Setting { value, source });
    }

    /// The setting of `step.key`, if any layer has one.
    pub fn get(&self, step: Step, key: &str) -> Option<&Setting> {
        self.steps.get(&step)?.get(&normalize_key(key))
    }

    /// Removes `step.key` (a value `goready check` takes over, such as `{bin}` resolved).
    pub fn take(&mut self, step: Step, key: &str) -> Option<Setting> {
        self.steps.get_mut(&step)?.remove(&normalize_key(key))
    }

    /// `step`'s settings checked against its rows in [`settings::TABLE`], typed: a key is a
    /// flag's argument id (`targets` is `--target`, `ready_timeout` is `--ready-timeout`).
    /// Switches take booleans (or `true`/`1`/`yes`/`on` … as text), lists take a list or one
    /// value, the others one string or number. Keys `goready check` sets itself are refused
    /// with the reason. Errors name the setting and where it was set.
    pub fn step_args(&self, step: Step) -> anyhow::Result<StepArgs> {
        let mut args = StepArgs::new(step);
        let Some(table) = self.steps.get(&step) else {
            return Ok(args);
        };
        let reserved = settings::reserved(step);
        for (key, setting) in table {
            let at = describe(step, key, &setting.source);
            if let Some((_, why)) = reserved.iter().find(|(k, _)| k == key) {
                bail!("{at}: {key} cannot be set for `goready check`: {why}");
            }
            let Some(row) = settings::find(step, key) else {
                let names: Vec<&str> = settings::rows(step).map(|r| r.key).collect();
                let hint = closest(key, names.iter().copied())
                    .map(|c| format!(" (did you mean {c:?}?)"))
                    .unwrap_or_default();
                bail!(
                    "{at}: [{step}] has no setting {key:?}{hint}; its settings are {}",
                    names.join(", ")
                );
            };
            let value = &setting.value;
            let typed = match row.form {
                Form::Switch | Form::Negatable(_) => {
                    Value::Switch(truth(value).ok_or_else(|| anyhow!("{at}: give true or false"))?)
                }
                Form::List | Form::Positional | Form::Trailing => match value {
                    toml::Value::Array(items) => Value::List(
                        items
                            .iter()
                            .map(|v| {
                                scalar(v).ok_or_else(|| {
                                    anyhow!("{at}: list items must be strings or numbers, not {v}")
                                })
                            })
                            .collect::<anyhow::Result<Vec<_>>>()?,
                    ),
                    v => Value::List(vec![one_value(v, row, &at)?]),
                },
                Form::One => match value {
                    toml::Value::Array(_) => bail!("{at}: takes one value, not a list"),
                    v => Value::One(one_value(v, row, &at)?),
                },
            };
            args.set(row.key, typed).map_err(anyhow::Error::msg)?;
        }
        Ok(args)
    }
}

/// One value of a setting, as text.
fn one_value(v: &toml::Value, row: &settings::Row, at: &str) -> anyhow::Result<String> {
    scalar(v).ok_or_else(|| {
        let example = if row.value.is_empty() {
            "a value"
        } else {
            row.value
        };
        anyhow!("{at}: give {example} as a string or number, not {v}")
    })
}

fn truth(value: &toml::Value) -> Option<bool> {
    match value {
        toml::Value::Boolean(b) => Some(*b),
        toml::Value::String(s) => settings::boolean(s),
        _ => None,
    }
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Datetime(d) => Some(d.to_string()),
        toml::Value::Boolean(_) | toml::Value::Array(_) | toml::Value::Table(_) => None,
    }
}

/// The known rule id closest to `id` (by edit distance), if any is close.
fn closest_rule(id: &str) -> Option<&'static str> {
    closest(id, registry::all().map(|r| r.id))
}

/// The candidate closest to `word` (by edit distance), if any is close.
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Check, Status};

    #[test]
    fn rules_table_changes_severity_and_turns_rules_off() {
        let config = Config::parse(
            r#"
            fail_on = "warning"
            [rules]
            "binary.stripped" = "off"
            "binary.static" = "error"
            [build]
            targets = ["linux/amd64"]
            "#,
        )
        .unwrap();
        assert_eq!(config.fail_on, Some(Severity::Warning));
        assert!(config.table(Step::Build).is_some());
        let mut report = Report::new(vec![
            Check::of(&registry::BINARY_STRIPPED).fail("symbols"),
            Check::of(&registry::BINARY_STATIC).fail("dynamic"),
            Check::of(&registry::BINARY_DWARF).fail("dwarf"),
        ]);
        config.apply(&mut report);
        let ids: Vec<_> = report.checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["binary.static", "binary.dwarf"]);
        assert_eq!(report.checks[0].severity, Severity::Error);
        assert_eq!(report.checks[1].severity, Severity::Notice, "untouched");
        assert_eq!(report.checks[0].status, Status::Fail);
    }

    #[test]
    fn unknown_rule_ids_are_refused_with_a_suggestion() {
        let err = Config::parse("[rules]\n\"binary.statik\" = \"off\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("binary.static"), "{err}");
        let err = Config::parse("[rules]\n\"binary.static\" = \"fatal\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("fatal"), "{err:#}");
    }

    #[test]
    fn top_level_keys_and_set_flags_are_checked() {
        let err = Config::parse("[biuld]\ntargets = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean \"build\""), "{err}");
        let err = Config::parse("build = 3\n").unwrap_err().to_string();
        assert!(err.contains("must be a table"), "{err}");
        let mut s = Settings::default();
        for bad in ["probe.exec", "exec=svc", "deploy.x=1", "build.=1"] {
            assert!(s.layer_sets(&[bad.to_string()]).is_err(), "{bad}");
        }
        s.layer_sets(&["build.ready-timeout=1s".into()]).unwrap();
        assert!(
            s.get(Step::Build, "ready_timeout").is_some(),
            "dashes read as underscores"
        );
    }

    #[test]
    fn no_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        assert!(
            Config::load(Some(&missing)).is_err(),
            "an explicit path must exist"
        );
        let ok = dir.path().join("goready.toml");
        std::fs::write(&ok, "[rules]\n").unwrap();
        assert_eq!(Config::load(Some(&ok)).unwrap().path, Some(ok));
    }
}
