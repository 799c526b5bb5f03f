//! Dropping frames and samples: the profile's own `drop_frames`/`keep_frames`, applied on
//! loading as `go tool pprof` does, and goready's removal of samples with given frames
//! (the profiler's own scrape).

use rustc_hash::FxHashMap;

use super::profile::{DroppedSamples, Profile};

impl Profile {
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

    /// Applies the profile's own `drop_frames`/`keep_frames` the way `go tool pprof` does on
    /// loading (`Profile.RemoveUninteresting`): frames matching `drop_frames` (and not
    /// `keep_frames`) are cut from each stack together with everything they called. A regexp
    /// that does not compile is ignored, as pprof ignores it.
    pub(super) fn remove_uninteresting(&mut self) {
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
}
