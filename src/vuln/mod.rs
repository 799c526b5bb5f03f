//! Known vulnerabilities in what ships (`goready vuln`, and the scan inside `goready build`):
//! the Go vulnerability database read from the OSV entries of its v1 API ([`osv`]), matched
//! against each binary's buildinfo and the functions its pclntab and inline trees hold; one
//! `binary.vuln` check per (binary, advisory), with [`data::VulnData`] as its data.

pub mod data;
pub mod db;
pub mod osv;
