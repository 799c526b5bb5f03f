//! goready.toml's `[vuln]` table, shared by `goready vuln`, `build` and `check`:
//!
//! ```toml
//! [vuln]
//! db = "https://vuln.go.dev"   # or a v1 folder, a folder of OSV files, vulndb.zip
//! max_age = "7d"               # warn when the database is older (d, h, m, s units)
//! required = false             # true: an unreachable database is an error in build/check
//! scan = true                  # false: build and check do not scan
//! cache = ".cache/vulndb"     # where fetched databases are kept (as written, no ~); "off"
//! ignore = [{ id = "GO-2022-1059", reason = "input is trusted", until = "2027-01-31" }]
//! ```

use std::time::Duration;

use serde::Deserialize;

/// `[vuln]` as `goready init`'s starter lists it: each key's help and its line (a default, or
/// an example marked so). The table has no flag form (`ignore` is a list of tables), so it is
/// written here rather than from `crate::settings::TABLE`; a test uncomments each line and reads
/// it back through [`Settings::from_table`].
pub const STARTER: [(&str, &str); 6] = [
    (
        "The vulnerability database: an http(s) URL of the Go vulnerability database's v1 API, \
         a v1 folder (what govulncheck -db file:///DIR reads), a folder of OSV .json files, or \
         vulndb.zip read as it is (goready vuln --db, GOREADY_VULN_DB)",
        "db = \"https://vuln.go.dev\"",
    ),
    (
        "Warn when the database's `modified` time is older than this (d, h, m or s)",
        "max_age = \"7d\"",
    ),
    (
        "true: an unreachable database fails build and check; false: their scan is a skipped \
         check that says why",
        "required = false",
    ),
    (
        "false: build and check do not scan their binaries for known vulnerabilities",
        "scan = true",
    ),
    (
        "Where fetched databases are kept between runs, as written (no ~), relative to where \
         goready runs; \"off\" fetches every time (--cache, GOREADY_VULN_CACHE) [default: \
         $XDG_CACHE_HOME/goready/vulndb, else ~/.cache/goready/vulndb]",
        "cache = \".cache/goready-vulndb\"  # example",
    ),
    (
        "Accepted advisories (by GO- id or an alias): the reason is shown with the suppressed \
         finding; past `until` (the last day it holds, UTC) the finding fails again",
        "ignore = [{ id = \"GO-2022-1059\", reason = \"input is trusted\", until = \"2027-01-31\" }]  # example",
    ),
];

/// How long a database may be before the report warns, unless `max_age` says otherwise.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 86_400);

/// One accepted advisory (`[vuln] ignore`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ignore {
    /// `GO-YYYY-NNNN`, or one of its aliases (CVE, GHSA).
    pub id: String,
    /// Why the team accepts it; shown with the suppressed finding.
    pub reason: String,
    /// The last day (`YYYY-MM-DD`, UTC) it holds; after it the finding fails again.
    #[serde(default)]
    pub until: Option<String>,
}

impl Ignore {
    /// Whether the suppression still holds at `now_unix` (through the whole `until` day).
    pub fn in_force(&self, now_unix: i64) -> bool {
        match self.until.as_deref() {
            None => true,
            Some(day) => super::time::date_to_unix(day).is_some_and(|t| now_unix < t + 86_400),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    db: Option<String>,
    max_age: Option<toml::Value>,
    required: Option<bool>,
    scan: Option<bool>,
    cache: Option<String>,
    #[serde(default)]
    ignore: Vec<Ignore>,
}

/// The `[vuln]` settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where the database is (`--db` wins); None: <https://vuln.go.dev>.
    pub db: Option<String>,
    /// Warn when the database's `modified` is older than this.
    pub max_age: Duration,
    /// An unreachable database is an error (else a skipped check) in `build` and `check`.
    pub required: bool,
    /// `build` and `check` scan their binaries.
    pub scan: bool,
    /// Where fetched databases are cached (`off`: nowhere); None: goready's default folder.
    /// `GOREADY_VULN_CACHE` and `goready vuln --cache` win over it.
    pub cache: Option<String>,
    /// Accepted advisories.
    pub ignore: Vec<Ignore>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            db: None,
            max_age: DEFAULT_MAX_AGE,
            required: false,
            scan: true,
            cache: None,
            ignore: Vec::new(),
        }
    }
}

/// `7d`, `36h`, `90m` or a number of days.
fn parse_age(v: &toml::Value) -> Result<Duration, String> {
    match v {
        toml::Value::Integer(days) if *days >= 0 => Ok(Duration::from_secs(*days as u64 * 86_400)),
        toml::Value::String(s) => match s.trim().strip_suffix('d') {
            Some(days) => days
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| Duration::from_secs_f64(d * 86_400.0))
                .ok_or_else(|| format!("[vuln] max_age {s:?}: write it like 7d, 36h or 90m")),
            None => crate::duration::parse(s).map_err(|e| format!("[vuln] max_age: {e}")),
        },
        other => Err(format!(
            "[vuln] max_age must be a duration like \"7d\" or a number of days, not {other}"
        )),
    }
}

impl Settings {
    /// The cache `cache` names: a folder, `off`, or (None) goready's default.
    pub fn cache_of(cache: Option<&str>) -> super::db::Cache {
        match cache {
            None => super::db::Cache::Default,
            Some("off") => super::db::Cache::Off,
            Some(dir) => super::db::Cache::At(dir.into()),
        }
    }

    /// Reads the `[vuln]` table (None: the defaults). Unknown keys, a suppression without a
    /// reason or with a malformed `until` are errors that say what to write.
    pub fn from_table(table: Option<&toml::Value>) -> Result<Settings, String> {
        let Some(table) = table else {
            return Ok(Settings::default());
        };
        let raw: Raw = table
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| format!("[vuln]: {}", e.message()))?;
        let max_age = match &raw.max_age {
            Some(age) => parse_age(age)?,
            None => DEFAULT_MAX_AGE,
        };
        for ig in &raw.ignore {
            if ig.id.trim().is_empty() {
                return Err("[vuln] ignore: an entry has an empty id".into());
            }
            if ig.reason.trim().is_empty() {
                return Err(format!(
                    "[vuln] ignore {}: give a reason (reason = \"…\"), it is shown with the finding",
                    ig.id
                ));
            }
            if let Some(until) = &ig.until
                && super::time::date_to_unix(until).is_none()
            {
                return Err(format!(
                    "[vuln] ignore {}: until = {until:?} is not a date; write YYYY-MM-DD",
                    ig.id
                ));
            }
        }
        Ok(Settings {
            db: raw.db.filter(|d| !d.trim().is_empty()),
            max_age,
            required: raw.required.unwrap_or(false),
            scan: raw.scan.unwrap_or(true),
            cache: raw.cache.filter(|c| !c.trim().is_empty()),
            ignore: raw.ignore,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, String> {
        let v: toml::Table = toml::from_str(text).unwrap();
        Settings::from_table(v.get("vuln"))
    }

    #[test]
    fn reads_every_key_and_defaults_the_rest() {
        let s = parse(
            r#"[vuln]
db = "/srv/vulndb.zip"
max_age = "3d"
required = true
ignore = [{ id = "GO-2022-1059", reason = "input is trusted", until = "2027-01-31" }]
"#,
        )
        .unwrap();
        assert_eq!(s.db.as_deref(), Some("/srv/vulndb.zip"));
        assert_eq!(s.max_age, Duration::from_secs(3 * 86_400));
        assert!(s.required && s.scan);
        assert_eq!(s.ignore[0].until.as_deref(), Some("2027-01-31"));
        assert_eq!(parse("").unwrap(), Settings::default());
        assert_eq!(
            parse("[vuln]\nmax_age = 2").unwrap().max_age,
            Duration::from_secs(2 * 86_400)
        );
        assert_eq!(
            parse("[vuln]\nmax_age = \"36h\"").unwrap().max_age,
            Duration::from_secs(36 * 3600)
        );
    }

    #[test]
    fn bad_tables_say_what_to_write() {
        for (text, says) in [
            ("[vuln]\ndbb = \"x\"", "unknown field"),
            (
                "[vuln]\nignore = [{ id = \"GO-1\", reason = \"\" }]",
                "give a reason",
            ),
            (
                "[vuln]\nignore = [{ id = \"GO-1\", reason = \"r\", until = \"soon\" }]",
                "YYYY-MM-DD",
            ),
            ("[vuln]\nmax_age = \"week\"", "max_age"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn a_suppression_holds_through_its_last_day() {
        let ig = Ignore {
            id: "GO-1".into(),
            reason: "r".into(),
            until: Some("2027-01-31".into()),
        };
        let day = super::super::time::date_to_unix("2027-01-31").unwrap();
        assert!(ig.in_force(day + 86_399));
        assert!(!ig.in_force(day + 86_400));
    }
}
