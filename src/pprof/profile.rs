//! pprof profiles (google/pprof `proto/profile.proto`) read from the bytes: gunzip with a
//! hard cap, decode with prost, validate everything that the ranking later relies on, and
//! leave the profile as `go tool pprof` sees it after loading (`drop_frames` applied).
//!
//! Every byte is untrusted: a scrape from a service, a file from a colleague. Decoding
//! returns a [`ProfileError`] naming what is wrong; it never panics, and it refuses inputs
//! that would expand into unbounded memory (gzip bombs, floods of empty messages).
//!
//! After [`Profile::parse`] the internal tables hold *indexes* instead of ids (resolved
//! and checked once), so the ranking ([`crate::pprof::top`]) and the flame graph walk them
//! without lookups and without bounds surprises.

use std::fmt;

use prost::Message;

use super::decode::{Decoder, estimate_decoded_size, gunzip};
use super::proto;
use super::samples::Samples;

pub use crate::model::data::{DroppedSamples, ValueType};

/// The decompressed size `Profile::parse` accepts by default (512 MiB). Real allocation
/// profiles of large services are tens of MiB (a million distinct stacks: ~60 MiB); a gzip
/// bomb is stopped here, after inflating at most this much.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 512 << 20;

/// The decoded size (an estimate of the memory the tables take) `Profile::parse` accepts by
/// default (4 GiB). Protobuf encodes an empty sample in 2 bytes but it costs ~100 bytes
/// decoded; this bound keeps a small hostile file from exhausting memory.
pub const DEFAULT_MAX_DECODED: usize = 4 << 30;

/// Why bytes are not a usable profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileError {
    /// Nothing to decode.
    Empty,
    /// The gzip stream is corrupt or truncated.
    Gzip(String),
    /// Decompressing (or the raw input) went past the size cap: likely a gzip bomb.
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The bytes are not a protobuf `Profile` (wrong wire types, truncated fields).
    NotProfile(String),
    /// It decodes, but refers to things that are not there (string indexes, ids).
    Malformed(String),
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileError::Empty => f.write_str("empty profile: no bytes to decode"),
            ProfileError::Gzip(why) => write!(f, "cannot gunzip profile: {why}"),
            ProfileError::TooLarge { limit } => write!(
                f,
                "profile expands beyond {} MiB: refusing it (a gzip bomb, or a profile far \
                 larger than any real one)",
                limit >> 20
            ),
            ProfileError::NotProfile(why) => write!(
                f,
                "not a pprof protobuf profile ({why}); legacy text profiles (?debug=1) are \
                 not read — fetch the profile without ?debug"
            ),
            ProfileError::Malformed(why) => write!(f, "malformed profile: {why}"),
        }
    }
}

impl std::error::Error for ProfileError {}

pub(super) fn malformed(why: impl Into<String>) -> ProfileError {
    ProfileError::Malformed(why.into())
}

/// Limits for [`Profile::parse_with`].
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Largest decompressed (or raw) protobuf accepted, in bytes.
    pub max_decompressed: usize,
    /// Largest estimated decoded size, in bytes.
    pub max_decoded: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            max_decoded: DEFAULT_MAX_DECODED,
        }
    }
}

/// One stack frame: a function (possibly inlined) at a location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The function's name ("" when the profile has none).
    pub name: &'a str,
    /// The function's first source line (0 if unknown).
    pub start_line: i64,
    /// The mapped object's path ("" if unknown).
    pub objfile: &'a str,
    /// The location's address (0 if unknown).
    pub address: u64,
    /// True when this frame was inlined into the next (outer) frame of the same location.
    pub inlined: bool,
}

/// A decoded, validated pprof profile.
///
/// Build one with [`Profile::parse`]; rank it with [`Profile::top`]; draw it with
/// [`crate::pprof::flame`]. The decoding mechanics are in `decode`, validation in `validate`,
/// frame dropping in `drop_frames`.
#[derive(Debug, Clone)]
pub struct Profile {
    /// What each sample value means, in order.
    pub sample_types: Vec<ValueType>,
    /// The profile's preferred sample type ("" = the last one), e.g. `alloc_space` for
    /// Go's `/debug/pprof/allocs`.
    pub default_sample_type: String,
    /// What the sampling period counts.
    pub period_type: ValueType,
    /// Events between samples.
    pub period: i64,
    /// Collection time (ns since the epoch), 0 if unset.
    pub time_nanos: i64,
    /// Collection duration in ns, 0 if unset.
    pub duration_nanos: i64,
    /// Free-form comments.
    pub comments: Vec<String>,
    /// Documentation link.
    pub doc_url: String,
    /// The `drop_frames` regexp (already applied by `parse`).
    pub drop_frames: String,
    /// The `keep_frames` regexp (already applied by `parse`).
    pub keep_frames: String,
    /// What `drop_samples_with_frames` removed so far.
    pub dropped: Option<DroppedSamples>,
    pub(crate) strings: Vec<String>,
    /// Mapping messages; `filename` is a string index.
    pub(crate) mappings: Vec<proto::Mapping>,
    /// Function messages; `name`/`system_name`/`filename` are checked string indexes.
    pub(crate) functions: Vec<proto::Function>,
    /// Location messages; `mapping_id` is a mapping *index + 1* (0: none), and every
    /// `line.function_id` a function *index*.
    pub(crate) locations: Vec<proto::Location>,
    /// The samples, with location *indexes*.
    pub(crate) samples: Samples,
    /// Samples labelled `pprof::base=true` (a diff base), which `go tool pprof` alone
    /// counts towards the total.
    pub(crate) diff_base: Vec<bool>,
}

impl Profile {
    /// Decodes a profile: gzip (by its magic) or raw protobuf, with the default limits.
    pub fn parse(data: &[u8]) -> Result<Profile, ProfileError> {
        Profile::parse_with(data, &ParseOptions::default())
    }

    /// Decodes a profile with explicit limits.
    pub fn parse_with(data: &[u8], opts: &ParseOptions) -> Result<Profile, ProfileError> {
        if data.is_empty() {
            return Err(ProfileError::Empty);
        }
        // The decompressed bytes are dropped as soon as the message is decoded.
        let message = {
            let raw;
            let bytes: &[u8] = if data.starts_with(&[0x1f, 0x8b]) {
                raw = gunzip(data, opts.max_decompressed)?;
                &raw
            } else if data.len() > opts.max_decompressed {
                return Err(ProfileError::TooLarge {
                    limit: opts.max_decompressed,
                });
            } else {
                data
            };
            if bytes.is_empty() {
                return Err(ProfileError::Empty);
            }
            if estimate_decoded_size(bytes) > opts.max_decoded {
                return Err(ProfileError::TooLarge {
                    limit: opts.max_decoded,
                });
            }
            Decoder::decode(bytes)
                .map_err(|e| ProfileError::NotProfile(format!("protobuf: {e}")))?
        };
        let mut profile = Profile::from_message(message.rest, message.samples)?;
        profile.remove_uninteresting();
        Ok(profile)
    }

    /// Index of a sample type the way `go tool pprof -sample_index` resolves it: `None`
    /// picks the profile's default type (else the last type); a number is an index; a name
    /// matches a type (`inuse_` may be omitted, as pprof allows for legacy profiles).
    pub fn sample_index(&self, name: Option<&str>) -> Result<usize, String> {
        if self.sample_types.is_empty() {
            return Err("the profile has no sample types".into());
        }
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            if !self.default_sample_type.is_empty()
                && let Some(i) = self
                    .sample_types
                    .iter()
                    .position(|t| t.ty == self.default_sample_type)
            {
                return Ok(i);
            }
            return Ok(self.sample_types.len() - 1);
        };
        if let Ok(i) = name.parse::<i64>() {
            if i < 0 || i as usize >= self.sample_types.len() {
                return Err(format!(
                    "sample index {name} is outside the range [0..{}]",
                    self.sample_types.len() - 1
                ));
            }
            return Ok(i as usize);
        }
        let no_inuse = name.strip_prefix("inuse_").unwrap_or(name);
        self.sample_types
            .iter()
            .position(|t| t.ty == name || t.ty == no_inuse)
            .ok_or_else(|| {
                format!(
                    "sample index {name:?} must be one of: {}",
                    self.sample_type_names().join(", ")
                )
            })
    }

    /// The sample type names, in order (`alloc_objects`, `alloc_space`, ...).
    pub fn sample_type_names(&self) -> Vec<&str> {
        self.sample_types.iter().map(|t| t.ty.as_str()).collect()
    }

    /// The sample type called `name`, if the profile has it.
    pub fn sample_type(&self, name: &str) -> Option<&ValueType> {
        self.sample_types.iter().find(|t| t.ty == name)
    }

    /// Number of samples (distinct stacks, for Go's profiles).
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    /// The path of the main binary (`mapping[0]`), as `go tool pprof` prints it in `File:`.
    pub fn main_binary(&self) -> Option<&str> {
        self.mappings
            .first()
            .map(|m| self.str_at(m.filename))
            .filter(|s| !s.is_empty())
    }

    /// The build id of the main binary (`mapping[0]`), as pprof prints it in `Build ID:`.
    pub fn main_build_id(&self) -> Option<&str> {
        self.mappings
            .first()
            .map(|m| self.str_at(m.build_id))
            .filter(|s| !s.is_empty())
    }

    /// Sum of each sample type over all samples (wrapping, as Go's int64 does).
    pub fn totals(&self) -> Vec<i64> {
        let mut sums = vec![0i64; self.sample_types.len()];
        for (_, values) in self.samples.iter() {
            for (sum, v) in sums.iter_mut().zip(values) {
                *sum = sum.wrapping_add(*v);
            }
        }
        sums
    }

    /// Calls `f` for each sample with its value at `sample_index` and its frames, root
    /// first (inlined frames expanded: the caller before the function inlined into it).
    /// Samples with a zero value are skipped.
    pub fn for_each_stack(&self, sample_index: usize, mut f: impl FnMut(&[Frame<'_>], i64)) {
        let mut frames: Vec<Frame<'_>> = Vec::new();
        for (locs, values) in self.samples.iter() {
            let Some(&w) = values.get(sample_index) else {
                continue;
            };
            if w == 0 {
                continue;
            }
            frames.clear();
            for &l in locs.iter().rev() {
                let loc = &self.locations[l as usize];
                let objfile = self.objfile(loc);
                if loc.line.is_empty() {
                    frames.push(Frame {
                        name: "",
                        start_line: 0,
                        objfile,
                        address: loc.address,
                        inlined: false,
                    });
                }
                let last = loc.line.len().saturating_sub(1);
                for (i, ln) in loc.line.iter().enumerate().rev() {
                    let func = &self.functions[ln.function_id as usize];
                    frames.push(Frame {
                        name: self.str_at(func.name),
                        start_line: func.start_line,
                        objfile,
                        address: loc.address,
                        inlined: i != last,
                    });
                }
            }
            f(&frames, w);
        }
    }

    /// The string at a checked index ("" for an index `parse` did not check — none are).
    pub(crate) fn str_at(&self, index: i64) -> &str {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.strings.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The mapped object's path of a location ("" when it has no mapping or no path).
    pub(crate) fn objfile(&self, loc: &proto::Location) -> &str {
        match loc.mapping_id {
            0 => "",
            m => self
                .mappings
                .get(m as usize - 1)
                .map(|m| self.str_at(m.filename))
                .unwrap_or(""),
        }
    }
}
