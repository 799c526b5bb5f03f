//! `goready image IMAGE`: will the entrypoint start where it ships? Reads a `docker save`
//! tarball, an OCI image layout (directory or tar) or `docker:NAME` as a stream — never
//! unpacked to disk — builds the merged root filesystem's metadata (whiteouts applied,
//! symlinks resolved), keeps only the bytes the rules need (the entrypoint, /etc/passwd,
//! ld.so.conf, the ELF facts of every shared library, whether CA and zone files are real),
//! and judges: entrypoint, platform, loader, CA roots, zoneinfo, user, size, pprof port.
//!
//! Parsers only produce facts: [`archive`] (the outer layout), [`oci`] (its JSON),
//! [`layer`] (one layer's tar stream), [`fs`] (the merged view), [`start`] (what a runtime
//! and a loader would do); [`rules`] judges; [`run`] is the front door.

pub mod archive;
pub mod data;
mod docker;
pub mod fs;
pub mod layer;
pub mod oci;
pub mod rules;
pub mod start;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow};
use serde::{Deserialize, Serialize};

use crate::cancel::Cancel;
use crate::model::Check;
use crate::progress::{Event, Say, Sink};
use crate::step::Step;
use archive::{Archive, Layout};
use data::{PlatformFacts, PortFacts, SizeFacts};
use layer::{Budget, Compression, Keep, Limits};
use oci::{Platform, RunConfig};

/// What `goready image` is asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A `docker save` tarball, an OCI layout directory or tar, or `docker:NAME`.
    pub image: String,
    /// `os/arch[/variant]` to pick from a multi-platform index (default: the host's).
    pub platform: Option<String>,
    /// image.size's budget for the merged root filesystem, in bytes.
    pub max_size: Option<u64>,
    /// Budgets against hostile archives.
    pub limits: Limits,
    /// Layers read at once (default: the CPUs, at most 4).
    pub jobs: Option<usize>,
}

/// One layer as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFacts {
    /// Its name in the archive.
    pub name: String,
    /// Its compression, by magic.
    pub compression: Compression,
    /// Its size in the archive.
    pub size: u64,
    /// Its tar entries.
    pub entries: u64,
}

/// What was read of the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageFacts {
    /// The image as given.
    pub image: String,
    /// The archive's layout.
    pub layout: Layout,
    /// The config's platform.
    pub platform: Platform,
    /// Platforms an index offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<String>,
    /// Names the archive gives the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The run config.
    pub config: RunConfig,
    /// The layers, base first.
    pub layers: Vec<LayerFacts>,
    /// Regular files in the merged view.
    pub files: u64,
    /// Their bytes.
    pub unpacked: u64,
}

/// The outcome of `goready image`.
#[derive(Debug, Clone)]
pub struct ImageRun {
    /// What was read.
    pub facts: ImageFacts,
    /// One check per rule.
    pub checks: Vec<Check>,
}

/// One layer's outcome: its compression and entries, or why it could not be read.
type LayerRead = anyhow::Result<(Compression, Vec<layer::Entry>)>;

/// Reads and judges one image. Errors are an unreadable image (with what to do about it) or
/// a [`crate::cancel::Stopped`].
pub fn run(opts: &Options, sink: &dyn Sink, cancel: &Cancel) -> anyhow::Result<ImageRun> {
    let say = Say::new(Step::Image, sink);
    let platform = match &opts.platform {
        Some(p) => Some(Platform::parse(p).ok_or_else(|| {
            anyhow!("--platform {p:?}: write OS/ARCH[/VARIANT], e.g. linux/arm64")
        })?),
        None => None,
    };
    let (path, tag, _spool) = match opts.image.strip_prefix("docker:") {
        Some(name) => {
            say.info(format!("docker save {name}"));
            let spool = docker::save(name, cancel)?;
            (
                spool.path().to_path_buf(),
                Some(name.to_string()),
                Some(spool),
            )
        }
        None => (PathBuf::from(&opts.image), None, None),
    };
    let archive = Archive::open(&path)?;
    let located = archive.locate(platform.as_ref(), tag.as_deref())?;
    let config = located.config.config.clone().unwrap_or_default();
    let image_platform = Platform {
        os: located.config.os.clone(),
        architecture: located.config.architecture.clone(),
        variant: located.config.variant.clone().filter(|v| !v.is_empty()),
    };
    if let Some(p) = &platform
        && !image_platform.serves(p)
        && located.layout != Layout::Oci
    {
        say.warn(format!(
            "--platform {} asked; the archive holds one image, for {}",
            p.label(),
            image_platform.label()
        ));
    }

    // What the first pass keeps.
    let wanted = start::wanted_paths(&config);
    let mut pem_prefixes: Vec<String> = start::CERT_TREES.iter().map(|s| s.to_string()).collect();
    for key in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
        if let Some(v) = config.env_var(key) {
            pem_prefixes.extend(
                v.split(':')
                    .map(|p| layer::clean(p).unwrap_or_default())
                    .filter(|p| !p.is_empty()),
            );
        }
    }
    let tz_prefixes: Vec<String> = start::zone_sources(&config)
        .iter()
        .filter_map(|p| layer::clean(p).ok())
        .filter(|p| !p.is_empty())
        .collect();
    let keep = move |path: &str, size: u64| -> Keep {
        if wanted.contains(path) {
            return Keep::Content;
        }
        let under = |prefixes: &[String]| {
            prefixes.iter().any(|p| {
                path == p
                    || (path.starts_with(p.as_str()) && path.as_bytes().get(p.len()) == Some(&b'/'))
            })
        };
        if (path.starts_with("etc/ld.so.conf.d/")
            || (path.starts_with("etc/ld-musl-") && path.ends_with(".path")))
            && size <= 1 << 20
        {
            return Keep::Content;
        }
        if under(&pem_prefixes) {
            return Keep::Pem;
        }
        if under(&tz_prefixes) {
            return Keep::Tzif;
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.contains(".so") || name.starts_with("ld-") {
            return Keep::ElfNeeds;
        }
        Keep::Nothing
    };

    // Layers are read in parallel; each yields its entries, applied in order afterwards.
    let started = Instant::now();
    let n = located.layers.len();
    sink.emit(Event::Began {
        step: Step::Image,
        total: Some(n as u64),
        what: format!(
            "{} layer{} of {}",
            n,
            if n == 1 { "" } else { "s" },
            archive.shown()
        ),
    });
    let budget = Budget::default();
    let jobs = opts
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(4)
        })
        .clamp(1, 16);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<LayerRead>>> =
        (0..n).map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.min(n.max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let l = &located.layers[i];
                    sink.emit(Event::Started {
                        step: Step::Image,
                        item: l.name.clone(),
                    });
                    let result = cancel
                        .check()
                        .map_err(anyhow::Error::from)
                        .and_then(|_| archive.open_file(&l.name))
                        .and_then(|(blob, _)| {
                            layer::read(blob, &keep, &opts.limits, &budget, cancel)
                        })
                        .with_context(|| format!("layer {} ({})", i + 1, l.name));
                    sink.emit(Event::Finished {
                        step: Step::Image,
                        item: l.name.clone(),
                        ok: result.is_ok(),
                        detail: match &result {
                            Ok((c, e)) => format!("{}, {} entries", c.name(), e.len()),
                            Err(e) => format!("{e:#}"),
                        },
                    });
                    // A failed layer stops the others early.
                    let failed = result.is_err();
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                    if failed {
                        next.store(n, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    cancel.check()?;
    let mut tree = fs::Tree::new();
    let mut layers = Vec::with_capacity(n);
    for (i, slot) in results.into_iter().enumerate() {
        let result = slot
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .ok_or_else(|| anyhow!("layer {} was not read (an earlier layer failed)", i + 1))?;
        let (compression, entries) =
            result.with_context(|| format!("{} is not a readable image", archive.shown()))?;
        layers.push(LayerFacts {
            name: located.layers[i].name.clone(),
            compression,
            size: located.layers[i].size,
            entries: entries.len() as u64,
        });
        tree.apply(i, entries);
    }
    say.info(format!(
        "read {} layers, {} files in {:.1}s",
        n,
        tree.files(),
        started.elapsed().as_secs_f64()
    ));

    // Bytes the first pass did not keep (a file reached through a symlink) are read from
    // their layer on demand.
    let mut fetch = |layer_index: usize, path: &str| -> anyhow::Result<Arc<[u8]>> {
        cancel.check()?;
        let l = located
            .layers
            .get(layer_index)
            .ok_or_else(|| anyhow!("no layer {layer_index}"))?;
        let (blob, _) = archive.open_file(&l.name)?;
        let target = path.to_string();
        let keep_one = move |p: &str, _: u64| {
            if p == target {
                Keep::Content
            } else {
                Keep::Nothing
            }
        };
        let (_, entries) = layer::read(blob, &keep_one, &opts.limits, &Budget::default(), cancel)?;
        entries
            .into_iter()
            .rev()
            .find(|e| e.path == path)
            .and_then(|e| e.kept.content)
            .ok_or_else(|| anyhow!("/{path} vanished from layer {}", layer_index + 1))
    };

    let (entrypoint, programs) = start::programs(&tree, &config, &mut fetch);
    let image_label = format!("{}/{}", image_platform.os, image_platform.architecture);
    let elf_programs: Vec<&start::Examined> = programs.iter().filter(|e| e.elf.is_some()).collect();
    let platforms = elf_programs
        .iter()
        .filter_map(|e| {
            Some(PlatformFacts {
                binary: e.program.path.clone()?,
                binary_platform: e.program.arch.clone()?,
                image_platform: image_label.clone(),
            })
        })
        .collect();
    let loaders = elf_programs
        .iter()
        .filter_map(|e| start::loader(&tree, &config, e, &mut fetch))
        .collect();
    let go = programs.iter().find(|e| e.program.go);
    let exposed: Vec<String> = config.exposed_ports.keys().cloned().collect();
    let judged = rules::Judged {
        image: opts.image.clone(),
        platform: image_platform.label(),
        entrypoint,
        platforms,
        loaders,
        ca_certs: go.map(|g| start::ca_certs(&tree, &config, g)),
        tzdata: go.map(|g| start::tzdata(&tree, &config, g)),
        user: start::user(&tree, &config),
        size: SizeFacts {
            compressed: located.layers.iter().map(|l| l.size).sum(),
            unpacked: tree.bytes(),
            files: tree.files(),
            layers: n,
            max: opts.max_size,
        },
        ports: go.map(|g| PortFacts {
            binary: g.program.path.clone().unwrap_or_default(),
            exposed: exposed.clone(),
            pprof_linked: g.linked.pprof,
            linked_unread: g.linked.unread,
        }),
    };
    let checks = rules::evaluate(&judged);
    let facts = ImageFacts {
        image: opts.image.clone(),
        layout: located.layout,
        platform: image_platform,
        offered: located.offered,
        tags: located.tags,
        config,
        layers,
        files: tree.files(),
        unpacked: tree.bytes(),
    };
    Ok(ImageRun { facts, checks })
}

/// A readable summary of what was read (the CLI prints it above the checks).
pub fn facts_text(f: &ImageFacts) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "image     {}", f.image);
    let _ = writeln!(
        out,
        "layout    {}",
        match f.layout {
            Layout::DockerSave => "docker save (manifest.json)",
            Layout::DockerSaveOci => "docker save, OCI layout (Docker 25+)",
            Layout::Oci => "OCI image layout",
        }
    );
    let _ = writeln!(out, "platform  {}", f.platform.label());
    if !f.tags.is_empty() {
        let _ = writeln!(out, "tags      {}", f.tags.join(", "));
    }
    let _ = writeln!(
        out,
        "command   {}",
        shlex::try_join(f.config.argv().iter().map(String::as_str)).unwrap_or_default()
    );
    for (i, l) in f.layers.iter().enumerate() {
        let _ = writeln!(
            out,
            "layer {:<3} {} {} ({}, {} entries)",
            i + 1,
            crate::human::bytes(l.size),
            l.name,
            l.compression.name(),
            l.entries
        );
    }
    let _ = writeln!(
        out,
        "merged    {} files, {}",
        f.files,
        crate::human::bytes(f.unpacked)
    );
    out.push('\n');
    out
}

/// The set of rule ids this step writes (for planners and docs).
pub fn rule_ids() -> BTreeSet<&'static str> {
    crate::registry::IMAGE.iter().map(|r| r.id).collect()
}
