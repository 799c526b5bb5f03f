//! The action and the GitLab template run by real runners' emulators, not read as YAML:
//!
//! - nektos/act runs tests/emulators/github-*.yml on the host (`-P ubuntu-latest=-self-hosted`):
//!   the action in download mode (`goready/goready@v0.1.0` stood in by this checkout with
//!   `--local-repository`, the release from a `file://` mirror through `download-url`) and in
//!   build mode (`uses: ./`), on push to main (the baseline saved with the official
//!   actions/cache, by act's built-in cache server) and on a pull request (the newest baseline
//!   of the base branch restored and handed to goready, one sticky comment on the local
//!   GitHub stand-in linking the `goready` check run created there on the commit, outputs
//!   set, no token in the log).
//! - gitlab-ci-local runs examples/gitlab-ci.yml with the shell executor (the job's `image:`
//!   left out; `--shell-isolation`: each job in a fresh copy of the tracked files, with its
//!   cache and artifacts copied in and out): a default-branch pipeline, then merge request
//!   pipelines that fetch the target branch's goready.json through the job-artifacts API of
//!   the local GitLab stand-in (found, and not found) and post the MR note, the binary from a
//!   `file://` mirror through `GOREADY_DOWNLOAD_URL`.
//!
//! - Both keep the vulnerability database between runs: goready is pointed at the tests' own
//!   v1 database served on 127.0.0.1 (tests/common `vulndb`, every request logged) the way a
//!   user names a mirror (`GOREADY_VULN_DB`); the first run fetches the index and the entries
//!   the binary needs and the cache is saved (actions/cache by act's cache server; GitLab's
//!   `cache:` by gitlab-ci-local with `--shell-isolation`, a fresh build folder per job as on a
//!   runner); a later run starts without the folder, restores it, and the server sees only the
//!   freshness check (`index/db.json.gz`), with the same `binary.vuln` result. A database that
//!   cannot be reached stays a skipped check that says why, and the run passes.
//!
//! Both serve the goready binary under test as the release (tests/reportkit `release`), so one
//! build is shared by every run. The verdict against the baseline is goready's own
//! (tests of `--baseline`); these prove the file arrives and is handed over.
//!
//! act, gitlab-ci-local and rsync come from ci/install-tools.sh; the official cache action is
//! a folder of actions/cache at the SHA action.yml pins (`GOREADY_ACTIONS_DIR`, filled by the
//! same script). They take minutes, so they are `#[ignore]`d for a plain `cargo test`;
//! `.ci/run` runs them (`--include-ignored`), and a missing tool fails them.

mod common;
mod forge;
mod reportkit;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reportkit::release;

/// The tag the action and the template are pinned to in the files under test.
fn pinned_release() -> String {
    let cargo = std::fs::read_to_string(common::repo().join("Cargo.toml")).unwrap();
    let doc: toml::Table = cargo.parse().unwrap();
    format!("v{}", doc["package"]["version"].as_str().unwrap())
}

/// `<os>-<arch>` of this machine's release asset, as the action and template name it.
fn asset_os_arch() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => panic!("no goready release asset for {other}"),
    };
    format!("linux-{arch}")
}

/// A tool on PATH or in Go's bin folder; fails the test clearly when it is missing.
fn tool_path(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(out) = Command::new("go").args(["env", "GOPATH"]).output() {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: run ci/install-tools.sh (.ci/run does)")
        })
}

/// A local copy of an action repository at the commit a `uses:` line pins: the folder
/// `$GOREADY_ACTIONS_DIR/<owner>/<repo>@<sha>` that ci/install-tools.sh fills when it can
/// reach github.com (or a mirror of it). `None`, loudly, when it could not.
fn action_folder(owner_repo: &str, sha: &str) -> Option<PathBuf> {
    let root = std::env::var_os("GOREADY_ACTIONS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/goready-ci/actions")
        });
    let dir = root.join(format!("{owner_repo}@{sha}"));
    if dir.join("action.yml").is_file() {
        return Some(dir);
    }
    eprintln!(
        "NOTE: {} is missing (ci/install-tools.sh checks out {owner_repo} at {sha} when \
         github.com or a mirror of it can be reached): the workflows run with `baseline: off`, \
         so the baseline's save and restore through the official cache action is NOT proven \
         by this run",
        dir.display()
    );
    None
}

/// The SHA action.yml pins actions/cache to (the restore/save sub-actions share it).
fn cache_action_sha() -> String {
    let text = std::fs::read_to_string(common::repo().join("action.yml")).unwrap();
    let re = regex::Regex::new(r"uses: actions/cache/(?:restore|save)@([0-9a-f]{40})").unwrap();
    let shas: std::collections::BTreeSet<String> =
        re.captures_iter(&text).map(|c| c[1].to_string()).collect();
    assert_eq!(
        shas.len(),
        1,
        "action.yml pins actions/cache once: {shas:?}"
    );
    shas.into_iter().next().unwrap()
}

/// Copies files and folders of the repository into `dest`.
fn copy_from_repo(dest: &Path, items: &[&str]) {
    for item in items {
        common::run_ok(
            Command::new("cp")
                .arg("-R")
                .arg(common::repo().join(item))
                .arg(dest.join(item.rsplit('/').next().unwrap())),
        );
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = common::run_ok(
        Command::new("git")
            .args([
                "-c",
                "user.name=goready",
                "-c",
                "user.email=goready@example.invalid",
            ])
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir),
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A git repository on branch main holding `items` of this one, committed.
fn project(dir: &Path, items: &[&str], origin: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    copy_from_repo(dir, items);
    git(dir, &["remote", "add", "origin", origin]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    git(dir, &["rev-parse", "HEAD"])
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The value after `label` on the first line holding it.
fn after<'a>(log: &'a str, label: &str) -> Option<&'a str> {
    log.lines().find_map(|l| {
        l.find(label)
            .map(|i| l[i + label.len()..].trim().trim_end_matches('\r'))
    })
}

/// Asserts that the run handed its baseline to goready as GOREADY_REPORT_BASELINE.
fn assert_handed_over(log: &str) {
    assert!(
        log.contains("goready: GOREADY_REPORT_BASELINE="),
        "handed to goready\n{log}"
    );
}

const GITHUB_TOKEN: &str = "ghs_actEmulatorToken0123456789abcdefXYZ";

/// One act run of `workflow` on `event` with `payload`.
struct Act<'a> {
    act: PathBuf,
    repo: &'a Path,
    work: &'a Path,
    forge: &'a forge::Forge,
    mirror: String,
    goready_action: &'a Path,
    /// The official cache action's folder at its pinned SHA, or, when this machine does not
    /// have it, a folder whose actions only fail (act resolves every `uses:` of a composite
    /// action before it runs, even one whose `if:` is false; with `baseline: off` none runs).
    cache_action: (&'a str, &'a Path),
}

impl Act<'_> {
    /// `vulndb`: where the workflow points goready's vulnerability scan (`GOREADY_VULN_DB`).
    fn run(
        &self,
        workflow: &str,
        event: &str,
        payload: &serde_json::Value,
        vulndb: &str,
    ) -> Output {
        let event_file = self.work.join(format!("{workflow}-{event}.json"));
        std::fs::write(&event_file, payload.to_string()).unwrap();
        let mut cmd = Command::new(&self.act);
        cmd.arg("--local-repository").arg(format!(
            "actions/cache@{}={}",
            self.cache_action.0,
            self.cache_action.1.display()
        ));
        cmd.arg(event)
            .arg("-W")
            .arg(format!(".github/workflows/{workflow}.yml"))
            .args(["-P", "ubuntu-latest=-self-hosted"])
            .arg("-e")
            .arg(&event_file)
            .arg("--local-repository")
            .arg(format!(
                "goready/goready@{}={}",
                pinned_release(),
                self.goready_action.display()
            ))
            .arg("--action-offline-mode")
            // act's built-in cache server, kept in one folder across the runs of a test.
            .args([
                "--cache-server-addr",
                "127.0.0.1",
                "--cache-server-port",
                "0",
            ])
            .arg("--cache-server-path")
            .arg(self.work.join("act-cache"))
            .arg("--var")
            .arg(format!("GOREADY_MIRROR={}", self.mirror))
            .arg("--var")
            .arg(format!("GOREADY_VULNDB={vulndb}"))
            .arg("--env")
            .arg(format!("GITHUB_API_URL={}", self.forge.url))
            // The release build of build mode reuses the suite's compiled dependencies: the
            // static build ci/release-check.sh made (a workflow's CARGO_BUILD_TARGET is honoured).
            .arg("--env")
            .arg(format!("CARGO_TARGET_DIR={}", cargo_target_dir().display()))
            .arg("--env")
            .arg("CARGO_BUILD_TARGET=x86_64-unknown-linux-musl")
            .arg("-s")
            .arg(format!("GITHUB_TOKEN={GITHUB_TOKEN}"))
            .current_dir(self.repo)
            .env("HOME", std::env::var_os("HOME").unwrap_or_default());
        for v in reportkit::CI_VARS {
            cmd.env_remove(v);
        }
        cmd.output().expect("run act")
    }
}

/// The cargo target folder this test was built in (build mode's `cargo build --release`
/// reuses its compiled dependencies).
fn cargo_target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn push_event(sha: &str) -> serde_json::Value {
    serde_json::json!({
        "ref": "refs/heads/main",
        "after": sha,
        "repository": {"full_name": "octo-org/hello-svc", "name": "hello-svc",
            "owner": {"login": "octo-org"}, "default_branch": "main"},
    })
}

fn pull_request_event(number: u64, sha: &str) -> serde_json::Value {
    serde_json::json!({
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": "feature", "sha": sha,
                "repo": {"full_name": "octo-org/hello-svc"}},
            "base": {"ref": "main", "repo": {"full_name": "octo-org/hello-svc"}},
        },
        "repository": {"full_name": "octo-org/hello-svc", "name": "hello-svc",
            "owner": {"login": "octo-org"}, "default_branch": "main"},
    })
}

/// The tests' own vulnerability database (tests/common `vulndb`: real advisories' facts,
/// including the standard library's, which hello-svc's binary is matched against), dated
/// today so that no staleness warning depends on the day, served on 127.0.0.1.
fn vuln_db(work: &Path) -> common::vulndb::Server {
    let out = common::run_ok(Command::new("date").args(["-u", "+%Y-%m-%dT00:00:00Z"]));
    let today = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let root = work.join("vulndb");
    common::vulndb::write_v1(&root, &common::vulndb::advisories(), &today);
    common::vulndb::Server::files(root)
}

/// A URL on 127.0.0.1 where nothing listens: an unreachable database.
fn unreachable_db() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The requests of a run that had no cached copy: the freshness check, the index, and the
/// entries of the standard library (hello-svc has no other module), never another module's.
fn assert_fetched_the_database(seen: &[String], log: &str) {
    for path in ["/index/db.json.gz", "/index/modules.json.gz"] {
        assert!(
            seen.iter().any(|p| p == path),
            "{path} fetched: {seen:?}\n{log}"
        );
    }
    let entries: Vec<&String> = seen.iter().filter(|p| p.starts_with("/ID/")).collect();
    assert!(!entries.is_empty(), "entries fetched: {seen:?}\n{log}");
    for e in &entries {
        assert!(
            ["GO-2021-0068", "GO-2023-1840", "GO-2023-2102"]
                .iter()
                .any(|id| e.as_str() == format!("/ID/{id}.json.gz")),
            "only the entries of stdlib and toolchain are needed: {seen:?}"
        );
    }
}

/// The requests of a run whose cached copy was restored: the freshness check alone.
fn assert_only_the_freshness_check(seen: &[String], log: &str) {
    assert_eq!(
        seen,
        ["/index/db.json.gz"],
        "a restored cache refetches nothing\n{log}"
    );
}

/// Every `binary.vuln` check of a run passed against `db`: the binary was matched against the
/// database's advisories, and none holds.
fn assert_scanned_clean(vuln: &[String], db: &str, log: &str) {
    assert!(!vuln.is_empty(), "binary.vuln checks\n{log}");
    for v in vuln {
        assert!(
            v.starts_with("pass ")
                && v.contains("advisories for the Go standard library")
                && v.contains(&format!("Database: {db} (modified ")),
            "{v}\n{log}"
        );
    }
}

/// Every `binary.vuln` check of a run is skipped: the database could not be read.
fn assert_not_scanned(vuln: &[String], db: &str, log: &str) {
    assert!(!vuln.is_empty(), "binary.vuln checks\n{log}");
    for v in vuln {
        assert!(
            v.starts_with("skip ") && v.contains("not scanned") && v.contains(db),
            "{v}\n{log}"
        );
    }
}

/// `binary.vuln` as the act workflows print it: `<status> <target> <message>`, sorted.
fn act_vuln_lines(log: &str) -> Vec<String> {
    let mut v: Vec<String> = log
        .lines()
        .filter_map(|l| {
            l.find("| vuln: ")
                .map(|i| l[i + 8..].trim_end().to_string())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// `binary.vuln` of a goready result file: `<status> <target> <message>`, sorted.
fn report_vuln_lines(report: &[u8]) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_slice(report).unwrap();
    let mut v: Vec<String> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "binary.vuln")
        .map(|c| {
            format!(
                "{} {} {}",
                c["status"].as_str().unwrap_or(""),
                c["target"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    v.sort();
    v
}

/// goready's cache folder of the database at `url` inside `root` (one per URL, named after
/// its host and port). `owned`: removed when dropped (act runs on the host, so the action's
/// `~/.cache/goready/vulndb` is this machine's).
struct CacheFolder {
    root: PathBuf,
    prefix: String,
    owned: bool,
}

impl CacheFolder {
    fn new(root: PathBuf, url: &str, owned: bool) -> CacheFolder {
        let host = url.split_once("://").unwrap().1.replace(':', "_");
        CacheFolder {
            root,
            prefix: format!("{host}-"),
            owned,
        }
    }

    fn found(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&self.prefix))
            .map(|e| e.path())
            .collect()
    }

    fn remove(&self) {
        for dir in self.found() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

impl Drop for CacheFolder {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        for dir in self.found() {
            let _ = std::fs::remove_dir_all(dir);
        }
        // The folder itself only when nothing else is in it (goready made it for this test).
        let _ = std::fs::remove_dir(&self.root);
    }
}

#[test]
#[ignore = "drives act (ci/install-tools.sh installs it) for minutes; .ci/run runs it with --include-ignored"]
fn the_action_under_act_downloads_builds_keeps_and_restores_the_baseline_and_comments() {
    let act = tool_path("act");
    let cache_sha = cache_action_sha();
    let cache_dir = action_folder("actions/cache", &cache_sha);
    let baseline = cache_dir.is_some();

    let work = tempfile::tempdir().unwrap();
    // Without the official cache action: its restore/save (the baseline's) only fail, and
    // never run under `baseline: off`; the plain one (build mode's binary cache) caches
    // nothing and says so, so the build runs every time.
    let unavailable = work.path().join("actions-cache-unavailable");
    for (sub, run) in [
        (
            "",
            "echo 'actions/cache is not on this machine: nothing cached'",
        ),
        (
            "restore",
            "echo '::error::the official actions/cache is not on this machine'; exit 1",
        ),
        (
            "save",
            "echo '::error::the official actions/cache is not on this machine'; exit 1",
        ),
    ] {
        let dir = unavailable.join(sub);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("action.yml"),
            format!(
                "name: unavailable\ndescription: the official actions/cache is not on this \
                 machine\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      \
                 run: {run:?}\n"
            ),
        )
        .unwrap();
    }
    let tag = pinned_release();
    let mirror_root = work.path().join("mirror");
    release(&mirror_root, "goready/goready", &tag, &asset_os_arch());
    let mirror = format!(
        "file://{}",
        mirror_root
            .join("goready/goready/releases/download")
            .display()
    );
    // The action as `goready/goready@<tag>` resolves: its action.yml (download mode reads
    // nothing else).
    let goready_action = work.path().join("goready-action");
    std::fs::create_dir_all(&goready_action).unwrap();
    copy_from_repo(&goready_action, &["action.yml"]);

    // The user's repository: hello-svc, and (for `uses: ./`) this action's source.
    let repo = work.path().join("repo");
    std::fs::create_dir_all(repo.join(".github/workflows")).unwrap();
    for wf in ["github-download", "github-build"] {
        let text =
            std::fs::read_to_string(common::repo().join(format!("tests/emulators/{wf}.yml")))
                .unwrap();
        let text = if baseline {
            text
        } else {
            let with = "          working-directory: hello-svc\n";
            assert!(text.contains(with), "{wf}.yml: {with:?}");
            text.replacen(with, &format!("{with}          baseline: \"off\"\n"), 1)
        };
        std::fs::write(repo.join(format!(".github/workflows/{wf}.yml")), text).unwrap();
    }
    // What `uses: ./` builds from besides src/: docs/checks.md is compiled in.
    std::fs::create_dir_all(repo.join("docs")).unwrap();
    std::fs::copy(
        common::repo().join("docs/checks.md"),
        repo.join("docs/checks.md"),
    )
    .unwrap();
    let sha = project(
        &repo,
        &[
            "examples/hello-svc",
            "action.yml",
            "Cargo.toml",
            "Cargo.lock",
            "src",
        ],
        "https://github.com/octo-org/hello-svc.git",
    );

    let forge = forge::Forge::start();
    forge.token(GITHUB_TOKEN, forge::Perm::Write);
    let act = Act {
        act,
        repo: &repo,
        work: work.path(),
        forge: &forge,
        mirror,
        goready_action: &goready_action,
        cache_action: (
            cache_sha.as_str(),
            cache_dir.as_deref().unwrap_or(&unavailable),
        ),
    };

    // The database the workflows point goready at, and where goready keeps it on this host.
    let db = vuln_db(work.path());
    let cached = CacheFolder::new(
        PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/goready/vulndb"),
        &db.url,
        true,
    );

    // 1. push to main, download mode: checks pass, the result is kept as main's baseline; the
    //    vulnerability database is fetched and cached.
    let run = act.run("github-download", "push", &push_event(&sha), &db.url);
    let log = text(&run);
    assert!(run.status.success(), "act push (download):\n{log}");
    assert_fetched_the_database(&db.take(), &log);
    let vuln = act_vuln_lines(&log);
    assert_scanned_clean(&vuln, &db.url, &log);
    assert!(
        !cached.found().is_empty(),
        "goready kept the database in the folder the action caches\n{log}"
    );
    if baseline {
        assert!(
            log.to_lowercase()
                .contains("cache saved with key: goready-vulndb-linux-"),
            "the database is saved\n{log}"
        );
    }
    // A hosted runner starts from a clean machine: only the cache can bring it back.
    cached.remove();
    assert!(
        log.contains(&format!(
            "goready: downloading goready-{tag}-{}",
            asset_os_arch()
        )),
        "{log}"
    );
    assert!(log.contains("outputs: passed=true failed=0"), "{log}");
    let main_report = after(&log, "report sha256:")
        .expect("the report's hash")
        .to_string();
    if baseline {
        assert_eq!(
            after(&log, "baseline sha256:"),
            Some(main_report.as_str()),
            "the kept baseline is main's result\n{log}"
        );
    }
    assert!(!log.contains(GITHUB_TOKEN), "the token leaked:\n{log}");
    assert!(forge.comments(7).is_empty(), "no comment on a push\n{log}");
    // check-run: auto — the push's commit gets the goready check run, completed.
    let runs = forge.check_runs();
    assert_eq!(runs.len(), 1, "one check run on the push\n{log}");
    assert_eq!(runs[0].name, "goready");
    assert_eq!(runs[0].head_sha, sha);
    assert_eq!(runs[0].status, "completed");
    assert_eq!(runs[0].conclusion.as_deref(), Some("success"), "{log}");

    // 2. a pull request into main, download mode: main's newest result is restored and handed
    //    to goready; one comment on the stand-in.
    let run = act.run(
        "github-download",
        "pull_request",
        &pull_request_event(7, &sha),
        &db.url,
    );
    let log = text(&run);
    assert!(run.status.success(), "act pull_request (download):\n{log}");
    // The database comes back from the cache: the server is asked only whether it changed.
    if baseline {
        assert!(
            log.to_lowercase()
                .contains("cache restored from key: goready-vulndb-linux-"),
            "{log}"
        );
        assert_only_the_freshness_check(&db.take(), &log);
    } else {
        assert_fetched_the_database(&db.take(), &log);
    }
    assert_eq!(
        act_vuln_lines(&log),
        vuln,
        "the same result from the restored database\n{log}"
    );
    if baseline {
        assert!(
            // act's cache server, like GitHub's, matches keys without regard to case.
            log.to_lowercase()
                .contains("goready: baseline restored from cache goready-baseline-linux-"),
            "{log}"
        );
        assert!(
            log.contains(&format!("-main-{sha}")),
            "keyed by branch and commit\n{log}"
        );
        assert_handed_over(&log);
        assert_eq!(
            after(&log, "baseline sha256:"),
            Some(main_report.as_str()),
            "the restored baseline is main's result\n{log}"
        );
    }
    assert!(log.contains("outputs: passed=true failed=0"), "{log}");
    assert!(!log.contains(GITHUB_TOKEN), "the token leaked:\n{log}");
    let comments = forge.comments(7);
    assert_eq!(comments.len(), 1, "{log}");
    assert!(comments[0].body.contains("<!-- goready:report -->"));
    // The pull request's head commit (the event's pull_request.head.sha) gets the check run,
    // and the comment links to it.
    let runs = forge.check_runs();
    assert_eq!(runs.len(), 2, "{log}");
    let pr_run = &runs[1];
    assert_eq!(pr_run.head_sha, sha);
    assert_eq!(pr_run.conclusion.as_deref(), Some("success"), "{log}");
    assert!(
        pr_run.statuses.first().map(String::as_str) == Some("in_progress"),
        "in progress while the report is written: {:?}",
        pr_run.statuses
    );
    assert!(
        comments[0].body.contains(&format!(
            "[goready check run](https://github.com/octo-org/hello-svc/runs/{})",
            pr_run.id
        )),
        "{}",
        comments[0].body
    );

    // 3. the same pull request, build mode: goready built from source; the comment is
    //    updated, never a second one. The database cannot be reached this time: the scan is a
    //    skipped check that says why, and the run passes.
    let offline = unreachable_db();
    let run = act.run(
        "github-build",
        "pull_request",
        &pull_request_event(7, &sha),
        &offline,
    );
    let log = text(&run);
    assert!(run.status.success(), "act pull_request (build):\n{log}");
    assert_not_scanned(&act_vuln_lines(&log), &offline, &log);
    assert!(db.take().is_empty());
    assert!(
        log.contains("cargo build --release") || log.contains("Compiling goready"),
        "{log}"
    );
    assert!(log.contains("outputs: passed=true failed=0"), "{log}");
    if baseline {
        assert!(
            // act's cache server, like GitHub's, matches keys without regard to case.
            log.to_lowercase()
                .contains("goready: baseline restored from cache goready-baseline-linux-"),
            "{log}"
        );
        assert_handed_over(&log);
    }
    assert!(!log.contains(GITHUB_TOKEN), "the token leaked:\n{log}");
    let comments = forge.comments(7);
    assert_eq!(comments.len(), 1, "one sticky comment\n{log}");
    assert!(
        comments[0].updated > comments[0].created,
        "updated in place"
    );
    assert_eq!(
        forge.check_runs().len(),
        3,
        "one check run per workflow run\n{log}"
    );
}

const JOB_TOKEN: &str = "glcbt-jobToken0123456789abcdef";
const GITLAB_TOKEN: &str = "glpat-noteToken0123456789abcdef";

/// One gitlab-ci-local pipeline of the project in `dir`.
fn gitlab_ci_local(
    dir: &Path,
    forge: &forge::Forge,
    mirror: &str,
    vars: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(tool_path("gitlab-ci-local"));
    // gitlab-ci-local takes the project from its working directory (--cwd must be relative).
    cmd.arg("goready")
        .arg("--shell-isolation")
        .args(["--variable", &format!("CI_API_V4_URL={}/api/v4", forge.url)])
        .args(["--variable", "CI_PROJECT_ID=12"])
        .args(["--variable", &format!("CI_JOB_TOKEN={JOB_TOKEN}")])
        .args(["--variable", &format!("GITLAB_TOKEN={GITLAB_TOKEN}")])
        .args(["--variable", &format!("GOREADY_DOWNLOAD_URL={mirror}")])
        .args([
            "--variable",
            &format!("GOREADY_BIN_DIR={}", dir.join(".bin").display()),
        ])
        .args(["--variable", "GOREADY_DIR=hello-svc"])
        .args(["--variable", "GOREADY_TARGETS=linux/amd64"])
        .current_dir(dir);
    for (k, v) in vars {
        cmd.args(["--variable", &format!("{k}={v}")]);
    }
    for v in reportkit::CI_VARS {
        cmd.env_remove(v);
    }
    cmd.output().expect("run gitlab-ci-local")
}

#[test]
#[ignore = "drives gitlab-ci-local (ci/install-tools.sh installs it); .ci/run runs it with --include-ignored"]
fn the_gitlab_template_under_gitlab_ci_local_fetches_the_target_branch_baseline_and_notes() {
    tool_path("gitlab-ci-local");
    tool_path("rsync");
    let work = tempfile::tempdir().unwrap();
    let tag = pinned_release();
    let mirror_root = work.path().join("mirror");
    release(&mirror_root, "dl", &tag, &asset_os_arch());
    let mirror = format!(
        "file://{}",
        mirror_root.join("dl/releases/download").display()
    );

    // The template as a project includes it, with the job's image: left out (shell executor).
    let dir = work.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    let template = std::fs::read_to_string(common::repo().join("examples/gitlab-ci.yml")).unwrap();
    let image = regex::Regex::new(r"(?m)^  image: .*\n").unwrap();
    assert!(image.is_match(&template), "the template names an image");
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        image.replace(&template, "").as_ref(),
    )
    .unwrap();
    std::fs::write(
        dir.join(".gitignore"),
        ".gitlab-ci-local/\n.bin/\n.goready-baseline.json\n",
    )
    .unwrap();
    project(
        &dir,
        &["examples/hello-svc"],
        "https://gitlab.example/octo/hello-svc.git",
    );

    let forge = forge::Forge::start();
    forge.job_token(JOB_TOKEN);
    forge.token(GITLAB_TOKEN, forge::Perm::Write);

    // The database the pipelines point goready at (a CI/CD variable, as a user names a mirror).
    let db = vuln_db(work.path());

    // 1. the default branch's pipeline: the checks pass, goready.json is the job's artifact;
    //    the vulnerability database is fetched and kept in the job's cache.
    let run = gitlab_ci_local(&dir, &forge, &mirror, &[("GOREADY_VULN_DB", &db.url)]);
    let log = text(&run);
    assert!(run.status.success(), "main pipeline:\n{log}");
    assert_fetched_the_database(&db.take(), &log);
    assert!(
        log.contains("exported cache .goready-vulndb/ 'goready-vulndb'"),
        "the template's cache is saved\n{log}"
    );
    let cache = dir.join(".gitlab-ci-local/cache/goready-vulndb/.goready-vulndb");
    assert!(
        CacheFolder::new(cache.clone(), &db.url, false)
            .found()
            .len()
            == 1,
        "the database is in the cache ({})\n{log}",
        cache.display()
    );
    assert!(
        !log.contains("GOREADY_REPORT_BASELINE="),
        "no baseline on main\n{log}"
    );
    let artifact = std::fs::read(dir.join(".gitlab-ci-local/artifacts/goready/goready.json"))
        .unwrap_or_else(|e| panic!("the job's goready.json artifact: {e}\n{log}"));
    assert!(
        !log.contains(GITLAB_TOKEN) && !log.contains(JOB_TOKEN),
        "{log}"
    );
    let vuln = report_vuln_lines(&artifact);
    assert_scanned_clean(&vuln, &db.url, &log);
    // GitLab keeps it; the stand-in serves it as main's newest.
    forge.artifact("12", "main", "goready", "goready.json", &artifact);

    let mr = |target: &str| {
        vec![
            ("CI_PIPELINE_SOURCE", "merge_request_event".to_string()),
            ("CI_MERGE_REQUEST_IID", "5".to_string()),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", target.to_string()),
            ("CI_COMMIT_BRANCH", "feature".to_string()),
        ]
    };
    let vars = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> { v.to_vec() };

    // 2. a merge request into main: main's goready.json is fetched with the job token and
    //    handed to goready; the MR note is posted.
    //    The job starts in a fresh folder: the database comes back from the cache, and the
    //    server is asked only whether it changed.
    forge.clear_seen();
    let mut v = vars(&mr("main"));
    v.push(("GOREADY_VULN_DB", db.url.clone()));
    let v: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = gitlab_ci_local(&dir, &forge, &mirror, &v);
    let log = text(&run);
    assert!(run.status.success(), "MR pipeline:\n{log}");
    assert!(log.contains("imported cache 'goready-vulndb'"), "{log}");
    assert_only_the_freshness_check(&db.take(), &log);
    let report = std::fs::read(dir.join(".gitlab-ci-local/artifacts/goready/goready.json"))
        .unwrap_or_else(|e| panic!("the job's goready.json artifact: {e}\n{log}"));
    assert_eq!(
        report_vuln_lines(&report),
        vuln,
        "the same result from the restored database\n{log}"
    );
    assert!(
        log.contains("goready: baseline: goready.json of job goready on main"),
        "{log}"
    );
    assert_handed_over(&log);
    let fetched = forge
        .seen()
        .into_iter()
        .find(|s| s.url.contains("/jobs/artifacts/"))
        .expect("the artifacts API was asked");
    assert_eq!(fetched.method, "GET");
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.header("job-token"), Some(JOB_TOKEN));
    assert!(
        fetched
            .url
            .starts_with("/api/v4/projects/12/jobs/artifacts/%6d%61%69%6e/raw/goready.json?job="),
        "{}",
        fetched.url
    );
    // The isolated shell executor runs in its build folder: CI_PROJECT_DIR.
    let handed = std::fs::read(dir.join(".gitlab-ci-local/builds/goready/.goready-baseline.json"))
        .unwrap_or_else(|e| panic!("the baseline file in CI_PROJECT_DIR: {e}\n{log}"));
    assert_eq!(handed, artifact, "the baseline is main's goready.json");
    let notes = forge.comments(5);
    assert_eq!(notes.len(), 1, "{log}");
    assert!(
        !log.contains(GITLAB_TOKEN) && !log.contains(JOB_TOKEN),
        "{log}"
    );

    // 3. a merge request into a branch with no result yet: said, and judged without one. The
    //    database cannot be reached: the scan is a skipped check that says why.
    forge.clear_seen();
    let offline = unreachable_db();
    let mut v = vars(&mr("release/1.x"));
    v.push(("GOREADY_VULN_DB", offline.clone()));
    let v: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = gitlab_ci_local(&dir, &forge, &mirror, &v);
    let log = text(&run);
    assert!(
        run.status.success(),
        "MR pipeline without a baseline:\n{log}"
    );
    let report = std::fs::read(dir.join(".gitlab-ci-local/artifacts/goready/goready.json"))
        .unwrap_or_else(|e| panic!("the job's goready.json artifact: {e}\n{log}"));
    assert_not_scanned(&report_vuln_lines(&report), &offline, &log);
    assert!(db.take().is_empty());
    assert!(
        log.contains(
            "goready: no goready.json of job goready on release/1.x yet: judged without a baseline"
        ),
        "{log}"
    );
    let asked = forge
        .seen()
        .into_iter()
        .find(|s| s.url.contains("/jobs/artifacts/"))
        .expect("the artifacts API was asked");
    assert_eq!(asked.status, 404);
    assert!(
        asked.url.contains("%2f"),
        "the branch's '/' is encoded: {}",
        asked.url
    );
    assert_eq!(
        forge.comments(5).len(),
        1,
        "the note is updated, not repeated"
    );
}
