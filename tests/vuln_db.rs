//! The vulnerability database reader against databases these tests write themselves (real
//! advisories' facts: ids, modules, ranges, packages, symbols; entries CC-BY-4.0 from the Go
//! vulnerability database), read as a v1 directory, a flat folder of OSV files, a zip and
//! over HTTP from a server on 127.0.0.1; the requests the reader makes are asserted. The
//! fixture directory is cross-checked with govulncheck v1.9.0, which must read it as a v1
//! database and name the same entries. Hostile inputs (zip and gzip bombs, climbing names,
//! missing entries, truncated files, bad JSON, a hanging server, 404s) must give a clear
//! error naming the source, never a panic.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use goready::cancel::Stopped;
use goready::progress::{Discard, Event, Recorder};
use goready::vuln::db::{Cache, Database, DbError, ErrorKind, OpenOptions, Source, SourceKind};
use goready::vuln::osv::Entry;
use serde_json::{Value, json};

mod common;
use common::vulndb::{
    DB_MODIFIED, Server, advisories, govulncheck, gz, ids, write_flat, write_v1, write_zip, zip_of,
};

fn opts_with_cache(cache: &Path) -> OpenOptions {
    OpenOptions {
        cache: Cache::At(cache.to_path_buf()),
        timeout: Duration::from_secs(10),
        ..OpenOptions::default()
    }
}

fn no_cache() -> OpenOptions {
    OpenOptions {
        cache: Cache::Off,
        timeout: Duration::from_secs(10),
        ..OpenOptions::default()
    }
}

fn open(source: &Source, opts: &OpenOptions) -> Result<Database, DbError> {
    Database::open(source, opts, &Discard)
}

fn open_err(source: &Source, opts: &OpenOptions) -> DbError {
    match open(source, opts) {
        Ok(db) => panic!("{} opened: {:?}", source.display(), db.info()),
        Err(e) => e,
    }
}

#[test]
fn a_v1_directory_answers_only_the_modules_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    let src = Source::parse(&format!("file://{}", dir.path().display())).unwrap();
    let db = open(&src, &no_cache()).unwrap();
    let info = db.info();
    assert_eq!(info.kind, SourceKind::V1Dir);
    assert_eq!(info.modified, DB_MODIFIED);
    assert_eq!(info.modified_unix(), Some(1_787_344_680));
    assert_eq!((info.entries, info.modules), (6, 5));
    assert_eq!(info.source, dir.path().display().to_string());

    let text = db.entries_for(&["golang.org/x/text"]).unwrap();
    assert_eq!(ids(&text), ["GO-2021-0113", "GO-2022-1059"]);
    let lang = &text[1].affected[0]
        .ecosystem_specific
        .as_ref()
        .unwrap()
        .imports[0];
    assert_eq!(lang.path, "golang.org/x/text/language");
    assert_eq!(lang.symbols, ["MatchStrings", "ParseAcceptLanguage"]);
    assert_eq!(text[1].aliases, ["CVE-2022-32149", "GHSA-69ch-w2m2-3vjp"]);

    // GO-2023-2102 names both stdlib and golang.org/x/net: returned once.
    let go = db
        .entries_for(&["stdlib", "toolchain", "golang.org/x/net"])
        .unwrap();
    assert_eq!(ids(&go), ["GO-2021-0068", "GO-2023-1840", "GO-2023-2102"]);
    assert_eq!(go[0].affected[0].package.name, "toolchain");
    assert!(db.entries_for(&["example.com/none"]).unwrap().is_empty());
    assert!(db.entries_for(&[]).unwrap().is_empty());
}

#[test]
fn the_v1_directory_reads_gzip_only_files_too() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    for rel in ["index/modules.json", "ID/GO-2022-1059.json"] {
        std::fs::remove_file(dir.path().join(rel)).unwrap();
    }
    let db = open(&Source::Dir(dir.path().into()), &no_cache()).unwrap();
    let text = db.entries_for(&["golang.org/x/text"]).unwrap();
    assert_eq!(ids(&text), ["GO-2021-0113", "GO-2022-1059"]);
}

#[test]
fn dir_flat_folder_zip_and_http_give_the_same_entries() {
    let root = tempfile::tempdir().unwrap();
    let v1 = root.path().join("v1");
    write_v1(&v1, &advisories(), DB_MODIFIED);
    let flat = root.path().join("osv");
    write_flat(&flat, &advisories());
    let zip_path = root.path().join("vulndb.zip");
    write_zip(&zip_path, &v1, "");
    let nested_zip = root.path().join("nested.zip");
    write_zip(&nested_zip, &v1, "vulndb/");
    let server = Server::files(v1.clone());

    let modules = [
        "stdlib",
        "golang.org/x/text",
        "golang.org/x/net",
        "toolchain",
    ];
    let want = open(&Source::Dir(v1.clone()), &no_cache())
        .unwrap()
        .entries_for(&modules)
        .unwrap();
    assert_eq!(want.len(), 5);
    // The reader keeps what the fixture says, field for field.
    let by_hand: Entry = serde_json::from_value(advisories()[3].clone()).unwrap();
    assert_eq!(want[3], by_hand);

    for (text, kind) in [
        (flat.display().to_string(), SourceKind::Flat),
        (zip_path.display().to_string(), SourceKind::Zip),
        (nested_zip.display().to_string(), SourceKind::Zip),
        (server.url.clone(), SourceKind::Http),
    ] {
        let db = open(&Source::parse(&text).unwrap(), &no_cache()).unwrap();
        assert_eq!(db.info().kind, kind, "{text}");
        assert_eq!(db.info().entries, 6, "{text}");
        let got = db.entries_for(&modules).unwrap();
        assert_eq!(got, want, "{text}");
    }
    // The flat folder has no db.json: its date is its newest entry's.
    let flat_db = open(&Source::Dir(flat), &no_cache()).unwrap();
    assert_eq!(flat_db.info().modified, "2024-05-20T16:03:47Z");
}

#[test]
fn http_fetches_the_gzipped_index_then_only_the_entries_needed() {
    let root = tempfile::tempdir().unwrap();
    write_v1(root.path(), &advisories(), DB_MODIFIED);
    let server = Server::files(root.path().to_path_buf());
    let rec = Recorder::new();
    let db = Database::open(&Source::Url(server.url.clone()), &no_cache(), &rec).unwrap();
    assert_eq!(db.info().kind, SourceKind::Http);
    assert!(!db.info().index_from_cache);
    assert_eq!(
        server.take(),
        ["/index/db.json.gz", "/index/modules.json.gz"]
    );
    assert!(rec.events().iter().any(|e| matches!(
        e,
        Event::Note { text, .. } if text.contains("fetching") && text.contains(&server.url)
    )));
    let got = db.entries_for(&["golang.org/x/text"]).unwrap();
    assert_eq!(ids(&got), ["GO-2021-0113", "GO-2022-1059"]);
    assert_eq!(
        server.take(),
        ["/ID/GO-2021-0113.json.gz", "/ID/GO-2022-1059.json.gz"]
    );
}

#[test]
fn a_plain_static_server_is_read_through_its_json_files() {
    let root = tempfile::tempdir().unwrap();
    write_v1(root.path(), &advisories(), DB_MODIFIED);
    let gz_files = [
        "index/db.json.gz",
        "index/modules.json.gz",
        "ID/GO-2023-1840.json.gz",
    ];
    for rel in gz_files {
        std::fs::remove_file(root.path().join(rel)).unwrap();
    }
    let server = Server::files(root.path().to_path_buf());
    let db = open(&Source::Url(format!("{}/", server.url)), &no_cache()).unwrap();
    assert_eq!(
        db.info().source,
        server.url,
        "the trailing slash is dropped"
    );
    let got = db.entries_for(&["stdlib"]).unwrap();
    assert_eq!(ids(&got), ["GO-2023-1840", "GO-2023-2102"]);
    assert_eq!(
        server.take(),
        [
            "/ID/GO-2023-1840.json",
            "/ID/GO-2023-2102.json",
            "/index/db.json",
            "/index/db.json.gz",
            "/index/modules.json",
        ]
    );
}

#[test]
fn a_database_under_a_path_is_fetched_under_it() {
    let root = tempfile::tempdir().unwrap();
    write_v1(&root.path().join("mirror/go"), &advisories(), DB_MODIFIED);
    let server = Server::files(root.path().to_path_buf());
    let db = open(
        &Source::Url(format!("{}/mirror/go", server.url)),
        &no_cache(),
    )
    .unwrap();
    db.entries_for(&["toolchain"]).unwrap();
    assert_eq!(
        server.take(),
        [
            "/mirror/go/ID/GO-2021-0068.json.gz",
            "/mirror/go/index/db.json.gz",
            "/mirror/go/index/modules.json.gz",
        ]
    );
}

#[test]
fn an_unchanged_database_costs_one_request_and_no_entry_fetches() {
    let root = tempfile::tempdir().unwrap();
    let v1 = root.path().join("v1");
    write_v1(&v1, &advisories(), DB_MODIFIED);
    let cache = root.path().join("cache");
    let server = Server::files(v1.clone());
    let src = Source::Url(server.url.clone());
    let opts = opts_with_cache(&cache);

    let first = open(&src, &opts).unwrap();
    let want = first.entries_for(&["stdlib", "golang.org/x/text"]).unwrap();
    assert_eq!(server.take().len(), 2 + 4);

    let rec = Recorder::new();
    let second = Database::open(&src, &opts, &rec).unwrap();
    assert!(second.info().index_from_cache);
    assert_eq!(second.info().modified, DB_MODIFIED);
    assert_eq!(server.take(), ["/index/db.json.gz"]);
    assert!(rec.events().iter().any(|e| matches!(
        e,
        Event::Note { text, .. } if text.contains("unchanged since 2026-08-21T20:38:00Z")
    )));
    assert_eq!(
        second
            .entries_for(&["stdlib", "golang.org/x/text"])
            .unwrap(),
        want
    );
    assert!(
        server.take().is_empty(),
        "cached entries were fetched again"
    );
    // A module not asked for before: only its entry is fetched.
    let net = second.entries_for(&["golang.org/x/net", "stdlib"]).unwrap();
    assert_eq!(ids(&net), ["GO-2023-1840", "GO-2023-2102"]);
    assert!(
        server.take().is_empty(),
        "GO-2023-2102 was cached with stdlib"
    );
    second.entries_for(&["toolchain"]).unwrap();
    assert_eq!(server.take(), ["/ID/GO-2021-0068.json.gz"]);
}

#[test]
fn a_changed_database_refetches_the_index_and_only_the_changed_entries() {
    let root = tempfile::tempdir().unwrap();
    let v1 = root.path().join("v1");
    let mut entries = advisories();
    write_v1(&v1, &entries, DB_MODIFIED);
    let cache = root.path().join("cache");
    let server = Server::files(v1.clone());
    let src = Source::Url(server.url.clone());
    let opts = opts_with_cache(&cache);
    open(&src, &opts)
        .unwrap()
        .entries_for(&["golang.org/x/text"])
        .unwrap();
    server.take();

    // The database moves on: GO-2022-1059 gains an alias, GO-2021-0113 stays as it was.
    entries[2]["modified"] = json!("2026-09-01T10:00:00Z");
    entries[2]["aliases"] = json!(["CVE-2022-32149", "GHSA-69ch-w2m2-3vjp", "EXTRA-1"]);
    write_v1(&v1, &entries, "2026-09-01T10:00:00Z");
    let db = open(&src, &opts).unwrap();
    assert!(!db.info().index_from_cache);
    assert_eq!(db.info().modified, "2026-09-01T10:00:00Z");
    assert_eq!(
        server.take(),
        ["/index/db.json.gz", "/index/modules.json.gz"]
    );
    let text = db.entries_for(&["golang.org/x/text"]).unwrap();
    assert_eq!(text[1].aliases.last().map(String::as_str), Some("EXTRA-1"));
    assert_eq!(server.take(), ["/ID/GO-2022-1059.json.gz"]);
    // The old copy is gone from the cache: one file per entry.
    let cached: Vec<String> = std::fs::read_dir(
        cache
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
            .join("ID"),
    )
    .unwrap()
    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
    .filter(|n| n.starts_with("GO-2022-1059."))
    .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
}

#[test]
fn a_cache_that_cannot_be_written_is_a_warning_not_a_failure() {
    let root = tempfile::tempdir().unwrap();
    write_v1(&root.path().join("v1"), &advisories(), DB_MODIFIED);
    // A file where the cache folder should be.
    let blocker = root.path().join("cache");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let server = Server::files(root.path().join("v1"));
    let rec = Recorder::new();
    let db = Database::open(
        &Source::Url(server.url.clone()),
        &opts_with_cache(&blocker),
        &rec,
    )
    .unwrap();
    assert_eq!(db.entries_for(&["stdlib"]).unwrap().len(), 2);
    assert!(rec.events().iter().any(|e| matches!(
        e,
        Event::Note { level: goready::progress::Level::Warning, text, .. }
            if text.contains("cannot write the vulnerability database cache")
    )));
}

/// govulncheck v1.9.0 reads the directory these tests write as a v1 database, and for a
/// module at a version every fixture entry affects, names the entries our reader returns.
#[test]
fn govulncheck_reads_the_fixture_database_and_names_the_same_entries() {
    let Some(govulncheck) = govulncheck() else {
        panic!("govulncheck is not installed: go install golang.org/x/vuln/cmd/govulncheck@v1.9.0");
    };
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    let db = open(&Source::Dir(dir.path().into()), &no_cache()).unwrap();
    for (module, version) in [("golang.org/x/text", "v0.3.5"), ("stdlib", "go1.19.1")] {
        let out = std::process::Command::new(&govulncheck)
            .arg(format!("-db=file://{}", dir.path().display()))
            .args(["-mode=query", "-format=json"])
            .arg(format!("{module}@{version}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut theirs: Vec<String> = serde_json::Deserializer::from_slice(&out.stdout)
            .into_iter::<Value>()
            .filter_map(|v| v.unwrap()["osv"]["id"].as_str().map(String::from))
            .collect();
        theirs.sort();
        theirs.dedup();
        let db_line = String::from_utf8_lossy(&out.stdout);
        assert!(
            db_line.contains(DB_MODIFIED),
            "govulncheck saw another date"
        );
        let ours: Vec<String> = db
            .entries_for(&[module])
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert!(!ours.is_empty());
        assert_eq!(ours, theirs, "{module}@{version}");
    }
}

// ---- hostile input ----

#[test]
fn a_zip_bomb_member_stops_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    let bomb = vec![b' '; 32 << 20];
    let members = vec![
        (
            "index/db.json",
            std::fs::read(dir.path().join("index/db.json")).unwrap(),
        ),
        (
            "index/modules.json",
            std::fs::read(dir.path().join("index/modules.json")).unwrap(),
        ),
        ("ID/GO-2022-1059.json", bomb),
        (
            "ID/GO-2021-0113.json",
            std::fs::read(dir.path().join("ID/GO-2021-0113.json")).unwrap(),
        ),
    ];
    let bytes = zip_of(&members);
    assert!(bytes.len() < 1 << 20, "the bomb is small: {}", bytes.len());
    let mut opts = no_cache();
    opts.limits.entry_bytes = 1 << 20;
    let path = dir.path().join("bomb.zip");
    std::fs::write(&path, &bytes).unwrap();
    let db = open(&Source::Zip(path.clone()), &opts).unwrap();
    let err = db.entries_for(&["golang.org/x/text"]).unwrap_err();
    assert!(
        matches!(&err.kind, ErrorKind::TooLarge { path, cap } if path == "ID/GO-2022-1059.json" && *cap == 1 << 20),
        "{err}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );

    // The same bomb with headers that claim 100 bytes: the cap still holds.
    let mut lying = bytes.clone();
    let mut patched = 0;
    for at in 0..lying.len().saturating_sub(46) {
        let sig = &lying[at..at + 4];
        let (size_at, name_len_at, name_at) = match sig {
            [0x50, 0x4b, 0x03, 0x04] => (at + 22, at + 26, at + 30),
            [0x50, 0x4b, 0x01, 0x02] => (at + 24, at + 28, at + 46),
            _ => continue,
        };
        let n = u16::from_le_bytes([lying[name_len_at], lying[name_len_at + 1]]) as usize;
        if lying.get(name_at..name_at + n) == Some(b"ID/GO-2022-1059.json".as_slice()) {
            lying[size_at..size_at + 4].copy_from_slice(&100u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    let db = Database::open_zip_bytes("lying.zip", lying, &opts).unwrap();
    let err = db.entries_for(&["golang.org/x/text"]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("vulnerability database lying.zip: ID/GO-2022-1059.json"),
        "{err}"
    );
}

#[test]
fn zip_names_that_climb_or_are_absolute_are_never_the_database() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    let db_json = std::fs::read(dir.path().join("index/db.json")).unwrap();
    let modules = std::fs::read(dir.path().join("index/modules.json")).unwrap();
    for prefix in ["../", "/", "../../tmp/", "C:/"] {
        let bytes = zip_of(&[
            (&format!("{prefix}index/db.json"), db_json.clone()),
            (&format!("{prefix}index/modules.json"), modules.clone()),
        ]);
        let err = Database::open_zip_bytes("evil.zip", bytes, &no_cache()).unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::NotADatabase(_)),
            "{prefix}: {err}"
        );
    }
    // An index that names a climbing id is refused before anything is read by it.
    let evil_index = br#"[{"path":"golang.org/x/text","vulns":[{"id":"../../../etc/passwd"}]}]"#;
    let bytes = zip_of(&[
        ("index/db.json", db_json.clone()),
        ("index/modules.json", evil_index.to_vec()),
    ]);
    let err = Database::open_zip_bytes("evil.zip", bytes, &no_cache()).unwrap_err();
    assert!(
        err.to_string().contains("index/modules.json")
            && err.to_string().contains("not a valid entry id"),
        "{err}"
    );
    // The same index in a v1 directory: refused, nothing outside is read.
    std::fs::write(dir.path().join("index/modules.json"), evil_index).unwrap();
    let err = open_err(&Source::Dir(dir.path().into()), &no_cache());
    assert!(err.to_string().contains("not a valid entry id"), "{err}");
}

#[test]
fn an_index_naming_missing_entries_is_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    let db_json = std::fs::read(dir.path().join("index/db.json")).unwrap();
    let modules = std::fs::read(dir.path().join("index/modules.json")).unwrap();
    let bytes = zip_of(&[
        ("index/db.json", db_json),
        ("index/modules.json", modules),
        (
            "ID/GO-2021-0113.json",
            std::fs::read(dir.path().join("ID/GO-2021-0113.json")).unwrap(),
        ),
    ]);
    let db = Database::open_zip_bytes("partial.zip", bytes, &no_cache()).unwrap();
    let err = db.entries_for(&["golang.org/x/text"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vulnerability database partial.zip: ID/GO-2022-1059.json is missing, though the index names it"
    );
    // And in a directory.
    std::fs::remove_file(dir.path().join("ID/GO-2022-1059.json")).unwrap();
    std::fs::remove_file(dir.path().join("ID/GO-2022-1059.json.gz")).unwrap();
    let db = open(&Source::Dir(dir.path().into()), &no_cache()).unwrap();
    let err = db.entries_for(&["golang.org/x/text"]).unwrap_err();
    assert!(
        matches!(&err.kind, ErrorKind::Missing { path } if path == "ID/GO-2022-1059.json"),
        "{err}"
    );
}

#[test]
fn truncated_and_foreign_zips_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    let zip_path = dir.path().join("vulndb.zip");
    write_zip(&zip_path, dir.path(), "");
    let whole = std::fs::read(&zip_path).unwrap();
    for cut in [0, 10, whole.len() / 2, whole.len() - 30, whole.len() - 1] {
        let r = Database::open_zip_bytes("cut.zip", whole[..cut].to_vec(), &no_cache());
        assert!(r.is_err(), "cut at {cut} of {}", whole.len());
    }
    // A zip of something else.
    let other = zip_of(&[("README.md", b"hello".to_vec())]);
    let err = Database::open_zip_bytes("other.zip", other, &no_cache()).unwrap_err();
    assert!(
        err.to_string().contains("not a Go vulnerability database"),
        "{err}"
    );
    // Not a zip at all, given as a file.
    let not_zip = dir.path().join("vulndb.zip.txt");
    std::fs::write(&not_zip, "plain text").unwrap();
    let err = open_err(&Source::Zip(not_zip), &no_cache());
    assert!(matches!(err.kind, ErrorKind::NotADatabase(_)), "{err}");
    let err = open_err(&Source::Zip(dir.path().join("missing.zip")), &no_cache());
    assert!(matches!(err.kind, ErrorKind::BadSource(_)), "{err}");
}

#[test]
fn bad_json_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    std::fs::write(
        dir.path().join("ID/GO-2023-1840.json"),
        b"{\"id\": \"GO-2023-1840\", \"affected\": [",
    )
    .unwrap();
    let db = open(&Source::Dir(dir.path().into()), &no_cache()).unwrap();
    let err = db.entries_for(&["stdlib"]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&dir.path().display().to_string()) && text.contains("ID/GO-2023-1840.json"),
        "{text}"
    );
    // An entry file that holds another entry.
    std::fs::write(
        dir.path().join("ID/GO-2023-1840.json"),
        advisories()[4].to_string(),
    )
    .unwrap();
    let err = db.entries_for(&["stdlib"]).unwrap_err();
    assert!(
        err.to_string().contains("holds the entry \"GO-2023-2102\""),
        "{err}"
    );
    // A broken index.
    std::fs::write(dir.path().join("index/modules.json"), b"[{\"path\": ").unwrap();
    let err = open_err(&Source::Dir(dir.path().into()), &no_cache());
    assert!(err.to_string().contains("index/modules.json"), "{err}");
    std::fs::write(
        dir.path().join("index/db.json"),
        b"{\"modified\": \"last week\"}",
    )
    .unwrap();
    let err = open_err(&Source::Dir(dir.path().into()), &no_cache());
    assert!(
        err.to_string().contains("index/db.json") && err.to_string().contains("RFC 3339"),
        "{err}"
    );
}

#[test]
fn flat_folders_refuse_duplicates_bad_files_and_emptiness() {
    let root = tempfile::tempdir().unwrap();
    let flat = root.path().join("osv");
    write_flat(&flat, &advisories());
    std::fs::write(flat.join("copy.json"), advisories()[0].to_string()).unwrap();
    let err = open_err(&Source::Dir(flat.clone()), &no_cache());
    assert!(err.to_string().contains("GO-2021-0068"), "{err}");
    std::fs::remove_file(flat.join("copy.json")).unwrap();
    std::fs::write(flat.join("broken.json"), b"not json").unwrap();
    let err = open_err(&Source::Dir(flat.clone()), &no_cache());
    assert!(err.to_string().contains("broken.json"), "{err}");
    std::fs::write(flat.join("broken.json"), br#"{"id":"../x"}"#).unwrap();
    let err = open_err(&Source::Dir(flat.clone()), &no_cache());
    assert!(err.to_string().contains("not a valid entry id"), "{err}");

    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), b"x").unwrap();
    let err = open_err(&Source::Dir(empty), &no_cache());
    assert!(matches!(err.kind, ErrorKind::NotADatabase(_)), "{err}");
    let err = open_err(&Source::Dir(root.path().join("nowhere")), &no_cache());
    assert!(matches!(err.kind, ErrorKind::BadSource(_)), "{err}");
}

#[test]
fn a_gzip_bomb_served_over_http_stops_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    let db_gz = std::fs::read(dir.path().join("index/db.json.gz")).unwrap();
    let bomb = gz(&vec![b' '; 64 << 20]);
    assert!(bomb.len() < 256 << 10);
    let server = Server::start(Box::new(move |path| match path {
        "/index/db.json.gz" => (200, db_gz.clone()),
        "/index/modules.json.gz" => (200, bomb.clone()),
        _ => (404, Vec::new()),
    }));
    let mut opts = no_cache();
    opts.limits.index_bytes = 4 << 20;
    let err = open_err(&Source::Url(server.url.clone()), &opts);
    assert!(
        matches!(&err.kind, ErrorKind::TooLarge { path, cap } if path == "index/modules.json.gz" && *cap == 4 << 20),
        "{err}"
    );
    assert!(err.to_string().contains(&server.url));
}

#[test]
fn a_server_that_never_answers_times_out_as_unreachable() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", ln.local_addr().unwrap());
    // Accept and read, never answer.
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    std::thread::spawn(move || {
        for s in ln.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            h.lock().unwrap().push(s);
        }
    });
    let mut opts = no_cache();
    opts.timeout = Duration::from_millis(300);
    let err = open_err(&Source::Url(url.clone()), &opts);
    assert!(err.is_unreachable(), "{err}");
    assert!(
        err.to_string().contains("timed out") && err.to_string().contains(&url),
        "{err}"
    );
}

#[test]
fn a_server_that_hangs_on_an_entry_times_out_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    let root = dir.path().to_path_buf();
    let server = Server::start(Box::new(move |path| {
        if path.starts_with("/ID/GO-2022-1059") {
            std::thread::sleep(Duration::from_millis(1500));
        }
        match std::fs::read(root.join(path.trim_start_matches('/'))) {
            Ok(b) => (200, b),
            Err(_) => (404, Vec::new()),
        }
    }));
    let mut opts = no_cache();
    opts.timeout = Duration::from_millis(400);
    opts.connections = 1;
    let db = open(&Source::Url(server.url.clone()), &opts).unwrap();
    let err = db.entries_for(&["golang.org/x/text"]).unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    assert!(err.to_string().contains("ID/GO-2022-1059.json.gz"), "{err}");
}

#[test]
fn status_codes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    // Nothing there at all: not a database.
    let server = Server::start(Box::new(|_| (404, b"not found".to_vec())));
    let err = open_err(&Source::Url(server.url.clone()), &no_cache());
    assert!(matches!(err.kind, ErrorKind::NotADatabase(_)), "{err}");
    assert_eq!(server.take(), ["/index/db.json", "/index/db.json.gz"]);
    // A web page for every path: not a database either.
    let server = Server::start(Box::new(|_| (200, b"<html>hello</html>".to_vec())));
    let err = open_err(&Source::Url(server.url.clone()), &no_cache());
    assert!(matches!(err.kind, ErrorKind::NotADatabase(_)), "{err}");
    // A server error.
    let server = Server::start(Box::new(|_| (503, Vec::new())));
    let err = open_err(&Source::Url(server.url.clone()), &no_cache());
    assert!(
        matches!(&err.kind, ErrorKind::Status { path, status: 503 } if path == "index/db.json.gz"),
        "{err}"
    );
    // An entry the index names answers 404.
    let root = dir.path().to_path_buf();
    let server = Server::start(Box::new(move |path| {
        if path.starts_with("/ID/GO-2023-1840") {
            return (404, Vec::new());
        }
        match std::fs::read(root.join(path.trim_start_matches('/'))) {
            Ok(b) => (200, b),
            Err(_) => (404, Vec::new()),
        }
    }));
    let db = open(&Source::Url(server.url.clone()), &no_cache()).unwrap();
    let err = db.entries_for(&["stdlib"]).unwrap_err();
    assert!(
        matches!(&err.kind, ErrorKind::Missing { path } if path == "ID/GO-2023-1840.json.gz"),
        "{err}"
    );
}

#[test]
fn nothing_listening_is_unreachable() {
    let port = {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        ln.local_addr().unwrap().port()
    };
    let err = open_err(
        &Source::Url(format!("http://127.0.0.1:{port}")),
        &no_cache(),
    );
    assert!(err.is_unreachable(), "{err}");
    assert!(
        err.to_string().starts_with(&format!(
            "vulnerability database http://127.0.0.1:{port}: unreachable"
        )),
        "{err}"
    );
}

#[test]
fn a_cancelled_token_stops_reading() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories(), DB_MODIFIED);
    let opts = no_cache();
    let db = open(&Source::Dir(dir.path().into()), &opts).unwrap();
    opts.cancel.cancel(Stopped::Interrupted);
    let err = db.entries_for(&["stdlib"]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Stopped(Stopped::Interrupted));
    let err = open_err(&Source::Dir(dir.path().into()), &opts);
    assert_eq!(err.kind, ErrorKind::Stopped(Stopped::Interrupted));
}

#[test]
fn an_unreachable_database_falls_back_to_the_cache_only_when_asked() {
    let root = tempfile::tempdir().unwrap();
    write_v1(&root.path().join("v1"), &advisories(), DB_MODIFIED);
    let cache = root.path().join("cache");
    let server = Server::files(root.path().join("v1"));
    let src = Source::Url(server.url.clone());
    let mut opts = opts_with_cache(&cache);
    let want = open(&src, &opts).unwrap().entries_for(&["stdlib"]).unwrap();
    drop(server);

    // By default an unreachable database is an error, cache or not.
    let err = open_err(&src, &opts);
    assert!(err.is_unreachable(), "{err}");

    opts.stale_if_unreachable = true;
    let rec = Recorder::new();
    let db = Database::open(&src, &opts, &rec).unwrap();
    assert!(db.info().stale.is_some());
    assert_eq!(db.info().modified, DB_MODIFIED);
    assert!(rec.events().iter().any(|e| matches!(
        e,
        Event::Note { level: goready::progress::Level::Warning, text, .. }
            if text.contains("unreachable") && text.contains("cached copy of 2026-08-21T20:38:00Z")
    )));
    assert_eq!(db.entries_for(&["stdlib"]).unwrap(), want);
    let err = db.entries_for(&["golang.org/x/text"]).unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    assert!(err.to_string().contains("not in the cache"), "{err}");

    // No cached copy at all: still an error, saying so.
    let mut fresh = opts_with_cache(&root.path().join("empty-cache"));
    fresh.stale_if_unreachable = true;
    let err = open_err(&src, &fresh);
    assert!(err.to_string().contains("no cached copy"), "{err}");
}

/// A deterministic mutation run over a real fixture zip (the fuzz target's job in
/// miniature, so every test run retries it): flipped bytes in headers, names, sizes and
/// deflate streams, and cuts, give errors or entries, never a panic.
#[test]
fn mutated_zips_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    write_v1(dir.path(), &advisories()[..3], DB_MODIFIED);
    let zip_path = dir.path().join("vulndb.zip");
    write_zip(&zip_path, dir.path(), "");
    let whole = std::fs::read(&zip_path).unwrap();
    let mut opts = no_cache();
    opts.limits.entry_bytes = 64 << 10;
    opts.limits.index_bytes = 64 << 10;
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut opened, mut read) = (0, 0);
    for round in 0..1500 {
        let mut bytes = whole.clone();
        for _ in 0..(1 + next() % 6) {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        if round % 5 == 0 {
            bytes.truncate((next() % bytes.len() as u64) as usize);
        }
        if let Ok(db) = Database::open_zip_bytes("mutant.zip", bytes, &opts) {
            opened += 1;
            let modules: Vec<String> = db.index().modules().map(String::from).collect();
            let modules: Vec<&str> = modules.iter().map(String::as_str).collect();
            if db.entries_for(&modules).is_ok() {
                read += 1;
            }
        }
    }
    // Some mutants (a flipped byte in an entry's text, a timestamp) still read: the run
    // reached the entry readers, not only the central directory.
    assert!(opened > 0 && read > 0, "opened {opened}, read {read}");
}

/// The offline case of the default database: its name does not resolve. That is
/// "unreachable" (a skipped scan in `build`/`check`), not a bad `--db` value.
#[test]
fn a_host_that_does_not_resolve_is_unreachable() {
    // `.invalid` never resolves (RFC 2606).
    let err = open_err(
        &Source::parse("https://vulndb.goready-test.invalid").unwrap(),
        &no_cache(),
    );
    assert!(err.is_unreachable(), "{err}");
    assert!(err.to_string().contains("goready-test.invalid"), "{err}");
    // A malformed URL is the user's to fix.
    let err = open_err(&Source::Url("http://127.0.0.1:99999".into()), &no_cache());
    assert!(matches!(err.kind, ErrorKind::BadSource(_)), "{err}");
}
