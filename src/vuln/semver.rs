//! Semantic versions as the Go vulnerability database and the go command compare them
//! (golang.org/x/mod/semver's rules): `vMAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]`, with
//! shorthands `v1` and `v1.2` meaning `v1.0.0` and `v1.2.0`, prereleases ordered before their
//! release (identifiers compared numerically when both are numbers, numbers before words),
//! build metadata ignored. Pseudo-versions (`v0.0.0-20240101120000-abcdef012345`,
//! `v1.2.4-0.20240101120000-abcdef012345`) are ordinary prereleases and compare by their
//! timestamp, which is what makes them work.
//!
//! The database writes versions without the `v` (`0.3.8`) and Go's own as tags (`go1.21rc2`),
//! so, like govulncheck, every comparison first strips a `v` or `go` prefix and adds `v`.
//! An invalid version compares below every valid one and equal to other invalid ones.

use std::cmp::Ordering;

/// A parsed version. Borrowed from the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    /// Without the leading `-`; empty for a release.
    prerelease: &'a str,
}

/// Parses `v`-prefixed semver the way golang.org/x/mod/semver does; `None` when invalid.
fn parse(v: &str) -> Option<Parsed<'_>> {
    let rest = v.strip_prefix('v')?;
    let (major, rest) = number(rest)?;
    if rest.is_empty() {
        return Some(Parsed {
            major,
            minor: "0",
            patch: "0",
            prerelease: "",
        });
    }
    let rest = rest.strip_prefix('.')?;
    let (minor, rest) = number(rest)?;
    if rest.is_empty() {
        return Some(Parsed {
            major,
            minor,
            patch: "0",
            prerelease: "",
        });
    }
    let rest = rest.strip_prefix('.')?;
    let (patch, rest) = number(rest)?;
    let (prerelease, rest) = match rest.strip_prefix('-') {
        Some(p) => {
            let end = p.find('+').unwrap_or(p.len());
            let pre = &p[..end];
            if !valid_prerelease(pre) {
                return None;
            }
            (pre, &p[end..])
        }
        None => ("", rest),
    };
    if let Some(build) = rest.strip_prefix('+') {
        let ok = !build.is_empty()
            && build
                .split('.')
                .all(|id| !id.is_empty() && id.bytes().all(ident_byte));
        if !ok {
            return None;
        }
    } else if !rest.is_empty() {
        return None;
    }
    Some(Parsed {
        major,
        minor,
        patch,
        prerelease,
    })
}

/// A decimal number without leading zeros at the start of `s`, and what follows.
fn number(s: &str) -> Option<(&str, &str)> {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 || (end > 1 && s.starts_with('0')) {
        return None;
    }
    Some((&s[..end], &s[end..]))
}

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn valid_prerelease(pre: &str) -> bool {
    !pre.is_empty()
        && pre.split('.').all(|id| {
            !id.is_empty()
                && id.bytes().all(ident_byte)
                && !(id.len() > 1 && id.bytes().all(|b| b.is_ascii_digit()) && id.starts_with('0'))
        })
}

/// Compares two decimal strings without leading zeros.
fn cmp_num(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn cmp_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let xn = x.bytes().all(|b| b.is_ascii_digit());
                let yn = y.bytes().all(|b| b.is_ascii_digit());
                let order = match (xn, yn) {
                    (true, true) => cmp_num(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// `v`-prefixed form of a database or Go version: `1.2.3`, `v1.2.3` and `go1.2.3` all become
/// `v1.2.3` (govulncheck's canonicalisation before comparing).
pub fn canonical_prefix(v: &str) -> String {
    let bare = v.strip_prefix('v').unwrap_or(v);
    let bare = bare.strip_prefix("go").unwrap_or(bare);
    if bare.starts_with('v') || bare.starts_with("go") {
        bare.to_string()
    } else {
        format!("v{bare}")
    }
}

/// Compares two versions after [`canonical_prefix`]; invalid versions sort first.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (canonical_prefix(a), canonical_prefix(b));
    match (parse(&a), parse(&b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => cmp_num(x.major, y.major)
            .then_with(|| cmp_num(x.minor, y.minor))
            .then_with(|| cmp_num(x.patch, y.patch))
            .then_with(|| cmp_prerelease(x.prerelease, y.prerelease)),
    }
}

/// `a < b` in version order.
pub fn less(a: &str, b: &str) -> bool {
    compare(a, b) == Ordering::Less
}

/// Whether `v` is a valid version after [`canonical_prefix`].
pub fn valid(v: &str) -> bool {
    parse(&canonical_prefix(v)).is_some()
}

/// A Go release tag as semver: `go1.21rc2` → `v1.21.0-rc.2`, `go1.22.3` → `v1.22.3`, `go1` →
/// `v1.0.0`. The first word only (`go1.22.3 X:boringcrypto`). `None` for what is not a
/// release tag (`devel go1.23-abcdef`, `go1.0`).
pub fn go_tag_to_semver(tag: &str) -> Option<String> {
    let tag = tag.split_whitespace().next()?;
    if tag == "go1" {
        return Some("v1.0.0".into());
    }
    if tag == "go1.0" {
        return None;
    }
    let rest = tag.strip_prefix("go")?;
    // major.minor
    let (major, rest) = digits(rest)?;
    let rest = rest.strip_prefix('.')?;
    let (minor, rest) = digits(rest)?;
    let (patch, rest) = match rest.strip_prefix('.') {
        Some(r) => {
            let (p, r) = digits(r)?;
            (Some(p), r)
        }
        None => (None, rest),
    };
    let mut out = format!("v{major}.{minor}.{}", patch.unwrap_or("0"));
    if !rest.is_empty() {
        let (kind, num) = ["beta", "rc", "-pre"]
            .iter()
            .find_map(|k| rest.strip_prefix(k).map(|n| (*k, n)))?;
        let (n, tail) = digits(num)?;
        if !tail.is_empty() {
            return None;
        }
        if !kind.starts_with('-') {
            out.push('-');
        }
        out.push_str(kind);
        out.push('.');
        out.push_str(n);
    }
    Some(out)
}

/// One or more ASCII digits at the start of `s` (leading zeros allowed, as Go's regexp does).
fn digits(s: &str) -> Option<(&str, &str)> {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    (end > 0).then(|| (&s[..end], &s[end..]))
}

/// Whether `v` is a pseudo-version (`vX.Y.Z-[0.]yyyymmddhhmmss-abcdefabcdef`, optionally with
/// `pre.0.` or `+incompatible`): a commit, not a tag.
pub fn is_pseudo(v: &str) -> bool {
    let Some(p) = parse(v) else { return false };
    let pre = p.prerelease;
    let parts: Vec<&str> = pre.rsplitn(2, '-').collect();
    let [rev, head] = parts[..] else { return false };
    let time = head.rsplit('.').next().unwrap_or(head);
    rev.len() >= 12
        && rev.bytes().all(|b| b.is_ascii_hexdigit())
        && time.len() == 14
        && time.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `v` is a pseudo-version built on a tag (`v1.2.4-0.2024…`, `v1.2.4-rc.1.0.2024…`):
/// the go command derives it from the last tag before the commit, so it sorts between that
/// tag and the next release even when the commit carries a fix made after it.
pub fn is_base_pseudo(v: &str) -> bool {
    if !is_pseudo(v) {
        return false;
    }
    let Some(p) = parse(v) else { return false };
    // `v0.0.0-yyyymmdd…` has no base tag; `vX.Y.Z-0.yyyy…` and `vX.Y.Z-pre.0.yyyy…` do.
    p.prerelease.starts_with("0.") || p.prerelease.contains(".0.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_releases_prereleases_and_pseudo_versions() {
        let ordered = [
            "v0.0.0-20200101000000-abcdefabcdef",
            "v0.0.0-20220824120805-abcdefabcdef",
            "v0.3.7",
            "v0.3.8-0.20220101000000-abcdefabcdef",
            "v0.3.8-alpha",
            "v0.3.8-alpha.1",
            "v0.3.8-alpha.beta",
            "v0.3.8-beta.2",
            "v0.3.8-beta.11",
            "v0.3.8-rc.1",
            "v0.3.8",
            "v0.3.10",
            "v1.0.0",
            "v1.21.0-rc.2",
            "v1.21.0",
            "v2.0.0+incompatible",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(compare(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn prefixes_shorthands_and_build_metadata() {
        assert_eq!(compare("0.3.8", "v0.3.8"), Ordering::Equal);
        assert_eq!(compare("go1.21.3", "v1.21.3"), Ordering::Equal);
        assert_eq!(compare("v1.2", "v1.2.0"), Ordering::Equal);
        assert_eq!(compare("v1", "v1.0.0"), Ordering::Equal);
        assert_eq!(compare("v1.2.3+meta", "v1.2.3"), Ordering::Equal);
        // govulncheck's own table: `go1.19.1` is not below `go1.19`, a short prerelease word
        // sorts before a longer one.
        assert!(!less("go1.19.1", "go1.19"));
        assert!(less("go1.12.2", "go1.18"));
        assert!(!less("v1.20.0-pre4", "v1.20.0-pre.4"));
        assert!(less("v1.20.0-pre4", "v1.20.0-pre4.4"));
    }

    #[test]
    fn invalid_versions_sort_first_and_are_not_valid() {
        for bad in [
            "",
            "(devel)",
            "v01.2.3",
            "v1.2.3-",
            "v1.2.3-01",
            "v1.2.3+",
            "latest",
            "v1.2.3.4",
        ] {
            assert!(!valid(bad), "{bad:?}");
            assert!(less(bad, "v0.0.0"), "{bad:?}");
        }
        assert!(valid("1.2.3"));
        assert!(valid("v1.2.3-0.20220101000000-abcdefabcdef"));
    }

    #[test]
    fn go_tags_become_semver() {
        let cases = [
            ("go1.21rc2", Some("v1.21.0-rc.2")),
            ("go1.22.3", Some("v1.22.3")),
            ("go1.19", Some("v1.19.0")),
            ("go1.20-pre4", Some("v1.20.0-pre.4")),
            ("go1.18beta1", Some("v1.18.0-beta.1")),
            ("go1", Some("v1.0.0")),
            ("go1.26.0 X:nodwarf5", Some("v1.26.0")),
            ("go1.0", None),
            ("devel go1.27-abcdef", None),
            ("go1.21.x", None),
            ("", None),
        ];
        for (tag, want) in cases {
            assert_eq!(go_tag_to_semver(tag).as_deref(), want, "{tag}");
        }
    }

    #[test]
    fn pseudo_versions_are_told_apart_from_tags() {
        assert!(is_pseudo("v0.0.0-20240101120000-abcdef012345"));
        assert!(!is_base_pseudo("v0.0.0-20240101120000-abcdef012345"));
        assert!(is_base_pseudo("v1.2.4-0.20240101120000-abcdef012345"));
        assert!(is_base_pseudo("v1.2.4-rc.1.0.20240101120000-abcdef012345"));
        assert!(!is_pseudo("v1.2.4"));
        assert!(!is_pseudo("v1.2.4-rc.1"));
        assert!(!is_pseudo("(devel)"));
    }
}
