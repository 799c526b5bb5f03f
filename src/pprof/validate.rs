//! Validation of a decoded profile: every string index, id and sample checked once and
//! resolved to table indexes, so that the ranking and the flame graph walk the tables
//! without lookups and without bounds surprises.

use rustc_hash::FxHashMap;

use super::profile::{Profile, ProfileError, ValueType, malformed};
use super::proto;
use super::samples::Samples;

impl Profile {
    /// Validates a decoded message and resolves its ids to indexes.
    pub(super) fn from_message(
        mut m: proto::Profile,
        mut samples: Samples,
    ) -> Result<Profile, ProfileError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
