//! action.yml, the workflows and the GitLab template: validated with check-jsonschema's
//! vendored GitHub/GitLab schemas, audited by zizmor (offline) with no findings, and their
//! scripts run for real — the action's steps are taken out of action.yml and run with bash and
//! the goready binary under test, against local servers for the release download and the
//! GitHub API.

mod common;
mod forge;
mod reportkit;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use reportkit::*;
use serde_json::Value;

fn repo() -> PathBuf {
    common::repo()
}

fn workflows() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    v.sort();
    v
}

#[test]
fn workflows_action_and_gitlab_template_match_their_schemas() {
    let files = workflows();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "ci.yml",
        "example.yml",
        "example-comment.yml",
        "release.yml",
    ] {
        assert!(names.iter().any(|n| n == want), "missing workflow {want}");
    }
    tool_ok(
        tool("check-jsonschema")
            .args(["--builtin-schema", "vendor.github-workflows"])
            .args(&files)
            .arg(repo().join("tests/emulators/github-download.yml"))
            .arg(repo().join("tests/emulators/github-build.yml")),
    );
    tool_ok(
        tool("check-jsonschema")
            .args(["--builtin-schema", "vendor.github-actions"])
            .arg(repo().join("action.yml")),
    );
    tool_ok(
        tool("check-jsonschema")
            .args(["--builtin-schema", "vendor.gitlab-ci"])
            .arg(repo().join("examples/gitlab-ci.yml")),
    );
}

#[test]
fn zizmor_reports_no_findings() {
    let out = tool("zizmor")
        .args(["--offline", "--format", "json", "--persona", "auditor"])
        .arg(repo())
        // The workflows the act tests run, as a user's repository would hold them.
        .arg(repo().join("tests/emulators/github-download.yml"))
        .arg(repo().join("tests/emulators/github-build.yml"))
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "zizmor printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(
        findings.as_array().map(Vec::len),
        Some(0),
        "zizmor findings:\n{}",
        serde_json::to_string_pretty(&findings).unwrap()
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `run:` script, with where it is.
fn scripts(doc: &Value, origin: &str, out: &mut Vec<(String, String)>) {
    match doc {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "run" {
                    if let Some(s) = v.as_str() {
                        out.push((origin.to_string(), s.to_string()));
                    }
                }
                scripts(v, &format!("{origin}.{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                scripts(v, &format!("{origin}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn no_expression_is_expanded_inside_a_script() {
    let mut all = Vec::new();
    scripts(&action(), "action.yml", &mut all);
    for wf in workflows() {
        scripts(&yaml(&wf), &wf.display().to_string(), &mut all);
    }
    assert!(all.len() > 8, "{all:?}");
    for (origin, script) in &all {
        assert!(
            !script.contains("${{"),
            "{origin}: an expression inside run: is expanded before the shell sees it; pass it through env:\n{script}"
        );
    }
    // The action's outputs are goready's own step outputs.
    let outputs = &action()["outputs"];
    for name in ["passed", "failed", "junit", "report"] {
        assert_eq!(
            outputs[name]["value"],
            format!("${{{{ steps.run.outputs.{name} }}}}"),
            "{name}"
        );
    }
}

fn outputs(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_action_downloads_release_tags_and_builds_anything_else() {
    let action = action();
    let script = step(&action, "how")["run"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = |out: &Path| {
        vec![
            ("ACTION_PATH", repo().display().to_string()),
            ("RUNNER_OS", "Linux".to_string()),
            ("RUNNER_ARCH", "X64".to_string()),
            ("RUNNER_TEMP", dir.path().display().to_string()),
            ("GITHUB_OUTPUT", out.display().to_string()),
            ("ACTION_REPO", "goready/goready".to_string()),
            ("WANTED", String::new()),
        ]
    };
    let case = |name: &str, extra: &[(&str, &str)]| {
        let out = dir.path().join(format!("{name}.out"));
        let mut env = base(&out);
        for (k, v) in extra {
            env.retain(|(n, _)| n != k);
            env.push((k, v.to_string()));
        }
        let run = run_step(script, dir.path(), &env);
        (run, outputs(&out))
    };
    let (run, out) = case("tag", &[("ACTION_REF", "v1.4.2")]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert_eq!(out["mode"], "download");
    assert_eq!(out["tag"], "v1.4.2");

    let (_, sha) = case(
        "sha",
        &[("ACTION_REF", "3d3c42e5aac5ba805825da76410c181273ba90b1")],
    );
    assert_eq!(sha["mode"], "build");
    let (_, local) = case("local", &[("ACTION_REF", ""), ("ACTION_REPO", "")]);
    assert_eq!(local["mode"], "build");
    assert!(local["key"].starts_with("goready-Linux-X64-"), "{local:?}");
    assert_eq!(
        sha["key"], local["key"],
        "the cache key is the source, not the ref"
    );

    let (_, wanted) = case("wanted", &[("ACTION_REF", "main"), ("WANTED", "v0.9.0")]);
    assert_eq!(wanted["tag"], "v0.9.0");
    let (run, out) = case(
        "hostile",
        &[("ACTION_REF", "main"), ("WANTED", "v1.0.0; touch pwned")],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(out.is_empty());
    assert!(!dir.path().join("pwned").exists());
    assert!(
        String::from_utf8_lossy(&run.stdout)
            .contains("::error title=goready::goready-version must look like v1.2.3")
    );
}

/// Serves files from a directory over HTTP on 127.0.0.1, as a release download host.
struct Files {
    url: String,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Files {
    fn serve(root: PathBuf) -> Files {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!(
            "http://127.0.0.1:{}",
            server.server_addr().to_ip().unwrap().port()
        );
        let s = server.clone();
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let path = root.join(req.url().trim_start_matches('/'));
                let _ = match std::fs::read(&path) {
                    Ok(bytes) => req.respond(tiny_http::Response::from_data(bytes)),
                    Err(_) => req.respond(tiny_http::Response::empty(404)),
                };
            }
        });
        Files {
            url,
            server,
            thread: Some(thread),
        }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn the_action_installs_a_release_only_when_its_checksum_matches() {
    // release.yml and the action must agree on the asset name.
    let release_yml =
        std::fs::read_to_string(repo().join(".github/workflows/release.yml")).unwrap();
    assert!(release_yml.contains("goready-${TAG}-${OS}-${ARCH}.tar.gz"));
    assert!(release_yml.contains("sha256sum goready-* > SHA256SUMS"));

    let action = action();
    let script = step(&action, "download")["run"].as_str().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = release(root.path(), "goready/goready", "v0.1.0", "linux-x64");
    let files = Files::serve(root.path().to_path_buf());
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("bin");
    let env = vec![
        ("RUNNER_OS", "Linux".to_string()),
        ("RUNNER_ARCH", "X64".to_string()),
        ("RUNNER_TEMP", work.path().display().to_string()),
        (
            "DOWNLOAD_URL",
            format!("{}/goready/goready/releases/download/", files.url),
        ),
        ("ACTION_REPO", "goready/goready".to_string()),
        ("TAG", "v0.1.0".to_string()),
        ("BIN", bin.display().to_string()),
    ];
    let run = run_step(script, work.path(), &env);
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let installed = bin.join("goready");
    let version = common::run_ok(Command::new(&installed).arg("--version"));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("goready "));

    // download-url names a mirror: a folder on the runner (file://) works as well as https.
    std::fs::remove_dir_all(&bin).unwrap();
    let mut mirror = env.clone();
    mirror.retain(|(k, _)| *k != "DOWNLOAD_URL");
    let folder = root.path().join("goready/goready/releases/download");
    mirror.push(("DOWNLOAD_URL", format!("file://{}", folder.display())));
    let run = run_step(script, work.path(), &mirror);
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains(&format!(
        "goready: downloading goready-v0.1.0-linux-x64.tar.gz from file://{}/v0.1.0",
        folder.display()
    )));
    common::run_ok(Command::new(&installed).arg("--version"));

    // A tampered asset is refused.
    std::fs::remove_dir_all(&bin).unwrap();
    let asset = dir.join("goready-v0.1.0-linux-x64.tar.gz");
    let mut bytes = std::fs::read(&asset).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&asset, bytes).unwrap();
    let run = run_step(script, work.path(), &env);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stdout).contains("checksum mismatch"));
    assert!(!bin.join("goready").exists());

    // An OS/arch without a release says so.
    let mut arm = env.clone();
    arm.retain(|(k, _)| *k != "RUNNER_ARCH");
    arm.push(("RUNNER_ARCH", "ARM64".to_string()));
    let run = run_step(script, work.path(), &arm);
    assert!(!run.status.success());
}

#[test]
fn the_gitlab_template_installs_a_checked_release() {
    let doc = yaml(&repo().join("examples/gitlab-ci.yml"));
    let job = &doc[".goready"];
    assert_eq!(job["artifacts"]["reports"]["junit"], "goready-junit.xml");
    assert_eq!(
        job["artifacts"]["reports"]["codequality"],
        "gl-code-quality-report.json"
    );
    let script: String = job["before_script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string() + "\n")
        .collect();
    let main: String = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string() + "\n")
        .collect();
    assert!(main.contains("--gitlab-codequality \"$CI_PROJECT_DIR/gl-code-quality-report.json\""));
    assert!(main.contains("--junit \"$CI_PROJECT_DIR/goready-junit.xml\""));
    assert!(main.contains("--gitlab-note"));
    if std::env::consts::ARCH != "x86_64" {
        return; // the fixture release below is for linux-x64
    }
    let root = tempfile::tempdir().unwrap();
    release(root.path(), "dl", "v0.1.0", "linux-x64");
    let files = Files::serve(root.path().to_path_buf());
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("bin");
    let vars = &job["variables"];
    let run = run_step(
        &script,
        work.path(),
        &[
            (
                "GOREADY_RELEASE",
                vars["GOREADY_RELEASE"].as_str().unwrap().to_string(),
            ),
            (
                "GOREADY_DOWNLOAD_URL",
                format!("{}/dl/releases/download", files.url),
            ),
            ("GOREADY_BIN_DIR", bin.display().to_string()),
        ],
    );
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    common::run_ok(Command::new(bin.join("goready")).arg("--version"));
}

/// A temporary folder whose `bin/` holds this build's goready, as a CI step finds it on PATH.
fn work_with_goready() -> (tempfile::TempDir, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_goready"), bin.join("goready")).unwrap();
    (work, bin)
}

#[test]
fn the_action_reports_result_files_and_posts_the_comment_for_a_fork_pr() {
    // The last step of example-comment.yml: `results:` + `pr-number:` → goready report.
    let action = action();
    let script = step(&action, "run")["run"].as_str().unwrap();
    let (work, bin) = work_with_goready();
    let result = write(work.path(), "goready.json", &test_report());
    let gh_out = work.path().join("gh-output");
    let forge = forge::Forge::start();
    let token = "ghs_actionStepToken0123456789abcdef";
    forge.token(token, forge::Perm::Write);
    let env = |pr: &str| {
        vec![
            ("BIN", bin.display().to_string()),
            ("RUNNER_OS", "Linux".to_string()),
            ("RUNNER_TEMP", work.path().display().to_string()),
            ("CONFIG", String::new()),
            ("FAIL_ON", "error".to_string()),
            ("PR_COMMENT", "true".to_string()),
            ("PR_NUMBER", pr.to_string()),
            ("RESULTS", result.display().to_string()),
            ("JUNIT", "goready-junit.xml".to_string()),
            ("SARIF", String::new()),
            ("EVENT_NAME", "workflow_run".to_string()),
            ("GITHUB_TOKEN", token.to_string()),
            ("GOREADY_TARGETS", String::new()),
            ("GOREADY_CGO", String::new()),
            ("GOREADY_VERSION", String::new()),
            ("GITHUB_OUTPUT", gh_out.display().to_string()),
            ("GITHUB_API_URL", forge.url.clone()),
            ("GITHUB_REPOSITORY", "octo-org/hello-svc".to_string()),
        ]
    };
    let run = run_step(script, work.path(), &env("31"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(1),
        "the report's verdict\n{stdout}{stderr}"
    );
    assert!(!stdout.contains(token) && !stderr.contains(token));
    assert!(
        stdout.contains("::error file=examples/hello-svc/main_test.go,line=41"),
        "{stdout}"
    );
    let comments = forge.comments(31);
    assert_eq!(comments.len(), 1, "{stderr}");
    assert!(comments[0].body.contains("TestHello"));
    let out = outputs(&gh_out);
    assert_eq!(out["passed"], "false");
    assert_eq!(out["failed"], "1");
    assert!(out["junit"].ends_with("goready-junit.xml"));
    assert!(Path::new(&out["report"]).is_file());

    // A PR number that is not a number never reaches goready.
    forge.clear_seen();
    let run = run_step(script, work.path(), &env("31 --token-env HOME"));
    assert_eq!(run.status.code(), Some(2));
    assert!(forge.seen().is_empty());
}

#[test]
fn the_action_step_publishes_the_check_run_on_the_pull_requests_head_commit() {
    // The run step of action.yml with `results:` on a pull_request event: `check-run: auto`
    // (the default) reaches goready, which creates the check run on the stand-in.
    let action = action();
    let script = step(&action, "run")["run"].as_str().unwrap();
    let (work, bin) = work_with_goready();
    let result = write(work.path(), "goready.json", &test_report());
    let head = "a1b2c3d4e5f60718293a4b5c6d7e8f9011121314";
    let event = work.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"pull_request": {"number": 8, "head": {"sha": head,
            "repo": {"full_name": "octo-org/hello-svc", "fork": false}},
            "base": {"repo": {"full_name": "octo-org/hello-svc"}}}})
        .to_string(),
    )
    .unwrap();
    let forge = forge::Forge::start();
    let token = "ghs_actionStepToken0123456789abcdef";
    forge.token(token, forge::Perm::Write);
    let env = |check_run: &str| {
        let mut v = vec![
            ("BIN", bin.display().to_string()),
            ("RUNNER_OS", "Linux".to_string()),
            ("RUNNER_TEMP", work.path().display().to_string()),
            ("CONFIG", String::new()),
            ("FAIL_ON", "error".to_string()),
            ("PR_COMMENT", "false".to_string()),
            ("PR_NUMBER", String::new()),
            ("RESULTS", result.display().to_string()),
            ("JUNIT", "goready-junit.xml".to_string()),
            ("SARIF", String::new()),
            ("EVENT_NAME", "pull_request".to_string()),
            ("GITHUB_TOKEN", token.to_string()),
            ("GITHUB_API_URL", forge.url.clone()),
            ("GITHUB_REPOSITORY", "octo-org/hello-svc".to_string()),
            ("GITHUB_EVENT_PATH", event.display().to_string()),
            (
                "GITHUB_SHA",
                "ffffeeeeddddccccbbbbaaaa9999888877776666".to_string(),
            ),
        ];
        if !check_run.is_empty() {
            v.push(("CHECK_RUN", check_run.to_string()));
        }
        v
    };
    // The input's default.
    let run = run_step(script, work.path(), &env(""));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains(token) && !stderr.contains(token));
    let runs = forge.check_runs();
    assert_eq!(runs.len(), 1, "{stderr}");
    assert_eq!(runs[0].head_sha, head);
    assert_eq!(runs[0].conclusion.as_deref(), Some("failure"));
    assert_eq!(runs[0].annotations.len(), 1);
    assert_eq!(
        runs[0].annotations[0]["path"],
        "examples/hello-svc/main_test.go"
    );
    assert!(
        !stdout.contains("::error file="),
        "the check run carries the annotation\n{stdout}"
    );

    // `false`: nothing is sent, the workflow commands carry the findings.
    forge.clear_seen();
    let run = run_step(script, work.path(), &env("false"));
    assert_eq!(run.status.code(), Some(1));
    assert!(forge.seen().is_empty());
    assert!(
        String::from_utf8_lossy(&run.stdout)
            .contains("::error file=examples/hello-svc/main_test.go,line=41")
    );

    // Anything else never reaches goready.
    let run = run_step(script, work.path(), &env("--token-env HOME"));
    assert_eq!(run.status.code(), Some(2));
    assert!(forge.seen().is_empty());
    assert_eq!(forge.check_runs().len(), 1);
}

/// The release version is written in Cargo.toml and, for users to copy, in action.yml, the
/// GitLab template, README and docs/ci.md: every place that names a goready release names
/// this one, so a version bump cannot leave one behind.
#[test]
fn every_file_names_the_cargo_version_as_the_release() {
    let cargo = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let doc: toml::Table = cargo.parse().unwrap();
    let version = format!("v{}", doc["package"]["version"].as_str().unwrap());
    // Where a goready release is named: a pinned action, the template's raw URL and
    // GOREADY_RELEASE, goready-version, asset names, `@<sha> # vX` pins.
    let release = regex::Regex::new(
        r"(?:goready@(?:<sha> # )?|goready/goready/|GOREADY_RELEASE: |goready-version: |goready-)(v\d+\.\d+\.\d+)",
    )
    .unwrap();
    for file in [
        "action.yml",
        "examples/gitlab-ci.yml",
        "README.md",
        "docs/ci.md",
    ] {
        let text = std::fs::read_to_string(repo().join(file)).unwrap();
        let named: Vec<(usize, &str)> = release
            .captures_iter(&text)
            .map(|c| {
                let m = c.get(1).unwrap();
                (text[..m.start()].lines().count(), m.as_str())
            })
            .collect();
        assert!(!named.is_empty(), "{file} names no goready release");
        for (line, v) in named {
            assert_eq!(
                v, version,
                "{file}:{line} names release {v}, Cargo.toml is {version}"
            );
        }
    }
}

#[test]
fn the_action_keeps_the_baseline_on_the_default_branch_and_looks_it_up_on_pull_requests() {
    let action = action();
    let script = step(&action, "baseline")["run"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let case = |name: &str, vars: &[(&str, &str)]| {
        let out = dir.path().join(format!("{name}.out"));
        let mut env = vec![
            ("RUNNER_OS", "Linux".to_string()),
            ("HOME", dir.path().display().to_string()),
            ("GITHUB_OUTPUT", out.display().to_string()),
            ("BASELINE", "auto".to_string()),
            ("DEFAULT_BRANCH", "main".to_string()),
            (
                "SHA",
                "0123456789abcdef0123456789abcdef01234567".to_string(),
            ),
            ("WORKDIR", "services/api".to_string()),
            ("BASE_REF", String::new()),
            ("REF", String::new()),
            ("EVENT_NAME", String::new()),
        ];
        for (k, v) in vars {
            env.retain(|(n, _)| n != k);
            env.push((k, v.to_string()));
        }
        let run = run_step(script, dir.path(), &env);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        outputs(&out)
    };
    let push = case(
        "push",
        &[("EVENT_NAME", "push"), ("REF", "refs/heads/main")],
    );
    assert_eq!(push["save"], "true");
    let key = &push["key"];
    assert!(key.starts_with("goready-baseline-Linux-"), "{key}");
    assert!(
        key.ends_with("-main-0123456789abcdef0123456789abcdef01234567"),
        "keyed by branch and commit: {key}"
    );
    // The cache path is spelled with `~` (actions/cache versions a cache by it), the folder
    // is the same place.
    let module = push["path"]
        .strip_prefix("~/.cache/goready-baseline/")
        .unwrap_or_else(|| panic!("{push:?}"));
    assert_eq!(
        push["dir"],
        format!("{}/.cache/goready-baseline/{module}", dir.path().display())
    );

    let pr = case(
        "pr",
        &[
            ("EVENT_NAME", "pull_request"),
            ("REF", "refs/pull/7/merge"),
            ("BASE_REF", "main"),
        ],
    );
    assert_eq!(pr["restore"], "true");
    assert_eq!(pr["path"], push["path"]);
    // Whatever an earlier job left there never passes for the restored baseline.
    let stale = std::path::Path::new(&pr["dir"]).join("goready.json");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "{}").unwrap();
    case(
        "again",
        &[("EVENT_NAME", "pull_request"), ("BASE_REF", "main")],
    );
    assert!(!stale.exists());
    assert!(
        key.starts_with(&pr["prefix"]) && pr["prefix"].ends_with("-main-"),
        "the pull request's prefix finds main's key: {} / {key}",
        pr["prefix"]
    );
    assert!(!pr.contains_key("save"));

    // Another module of the same repository has its own baselines.
    let other = case(
        "other",
        &[
            ("EVENT_NAME", "pull_request"),
            ("BASE_REF", "main"),
            ("WORKDIR", "services/web"),
        ],
    );
    assert!(!key.starts_with(&other["prefix"]));

    // A push elsewhere keeps nothing; off does nothing; a path is passed on as it is.
    let feature = case(
        "feature",
        &[("EVENT_NAME", "push"), ("REF", "refs/heads/feature")],
    );
    assert!(feature.is_empty(), "{feature:?}");
    let off = case(
        "off",
        &[
            ("EVENT_NAME", "pull_request"),
            ("BASE_REF", "main"),
            ("BASELINE", "off"),
        ],
    );
    assert!(off.is_empty(), "{off:?}");
    let path = case(
        "path",
        &[
            ("EVENT_NAME", "pull_request"),
            ("BASE_REF", "main"),
            ("BASELINE", "base/goready.json"),
        ],
    );
    assert_eq!(path["file"], "base/goready.json");
    assert!(!path.contains_key("restore"));
}

#[test]
fn the_gitlab_template_fetches_the_target_branchs_result_as_the_baseline() {
    let doc = yaml(&repo().join("examples/gitlab-ci.yml"));
    let job = &doc[".goready"];
    assert_eq!(job["variables"]["GOREADY_BASELINE"], "auto");
    // The first script item fetches; the export reaches the next item (one shell).
    let fetch = job["script"][0].as_str().unwrap().to_string()
        + "\nprintf 'handed=%s\\n' \"${GOREADY_REPORT_BASELINE:-}\"\n";
    let forge = forge::Forge::start();
    let job_token = "glcbt-fetchToken0123456789";
    forge.job_token(job_token);
    let main_result = br#"{"schema":"goready/v1","marker":"main's result"}"#;
    forge.artifact("12", "main", "goready", "goready.json", main_result);
    let (work, bin) = work_with_goready();
    let env = |target: &str, token: &str, iid: &str| {
        vec![
            ("GOREADY_BIN_DIR", bin.display().to_string()),
            ("GOREADY_BASELINE", "auto".to_string()),
            ("CI_MERGE_REQUEST_IID", iid.to_string()),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", target.to_string()),
            ("CI_JOB_NAME", "goready".to_string()),
            ("CI_API_V4_URL", format!("{}/api/v4", forge.url)),
            ("CI_PROJECT_ID", "12".to_string()),
            ("CI_JOB_TOKEN", token.to_string()),
            ("CI_PROJECT_DIR", work.path().display().to_string()),
        ]
    };
    let base = work.path().join(".goready-baseline.json");
    let handed = format!("handed={}", base.display());

    let run = run_step(&fetch, work.path(), &env("main", job_token, "5"));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        out.contains("goready: baseline: goready.json of job goready on main"),
        "{out}"
    );
    assert!(out.contains(&handed), "{out}");
    assert_eq!(std::fs::read(&base).unwrap(), main_result);
    let asked = forge.seen().pop().unwrap();
    assert_eq!(asked.header("job-token"), Some(job_token));
    assert_eq!(
        asked.url,
        "/api/v4/projects/12/jobs/artifacts/%6d%61%69%6e/raw/goready.json?job=%67%6f%72%65%61%64%79"
    );

    // None yet on the target branch: said, handed over all the same (goready says it too).
    let run = run_step(&fetch, work.path(), &env("release/1.x", job_token, "5"));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success());
    assert!(
        out.contains(
            "goready: no goready.json of job goready on release/1.x yet: judged without a baseline"
        ),
        "{out}"
    );
    assert!(out.contains(&handed), "{out}");
    assert!(!base.exists(), "no stale baseline is left");
    assert_eq!(forge.seen().pop().unwrap().status, 404);

    // A token the API refuses is a warning, never a silent pass; the token is not printed.
    let run = run_step(&fetch, work.path(), &env("main", "glcbt-wrong", "5"));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success());
    assert!(
        out.contains("goready: WARNING: the baseline of main could not be read (HTTP 401)"),
        "{out}"
    );
    assert!(!out.contains("glcbt-"), "{out}");
    assert!(!base.exists());

    // Not a merge request: nothing is fetched.
    forge.clear_seen();
    let run = run_step(&fetch, work.path(), &env("", job_token, ""));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success());
    assert!(out.contains("handed=\n"), "{out}");
    assert!(forge.seen().is_empty());
}
