//! From the command line to the steps: each `Args` struct becomes its step's clap-free
//! `Options`. Checks that are about how a flag was written (a path that must exist, a header
//! without a colon) are made here, and their messages name the flag.

use anyhow::bail;

#[cfg(unix)]
use super::args::ProbeArgs;
use super::args::{BuildArgs, EnvArgs, ImageArgs, InspectArgs, PprofArgs, SbomArgs, TestArgs};
#[cfg(unix)]
use crate::probe;

/// goready.toml's `[vuln]` with what the environment sets over it — `GOREADY_VULN_DB` and
/// `GOREADY_VULN_CACHE`, as the action and CI jobs set them — for the steps that scan without
/// `goready vuln`'s own flags (`build`, so `check`, and `sbom`).
pub(super) fn vuln_settings(
    config: &crate::config::Config,
) -> anyhow::Result<crate::vuln::Settings> {
    let mut vuln =
        crate::vuln::Settings::from_table(config.steps.get("vuln")).map_err(anyhow::Error::msg)?;
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(dir) = set("GOREADY_VULN_CACHE") {
        vuln.cache = Some(dir);
    }
    if let Some(db) = set("GOREADY_VULN_DB") {
        vuln.db = Some(db);
    }
    Ok(vuln)
}

impl InspectArgs {
    /// `goready inspect`'s options.
    pub fn options(&self) -> crate::inspect::RunOptions {
        crate::inspect::RunOptions {
            files: self.files.clone(),
            facts: crate::inspect::Options {
                vars: self.vars.clone(),
                expect_version: self.expect_version.clone(),
            },
            rules: crate::inspect::rules::RuleOptions {
                require_static: self.require_static,
            },
            jobs: None,
        }
    }
}

impl ImageArgs {
    /// `goready image`'s options.
    pub fn options(&self) -> crate::image::Options {
        crate::image::Options {
            image: match (&self.image, &self.archive, &self.reference) {
                (Some(image), _, _) => image.clone(),
                (None, Some(archive), _) => archive.clone(),
                (None, None, Some(name)) => format!("docker:{name}"),
                (None, None, None) => String::new(),
            },
            platform: self.platform.clone(),
            max_size: self.max_size.map(|mb| (mb * 1024.0 * 1024.0) as u64),
            ..crate::image::Options::default()
        }
    }
}

impl EnvArgs {
    /// `goready env`'s options.
    pub fn options(&self) -> anyhow::Result<crate::env::Options> {
        let releases = match (&self.releases, self.offline) {
            (Some(src), _) => crate::env::Choice::Explicit(src.clone()),
            (None, true) => crate::env::Choice::Offline,
            (None, false) => crate::env::Choice::Default,
        };
        if !self.dir.is_dir() {
            bail!("{} is not a directory", self.dir.display());
        }
        Ok(crate::env::Options {
            go: crate::gotool::Go::default(),
            dir: self.dir.clone(),
            releases,
            private: self.private.clone(),
        })
    }
}

impl BuildArgs {
    /// `goready build`'s options.
    pub fn options(&self) -> crate::build::Options {
        crate::build::Options {
            go: crate::gotool::Go::default(),
            dir: self.dir.clone(),
            targets: self.matrix.targets.clone(),
            cgo: self.matrix.cgo.clone(),
            package: self.package.clone(),
            jobs: self.jobs.map(usize::from),
            trimpath: !self.no_trimpath,
            ldflags: self.ldflags.clone(),
            tags: self.tags.clone(),
            buildmode: self.buildmode.clone(),
            version: self.matrix.version.clone(),
            version_var: self.version_var.clone(),
            version_cmd: crate::build::version_stamp::split_quoted(&self.version_cmd),
            sbom: self.sbom,
            sbom_stamp: None,
            require_static: self.require_static,
            reproducible: self.reproducible,
            shard: self.shard,
            vuln: None,
        }
    }

    /// `options()` with the SBOM's stamp read from SOURCE_DATE_EPOCH (a bad value is a usage
    /// error).
    pub fn options_checked(&self) -> anyhow::Result<crate::build::Options> {
        let mut opts = self.options();
        if opts.sbom.is_some() {
            opts.sbom_stamp = Some(source_date_epoch()?);
        }
        Ok(opts)
    }
}

/// The SBOMs' time: SOURCE_DATE_EPOCH when set, else now.
fn source_date_epoch() -> anyhow::Result<crate::sbom::Stamp> {
    crate::sbom::Stamp::from_source_date_epoch(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())
}

impl SbomArgs {
    /// `goready sbom`'s options.
    pub fn options(&self) -> anyhow::Result<crate::sbom::Options> {
        Ok(crate::sbom::Options {
            files: self.files.clone(),
            format: self.format,
            out: self.out.clone(),
            stamp: source_date_epoch()?,
            findings: Default::default(),
            advisories: Default::default(),
            vuln: match &self.vuln_db {
                None => None,
                Some(db) => {
                    let config = crate::config::Config::load(self.config.as_deref())?;
                    let settings = vuln_settings(&config)?;
                    let cache = crate::vuln::Settings::cache_of(settings.cache.as_deref());
                    Some(crate::vuln::Options {
                        files: self.files.clone(),
                        db: Some(db.clone()),
                        cache,
                        settings,
                        go_mod: None,
                    })
                }
            },
        })
    }
}

impl TestArgs {
    /// `goready test`'s options.
    pub fn options(&self) -> crate::gotest::Options {
        crate::gotest::Options {
            dir: self.dir.clone(),
            packages: self.packages.clone(),
            go_args: self.go_args.clone(),
            memprofile: (self.memprofile || self.memprofile_dir.is_some()).then(|| {
                crate::gotest::memprofile::MemProfile {
                    keep_dir: self.memprofile_dir.clone(),
                    top: self.ranking.top,
                }
            }),
        }
    }
}

#[cfg(unix)]
impl ProbeArgs {
    /// `goready probe`'s options.
    pub fn options(&self) -> anyhow::Result<probe::command::Options> {
        let launch = match (&self.exec, &self.go_test) {
            (Some(line), _) => probe::service::Launch::Exec(line.clone()),
            (None, Some(pkg)) => probe::service::Launch::GoTest {
                pkg: pkg.clone(),
                run: self.run.clone(),
            },
            (None, None) => bail!("give --exec CMD or --go-test PKG"),
        };
        let tls = crate::http::Tls::new(&crate::http::TlsOptions {
            ca_cert: self.ca_cert.clone(),
            insecure: self.insecure,
        })
        .map_err(|e| anyhow::anyhow!("--ca-cert {e}"))?;
        let pprof = self.pprof.clone();
        let load = self
            .load
            .as_deref()
            .map(|l| -> anyhow::Result<probe::gather::LoadPlan> {
                Ok(probe::gather::LoadPlan {
                    spec: probe::load::LoadSpec::parse(l).map_err(anyhow::Error::msg)?,
                    requests: self.requests,
                    concurrency: self.concurrency,
                    limit: self.load_timeout,
                    rate: self.rate,
                })
            })
            .transpose()?;
        if self.soak.is_some() && self.load.is_none() {
            bail!("--soak keeps the --load traffic going: give --load 'GET /path' too");
        }
        if !self.ready.starts_with('/') {
            bail!("--ready {:?}: give a path starting with /", self.ready);
        }
        if let Some(base) = self.baseline.as_ref().filter(|b| !b.is_file()) {
            bail!("--baseline {}: no such file", base.display());
        }
        let gather = probe::gather::ProbeOptions {
            launch,
            dir: std::path::absolute(&self.dir)?,
            pprof,
            tls,
            max_time: self.max_time,
            ready_path: self.ready.clone(),
            ready_timeout: self.ready_timeout,
            grace: self.grace,
            public_port: self.public_port,
            headers: self.headers.clone(),
            gctrace: self.gctrace,
            load,
            artifacts: self.artifacts.clone(),
            expect_version: self.expect_version.clone(),
            soak: self.soak.map(|duration| probe::soak::SoakPlan {
                duration,
                settle: self.settle,
            }),
            drain: self
                .drain
                .as_deref()
                .map(|d| -> anyhow::Result<probe::drain::DrainPlan> {
                    Ok(probe::drain::DrainPlan {
                        spec: probe::load::LoadSpec::parse(d)
                            .map_err(|e| anyhow::anyhow!(e.replace("--load", "--drain")))?,
                        requests: self.drain_requests,
                    })
                })
                .transpose()?,
        };
        if !self.dir.is_dir() {
            bail!("--dir {}: not a directory", self.dir.display());
        }
        if self.exec.as_deref().is_some_and(|e| e.contains("{bin}")) {
            bail!(
                "--exec: {{bin}} is the binary `goready check` builds; with `goready probe`, give \
                 the service's path"
            );
        }
        Ok(probe::command::Options {
            probe: gather,
            rules: probe::rules::RuleOptions {
                max_heap_mb: self.max_heap,
                expect_version: self.expect_version.clone(),
                go_test: self.go_test.is_some() && self.exec.is_none(),
                headers_given: !self.headers.is_empty(),
                ready_path: self.ready.clone(),
                load: self.load.is_some(),
                drain: self.drain.is_some(),
                soak: self.soak.is_some(),
                soak_limits: probe::soak_rules::SoakLimits {
                    max_goroutine_growth: self.max_goroutine_growth,
                    max_heap_growth_mb: self.max_heap_growth,
                },
                top: self.ranking.top,
                baseline: self.baseline.clone(),
                max_cpu_growth: self.max_cpu_growth,
                max_p99: self.max_p99,
            },
            allocs: probe::allocs::AllocOptions {
                top: self.ranking.top,
                baseline: self.baseline.clone(),
                max_growth: self.max_alloc_growth,
                artifacts: self.artifacts.clone(),
            },
        })
    }
}

impl PprofArgs {
    /// `goready pprof`'s options.
    pub fn options(&self) -> crate::pprof::command::Options {
        crate::pprof::command::Options {
            file: self.file.clone(),
            base: self.base.clone(),
            sample_index: self.sample_index.clone(),
            top: self.ranking.top,
            flame: self.flame.clone(),
            max_alloc_growth: self.max_alloc_growth,
            keep_profiler_frames: self.keep_profiler_frames,
        }
    }
}
