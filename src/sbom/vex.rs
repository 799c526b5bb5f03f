//! VEX inside the CycloneDX document: goready's `binary.vuln` findings for one binary
//! ([`VulnData`]) as CycloneDX `vulnerabilities`.
//!
//! What each finding says, and why:
//! - **symbol level** — a vulnerable function is in the binary: listed as affecting, with no
//!   analysis (nothing disproves it);
//! - **package or module level, with the advisory's symbols looked for** — the vulnerable
//!   functions (or packages) are not in the binary: `not_affected`, justified
//!   `code_not_present`, the detail naming what is absent;
//! - **package or module level that goready could not settle** (the advisory names no
//!   functions, or the binary's function tables were unreadable) — `in_triage`, saying why:
//!   absence was not proven, so no `not_affected` is claimed;
//! - **suppressed** in goready.toml — the suppression's reason (and its expiry) in the detail;
//!   a suppression is the team's decision, not evidence, so it changes no state.

use std::collections::BTreeMap;

use super::cyclonedx::{
    AffectedVersion, Affects, Analysis, Source, VulnProperty, VulnReference, Vulnerability,
};
use crate::vuln::data::{Evidence, Level, VulnData};
use crate::vuln::osv;

/// What the findings are mapped onto.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// Module path (as [`VulnData::module`] names it: the replacement's path where replaced,
    /// `stdlib`) → the bom-ref of its component.
    pub refs: BTreeMap<String, String>,
    /// The binary's own bom-ref: findings on modules the document does not list (the
    /// `toolchain`) affect the binary itself.
    pub main_ref: String,
    /// The binary's GOOS and GOARCH: an advisory's packages for other platforms are not named
    /// as absent.
    pub goos: String,
    /// See `goos`.
    pub goarch: String,
    /// The advisories by id, when the scan that produced the findings has them: they name the
    /// vulnerable functions a not-affected statement says are absent.
    pub advisories: Option<&'a BTreeMap<String, osv::Entry>>,
}

/// The Go vulnerability database's entry page.
fn entry_url(id: &str) -> String {
    format!("https://pkg.go.dev/vuln/{id}")
}

fn alias(id: &str) -> VulnReference {
    let (name, url) = if id.starts_with("CVE-") {
        ("NVD", format!("https://nvd.nist.gov/vuln/detail/{id}"))
    } else if id.starts_with("GHSA-") {
        (
            "GitHub Advisories",
            format!("https://github.com/advisories/{id}"),
        )
    } else {
        ("OSV", format!("https://osv.dev/vulnerability/{id}"))
    };
    VulnReference {
        id: id.to_string(),
        source: Source {
            name: name.into(),
            url: Some(url),
        },
    }
}

/// The vulnerable code an advisory names for `module` on this platform: fully qualified
/// functions (`net/http.Server.Serve`), or a package path where the whole package is
/// vulnerable. Empty when the advisory is unknown or names nothing.
fn advisory_code(entry: &osv::Entry, module: &str, goos: &str, goarch: &str) -> Vec<String> {
    let mut out = Vec::new();
    for affected in entry.affected.iter().filter(|a| a.package.name == module) {
        let Some(eco) = &affected.ecosystem_specific else {
            continue;
        };
        for import in &eco.imports {
            let on =
                |list: &[String], this: &str| list.is_empty() || list.iter().any(|x| x == this);
            if !on(&import.goos, goos) || !on(&import.goarch, goarch) {
                continue;
            }
            if import.symbols.is_empty() {
                out.push(format!("{} (the whole package)", import.path));
            } else {
                out.extend(
                    import
                        .symbols
                        .iter()
                        .map(|s| format!("{}.{s}", import.path)),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn suppression_note(f: &VulnData) -> Option<String> {
    f.suppressed.as_ref().map(|s| match &s.until {
        Some(until) => format!("Suppressed in goready.toml until {until}: {}", s.reason),
        None => format!("Suppressed in goready.toml: {}", s.reason),
    })
}

/// One CycloneDX vulnerability per finding, in the findings' order (sorted by id, then
/// module, so that a rebuild writes the same bytes).
pub fn vex(findings: &[VulnData], ctx: &Context<'_>) -> Vec<Vulnerability> {
    let mut sorted: Vec<&VulnData> = findings.iter().collect();
    sorted.sort_by(|a, b| (&a.id, &a.module).cmp(&(&b.id, &b.module)));
    sorted.dedup_by(|a, b| a.id == b.id && a.module == b.module);
    sorted.into_iter().map(|f| one(f, ctx)).collect()
}

fn one(f: &VulnData, ctx: &Context<'_>) -> Vulnerability {
    let reference = ctx
        .refs
        .get(&f.module)
        .cloned()
        .unwrap_or_else(|| ctx.main_ref.clone());
    let absent_proven = f.level != Level::Symbol && f.evidence == Evidence::SymbolsMatched;
    let suppression = suppression_note(f);
    let with_suppression = |detail: String| match &suppression {
        Some(s) => format!("{detail} {s}"),
        None => detail,
    };
    let analysis = if absent_proven {
        let named = ctx
            .advisories
            .and_then(|a| a.get(&f.id))
            .map(|e| advisory_code(e, &f.module, &ctx.goos, &ctx.goarch))
            .unwrap_or_default();
        let what = match f.level {
            Level::Module => "none of the advisory's vulnerable packages is linked into the binary",
            _ => {
                "the advisory's vulnerable functions are not in the binary's function tables (pclntab and inline trees)"
            }
        };
        let detail = if named.is_empty() {
            format!(
                "{} {} is in the binary, but {what} (see {}).",
                f.module,
                f.version,
                entry_url(&f.id)
            )
        } else {
            format!(
                "{} {} is in the binary, but {what}; absent: {}.",
                f.module,
                f.version,
                named.join(", ")
            )
        };
        Some(Analysis {
            state: Some("not_affected"),
            justification: Some("code_not_present"),
            detail: with_suppression(detail),
        })
    } else if f.level == Level::Symbol {
        suppression.clone().map(|detail| Analysis {
            state: None,
            justification: None,
            detail,
        })
    } else {
        let why = match f.evidence {
            Evidence::StrippedFallback => {
                "the binary's function tables could not be read, so goready could not look for the vulnerable functions"
            }
            Evidence::Fork => {
                "the module is replaced by a fork, whose code may differ from the advisory's module, so only its version was compared"
            }
            _ => "the advisory names no vulnerable functions or packages to look for",
        };
        Some(Analysis {
            state: Some("in_triage"),
            justification: None,
            detail: with_suppression(format!(
                "{} {} is at an affected version; {why}: the vulnerable code may be in the binary.",
                f.module, f.version
            )),
        })
    };
    let recommendation = Some(match (&f.fixed, f.module.as_str()) {
        (Some(fixed), "stdlib" | "toolchain") => {
            format!(
                "Rebuild with Go {} or later.",
                fixed.trim_start_matches('v')
            )
        }
        (Some(fixed), module) => format!("Upgrade {module} to {fixed} or later."),
        (None, _) => "No fixed version is known yet.".into(),
    });
    let mut properties = vec![
        VulnProperty {
            name: "goready:vuln:level".into(),
            value: level_name(f.level).into(),
        },
        VulnProperty {
            name: "goready:vuln:evidence".into(),
            value: evidence_name(f.evidence).into(),
        },
    ];
    properties.extend(f.symbols.iter().map(|s| VulnProperty {
        name: "goready:vuln:symbol".into(),
        value: s.clone(),
    }));
    properties.extend(f.notes.iter().map(|n| VulnProperty {
        name: "goready:vuln:note".into(),
        value: n.clone(),
    }));
    if let Some(s) = &f.suppressed {
        properties.push(VulnProperty {
            name: "goready:vuln:suppressed".into(),
            value: s.reason.clone(),
        });
    }
    Vulnerability {
        bom_ref: format!("{}:{}", f.id, f.module),
        id: f.id.clone(),
        source: Source {
            name: "Go Vulnerability Database".into(),
            url: Some(entry_url(&f.id)),
        },
        references: f.aliases.iter().map(|a| alias(a)).collect(),
        description: Some(f.summary.clone()).filter(|s| !s.is_empty()),
        recommendation,
        analysis,
        affects: vec![Affects {
            reference,
            versions: if absent_proven || f.version.is_empty() {
                Vec::new()
            } else {
                vec![AffectedVersion {
                    version: f.version.clone(),
                    status: "affected",
                }]
            },
        }],
        properties,
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Symbol => "symbol",
        Level::Package => "package",
        Level::Module => "module",
    }
}

fn evidence_name(evidence: Evidence) -> &'static str {
    match evidence {
        Evidence::SymbolsMatched => "symbols_matched",
        Evidence::AdvisoryWithoutSymbols => "advisory_without_symbols",
        Evidence::StrippedFallback => "stripped_fallback",
        Evidence::Fork => "fork",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::data::Suppression;

    /// A finding as the scan writes it, built through its JSON (so fields the vulnerability
    /// room adds later, all optional, need no change here).
    fn finding(id: &str, module: &str, level: Level, evidence: Evidence) -> VulnData {
        let symbols: Vec<&str> = if level == Level::Symbol {
            vec!["golang.org/x/net/html.Parse"]
        } else {
            vec![]
        };
        serde_json::from_value(serde_json::json!({
            "id": id,
            "aliases": ["CVE-2024-1234", "GHSA-abcd-efgh-ijkl"],
            "module": module,
            "version": "v0.20.0",
            "fixed": "v0.23.0",
            "level": level,
            "symbols": symbols,
            "evidence": evidence,
            "summary": "Non-linear parsing in golang.org/x/net/html",
            "notes": ["the main module is at a VCS pseudo-version: low confidence"],
        }))
        .unwrap()
    }

    fn entry(id: &str) -> osv::Entry {
        let json = format!(
            r#"{{"id":"{id}","affected":[{{"package":{{"name":"golang.org/x/net","ecosystem":"Go"}},
            "ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"0.23.0"}}]}}],
            "ecosystem_specific":{{"imports":[
              {{"path":"golang.org/x/net/html","symbols":["Parse","Tokenizer.Next"]}},
              {{"path":"golang.org/x/net/internal/socket","goos":["windows"],"symbols":["Conn.Recv"]}},
              {{"path":"golang.org/x/net/http2/h2c"}}]}}}}]}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    fn ctx(advisories: Option<&BTreeMap<String, osv::Entry>>) -> Context<'_> {
        Context {
            refs: [(
                "golang.org/x/net".to_string(),
                "pkg:golang/golang.org/x/net@v0.20.0".to_string(),
            )]
            .into(),
            main_ref: "pkg:golang/example.com/svc@1.0.0?goarch=arm64&goos=linux".into(),
            goos: "linux".into(),
            goarch: "arm64".into(),
            advisories,
        }
    }

    #[test]
    fn symbol_level_affects_the_module_without_analysis() {
        let v = vex(
            &[finding(
                "GO-2024-0001",
                "golang.org/x/net",
                Level::Symbol,
                Evidence::SymbolsMatched,
            )],
            &ctx(None),
        );
        assert_eq!(v.len(), 1);
        let v = &v[0];
        assert_eq!(v.analysis, None);
        assert_eq!(
            v.affects[0].reference,
            "pkg:golang/golang.org/x/net@v0.20.0"
        );
        assert_eq!(v.affects[0].versions[0].status, "affected");
        assert_eq!(
            v.source.url.as_deref(),
            Some("https://pkg.go.dev/vuln/GO-2024-0001")
        );
        assert_eq!(v.references[0].source.name, "NVD");
        assert_eq!(v.references[1].source.name, "GitHub Advisories");
        assert_eq!(
            v.recommendation.as_deref(),
            Some("Upgrade golang.org/x/net to v0.23.0 or later.")
        );
        assert!(
            v.properties.iter().any(
                |p| p.name == "goready:vuln:symbol" && p.value == "golang.org/x/net/html.Parse"
            )
        );
    }

    #[test]
    fn package_level_is_not_affected_naming_the_absent_functions_of_this_platform() {
        let advisories: BTreeMap<String, osv::Entry> =
            [("GO-2024-0002".to_string(), entry("GO-2024-0002"))].into();
        let v = vex(
            &[finding(
                "GO-2024-0002",
                "golang.org/x/net",
                Level::Package,
                Evidence::SymbolsMatched,
            )],
            &ctx(Some(&advisories)),
        );
        let a = v[0].analysis.as_ref().unwrap();
        assert_eq!(a.state, Some("not_affected"));
        assert_eq!(a.justification, Some("code_not_present"));
        assert!(
            a.detail
                .contains("golang.org/x/net/html.Parse, golang.org/x/net/html.Tokenizer.Next"),
            "{}",
            a.detail
        );
        assert!(
            a.detail
                .contains("golang.org/x/net/http2/h2c (the whole package)"),
            "{}",
            a.detail
        );
        assert!(
            !a.detail.contains("socket"),
            "a windows-only package is not named on linux: {}",
            a.detail
        );
        assert!(v[0].affects[0].versions.is_empty());
    }

    #[test]
    fn module_level_without_the_advisory_still_says_what_is_absent_and_where_to_read() {
        let v = vex(
            &[finding(
                "GO-2024-0003",
                "golang.org/x/net",
                Level::Module,
                Evidence::SymbolsMatched,
            )],
            &ctx(None),
        );
        let a = v[0].analysis.as_ref().unwrap();
        assert_eq!(a.state, Some("not_affected"));
        assert!(
            a.detail
                .contains("none of the advisory's vulnerable packages is linked"),
            "{}",
            a.detail
        );
        assert!(
            a.detail.contains("https://pkg.go.dev/vuln/GO-2024-0003"),
            "{}",
            a.detail
        );
    }

    #[test]
    fn unsettled_levels_are_in_triage_never_not_affected() {
        for evidence in [
            Evidence::StrippedFallback,
            Evidence::AdvisoryWithoutSymbols,
            Evidence::Fork,
        ] {
            let v = vex(
                &[finding(
                    "GO-2024-0004",
                    "golang.org/x/net",
                    Level::Module,
                    evidence,
                )],
                &ctx(None),
            );
            let a = v[0].analysis.as_ref().unwrap();
            assert_eq!(a.state, Some("in_triage"), "{evidence:?}");
            assert_eq!(a.justification, None);
            assert_eq!(v[0].affects[0].versions[0].version, "v0.20.0");
        }
    }

    #[test]
    fn suppression_reason_is_carried_and_changes_no_state() {
        let mut f = finding(
            "GO-2024-0005",
            "golang.org/x/net",
            Level::Symbol,
            Evidence::SymbolsMatched,
        );
        f.suppressed = Some(Suppression {
            reason: "only reachable behind auth".into(),
            until: Some("2027-01-31".into()),
        });
        let v = vex(std::slice::from_ref(&f), &ctx(None));
        let a = v[0].analysis.as_ref().unwrap();
        assert_eq!(a.state, None, "suppressed is not a VEX state");
        assert_eq!(
            a.detail,
            "Suppressed in goready.toml until 2027-01-31: only reachable behind auth"
        );
        assert!(
            v[0].properties
                .iter()
                .any(|p| p.name == "goready:vuln:suppressed")
        );
        f.level = Level::Package;
        let v = vex(&[f], &ctx(None));
        let a = v[0].analysis.as_ref().unwrap();
        assert_eq!(a.state, Some("not_affected"));
        assert!(
            a.detail.ends_with(
                "Suppressed in goready.toml until 2027-01-31: only reachable behind auth"
            ),
            "{}",
            a.detail
        );
    }

    #[test]
    fn stdlib_and_toolchain_findings_point_at_the_go_that_built_it() {
        let mut ctx = ctx(None);
        ctx.refs
            .insert("stdlib".into(), "pkg:golang/stdlib@v1.22.1".into());
        let mut std = finding(
            "GO-2024-0006",
            "stdlib",
            Level::Symbol,
            Evidence::SymbolsMatched,
        );
        std.fixed = Some("v1.22.2".into());
        let mut tc = finding(
            "GO-2024-0007",
            "toolchain",
            Level::Module,
            Evidence::AdvisoryWithoutSymbols,
        );
        tc.fixed = None;
        // Given out of order, and one twice: sorted and unique.
        let v = vex(&[tc.clone(), std.clone(), tc], &ctx);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].affects[0].reference, "pkg:golang/stdlib@v1.22.1");
        assert_eq!(
            v[0].recommendation.as_deref(),
            Some("Rebuild with Go 1.22.2 or later.")
        );
        assert_eq!(v[1].affects[0].reference, ctx.main_ref);
        assert_eq!(
            v[1].recommendation.as_deref(),
            Some("No fixed version is known yet.")
        );
    }
}
