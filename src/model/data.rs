//! The typed data of a check: [`CheckData`], one variant per rule (or per family of rules
//! that record the same facts), each a serde struct. The rule that writes a fact and the
//! renderer that reads it share the struct; the goready/v1 JSON `data` object is its
//! serialisation, unchanged in shape.

use serde::{Deserialize, Serialize};

mod binary;
mod build;
mod env;
mod profile;
mod runtime;
mod test;

pub use binary::{BuildinfoData, Linkage, Module, ReadableData, StaticData, VcsData, VersionData};
pub use build::{BuildVersionData, CompileData, ReproducibleData, SbomData, StaticFlagsData};
pub use env::{
    GoModDirectiveData, GoSumData, GoSupportedData, GoflagsData, GopathOverlapData, GoprivateData,
    GoproxyData, GorootProvenanceData, GosumdbData, ReleasesSource, ToolchainConsistentData,
};
pub use profile::{
    ContentionData, DroppedSamples, Growth, Inline, ProfileData, ProfileRanking, RegressionData,
    SiteShares, Top, TopRow, ValueType,
};
pub use runtime::{
    DrainData, ExposedData, GoroutineLeakData, HeapBudgetData, HeapGrowthData, LatencyData,
    LoadData, MemlimitData, RegisteredData, Round, ShutdownData, StartData, VersionRunData,
};
pub use test::{TestBuildData, TestData};

/// A room's own nested facts, recorded as that room serialises them (a socket list, a
/// process tree, a memstats dump). Nothing in goready reads inside them: a fact that a rule,
/// a renderer or the baseline reads gets a typed field in its struct instead.
pub type Facts = serde_json::Value;

/// Records a room's facts as [`Facts`] (what `serde_json::json!` would have made of them).
pub fn facts(value: impl Serialize) -> Facts {
    serde_json::to_value(value).unwrap_or_default()
}

/// Reads a number, or `null` (how JSON writes a NaN or an infinity) as NaN, so that one odd
/// number does not cost a check all its data.
fn number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Declares [`CheckData`]: its variants, the rule ids each is read for, and the `From`
/// conversions the writing rules use.
macro_rules! check_data {
    ($( $(#[$doc:meta])* $($id:literal)|+ => $variant:ident($ty:ty), )*) => {
        /// The typed data of a check, chosen by its rule id.
        ///
        /// # Adding data to a rule
        ///
        /// 1. Write a struct for it in `src/model/data/<suite>.rs` (or the room's own leaf
        ///    `data.rs`, which imports nothing from the crate, as `vuln::data` does):
        ///    `#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]` and
        ///    `#[serde(default)]`, so a result file written before a field existed still
        ///    reads. Keep field names stable: they are the JSON.
        /// 2. Add a line to the `check_data!` list below: `"suite.rule" => Variant(Struct),`.
        ///    That gives the variant, the `From<Struct>` the rule writes with
        ///    (`Check::of(&rule).data(Struct { .. })`), and reading by rule id.
        /// 3. Read it with `if let CheckData::Variant(d) = &check.data`: never by string
        ///    key, never from the message.
        ///
        /// Each payload is boxed, so a [`crate::model::Check`] stays small whatever its data.
        ///
        /// A result file whose data does not fit (absent, another goready's shape, an unknown
        /// rule) reads as [`CheckData::None`], never as an error.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub enum CheckData {
            /// No data (or none this goready can read).
            #[default]
            None,
            $( $(#[$doc])* $variant(Box<$ty>), )*
        }

        impl CheckData {
            /// Every rule id that has a data variant.
            pub const IDS: &'static [&'static str] = &[$($($id),+),*];

            /// The data of a check of rule `id`, read from its JSON `data`.
            pub fn read(id: &str, value: serde_json::Value) -> CheckData {
                // Every variant is a JSON object (serde would also take a struct as a list).
                if !value.is_object() {
                    return CheckData::None;
                }
                match id {
                    $( $($id)|+ => serde_json::from_value(value)
                        .map(|d| CheckData::$variant(Box::new(d)))
                        .unwrap_or_default(), )*
                    _ => CheckData::None,
                }
            }
        }

        impl Serialize for CheckData {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    CheckData::None => s.serialize_unit(),
                    $( CheckData::$variant(d) => d.serialize(s), )*
                }
            }
        }

        $(
            impl From<$ty> for CheckData {
                fn from(d: $ty) -> CheckData {
                    CheckData::$variant(Box::new(d))
                }
            }
        )*
    };
}

check_data! {
    /// What the file is and how big.
    "binary.readable" => BinaryReadable(ReadableData),
    /// The binary's linkage.
    "binary.static" => BinaryStatic(StaticData),
    /// The build info's Go version and main module.
    "binary.buildinfo" => BinaryBuildinfo(BuildinfoData),
    /// The VCS stamp.
    "binary.vcs" => BinaryVcs(VcsData),
    /// Where the expected version was (not) found.
    "binary.version" => BinaryVersion(VersionData),
    /// One advisory in one binary.
    "binary.vuln" => Vuln(crate::vuln::data::VulnData),
    /// The image and the facts of its rule.
    "image.entrypoint" | "image.platform" | "image.loader" | "image.ca_certs" | "image.tzdata"
        | "image.user" | "image.size" | "image.pprof_port" => Image(crate::image::data::ImageData),
    /// The Go release and the support window it was judged against.
    "env.go_supported" => GoSupported(GoSupportedData),
    /// go.mod's go/toolchain lines and the Go in use.
    "env.go_mod_directive" => GoModDirective(GoModDirectiveData),
    /// `which go`, GOROOT and GOVERSION.
    "env.toolchain_consistent" => ToolchainConsistent(ToolchainConsistentData),
    /// Where GOROOT came from.
    "env.goroot_provenance" => GorootProvenance(GorootProvenanceData),
    /// GOPATH, GOMODCACHE and GOROOT.
    "env.gopath_overlap" => GopathOverlap(GopathOverlapData),
    /// GOPROXY.
    "env.goproxy" => Goproxy(GoproxyData),
    /// The checksum database settings.
    "env.gosumdb" => Gosumdb(GosumdbData),
    /// The private module settings.
    "env.goprivate" => Goprivate(GoprivateData),
    /// GOFLAGS as go env reports it.
    "env.goflags" => Goflags(GoflagsData),
    /// go.sum, go mod verify and tidiness.
    "env.go_sum" => GoSum(GoSumData),
    /// The go build command and what it made.
    "build.compile" => Compile(CompileData),
    /// The native binary's version run.
    "build.version" => BuildVersion(BuildVersionData),
    /// The flags that decide static linking.
    "build.static" => StaticFlags(StaticFlagsData),
    /// The rebuild's comparison.
    "build.reproducible" => Reproducible(ReproducibleData),
    /// The SBOM written beside the binary.
    "build.sbom" => Sbom(SbomData),
    /// How the service started.
    "runtime.start" => Start(StartData),
    /// The pprof endpoints and sockets.
    "runtime.pprof_registered" => Registered(RegisteredData),
    /// The sockets pprof answers on.
    "runtime.pprof_exposed" => Exposed(ExposedData),
    /// The heap against its budget.
    "runtime.heap_budget" => HeapBudget(HeapBudgetData),
    /// The load run.
    "runtime.load" => Load(LoadData),
    /// The load run's latency.
    "runtime.latency" => Latency(LatencyData),
    /// The service's own `--version` run.
    "runtime.version" => VersionRun(VersionRunData),
    /// GOMEMLIMIT and the cgroup limit.
    "runtime.memlimit" => Memlimit(MemlimitData),
    /// How the service stopped.
    "runtime.shutdown" => Shutdown(ShutdownData),
    /// The soak's goroutine series.
    "runtime.goroutine_leak" => GoroutineLeak(GoroutineLeakData),
    /// The soak's heap series.
    "runtime.heap_growth" => HeapGrowth(HeapGrowthData),
    /// The drain of in-flight requests.
    "runtime.drain" => Drain(DrainData),
    /// The mutex and block rankings.
    "runtime.contention" => Contention(ContentionData),
    /// A ranked profile (allocations or CPU).
    "runtime.allocs" | "runtime.cpu" => Profile(ProfileData),
    /// A site's share against the base profile's.
    "runtime.alloc_regression" | "runtime.cpu_regression" => Regression(RegressionData),
    /// One Go test.
    "test.go_test" => Test(TestData),
    /// A test binary that did not build.
    "test.build" => TestBuild(TestBuildData),
}

impl CheckData {
    /// True for [`CheckData::None`] (the JSON then has no `data`).
    pub fn is_none(&self) -> bool {
        matches!(self, CheckData::None)
    }

    /// The Go test a check is about (`test.go_test`): checks of different tests are
    /// different causes and different baseline entries.
    pub fn test_name(&self) -> &str {
        match self {
            CheckData::Test(t) => &t.test,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_reads_by_rule_id_and_keeps_its_json() {
        let raw = json!({"GOFLAGS": "-mod=mod -buildvcs=false"});
        let data = CheckData::read("env.goflags", raw.clone());
        let CheckData::Goflags(d) = &data else {
            panic!("{data:?}")
        };
        assert_eq!(d.goflags, "-mod=mod -buildvcs=false");
        assert_eq!(serde_json::to_value(&data).unwrap(), raw);
    }

    #[test]
    fn unknown_absent_or_misshapen_data_reads_as_none() {
        assert_eq!(
            CheckData::read("nope.rule", json!({"a": 1})),
            CheckData::None
        );
        assert_eq!(CheckData::read("env.goflags", json!(null)), CheckData::None);
        assert_eq!(
            CheckData::read("env.goflags", json!(["odd"])),
            CheckData::None
        );
        assert_eq!(
            CheckData::read("runtime.heap_growth", json!({"rounds": "not a list"})),
            CheckData::None
        );
        // A field this goready does not know is ignored; missing ones take defaults.
        let old = CheckData::read("binary.readable", json!({"future": true}));
        assert_eq!(old, ReadableData::default().into());
    }

    #[test]
    fn every_variant_id_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for id in CheckData::IDS {
            assert!(seen.insert(id), "{id} twice");
        }
    }
}
