//! Which functions a Go binary links, by name, from its pclntab (which survives `-s -w`).
//! Dead-code elimination keeps only what can run, so a function's presence says what the
//! program may do: `crypto/x509.loadSystemRoots` reads the system's CA roots,
//! `time.LoadLocation` reads zoneinfo, `time/tzdata.*` embeds it.

use object::{Object, ObjectSection};

use super::pclntab::Pclntab;

/// A name to look for: a whole function name, or a package prefix (`time/tzdata.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe<'a> {
    /// A function of exactly this name.
    Function(&'a str),
    /// Any function whose name starts with this.
    Prefix(&'a str),
}

/// For each probe, whether the binary links it; `None` when no Go function table is found.
pub fn probe(data: &[u8], probes: &[Probe<'_>]) -> Option<Vec<bool>> {
    let section = object::File::parse(data).ok().and_then(|file| {
        file.sections()
            .find(|s| {
                s.name()
                    .is_ok_and(|n| matches!(n, ".gopclntab" | "__gopclntab"))
            })
            .and_then(|s| s.data().ok())
            .and_then(Pclntab::parse)
    });
    let table = match section {
        Some(t) => t,
        None => Pclntab::scan(data)?.1,
    };
    Some(
        probes
            .iter()
            .map(|p| match p {
                Probe::Function(name) => table.has_function(name.as_bytes()),
                Probe::Prefix(prefix) => table.has_function_with_prefix(prefix.as_bytes()),
            })
            .collect(),
    )
}
