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

/// A libc.so.6 that defines only GLIBC_2.2.5, built with gcc and a version script: an image
/// whose glibc is older than the one the binary was linked against (which needs GLIBC_2.34).
fn old_glibc() -> Vec<Item> {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    let lib = LIB.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("old-glibc");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("old.c"),
            "int old_glibc_marker(void) { return 0; }\n",
        )
        .unwrap();
        std::fs::write(dir.join("old.map"), "GLIBC_2.2.5 { global: *; };\n").unwrap();
        common::run_ok(
            Command::new("gcc")
                .current_dir(&dir)
                .args([
                    "-shared",
                    "-fPIC",
                    "-nostdlib",
                    "-o",
                    "libc.so.6",
                    "-Wl,-soname,libc.so.6",
                ])
                .args(["-Wl,--version-script=old.map", "old.c"]),
        );
        dir.join("libc.so.6")
    });
    vec![
        host("/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"),
        Item::Host("lib/x86_64-linux-gnu/libc.so.6".into(), lib.clone()),
    ]
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
        Pair { name: "glibc cgo on an older glibc", image: base("amd64").layer(Comp::Gzip, old_glibc()).layer(Comp::Gzip, app("glibc")), layout: Layout::DockerOci },
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
    let out = Command::new(which_chroot())
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
            "glibc cgo on an older glibc" => {
                let l = status(&checks, "image.loader");
                assert_eq!(l.status, Status::Fail);
                assert!(
                    l.message.contains("GLIBC_2.34") && l.message.contains("GLIBC_2.2.5"),
                    "{}",
                    l.message
                );
                // readelf agrees on what the binary needs.
                let needs = common::tool("readelf", &["-V", "-W"], &bin("glibc"));
                assert!(needs.contains("GLIBC_2.34"), "{needs}");
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
    assert_eq!(seen, 8);
}

/// The truth: goready's verdict agrees with running the entrypoint under chroot, per pair.
#[test]
#[ignore = "needs root for chroot"]
fn verdicts_agree_with_chroot() {
    let dir = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    let (mut ran, mut refused, mut no_certs) = (0, 0, 0);
    for (i, pair) in pairs().into_iter().enumerate() {
        let d = dir.path().join(i.to_string());
        std::fs::create_dir_all(&d).unwrap();
        let checks = read(&write(&pair.image, pair.layout, &d)).checks;
        let (started, certs, tz, text) = chroot_truth(&pair.image, &d);
        if started {
            ran += 1
        } else {
            refused += 1
        }
        if certs == Some(false) {
            no_certs += 1;
        }
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
    // The pairs are a real spread: some start, some do not, some lack roots.
    assert!(
        ran >= 5 && refused >= 4 && no_certs >= 2,
        "ran {ran}, refused {refused}, no certs {no_certs}"
    );
}

/// chroot's own path: the child's PATH is the image's, not the host's.
fn which_chroot() -> PathBuf {
    ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("chroot (coreutils)")
}

// ---- Hostile archives: clear errors, never a panic. ----

fn read_err(path: &Path, limits: goready::image::layer::Limits) -> String {
    let result = image::run(
        &Options {
            image: path.display().to_string(),
            limits,
            ..Options::default()
        },
        &Discard,
        &Cancel::new(),
    );
    match result {
        Ok(run) => panic!("{} read fine: {:#?}", path.display(), run.facts),
        Err(e) => format!("{e:#}"),
    }
}

/// A tar whose one entry has a raw name the tar crate's builder would refuse.
fn raw_layer(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(bytes.len() as u64);
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, bytes).unwrap();
    b.into_inner().unwrap()
}

/// A docker save archive around raw layer blobs.
fn docker_with_blobs(blobs: &[Vec<u8>], config: serde_json::Value, out: &Path) {
    let mut files = Vec::new();
    let mut names = Vec::new();
    for (i, b) in blobs.iter().enumerate() {
        files.push((format!("l{i}/layer.tar"), b.clone()));
        names.push(format!("l{i}/layer.tar"));
    }
    let cfg =
        serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "config": config}))
            .unwrap();
    files.push(("c.json".into(), cfg));
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&json!([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": names}]))
            .unwrap(),
    ));
    imagekit::write_tar(&files, out);
}

#[test]
fn path_traversal_in_a_layer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.tar");
    docker_with_blobs(
        &[raw_layer("../../etc/passwd", b"root:x:0:0::/:/bin/sh\n")],
        json!({"Cmd": ["/app"]}),
        &p,
    );
    let err = read_err(&p, Default::default());
    assert!(err.contains("climbs out of the root filesystem"), "{err}");
}

#[test]
fn absolute_entry_names_land_inside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.tar");
    docker_with_blobs(
        &[raw_layer("/etc/passwd", b"app:x:1000:1000::/:/bin/sh\n")],
        json!({"Cmd": ["/app"], "User": "app"}),
        &p,
    );
    let run = read(&p);
    let user = status(&run.checks, "image.user");
    assert_eq!(user.status, Status::Pass, "{}", user.message);
    assert!(user.message.contains("uid 1000"), "{}", user.message);
}

#[test]
fn a_manifest_pointing_outside_the_archive_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.tar");
    let files = vec![
        (
            "c.json".to_string(),
            br#"{"architecture":"amd64","os":"linux"}"#.to_vec(),
        ),
        (
            "manifest.json".to_string(),
            br#"[{"Config":"c.json","Layers":["../../../etc/passwd"]}]"#.to_vec(),
        ),
    ];
    imagekit::write_tar(&files, &p);
    let err = read_err(&p, Default::default());
    assert!(err.contains("points outside the archive"), "{err}");

    let oci = dir.path().join("oci");
    imagekit::write_dir(
        &vec![
            ("oci-layout".to_string(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
            ("index.json".to_string(), br#"{"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../../etc/passwd","size":1}]}"#.to_vec()),
        ],
        &oci,
    );
    let err = read_err(&oci, Default::default());
    assert!(err.contains("is not ALGORITHM:HEX"), "{err}");
}

#[test]
fn symlink_loops_fail_the_entrypoint_not_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let image = Image::new("amd64", json!({"Entrypoint": ["/app"]})).layer(
        Comp::Gzip,
        vec![
            Item::Symlink("app".into(), "loop/a".into()),
            Item::Symlink("loop".into(), "loop2".into()),
            Item::Symlink("loop2".into(), "loop".into()),
        ],
    );
    let run = read(&write(&image, Layout::DockerOci, dir.path()));
    let e = status(&run.checks, "image.entrypoint");
    assert_eq!(e.status, Status::Fail);
    assert!(e.message.contains("loop"), "{}", e.message);
}

#[test]
fn a_tar_bomb_of_entries_is_stopped_by_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<Item> = (0..3000)
        .map(|i| Item::Bytes(format!("d/f{i}"), Vec::new(), 0o644))
        .collect();
    let image = Image::new("amd64", json!({"Cmd": ["/app"]})).layer(Comp::Gzip, items);
    let p = write(&image, Layout::DockerLegacy, dir.path());
    let limits = goready::image::layer::Limits {
        max_entries: 1000,
        ..Default::default()
    };
    let err = read_err(&p, limits);
    assert!(
        err.contains("more than 1000 entries") && err.contains("layer 1"),
        "{err}"
    );
}

#[test]
fn declared_sizes_past_the_end_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.tar");
    docker_with_blobs(&[raw_layer("app", b"x")], json!({"Cmd": ["/app"]}), &p);
    // Claim the first member (the layer) is 1 TiB: its header's size field, checksum redone.
    let mut bytes = std::fs::read(&p).unwrap();
    let mut h = tar::Header::from_byte_slice(&bytes[..512]).clone();
    h.set_size(1 << 40);
    h.set_cksum();
    bytes[..512].copy_from_slice(h.as_bytes());
    std::fs::write(&p, &bytes).unwrap();
    let err = read_err(&p, Default::default());
    assert!(err.contains("past the end of the archive"), "{err}");
}

#[test]
fn truncated_gzip_and_zstd_layers_are_clear_errors() {
    for comp in [Comp::Gzip, Comp::Zstd] {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..400_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let layer = imagekit::Layer {
            items: vec![Item::Bytes("data".into(), big, 0o644)],
            comp,
        };
        let blob = imagekit::compress(imagekit::layer_tar(&layer), comp);
        let cut = blob[..blob.len() / 2].to_vec();
        let p = dir.path().join("a.tar");
        docker_with_blobs(&[cut], json!({"Cmd": ["/app"]}), &p);
        let err = read_err(&p, Default::default());
        assert!(err.contains("layer 1"), "{comp:?}: {err}");
        assert!(!err.contains("panicked"), "{comp:?}: {err}");
    }
}

#[test]
fn decompression_bombs_are_stopped_by_the_budget() {
    for comp in [Comp::Gzip, Comp::Zstd] {
        let dir = tempfile::tempdir().unwrap();
        let zeros = vec![0u8; 96 << 20];
        let layer = imagekit::Layer {
            items: vec![Item::Bytes("zeros".into(), zeros, 0o644)],
            comp,
        };
        let blob = imagekit::compress(imagekit::layer_tar(&layer), comp);
        assert!(
            blob.len() < 1 << 20,
            "{comp:?}: the bomb compresses to {} bytes",
            blob.len()
        );
        let p = dir.path().join("a.tar");
        docker_with_blobs(&[blob], json!({"Cmd": ["/app"]}), &p);
        let limits = goready::image::layer::Limits {
            max_unpacked: 32 << 20,
            ..Default::default()
        };
        let err = read_err(&p, limits);
        assert!(err.contains("decompression bomb"), "{comp:?}: {err}");
    }
}

#[test]
fn a_multi_platform_index_serves_the_asked_platform_and_skips_attestations() {
    let dir = tempfile::tempdir().unwrap();
    let amd = Image::new("amd64", json!({"Entrypoint": ["/app"], "User": "1"})).layer(
        Comp::Gzip,
        vec![Item::Bytes("app".into(), b"#!/bin/sh\n".to_vec(), 0o755)],
    );
    let arm = Image::new("arm64", json!({"Entrypoint": ["/arm-app"], "User": "2"})).layer(
        Comp::Zstd,
        vec![Item::Bytes(
            "arm-app".into(),
            b"#!/bin/sh\n".to_vec(),
            0o755,
        )],
    );
    let p = dir.path().join("oci");
    imagekit::write_dir(&imagekit::oci_index(&[amd, arm], true), &p);
    let pick = |platform: &str| {
        image::run(
            &Options {
                image: p.display().to_string(),
                platform: Some(platform.into()),
                ..Options::default()
            },
            &Discard,
            &Cancel::new(),
        )
    };
    let arm = pick("linux/arm64").unwrap();
    assert_eq!(arm.facts.platform.architecture, "arm64");
    assert_eq!(
        arm.facts.config.entrypoint,
        Some(vec!["/arm-app".to_string()])
    );
    assert!(
        !arm.facts.offered.iter().any(|o| o.contains("unknown")),
        "{:?}",
        arm.facts.offered
    );
    let amd = pick("linux/amd64").unwrap();
    assert_eq!(amd.facts.config.entrypoint, Some(vec!["/app".to_string()]));
    let err = format!("{:#}", pick("linux/s390x").unwrap_err());
    assert!(
        err.contains("no image for linux/s390x") && err.contains("linux/arm64"),
        "{err}"
    );
}

#[test]
fn docker_without_a_daemon_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A PATH with no docker at all, or one whose daemon does not answer.
    let out = common::goready()
        .args(["image", "docker:app:ci"])
        .env("PATH", dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("docker:app:ci") && err.contains("docker save app:ci -o app.tar"),
        "{err}"
    );
}

/// The ELF facts goready reads from an image's files agree with `readelf`: interpreter,
/// needed libraries, version needs and definitions.
#[test]
fn elf_needs_agree_with_readelf() {
    use goready::inspect::dynamic::elf_needs;
    for path in [
        "/lib/x86_64-linux-gnu/libc.so.6".into(),
        "/lib64/ld-linux-x86-64.so.2".into(),
        "/bin/busybox".into(),
        bin("glibc"),
        bin("musl"),
        bin("pie"),
    ] {
        let facts = elf_needs(&std::fs::read(&path).unwrap()).unwrap();
        let v = common::tool("readelf", &["-V", "-W"], &path);
        let d = common::tool("readelf", &["-d", "-W"], &path);
        let l = common::tool("readelf", &["-l", "-W"], &path);
        // Needed libraries, in order.
        let needed: Vec<String> = d
            .lines()
            .filter(|x| x.contains("(NEEDED)"))
            .map(|x| {
                x.split('[')
                    .nth(1)
                    .unwrap()
                    .trim_end_matches(']')
                    .to_string()
            })
            .collect();
        assert_eq!(facts.needed, needed, "{}", path.display());
        let interp = l
            .lines()
            .find_map(|x| x.trim().strip_prefix("[Requesting program interpreter: "))
            .map(|x| x.trim_end_matches(']').to_string());
        assert_eq!(facts.interpreter, interp, "{}", path.display());
        // Version needs: every "Name: X  Flags" line under the needs section.
        let needs_part = v.split("Version needs section").nth(1).unwrap_or_default();
        let mut needed_versions: Vec<String> = needs_part
            .lines()
            .filter(|x| x.contains("Name: ") && x.contains("Flags:"))
            .map(|x| {
                x.split("Name: ")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let mut ours: Vec<String> = facts
            .version_needs
            .iter()
            .flat_map(|n| n.versions.clone())
            .collect();
        needed_versions.sort();
        ours.sort();
        assert_eq!(ours, needed_versions, "{}", path.display());
        // Version definitions, the base record left out.
        let defs_part = v
            .split("Version definition section")
            .nth(1)
            .unwrap_or_default();
        let defs_part = defs_part.split("Version needs section").next().unwrap();
        let defs: Vec<String> = defs_part
            .lines()
            .filter(|x| x.contains("Name: ") && !x.contains("Flags: BASE") && x.contains("Index:"))
            .map(|x| x.split("Name: ").nth(1).unwrap().trim().to_string())
            .collect();
        assert_eq!(facts.version_defs, defs, "{}", path.display());
    }
}

/// `docker:NAME` runs `docker save NAME` and reads what it writes: here a `docker` on PATH
/// that writes a saved archive (Docker's CLI stands outside goready; the daemon is not needed
/// to prove the spooling, the tag choice and the cleanup).
#[test]
fn docker_name_reads_what_docker_save_writes() {
    let dir = tempfile::tempdir().unwrap();
    let image = Image::new("amd64", json!({"Entrypoint": ["/app"], "User": "7"})).layer(
        Comp::Gzip,
        vec![Item::Bytes("app".into(), b"#!/bin/sh\n".to_vec(), 0o755)],
    );
    let saved = dir.path().join("saved.tar");
    imagekit::write_tar(&imagekit::docker_legacy(&image, "app:ci"), &saved);
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = save ] && [ \"$2\" = app:ci ] || {{ echo \"unexpected: $*\" >&2; exit 3; }}\ncat '{}'\n",
        saved.display()
    );
    let docker = bin.join("docker");
    std::fs::write(&docker, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = common::goready()
        .args(["image", "docker:app:ci", "--format", "json"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["image"]["tags"][0], "app:ci");
    assert_eq!(v["image"]["config"]["Entrypoint"][0], "/app");
    let user = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "image.user")
        .unwrap();
    assert_eq!(user["status"], "pass", "{user}");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the spooled archive is removed"
    );
    // A docker that fails says why.
    std::fs::write(
        &docker,
        "#!/bin/sh\necho 'Error response from daemon: reference does not exist' >&2\nexit 1\n",
    )
    .unwrap();
    let out = common::goready()
        .args(["image", "docker:app:ci"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("docker save app:ci failed") && err.contains("reference does not exist"),
        "{err}"
    );
}
