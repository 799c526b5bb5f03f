//! The registry of rule ids: the one place a rule's id, suite, default severity and title
//! live (the types, [`Rule`] and [`Evidence`], are the model's). Every id here has an entry (an
//! anchor) in docs/checks.md; a test keeps them in step.

use crate::model::{Check, CheckData, Severity};
pub use crate::model::{Evidence, Rule, Settles};

fn always(_: &Check, _: &Check) -> bool {
    true
}

/// `env.goflags`' GOFLAGS (as go env reports it, go.env included) turns VCS stamping off.
fn buildvcs_off(evidence: &Check) -> bool {
    matches!(&evidence.data, CheckData::Goflags(g) if g.buildvcs_off())
}

/// `binary.buildinfo` failed on a `(devel)` main module, and VCS stamping was off.
fn devel_for_lack_of_vcs(settled: &Check, evidence: &Check) -> bool {
    let devel = matches!(
        &settled.data,
        CheckData::BinaryBuildinfo(b) if b.main.as_ref().is_some_and(|m| m.version == "(devel)")
    );
    devel && buildvcs_off(evidence)
}

/// `binary.vcs` has no VCS stamp, and VCS stamping was off.
fn unstamped_for_lack_of_vcs(_: &Check, evidence: &Check) -> bool {
    buildvcs_off(evidence)
}

/// `binary.pprof_linked` is settled by the probe's exposure check.
const PPROF_PROVEN: &[Evidence] = &[Evidence {
    by: "runtime.pprof_exposed",
    settles: Settles::Proof,
    same_target: false,
    applies: always,
}];

/// `binary.buildinfo` "(devel)" is what `-buildvcs=false` does.
const DEVEL_BY_GOFLAGS: &[Evidence] = &[Evidence {
    by: "env.goflags",
    settles: Settles::Cause,
    same_target: false,
    applies: devel_for_lack_of_vcs,
}];

/// `binary.vcs` without a stamp is what `-buildvcs=false` does.
const UNSTAMPED_BY_GOFLAGS: &[Evidence] = &[Evidence {
    by: "env.goflags",
    settles: Settles::Cause,
    same_target: false,
    applies: unstamped_for_lack_of_vcs,
}];

/// The version a binary prints is missing because it was never embedded.
const VERSION_NOT_EMBEDDED: &[Evidence] = &[Evidence {
    by: "binary.version",
    settles: Settles::Cause,
    same_target: true,
    applies: always,
}];

/// A binary that links dynamically was set up to.
const LINKED_AS_SET_UP: &[Evidence] = &[Evidence {
    by: "build.static",
    settles: Settles::Cause,
    same_target: true,
    applies: always,
}];

/// Declares one suite's rules: a `pub const` per rule and a slice of them all.
macro_rules! rules {
    ($suite_list:ident; $($name:ident = $id:literal, $suite:literal, $sev:ident, $title:literal $(, settled by $evidence:ident)?;)*) => {
        $(
            #[doc = concat!("`", $id, "`: ", $title)]
            pub const $name: Rule = Rule {
                id: $id,
                suite: $suite,
                severity: Severity::$sev,
                title: $title,
                settled_by: {
                    #[allow(unused_variables)]
                    let evidence: &[Evidence] = &[];
                    $(let evidence = $evidence;)?
                    evidence
                },
            };
        )*
        /// Every rule of this suite, in documentation order.
        pub const $suite_list: &[Rule] = &[$($name),*];
    };
}

// Suite "binary": goready inspect / build (src/inspect/rules.rs).
rules! { BINARY;
    BINARY_READABLE = "binary.readable", "binary", Error, "binary parses as ELF, Mach-O or PE";
    BINARY_GO = "binary.go", "binary", Notice, "binary is a Go program";
    BINARY_STATIC = "binary.static", "binary", Warning, "statically linked", settled by LINKED_AS_SET_UP;
    BINARY_STRIPPED = "binary.stripped", "binary", Notice, "symbol table stripped";
    BINARY_DWARF = "binary.dwarf", "binary", Notice, "no DWARF debug info shipped";
    BINARY_BUILDINFO = "binary.buildinfo", "binary", Warning, "Go build info present and versioned", settled by DEVEL_BY_GOFLAGS;
    BINARY_VCS = "binary.vcs", "binary", Warning, "built from a clean VCS checkout", settled by UNSTAMPED_BY_GOFLAGS;
    BINARY_TRIMPATH = "binary.trimpath", "binary", Notice, "built with -trimpath";
    BINARY_VERSION = "binary.version", "binary", Error, "expected version embedded";
    BINARY_PPROF_LINKED = "binary.pprof_linked", "binary", Warning, "net/http/pprof not linked in", settled by PPROF_PROVEN;
    BINARY_PIE = "binary.pie", "binary", Notice, "position-independent executable";
    BINARY_VULN = "binary.vuln", "binary", Error, "no known vulnerability in the binary";
}

// Suite "env": goready env (src/env/toolchain_rules.rs, src/env/module_rules.rs).
rules! { ENV;
    ENV_GO_SUPPORTED = "env.go_supported", "env", Error, "Go release inside the support window";
    ENV_GO_MOD_DIRECTIVE = "env.go_mod_directive", "env", Error, "go.mod go/toolchain lines satisfied by the Go in use";
    ENV_TOOLCHAIN_CONSISTENT = "env.toolchain_consistent", "env", Error, "which go, GOROOT and GOVERSION agree";
    ENV_GOROOT_PROVENANCE = "env.goroot_provenance", "env", Notice, "GOROOT is an official Go release";
    ENV_GOPATH_OVERLAP = "env.gopath_overlap", "env", Error, "GOPATH, GOMODCACHE and GOROOT apart";
    ENV_GOPROXY = "env.goproxy", "env", Warning, "modules come through an HTTPS proxy";
    ENV_GOSUMDB = "env.gosumdb", "env", Error, "module checksums verified by a checksum database";
    ENV_GOPRIVATE = "env.goprivate", "env", Error, "private modules stay off public proxies";
    ENV_GOFLAGS = "env.goflags", "env", Warning, "GOFLAGS does not weaken CI";
    ENV_GO_SUM = "env.go_sum", "env", Error, "go.sum present, verified and tidy";
}

// Suite "build": goready build (src/build/rules.rs).
rules! { BUILD;
    BUILD_COMPILE = "build.compile", "build", Error, "target compiles";
    BUILD_VERSION = "build.version", "build", Error, "native binary reports the injected version", settled by VERSION_NOT_EMBEDDED;
    BUILD_STATIC = "build.static", "build", Error, "build is set up to link statically";
    BUILD_REPRODUCIBLE = "build.reproducible", "build", Error, "rebuild without the cache is byte-identical";
    BUILD_SBOM = "build.sbom", "build", Error, "SBOM written beside the binary";
}

// Suite "runtime": goready probe (src/probe/rules.rs).
rules! { RUNTIME;
    RUNTIME_START = "runtime.start", "runtime", Error, "service starts and gets ready";
    RUNTIME_PPROF_REGISTERED = "runtime.pprof_registered", "runtime", Warning, "net/http/pprof endpoints answer";
    RUNTIME_PPROF_EXPOSED = "runtime.pprof_exposed", "runtime", Error, "pprof not reachable from outside";
    RUNTIME_HEAP_BUDGET = "runtime.heap_budget", "runtime", Error, "in-use heap within budget";
    RUNTIME_LOAD = "runtime.load", "runtime", Warning, "load requests succeed";
    RUNTIME_LATENCY = "runtime.latency", "runtime", Error, "load latency p99 within budget";
    RUNTIME_VERSION = "runtime.version", "runtime", Error, "service reports the expected version";
    RUNTIME_MEMLIMIT = "runtime.memlimit", "runtime", Warning, "GOMEMLIMIT set below the cgroup memory limit";
    RUNTIME_SHUTDOWN = "runtime.shutdown", "runtime", Warning, "stops cleanly on SIGTERM";
    RUNTIME_GOROUTINE_LEAK = "runtime.goroutine_leak", "runtime", Error, "goroutines come back after sustained load";
    RUNTIME_HEAP_GROWTH = "runtime.heap_growth", "runtime", Error, "in-use heap does not rise with the work";
    RUNTIME_DRAIN = "runtime.drain", "runtime", Warning, "in-flight requests complete on SIGTERM";
    RUNTIME_CONTENTION = "runtime.contention", "runtime", Notice, "top mutex and block contention sites";
}

// Suite "runtime", profile checks: goready pprof (offline) and goready probe (live scrape),
// in src/pprof/profile_rules.rs.
rules! { RUNTIME_PROFILE;
    RUNTIME_ALLOCS = "runtime.allocs", "runtime", Notice, "allocation profile decodes; top allocation sites";
    RUNTIME_ALLOC_REGRESSION = "runtime.alloc_regression", "runtime", Warning, "no allocation site's share grew beyond the limit";
    RUNTIME_CPU = "runtime.cpu", "runtime", Notice, "CPU profile under load decodes; top CPU sites";
    RUNTIME_CPU_REGRESSION = "runtime.cpu_regression", "runtime", Warning, "no function's CPU share grew beyond the limit";
}

// Suite "test": goready test (src/gotest/rules.rs).
rules! { TEST;
    TEST_GO_TEST = "test.go_test", "test", Error, "go test passes";
    TEST_BUILD = "test.build", "test", Error, "test binary builds";
    TEST_PACKAGE = "test.package", "test", Error, "package test binary runs to completion";
}

// Suite "image": goready image (src/image/rules.rs).
rules! { IMAGE;
    IMAGE_ENTRYPOINT = "image.entrypoint", "image", Error, "entrypoint resolves to an executable in the image";
    IMAGE_PLATFORM = "image.platform", "image", Error, "binary built for the image's platform";
    IMAGE_LOADER = "image.loader", "image", Error, "loader, libraries and symbol versions present in the image";
    IMAGE_CA_CERTS = "image.ca_certs", "image", Error, "CA certificates where Go looks, or fallback roots embedded";
    IMAGE_TZDATA = "image.tzdata", "image", Error, "zoneinfo where Go looks, or time/tzdata embedded";
    IMAGE_USER = "image.user", "image", Error, "runs as a non-root user the image knows";
    IMAGE_SIZE = "image.size", "image", Warning, "image size within budget";
    IMAGE_PPROF_PORT = "image.pprof_port", "image", Warning, "pprof's port not EXPOSEd";
}

/// Every suite's rule list; a new suite adds its slice here.
const SUITES: &[&[Rule]] = &[BINARY, ENV, BUILD, RUNTIME, RUNTIME_PROFILE, TEST, IMAGE];

/// Every rule goready knows, suite by suite, in documentation order.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    SUITES.iter().flat_map(|suite| suite.iter())
}

/// Looks a rule up by id.
pub fn find(id: &str) -> Option<&'static Rule> {
    all().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for rule in all() {
            assert!(seen.insert(rule.id), "duplicate rule id {}", rule.id);
            let (suite, name) = rule.id.split_once('.').expect("suite.name");
            assert_eq!(
                suite, rule.suite,
                "{} is filed under the wrong suite",
                rule.id
            );
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                rule.id
            );
        }
    }

    /// docs/checks.md's "A pass needs its evidence" table has a row for every rule, and no
    /// row for a rule that does not exist.
    #[test]
    fn every_rule_is_in_the_pass_evidence_table() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checks.md"))
            .expect("docs/checks.md exists");
        let start = docs
            .find("## A pass needs its evidence")
            .expect("docs/checks.md has the section");
        let section = &docs[start..];
        let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
        let rows: Vec<&str> = section[..end]
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once('`').map(|(id, _)| id))
            .collect();
        let ids: Vec<&str> = all().map(|r| r.id).collect();
        assert_eq!(rows, ids, "the table lists the rules in registry order");
    }

    #[test]
    fn every_rule_is_documented_in_checks_md() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checks.md"))
            .expect("docs/checks.md exists");
        for rule in all() {
            let heading = format!("## `{}`", rule.id);
            assert!(docs.contains(&heading), "docs/checks.md lacks {heading:?}");
            let section = docs.split(&heading).nth(1).unwrap();
            let section = section.split("\n## ").next().unwrap();
            for part in ["**What**", "**Why**", "**Fix**"] {
                assert!(section.contains(part), "{}: missing {part}", rule.id);
            }
        }
    }

    #[test]
    fn settling_evidence_names_known_rules_and_is_documented() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checks.md"))
            .expect("docs/checks.md exists");
        for rule in all().filter(|r| !r.settled_by.is_empty()) {
            let section = docs
                .split(&format!("## `{}`", rule.id))
                .nth(1)
                .unwrap()
                .split("\n## ")
                .next()
                .unwrap();
            for evidence in rule.settled_by {
                assert!(
                    find(evidence.by).is_some(),
                    "{} settled by {}",
                    rule.id,
                    evidence.by
                );
                assert!(
                    section.contains(&format!("**Settled by**: `{}`", evidence.by)),
                    "docs/checks.md: {} lacks its Settled by line",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn every_data_variant_is_read_for_a_registered_rule() {
        for id in CheckData::IDS {
            // binary.vuln's data type came first; its rule is registered with the vuln room.
            assert!(
                find(id).is_some() || *id == "binary.vuln",
                "CheckData reads data for {id}, which the registry does not know"
            );
        }
    }

    #[test]
    fn find_knows_every_rule() {
        assert_eq!(find("binary.static"), Some(&BINARY_STATIC));
        assert_eq!(find("binary.nope"), None);
    }
}
