//! The samples of a profile, stored flat: what the decoder fills, validation resolves and
//! the queries walk.

use super::proto;

/// The samples, stored flat: one allocation per table instead of three per sample (a
/// profile of a million stacks decodes into ~140 MB instead of ~450 MB).
#[derive(Debug, Clone, Default)]
pub(crate) struct Samples {
    /// `locs[loc_start[i]..loc_start[i + 1]]` are sample `i`'s locations, leaf first.
    pub(super) loc_start: Vec<u32>,
    /// Location ids while decoding (`u32::MAX` escapes to `overflow`), indexes after
    /// validation.
    pub(super) locs: Vec<u32>,
    /// `n_types` values per sample after validation.
    pub(super) values: Vec<i64>,
    /// Values per sample type.
    pub(super) n_types: usize,
    /// Decoding only: where each sample's values start (checked against the sample types).
    pub(super) value_start: Vec<u32>,
    /// Decoding only: location ids that do not fit in 32 bits, in order of appearance.
    pub(super) overflow: Vec<u64>,
    /// Decoding only: the lowest and highest string index any label uses, with the sample
    /// and the label field, to report one that is out of range.
    pub(super) label_low: Option<(i64, u32, &'static str)>,
    pub(super) label_high: Option<(i64, u32, &'static str)>,
    /// Decoding only: (sample, key, str) of labels with a string value (diff-base marks).
    pub(super) string_labels: Vec<(u32, i64, i64)>,
    /// Decoding only: more locations or values than 32-bit offsets address.
    pub(super) too_large: bool,
}

impl Samples {
    pub(super) fn new() -> Samples {
        Samples {
            loc_start: vec![0],
            value_start: vec![0],
            ..Samples::default()
        }
    }

    /// Appends one decoded sample message.
    pub(super) fn push(&mut self, s: &proto::Sample) {
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
    pub(super) fn retain(&mut self, mut keep: impl FnMut(usize, &[u32], &[i64]) -> bool) {
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
    pub(super) fn trim_leaves(&mut self, mut cut: impl FnMut(&[u32]) -> usize) {
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
