//! Flame graphs of a profile: folded stacks (`root;caller;leaf value`, Brendan Gregg's
//! format) built from the samples, drawn by the `inferno` crate into a standalone SVG.

use std::io::Write;

use rustc_hash::FxHashMap;

use super::profile::{Frame, Profile};

/// A frame's name in a folded stack: the function, or the object file / `<unknown>` for
/// frames without a name (as `go tool pprof` names them). Inlined frames get inferno's
/// `_[i]` suffix, which it colours apart. `;` and line breaks, which would break the
/// format, are replaced.
fn frame_name(frame: &Frame<'_>, out: &mut String) {
    let start = out.len();
    if !frame.name.is_empty() {
        out.push_str(frame.name);
    } else if !frame.objfile.is_empty() {
        let base = frame.objfile.trim_end_matches('/');
        out.push('[');
        out.push_str(base.rsplit('/').next().unwrap_or(base));
        out.push(']');
    } else {
        out.push_str("<unknown>");
    }
    if out[start..].contains([';', '\n', '\r']) {
        let clean = out[start..].replace(';', ":").replace(['\n', '\r'], " ");
        out.truncate(start);
        out.push_str(&clean);
    }
    if frame.inlined {
        out.push_str("_[i]");
    }
}

/// The profile's samples of one sample type as folded stacks, identical stacks merged,
/// sorted. Samples with values ≤ 0 are left out (a flame graph cannot draw them).
pub fn folded_stacks(profile: &Profile, sample_index: usize) -> Vec<(String, u64)> {
    let mut stacks: FxHashMap<String, u64> = FxHashMap::default();
    let mut line = String::new();
    profile.for_each_stack(sample_index, |frames, value| {
        if value <= 0 {
            return;
        }
        line.clear();
        for (i, f) in frames.iter().enumerate() {
            if i > 0 {
                line.push(';');
            }
            frame_name(f, &mut line);
        }
        if line.is_empty() {
            return;
        }
        let slot = stacks.entry(line.clone()).or_default();
        *slot = slot.saturating_add(value as u64);
    });
    let mut out: Vec<(String, u64)> = stacks.into_iter().collect();
    out.sort_unstable();
    out
}

/// Draws a flame graph SVG of one sample type to `writer`; `title` heads the image. A
/// profile without positive values for that type is an error (there is nothing to draw).
pub fn write_svg(
    profile: &Profile,
    sample_index: usize,
    title: &str,
    writer: impl Write,
) -> anyhow::Result<()> {
    let stacks = folded_stacks(profile, sample_index);
    let lines: Vec<String> = stacks.iter().map(|(s, v)| format!("{s} {v}")).collect();
    let sample_type = &profile.sample_types[sample_index];
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_string();
    opts.count_name = match sample_type.unit.as_str() {
        "count" => "objects".to_string(),
        "" => "samples".to_string(),
        unit => unit.to_string(),
    };
    opts.subtitle = Some(format!("{} ({})", sample_type.ty, opts.count_name));
    opts.deterministic = true;
    if lines.is_empty() {
        anyhow::bail!(
            "no samples with a positive {} value: nothing to draw",
            sample_type.ty
        );
    }
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), writer)?;
    Ok(())
}
