//! The `image.*` rules: each judges the facts `image::start` found on the merged view and
//! writes an [`ImageData`] as its check's data. Target = the image.

use super::data::{
    CaCertsFacts, Detail, EntrypointFacts, ImageData, LoaderFacts, PlatformFacts, PortFacts,
    SizeFacts, TzdataFacts, UserFacts,
};
use crate::human::bytes as human_bytes;
use crate::model::{Check, CheckBuilder, Severity};
use crate::registry::{self as registry, Rule};

/// What the rules are given: every fact, already found.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The image as given.
    pub image: String,
    /// The config's `os/arch[/variant]`.
    pub platform: String,
    /// The command line and its programs.
    pub entrypoint: EntrypointFacts,
    /// Platform facts of each ELF program.
    pub platforms: Vec<PlatformFacts>,
    /// Loader facts of each ELF program.
    pub loaders: Vec<LoaderFacts>,
    /// CA roots, for the Go program.
    pub ca_certs: Option<CaCertsFacts>,
    /// Zoneinfo, for the Go program.
    pub tzdata: Option<TzdataFacts>,
    /// The config's user.
    pub user: UserFacts,
    /// Sizes.
    pub size: SizeFacts,
    /// Exposed ports, for the Go program.
    pub ports: Option<PortFacts>,
}

/// The port net/http/pprof is conventionally served on (`go tool pprof` examples, most
/// services' admin listeners).
pub const PPROF_PORT: &str = "6060";

fn check(rule: &Rule, j: &Judged, detail: Detail) -> CheckBuilder {
    let data = ImageData {
        image: j.image.clone(),
        platform: j.platform.clone(),
        detail,
    };
    Check::of(rule).target(j.image.clone()).data(data)
}

/// Judges every fact.
pub fn evaluate(j: &Judged) -> Vec<Check> {
    vec![
        entrypoint(j),
        platform(j),
        loader(j),
        ca_certs(j),
        tzdata(j),
        user(j),
        size(j),
        pprof_port(j),
    ]
}

fn entrypoint(j: &Judged) -> Check {
    let e = &j.entrypoint;
    let c = check(
        &registry::IMAGE_ENTRYPOINT,
        j,
        Detail::Entrypoint(e.clone()),
    );
    if e.argv.is_empty() {
        return c.fail("the image has no ENTRYPOINT and no CMD: a container of it starts nothing");
    }
    let problems: Vec<String> = e
        .programs
        .iter()
        .filter_map(|p| {
            p.problem
                .as_ref()
                .map(|why| format!("{} {:?}: {why}", p.role, p.requested))
        })
        .collect();
    if !problems.is_empty() {
        return c.fail(format!(
            "{} ({}exec would fail)",
            problems.join("; "),
            if e.shell_form { "a shell form: " } else { "" }
        ));
    }
    // A pass names the file each program resolved to: without one, nothing was found.
    let unresolved: Vec<String> = e
        .programs
        .iter()
        .filter(|p| p.path.is_none())
        .map(|p| format!("{} {:?}", p.role, p.requested))
        .collect();
    if e.programs.is_empty() || !unresolved.is_empty() {
        return c.error(format!(
            "the command line {:?} was not resolved to a file in the image{}",
            e.argv,
            if unresolved.is_empty() {
                String::new()
            } else {
                format!(": {}", unresolved.join(", "))
            }
        ));
    }
    let chain: Vec<String> = e
        .programs
        .iter()
        .map(|p| {
            let path = p.path.clone().unwrap_or_default();
            if p.via.is_empty() {
                path
            } else {
                format!("{path} (via {})", p.via.join(", "))
            }
        })
        .collect();
    c.pass(format!("runs {}", chain.join(", then ")))
}

fn platform(j: &Judged) -> Check {
    let c = check(
        &registry::IMAGE_PLATFORM,
        j,
        Detail::Platform(j.platforms.clone()),
    );
    if j.platforms.is_empty() {
        return c.skip("no ELF program to compare (see image.entrypoint)");
    }
    let wrong: Vec<String> = j
        .platforms
        .iter()
        .filter(|p| p.binary_platform != p.image_platform)
        .map(|p| format!("{} is {}", p.binary, p.binary_platform))
        .collect();
    if wrong.is_empty() {
        c.pass(format!(
            "{} built for {}",
            j.platforms
                .iter()
                .map(|p| p.binary.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            j.platform
        ))
    } else {
        c.fail(format!(
            "{} in an image for {}: exec format error",
            wrong.join(", "),
            j.platform
        ))
    }
}

fn loader(j: &Judged) -> Check {
    let c = check(
        &registry::IMAGE_LOADER,
        j,
        Detail::Loader(j.loaders.clone()),
    );
    if j.loaders.is_empty() {
        return c.skip("no ELF program to load (see image.entrypoint)");
    }
    let mut errors = Vec::new();
    let mut shims = Vec::new();
    let mut fine = Vec::new();
    for l in &j.loaders {
        if let (Some(interp), None) = (&l.interpreter, &l.interpreter_found) {
            errors.push(format!(
                "{} needs the loader {interp}, which the image does not have (exec fails with \"no such file or directory\")",
                l.binary
            ));
            continue;
        }
        let missing: Vec<String> = l
            .libraries
            .iter()
            .filter(|x| x.found.is_none())
            .map(|x| {
                if x.needed_by == l.binary {
                    x.name.clone()
                } else {
                    format!("{} (for {})", x.name, x.needed_by)
                }
            })
            .collect();
        if !missing.is_empty() {
            errors.push(format!(
                "{}: {} not found in {}",
                l.binary,
                missing.join(", "),
                l.search_path.join(":")
            ));
        }
        if !l.missing_versions.is_empty() {
            let v: Vec<String> = l
                .missing_versions
                .iter()
                .map(|m| format!("{} from {} ({})", m.version, m.library, m.found))
                .collect();
            errors.push(format!(
                "{}: version {} not found{}",
                l.binary,
                v.join(", "),
                l.image_glibc
                    .as_ref()
                    .map(|g| format!(" (the image's glibc is {g})"))
                    .unwrap_or_default()
            ));
        }
        if l.binary_libc.as_deref() == Some("glibc")
            && l.loader_libc.as_deref() == Some("musl")
            && missing.is_empty()
        {
            shims.push(format!(
                "{} is linked against glibc and its loader {} is musl's (a compatibility shim such as gcompat)",
                l.binary,
                l.interpreter_found.clone().unwrap_or_default()
            ));
        }
        if missing.is_empty() && l.missing_versions.is_empty() {
            fine.push(match &l.interpreter {
                None => format!("{} is static", l.binary),
                Some(i) => format!(
                    "{} loads with {i} and {} librar{}",
                    l.binary,
                    l.libraries.len(),
                    if l.libraries.len() == 1 { "y" } else { "ies" }
                ),
            });
        }
    }
    if !errors.is_empty() {
        return c.fail(errors.join("; "));
    }
    if !shims.is_empty() {
        return c.severity(Severity::Warning).fail(shims.join("; "));
    }
    c.pass(fine.join("; "))
}

fn ca_certs(j: &Judged) -> Check {
    let Some(f) = &j.ca_certs else {
        return check(
            &registry::IMAGE_CA_CERTS,
            j,
            Detail::Entrypoint(j.entrypoint.clone()),
        )
        .skip("no Go program found on the command line");
    };
    let c = check(&registry::IMAGE_CA_CERTS, j, Detail::CaCerts(f.clone()));
    if f.linked.unread && f.found.is_empty() {
        return c.skip(format!(
            "not evaluated: the Go function table of {} could not be read, so whether it verifies \
             TLS with the system roots is unknown; the image has no CA certificate where Go \
             looks ({})",
            f.binary,
            f.searched.join(", ")
        ));
    }
    if !f.linked.unread && !f.linked.system_roots {
        return c.pass(format!("{} does not verify TLS with the system roots (crypto/x509.loadSystemRoots is not linked)", f.binary));
    }
    if let Some(first) = f.found.first() {
        return c.pass(format!("CA certificates at {first}"));
    }
    if f.linked.fallback_roots && !f.linked.unread {
        return c.pass(format!(
            "no CA certificates in the image, and {} embeds fallback roots",
            f.binary
        ));
    }
    c.fail(format!(
        "{} verifies TLS with the system roots and the image has no CA certificate where Go looks ({}): \
         every outbound TLS call fails with \"x509: certificate signed by unknown authority\"",
        f.binary,
        f.searched.join(", ")
    ))
}

fn tzdata(j: &Judged) -> Check {
    let Some(f) = &j.tzdata else {
        return check(
            &registry::IMAGE_TZDATA,
            j,
            Detail::Entrypoint(j.entrypoint.clone()),
        )
        .skip("no Go program found on the command line");
    };
    let c = check(&registry::IMAGE_TZDATA, j, Detail::Tzdata(f.clone()));
    let tz_needs_zone = f.tz_env.as_deref().is_some_and(|tz| {
        !tz.is_empty() && tz != "UTC" && !tz.starts_with('/') && !tz.starts_with(':')
    });
    if f.linked.unread && f.found.is_none() {
        return c.skip(format!(
            "not evaluated: the Go function table of {} could not be read, so whether it loads \
             time zones by name is unknown; the image has no zoneinfo ({})",
            f.binary,
            f.searched.join(", ")
        ));
    }
    if !f.linked.unread && !f.linked.load_location && !tz_needs_zone {
        return c.pass(format!(
            "{} loads no time zone by name (time.LoadLocation is not linked)",
            f.binary
        ));
    }
    if let Some(found) = &f.found {
        return c.pass(format!("zoneinfo at {found} ({} zones)", f.zones));
    }
    if f.linked.tzdata && !f.linked.unread {
        return c.pass(format!(
            "no zoneinfo in the image, and {} embeds time/tzdata",
            f.binary
        ));
    }
    let what = if f.linked.load_location {
        "loads time zones by name (time.LoadLocation)".to_string()
    } else {
        format!(
            "runs with TZ={} from the image's Env",
            f.tz_env.clone().unwrap_or_default()
        )
    };
    c.fail(format!(
        "{} {what} and the image has no zoneinfo ({}): loading a zone fails with \"unknown time zone\"",
        f.binary,
        f.searched.join(", ")
    ))
}

fn user(j: &Judged) -> Check {
    let u = &j.user;
    let c = check(&registry::IMAGE_USER, j, Detail::User(u.clone()));
    if let Some(problem) = &u.problem {
        return c.fail(format!(
            "USER {}: {problem}; the container does not start",
            u.user
        ));
    }
    match u.uid {
        Some(0) => c.severity(Severity::Warning).fail(if u.user.is_empty() {
            "no USER: the container runs as root".to_string()
        } else {
            format!("USER {} is root (uid 0)", u.user)
        }),
        Some(uid) => c.pass(format!("runs as USER {} (uid {uid})", u.user)),
        // Non-root is a uid: a name that resolved to none proves nothing.
        None => c.error(format!("USER {} did not resolve to a uid", u.user)),
    }
}

fn size(j: &Judged) -> Check {
    let s = &j.size;
    let c = check(&registry::IMAGE_SIZE, j, Detail::Size(s.clone()));
    let line = format!(
        "{} compressed, {} unpacked ({} files, {} layer{})",
        human_bytes(s.compressed),
        human_bytes(s.unpacked),
        s.files,
        s.layers,
        if s.layers == 1 { "" } else { "s" }
    );
    match s.max {
        Some(max) if s.unpacked > max => {
            c.fail(format!("{line}: over the budget of {}", human_bytes(max)))
        }
        Some(max) => c.pass(format!("{line}, within {}", human_bytes(max))),
        // Within no budget is no verdict: report the sizes, judge nothing.
        None => c.skip(format!("no --max-size budget given; {line}")),
    }
}

fn pprof_port(j: &Judged) -> Check {
    let Some(p) = &j.ports else {
        return check(
            &registry::IMAGE_PPROF_PORT,
            j,
            Detail::Entrypoint(j.entrypoint.clone()),
        )
        .skip("no Go program found on the command line");
    };
    let c = check(&registry::IMAGE_PPROF_PORT, j, Detail::PprofPort(p.clone()));
    let pprof_exposed = p
        .exposed
        .iter()
        .any(|e| e.split('/').next() == Some(PPROF_PORT));
    if p.pprof_linked && pprof_exposed {
        return c.fail(format!(
            "{} links net/http/pprof and the image EXPOSEs port {PPROF_PORT}, pprof's usual port: \
             profiles and goroutine dumps may be served to whoever reaches it",
            p.binary
        ));
    }
    let exposed = if p.exposed.is_empty() {
        "the image EXPOSEs no port".to_string()
    } else {
        format!("the image EXPOSEs {}", p.exposed.join(", "))
    };
    if p.pprof_linked {
        return c.pass(format!(
            "net/http/pprof is linked; port {PPROF_PORT} is not EXPOSEd ({exposed})"
        ));
    }
    if p.linked_unread {
        if pprof_exposed {
            return c.skip(format!(
                "not evaluated: {exposed}, and the Go function table of {} could not be read to \
                 tell whether net/http/pprof is linked",
                p.binary
            ));
        }
        return c.pass(format!(
            "port {PPROF_PORT} is not EXPOSEd ({exposed}); whether net/http/pprof is linked is \
             unknown (the function table could not be read)"
        ));
    }
    c.pass(format!(
        "net/http/pprof is not linked (none of its functions in the function table); {exposed}"
    ))
}

#[cfg(test)]
mod tests {
    //! A pass needs its evidence (docs/checks.md): each rule fed facts that lack what it
    //! judges is not a pass; a pass names what was found.
    use super::*;
    use crate::image::data::{Linked, Program};
    use crate::model::Status;

    /// A static Go program at /svc in an image with certs and zoneinfo, as `image::start`
    /// finds one.
    fn judged() -> Judged {
        let linked = Linked {
            system_roots: true,
            load_location: true,
            ..Linked::default()
        };
        Judged {
            image: "svc.tar".into(),
            platform: "linux/amd64".into(),
            entrypoint: EntrypointFacts {
                argv: vec!["/svc".into()],
                shell_form: false,
                programs: vec![Program {
                    requested: "/svc".into(),
                    role: "entrypoint".into(),
                    path: Some("/svc".into()),
                    via: vec![],
                    problem: None,
                    format: Some("elf".into()),
                    arch: Some("linux/amd64".into()),
                    go: true,
                }],
            },
            platforms: vec![PlatformFacts {
                binary: "/svc".into(),
                binary_platform: "linux/amd64".into(),
                image_platform: "linux/amd64".into(),
            }],
            loaders: vec![LoaderFacts {
                binary: "/svc".into(),
                interpreter: None,
                interpreter_found: None,
                loader_libc: None,
                binary_libc: None,
                libraries: vec![],
                missing_versions: vec![],
                search_path: vec![],
                image_glibc: None,
                needed_glibc: None,
            }],
            ca_certs: Some(CaCertsFacts {
                binary: "/svc".into(),
                linked,
                searched: vec!["/etc/ssl/certs/ca-certificates.crt".into()],
                found: vec!["/etc/ssl/certs/ca-certificates.crt".into()],
            }),
            tzdata: Some(TzdataFacts {
                binary: "/svc".into(),
                linked,
                tz_env: None,
                searched: vec!["/usr/share/zoneinfo/".into()],
                found: Some("/usr/share/zoneinfo/".into()),
                zones: 597,
            }),
            user: UserFacts {
                user: "app".into(),
                uid: Some(10001),
                passwd: true,
                problem: None,
            },
            size: SizeFacts {
                compressed: 3 << 20,
                unpacked: 8 << 20,
                files: 12,
                layers: 2,
                max: Some(50 << 20),
            },
            ports: Some(PortFacts {
                binary: "/svc".into(),
                exposed: vec!["8080/tcp".into()],
                pprof_linked: false,
                linked_unread: false,
            }),
        }
    }

    fn find(j: &Judged, id: &str) -> Check {
        evaluate(j).into_iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn every_image_rule_passes_on_full_evidence_naming_it() {
        let j = judged();
        let expect = [
            ("image.entrypoint", "runs /svc"),
            ("image.platform", "/svc built for linux/amd64"),
            ("image.loader", "/svc is static"),
            (
                "image.ca_certs",
                "CA certificates at /etc/ssl/certs/ca-certificates.crt",
            ),
            (
                "image.tzdata",
                "zoneinfo at /usr/share/zoneinfo/ (597 zones)",
            ),
            ("image.user", "runs as USER app (uid 10001)"),
            ("image.size", "12 files, 2 layers), within 50.0 MiB"),
            ("image.pprof_port", "not linked"),
        ];
        for (id, text) in expect {
            let c = find(&j, id);
            assert_eq!(c.status, Status::Pass, "{id}: {}", c.message);
            assert!(c.message.contains(text), "{id}: {}", c.message);
        }
    }

    #[test]
    fn entrypoint_platform_loader_passes_need_a_resolved_program() {
        let mut j = judged();
        j.entrypoint.programs[0].path = None;
        j.platforms.clear();
        j.loaders.clear();
        for id in ["image.entrypoint", "image.platform", "image.loader"] {
            assert_ne!(find(&j, id).status, Status::Pass, "{id}");
        }
        j.entrypoint.programs.clear();
        assert_ne!(find(&j, "image.entrypoint").status, Status::Pass);
        j.entrypoint.argv.clear();
        assert_ne!(find(&j, "image.entrypoint").status, Status::Pass);
    }

    #[test]
    fn certs_tzdata_pprof_passes_need_the_function_table() {
        let unread = Linked {
            unread: true,
            ..Linked::default()
        };
        let mut j = judged();
        for f in j.ca_certs.iter_mut() {
            f.linked = unread;
            f.found.clear();
        }
        for f in j.tzdata.iter_mut() {
            f.linked = unread;
            f.found = None;
            f.zones = 0;
        }
        for p in j.ports.iter_mut() {
            p.linked_unread = true;
            p.exposed = vec!["6060/tcp".into()];
        }
        for id in ["image.ca_certs", "image.tzdata", "image.pprof_port"] {
            let c = find(&j, id);
            assert_eq!(c.status, Status::Skip, "{id}: {}", c.message);
            assert!(c.message.contains("could not be read"), "{}", c.message);
        }
        // No Go program at all.
        j.ca_certs = None;
        j.tzdata = None;
        j.ports = None;
        for id in ["image.ca_certs", "image.tzdata", "image.pprof_port"] {
            assert_eq!(find(&j, id).status, Status::Skip, "{id}");
        }
    }

    #[test]
    fn size_pass_needs_a_budget_and_user_pass_a_user() {
        let mut j = judged();
        j.size.max = None;
        let c = find(&j, "image.size");
        assert_eq!(c.status, Status::Skip, "{}", c.message);
        assert!(c.message.contains("8.0 MiB unpacked"), "{}", c.message);
        j.user = UserFacts {
            user: String::new(),
            uid: Some(0),
            passwd: false,
            problem: None,
        };
        assert_ne!(find(&j, "image.user").status, Status::Pass);
        j.user = UserFacts {
            user: "app".into(),
            uid: None,
            passwd: true,
            problem: None,
        };
        assert_ne!(find(&j, "image.user").status, Status::Pass);
    }
}
