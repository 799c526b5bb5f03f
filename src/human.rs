//! Numbers for people, the one way goready writes them: byte sizes in 1024-based units and
//! sparklines. Rules use them in check messages and renderers in tables, so a size reads the
//! same in the terminal, the job summary and the PR comment. It imports nothing of the crate.

/// Bytes in 1024-based units, as Go's tools print them: `512 B`, `7.6 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

// Sparklines draw the soak's readings in check messages and in the job summary, where a
// trend is seen faster than read.

/// Bars a sparkline has at most: longer series are shown by the maximum of each stretch.
const SPARK_WIDTH: usize = 32;

/// `▁▂▄█`: the series scaled from its minimum to its maximum (flat: all `▁`), at most
/// [`SPARK_WIDTH`] bars.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let bucketed: Vec<u64>;
    let values = if values.len() > SPARK_WIDTH {
        let per = values.len().div_ceil(SPARK_WIDTH);
        bucketed = values
            .chunks(per)
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .collect();
        &bucketed[..]
    } else {
        values
    };
    let (Some(&lo), Some(&hi)) = (values.iter().min(), values.iter().max()) else {
        return String::new();
    };
    values
        .iter()
        .map(|&v| {
            if hi == lo {
                BARS[0]
            } else {
                BARS[((v - lo) as f64 / (hi - lo) as f64 * 7.0).round() as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pick_the_largest_unit_below_1024() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(8_000_000), "7.6 MiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
        // TiB is the largest unit: larger sizes count in it.
        assert_eq!(bytes(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn sparkline_spans_min_to_max() {
        assert_eq!(sparkline(&[1, 5, 9]), "▁▅█");
        assert_eq!(sparkline(&[3, 3]), "▁▁");
        assert_eq!(sparkline(&[]), "");
        let long: Vec<u64> = (0..100).collect();
        assert!(sparkline(&long).chars().count() <= SPARK_WIDTH);
    }
}
