//! Go version names (`go1.26.8`, `go1.27rc1`, go.mod's `1.22`) and their order, as Go's own
//! `cmd/go/internal/gover` defines it: a language version `1.21` sorts before its
//! pre-releases, which sort before its first release `1.21.0`.

use std::cmp::Ordering;
use std::fmt;

/// A pre-release tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pre {
    /// `betaN`.
    Beta(u32),
    /// `rcN`.
    Rc(u32),
}

/// A parsed Go version. Ordering follows `gover.Compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoVersion {
    /// Always 1 so far.
    pub major: u32,
    /// The minor line: 26 in go1.26.8.
    pub minor: u32,
    /// The patch release; `None` for a language version (`1.21`) or a pre-release.
    pub patch: Option<u32>,
    /// `rcN`/`betaN`, when this is a pre-release.
    pub pre: Option<Pre>,
}

impl GoVersion {
    /// Parses a version without the `go` prefix as go.mod writes it: `1.22`, `1.22.3`,
    /// `1.23rc1`. Returns `None` for anything else.
    pub fn parse_gover(s: &str) -> Option<GoVersion> {
        let (major, rest) = split_number(s)?;
        let rest = rest.strip_prefix('.')?;
        let (minor, rest) = split_number(rest)?;
        let mut v = GoVersion {
            major,
            minor,
            patch: None,
            pre: None,
        };
        if rest.is_empty() {
            return Some(v);
        }
        if let Some(p) = rest.strip_prefix('.') {
            let (patch, tail) = split_number(p)?;
            if !tail.is_empty() {
                return None;
            }
            v.patch = Some(patch);
        } else if let Some(n) = rest.strip_prefix("rc") {
            v.pre = Some(Pre::Rc(whole_number(n)?));
        } else if let Some(n) = rest.strip_prefix("beta") {
            v.pre = Some(Pre::Beta(whole_number(n)?));
        } else {
            return None;
        }
        Some(v)
    }

    /// Parses a release or toolchain name as the release feed, `go env GOVERSION` and the
    /// `toolchain` line write it: `go1.26.8`, `go1.27rc1`, `go1.20` (the first release of
    /// 1.20, before Go 1.21 added `.0`) and plain `go1`. A suffix after a space or a dash
    /// (`go1.26.8 X:boringcrypto`, `go1.21.1-custom`) is ignored.
    pub fn parse_release(s: &str) -> Option<GoVersion> {
        let s = s.split_whitespace().next()?;
        let s = s.strip_prefix("go")?;
        let s = s.split('-').next()?;
        if s == "1" {
            return Some(GoVersion {
                major: 1,
                minor: 0,
                patch: Some(0),
                pre: None,
            });
        }
        let mut v = GoVersion::parse_gover(s)?;
        if v.patch.is_none() && v.pre.is_none() {
            // Before Go 1.21 the first release of a line was named `go1.N`.
            v.patch = Some(0);
        }
        Some(v)
    }

    /// True for rc and beta versions.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some()
    }

    /// The minor line, `(1, 26)`.
    pub fn line(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// The line's name: `go1.26`.
    pub fn line_name(&self) -> String {
        format!("go{}.{}", self.major, self.minor)
    }

    fn rank(&self) -> (u8, u32) {
        match (self.pre, self.patch) {
            (Some(Pre::Beta(n)), _) => (1, n),
            (Some(Pre::Rc(n)), _) => (2, n),
            (None, Some(p)) => (3, p),
            (None, None) => (0, 0),
        }
    }
}

impl Ord for GoVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.rank()).cmp(&(other.major, other.minor, other.rank()))
    }
}

impl PartialOrd for GoVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for GoVersion {
    /// The release name: `go1.26.8`, `go1.27rc1`, `go1.20` for the first 1.20 release (Go's
    /// own spelling before 1.21), `go1.22` for a language version.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.pre, self.patch) {
            (Some(Pre::Beta(n)), _) => write!(f, "go{}.{}beta{n}", self.major, self.minor),
            (Some(Pre::Rc(n)), _) => write!(f, "go{}.{}rc{n}", self.major, self.minor),
            (None, Some(0)) if self.major == 1 && self.minor == 0 => f.write_str("go1"),
            (None, Some(0)) if self.major == 1 && self.minor < 21 => {
                write!(f, "go{}.{}", self.major, self.minor)
            }
            (None, Some(p)) => write!(f, "go{}.{}.{p}", self.major, self.minor),
            (None, None) => write!(f, "go{}.{}", self.major, self.minor),
        }
    }
}

impl serde::Serialize for GoVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn split_number(s: &str) -> Option<(u32, &str)> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    if end == 0 || (end > 1 && s.starts_with('0')) {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

fn whole_number(s: &str) -> Option<u32> {
    match split_number(s)? {
        (n, "") => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> GoVersion {
        GoVersion::parse_gover(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn order_follows_gover() {
        // The sequence gover's documentation gives.
        let seq = [
            "1.20",
            "1.21",
            "1.21rc1",
            "1.21rc2",
            "1.21.0",
            "1.21.1",
            "1.21.10",
            "1.22beta1",
            "1.22",
        ];
        let parsed: Vec<_> = seq.iter().map(|s| v(s)).collect();
        // 1.22beta1 > 1.21.10, and language 1.22 < 1.22beta1.
        assert!(parsed[0] < parsed[1]);
        assert!(parsed[1] < parsed[2]);
        assert!(parsed[2] < parsed[3]);
        assert!(parsed[3] < parsed[4]);
        assert!(parsed[4] < parsed[5]);
        assert!(parsed[5] < parsed[6]);
        assert!(parsed[6] < parsed[7]);
        assert!(parsed[8] < parsed[7]);
    }

    #[test]
    fn release_names_parse_and_print_back() {
        for name in [
            "go1",
            "go1.0.3",
            "go1.20",
            "go1.20.14",
            "go1.21.0",
            "go1.26.8",
            "go1.27rc1",
            "go1.18beta1",
        ] {
            let parsed = GoVersion::parse_release(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(parsed.to_string(), name);
        }
        assert_eq!(
            GoVersion::parse_release("go1.26.8 X:boringcrypto").unwrap(),
            GoVersion::parse_release("go1.26.8").unwrap()
        );
        assert_eq!(
            GoVersion::parse_release("go1.20").unwrap(),
            GoVersion::parse_release("go1.20.0").unwrap()
        );
    }

    #[test]
    fn garbage_is_not_a_version() {
        for s in [
            "",
            "go",
            "1",
            "go1.",
            "go1.x",
            "go1.2.3.4",
            "go1.21rc",
            "devel go1.27-abc",
            "1.02",
            "go1.26.8rc1",
            "🦀",
        ] {
            assert!(GoVersion::parse_release(s).is_none(), "{s:?}");
        }
        assert!(GoVersion::parse_gover("1.21.0.1").is_none());
    }
}
