//! The steps goready is made of, as one enum: every place that lists, plans, configures or
//! reports steps matches on it exhaustively, so adding a step is a compile error everywhere
//! it must be handled.

use std::fmt;

/// One of goready's steps (a subcommand with a front door of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// Toolchain and module hygiene (`goready env`).
    Env,
    /// The GOOS/GOARCH/CGO matrix (`goready build`).
    Build,
    /// Facts of given binaries (`goready inspect`).
    Inspect,
    /// Known vulnerabilities in given binaries (`goready vuln`).
    Vuln,
    /// An SBOM per binary (`goready sbom`).
    Sbom,
    /// The container image around the binary (`goready image`).
    Image,
    /// The running service (`goready probe`).
    Probe,
    /// `go test` (`goready test`).
    Test,
    /// A saved profile ranked (`goready pprof`).
    Pprof,
    /// Result files merged and published (`goready report`).
    Report,
    /// Every step on one module (`goready check`).
    Check,
}

impl Step {
    /// Every step, in the order `goready check` runs those it runs (report last but check).
    pub const ALL: [Step; 11] = [
        Step::Env,
        Step::Build,
        Step::Inspect,
        Step::Vuln,
        Step::Sbom,
        Step::Image,
        Step::Probe,
        Step::Test,
        Step::Pprof,
        Step::Report,
        Step::Check,
    ];

    /// The step called `name` (its subcommand's name).
    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The subcommand's name, and the step's table in goready.toml.
    pub fn name(self) -> &'static str {
        match self {
            Step::Env => "env",
            Step::Build => "build",
            Step::Inspect => "inspect",
            Step::Vuln => "vuln",
            Step::Sbom => "sbom",
            Step::Image => "image",
            Step::Probe => "probe",
            Step::Test => "test",
            Step::Pprof => "pprof",
            Step::Report => "report",
            Step::Check => "check",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
