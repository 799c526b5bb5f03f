//! `goready image` on images the tests build themselves, with no daemon and no registry:
//! root filesystems assembled from this host's files (glibc's loader and libc, musl's
//! loader, a static busybox, the CA bundle, zoneinfo) around real Go builds of
//! tests/fixtures/imagesvc (static, glibc cgo, musl cgo, PIE without cgo, arm64,
//! timetzdata, fallback roots), written as `docker save` tarballs (both layouts) and OCI
//! layouts. The truth for each (binary, root) pair is running the entrypoint under `chroot`
//! of the same layers unpacked by `tar -xf` (needs root: those tests are ignored unless run
//! with `--ignored`, as .ci/run does); the other tests check the verdicts that do not need
//! it, the layouts and hostile archives.

mod common;
mod imagekit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use goready::cancel::Cancel;
use goready::image::{self, Options};
use goready::model::{Check, Status};
use goready::progress::Discard;
use imagekit::{Comp, Image, Item};
use serde_json::json;

const SRC: &str = "tests/fixtures/imagesvc";

/// One Go build of the fixture.
struct Build {
    name: &'static str,
    goarch: &'static str,
    cgo: bool,
    cc: Option<&'static str>,
    flags: &'static [&'static str],
}

const BUILDS: &[Build] = &[
    Build {
        name: "static",
        goarch: "amd64",
        cgo: false,
        cc: None,
        flags: &[],
    },
    Build {
        name: "glibc",
        goarch: "amd64",
        cgo: true,
        cc: None,
        flags: &[],
    },
    Build {
        name: "musl",
        goarch: "amd64",
        cgo: true,
        cc: Some("musl-gcc"),
        flags: &[],
    },
    Build {
        name: "pie",
        goarch: "amd64",
        cgo: false,
        cc: None,
        flags: &["-buildmode=pie"],
    },
    Build {
        name: "arm64",
        goarch: "arm64",
        cgo: false,
        cc: None,
        flags: &[],
    },
    Build {
        name: "tzdata",
        goarch: "amd64",
        cgo: false,
        cc: None,
        flags: &["-tags=timetzdata"],
    },
    Build {
        name: "fallback",
        goarch: "amd64",
        cgo: false,
        cc: None,
        flags: &["-tags=fallback"],
    },
    Build {
        name: "plain",
        goarch: "amd64",
        cgo: false,
        cc: None,
        flags: &["-tags=plain"],
    },
];

/// Every build, made once per test process (cached between runs by a stamp).
fn binaries() -> &'static BTreeMap<&'static str, PathBuf> {
    static ALL: OnceLock<BTreeMap<&'static str, PathBuf>> = OnceLock::new();
    ALL.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("image-go");
        std::fs::create_dir_all(&dir).unwrap();
        let mut src_stamp = String::new();
        let mut names: Vec<_> = std::fs::read_dir(common::repo().join(SRC))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            src_stamp.push_str(&format!(
                "{}:{};",
                p.display(),
                std::fs::read(&p).unwrap().len()
            ));
            src_stamp.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
        }
        BUILDS
            .iter()
            .map(|b| {
                let out = dir.join(b.name);
                let stamp = format!(
                    "{src_stamp}{}{}{:?}{:?}{}",
                    b.goarch,
                    b.cgo,
                    b.cc,
                    b.flags,
                    common::go_version()
                );
                let stamp_path = dir.join(format!("{}.stamp", b.name));
                if !(out.exists()
                    && std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str()))
                {
                    let mut cmd = Command::new("go");
                    cmd.current_dir(common::repo().join(SRC))
                        .args(["build", "-buildvcs=false", "-trimpath"])
                        .args(b.flags)
                        .arg("-o")
                        .arg(&out)
                        .arg(".")
                        .env("GOOS", "linux")
                        .env("GOARCH", b.goarch)
                        .env("CGO_ENABLED", if b.cgo { "1" } else { "0" })
                        .env("GOFLAGS", "-mod=mod")
                        .env("GOTOOLCHAIN", "local");
                    if let Some(cc) = b.cc {
                        cmd.env("CC", cc);
                    }
                    common::run_ok(&mut cmd);
                    std::fs::write(&stamp_path, &stamp).unwrap();
                }
                (b.name, out)
            })
            .collect()
    })
}

fn bin(name: &str) -> PathBuf {
    binaries()[name].clone()
}

fn host(path: &str, at: &str) -> Item {
    Item::Host(at.into(), PathBuf::from(path))
}

/// glibc's loader and libc from this host, where the loader and Debian put them.
fn glibc() -> Vec<Item> {
    vec![
        host("/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"),
        host(
            "/lib/x86_64-linux-gnu/libc.so.6",
            "lib/x86_64-linux-gnu/libc.so.6",
        ),
    ]
}

/// musl's loader (which is its libc), from musl-tools.
fn musl() -> Vec<Item> {
    vec![host("/lib/ld-musl-x86_64.so.1", "lib/ld-musl-x86_64.so.1")]
}

fn busybox() -> Vec<Item> {
    vec![
        host("/bin/busybox", "bin/busybox"),
        Item::Symlink("bin/sh".into(), "busybox".into()),
    ]
}

fn certs() -> Vec<Item> {
    vec![host(
        "/etc/ssl/certs/ca-certificates.crt",
        "etc/ssl/certs/ca-certificates.crt",
    )]
}

fn zoneinfo() -> Vec<Item> {
    let mut items = vec![host("/usr/share/zoneinfo/UTC", "usr/share/zoneinfo/UTC")];
    for e in std::fs::read_dir("/usr/share/zoneinfo/Europe").unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            let name = e.file_name().to_string_lossy().into_owned();
            items.push(host(
                &e.path().to_string_lossy(),
                &format!("usr/share/zoneinfo/Europe/{name}"),
            ));
        }
    }
    items
}

fn app(binary: &str) -> Vec<Item> {
    vec![Item::Host("app".into(), bin(binary))]
}

fn exec_form() -> serde_json::Value {
    json!({"Entrypoint": ["/app"], "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "User": "65532"})
}

/// One pair: a root filesystem around a binary, and how the image is written.
struct Pair {
    name: &'static str,
    image: Image,
    layout: Layout,
}

#[derive(Clone, Copy, Debug)]
enum Layout {
    DockerLegacy,
    DockerOci,
    OciDir,
    OciTar,
}

fn write(image: &Image, layout: Layout, dir: &Path) -> PathBuf {
    match layout {
        Layout::DockerLegacy => {
            let p = dir.join("image.tar");
            imagekit::write_tar(&imagekit::docker_legacy(image, "app:ci"), &p);
            p
        }
        Layout::DockerOci => {
            let p = dir.join("image.tar");
            imagekit::write_tar(&imagekit::docker_oci(image, "app:ci"), &p);
            p
        }
        Layout::OciDir => {
            let p = dir.join("oci");
            imagekit::write_dir(&imagekit::oci_index(std::slice::from_ref(image), true), &p);
            p
        }
        Layout::OciTar => {
            let p = dir.join("oci.tar");
            imagekit::write_tar(&imagekit::oci_index(std::slice::from_ref(image), false), &p);
            p
        }
    }
}

fn read(path: &Path) -> image::ImageRun {
    image::run(
        &Options {
            image: path.display().to_string(),
            platform: Some("linux/amd64".into()),
            ..Options::default()
        },
        &Discard,
        &Cancel::new(),
    )
    .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
}

fn status<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

fn passes(checks: &[Check], id: &str) -> bool {
    let c = status(checks, id);
    assert!(c.status != Status::Error, "{id}: {}", c.message);
    c.status != Status::Fail
}

fn pairs() -> Vec<Pair> {
    let base = |arch: &str| Image::new(arch, exec_form());
    let with = |items: &[Vec<Item>]| items.concat();
    vec![
        Pair { name: "static in scratch", image: base("amd64").layer(Comp::Gzip, app("static")), layout: Layout::DockerLegacy },
        Pair {
            name: "static with certs and zoneinfo",
            image: base("amd64").layer(Comp::Zstd, with(&[certs(), zoneinfo()])).layer(Comp::Gzip, app("static")),
            layout: Layout::DockerOci,
        },
        Pair { name: "glibc cgo in scratch", image: base("amd64").layer(Comp::None, app("glibc")), layout: Layout::OciDir },
        Pair {
            name: "glibc cgo on glibc",
            image: base("amd64").layer(Comp::Gzip, with(&[glibc(), certs(), zoneinfo()])).layer(Comp::Zstd, app("glibc")),
            layout: Layout::OciTar,
        },
        Pair { name: "musl cgo on glibc", image: base("amd64").layer(Comp::Gzip, glibc()).layer(Comp::Gzip, app("musl")), layout: Layout::DockerLegacy },
        Pair { name: "musl cgo on musl", image: base("amd64").layer(Comp::Zstd, with(&[musl(), certs()])).layer(Comp::None, app("musl")), layout: Layout::DockerOci },
        Pair { name: "pie without cgo in scratch", image: base("amd64").layer(Comp::Gzip, app("pie")), layout: Layout::OciDir },
        Pair { name: "pie without cgo on glibc", image: base("amd64").layer(Comp::Gzip, glibc()).layer(Comp::Gzip, app("pie")), layout: Layout::OciTar },
        Pair { name: "arm64 binary in an amd64 image", image: base("amd64").layer(Comp::Gzip, app("arm64")), layout: Layout::DockerLegacy },
        Pair { name: "timetzdata in scratch", image: base("amd64").layer(Comp::Gzip, app("tzdata")), layout: Layout::DockerOci },
        Pair { name: "fallback roots in scratch", image: base("amd64").layer(Comp::Zstd, app("fallback")), layout: Layout::OciDir },
        Pair { name: "plain in scratch", image: base("amd64").layer(Comp::Gzip, app("plain")), layout: Layout::OciTar },
        Pair {
            name: "shell form without a shell",
            image: Image::new("amd64", json!({"Cmd": ["/bin/sh", "-c", "exec /app"], "User": "65532"})).layer(Comp::Gzip, app("static")),
            layout: Layout::DockerLegacy,
        },
        Pair {
            name: "shell form with busybox",
            image: Image::new("amd64", json!({"Cmd": ["/bin/sh", "-c", "exec app"], "Env": ["PATH=/usr/local/bin:/bin"], "User": "65532"}))
                .layer(Comp::Gzip, with(&[busybox(), certs(), zoneinfo()]))
                .layer(Comp::Zstd, vec![Item::Host("usr/local/bin/app".into(), bin("static"))]),
            layout: Layout::DockerOci,
        },
        Pair {
            // The entrypoint is a symlink into a later layer; an upper layer whites out the
            // CA bundle and makes the zoneinfo directory opaque (its own UTC only).
            name: "symlinked entrypoint, whiteout and opaque dir",
            image: Image::new("amd64", json!({"Entrypoint": ["/svc"], "User": "65532"}))
                .layer(Comp::Gzip, with(&[certs(), zoneinfo()]))
                .layer(Comp::Zstd, vec![Item::Host("usr/local/bin/svc".into(), bin("static")), Item::Symlink("svc".into(), "usr/local/bin/svc".into())])
                .layer(Comp::None, vec![Item::Whiteout("etc/ssl/certs/ca-certificates.crt".into()), Item::Opaque("usr/share/zoneinfo".into())]),
            layout: Layout::OciTar,
        },
    ]
}

/// What chroot says: (started, certs ok, tz ok), from the program's output.
fn chroot_truth(image: &Image, dir: &Path) -> (bool, Option<bool>, Option<bool>, String) {
    let root = dir.join("root");
    imagekit::unpack(image, &root);
    let config = &image.config;
    let mut argv: Vec<String> = Vec::new();
    for key in ["Entrypoint", "Cmd"] {
        if let Some(a) = config.get(key).and_then(|v| v.as_array()) {
            argv.extend(a.iter().map(|s| s.as_str().unwrap().to_string()));
        }
    }
    let path = config
        .get("Env")
        .and_then(|e| e.as_array())
        .and_then(|e| {
            e.iter()
                .find_map(|kv| kv.as_str()?.strip_prefix("PATH=").map(str::to_string))
        })
        .unwrap_or_else(|| goready::image::start::DEFAULT_PATH.into());
    let out = Command::new("chroot")
        .arg(&root)
        .args(&argv)
        .env_clear()
        .env("PATH", path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .map(|l| l.ends_with(": ok"))
    };
    (text.contains("started"), line("certs"), line("tz"), text)
}

/// The verdicts that need no root: a few pairs whose outcome is certain.
#[test]
fn verdicts_on_real_builds_without_root() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for (i, pair) in pairs().into_iter().enumerate() {
        let d = dir.path().join(i.to_string());
        std::fs::create_dir_all(&d).unwrap();
        let checks = read(&write(&pair.image, pair.layout, &d)).checks;
        let verdict = |id| passes(&checks, id);
        match pair.name {
            "static in scratch" => {
                assert!(
                    verdict("image.entrypoint")
                        && verdict("image.loader")
                        && verdict("image.platform")
                );
                assert!(
                    !verdict("image.ca_certs"),
                    "{}",
                    status(&checks, "image.ca_certs").message
                );
                assert!(!verdict("image.tzdata"));
                seen += 1;
            }
            "glibc cgo in scratch" => {
                let l = status(&checks, "image.loader");
                assert_eq!(l.status, Status::Fail);
                assert!(
                    l.message.contains("/lib64/ld-linux-x86-64.so.2"),
                    "{}",
                    l.message
                );
                seen += 1;
            }
            "glibc cgo on glibc" => {
                for id in [
                    "image.entrypoint",
                    "image.loader",
                    "image.platform",
                    "image.ca_certs",
                    "image.tzdata",
                ] {
                    assert!(verdict(id), "{id}: {}", status(&checks, id).message);
                }
                seen += 1;
            }
            "pie without cgo in scratch" => {
                assert!(!verdict("image.loader"));
                seen += 1;
            }
            "arm64 binary in an amd64 image" => {
                let p = status(&checks, "image.platform");
                assert_eq!(p.status, Status::Fail);
                assert!(p.message.contains("linux/arm64"), "{}", p.message);
                seen += 1;
            }
            "plain in scratch" => {
                assert!(
                    verdict("image.ca_certs") && verdict("image.tzdata"),
                    "nothing linked, nothing needed"
                );
                seen += 1;
            }
            "symlinked entrypoint, whiteout and opaque dir" => {
                let e = status(&checks, "image.entrypoint");
                assert!(
                    e.message.contains("/usr/local/bin/svc")
                        && e.message.contains("/svc -> usr/local/bin/svc"),
                    "{}",
                    e.message
                );
                assert!(
                    !verdict("image.ca_certs"),
                    "the whiteout removed the bundle"
                );
                assert!(!verdict("image.tzdata"), "the opaque dir hid the zones");
                seen += 1;
            }
            _ => {}
        }
    }
    assert_eq!(seen, 7);
}

/// The truth: goready's verdict agrees with running the entrypoint under chroot, per pair.
#[test]
#[ignore = "needs root for chroot"]
fn verdicts_agree_with_chroot() {
    let dir = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    for (i, pair) in pairs().into_iter().enumerate() {
        let d = dir.path().join(i.to_string());
        std::fs::create_dir_all(&d).unwrap();
        let checks = read(&write(&pair.image, pair.layout, &d)).checks;
        let (started, certs, tz, text) = chroot_truth(&pair.image, &d);
        let starts = ["image.entrypoint", "image.platform", "image.loader"]
            .iter()
            .all(|id| passes(&checks, id));
        let mut say = |what: &str, truth: bool, ours: bool| {
            if truth != ours {
                disagreements.push(format!(
                    "{}: {what}: chroot says {truth}, goready says {ours}\n{text}\n{checks:#?}",
                    pair.name
                ));
            }
        };
        say("starts", started, starts);
        if started {
            say(
                "certs",
                certs.unwrap_or(true),
                passes(&checks, "image.ca_certs"),
            );
            say("tz", tz.unwrap_or(true), passes(&checks, "image.tzdata"));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n\n"));
}
