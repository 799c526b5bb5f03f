//! The build matrix: which GOOS/GOARCH/CGO targets to build, what each output is called, and
//! which of them one shard of a CI matrix builds.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, bail};

/// The targets built when neither `--target` nor `--cgo` is given (each with CGO 0), plus
/// [`DEFAULT_CGO_TARGET`].
pub const DEFAULT_TARGETS: &[(&str, &str)] = &[
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

/// The one CGO=1 target of the default matrix: the usual server platform, built the way a
/// cgo-using service would be, so its linkage is checked too.
pub const DEFAULT_CGO_TARGET: (&str, &str) = ("linux", "amd64");

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// `GOOS`.
    pub goos: String,
    /// `GOARCH`.
    pub goarch: String,
    /// `CGO_ENABLED=1`.
    pub cgo: bool,
}

impl Target {
    /// A target from its parts.
    pub fn new(goos: &str, goarch: &str, cgo: bool) -> Self {
        Target {
            goos: goos.to_string(),
            goarch: goarch.to_string(),
            cgo,
        }
    }

    /// The label every check of this target carries: `linux/amd64 cgo=0`.
    pub fn label(&self) -> String {
        format!("{}/{} cgo={}", self.goos, self.goarch, u8::from(self.cgo))
    }

    /// The output file name: `<name>_<goos>_<goarch>[_cgo][.exe]`.
    pub fn output_name(&self, name: &str) -> String {
        format!(
            "{name}_{}_{}{}{}",
            self.goos,
            self.goarch,
            if self.cgo { "_cgo" } else { "" },
            if self.goos == "windows" { ".exe" } else { "" }
        )
    }

    /// Whether this machine can run the target's binaries (GOHOSTOS/GOHOSTARCH).
    pub fn is_native(&self, host_os: &str, host_arch: &str) -> bool {
        self.goos == host_os && self.goarch == host_arch
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Parses `--target` values (`GOOS/GOARCH`, comma-separated or repeated), keeping their order
/// and dropping repeats.
pub fn parse_targets(values: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for raw in values.iter().flat_map(|v| v.split(',')) {
        let value = raw.trim();
        if value.is_empty() {
            continue;
        }
        let Some((goos, goarch)) = value.split_once('/') else {
            bail!("--target {value:?}: expected GOOS/GOARCH, e.g. linux/amd64");
        };
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        if !word(goos) || !word(goarch) {
            bail!(
                "--target {value:?}: GOOS and GOARCH are lowercase names such as linux/arm64 \
                 (`go tool dist list` prints the valid pairs)"
            );
        }
        let pair = (goos.to_string(), goarch.to_string());
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    Ok(out)
}

/// Parses `--cgo` values: `0`/`1` (also `false`/`true`, `off`/`on`), comma-separated.
pub fn parse_cgo(values: &[String]) -> anyhow::Result<Vec<bool>> {
    let mut out = Vec::new();
    for raw in values.iter().flat_map(|v| v.split(',')) {
        let cgo = match raw.trim() {
            "" => continue,
            "0" | "false" | "off" => false,
            "1" | "true" | "on" => true,
            other => bail!("--cgo {other:?}: expected 0 or 1 (e.g. --cgo 0,1)"),
        };
        if !out.contains(&cgo) {
            out.push(cgo);
        }
    }
    Ok(out)
}

/// The matrix: every target × every CGO setting, targets outermost. With neither list given,
/// the default matrix ([`DEFAULT_TARGETS`] with CGO 0, then [`DEFAULT_CGO_TARGET`] with
/// CGO 1); a missing list takes its default (the default targets, or CGO 0).
pub fn matrix(targets: &[(String, String)], cgo: &[bool]) -> Vec<Target> {
    let defaults: Vec<(String, String)> = DEFAULT_TARGETS
        .iter()
        .map(|(os, arch)| (os.to_string(), arch.to_string()))
        .collect();
    if targets.is_empty() && cgo.is_empty() {
        let mut all: Vec<Target> = defaults
            .iter()
            .map(|(os, arch)| Target::new(os, arch, false))
            .collect();
        all.push(Target::new(
            DEFAULT_CGO_TARGET.0,
            DEFAULT_CGO_TARGET.1,
            true,
        ));
        return all;
    }
    let targets = if targets.is_empty() {
        &defaults
    } else {
        targets
    };
    let cgo = if cgo.is_empty() { &[false][..] } else { cgo };
    targets
        .iter()
        .flat_map(|(os, arch)| cgo.iter().map(move |&c| Target::new(os, arch, c)))
        .collect()
}

/// `--shard I/N`: the I-th of N shards (1-based), which builds targets I, I+N, I+2N, … of the
/// matrix. The N shards together build every target exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index.
    pub index: usize,
    /// Number of shards.
    pub total: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || format!("{s:?}: expected I/N with 1 <= I <= N, e.g. 1/3");
        let (i, n) = s.split_once('/').ok_or_else(usage)?;
        let index: usize = i.trim().parse().map_err(|_| usage())?;
        let total: usize = n.trim().parse().map_err(|_| usage())?;
        if total == 0 || index == 0 || index > total {
            return Err(usage());
        }
        Ok(Shard { index, total })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

impl Shard {
    /// The targets of the full matrix this shard builds.
    pub fn select(&self, all: &[Target]) -> Vec<Target> {
        all.iter()
            .enumerate()
            .filter(|(i, _)| i % self.total == self.index - 1)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

/// The binary's base name, as `go build` would name it: the last element of the package's
/// import path — for the module root, of the module path in go.mod (a `/vN` major-version
/// suffix is skipped, as Go does); else the directory's name.
pub fn binary_name(dir: &Path, package: &str) -> anyhow::Result<String> {
    if package.contains("...") {
        bail!("--pkg {package:?}: name one main package, not a pattern");
    }
    let trimmed = package.trim_end_matches('/');
    let rel = trimmed.trim_start_matches("./");
    if !(rel.is_empty() || rel == ".") {
        return Ok(last_element(rel));
    }
    let gomod = dir.join("go.mod");
    if let Ok(text) = std::fs::read_to_string(&gomod) {
        if let Some(module) = module_path(&text) {
            return Ok(last_element(&module));
        }
    }
    let abs = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    abs.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow::anyhow!("cannot name the binary of {}: pass --pkg", dir.display()))
}

fn last_element(path: &str) -> String {
    let mut parts = path.rsplit('/').filter(|p| !p.is_empty() && *p != ".");
    let last = parts.next().unwrap_or(path);
    let is_major =
        last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    match (is_major, parts.next()) {
        (true, Some(prev)) => prev.to_string(),
        _ => last.to_string(),
    }
}

/// The `module` directive of a go.mod file.
fn module_path(gomod: &str) -> Option<String> {
    gomod.lines().find_map(|line| {
        let line = line.split("//").next()?.trim();
        let rest = line.strip_prefix("module")?;
        if !rest.starts_with(char::is_whitespace) {
            return None;
        }
        let path = rest.trim().trim_matches('"');
        (!path.is_empty()).then(|| path.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_matrix_is_four_static_targets_and_linux_amd64_with_cgo() {
        let labels: Vec<String> = matrix(&[], &[]).iter().map(Target::label).collect();
        assert_eq!(
            labels,
            [
                "linux/amd64 cgo=0",
                "linux/arm64 cgo=0",
                "darwin/arm64 cgo=0",
                "windows/amd64 cgo=0",
                "linux/amd64 cgo=1"
            ]
        );
    }

    #[test]
    fn explicit_lists_make_a_cross_product() {
        let t = parse_targets(&strings(&["linux/amd64,linux/arm64", "linux/amd64"])).unwrap();
        let c = parse_cgo(&strings(&["0,1"])).unwrap();
        let labels: Vec<String> = matrix(&t, &c).iter().map(Target::label).collect();
        assert_eq!(
            labels,
            [
                "linux/amd64 cgo=0",
                "linux/amd64 cgo=1",
                "linux/arm64 cgo=0",
                "linux/arm64 cgo=1"
            ]
        );
        assert_eq!(matrix(&t, &[]).len(), 2, "--target alone means CGO 0");
        assert_eq!(
            matrix(&[], &[true]).len(),
            4,
            "--cgo alone: default targets"
        );
    }

    #[test]
    fn bad_targets_and_cgo_values_are_explained() {
        for bad in ["linux", "Linux/amd64", "linux/", "linux/amd64/v3"] {
            let err = parse_targets(&strings(&[bad])).unwrap_err().to_string();
            assert!(err.contains("--target"), "{bad}: {err}");
        }
        assert!(parse_cgo(&strings(&["2"])).is_err());
    }

    #[test]
    fn output_names_mark_cgo_and_windows() {
        assert_eq!(
            Target::new("windows", "amd64", false).output_name("svc"),
            "svc_windows_amd64.exe"
        );
        assert_eq!(
            Target::new("linux", "amd64", true).output_name("svc"),
            "svc_linux_amd64_cgo"
        );
    }

    #[test]
    fn shards_partition_the_matrix() {
        let all = matrix(&[], &[]);
        for n in 1..=7 {
            let mut seen = Vec::new();
            for i in 1..=n {
                let shard: Shard = format!("{i}/{n}").parse().unwrap();
                seen.extend(shard.select(&all));
            }
            seen.sort_by_key(Target::label);
            let mut want = all.clone();
            want.sort_by_key(Target::label);
            assert_eq!(seen, want, "{n} shards");
        }
        for bad in ["0/2", "3/2", "1/0", "a/b", "2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn binary_name_follows_go_build() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("go.mod"),
            "// comment\nmodule \"example.com/team/svc/v2\" // x\n\ngo 1.24\n",
        )
        .unwrap();
        assert_eq!(binary_name(dir.path(), ".").unwrap(), "svc");
        assert_eq!(binary_name(dir.path(), "./").unwrap(), "svc");
        assert_eq!(binary_name(dir.path(), "./cmd/api/").unwrap(), "api");
        assert!(binary_name(dir.path(), "./cmd/...").is_err());
        let bare = tempfile::tempdir().unwrap();
        let name = binary_name(bare.path(), ".").unwrap();
        assert_eq!(
            Some(name.as_str()),
            bare.path().file_name().unwrap().to_str()
        );
    }
}
