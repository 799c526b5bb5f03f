//! `goready check` end to end, and `goready init`.
//!
//! One full run on examples/hello-svc — through the GitHub Action's own `run` step, with a
//! real build of the default matrix, a real probe of the service it built and real
//! `go test` — is shared by the assertions on every output: the JUnit read back by
//! junitparser, the SARIF against the official 2.1.0 schema, Code Quality against GitLab's
//! rules, the job summary, the step outputs, annotations and the sticky PR comment on a local
//! forge. The other tests run small modules (one target) or `--dry-run`.

mod common;
mod forge;
mod reportkit;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use goready::model::{Report, Status};
use reportkit::*;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A small module: `files` as (path, contents).
fn module(root: &Path, files: &[(&str, &str)]) -> PathBuf {
    let dir = root.join("svc");
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const GO_MOD: &str = "module example.com/svc\n\ngo 1.24\n";

/// Go's name for this machine's architecture (the native target of the build matrix).
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(target_os = "linux")]
fn step_outputs(path: &Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Live processes started from an executable under `dir`.
#[cfg(target_os = "linux")]
fn processes_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(exe) = std::fs::read_link(entry.path().join("exe"))
            && exe.starts_with(dir)
        {
            found.push(format!(
                "{} {}",
                entry.file_name().to_string_lossy(),
                exe.display()
            ));
        }
    }
    found
}

fn checks<'a>(report: &'a Report, id: &str) -> Vec<&'a goready::model::Check> {
    report.checks.iter().filter(|c| c.id == id).collect()
}

#[cfg(target_os = "linux")]
#[test]
fn hello_svc_passes_goready_check_through_the_action_with_every_output() {
    const TOKEN: &str = "ghs_checkEndToEnd0123456789abcdef";
    let work = tempfile::tempdir().unwrap();
    let svc = hello_copy(work.path());
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_goready"), bin.join("goready")).unwrap();
    let runner_temp = work.path().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let gh_output = work.path().join("github-output");
    let summary = work.path().join("step-summary.md");
    let forge = forge::Forge::start();
    forge.token(TOKEN, forge::Perm::Write);

    // The action's `run` step, exactly as action.yml has it, in working-directory.
    let action = action();
    let script = step(&action, "run")["run"].as_str().unwrap().to_string();
    let env = vec![
        ("BIN", bin.display().to_string()),
        ("RUNNER_OS", "Linux".to_string()),
        ("RUNNER_TEMP", runner_temp.display().to_string()),
        ("CONFIG", String::new()),
        ("FAIL_ON", "error".to_string()),
        ("PR_COMMENT", "true".to_string()),
        ("PR_NUMBER", "7".to_string()),
        ("RESULTS", String::new()),
        ("JUNIT", "goready-junit.xml".to_string()),
        ("SARIF", "goready.sarif".to_string()),
        ("EVENT_NAME", "pull_request".to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
        // The action's inputs: no targets (the default matrix), a version that beats the
        // one in hello-svc's goready.toml.
        ("GOREADY_TARGETS", String::new()),
        ("GOREADY_CGO", String::new()),
        ("GOREADY_VERSION", "1.2.3".to_string()),
        // Code Quality is not an action input: any [report] setting is a variable too.
        (
            "GOREADY_REPORT_GITLAB_CODEQUALITY",
            "gl-code-quality-report.json".to_string(),
        ),
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_OUTPUT", gh_output.display().to_string()),
        ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        ("GITHUB_API_URL", forge.url.clone()),
        ("GITHUB_REPOSITORY", "octo-org/hello-svc".to_string()),
        ("GITHUB_SERVER_URL", "https://github.example".to_string()),
        ("GITHUB_RUN_ID", "4242".to_string()),
    ];
    let run = run_step(&script, &svc, &env);
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "the token leaked"
    );
    assert!(
        processes_under(work.path()).is_empty(),
        "left running: {:?}",
        processes_under(work.path())
    );

    // The merged result: every suite, from real work.
    let merged_path = runner_temp.join("goready/goready.json");
    let report = Report::read_json(&merged_path).unwrap();
    let suites: BTreeSet<&str> = report.checks.iter().map(|c| c.suite.as_str()).collect();
    assert_eq!(
        suites,
        ["binary", "build", "env", "image", "runtime", "test"].into(),
        "every step ran"
    );
    // hello-svc ships no image: the image step is a skip that says what to set, never a pass.
    let image = checks(&report, "image.entrypoint");
    assert_eq!(image.len(), 1, "{image:?}");
    assert_eq!(image[0].status, Status::Skip);
    assert!(
        image[0].message.contains("no image configured"),
        "{}",
        image[0].message
    );
    let compiled: BTreeSet<&str> = checks(&report, "build.compile")
        .iter()
        .filter(|c| c.status == Status::Pass)
        .map(|c| c.target.as_deref().unwrap())
        .collect();
    assert_eq!(
        compiled,
        [
            "darwin/arm64 cgo=0",
            "linux/amd64 cgo=0",
            "linux/amd64 cgo=1",
            "linux/arm64 cgo=0",
            "windows/amd64 cgo=0"
        ]
        .into(),
        "the default matrix"
    );
    let versions = checks(&report, "binary.version");
    assert_eq!(versions.len(), 5);
    for c in versions {
        assert_eq!(c.status, Status::Pass, "{c:?}");
        assert!(
            c.message.starts_with("1.2.3 is embedded"),
            "GOREADY_VERSION won: {c:?}"
        );
    }
    // Cross-check the binaries with Go's own tools: the build settings `go version -m`
    // reads must be what each target's label says, and the native one prints the version.
    let dist = svc.join("dist");
    for (file, goos, goarch, cgo) in [
        ("hello-svc_linux_amd64", "linux", "amd64", "0"),
        ("hello-svc_linux_arm64", "linux", "arm64", "0"),
        ("hello-svc_darwin_arm64", "darwin", "arm64", "0"),
        ("hello-svc_windows_amd64.exe", "windows", "amd64", "0"),
        ("hello-svc_linux_amd64_cgo", "linux", "amd64", "1"),
    ] {
        let out = common::run_ok(
            Command::new("go")
                .arg("version")
                .arg("-m")
                .arg(dist.join(file)),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        for want in [
            format!("build\tGOOS={goos}"),
            format!("build\tGOARCH={goarch}"),
            format!("build\tCGO_ENABLED={cgo}"),
            "path\texample.com/hello-svc".to_string(),
        ] {
            assert!(text.contains(&want), "{file}: no {want:?} in\n{text}");
        }
    }
    let native = format!("hello-svc_linux_{}", host_arch());
    let printed = common::run_ok(Command::new(dist.join(&native)).arg("--version"));
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), "1.2.3");

    // The probe started that very binary ({bin}) and found it production-shaped.
    let start = checks(&report, "runtime.start");
    assert_eq!(start.len(), 1);
    assert_eq!(start[0].status, Status::Pass, "{:?}", start[0]);
    assert_eq!(
        start[0].target.as_deref(),
        Some(format!("dist/{native}").as_str())
    );
    for id in [
        "runtime.pprof_registered",
        "runtime.pprof_exposed",
        "runtime.heap_budget",
        "runtime.load",
        "runtime.shutdown",
    ] {
        let c = checks(&report, id);
        assert_eq!(c.len(), 1, "{id}");
        assert_eq!(c[0].status, Status::Pass, "{:?}", c[0]);
    }

    // go test: one check per test go itself lists, TestServe skipped outside the probe.
    let listed = common::run_ok(
        Command::new("go")
            .args(["test", "-list", ".", "."])
            .current_dir(&svc),
    );
    let want: BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|l| l.starts_with("Test"))
        .map(str::to_string)
        .collect();
    let tests = checks(&report, "test.go_test");
    let got: BTreeSet<String> = tests.iter().map(|c| c.title.clone()).collect();
    assert_eq!(got, want);
    for c in tests {
        let expected = if c.title == "TestServe" {
            Status::Skip
        } else {
            Status::Pass
        };
        assert_eq!(c.status, expected, "{c:?}");
    }
    // Nothing fails at error level, so the verdict passes.
    assert!(
        report
            .checks
            .iter()
            .all(|c| !c.fails_at(goready::model::Severity::Error))
    );

    // JUnit: every count matches the result, read by an independent parser.
    let junit = svc.join("goready-junit.xml");
    assert_junit_matches(&junit, &report);

    // SARIF: the official schema, one result per problem, each with a line.
    let sarif = svc.join("goready.sarif");
    tool_ok(
        tool("check-jsonschema")
            .arg("--schemafile")
            .arg(sarif_schema())
            .arg(&sarif),
    );
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    // One result per finding: a cause repeated on five targets is one.
    let found = goready::model::findings::findings(&report);
    let problems = found.len();
    assert!(problems > 0, "hello-svc has warnings and notices to show");
    assert!(
        problems
            < report
                .checks
                .iter()
                .filter(|c| c.status.is_problem())
                .count()
    );
    assert_eq!(results.len(), problems);
    for r in results {
        let line = &r["locations"][0]["physicalLocation"]["region"]["startLine"];
        assert!(line.as_u64().unwrap() >= 1, "{r}");
    }

    // Code Quality: GitLab's rules, one issue per problem, unique fingerprints.
    let cq = svc.join("gl-code-quality-report.json");
    tool_ok(
        tool("check-jsonschema")
            .arg("--schemafile")
            .arg(common::repo().join("tests/schemas/gitlab-codequality.json"))
            .arg(&cq),
    );
    let issues: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&cq).unwrap()).unwrap();
    assert_eq!(issues.len(), problems);
    let fingerprints: BTreeSet<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), issues.len());

    // GitHub: step outputs, the job summary, annotations within the budget.
    let out = step_outputs(&gh_output);
    assert_eq!(out["passed"], "true");
    assert_eq!(out["failed"], "0");
    assert_eq!(Path::new(&out["junit"]), junit.as_path());
    assert_eq!(Path::new(&out["report"]), merged_path.as_path());
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("linux/amd64"), "the binary matrix: {md}");
    assert!(
        md.contains("TestHealthz") || md.contains("test.go_test"),
        "{md}"
    );
    let warnings = stdout
        .lines()
        .filter(|l| l.starts_with("::warning "))
        .count();
    let errors = stdout.lines().filter(|l| l.starts_with("::error ")).count();
    assert_eq!(errors, 0, "{stdout}");
    assert!(
        (1..=10).contains(&warnings),
        "{warnings} warnings:\n{stdout}"
    );
    // No rule is annotated twice for one cause, and pprof being linked in is not annotated:
    // the probe proved it answers on loopback only.
    let titles: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::") && l.contains("title="))
        .map(|l| {
            l.split("title=")
                .nth(1)
                .unwrap()
                .split([' ', ':'])
                .next()
                .unwrap()
        })
        .collect();
    let unique: BTreeSet<&str> = titles.iter().copied().collect();
    assert_eq!(unique.len(), titles.len(), "{stdout}");
    assert!(!stdout.contains("title=binary.pprof_linked"), "{stdout}");
    for c in checks(&report, "binary.pprof_linked") {
        assert_eq!(c.status, Status::Pass, "{c:?}");
        assert!(
            c.message
                .contains("(loopback), proven by runtime.pprof_exposed"),
            "{c:?}"
        );
    }

    // One sticky PR comment on the forge, with the matrix.
    let comments = forge.comments(7);
    assert_eq!(comments.len(), 1, "{stderr}");
    assert!(
        comments[0].body.contains("linux/arm64"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains("1.2.3"), "{}", comments[0].body);
}

#[test]
fn settings_reach_each_step_file_then_variables_then_set_then_flags() {
    let work = tempfile::tempdir().unwrap();
    let svc = module(
        work.path(),
        &[
            ("go.mod", GO_MOD),
            ("main.go", "package main\n\nfunc main() {}\n"),
            (
                "goready.toml",
                "[build]\nversion = \"1.0.0\"\ntargets = [\"linux/amd64\", \"linux/arm64\"]\n\
                 [probe]\nexec = \"{bin} --addr {addr}\"\nready_timeout = \"3s\"\ngrace = \"2s\"\n\
                 [test]\ngo_args = [\"-count=1\"]\n[report]\njunit = \"from-file.xml\"\n",
            ),
        ],
    );
    let (code, stdout, stderr) = run_with(
        &[
            "check",
            p(&svc),
            "--dry-run",
            "--set",
            "probe.grace=1s",
            "--version",
            "3.0.0",
            "--sarif",
            "s.sarif",
        ],
        &[
            ("GOREADY_PROBE_READY_TIMEOUT", "4s"),
            ("GOREADY_PROBE_GRACE", "9s"),
            ("GOREADY_TARGETS", "linux/arm64"),
            ("GOREADY_BUILD_VERSION", "2.0.0"),
            ("GOREADY_TEST_GO_ARGS", "[\"-race\", \"-count=1\"]"),
            ("GOREADY_VULN_DB", "/srv/vulndb.zip"),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The build's vulnerability scan is named, with the database the environment gives.
    assert!(
        stdout.contains(
            "# build scans every binary for known vulnerabilities: database /srv/vulndb.zip"
        ),
        "{stdout}"
    );
    let line = |step: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("goready {step} ")))
            .unwrap_or_else(|| panic!("no {step} line:\n{stdout}"))
            .to_string()
    };
    let build = line("build");
    assert!(
        build.contains("--target=linux/arm64"),
        "variable over file: {build}"
    );
    assert!(!build.contains("linux/amd64"), "{build}");
    assert!(
        build.contains("--version=3.0.0"),
        "flag over variable: {build}"
    );
    let test = line("test");
    assert!(test.ends_with(" -- -race -count=1"), "{test}");
    let report = line("report");
    assert!(report.contains("--junit=from-file.xml") && report.contains("--sarif=s.sarif"));
    // The build no longer makes this machine's binary, so the probe of {bin} is skipped.
    if host_arch() != "arm64" {
        assert!(stdout.contains("# probe: skipped:"), "{stdout}");
        assert!(stdout.contains("has no linux/"), "{stdout}");
    }
    // With the native target back, the probe runs after its build.
    let (code, stdout, _) = run_with(
        &["check", p(&svc), "--dry-run", "--set", "probe.grace=1s"],
        &[
            ("GOREADY_PROBE_READY_TIMEOUT", "4s"),
            ("GOREADY_PROBE_GRACE", "9s"),
        ],
    );
    assert_eq!(code, 0);
    if std::env::consts::OS == "linux" {
        let probe = stdout
            .lines()
            .find(|l| l.starts_with("goready probe "))
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(
            probe.contains("--ready-timeout=4s"),
            "variable over file: {probe}"
        );
        assert!(probe.contains("--grace=1s"), "--set over variable: {probe}");
        assert!(
            probe.contains(&format!(
                "'--exec=dist/svc_linux_{} --addr {{addr}}'",
                host_arch()
            )),
            "{probe}"
        );
    }

    // An unknown key names the file, the table and the key; nothing runs.
    std::fs::write(
        svc.join("goready.toml"),
        "[probe]\nexec = \"svc\"\nready_timout = \"3s\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_with(&["check", p(&svc)], &[]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("goready.toml [probe] ready_timout: [probe] has no setting \"ready_timout\" (did you mean \"ready_timeout\"?)"),
        "{stderr}"
    );
    assert!(!svc.join("dist").exists(), "nothing was built");
    // A bad value is the step's own error, blamed on where it was set.
    std::fs::write(svc.join("goready.toml"), "").unwrap();
    let (code, _, stderr) = run_with(
        &["check", p(&svc), "--dry-run", "--set", "build.jobs=0"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--set build.jobs: invalid value '0' for '--jobs <N>'"),
        "{stderr}"
    );
    let (code, _, stderr) = run_with(&["check", p(&svc), "--dry-run"], &[("GOREADY_CGO", "2")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("GOREADY_CGO: "), "{stderr}");
}

#[test]
fn a_module_without_a_service_or_tests_is_skipped_with_reasons_not_failed() {
    let work = tempfile::tempdir().unwrap();
    let svc = module(
        work.path(),
        &[
            ("go.mod", GO_MOD),
            ("main.go", "package main\n\nfunc main() {}\n"),
        ],
    );
    let (code, stdout, stderr, result) = check_native_offline(&svc, work.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = Report::read_json(&result).unwrap();
    let start = checks(&report, "runtime.start");
    assert_eq!(start.len(), 1);
    assert_eq!(start[0].status, Status::Skip);
    assert!(
        start[0].message.contains("no service configured"),
        "{:?}",
        start[0]
    );
    assert!(
        start[0].message.contains("[probe] exec"),
        "says how: {:?}",
        start[0]
    );
    let pkg = checks(&report, "test.package");
    assert_eq!(pkg.len(), 1, "{:?}", report.checks);
    assert_eq!(pkg[0].status, Status::Skip);
    assert!(pkg[0].message.contains("no test files"), "{:?}", pkg[0]);
    assert_eq!(checks(&report, "build.compile")[0].status, Status::Pass);
    assert!(!checks(&report, "env.go_supported").is_empty(), "env ran");
    assert!(
        stdout.contains("runtime.start"),
        "the merged table: {stdout}"
    );
}

#[test]
fn a_broken_build_skips_the_probe_of_its_binary_but_the_tests_still_run() {
    let work = tempfile::tempdir().unwrap();
    let svc = module(
        work.path(),
        &[
            ("go.mod", GO_MOD),
            (
                "main.go",
                "package main\n\nfunc main() {\n\tundefined()\n}\n",
            ),
            (
                "calc/calc.go",
                "package calc\n\nfunc Add(a, b int) int { return a + b }\n",
            ),
            (
                "calc/calc_test.go",
                "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\
                 \tif Add(2, 2) != 4 {\n\t\tt.Fatal(\"2+2\")\n\t}\n}\n",
            ),
            ("goready.toml", "[probe]\nexec = \"{bin} --addr {addr}\"\n"),
        ],
    );
    let (code, stdout, stderr, result) = check_native_offline(&svc, work.path());
    assert_eq!(code, 1, "the build failed: {stdout}{stderr}");
    let report = Report::read_json(&result).unwrap();
    let compile = checks(&report, "build.compile");
    assert_eq!(compile[0].status, Status::Fail);
    assert_eq!(compile[0].line, Some(4), "{:?}", compile[0]);
    if std::env::consts::OS == "linux" {
        let start = checks(&report, "runtime.start");
        assert_eq!(start[0].status, Status::Skip, "{:?}", start[0]);
        assert!(
            start[0].message.contains("did not produce it"),
            "{:?}",
            start[0]
        );
    }
    let add = checks(&report, "test.go_test");
    assert_eq!(add.len(), 1, "{:?}", report.checks);
    assert_eq!(add[0].title, "TestAdd");
    assert_eq!(add[0].status, Status::Pass);
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_to_check_stops_the_running_step_and_its_service() {
    use std::io::BufRead;
    use std::process::Stdio;
    let work = tempfile::tempdir().unwrap();
    // A service that never gets ready: the probe waits, and the signal comes meanwhile.
    let svc = module(
        work.path(),
        &[
            ("go.mod", GO_MOD),
            (
                "main.go",
                "package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(time.Hour) }\n",
            ),
            (
                "goready.toml",
                "[probe]\nexec = \"{bin} --addr {addr}\"\nready_timeout = \"60s\"\n",
            ),
        ],
    );
    let target = format!("linux/{}", host_arch());
    let mut child = common::goready()
        .args([
            "check",
            p(&svc),
            "--target",
            &target,
            "--set",
            "env.offline=true",
        ])
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("goready: started ") {
            break;
        }
    }
    assert!(seen.contains("goready: started "), "{seen}");
    let bin = svc.join("dist").join(format!("svc_linux_{}", host_arch()));
    assert!(
        processes_under(&svc)
            .iter()
            .any(|p| p.ends_with(bin.to_str().unwrap())),
        "the service runs: {:?}",
        processes_under(&svc)
    );
    // SAFETY: kill sends SIGTERM to the goready child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(libc::SIGTERM),
        "dies of the signal it got: {status}"
    );
    assert!(
        processes_under(work.path()).is_empty(),
        "left running: {:?}",
        processes_under(work.path())
    );
}

#[test]
fn a_step_that_cannot_start_is_an_error_and_the_other_steps_still_run() {
    let work = tempfile::tempdir().unwrap();
    let svc = module(
        work.path(),
        &[
            ("go.mod", GO_MOD),
            ("main.go", "package main\n\nfunc main() {}\n"),
            // go test refuses the flag before testing anything: `goready test` exits 2
            // without a result file.
            ("goready.toml", "[test]\ngo_args = [\"-count=many\"]\n"),
        ],
    );
    let (code, stdout, stderr, result) = check_native_offline(&svc, work.path());
    assert_eq!(code, 1, "an error fails the verdict: {stdout}{stderr}");
    let report = Report::read_json(&result).unwrap();
    let pkg = checks(&report, "test.package");
    assert_eq!(pkg.len(), 1, "{:?}", report.checks);
    assert_eq!(pkg[0].status, Status::Error);
    assert!(
        pkg[0]
            .message
            .starts_with("goready test stopped without a result (exit code 2): "),
        "{:?}",
        pkg[0]
    );
    assert!(
        pkg[0]
            .message
            .contains("invalid value \"many\" for flag -count"),
        "go's own words: {:?}",
        pkg[0]
    );
    assert_eq!(
        checks(&report, "build.compile")[0].status,
        Status::Pass,
        "the build ran"
    );
    assert!(!checks(&report, "env.go_supported").is_empty(), "env ran");
}

#[test]
fn init_writes_a_starter_and_ci_files_that_check_and_the_schemas_accept() {
    let repo = tempfile::tempdir().unwrap();
    common::run_ok(Command::new("git").arg("init").arg("-q").arg(repo.path()));
    let svc = repo.path().join("services/api");
    std::fs::create_dir_all(&svc).unwrap();
    std::fs::write(svc.join("go.mod"), "module example.com/api\n\ngo 1.24\n").unwrap();
    std::fs::write(svc.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
    let init = |force: bool| {
        let mut cmd = common::goready();
        cmd.arg("init").arg("services/api").current_dir(repo.path());
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    let out = init(false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml = svc.join("goready.toml");
    let workflow = repo.path().join(".github/workflows/goready.yml");
    let gitlab = repo.path().join(".gitlab-ci.yml");
    for f in [&toml, &workflow, &gitlab] {
        assert!(f.is_file(), "{} not written", f.display());
    }
    // The starter is accepted by check as written (and parsed by its steps' own flags).
    let out = common::goready()
        .args(["check", "services/api", "--dry-run"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let dry = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{dry}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dry.contains("settings from services/api/goready.toml"),
        "{dry}"
    );
    assert!(
        dry.contains("--fallback-file=services/api/goready.toml"),
        "repo-relative: {dry}"
    );
    // The CI files are what GitHub and GitLab accept, aimed at the module.
    tool_ok(
        tool("check-jsonschema")
            .args(["--builtin-schema", "vendor.github-workflows"])
            .arg(&workflow),
    );
    tool_ok(
        tool("check-jsonschema")
            .args(["--builtin-schema", "vendor.gitlab-ci"])
            .arg(&gitlab),
    );
    let wf = yaml(&workflow);
    let steps = wf["jobs"]["goready"]["steps"].as_array().unwrap();
    let action = steps.iter().find(|s| s["id"] == "goready").unwrap();
    assert!(
        action["uses"]
            .as_str()
            .unwrap()
            .starts_with("goready/goready@v")
    );
    assert_eq!(action["with"]["working-directory"], "services/api");
    let gl = yaml(&gitlab);
    assert_eq!(gl["goready"]["variables"]["GOREADY_DIR"], "services/api");
    assert_eq!(gl["goready"]["extends"], ".goready");

    // Existing files are never overwritten without --force, and nothing is half-written.
    std::fs::write(&toml, "# mine\n").unwrap();
    std::fs::remove_file(&gitlab).unwrap();
    let out = init(false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&toml).unwrap(), "# mine\n");
    assert!(!gitlab.exists(), "nothing written when one file exists");
    let out = init(true);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&toml).unwrap().contains("[probe]"));
    assert!(gitlab.is_file());
}

/// `goready check DIR` for this machine's linux target only, with the offline release data,
/// writing its result into `work`: the shape every small scenario below shares.
fn check_native_offline(svc: &Path, work: &Path) -> (i32, String, String, PathBuf) {
    let result = work.join("result.json");
    let target = format!("linux/{}", host_arch());
    let (code, stdout, stderr) = run_with(
        &[
            "check",
            p(svc),
            "--target",
            &target,
            "--set",
            "env.offline=true",
            "--json",
            p(&result),
        ],
        &[],
    );
    (code, stdout, stderr, result)
}
