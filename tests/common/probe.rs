//! Running `goready probe` in the tests: each run tags its processes with a unique
//! environment variable, and after it /proc is searched for that marker, so no test can
//! pass while a process of its run is left behind.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::goready;

/// One `goready probe --format json` run.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// stdout as JSON.
    pub json: Value,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl Run {
    /// The check with this id.
    pub fn check(&self, id: &str) -> &Value {
        self.json["checks"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["id"] == id))
            .unwrap_or_else(|| panic!("no {id} check in:\n{}", self.stdout))
    }

    /// Its status.
    pub fn status(&self, id: &str) -> &str {
        self.check(id)["status"].as_str().unwrap()
    }

    /// Its message.
    pub fn message(&self, id: &str) -> &str {
        self.check(id)["message"].as_str().unwrap()
    }

    /// The probe facts.
    pub fn service(&self) -> &Value {
        &self.json["service"]
    }
}

/// A marker unique to one run, carried in the environment of every process it starts.
pub fn marker() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The environment variable that carries the marker.
pub const MARKER_VAR: &str = "GOREADY_FIXTURE_RUN";

/// Live (non-zombie) processes whose environment carries this run's marker.
pub fn processes_with_marker(marker: &str) -> Vec<String> {
    let needle = format!("{MARKER_VAR}={marker}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, r)| r.chars().next());
        if matches!(state, Some(Some('Z' | 'X')) | None) {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if environ.split(|&b| b == 0).any(|e| e == needle.as_bytes()) {
            let exe = std::fs::read_link(entry.path().join("exe"))
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            found.push(format!("pid {pid} {exe}"));
        }
    }
    found
}

/// No process of the run is left; allows a moment for the kernel to finish reaping.
pub fn assert_nothing_left(marker: &str) {
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        let left = processes_with_marker(marker);
        if left.is_empty() {
            return;
        }
        if Instant::now() > until {
            panic!("processes outlived goready: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A probe run in `dir`.
pub fn probe_in(dir: &Path, args: &[&str]) -> Run {
    probe_env(dir, args, &[])
}

/// A probe whose goready (and so its service) runs with extra environment variables.
pub fn probe_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let marker = marker();
    let out = goready()
        .current_dir(dir)
        .arg("probe")
        .args(args)
        .args(["--format", "json"])
        .envs(env.iter().copied())
        .env(MARKER_VAR, &marker)
        .stdin(Stdio::null())
        .output()
        .expect("run goready");
    assert_nothing_left(&marker);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        json,
        stdout,
        stderr,
    }
}
