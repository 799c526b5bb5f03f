//! The bytes of a v1 database, read into facts: `index/db.json`, `index/modules.json`, one
//! `ID/<id>.json`, and gzip with a cap on what it inflates to. Pure functions over byte
//! slices, so the fuzz target (`fuzz/fuzz_targets/vulndb.rs`) drives them directly.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde::Deserialize;

use crate::vuln::osv::{DbIndex, Entry, ModuleIndex};

/// What `index/modules.json` says: each module path with the ids of the entries naming it,
/// and each id's `modified` time (the cache keeps an entry while that time is unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleMap {
    /// Module path → ids, sorted, each once.
    modules: BTreeMap<String, Vec<String>>,
    /// Id → the newest `modified` any row gives it ("" when none does).
    modified: HashMap<String, String>,
}

impl ModuleMap {
    /// Adds one (module, id, modified) fact. The id must already be valid.
    pub(crate) fn add(&mut self, module: &str, id: &str, modified: &str) {
        let ids = self.modules.entry(module.to_string()).or_default();
        if let Err(at) = ids.binary_search_by(|x| x.as_str().cmp(id)) {
            ids.insert(at, id.to_string());
        }
        let m = self.modified.entry(id.to_string()).or_default();
        if modified > m.as_str() {
            *m = modified.to_string();
        }
    }

    /// The ids of the entries naming any of `modules`, sorted, each once.
    pub fn ids_for(&self, modules: &[&str]) -> Vec<String> {
        let mut ids: Vec<String> = modules
            .iter()
            .filter_map(|m| self.modules.get(*m))
            .flatten()
            .cloned()
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The module paths the index lists, sorted.
    pub fn modules(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    /// True when some entry names `module`.
    pub fn has_module(&self, module: &str) -> bool {
        self.modules.contains_key(module)
    }

    /// How many module paths the index lists.
    pub fn module_count(&self) -> usize {
        self.modules.len()
    }

    /// How many distinct entries the index lists.
    pub fn entry_count(&self) -> usize {
        self.modified.len()
    }

    /// The `modified` time the index gives `id` ("" when unknown).
    pub fn modified_of(&self, id: &str) -> &str {
        self.modified.get(id).map(String::as_str).unwrap_or("")
    }
}

/// True for an id that can name a file or a URL path segment safely: ASCII letters, digits,
/// `-`, `_`, `.`, not starting with `.`, at most 128 bytes (`GO-2022-1059`; a private
/// database may use its own prefix). Everything read by id goes through this, so an index
/// cannot send a reader to `../../etc/passwd`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads `index/db.json`; its `modified` must be an RFC 3339 time.
pub fn parse_db_index(bytes: &[u8]) -> Result<DbIndex, String> {
    let db: DbIndex = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if rfc3339_to_unix(&db.modified).is_none() {
        return Err(format!(
            "\"modified\" is {:?}, not an RFC 3339 time",
            db.modified
        ));
    }
    Ok(db)
}

/// Reads `index/modules.json` (an array of `{path, vulns: [{id, modified, fixed}]}`).
pub fn parse_modules(bytes: &[u8]) -> Result<ModuleMap, String> {
    let rows: Vec<ModuleIndex> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut map = ModuleMap::default();
    for row in &rows {
        for v in &row.vulns {
            if !valid_id(&v.id) {
                return Err(format!(
                    "module {:?} lists the id {:?}, which is not a valid entry id",
                    row.path, v.id
                ));
            }
            map.add(&row.path, &v.id, &v.modified);
        }
    }
    Ok(map)
}

/// Reads one entry that should have id `id` (the file `ID/<id>.json`).
pub fn parse_entry(bytes: &[u8], id: &str) -> Result<Entry, String> {
    let entry: Entry = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if entry.id != id {
        return Err(format!("it holds the entry {:?}, not {id}", entry.id));
    }
    Ok(entry)
}

/// The least of an entry a folder of OSV files needs to be indexed: its id, date and the
/// modules it names. Reading only this keeps a large flat folder's index small.
#[derive(Debug, Deserialize)]
pub struct EntryHead {
    /// The entry's id.
    pub id: String,
    /// RFC 3339.
    #[serde(default)]
    pub modified: String,
    /// Only the module names are kept.
    #[serde(default)]
    pub affected: Vec<AffectedHead>,
}

/// The module of one `affected` block.
#[derive(Debug, Deserialize)]
pub struct AffectedHead {
    /// `{name, ecosystem}`.
    pub package: PackageHead,
}

/// A package's name.
#[derive(Debug, Deserialize)]
pub struct PackageHead {
    /// The module path.
    pub name: String,
}

/// Reads the head of an OSV file of a flat folder; the id must be valid.
pub fn parse_entry_head(bytes: &[u8]) -> Result<EntryHead, String> {
    let head: EntryHead = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if !valid_id(&head.id) {
        return Err(format!("{:?} is not a valid entry id", head.id));
    }
    Ok(head)
}

/// Why bytes did not inflate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GunzipError {
    /// Not gzip, or damaged.
    Bad(String),
    /// It inflates past the cap (a gzip bomb, or simply too large).
    TooLarge(u64),
}

/// True when `bytes` start with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Inflates gzip `bytes` (every member), refusing to produce more than `cap` bytes: the
/// output is read through a limit one byte past the cap, so a bomb costs at most `cap`.
pub fn gunzip(bytes: &[u8], cap: u64) -> Result<Vec<u8>, GunzipError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| GunzipError::Bad(e.to_string()))?;
    if out.len() as u64 > cap {
        return Err(GunzipError::TooLarge(cap));
    }
    Ok(out)
}

/// Seconds since the Unix epoch of an RFC 3339 time (`2026-08-21T20:38:00Z`,
/// `2023-04-03T15:57:51.123+02:00`); None when it is not one.
pub fn rfc3339_to_unix(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let o = h * 3600 + m * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_read_as_unix_seconds() {
        assert_eq!(rfc3339_to_unix("1970-01-01T00:00:00Z"), Some(0));
        // `date -d 2026-08-21T20:38:00Z +%s`
        assert_eq!(rfc3339_to_unix("2026-08-21T20:38:00Z"), Some(1_787_344_680));
        assert_eq!(
            rfc3339_to_unix("2026-08-21T22:38:00.5+02:00"),
            Some(1_787_344_680)
        );
        assert_eq!(rfc3339_to_unix("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        for bad in [
            "",
            "2026-08-21",
            "2026-08-21T20:38:00",
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-08-21T20:38:00+0200",
            "2026-08-21T20:38:00.Z",
            "2026-08-21T20:38:00Zjunk",
            "２０２６-08-21T20:38:00Z",
        ] {
            assert_eq!(rfc3339_to_unix(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ids_that_could_escape_a_folder_are_invalid() {
        assert!(valid_id("GO-2022-1059"));
        assert!(valid_id("PRIVATE_2024.7"));
        for bad in [
            "",
            "..",
            "../GO-1",
            "ID/GO-1",
            "/etc/passwd",
            ".hidden",
            "a b",
            "é",
        ] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        assert!(!valid_id(&"A".repeat(129)));
    }

    #[test]
    fn modules_index_keeps_each_id_once_with_its_newest_date() {
        let json = br#"[
          {"path":"golang.org/x/text","vulns":[{"id":"GO-2022-1059","modified":"2024-05-20T16:03:47Z","fixed":"0.3.8"}]},
          {"path":"antrea.io/antrea","vulns":[{"id":"GO-2026-5579","modified":"2026-06-25T22:34:34Z"},
             {"id":"GO-2026-5579","modified":"2026-06-25T22:34:34Z","fixed":"1.11.0"}]},
          {"path":"stdlib","vulns":[{"id":"GO-2023-1840","modified":"2023-01-01T00:00:00Z"}]},
          {"path":"toolchain","vulns":[{"id":"GO-2023-1840","modified":"2024-01-01T00:00:00Z"}]}
        ]"#;
        let map = parse_modules(json).unwrap();
        assert_eq!(map.module_count(), 4);
        assert_eq!(map.entry_count(), 3);
        assert_eq!(map.ids_for(&["antrea.io/antrea"]), ["GO-2026-5579"]);
        assert_eq!(
            map.ids_for(&["stdlib", "toolchain", "golang.org/x/text", "nope"]),
            ["GO-2022-1059", "GO-2023-1840"]
        );
        assert_eq!(map.modified_of("GO-2023-1840"), "2024-01-01T00:00:00Z");
        assert!(map.has_module("stdlib") && !map.has_module("std"));
    }

    #[test]
    fn an_index_naming_a_path_as_an_id_is_refused() {
        let json = br#"[{"path":"x","vulns":[{"id":"../../etc/passwd"}]}]"#;
        assert!(
            parse_modules(json)
                .unwrap_err()
                .contains("not a valid entry id")
        );
        assert!(parse_modules(b"{}").is_err());
        assert!(parse_modules(b"[{\"path\":1}]").is_err());
    }

    #[test]
    fn an_entry_must_be_the_one_its_name_says() {
        let json = br#"{"id":"GO-2022-1059","affected":[]}"#;
        assert_eq!(
            parse_entry(json, "GO-2022-1059").unwrap().id,
            "GO-2022-1059"
        );
        assert!(
            parse_entry(json, "GO-2022-0001")
                .unwrap_err()
                .contains("GO-2022-1059")
        );
        assert!(parse_entry(b"{\"id\":", "GO-1").is_err());
    }

    #[test]
    fn db_index_needs_a_real_time() {
        assert_eq!(
            parse_db_index(br#"{"modified":"2026-08-21T20:38:00Z"}"#)
                .unwrap()
                .modified,
            "2026-08-21T20:38:00Z"
        );
        assert!(parse_db_index(br#"{"modified":"yesterday"}"#).is_err());
        assert!(parse_db_index(b"<html>").is_err());
    }

    #[test]
    fn gunzip_stops_at_the_cap() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'['; 1 << 20]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 8 << 10, "{}", bomb.len());
        assert!(is_gzip(&bomb));
        assert_eq!(gunzip(&bomb, 4096), Err(GunzipError::TooLarge(4096)));
        assert_eq!(gunzip(&bomb, 1 << 20).unwrap().len(), 1 << 20);
        assert!(matches!(
            gunzip(b"\x1f\x8bjunk", 10),
            Err(GunzipError::Bad(_))
        ));
        assert!(matches!(
            gunzip(&bomb[..bomb.len() / 2], 1 << 21),
            Err(GunzipError::Bad(_))
        ));
    }
}
