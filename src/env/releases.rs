//! Go's release history and support window: the official JSON feed
//! (`https://go.dev/dl/?mode=json&include=all`) when it can be reached, a snapshot compiled
//! into goready otherwise, or a file/URL the user names. Only facts live here; the verdict on
//! the running toolchain is `rules::go_supported`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::go_version::GoVersion;
use crate::http::{self, Endpoint, Request, Tls};

/// The official release feed, every release including unsupported and unstable ones.
pub const FEED_URL: &str = "https://go.dev/dl/?mode=json&include=all";

/// How long goready waits for a release feed. CI machines without internet access should
/// fall back to the snapshot quickly rather than stall the job.
pub const FEED_TIMEOUT: Duration = Duration::from_secs(5);

/// The feed with every file of every release is a few megabytes; anything far larger is not
/// a release feed.
const FEED_LIMIT: usize = 64 << 20;

/// The snapshot compiled into goready (see `src/env/releases-snapshot.json` for how it was
/// made).
const SNAPSHOT: &str = include_str!("releases-snapshot.json");

/// One entry of the feed. Other fields (`files`) are ignored.
#[derive(Debug, Clone, Deserialize)]
struct FeedEntry {
    version: String,
    #[serde(default)]
    stable: bool,
}

/// The compiled-in snapshot: the feed's entries plus the day they were gathered.
#[derive(Debug, Deserialize)]
struct Snapshot {
    date: String,
    releases: Vec<FeedEntry>,
}

/// One release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// Its version.
    pub version: GoVersion,
    /// The feed's `stable` flag; rc and beta builds are never stable.
    pub stable: bool,
}

/// Where the release data came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Fetched from a URL (the official feed, or `--releases URL`).
    Url(String),
    /// Read from `--releases FILE`.
    File(String),
    /// The snapshot compiled into goready, gathered on `date` (YYYY-MM-DD), `age_days` old;
    /// `fallback_reason` says why the live feed was not used.
    Snapshot {
        /// The day the snapshot was gathered.
        date: String,
        /// Days between that day and today (0 when the clock is behind it).
        age_days: i64,
        /// Why the official feed was not used (unreachable, or `--offline`).
        fallback_reason: String,
    },
}

impl Source {
    /// One phrase for messages: `release feed https://…`, `offline snapshot of 2026-11-26
    /// (3 days old; go.dev unreachable: …)`.
    pub fn describe(&self) -> String {
        match self {
            Source::Url(url) => format!("release feed {url}"),
            Source::File(path) => format!("release file {path}"),
            Source::Snapshot {
                date,
                age_days,
                fallback_reason,
            } => format!(
                "goready's built-in release snapshot of {date} ({} old; {fallback_reason})",
                plural(*age_days, "day")
            ),
        }
    }
}

/// Every known release and where the list came from.
#[derive(Debug, Clone)]
pub struct ReleaseData {
    /// Every release the source lists, in no particular order.
    pub releases: Vec<Release>,
    /// Where they came from.
    pub source: Source,
    /// Entries whose version goready could not read (reported, never fatal).
    pub unreadable: usize,
}

/// Which release data to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The official feed, else the snapshot.
    Default,
    /// The snapshot only (`--offline`).
    Offline,
    /// `--releases FILE|URL`: this source or an error, never a silent fallback.
    Explicit(String),
}

/// Loads release data as `choice` says. An explicit source that cannot be read is an error;
/// the default source falls back to the snapshot.
pub fn load(choice: &Choice) -> anyhow::Result<ReleaseData> {
    match choice {
        Choice::Offline => snapshot("--offline: the release feed was not fetched".into()),
        Choice::Default => match fetch(FEED_URL) {
            Ok(body) => parse_feed(&body, Source::Url(FEED_URL.to_string()))
                .or_else(|e| snapshot(format!("go.dev answered something unusable: {e:#}"))),
            Err(e) => snapshot(format!("go.dev unreachable: {e:#}")),
        },
        Choice::Explicit(src) if src.starts_with("http://") || src.starts_with("https://") => {
            let body = fetch(src).with_context(|| format!("cannot fetch --releases {src}"))?;
            parse_feed(&body, Source::Url(src.clone()))
                .with_context(|| format!("--releases {src} is not a Go release feed"))
        }
        Choice::Explicit(path) => {
            let body = std::fs::read_to_string(Path::new(path))
                .with_context(|| format!("cannot read --releases {path}"))?;
            parse_feed(&body, Source::File(path.clone()))
                .with_context(|| format!("--releases {path} is not a Go release feed"))
        }
    }
}

/// Fetches a URL with goready's short timeout, over goready's HTTP stack (system roots).
fn fetch(url: &str) -> anyhow::Result<String> {
    let ep = Endpoint::parse(url, &Tls::default()).map_err(anyhow::Error::msg)?;
    let target = if ep.path.is_empty() { "/" } else { &ep.path };
    let mut req = Request::get(target, FEED_TIMEOUT);
    req.max_body = FEED_LIMIT;
    let resp = http::send(&ep, &req)?;
    if !(200..300).contains(&resp.status) {
        bail!("HTTP {}", resp.status);
    }
    String::from_utf8(resp.body).context("the answer is not UTF-8 text")
}

/// Parses the feed's JSON (an array of `{version, stable, ...}`).
pub fn parse_feed(body: &str, source: Source) -> anyhow::Result<ReleaseData> {
    let entries: Vec<FeedEntry> =
        serde_json::from_str(body).context("expected a JSON array of {version, stable}")?;
    from_entries(entries, source)
}

fn from_entries(entries: Vec<FeedEntry>, source: Source) -> anyhow::Result<ReleaseData> {
    let mut releases = Vec::with_capacity(entries.len());
    let mut unreadable = 0;
    for e in entries {
        match GoVersion::parse_release(&e.version) {
            // A pre-release is never stable, whatever the entry claims.
            Some(version) => releases.push(Release {
                version,
                stable: e.stable && !version.is_prerelease(),
            }),
            None => unreadable += 1,
        }
    }
    if !releases.iter().any(|r| r.stable) {
        bail!("it lists no stable Go release");
    }
    Ok(ReleaseData {
        releases,
        source,
        unreadable,
    })
}

fn snapshot(fallback_reason: String) -> anyhow::Result<ReleaseData> {
    let snap: Snapshot =
        serde_json::from_str(SNAPSHOT).context("goready's built-in release snapshot")?;
    let age_days = match (days_from_iso_date(&snap.date), today()) {
        (Some(then), Some(now)) => (now - then).max(0),
        _ => 0,
    };
    from_entries(
        snap.releases,
        Source::Snapshot {
            date: snap.date,
            age_days,
            fallback_reason,
        },
    )
}

/// The facts the support verdict needs, computed from stable releases only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The two newest minor lines with a stable release, newest first.
    pub supported: Vec<(u32, u32)>,
    /// The newest stable release of every line.
    pub newest_of_line: BTreeMap<(u32, u32), GoVersion>,
    /// The newest stable release overall.
    pub newest: GoVersion,
}

impl ReleaseData {
    /// The support window. `None` only when there is no stable release (never for data that
    /// [`load`] returned).
    pub fn window(&self) -> Option<Window> {
        let mut newest_of_line: BTreeMap<(u32, u32), GoVersion> = BTreeMap::new();
        for r in self.releases.iter().filter(|r| r.stable) {
            let slot = newest_of_line.entry(r.version.line()).or_insert(r.version);
            if r.version > *slot {
                *slot = r.version;
            }
        }
        let newest = *newest_of_line.values().max()?;
        let supported = newest_of_line.keys().rev().take(2).copied().collect();
        Some(Window {
            supported,
            newest_of_line,
            newest,
        })
    }

    /// The snapshot's age in days, when the data is the snapshot.
    pub fn age_days(&self) -> Option<i64> {
        match &self.source {
            Source::Snapshot { age_days, .. } => Some(*age_days),
            _ => None,
        }
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (the proleptic Gregorian calendar).
pub fn days_from_iso_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn today() -> Option<i64> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some((secs / 86_400) as i64)
}

/// `1 day`, `3 days`.
pub fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(entries: &[(&str, bool)]) -> ReleaseData {
        let json: Vec<_> = entries
            .iter()
            .map(|(v, s)| serde_json::json!({"version": v, "stable": s, "files": []}))
            .collect();
        parse_feed(
            &serde_json::to_string(&json).unwrap(),
            Source::File("t".into()),
        )
        .unwrap()
    }

    #[test]
    fn unstable_entries_never_define_the_window() {
        let d = data(&[
            ("go1.28rc1", false),
            ("go1.27beta2", true), // a feed claiming a beta is stable is not believed
            ("go1.26.3", true),
            ("go1.26.1", true),
            ("go1.25.9", true),
            ("go1.24.13", true),
        ]);
        let w = d.window().unwrap();
        assert_eq!(w.supported, vec![(1, 26), (1, 25)]);
        assert_eq!(w.newest.to_string(), "go1.26.3");
        assert_eq!(w.newest_of_line[&(1, 24)].to_string(), "go1.24.13");
    }

    #[test]
    fn a_feed_without_stable_releases_is_refused() {
        let err = parse_feed(
            r#"[{"version":"go1.30rc1","stable":false}]"#,
            Source::File("x".into()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no stable"), "{err}");
        assert!(parse_feed("<html>", Source::File("x".into())).is_err());
        assert!(parse_feed(r#"{"version":"go1.2"}"#, Source::File("x".into())).is_err());
    }

    #[test]
    fn unreadable_versions_are_counted_not_fatal() {
        let d = data(&[("go1.26.1", true), ("gox", true), ("", false)]);
        assert_eq!(d.unreadable, 2);
        assert_eq!(d.releases.len(), 1);
    }

    #[test]
    fn the_snapshot_is_consistent() {
        let d = snapshot("test".into()).unwrap();
        assert_eq!(d.unreadable, 0, "every snapshot version parses");
        let w = d.window().unwrap();
        assert_eq!(w.supported.len(), 2);
        // Go's history: 1.20's last patch was go1.20.14; 1.0 through 1.20 are all present.
        assert_eq!(w.newest_of_line[&(1, 20)].to_string(), "go1.20.14");
        for minor in 0..=20 {
            assert!(w.newest_of_line.contains_key(&(1, minor)), "go1.{minor}");
        }
        // Newest first, and every line's patches are gapless from .0 (Go numbers patch
        // releases consecutively; go1.7.2 was tagged but never released).
        let mut by_line: BTreeMap<(u32, u32), Vec<u32>> = BTreeMap::new();
        for r in d.releases.iter().filter(|r| r.stable) {
            by_line
                .entry(r.version.line())
                .or_default()
                .push(r.version.patch.unwrap());
        }
        for (line, mut patches) in by_line {
            patches.sort();
            let expected: Vec<u32> = (0..=*patches.last().unwrap())
                .filter(|p| !(line == (1, 7) && *p == 2))
                .collect();
            assert_eq!(patches, expected, "go1.{}", line.1);
        }
        let Source::Snapshot { date, .. } = &d.source else {
            panic!()
        };
        assert!(days_from_iso_date(date).is_some(), "{date}");
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_iso_date("1970-01-01"), Some(0));
        assert_eq!(days_from_iso_date("2000-03-01"), Some(11_017));
        assert_eq!(days_from_iso_date("2026-11-26"), Some(20_783));
        assert_eq!(days_from_iso_date("2026-13-01"), None);
        assert_eq!(days_from_iso_date("yesterday"), None);
    }
}
