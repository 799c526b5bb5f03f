//! SARIF 2.1.0 for code scanning (GitHub's `upload-sarif`, GitLab, IDEs).
//!
//! The driver lists every rule goready knows — short description from the registry, full
//! description and help from docs/checks.md (compiled in), `helpUri` to the rule's anchor —
//! plus any id a newer result file carries. Results are the problems only (fail and error);
//! every result has a physical location with a line, as code scanning requires: the check's
//! own file and line, else line 1 of the fallback file (goready.toml, where the rule is
//! configured). The target (binary, matrix entry, package) is a logical location.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};

use crate::model::findings::findings;
use crate::model::{Change, Report, Severity, Status};
use crate::registry;
use crate::report::{docs_url, rule_title, subject, unique_ids};

/// docs/checks.md as built into this goready.
const CHECKS_MD: &str = include_str!("../../docs/checks.md");

/// The section of docs/checks.md about `id`, without its heading.
pub fn doc_section(id: &str) -> Option<&'static str> {
    let heading = format!("## `{id}`");
    let start = CHECKS_MD.find(&heading)? + heading.len();
    let rest = &CHECKS_MD[start..];
    let end = [rest.find("\n## "), rest.find("\n<a id=")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// The **What** paragraph of a rule's docs, as plain text on one line.
fn what(section: &str) -> Option<String> {
    let start = section.find("**What**")?;
    let rest = &section[start + "**What**".len()..];
    let end = rest.find("\n- **").unwrap_or(rest.len());
    let text = rest[..end]
        .trim_start_matches([':', ' '])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Some(text.replace('`', ""))
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "note",
    }
}

/// A repo-relative path as a URI reference: `/` separators, everything outside the unreserved
/// set percent-encoded.
pub fn path_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.trim_start_matches("./");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn rule_descriptor(id: &str) -> Value {
    let known = registry::find(id);
    let section = doc_section(id);
    let mut rule = json!({
        "id": id,
        "helpUri": docs_url(id),
    });
    if let Some(r) = known {
        rule["shortDescription"] = json!({"text": r.title});
        rule["defaultConfiguration"] = json!({"level": level(r.severity)});
        rule["properties"] = json!({"tags": [r.suite]});
    } else {
        rule["shortDescription"] = json!({"text": id});
    }
    if let Some(section) = section {
        if let Some(what) = what(section) {
            rule["fullDescription"] = json!({"text": what});
        }
        rule["help"] = json!({"text": section, "markdown": section});
    }
    rule
}

/// The SARIF log for a report.
pub fn to_sarif(report: &Report, fallback_file: &str) -> Value {
    let mut ids: Vec<String> = registry::all().map(|r| r.id.to_string()).collect();
    for c in &report.checks {
        if !ids.contains(&c.id) {
            ids.push(c.id.clone());
        }
    }
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let rules: Vec<Value> = ids.iter().map(|id| rule_descriptor(id)).collect();

    // One result per finding: its lead check's rule, message and location, every target as
    // a logical location, and the finding's identity as the fingerprint.
    let found = findings(report);
    let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
    let fingerprints = unique_ids(&ids);
    let results: Vec<Value> = found
        .iter()
        .zip(fingerprints)
        .map(|(f, fp)| {
            let c = f.lead();
            let targets = f.targets();
            let mut text = format!("{}: {}", rule_title(c), c.message.trim_end());
            match (targets.is_empty(), subject(c)) {
                (false, Some(s)) => text.push_str(&format!(" [{} {s}]", targets.join(", "))),
                (false, None) => text.push_str(&format!(" [{}]", targets.join(", "))),
                (true, Some(s)) => text.push_str(&format!(" [{s}]")),
                (true, None) => {}
            }
            if let Some(line) = f.explains_line() {
                text.push_str("; ");
                text.push_str(&line);
            }
            if f.status() == Status::Error {
                text = format!("not evaluated — {text}");
            }
            let mut location = json!({
                "physicalLocation": {
                    "artifactLocation": {
                        "uri": path_uri(c.file.as_deref().unwrap_or(fallback_file)),
                        "uriBaseId": "%SRCROOT%"
                    },
                    "region": {"startLine": c.line.unwrap_or(1).max(1)}
                }
            });
            if !targets.is_empty() {
                location["logicalLocations"] = Value::Array(
                    targets
                        .iter()
                        .map(|t| json!({"fullyQualifiedName": t, "kind": "module"}))
                        .collect(),
                );
            }
            let mut properties = json!({"suite": c.suite, "status": f.status().to_string()});
            if !targets.is_empty() {
                properties["targets"] = json!(targets);
            }
            let mut result = json!({
                "ruleId": c.id,
                "ruleIndex": index[c.id.as_str()],
                "level": level(f.severity()),
                "message": {"text": text},
                "locations": [location],
                "partialFingerprints": {"goready/v1": fp},
                "properties": properties
            });
            if let Some(change) = f.change() {
                result["baselineState"] = json!(match change {
                    Change::New => "new",
                    Change::Existing => "unchanged",
                });
            }
            result
        })
        .collect();

    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "goready",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root."}}},
            "columnKind": "utf16CodeUnits",
            "results": results
        }]
    })
}

/// Writes the SARIF log for `report` to `path`.
pub fn write(report: &Report, fallback_file: &str, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(&to_sarif(report, fallback_file))?;
    std::fs::write(path, json + "\n")
        .with_context(|| format!("writing SARIF to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Check;

    #[test]
    fn every_known_rule_has_docs_and_a_help_uri() {
        let log = to_sarif(&Report::default(), "goready.toml");
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), registry::all().count());
        for r in rules {
            let id = r["id"].as_str().unwrap();
            assert!(
                r["helpUri"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("#{}", crate::report::anchor(id))),
                "{r}"
            );
            assert!(
                r["fullDescription"]["text"]
                    .as_str()
                    .is_some_and(|t| t.len() > 20),
                "{r}"
            );
            assert!(
                r["help"]["markdown"].as_str().unwrap().contains("**Fix**"),
                "{r}"
            );
        }
    }

    #[test]
    fn results_without_a_file_land_on_the_fallback_file_line_1() {
        let report = Report::new(vec![
            Check::of(&registry::BINARY_STATIC)
                .target("dist/svc")
                .fail("dynamic"),
            Check::of(&registry::BINARY_PIE)
                .target("dist/svc")
                .pass("pie"),
            Check {
                id: "runtime.future_rule".into(),
                suite: "runtime".into(),
                ..Check::of(&registry::BINARY_VERSION)
                    .location("cmd/my svc/main.go", Some(3))
                    .fail("x")
            },
        ]);
        let log = to_sarif(&report, "svc/goready.toml");
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        let future = &results[0];
        assert_eq!(future["ruleId"], "runtime.future_rule");
        let idx = future["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"][idx]["id"],
            "runtime.future_rule"
        );
        assert_eq!(
            future["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "cmd/my%20svc/main.go"
        );
        let fallback = &results[1]["locations"][0];
        assert_eq!(
            fallback["physicalLocation"]["artifactLocation"]["uri"],
            "svc/goready.toml"
        );
        assert_eq!(fallback["physicalLocation"]["region"]["startLine"], 1);
        assert_eq!(
            fallback["logicalLocations"][0]["fullyQualifiedName"],
            "dist/svc"
        );
    }
}
