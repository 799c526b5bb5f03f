//! The `goready inspect` command line: the JSON contract, exit codes, result files and
//! per-file errors, run as a user would.

mod common;

use common::*;
use serde_json::Value;

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

fn check<'a>(doc: &'a Value, id: &str, target_suffix: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id && c["target"].as_str().unwrap_or("").ends_with(target_suffix))
        .unwrap_or_else(|| panic!("no {id} check for {target_suffix} in {doc:#}"))
}

#[test]
fn json_output_carries_every_contract_field() {
    let bin = fixture("hello-linux-amd64");
    let (code, out, err) = run_goready(&["inspect", "--format", "json", bin.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let doc = json_of(&out);
    let b = &doc["binaries"][0];
    for key in [
        "path",
        "format",
        "arch",
        "goos",
        "linkage",
        "interpreter",
        "needed",
        "libc",
        "symbols_stripped",
        "dwarf",
        "pclntab",
        "buildinfo",
        "pie",
        "relro",
        "nx",
        "cgo",
        "pprof_linked",
        "version_vars",
    ] {
        assert!(b.get(key).is_some(), "binaries[0] lacks {key}: {b:#}");
    }
    assert_eq!(b["path"], bin.to_str().unwrap());
    assert_eq!(b["format"], "elf");
    assert_eq!(b["arch"], "amd64");
    assert_eq!(b["goos"], "linux");
    assert_eq!(b["linkage"], "static");
    assert_eq!(b["relro"], "none");
    assert_eq!(b["pclntab"]["present"], true);
    assert_eq!(b["pclntab"]["version"], "1.20");
    assert!(b["pclntab"]["functions"].as_u64().unwrap() > 1000);
    assert_eq!(b["buildinfo"]["go_version"], go_version());
    assert_eq!(b["buildinfo"]["main"]["path"], "example.com/hello-svc");
    assert_eq!(b["buildinfo"]["main"]["version"], "(devel)");
    assert_eq!(b["buildinfo"]["settings"]["CGO_ENABLED"], "0");
    assert_eq!(b["version_vars"]["main.Version"], "1.2.3");
    assert_eq!(b["pprof_linked"], true);
    // Checks are goready/v1 checks in suite "binary".
    let pprof = check(&doc, "binary.pprof_linked", "hello-linux-amd64");
    assert_eq!(pprof["suite"], "binary");
    assert_eq!(pprof["status"], "fail");
    assert_eq!(pprof["severity"], "warning");
    assert_eq!(pprof["fingerprint"].as_str().unwrap().len(), 16);
}

#[test]
fn require_static_turns_a_glibc_build_into_a_failing_job() {
    let bin = fixture("hello-linux-amd64-cgo");
    let path = bin.to_str().unwrap();
    let (code, out, _) = run_goready(&["inspect", "--format", "json", path]);
    assert_eq!(code, 0, "dynamic is a warning by default");
    assert_eq!(
        check(&json_of(&out), "binary.static", "cgo")["severity"],
        "warning"
    );

    let (code, out, _) = run_goready(&["inspect", "--format", "json", "--require-static", path]);
    assert_eq!(code, 1);
    let c = json_of(&out);
    let c = check(&c, "binary.static", "cgo");
    assert_eq!(c["status"], "fail");
    assert_eq!(c["severity"], "error");
    let msg = c["message"].as_str().unwrap();
    assert!(msg.contains("libc.so.6") && msg.contains("glibc"), "{msg}");

    let (code, _, _) = run_goready(&[
        "inspect",
        "--require-static",
        fixture("hello-linux-amd64").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "a static build passes --require-static");
}

#[test]
fn expect_version_fails_when_the_version_was_not_injected() {
    let injected = fixture("hello-windows-amd64-sw.exe");
    let not_injected = fixture("hello-linux-amd64-pie");
    let (code, out, _) = run_goready(&[
        "inspect",
        "--format",
        "json",
        "--expect-version",
        "1.2.3",
        injected.to_str().unwrap(),
        not_injected.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let doc = json_of(&out);
    assert_eq!(check(&doc, "binary.version", "sw.exe")["status"], "pass");
    let failed = check(&doc, "binary.version", "pie");
    assert_eq!(failed["status"], "fail");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("main.Version = \"dev\""),
        "{failed:#}"
    );
}

#[test]
fn fail_on_decides_the_exit_code_and_json_result_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("out/binary.json");
    let bin = fixture("plain-linux-amd64");
    let args = |fail_on: &'static str| {
        vec![
            "inspect".to_string(),
            "--fail-on".into(),
            fail_on.into(),
            "--json".into(),
            result.to_str().unwrap().into(),
            bin.to_str().unwrap().into(),
        ]
    };
    let run = |a: Vec<String>| run_goready(&a.iter().map(String::as_str).collect::<Vec<_>>());
    // plain: no pprof, but unstripped with DWARF (notices) and (devel) build info (warning).
    assert_eq!(run(args("error")).0, 0);
    assert_eq!(run(args("warning")).0, 1);
    assert_eq!(run(args("notice")).0, 1);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    assert_eq!(report["schema"], "goready/v1");
    assert_eq!(report["tool"]["name"], "goready");
    assert!(report["checks"].as_array().unwrap().len() >= 10);
}

#[test]
fn unreadable_input_exits_2_but_the_other_files_are_still_inspected() {
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("r.json");
    let good = fixture("plain-linux-amd64");
    let (code, out, err) = run_goready(&[
        "inspect",
        "--format",
        "json",
        "--json",
        result.to_str().unwrap(),
        "/nonexistent/svc",
        dir.path().to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/svc"), "{err}");
    let doc = json_of(&out);
    assert_eq!(doc["binaries"].as_array().unwrap().len(), 1);
    assert_eq!(
        check(&doc, "binary.readable", "/nonexistent/svc")["status"],
        "error"
    );
    let dir_check = check(&doc, "binary.readable", dir.path().to_str().unwrap());
    assert!(
        dir_check["message"].as_str().unwrap().contains("directory"),
        "{dir_check:#}"
    );
    assert_eq!(
        check(&doc, "binary.go", "plain-linux-amd64")["status"],
        "pass"
    );
    assert!(
        result.exists(),
        "the result file is written even when exiting 2"
    );
}

#[test]
fn scripts_and_non_go_binaries_get_a_clear_answer() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("svc.sh");
    std::fs::write(&script, "#!/bin/sh\nexec ./svc \"$@\"\n").unwrap();
    let ls = std::path::Path::new("/bin/ls");
    let (code, out, _) = run_goready(&[
        "inspect",
        "--format",
        "json",
        script.to_str().unwrap(),
        ls.to_str().unwrap(),
    ]);
    assert_eq!(
        code, 1,
        "a file that is not an executable is an error-level check"
    );
    let doc = json_of(&out);
    let bad = check(&doc, "binary.readable", "svc.sh");
    assert_eq!(bad["status"], "error");
    assert!(
        bad["message"].as_str().unwrap().contains("script"),
        "{bad:#}"
    );
    let not_go = check(&doc, "binary.go", "/bin/ls");
    assert_eq!(not_go["status"], "skip");
    assert!(
        not_go["message"]
            .as_str()
            .unwrap()
            .contains("not a Go binary")
    );
    assert!(
        !doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "binary.pprof_linked" && c["target"] == "/bin/ls"),
        "Go rules are not applied to a non-Go binary"
    );
}

#[test]
fn text_output_is_a_readable_table() {
    let bin = fixture("hello-linux-amd64-cgo");
    let (code, out, _) = run_goready(&["inspect", bin.to_str().unwrap()]);
    assert_eq!(code, 0);
    for needle in [
        "linkage",
        "interpreter /lib64/ld-linux-x86-64.so.2",
        "libc               glibc",
        "main.Version       \"1.2.3\"",
        "binary.static",
        "passed,",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    // Findings (by severity) come before passes.
    let first_fail = out.find("\nwarning ").unwrap();
    let first_pass = out.find("\npass ").unwrap();
    assert!(first_fail < first_pass);
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run_goready(&["inspect"]);
    assert_eq!(code, 2);
    assert!(err.contains("FILE"), "{err}");
    let (code, _, _) = run_goready(&["inspect", "--fail-on", "fatal", "x"]);
    assert_eq!(code, 2);
    let (code, out, _) = run_goready(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("goready "));
}

#[test]
fn goready_toml_sets_rule_severities_and_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("goready.toml");
    std::fs::write(
        &config,
        "fail_on = \"warning\"\n[rules]\n\"binary.pprof_linked\" = \"off\"\n\"binary.buildinfo\" = \"notice\"\n",
    )
    .unwrap();
    let bin = fixture("hello-linux-amd64");
    let args = [
        "inspect",
        "--format",
        "json",
        "--config",
        config.to_str().unwrap(),
        bin.to_str().unwrap(),
    ];
    let (code, out, err) = run_goready(&args);
    let doc = json_of(&out);
    let ids: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"binary.pprof_linked"), "turned off: {ids:?}");
    assert_eq!(
        check(&doc, "binary.buildinfo", "hello-linux-amd64")["severity"],
        "notice"
    );
    // fail_on = warning, and no warning is left failing (static, clean vcs skip, ...).
    assert_eq!(code, 0, "{err}\n{out}");

    std::fs::write(&config, "[rules]\n\"binary.pprof_linkd\" = \"off\"\n").unwrap();
    let (code, _, err) = run_goready(&args);
    assert_eq!(code, 2);
    assert!(
        err.contains("did you mean \"binary.pprof_linked\""),
        "{err}"
    );
}

#[test]
fn require_static_judges_the_linkage_of_binaries_that_are_not_go() {
    // goready itself (a Rust binary, dynamically linked in a debug build): without
    // --require-static only the Go rules' skip; with it, its linkage is judged.
    let own = env!("CARGO_BIN_EXE_goready");
    let (code, out, _) = run_goready(&["inspect", "--format", "json", own]);
    assert_eq!(code, 0);
    let doc = json_of(&out);
    assert!(
        !doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "binary.static"),
        "{doc}"
    );
    let (code, out, _) = run_goready(&["inspect", "--format", "json", "--require-static", own]);
    assert_eq!(code, 1, "{out}");
    let doc = json_of(&out);
    let c = check(&doc, "binary.static", "goready");
    assert_eq!(c["status"], "fail");
    assert_eq!(c["severity"], "error");

    // A static C program passes, as readelf agrees: no NEEDED entries, no interpreter.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("main.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let bin = dir.path().join("static-c");
    common::run_ok(
        std::process::Command::new("gcc")
            .arg("-static")
            .arg("-o")
            .arg(&bin)
            .arg(&src),
    );
    let readelf = common::run_ok(std::process::Command::new("readelf").arg("-dl").arg(&bin));
    let readelf = String::from_utf8_lossy(&readelf.stdout);
    assert!(
        !readelf.contains("(NEEDED)") && !readelf.contains("interpreter"),
        "{readelf}"
    );
    let (code, out, _) = run_goready(&[
        "inspect",
        "--format",
        "json",
        "--require-static",
        bin.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        check(&json_of(&out), "binary.static", "static-c")["status"],
        "pass"
    );
}
