//! A sparkline (`▁▂▄█`) of a series: how the soak's readings are drawn in check messages
//! and in the job summary, where a trend is seen faster than read. Every platform (the
//! report layer draws result files from anywhere).

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
    fn sparkline_spans_min_to_max() {
        assert_eq!(sparkline(&[1, 5, 9]), "▁▅█");
        assert_eq!(sparkline(&[3, 3]), "▁▁");
        assert_eq!(sparkline(&[]), "");
        let long: Vec<u64> = (0..100).collect();
        assert!(sparkline(&long).chars().count() <= SPARK_WIDTH);
    }
}
