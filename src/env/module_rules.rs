//! The `env` suite, module hygiene: how modules are fetched and checked (GOPROXY, GOSUMDB,
//! GOPRIVATE, GOFLAGS) and whether go.sum is present, verified and tidy. Each rule is
//! documented in docs/checks.md under its id.

use super::facts::{EnvFacts, ModuleFacts};
use super::releases::plural;
use crate::model::data::{
    GoSumData, GoflagsData, GoprivateData, GoproxyData, GosumdbData, facts as record,
};
use crate::model::{Check, Severity};
use crate::registry as ids;

/// The entries of GOPROXY (`,` falls through on 404/410, `|` on any error).
fn proxy_entries(v: &str) -> Vec<&str> {
    v.split([',', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Public module proxies anyone can read the request log of (well, their operators).
const PUBLIC_PROXIES: &[&str] = &[
    "proxy.golang.org",
    "goproxy.io",
    "goproxy.cn",
    "mirrors.aliyun.com",
    "mirrors.cloud.tencent.com",
    "repo.huaweicloud.com",
    "goproxy.dev",
];

fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or("")
}

fn is_public(url: &str) -> bool {
    PUBLIC_PROXIES.contains(&host(url))
}

/// Why a rule that reads `keys` has no evidence: go env did not report some of them. An
/// unreported variable reads as "", which would otherwise look like an unset one.
fn unreported(facts: &EnvFacts, keys: &[&str]) -> Option<String> {
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| facts.reported(k).is_none())
        .collect();
    (!missing.is_empty())
        .then(|| format!("not evaluated: go env reported no {}", missing.join(", ")))
}

/// `env.goproxy`: modules come through a proxy over HTTPS.
pub fn goproxy(facts: &EnvFacts) -> Check {
    let v = facts.var("GOPROXY");
    let entries = proxy_entries(v);
    let rule = Check::of(&ids::ENV_GOPROXY).data(GoproxyData {
        goproxy: v.to_string(),
        vendored: facts.vendored,
    });
    if let Some(why) = unreported(facts, &["GOPROXY"]) {
        return rule.skip(why);
    }
    if entries.is_empty() || entries == ["off"] {
        return if facts.vendored {
            rule.pass(format!(
                "GOPROXY={v:?}: no module downloads, and the module is vendored (vendor/modules.txt)"
            ))
        } else {
            rule.fail(format!(
                "GOPROXY={v:?}: go cannot download any module; a build works only while the \
                 module cache already holds every dependency — use a proxy or vendor them"
            ))
        };
    }
    let plain: Vec<_> = entries
        .iter()
        .filter(|e| e.starts_with("http://"))
        .collect();
    if !plain.is_empty() {
        return rule.fail(format!(
            "GOPROXY={v}: {} over plain HTTP — anyone on the path can swap module content \
             (go.sum still catches known modules; new ones are trusted on first use)",
            plain
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if entries.iter().all(|e| *e == "direct" || *e == "off") {
        return rule.fail(format!(
            "GOPROXY={v}: every module is fetched straight from its VCS host: builds depend on \
             each host being up and tags never moving (a proxy serves immutable cached copies); \
             use https://proxy.golang.org,direct or your company's proxy"
        ));
    }
    rule.pass(format!("GOPROXY={v}"))
}

fn flag_set(goflags: &str, flag: &str) -> bool {
    goflags.split_whitespace().any(|f| {
        let f = f.trim_start_matches('-');
        f == flag || f == format!("{flag}=true") || f == format!("{flag}=1")
    })
}

/// `env.gosumdb`: module checksums are checked against a checksum database.
pub fn gosumdb(facts: &EnvFacts) -> Check {
    let sumdb = facts.var("GOSUMDB");
    let private = facts.var("GOPRIVATE");
    let nosumdb = facts.var("GONOSUMDB");
    let insecure = facts.var("GOINSECURE");
    let goflags = facts.var("GOFLAGS");
    let rule = Check::of(&ids::ENV_GOSUMDB).data(GosumdbData {
        gosumdb: sumdb.to_string(),
        gonosumdb: nosumdb.to_string(),
        goprivate: private.to_string(),
        goinsecure: insecure.to_string(),
        goflags: goflags.to_string(),
        legacy: facts.legacy_vars.clone(),
    });
    if sumdb != "off"
        && let Some(why) = unreported(
            facts,
            &["GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GOINSECURE", "GOFLAGS"],
        )
    {
        return rule.skip(why);
    }
    if sumdb == "off" {
        return rule.fail(
            "GOSUMDB=off: new module versions are trusted on first download, with nothing to \
             catch a tampered proxy or a re-tagged version; unset it (sum.golang.org) and list \
             private modules in GOPRIVATE instead",
        );
    }
    let mut flagged = Vec::new();
    let private_patterns: Vec<&str> = split_patterns(private);
    let extra: Vec<&str> = split_patterns(nosumdb)
        .into_iter()
        .filter(|p| !private_patterns.contains(p))
        .collect();
    if !extra.is_empty() {
        flagged.push(format!(
            "GONOSUMDB skips the checksum database for {} beyond GOPRIVATE",
            extra.join(",")
        ));
    }
    if !insecure.is_empty() {
        flagged.push(format!(
            "GOINSECURE={insecure} fetches those modules over plain HTTP or unverified TLS and \
             skips the checksum database"
        ));
    }
    if flag_set(goflags, "insecure") {
        flagged.push(
            "GOFLAGS has -insecure (removed in Go 1.17; someone meant to skip verification)".into(),
        );
    }
    for (k, v) in &facts.legacy_vars {
        flagged.push(format!(
            "{k}={v} is set: Go does not read it (it was never a released setting), but it \
             shows an attempt to turn checksum checks off"
        ));
    }
    if flagged.is_empty() {
        rule.pass(format!(
            "GOSUMDB={sumdb} checks every public module: GONOSUMDB={nosumdb:?} adds nothing \
             beyond GOPRIVATE={private:?}, GOINSECURE is empty, GOFLAGS has no -insecure"
        ))
    } else {
        rule.severity(Severity::Warning)
            .fail(format!("GOSUMDB={sumdb}, but {}", flagged.join("; ")))
    }
}

fn split_patterns(v: &str) -> Vec<&str> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Does glob pattern `pat` (as in GOPRIVATE) cover every module path `private` matches?
/// Go matches patterns against path prefixes element by element (`module.MatchPrefixPatterns`),
/// so `example.com/acme` covers `example.com/acme/*` and `example.com/acme/x`.
pub fn covers(pat: &str, private: &str) -> bool {
    let pat = pat.trim_end_matches('/');
    let private = private.trim_end_matches('/');
    let p: Vec<&str> = pat.split('/').collect();
    let q: Vec<&str> = private.split('/').collect();
    if p.len() > q.len() {
        return false;
    }
    p.iter().zip(&q).all(|(a, b)| {
        *a == "*" || a == b || (!b.contains(['*', '?', '[']) && glob(a.as_bytes(), b.as_bytes()))
    })
}

/// `path.Match` for one path element: `*`, `?`, `[...]` classes.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some(end) = rest.iter().position(|&c| c == b']') else {
                return false;
            };
            let Some((&c, tail)) = s.split_first() else {
                return false;
            };
            let (negate, class) = match rest[..end].split_first() {
                Some((b'^', cls)) => (true, cls),
                _ => (false, &rest[..end]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob(&rest[end + 1..], tail)
        }
        Some((&c, rest)) => s.first() == Some(&c) && glob(rest, &s[1..]),
    }
}

/// `env.goprivate`: private module paths stay away from public proxies and checksum
/// databases.
pub fn goprivate(facts: &EnvFacts, private: &[String]) -> Check {
    let proxy = facts.var("GOPROXY");
    let noproxy = facts.var("GONOPROXY");
    let nosumdb = facts.var("GONOSUMDB");
    let sumdb = facts.var("GOSUMDB");
    let rule = Check::of(&ids::ENV_GOPRIVATE).data(GoprivateData {
        private: private.to_vec(),
        goprivate: facts.var("GOPRIVATE").to_string(),
        gonoproxy: noproxy.to_string(),
        gonosumdb: nosumdb.to_string(),
        goproxy: proxy.to_string(),
    });
    if private.is_empty() {
        return rule.skip(
            "no --private PATTERN given: goready cannot tell which module paths are private",
        );
    }
    if let Some(why) = unreported(facts, &["GOPROXY", "GOSUMDB", "GONOPROXY", "GONOSUMDB"]) {
        return rule.skip(why);
    }
    let public: Vec<&str> = proxy_entries(proxy)
        .into_iter()
        .filter(|e| is_public(e))
        .collect();
    let public_sumdb = sumdb != "off";
    let mut leaks = Vec::new();
    for pat in private {
        let mut to = Vec::new();
        if !public.is_empty() && !split_patterns(noproxy).iter().any(|n| covers(n, pat)) {
            to.push(format!(
                "requested from {} (not covered by GONOPROXY={noproxy:?})",
                public.join(", ")
            ));
        }
        if public_sumdb && !split_patterns(nosumdb).iter().any(|n| covers(n, pat)) {
            let db = sumdb.split_whitespace().next().unwrap_or(sumdb);
            to.push(format!(
                "looked up in {db} (not covered by GONOSUMDB={nosumdb:?})"
            ));
        }
        if !to.is_empty() {
            leaks.push(format!("{pat} would be {}", to.join(" and ")));
        }
    }
    if leaks.is_empty() {
        rule.pass(format!(
            "{} covered by GONOPROXY={noproxy:?} / GONOSUMDB={nosumdb:?}",
            private.join(", ")
        ))
    } else {
        rule.fail(format!(
            "{}: their paths (and names of your repositories) leak to public services, and \
             fetches fail or, worse, resolve to someone else's public module; set \
             GOPRIVATE={}",
            leaks.join("; "),
            private.join(",")
        ))
    }
}

/// `env.goflags`: GOFLAGS holds nothing that weakens CI.
pub fn goflags(facts: &EnvFacts) -> Check {
    let v = facts.var("GOFLAGS");
    let rule = Check::of(&ids::ENV_GOFLAGS).data(GoflagsData {
        goflags: v.to_string(),
    });
    if let Some(why) = unreported(facts, &["GOFLAGS"]) {
        return rule.skip(why);
    }
    let mut found: Vec<(Severity, String)> = Vec::new();
    for f in v.split_whitespace() {
        let bare = f.trim_start_matches('-');
        match bare {
            "mod=mod" => found.push((
                Severity::Warning,
                "-mod=mod lets every go command rewrite go.mod and go.sum instead of failing \
                 when they are out of date: CI builds what nobody committed"
                    .into(),
            )),
            "insecure" | "insecure=true" => found.push((
                Severity::Warning,
                "-insecure (removed in Go 1.17) was meant to skip TLS and checksum checks".into(),
            )),
            "modcacherw" | "modcacherw=true" => found.push((
                Severity::Notice,
                "-modcacherw leaves the module cache writable, so a build step can alter \
                 dependencies unnoticed until `go mod verify`"
                    .into(),
            )),
            "buildvcs=false" => found.push((
                Severity::Notice,
                "-buildvcs=false drops the commit and dirty flag from every binary's build info \
                 (see binary.vcs)"
                    .into(),
            )),
            _ => {}
        }
    }
    if found.is_empty() {
        return rule.pass(if v.is_empty() {
            "go env reports GOFLAGS empty".to_string()
        } else {
            format!("GOFLAGS={v}: nothing that weakens CI")
        });
    }
    let severity = found
        .iter()
        .map(|(s, _)| *s)
        .max()
        .unwrap_or(Severity::Notice);
    rule.severity(severity).fail(format!(
        "GOFLAGS={v}: {}",
        found
            .into_iter()
            .map(|(_, m)| m)
            .collect::<Vec<_>>()
            .join("; ")
    ))
}

/// The largest diff or error text a message carries; the full text is in the check's data.
const MESSAGE_LIMIT: usize = 4000;

fn clip(s: &str) -> String {
    let s = s.trim_end();
    if s.len() <= MESSAGE_LIMIT {
        return s.to_string();
    }
    let mut end = MESSAGE_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} more bytes)", &s[..end], s.len() - end)
}

/// `env.go_sum`: go.sum present when needed, verified, and go.mod/go.sum tidy.
pub fn go_sum(facts: &EnvFacts) -> Check {
    let rule = Check::of(&ids::ENV_GO_SUM);
    let Some(m) = &facts.module else {
        return rule.skip(format!(
            "no go.mod in {} or above: not a Go module",
            facts.dir.display()
        ));
    };
    let Ok(gomod) = &m.gomod else {
        return rule
            .location(m.gomod_display.clone(), None)
            .error("go.mod could not be read");
    };
    let summed: Vec<&str> = gomod
        .summed_requirements()
        .map(|r| r.path.as_str())
        .collect();
    let info = |m: &ModuleFacts| GoSumData {
        requirements: gomod.require.len(),
        summed_requirements: summed.len(),
        go_sum_lines: m.go_sum_lines,
        verify: record(&m.verify),
        tidy: record(&m.tidy),
        workspace: m.workspace.as_ref().map(|w| w.display().to_string()),
    };
    let rule = rule.data(info(m));
    if m.go_sum_lines.is_none() && !summed.is_empty() {
        return rule.location(m.gomod_display.clone(), None).fail(format!(
            "go.mod requires {} ({}) but there is no go.sum: `go build` fails with \"missing \
             go.sum entry\" and nothing pins the dependencies' content; run `go mod tidy` and \
             commit go.sum",
            plural(summed.len() as i64, "module"),
            summed
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(why) = &m.skipped {
        return rule
            .location(m.gomod_display.clone(), None)
            .skip(why.clone());
    }
    let mut problems = Vec::new();
    let mut errors = Vec::new();
    if let Some(v) = &m.verify
        && !v.success()
    {
        let out = format!("{}{}", v.stdout, v.stderr);
        if v.timed_out {
            errors.push(format!("`{}` timed out", v.command));
        } else if out.contains("has been modified") || out.contains("checksum mismatch") {
            problems.push(format!(
                "`{}` found modules whose content differs from go.sum:\n{}",
                v.command,
                clip(&out)
            ));
        } else {
            errors.push(format!("`{}` failed:\n{}", v.command, clip(&out)));
        }
    }
    if let Some(t) = &m.tidy
        && !t.success()
    {
        if t.timed_out {
            errors.push(format!("`{}` timed out", t.command));
        } else if t.stdout.trim_start().starts_with("diff ") {
            problems.push(format!(
                "go.mod/go.sum are not tidy; `go mod tidy` would change:\n{}",
                clip(&t.stdout)
            ));
        } else {
            errors.push(format!(
                "`{}` failed:\n{}",
                t.command,
                clip(&format!("{}{}", t.stdout, t.stderr))
            ));
        }
    }
    let loc = |c: crate::model::CheckBuilder| c.location(m.gomod_display.clone(), None);
    if !problems.is_empty() {
        let mut msg = problems.join("\n");
        if !errors.is_empty() {
            msg.push('\n');
            msg.push_str(&errors.join("\n"));
        }
        return loc(rule).fail(msg);
    }
    if !errors.is_empty() {
        return loc(rule).error(errors.join("\n"));
    }
    // The pass quotes Go's own verdict: without a `go mod verify` run there is none.
    let Some(verify) = &m.verify else {
        return loc(rule).skip("not evaluated: `go mod verify` was not run");
    };
    let sum = match m.go_sum_lines {
        Some(n) => format!("go.sum has {}", plural(n as i64, "line")),
        None => "no go.sum needed (no downloaded dependencies)".to_string(),
    };
    let tidy = match (&m.tidy, &m.tidy_skipped) {
        (_, Some(why)) => format!("; {why}"),
        (Some(t), None) => format!("; `{}` changed nothing", t.command),
        (None, None) => "; tidiness not checked (`go mod tidy -diff` was not run)".to_string(),
    };
    let verified = verify
        .stdout
        .lines()
        .chain(verify.stderr.lines())
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("exit 0")
        .trim()
        .to_string();
    loc(rule).pass(format!("{sum}; `{}`: {verified}{tidy}", verify.command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::toolchain_rules::tests::facts;
    use crate::model::Status;

    #[test]
    fn sumdb_and_proxy_settings() {
        assert_eq!(gosumdb(&facts(&[])).status, Status::Pass);
        let off = gosumdb(&facts(&[("GOSUMDB", "off")]));
        assert_eq!((off.status, off.severity), (Status::Fail, Severity::Error));
        let c = gosumdb(&facts(&[
            ("GOPRIVATE", "corp.io"),
            ("GONOSUMDB", "corp.io"),
        ]));
        assert_eq!(c.status, Status::Pass, "GONOSUMDB = GOPRIVATE is normal");
        let c = gosumdb(&facts(&[("GONOSUMDB", "github.com")]));
        assert_eq!((c.status, c.severity), (Status::Fail, Severity::Warning));
        let c = gosumdb(&facts(&[("GOINSECURE", "corp.io")]));
        assert_eq!(c.status, Status::Fail);
        let c = gosumdb(&facts(&[("GOFLAGS", "-insecure")]));
        assert_eq!(c.status, Status::Fail);
        assert_eq!(goproxy(&facts(&[])).status, Status::Pass);
        assert_eq!(
            goproxy(&facts(&[("GOPROXY", "direct")])).status,
            Status::Fail
        );
        assert_eq!(goproxy(&facts(&[("GOPROXY", "off")])).status, Status::Fail);
        assert_eq!(
            goproxy(&facts(&[("GOPROXY", "http://athens.corp,direct")])).status,
            Status::Fail
        );
    }

    #[test]
    fn private_patterns_and_coverage() {
        assert!(covers("example.com/acme", "example.com/acme/*"));
        assert!(covers("*.corp.example", "git.corp.example/team/x"));
        assert!(covers("example.com/*", "example.com/acme"));
        assert!(!covers("example.com/acme/x", "example.com/acme/*"));
        assert!(!covers("example.com/other", "example.com/acme"));
        assert!(covers("example.com/[a-c]cme", "example.com/acme/svc"));
        let private = vec!["example.com/acme".to_string()];
        let leak = goprivate(&facts(&[]), &private);
        assert_eq!(leak.status, Status::Fail);
        assert!(
            leak.message.contains("proxy.golang.org"),
            "{}",
            leak.message
        );
        assert!(leak.message.contains("sum.golang.org"), "{}", leak.message);
        let ok = goprivate(
            &facts(&[("GONOPROXY", "example.com"), ("GONOSUMDB", "example.com")]),
            &private,
        );
        assert_eq!(ok.status, Status::Pass, "{}", ok.message);
        let corp = goprivate(
            &facts(&[("GOPROXY", "https://athens.corp"), ("GOSUMDB", "off")]),
            &private,
        );
        assert_eq!(corp.status, Status::Pass, "{}", corp.message);
        assert_eq!(goprivate(&facts(&[]), &[]).status, Status::Skip);
    }

    #[test]
    fn goflags_severity_is_the_worst_finding() {
        let c = goflags(&facts(&[("GOFLAGS", "-buildvcs=false")]));
        assert_eq!((c.status, c.severity), (Status::Fail, Severity::Notice));
        let c = goflags(&facts(&[("GOFLAGS", "-buildvcs=false -mod=mod")]));
        assert_eq!((c.status, c.severity), (Status::Fail, Severity::Warning));
        assert_eq!(
            goflags(&facts(&[("GOFLAGS", "-trimpath")])).status,
            Status::Pass
        );
    }

    // A pass needs its evidence (docs/checks.md): a variable go env did not report, or a
    // go command that did not run, is not a pass.

    /// `facts` without `key` in go env's report.
    fn without(key: &str) -> EnvFacts {
        let mut f = facts(&[]);
        if let Ok(env) = &mut f.go_env {
            env.remove(key);
        }
        f
    }

    #[test]
    fn module_env_passes_need_go_env_to_report_their_variables() {
        assert_eq!(goproxy(&without("GOPROXY")).status, Status::Skip);
        let mut vendored = without("GOPROXY");
        vendored.vendored = true;
        assert_eq!(goproxy(&vendored).status, Status::Skip);
        for key in ["GOSUMDB", "GONOSUMDB", "GOINSECURE", "GOFLAGS", "GOPRIVATE"] {
            let c = gosumdb(&without(key));
            assert_eq!(c.status, Status::Skip, "{key}: {}", c.message);
            assert!(c.message.contains(key), "{}", c.message);
        }
        let private = vec!["example.com/acme".to_string()];
        for key in ["GOPROXY", "GOSUMDB", "GONOPROXY", "GONOSUMDB"] {
            assert_eq!(
                goprivate(&without(key), &private).status,
                Status::Skip,
                "{key}"
            );
        }
        assert_eq!(goflags(&without("GOFLAGS")).status, Status::Skip);
        let empty = goflags(&facts(&[]));
        assert_eq!(empty.status, Status::Pass);
        assert!(
            empty.message.contains("reports GOFLAGS empty"),
            "{}",
            empty.message
        );
        let c = gosumdb(&facts(&[]));
        assert!(
            c.message.contains("GOSUMDB=sum.golang.org")
                && c.message.contains("GOINSECURE is empty"),
            "{}",
            c.message
        );
        let c = goproxy(&facts(&[]));
        assert!(
            c.message.contains("https://proxy.golang.org,direct"),
            "{}",
            c.message
        );
    }

    fn ran(command: &str, stdout: &str) -> crate::env::facts::CommandResult {
        crate::env::facts::CommandResult {
            command: command.into(),
            exit_code: Some(0),
            timed_out: false,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    fn module(verify: Option<&str>, tidy: bool) -> EnvFacts {
        let mut f = facts(&[]);
        f.module = Some(ModuleFacts {
            root: ".".into(),
            gomod_display: "go.mod".into(),
            gomod: Ok(crate::env::gomod::GoMod::parse(
                "module example.com/svc\n\ngo 1.26\n\nrequire golang.org/x/text v0.3.0\n",
            )),
            go_sum_lines: Some(2),
            gosum_display: "go.sum".into(),
            workspace: None,
            verify: verify.map(|out| ran("go mod verify", out)),
            tidy: tidy.then(|| ran("go mod tidy -diff", "")),
            skipped: None,
            tidy_skipped: None,
        });
        f
    }

    #[test]
    fn go_sum_pass_needs_go_mod_verify_to_have_run() {
        let c = go_sum(&facts(&[]));
        assert_eq!(c.status, Status::Skip, "no module: {}", c.message);
        let c = go_sum(&module(None, true));
        assert_eq!(c.status, Status::Skip, "{}", c.message);
        let c = go_sum(&module(Some("all modules verified\n"), false));
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(
            c.message.contains("tidiness not checked") && !c.message.contains(": tidy"),
            "{}",
            c.message
        );
        let c = go_sum(&module(Some("all modules verified\n"), true));
        assert_eq!(c.status, Status::Pass, "{}", c.message);
        assert!(
            c.message.contains("go.sum has 2 lines")
                && c.message.contains("`go mod verify`: all modules verified")
                && c.message.contains("`go mod tidy -diff` changed nothing"),
            "{}",
            c.message
        );
    }
}
