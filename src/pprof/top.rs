//! The `go tool pprof -top` ranking, computed the way google/pprof's `internal/graph` and
//! `internal/report` compute it (read from their sources, reimplemented):
//!
//! - Nodes are functions (pprof's default `functions` granularity): addresses, files and
//!   line numbers are dropped, so every location of a function is one node. A location
//!   with several lines is inlining: each line is a node, `line[0]` the innermost.
//!   Functions without a name, and locations without lines, become one node per mapped
//!   object (`[binary]`, or `<unknown>` with no mapping).
//! - **flat** of a node: the values of the samples whose leaf (`location[0]`, `line[0]`)
//!   is that node. **cum**: the values of the samples with the node anywhere on the
//!   stack, counted once per sample however often it recurs.
//! - Nodes whose |cum| is below `nodefraction` (0.005) of the summed flat values are
//!   dropped (`Dropped N nodes`); the rest are sorted by |flat| (descending), then by name,
//!   then by |cum|.
//! - Percentages are of the sum of |value| over all samples.
//! - A node reached only through inlined calls is `(inline)`, through both
//!   `(partial-inline)`; like pprof, only call edges of at least `edgefraction` (0.001)
//!   count.

use std::fmt::Write;

use rustc_hash::{FxHashMap, FxHashSet};

use super::profile::Profile;
use super::units;

pub use crate::model::data::{Inline, Top, TopRow};

/// Knobs of the ranking; the defaults are `go tool pprof -top`'s.
#[derive(Debug, Clone, Copy)]
pub struct TopOptions {
    /// Nodes with |cum| below this fraction of the total are dropped (`-nodefraction`).
    pub node_fraction: f64,
    /// Call edges below this fraction do not count for the inline marks (`-edgefraction`).
    pub edge_fraction: f64,
    /// Keep at most this many rows, 0 for all (`-nodecount`).
    pub node_count: usize,
}

impl Default for TopOptions {
    fn default() -> Self {
        TopOptions {
            node_fraction: 0.005,
            edge_fraction: 0.001,
            node_count: 0,
        }
    }
}

impl Inline {
    /// pprof's label: `(inline)` or `(partial-inline)`.
    pub fn label(self) -> &'static str {
        match self {
            Inline::Inline => "(inline)",
            Inline::PartialInline => "(partial-inline)",
        }
    }
}

/// A graph node's identity, as pprof's `NodeInfo` at function granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum NodeKey<'a> {
    Named(&'a str),
    /// No function name: pprof keeps the object file and the start line.
    Anonymous {
        start_line: i64,
        objfile: &'a str,
    },
}

impl NodeKey<'_> {
    /// pprof's `PrintableName`.
    fn printable(&self) -> String {
        match *self {
            NodeKey::Named(name) => name.to_string(),
            NodeKey::Anonymous { objfile, .. } if !objfile.is_empty() => {
                format!("[{}]", go_base(objfile))
            }
            NodeKey::Anonymous { .. } => "<unknown>".to_string(),
        }
    }

    /// `fmt.Sprint(NodeInfo)`, pprof's last tie-breaker between equal printable names.
    fn sprint(&self) -> String {
        let (name, start_line, objfile) = match *self {
            NodeKey::Named(name) => (name, 0, ""),
            NodeKey::Anonymous {
                start_line,
                objfile,
            } => ("", start_line, objfile),
        };
        format!("{{{name}  0  {start_line} 0 0 {objfile}}}")
    }
}

/// Go's `filepath.Base` on a slash-separated path.
fn go_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// The function-granularity graph of a profile: its nodes, and for each location the
/// nodes of its lines (innermost first).
pub(crate) struct Graph<'p> {
    keys: Vec<NodeKey<'p>>,
    loc_start: Vec<u32>,
    loc_nodes: Vec<u32>,
    /// The node appears as an inlined (not outermost) line somewhere.
    inlined_somewhere: Vec<bool>,
}

impl<'p> Graph<'p> {
    pub(crate) fn new(p: &'p Profile) -> Graph<'p> {
        let mut index: FxHashMap<NodeKey<'p>, u32> = FxHashMap::default();
        let mut keys = Vec::new();
        let mut inlined_somewhere = Vec::new();
        let mut loc_start = Vec::with_capacity(p.locations.len() + 1);
        let mut loc_nodes = Vec::with_capacity(p.locations.len());
        let mut node = |key: NodeKey<'p>, keys: &mut Vec<NodeKey<'p>>, inl: &mut Vec<bool>| {
            *index.entry(key).or_insert_with(|| {
                keys.push(key);
                inl.push(false);
                (keys.len() - 1) as u32
            })
        };
        for loc in &p.locations {
            loc_start.push(loc_nodes.len() as u32);
            let objfile = p.objfile(loc);
            if loc.line.is_empty() {
                let key = NodeKey::Anonymous {
                    start_line: 0,
                    objfile,
                };
                loc_nodes.push(node(key, &mut keys, &mut inlined_somewhere));
                continue;
            }
            let last = loc.line.len() - 1;
            for (i, ln) in loc.line.iter().enumerate() {
                let func = &p.functions[ln.function_id as usize];
                let name = p.str_at(func.name);
                let key = if name.is_empty() {
                    NodeKey::Anonymous {
                        start_line: func.start_line,
                        objfile,
                    }
                } else {
                    NodeKey::Named(name)
                };
                let n = node(key, &mut keys, &mut inlined_somewhere);
                if i != last {
                    inlined_somewhere[n as usize] = true;
                }
                loc_nodes.push(n);
            }
        }
        loc_start.push(loc_nodes.len() as u32);
        Graph {
            keys,
            loc_start,
            loc_nodes,
            inlined_somewhere,
        }
    }

    fn nodes_of(&self, loc: u32) -> &[u32] {
        let l = loc as usize;
        &self.loc_nodes[self.loc_start[l] as usize..self.loc_start[l + 1] as usize]
    }

    /// flat and cum of every node for one sample type.
    pub(crate) fn values(&self, p: &Profile, sample_index: usize) -> (Vec<i64>, Vec<i64>) {
        let n = self.keys.len();
        let mut flat = vec![0i64; n];
        let mut cum = vec![0i64; n];
        // The sample that last added to a node's cum: counts recursion once.
        let mut stamp = vec![usize::MAX; n];
        for (si, (locs, values)) in p.samples.iter().enumerate() {
            let w = values[sample_index];
            if w == 0 {
                continue;
            }
            for &l in locs.iter().rev() {
                for &node in self.nodes_of(l).iter().rev() {
                    let node = node as usize;
                    if stamp[node] != si {
                        stamp[node] = si;
                        cum[node] = cum[node].wrapping_add(w);
                    }
                }
            }
            if let Some(&leaf_loc) = locs.first()
                && let Some(&leaf) = self.nodes_of(leaf_loc).first()
            {
                flat[leaf as usize] = flat[leaf as usize].wrapping_add(w);
            }
        }
        (flat, cum)
    }

    pub(crate) fn name(&self, node: usize) -> String {
        self.keys[node].printable()
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The inline marks of the `shown` nodes, from the call edges among them (edges
    /// between shown nodes, skipping hidden ones, as pprof rebuilds its graph).
    fn inline_marks(
        &self,
        p: &Profile,
        sample_index: usize,
        shown: &[usize],
        edge_cutoff: i64,
    ) -> Vec<Option<Inline>> {
        let mut in_shown = vec![false; self.keys.len()];
        for &n in shown {
            in_shown[n] = true;
        }
        // Only edges into nodes that are inlined somewhere can carry a mark.
        let tracked = |n: usize| in_shown[n] && self.inlined_somewhere[n];
        if !shown.iter().any(|&n| tracked(n)) {
            return vec![None; shown.len()];
        }
        // (caller, callee) → (weight, every traversal inlined)
        let mut edges: FxHashMap<(u32, u32), (i64, bool)> = FxHashMap::default();
        let mut seen: FxHashSet<(u32, u32)> = FxHashSet::default();
        for (locs, values) in p.samples.iter() {
            let w = values[sample_index];
            if w == 0 {
                continue;
            }
            seen.clear();
            let mut parent: Option<u32> = None;
            for &l in locs.iter().rev() {
                let nodes = self.nodes_of(l);
                let last = nodes.len() - 1;
                for (ni, &node) in nodes.iter().enumerate().rev() {
                    if !in_shown[node as usize] {
                        continue;
                    }
                    if let Some(par) = parent
                        && par != node
                        && tracked(node as usize)
                        && seen.insert((par, node))
                    {
                        let e = edges.entry((par, node)).or_insert((0, true));
                        e.0 = e.0.wrapping_add(w);
                        e.1 &= ni != last;
                    }
                    parent = Some(node);
                }
            }
        }
        let mut marks: FxHashMap<u32, (bool, bool)> = FxHashMap::default();
        for (&(_, callee), &(weight, inline)) in &edges {
            if weight.saturating_abs() < edge_cutoff {
                continue;
            }
            let m = marks.entry(callee).or_default();
            if inline {
                m.0 = true;
            } else {
                m.1 = true;
            }
        }
        shown
            .iter()
            .map(|&n| match marks.get(&(n as u32)) {
                Some((true, true)) => Some(Inline::PartialInline),
                Some((true, false)) => Some(Inline::Inline),
                _ => None,
            })
            .collect()
    }
}

/// pprof's `computeTotal`: the sum of |value| over all samples — only over the diff base
/// when the profile carries one (`pprof::base` labels).
pub(crate) fn report_total(p: &Profile, sample_index: usize) -> i64 {
    let mut total = 0i64;
    let mut base_total = 0i64;
    for (i, (_, values)) in p.samples.iter().enumerate() {
        let v = values[sample_index].wrapping_abs();
        total = total.wrapping_add(v);
        if p.diff_base.get(i).copied().unwrap_or(false) {
            base_total = base_total.wrapping_add(v);
        }
    }
    if base_total > 0 { base_total } else { total }
}

impl Profile {
    /// The `go tool pprof -top -sample_index=…` table for `sample_index` (see
    /// [`Profile::sample_index`]), at most `n` rows (0 = all rows past the cut).
    ///
    /// # Panics
    /// If `sample_index` is not below `sample_types.len()`.
    pub fn top(&self, sample_index: usize, n: usize) -> Top {
        self.top_with(
            sample_index,
            &TopOptions {
                node_count: n,
                ..TopOptions::default()
            },
        )
    }

    /// [`Profile::top`] with explicit pprof options.
    ///
    /// # Panics
    /// If `sample_index` is not below `sample_types.len()`.
    pub fn top_with(&self, sample_index: usize, opts: &TopOptions) -> Top {
        assert!(
            sample_index < self.sample_types.len(),
            "sample index {sample_index} out of range"
        );
        let graph = Graph::new(self);
        let (flat, cum) = graph.values(self, sample_index);
        self.top_from(&graph, &flat, &cum, sample_index, opts)
    }

    /// The ranking from already computed node values.
    pub(crate) fn top_from(
        &self,
        graph: &Graph<'_>,
        flat: &[i64],
        cum: &[i64],
        sample_index: usize,
        opts: &TopOptions,
    ) -> Top {
        // The graph holds the nodes with any value; the cut is a fraction of their flat sum.
        let in_graph: Vec<usize> = (0..graph.len())
            .filter(|&i| flat[i] != 0 || cum[i] != 0)
            .collect();
        let graph_total = in_graph
            .iter()
            .fold(0i64, |acc, &i| acc.wrapping_add(flat[i]));
        let node_cutoff = ((graph_total as f64 * opts.node_fraction) as i64).saturating_abs();
        let edge_cutoff = ((graph_total as f64 * opts.edge_fraction) as i64).saturating_abs();
        let mut kept: Vec<usize> = if node_cutoff > 0 {
            in_graph
                .iter()
                .copied()
                .filter(|&i| cum[i].saturating_abs() >= node_cutoff)
                .collect()
        } else {
            in_graph.clone()
        };
        let dropped_nodes = in_graph.len() - kept.len();
        let nodes = kept.len();

        let names: Vec<String> = kept.iter().map(|&i| graph.name(i)).collect();
        let mut order: Vec<usize> = (0..kept.len()).collect();
        order.sort_by(|&a, &b| {
            let (na, nb) = (kept[a], kept[b]);
            flat[nb]
                .saturating_abs()
                .cmp(&flat[na].saturating_abs())
                .then_with(|| names[a].cmp(&names[b]))
                .then_with(|| cum[nb].saturating_abs().cmp(&cum[na].saturating_abs()))
                .then_with(|| graph.keys[na].sprint().cmp(&graph.keys[nb].sprint()))
        });
        if opts.node_count > 0 {
            order.truncate(opts.node_count);
        }
        let sorted: Vec<usize> = order.iter().map(|&o| kept[o]).collect();
        let sorted_names: Vec<String> = order.iter().map(|&o| names[o].clone()).collect();
        kept.clear();

        let total = report_total(self, sample_index);
        let marks = graph.inline_marks(self, sample_index, &sorted, edge_cutoff);
        let pct = |v: i64| {
            if total == 0 {
                0.0
            } else {
                v as f64 / total as f64 * 100.0
            }
        };
        let mut running = 0i64;
        let rows: Vec<TopRow> = sorted
            .iter()
            .zip(sorted_names)
            .zip(marks)
            .map(|((&n, function), inline)| {
                running = running.wrapping_add(flat[n]);
                TopRow {
                    function,
                    flat: flat[n],
                    flat_pct: pct(flat[n]),
                    sum_pct: pct(running),
                    cum: cum[n],
                    cum_pct: pct(cum[n]),
                    inline,
                }
            })
            .collect();

        // pprof's `-unit=minimum`: from the smallest nonzero |flat| (else |cum|) shown.
        let mut min_value = 0i64;
        for r in &rows {
            let mut v = r.flat.saturating_abs();
            if v == 0 {
                v = r.cum.saturating_abs();
            }
            if v > 0 && (min_value == 0 || v < min_value) {
                min_value = v;
            }
        }
        let sample_type = self.sample_types[sample_index].clone();
        let output_unit = if rows.is_empty() {
            sample_type.unit.clone()
        } else {
            units::minimum_unit(min_value, total, &sample_type.unit)
        };
        Top {
            shown: running,
            sample_type,
            sample_index,
            total,
            nodes,
            dropped_nodes,
            node_cutoff,
            output_unit,
            left_out: self.dropped.clone(),
            rows,
            node_fraction: opts.node_fraction,
            node_count: opts.node_count,
        }
    }
}

impl Top {
    /// A value in the table's unit, as pprof prints it (`2563.35kB`).
    pub fn format_value(&self, v: i64) -> String {
        units::scaled_label(v, &self.sample_type.unit, &self.output_unit)
    }

    /// The lines pprof prints above the table (`Type:`, `Showing nodes accounting for …`,
    /// `Dropped N nodes …`, `Showing top N nodes out of M`).
    pub fn header(&self) -> Vec<String> {
        let mut lines = vec![format!("Type: {}", self.sample_type.ty)];
        lines.push(format!(
            "Showing nodes accounting for {}, {} of {} total",
            self.format_value(self.shown),
            units::percentage(self.shown, self.total).trim(),
            self.format_value(self.total)
        ));
        if self.total != 0 {
            if self.dropped_nodes > 0 {
                let shown_cut = ((self.total as f64 * self.node_fraction) as i64).saturating_abs();
                lines.push(format!(
                    "Dropped {} node{} (cum <= {})",
                    self.dropped_nodes,
                    if self.dropped_nodes > 1 { "s" } else { "" },
                    self.format_value(shown_cut)
                ));
            }
            if self.node_count > 0 && self.node_count < self.nodes {
                lines.push(format!(
                    "Showing top {} nodes out of {}",
                    self.node_count, self.nodes
                ));
            }
        }
        lines
    }

    /// The table as `go tool pprof -top` prints it (header line, then one line per row).
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>10} {:>5}% {:>5}% {:>10} {:>5}%",
            "flat", "flat", "sum", "cum", "cum"
        );
        let mut running = 0i64;
        for r in &self.rows {
            running = running.wrapping_add(r.flat);
            let inline = r
                .inline
                .map(|i| format!(" {}", i.label()))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{:>10} {} {} {:>10} {}  {}{}",
                self.format_value(r.flat),
                units::percentage(r.flat, self.total),
                units::percentage(running, self.total),
                self.format_value(r.cum),
                units::percentage(r.cum, self.total),
                r.function,
                inline
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_base_matches_filepath_base() {
        assert_eq!(go_base("/usr/bin/svc"), "svc");
        assert_eq!(go_base("svc"), "svc");
        assert_eq!(go_base("/a/b/"), "b");
        assert_eq!(go_base("/"), "/");
        assert_eq!(go_base(""), ".");
    }

    #[test]
    fn printable_names_follow_pprof() {
        assert_eq!(NodeKey::Named("main.f").printable(), "main.f");
        let anon = NodeKey::Anonymous {
            start_line: 3,
            objfile: "/bin/svc",
        };
        assert_eq!(anon.printable(), "[svc]");
        assert_eq!(anon.sprint(), "{  0  3 0 0 /bin/svc}");
        let unknown = NodeKey::Anonymous {
            start_line: 0,
            objfile: "",
        };
        assert_eq!(unknown.printable(), "<unknown>");
    }
}
