//! The data of the `image.*` checks: what the rules write and what every renderer reads, one
//! Rust type ([`ImageData`]) serialised as the check's `data`. The facts themselves are
//! built by `image::start` from the merged view; the rules only judge them.

use serde::{Deserialize, Serialize};

/// The data of one `image.*` check: the image it is about and the facts of its rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageData {
    /// The image as given (`app.tar`, `docker:app:ci`).
    pub image: String,
    /// The image config's platform, `os/arch[/variant]`.
    pub platform: String,
    /// The rule's facts.
    #[serde(flatten)]
    pub detail: Detail,
}

/// The facts of one rule, tagged by the rule's short name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", content = "facts", rename_all = "snake_case")]
pub enum Detail {
    /// `image.entrypoint`.
    Entrypoint(EntrypointFacts),
    /// `image.platform`: one entry per ELF program of the command line.
    Platform(Vec<PlatformFacts>),
    /// `image.loader`: one entry per ELF program of the command line.
    Loader(Vec<LoaderFacts>),
    /// `image.ca_certs`.
    CaCerts(CaCertsFacts),
    /// `image.tzdata`.
    Tzdata(TzdataFacts),
    /// `image.user`.
    User(UserFacts),
    /// `image.size`.
    Size(SizeFacts),
    /// `image.pprof_port`.
    PprofPort(PortFacts),
}

/// How a program of the command line was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// What the command line says (`svc`, `/app`, `/bin/sh`).
    pub requested: String,
    /// The role it plays: `entrypoint`, `shell`, `interpreter`, `service`.
    pub role: String,
    /// The file it resolved to (canonical, absolute), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The symlinks followed on the way (`/app -> /usr/bin/app`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// Why it cannot be executed, when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// `elf`, `script` or `unknown` (what its first bytes are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// GOOS/GOARCH of an ELF file (`linux/amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Whether it is a Go program.
    #[serde(default)]
    pub go: bool,
}

/// `image.entrypoint`: the command line and the programs it resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrypointFacts {
    /// ENTRYPOINT followed by CMD.
    pub argv: Vec<String>,
    /// Whether it is a shell form (`/bin/sh -c …`).
    pub shell_form: bool,
    /// The programs it starts, in order: the entrypoint, what a shell or launcher runs.
    pub programs: Vec<Program>,
}

/// `image.platform`: the binary's platform against the config's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformFacts {
    /// The program judged (canonical path).
    pub binary: String,
    /// Its `goos/goarch`, from its ELF header (and Go build info).
    pub binary_platform: String,
    /// The config's `os/architecture`.
    pub image_platform: String,
}

/// One library the loader has to find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    /// DT_NEEDED name.
    pub name: String,
    /// The object that needs it (a canonical path).
    pub needed_by: String,
    /// Where it was found, or None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// Served by the loader itself (musl's libc).
    #[serde(default)]
    pub by_loader: bool,
}

/// A symbol version needed and not defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingVersion {
    /// The version (`GLIBC_2.34`).
    pub version: String,
    /// The library expected to define it.
    pub library: String,
    /// Where that library was found.
    pub found: String,
    /// The object that needs it.
    pub needed_by: String,
}

/// `image.loader`: the interpreter, the libraries and the symbol versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderFacts {
    /// The program judged.
    pub binary: String,
    /// PT_INTERP, if any (None: static).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// Where the interpreter resolved to, or None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter_found: Option<String>,
    /// `glibc`, `musl` or `unknown`: what the image's loader is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loader_libc: Option<String>,
    /// `glibc`, `musl` or None: what the binary was linked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_libc: Option<String>,
    /// Every library looked up, the binary's and theirs.
    #[serde(default)]
    pub libraries: Vec<Library>,
    /// Versions needed and not defined.
    #[serde(default)]
    pub missing_versions: Vec<MissingVersion>,
    /// The directories searched, in order, for the binary's own libraries.
    #[serde(default)]
    pub search_path: Vec<String>,
    /// The image's glibc version (the highest `GLIBC_x.y` its libc defines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_glibc: Option<String>,
    /// The newest `GLIBC_x.y` the binary needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed_glibc: Option<String>,
}

/// What the binary links that reads system files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linked {
    /// `crypto/x509.loadSystemRoots`: verifies TLS with the system's roots.
    pub system_roots: bool,
    /// `crypto/x509.SetFallbackRoots` or `golang.org/x/crypto/x509roots/fallback`.
    pub fallback_roots: bool,
    /// `time.LoadLocation`.
    pub load_location: bool,
    /// `time/tzdata` (or `-tags timetzdata`).
    pub tzdata: bool,
    /// `net/http/pprof`.
    pub pprof: bool,
    /// The Go function table could not be read: every flag above is unknown, not false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unread: bool,
}

/// `image.ca_certs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaCertsFacts {
    /// The program judged.
    pub binary: String,
    /// What it links.
    pub linked: Linked,
    /// The files and directories Go looks at, in order (SSL_CERT_FILE/SSL_CERT_DIR applied).
    pub searched: Vec<String>,
    /// Where certificates were found.
    #[serde(default)]
    pub found: Vec<String>,
}

/// `image.tzdata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TzdataFacts {
    /// The program judged.
    pub binary: String,
    /// What it links.
    pub linked: Linked,
    /// `TZ` from the config's Env (a zone loaded at start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz_env: Option<String>,
    /// The sources Go looks at, in order (ZONEINFO first when set).
    pub searched: Vec<String>,
    /// The first source that holds compiled zones, and how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// Compiled zone files (TZif) in it.
    #[serde(default)]
    pub zones: u64,
}

/// `image.user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFacts {
    /// The config's `User` (empty: root).
    pub user: String,
    /// The uid it resolves to, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u64>,
    /// Whether /etc/passwd exists in the image.
    pub passwd: bool,
    /// Why the user cannot be resolved, when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// `image.size`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeFacts {
    /// Layer blobs as stored (compressed where they are).
    pub compressed: u64,
    /// Regular files of the merged root filesystem.
    pub unpacked: u64,
    /// Regular files in the merged view.
    pub files: u64,
    /// Layers.
    pub layers: usize,
    /// The budget (`--max-size` / `[image] max_size`), in bytes of the merged view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

/// `image.pprof_port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortFacts {
    /// The program judged.
    pub binary: String,
    /// EXPOSEd ports (`8080/tcp`).
    pub exposed: Vec<String>,
    /// Whether net/http/pprof is linked.
    pub pprof_linked: bool,
    /// The Go function table could not be read: `pprof_linked` is unknown, not false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linked_unread: bool,
}
