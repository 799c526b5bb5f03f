//! `goready.toml`: what users configure. Rule ids are the unit: each can get another severity
//! or be turned off, and every step applies that the same way (in `cli::finish`), so a merged
//! report and a single step agree. Step settings (`[build]`, `[probe]`, …) are read by
//! `goready check`; every one of them is also a flag and a `GOREADY_*` variable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::model::{Report, Severity};
use crate::rules;

/// The file goready looks for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "goready.toml";

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
    /// Step tables (`[env]`, `[build]`, `[probe]`, `[test]`, `[report]`), kept raw.
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

    /// Parses goready.toml text and validates the rule ids.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        for id in config.rules.keys() {
            if rules::find(id).is_none() {
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
    pub fn table(&self, step: &str) -> Option<&toml::Value> {
        self.steps.get(step)
    }

    /// Applies `[rules]` to a report: drops checks of rules set to `off` and sets the
    /// severity of the others.
    pub fn apply(&self, report: &mut Report) {
        if self.rules.is_empty() {
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

/// The known rule id closest to `id` (by edit distance), if any is close.
fn closest_rule(id: &str) -> Option<&'static str> {
    rules::all()
        .map(|r| (edit_distance(id, r.id), r.id))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, id)| id)
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
        assert!(config.table("build").is_some());
        let mut report = Report::new(vec![
            Check::of(&rules::BINARY_STRIPPED).fail("symbols"),
            Check::of(&rules::BINARY_STATIC).fail("dynamic"),
            Check::of(&rules::BINARY_DWARF).fail("dwarf"),
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
