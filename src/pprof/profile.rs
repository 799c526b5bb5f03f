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
use std::io::Read;

use prost::Message;
use rustc_hash::FxHashMap;

/// The decompressed size `Profile::parse` accepts by default (512 MiB). Real allocation
/// profiles of large services are tens of MiB (a million distinct stacks: ~60 MiB); a gzip
/// bomb is stopped here, after inflating at most this much.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 512 << 20;

/// The decoded size (an estimate of the memory the tables take) `Profile::parse` accepts by
/// default (4 GiB). Protobuf encodes an empty sample in 2 bytes but it costs ~100 bytes
/// decoded; this bound keeps a small hostile file from exhausting memory.
pub const DEFAULT_MAX_DECODED: usize = 4 << 30;

/// The raw google/pprof `profile.proto` messages, written by hand with prost's derive
/// (field numbers from google/pprof `proto/profile.proto`; protoc is not needed).
///
/// Strings are decoded as bytes: Go writes whatever bytes a symbol has, and `go tool pprof`
/// accepts them; they are converted (lossily, if they are not UTF-8) after decoding.
pub mod proto {
    /// `perftools.profiles.Profile`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        /// What each sample value means (`alloc_space`/`bytes`, ...).
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        /// The samples.
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        /// Address ranges of binaries; `mapping[0]` is the main binary.
        #[prost(message, repeated, tag = "3")]
        pub mapping: Vec<Mapping>,
        /// Program locations referenced by samples.
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        /// Functions referenced by locations.
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        /// Every string; `string_table[0]` is "".
        #[prost(bytes = "vec", repeated, tag = "6")]
        pub string_table: Vec<Vec<u8>>,
        /// Regexp (string index) of frames to drop with everything beneath them.
        #[prost(int64, tag = "7")]
        pub drop_frames: i64,
        /// Regexp (string index) of frames kept even if `drop_frames` matches.
        #[prost(int64, tag = "8")]
        pub keep_frames: i64,
        /// Collection time, nanoseconds since the epoch.
        #[prost(int64, tag = "9")]
        pub time_nanos: i64,
        /// Collection duration.
        #[prost(int64, tag = "10")]
        pub duration_nanos: i64,
        /// What the sampling period counts.
        #[prost(message, optional, tag = "11")]
        pub period_type: Option<ValueType>,
        /// Events between samples (Go heap profiles: 512 KiB).
        #[prost(int64, tag = "12")]
        pub period: i64,
        /// Free-form comments (string indexes).
        #[prost(int64, repeated, tag = "13")]
        pub comment: Vec<i64>,
        /// The preferred sample type (string index); unset means the last one.
        #[prost(int64, tag = "14")]
        pub default_sample_type: i64,
        /// Documentation link (string index).
        #[prost(int64, tag = "15")]
        pub doc_url: i64,
    }

    /// `ValueType`: a type and a unit, both string indexes.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueType {
        /// e.g. `alloc_space`.
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        /// e.g. `bytes`.
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    /// `Sample`: a stack (leaf first) and one value per sample type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// Location ids, leaf at index 0.
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        /// One value per `Profile.sample_type`.
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
        /// Labels (Go heap profiles: `bytes` = object size).
        #[prost(message, repeated, tag = "3")]
        pub label: Vec<Label>,
    }

    /// `Label`: a key with a string or a number.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        /// String index.
        #[prost(int64, tag = "1")]
        pub key: i64,
        /// String index.
        #[prost(int64, tag = "2")]
        pub str: i64,
        /// Numeric value.
        #[prost(int64, tag = "3")]
        pub num: i64,
        /// String index of `num`'s unit.
        #[prost(int64, tag = "4")]
        pub num_unit: i64,
    }

    /// `Mapping`: a binary or library mapped into the process.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Mapping {
        /// Unique nonzero id.
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// Load address.
        #[prost(uint64, tag = "2")]
        pub memory_start: u64,
        /// End of the address range.
        #[prost(uint64, tag = "3")]
        pub memory_limit: u64,
        /// File offset of `memory_start`.
        #[prost(uint64, tag = "4")]
        pub file_offset: u64,
        /// String index of the object's path.
        #[prost(int64, tag = "5")]
        pub filename: i64,
        /// String index of the build id.
        #[prost(int64, tag = "6")]
        pub build_id: i64,
        /// Symbolization state.
        #[prost(bool, tag = "7")]
        pub has_functions: bool,
        /// Symbolization state.
        #[prost(bool, tag = "8")]
        pub has_filenames: bool,
        /// Symbolization state.
        #[prost(bool, tag = "9")]
        pub has_line_numbers: bool,
        /// Symbolization state.
        #[prost(bool, tag = "10")]
        pub has_inline_frames: bool,
    }

    /// `Location`: an address and the (inlined) functions at it.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        /// Unique nonzero id.
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// Mapping id, 0 when unknown.
        #[prost(uint64, tag = "2")]
        pub mapping_id: u64,
        /// Instruction address.
        #[prost(uint64, tag = "3")]
        pub address: u64,
        /// Innermost (inlined) function first, the caller it was inlined into last.
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
        /// Several symbols share this address (identical code folding).
        #[prost(bool, tag = "5")]
        pub is_folded: bool,
    }

    /// `Line`: a function and a line number.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Line {
        /// Function id.
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        /// Source line.
        #[prost(int64, tag = "2")]
        pub line: i64,
        /// Source column.
        #[prost(int64, tag = "3")]
        pub column: i64,
    }

    /// `Function`: names and source file, all string indexes.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        /// Unique nonzero id.
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// Human-readable name (`main.handler`).
        #[prost(int64, tag = "2")]
        pub name: i64,
        /// Name as the system knows it (mangled).
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        /// Source file.
        #[prost(int64, tag = "4")]
        pub filename: i64,
        /// First line of the function.
        #[prost(int64, tag = "5")]
        pub start_line: i64,
    }
}

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

fn malformed(why: impl Into<String>) -> ProfileError {
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

/// A sample value's type and unit, e.g. `alloc_space` in `bytes`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ValueType {
    /// `alloc_space`, `inuse_objects`, `cpu`, ...
    #[serde(rename = "type")]
    pub ty: String,
    /// `bytes`, `count`, `nanoseconds`, ...
    pub unit: String,
}

/// What [`Profile::drop_samples_with_frames`] took out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DroppedSamples {
    /// The frame prefixes asked for.
    pub frames: Vec<String>,
    /// How many samples were dropped.
    pub samples: usize,
    /// Their values summed, one per sample type (in `Profile::sample_types` order).
    pub values: Vec<i64>,
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

/// The samples, stored flat: one allocation per table instead of three per sample (a
/// profile of a million stacks decodes into ~140 MB instead of ~450 MB).
#[derive(Debug, Clone, Default)]
pub(crate) struct Samples {
    /// `locs[loc_start[i]..loc_start[i + 1]]` are sample `i`'s locations, leaf first.
    loc_start: Vec<u32>,
    /// Location ids while decoding (`u32::MAX` escapes to `overflow`), indexes after
    /// validation.
    locs: Vec<u32>,
    /// `n_types` values per sample after validation.
    values: Vec<i64>,
    /// Values per sample type.
    n_types: usize,
    /// Decoding only: where each sample's values start (checked against the sample types).
    value_start: Vec<u32>,
    /// Decoding only: location ids that do not fit in 32 bits, in order of appearance.
    overflow: Vec<u64>,
    /// Decoding only: the lowest and highest string index any label uses, with the sample
    /// and the label field, to report one that is out of range.
    label_low: Option<(i64, u32, &'static str)>,
    label_high: Option<(i64, u32, &'static str)>,
    /// Decoding only: (sample, key, str) of labels with a string value (diff-base marks).
    string_labels: Vec<(u32, i64, i64)>,
    /// Decoding only: more locations or values than 32-bit offsets address.
    too_large: bool,
}

impl Samples {
    fn new() -> Samples {
        Samples {
            loc_start: vec![0],
            value_start: vec![0],
            ..Samples::default()
        }
    }

    /// Appends one decoded sample message.
    fn push(&mut self, s: &proto::Sample) {
        let index = (self.loc_start.len() - 1) as u32;
        for &id in &s.location_id {
            if id >= u64::from(u32::MAX) {
                self.overflow.push(id);
                self.locs.push(u32::MAX);
            } else {
                self.locs.push(id as u32);
            }
        }
        self.values.extend_from_slice(&s.value);
        for l in &s.label {
            for (field, v) in [("key", l.key), ("value", l.str), ("unit", l.num_unit)] {
                if self.label_low.is_none_or(|(low, ..)| v < low) {
                    self.label_low = Some((v, index, field));
                }
                if self.label_high.is_none_or(|(high, ..)| v > high) {
                    self.label_high = Some((v, index, field));
                }
            }
            if l.str != 0 {
                self.string_labels.push((index, l.key, l.str));
            }
        }
        // Offsets are 32-bit; a profile past that is refused after decoding.
        self.too_large |=
            self.locs.len() > u32::MAX as usize || self.values.len() > u32::MAX as usize;
        self.loc_start.push(self.locs.len() as u32);
        self.value_start.push(self.values.len() as u32);
    }

    /// Number of samples.
    pub(crate) fn len(&self) -> usize {
        self.loc_start.len() - 1
    }

    /// Sample `i`'s location indexes (leaf first) and values.
    pub(crate) fn get(&self, i: usize) -> (&[u32], &[i64]) {
        let locs = &self.locs[self.loc_start[i] as usize..self.loc_start[i + 1] as usize];
        let values = &self.values[i * self.n_types..(i + 1) * self.n_types];
        (locs, values)
    }

    /// Every sample's location indexes and values, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u32], &[i64])> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Keeps the samples for which `keep(index, locations, values)` holds, in place.
    fn retain(&mut self, mut keep: impl FnMut(usize, &[u32], &[i64]) -> bool) {
        let n = self.len();
        let mut w_loc = 0usize;
        let mut w_sample = 0usize;
        for i in 0..n {
            let (a, b) = (self.loc_start[i] as usize, self.loc_start[i + 1] as usize);
            let (v0, v1) = (i * self.n_types, (i + 1) * self.n_types);
            if !keep(i, &self.locs[a..b], &self.values[v0..v1]) {
                continue;
            }
            self.locs.copy_within(a..b, w_loc);
            self.values.copy_within(v0..v1, w_sample * self.n_types);
            self.loc_start[w_sample] = w_loc as u32;
            w_loc += b - a;
            w_sample += 1;
        }
        self.loc_start[w_sample] = w_loc as u32;
        self.loc_start.truncate(w_sample + 1);
        self.locs.truncate(w_loc);
        self.values.truncate(w_sample * self.n_types);
    }
}

impl Samples {
    /// Drops the first `cut(locations)` locations (leaf side) of every sample, in place.
    fn trim_leaves(&mut self, mut cut: impl FnMut(&[u32]) -> usize) {
        let mut w = 0usize;
        for i in 0..self.len() {
            let (a, b) = (self.loc_start[i] as usize, self.loc_start[i + 1] as usize);
            let drop = cut(&self.locs[a..b]).min(b - a);
            self.loc_start[i] = w as u32;
            self.locs.copy_within(a + drop..b, w);
            w += b - a - drop;
        }
        let n = self.len();
        self.loc_start[n] = w as u32;
        self.locs.truncate(w);
    }
}

/// What prost decodes into: the derived [`proto::Profile`] for every field but the
/// samples, which go straight into [`Samples`] through one reused message instead of a
/// heap-allocated message each. Decode-only: it never encodes anything.
#[derive(Debug)]
struct Decoder {
    rest: proto::Profile,
    scratch: proto::Sample,
    samples: Samples,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            rest: proto::Profile::default(),
            scratch: proto::Sample::default(),
            samples: Samples::new(),
        }
    }
}

impl Message for Decoder {
    fn encode_raw(&self, _buf: &mut impl prost::bytes::BufMut) {}

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag == 2 {
            self.scratch.clear();
            prost::encoding::message::merge(wire_type, &mut self.scratch, buf, ctx)?;
            self.samples.push(&self.scratch);
            Ok(())
        } else {
            self.rest.merge_field(tag, wire_type, buf, ctx)
        }
    }

    fn encoded_len(&self) -> usize {
        0
    }

    fn clear(&mut self) {
        *self = Decoder::default();
    }
}

/// A decoded, validated pprof profile.
///
/// Build one with [`Profile::parse`]; rank it with [`Profile::top`]; draw it with
/// [`crate::pprof::flame`].
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

    /// Each sample's value of `sample_index`, in order.
    ///
    /// # Panics
    /// If `sample_index` is not below `sample_types.len()`.
    pub fn values_of(&self, sample_index: usize) -> impl Iterator<Item = i64> + '_ {
        assert!(sample_index < self.sample_types.len());
        self.samples.iter().map(move |(_, v)| v[sample_index])
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

    /// Removes every sample whose stack has a frame whose function name starts with one of
    /// `prefixes` — e.g. the profiler's own scrape (`runtime/pprof.`, `net/http/pprof.`),
    /// whose allocations would otherwise rank among the service's. Inlined frames count.
    ///
    /// Equivalent to `go tool pprof -ignore='^(runtime/pprof|net/http/pprof)\.'` (and,
    /// as goready reports percentages of what is left, `-relative_percentages`).
    pub fn drop_samples_with_frames(&mut self, prefixes: &[&str]) -> DroppedSamples {
        let matches: Vec<bool> = self
            .locations
            .iter()
            .map(|loc| {
                loc.line.iter().any(|ln| {
                    let name = self.str_at(self.functions[ln.function_id as usize].name);
                    prefixes.iter().any(|p| name.starts_with(p))
                })
            })
            .collect();
        let mut dropped = self.dropped.take().unwrap_or_else(|| DroppedSamples {
            frames: Vec::new(),
            samples: 0,
            values: vec![0; self.sample_types.len()],
        });
        for p in prefixes {
            if !dropped.frames.iter().any(|f| f == p) {
                dropped.frames.push((*p).to_string());
            }
        }
        let diff_base = std::mem::take(&mut self.diff_base);
        let mut keep_base = Vec::new();
        self.samples.retain(|i, locs, values| {
            let hit = locs.iter().any(|&l| matches[l as usize]);
            if hit {
                dropped.samples += 1;
                for (sum, v) in dropped.values.iter_mut().zip(values) {
                    *sum = sum.wrapping_add(*v);
                }
            } else if !diff_base.is_empty() {
                keep_base.push(diff_base[i]);
            }
            !hit
        });
        self.diff_base = keep_base;
        self.dropped = Some(dropped.clone());
        dropped
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

    /// Validates a decoded message and resolves its ids to indexes.
    fn from_message(mut m: proto::Profile, mut samples: Samples) -> Result<Profile, ProfileError> {
        // Strings first: every index below is checked against this table.
        if m.string_table.is_empty() {
            return Err(malformed(
                "the string table is empty (string_table[0] must be \"\")",
            ));
        }
        if !m.string_table[0].is_empty() {
            return Err(malformed("string_table[0] is not the empty string"));
        }
        let strings: Vec<String> = std::mem::take(&mut m.string_table)
            .into_iter()
            .map(|b| match String::from_utf8(b) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            })
            .collect();
        let n_strings = strings.len();
        // `what` names the field, built only when the index is bad.
        let check = |what: &dyn Fn() -> String, index: i64| -> Result<(), ProfileError> {
            if index < 0 || index as u64 >= n_strings as u64 {
                return Err(malformed(format!(
                    "{} refers to string {index}, but the string table has {n_strings} \
                     entries",
                    what()
                )));
            }
            Ok(())
        };
        let string = |index: i64| strings[index as usize].clone();

        // Sample types.
        for (i, t) in m.sample_type.iter().enumerate() {
            check(&|| format!("sample_type[{i}].type"), t.r#type)?;
            check(&|| format!("sample_type[{i}].unit"), t.unit)?;
        }
        let n_types = m.sample_type.len();
        let period_type = m.period_type.clone().unwrap_or_default();
        check(&|| "period_type.type".to_string(), period_type.r#type)?;
        check(&|| "period_type.unit".to_string(), period_type.unit)?;
        for (what, index) in [
            ("drop_frames", m.drop_frames),
            ("keep_frames", m.keep_frames),
            ("default_sample_type", m.default_sample_type),
            ("doc_url", m.doc_url),
        ] {
            check(&|| what.to_string(), index)?;
        }
        for (i, &c) in m.comment.iter().enumerate() {
            check(&|| format!("comment[{i}]"), c)?;
        }

        // Mappings: unique nonzero ids.
        let mut mapping_ids = IdIndex::new(m.mapping.len());
        for (i, map) in m.mapping.iter().enumerate() {
            if map.id == 0 {
                return Err(malformed(format!("mapping[{i}] has the reserved id 0")));
            }
            if !mapping_ids.insert(map.id, i) {
                return Err(malformed(format!("two mappings have id {}", map.id)));
            }
            check(&|| format!("mapping {}: filename", map.id), map.filename)?;
            check(&|| format!("mapping {}: build_id", map.id), map.build_id)?;
        }

        // Functions: unique nonzero ids, names in range.
        let mut function_ids = IdIndex::new(m.function.len());
        for (i, func) in m.function.iter().enumerate() {
            if func.id == 0 {
                return Err(malformed(format!("function[{i}] has the reserved id 0")));
            }
            if !function_ids.insert(func.id, i) {
                return Err(malformed(format!("two functions have id {}", func.id)));
            }
            check(&|| format!("function {}: name", func.id), func.name)?;
            check(
                &|| format!("function {}: system_name", func.id),
                func.system_name,
            )?;
            check(&|| format!("function {}: filename", func.id), func.filename)?;
        }

        // Locations: unique nonzero ids; lines must name a function; an unknown mapping id
        // means "no mapping", as in `go tool pprof`.
        let mut location_ids = IdIndex::new(m.location.len());
        for (i, loc) in m.location.iter_mut().enumerate() {
            if loc.id == 0 {
                return Err(malformed(format!("location[{i}] has the reserved id 0")));
            }
            if !location_ids.insert(loc.id, i) {
                return Err(malformed(format!("two locations have id {}", loc.id)));
            }
            loc.mapping_id = match loc.mapping_id {
                0 => 0,
                id => mapping_ids.get(id).map(|m| m as u64 + 1).unwrap_or(0),
            };
            for ln in &mut loc.line {
                let Some(f) = function_ids
                    .get(ln.function_id)
                    .filter(|_| ln.function_id != 0)
                else {
                    return Err(malformed(format!(
                        "location {} has a line with function id {}, which is not in the \
                         function table",
                        loc.id, ln.function_id
                    )));
                };
                ln.function_id = f as u64;
            }
        }

        // Samples: one value per type, every location resolvable, label strings in range.
        if samples.too_large {
            return Err(malformed("more than 2^32 sample locations or values"));
        }
        let n_samples = samples.len();
        if n_types == 0 && n_samples > 0 {
            return Err(malformed(format!(
                "{n_samples} samples but no sample types"
            )));
        }
        for i in 0..n_samples {
            let count = (samples.value_start[i + 1] - samples.value_start[i]) as usize;
            if count != n_types {
                return Err(malformed(format!(
                    "sample {i} has {count} values but the profile has {n_types} sample types"
                )));
            }
        }
        samples.n_types = n_types;
        samples.value_start = Vec::new();
        let overflow = std::mem::take(&mut samples.overflow);
        let mut overflow = overflow.into_iter();
        for i in 0..n_samples {
            let (a, b) = (
                samples.loc_start[i] as usize,
                samples.loc_start[i + 1] as usize,
            );
            for slot in &mut samples.locs[a..b] {
                let id = match *slot {
                    u32::MAX => overflow.next().unwrap_or(u64::MAX),
                    small => u64::from(small),
                };
                let Some(idx) = location_ids.get(id) else {
                    return Err(malformed(format!(
                        "sample {i} refers to location id {id}, which is not in the location \
                         table"
                    )));
                };
                *slot = idx as u32;
            }
        }
        for (v, sample, field) in [samples.label_low, samples.label_high]
            .into_iter()
            .flatten()
        {
            check(&|| format!("sample {sample}: label {field}"), v)?;
        }
        let base_key = strings.iter().position(|s| s == "pprof::base");
        let true_str = strings.iter().position(|s| s == "true");
        let mut diff_base = Vec::new();
        for &(sample, key, value) in &samples.string_labels {
            if base_key == Some(key as usize) && true_str == Some(value as usize) {
                if diff_base.is_empty() {
                    diff_base = vec![false; n_samples];
                }
                diff_base[sample as usize] = true;
            }
        }
        samples.string_labels = Vec::new();

        let value_type = |t: &proto::ValueType| ValueType {
            ty: string(t.r#type),
            unit: string(t.unit),
        };
        Ok(Profile {
            sample_types: m.sample_type.iter().map(value_type).collect(),
            default_sample_type: string(m.default_sample_type),
            period_type: value_type(&period_type),
            period: m.period,
            time_nanos: m.time_nanos,
            duration_nanos: m.duration_nanos,
            comments: m.comment.iter().map(|&c| string(c)).collect(),
            doc_url: string(m.doc_url),
            drop_frames: string(m.drop_frames),
            keep_frames: string(m.keep_frames),
            dropped: None,
            mappings: m.mapping,
            functions: m.function,
            locations: m.location,
            samples,
            diff_base,
            strings,
        })
    }

    /// Applies the profile's own `drop_frames`/`keep_frames` the way `go tool pprof` does on
    /// loading (`Profile.RemoveUninteresting`): frames matching `drop_frames` (and not
    /// `keep_frames`) are cut from each stack together with everything they called. A regexp
    /// that does not compile is ignored, as pprof ignores it.
    fn remove_uninteresting(&mut self) {
        if self.drop_frames.is_empty() {
            return;
        }
        let Ok(drop) = regex::Regex::new(&format!("^(?:{})$", self.drop_frames)) else {
            return;
        };
        let keep = if self.keep_frames.is_empty() {
            None
        } else {
            match regex::Regex::new(&format!("^(?:{})$", self.keep_frames)) {
                Ok(k) => Some(k),
                Err(_) => return,
            }
        };
        let mut cache: FxHashMap<i64, bool> = FxHashMap::default();
        let mut prune_here = |name_index: i64, strings: &[String]| -> bool {
            *cache.entry(name_index).or_insert_with(|| {
                let name = strings
                    .get(name_index as usize)
                    .map(String::as_str)
                    .unwrap_or("");
                let simple = simplify_func(name);
                drop.is_match(simple) && !keep.as_ref().is_some_and(|k| k.is_match(simple))
            })
        };
        // Per location: prune it entirely, or only what lies beneath it.
        let mut prune = vec![false; self.locations.len()];
        let mut prune_beneath = vec![false; self.locations.len()];
        for (li, loc) in self.locations.iter_mut().enumerate() {
            let mut hit = None;
            for i in (0..loc.line.len()).rev() {
                let func = &self.functions[loc.line[i].function_id as usize];
                if func.name != 0
                    && !self.strings[func.name as usize].is_empty()
                    && prune_here(func.name, &self.strings)
                {
                    hit = Some(i);
                    break;
                }
            }
            if let Some(i) = hit {
                prune_beneath[li] = true;
                if i == loc.line.len() - 1 {
                    prune[li] = true;
                } else {
                    loc.line.drain(..=i);
                }
            }
        }
        self.samples.trim_leaves(|locs| {
            // From the root towards the leaf; frames before the first "user" frame stay, so
            // that a stack is never pruned away entirely.
            let mut found_user = false;
            for i in (0..locs.len()).rev() {
                let l = locs[i] as usize;
                if !prune[l] && !prune_beneath[l] {
                    found_user = true;
                    continue;
                }
                if !found_user {
                    continue;
                }
                return if prune[l] { i + 1 } else { i };
            }
            0
        });
    }
}

/// google/pprof's `simplifyFunc`: drops a leading `.` (PPC ELF v1) and an argument list
/// (from the first `(` that does not start a reserved name such as `operator()`).
fn simplify_func(name: &str) -> &str {
    let name = name.strip_prefix('.').unwrap_or(name);
    const RESERVED: [&str; 2] = ["(anonymous namespace)", "operator()"];
    let mut rest = name;
    while let Some(at) = rest.find(['(', 'o']) {
        let tail = &rest[at..];
        if let Some(r) = RESERVED.iter().find(|r| tail.starts_with(**r)) {
            rest = &tail[r.len()..];
            continue;
        }
        if tail.starts_with('(') {
            return &name[..name.len() - tail.len()];
        }
        // An `o` that does not start `operator()`: go on after it (ASCII, one byte).
        rest = &tail[1..];
    }
    name
}

/// Maps profile ids to table indexes: a dense vector for the usual 1..=n ids, a hash map
/// for the rest (as google/pprof does), so lookups stay O(1) for hostile ids too.
struct IdIndex {
    dense: Vec<u32>,
    sparse: FxHashMap<u64, u32>,
}

impl IdIndex {
    fn new(n: usize) -> IdIndex {
        IdIndex {
            dense: vec![u32::MAX; n + 1],
            sparse: FxHashMap::default(),
        }
    }

    /// Records `id → index`; false if the id was already taken.
    fn insert(&mut self, id: u64, index: usize) -> bool {
        let index = index as u32;
        if let Some(slot) = usize::try_from(id).ok().and_then(|i| self.dense.get_mut(i)) {
            if *slot != u32::MAX {
                return false;
            }
            *slot = index;
            return true;
        }
        match self.sparse.entry(id) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(index);
                true
            }
        }
    }

    fn get(&self, id: u64) -> Option<usize> {
        match usize::try_from(id).ok().and_then(|i| self.dense.get(i)) {
            Some(&u32::MAX) => None,
            Some(&i) => Some(i as usize),
            None => self.sparse.get(&id).map(|&i| i as usize),
        }
    }
}

/// Gunzips (all members, as Go's gzip reader does) and stops at `limit` bytes.
fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>, ProfileError> {
    // The trailer's ISIZE (size mod 2^32 of the last member) is a good first guess for a
    // normal profile; never trusted beyond the cap.
    let hint = data
        .len()
        .checked_sub(4)
        .and_then(|at| data.get(at..))
        .map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize)
        .unwrap_or(0)
        .min(limit)
        .min(data.len().saturating_mul(64));
    let mut out = Vec::with_capacity(hint.saturating_add(1));
    let decoder = flate2::read::MultiGzDecoder::new(data);
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ProfileError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(ProfileError::TooLarge { limit });
    }
    Ok(out)
}

/// A cheap pass over the top-level fields (no allocation) estimating the memory decoding
/// takes, so that a small file full of empty messages cannot exhaust memory: an empty
/// location costs 2 bytes on the wire and ~60 bytes decoded, a packed value 1 byte and 8.
/// Malformed framing is left for prost to report.
fn estimate_decoded_size(mut data: &[u8]) -> usize {
    let mut estimate = 0usize;
    while !data.is_empty() {
        let Some((key, rest)) = varint(data) else {
            break;
        };
        data = rest;
        let field = key >> 3;
        let len = match key & 7 {
            0 => match varint(data) {
                Some((_, rest)) => {
                    data = rest;
                    // An unpacked comment index.
                    estimate = estimate.saturating_add(if field == 13 { 8 } else { 0 });
                    continue;
                }
                None => break,
            },
            1 => 8,
            5 => 4,
            2 => match varint(data) {
                Some((len, rest)) => {
                    data = rest;
                    len
                }
                None => break,
            },
            _ => break,
        };
        let Some(len) = usize::try_from(len).ok().filter(|&l| l <= data.len()) else {
            break;
        };
        data = &data[len..];
        estimate = estimate.saturating_add(match field {
            1 | 11 => 16 + len.saturating_mul(8),
            2 => 16 + len.saturating_mul(8),
            4 => 64 + len.saturating_mul(16),
            3 => 96,
            5 => 48,
            6 => 24 + len,
            13 => len.saturating_mul(8),
            _ => 0,
        });
    }
    estimate
}

fn varint(data: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in data.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &data[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplify_func_drops_arguments_but_not_reserved_names() {
        assert_eq!(simplify_func("foo(int)"), "foo");
        assert_eq!(simplify_func(".bar"), "bar");
        assert_eq!(
            simplify_func("(anonymous namespace)::f(int)"),
            "(anonymous namespace)::f"
        );
        assert_eq!(simplify_func("A::operator()(x)"), "A::operator()");
        assert_eq!(simplify_func("main.(*T).M"), "main.");
        // Multi-byte characters before the argument list (found by cargo-fuzz).
        assert_eq!(simplify_func("fé\u{fffd}o(x)"), "fé\u{fffd}o");
        assert_eq!(simplify_func("\u{fffd}\u{fffd}"), "\u{fffd}\u{fffd}");
        assert_eq!(simplify_func("operator()"), "operator()");
        assert_eq!(simplify_func("a::operator()(int)"), "a::operator()");
    }

    #[test]
    fn id_index_handles_dense_and_sparse_ids() {
        let mut ids = IdIndex::new(2);
        assert!(ids.insert(1, 0));
        assert!(ids.insert(u64::MAX, 1));
        assert!(!ids.insert(1, 5));
        assert!(!ids.insert(u64::MAX, 5));
        assert_eq!(ids.get(1), Some(0));
        assert_eq!(ids.get(u64::MAX), Some(1));
        assert_eq!(ids.get(2), None);
        assert_eq!(ids.get(7), None);
    }
}
