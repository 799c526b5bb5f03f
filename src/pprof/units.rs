//! Values printed the way `go tool pprof` prints them (google/pprof
//! `internal/measurement`): memory in 1024-based units (`kB` = 1024 B), times from `ns` to
//! `hrs`, `%.2f` with a trailing `.00` dropped, percentages with at least two significant
//! digits. Our own code, written to produce the same text, so that the tables compare.

/// One unit and its size in the base unit.
struct Unit {
    name: &'static str,
    aliases: &'static [&'static str],
    factor: f64,
}

/// A family of units (memory, time, GCU) and the one used when nothing fits.
struct UnitType {
    default_name: &'static str,
    default_factor: f64,
    units: &'static [Unit],
}

const UNIT_TYPES: &[UnitType] = &[
    UnitType {
        default_name: "B",
        default_factor: 1.0,
        units: &[
            Unit {
                name: "B",
                aliases: &["b", "byte"],
                factor: 1.0,
            },
            Unit {
                name: "kB",
                aliases: &["kb", "kbyte", "kilobyte"],
                factor: (1u64 << 10) as f64,
            },
            Unit {
                name: "MB",
                aliases: &["mb", "mbyte", "megabyte"],
                factor: (1u64 << 20) as f64,
            },
            Unit {
                name: "GB",
                aliases: &["gb", "gbyte", "gigabyte"],
                factor: (1u64 << 30) as f64,
            },
            Unit {
                name: "TB",
                aliases: &["tb", "tbyte", "terabyte"],
                factor: (1u64 << 40) as f64,
            },
            Unit {
                name: "PB",
                aliases: &["pb", "pbyte", "petabyte"],
                factor: (1u64 << 50) as f64,
            },
        ],
    },
    UnitType {
        default_name: "s",
        default_factor: 1e9,
        units: &[
            Unit {
                name: "ns",
                aliases: &["ns", "nanosecond"],
                factor: 1.0,
            },
            Unit {
                name: "us",
                aliases: &["μs", "us", "microsecond"],
                factor: 1e3,
            },
            Unit {
                name: "ms",
                aliases: &["ms", "millisecond"],
                factor: 1e6,
            },
            Unit {
                name: "s",
                aliases: &["s", "sec", "second"],
                factor: 1e9,
            },
            Unit {
                name: "hrs",
                aliases: &["hour", "hr"],
                factor: 3.6e12,
            },
        ],
    },
    UnitType {
        default_name: "GCU",
        default_factor: 1.0,
        units: &[
            Unit {
                name: "n*GCU",
                aliases: &["nanogcu"],
                factor: 1e-9,
            },
            Unit {
                name: "u*GCU",
                aliases: &["microgcu"],
                factor: 1e-6,
            },
            Unit {
                name: "m*GCU",
                aliases: &["milligcu"],
                factor: 1e-3,
            },
            Unit {
                name: "GCU",
                aliases: &["gcu"],
                factor: 1.0,
            },
            Unit {
                name: "k*GCU",
                aliases: &["kilogcu"],
                factor: 1e3,
            },
            Unit {
                name: "M*GCU",
                aliases: &["megagcu"],
                factor: 1e6,
            },
            Unit {
                name: "G*GCU",
                aliases: &["gigagcu"],
                factor: 1e9,
            },
            Unit {
                name: "T*GCU",
                aliases: &["teragcu"],
                factor: 1e12,
            },
            Unit {
                name: "P*GCU",
                aliases: &["petagcu"],
                factor: 1e15,
            },
        ],
    },
];

impl UnitType {
    /// The unit an alias names: lower-cased, one trailing `s` dropped from names longer than
    /// two bytes (`bytes` → `byte`), as pprof does.
    fn sniff(&self, unit: &str) -> Option<&'static Unit> {
        let lower = unit.to_lowercase();
        let alias = if lower.len() > 2 {
            lower.strip_suffix('s').unwrap_or(&lower)
        } else {
            &lower
        };
        self.units.iter().find(|u| u.aliases.contains(&alias))
    }

    /// The largest unit in which `value` (in base units) is at least 1.
    fn auto_scale(&self, value: f64) -> Option<(f64, &'static str)> {
        let mut best: Option<&Unit> = None;
        for u in self.units {
            if u.factor >= best.map_or(0.0, |b| b.factor) && value / u.factor >= 1.0 {
                best = Some(u);
            }
        }
        best.map(|u| (value / u.factor, u.name))
    }

    fn convert(&self, value: i64, from: &str, to: &str) -> Option<(f64, &'static str)> {
        let from = self.sniff(from)?;
        let v = value as f64 * from.factor;
        if to == "minimum" || to == "auto" {
            return Some(
                self.auto_scale(v)
                    .unwrap_or((v / self.default_factor, self.default_name)),
            );
        }
        Some(match self.sniff(to) {
            Some(to) => (v / to.factor, to.name),
            None => (v / self.default_factor, self.default_name),
        })
    }
}

/// Converts `value` in `from` units to `to` (`minimum`/`auto` pick a readable unit); returns
/// the number and the unit's name ("" for plain counts).
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    if value < 0 && value != i64::MIN {
        let (v, u) = scale(-value, from, to);
        return (-v, u);
    }
    for ut in UNIT_TYPES {
        if let Some((v, u)) = ut.convert(value, from, to) {
            return (v, u.to_string());
        }
    }
    match to {
        "count" | "sample" | "unit" | "minimum" | "auto" => (value as f64, String::new()),
        other => (value as f64, other.to_string()),
    }
}

/// `value` scaled to `to` and printed like pprof: `2563.35kB`, `1944kB`, `0`.
pub fn scaled_label(value: i64, from: &str, to: &str) -> String {
    let (v, unit) = scale(value, from, to);
    let text = format!("{v:.2}");
    let text = text.strip_suffix(".00").unwrap_or(&text);
    if text == "0" || text == "-0" {
        return "0".to_string();
    }
    format!("{text}{unit}")
}

/// The unit pprof's `-unit=minimum` (its default) picks for a report whose smallest
/// nonzero value is `min_value` and whose total is `max_value`: the smallest value's unit,
/// moved up one when the range is wide, so small values read as fractions of it.
pub fn minimum_unit(min_value: i64, max_value: i64, sample_unit: &str) -> String {
    let min_value = if min_value == 0 { max_value } else { min_value };
    let (_, min_unit) = scale(min_value, sample_unit, "minimum");
    let (_, max_unit) = scale(max_value, sample_unit, "minimum");
    let mut unit = min_unit.clone();
    if min_unit != max_unit && min_value.wrapping_mul(100) < max_value {
        unit = scale(min_value.wrapping_mul(100), sample_unit, "minimum").1;
    }
    if unit.is_empty() {
        sample_unit.to_string()
    } else {
        unit
    }
}

/// `value` as a percentage of `total`, as pprof prints it: `21.61%`, `  100%`,
/// `0.0062%`, `    0%`.
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = if total != 0 {
        (value as f64 / total as f64).abs() * 100.0
    } else {
        0.0
    };
    if (99.95..=100.05).contains(&ratio) {
        "  100%".to_string()
    } else if ratio >= 1.0 {
        format!("{ratio:5.2}%")
    } else {
        format!("{:>5}%", go_g2(ratio))
    }
}

/// Go's `%.2g` for a non-negative number: two significant digits, trailing zeros dropped,
/// exponent form below 1e-4 (`1.2e-05`).
fn go_g2(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x.is_finite() {
            "0".into()
        } else {
            x.to_string()
        };
    }
    // Rust rounds `{:.1e}` exactly like Go's strconv (half to even on exact ties).
    let e = format!("{x:.1e}");
    let Some((mantissa, exp)) = e.split_once('e') else {
        return e;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let nd = digits.len() as i32;
    let dp = exp + 1;
    let eprec = if 2 > nd && nd >= dp { nd } else { 2 };
    if exp < -4 || exp >= eprec {
        let mut out = digits[..1].to_string();
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{out}e{sign}{:02}", exp.abs());
    }
    if dp >= nd {
        format!("{digits}{}", "0".repeat((dp - nd) as usize))
    } else if dp > 0 {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    } else {
        format!("0.{}{digits}", "0".repeat((-dp) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_scaled_in_1024_steps_and_trailing_zeros_dropped() {
        assert_eq!(scaled_label(1944 * 1024, "bytes", "kB"), "1944kB");
        assert_eq!(scaled_label(1944 * 1024, "bytes", "minimum"), "1.90MB");
        assert_eq!(scaled_label(1024 * 1024, "bytes", "minimum"), "1MB");
        assert_eq!(scaled_label(1536, "bytes", "kB"), "1.50kB");
        assert_eq!(scaled_label(747, "bytes", "kB"), "0.73kB");
        assert_eq!(scaled_label(0, "bytes", "kB"), "0");
        assert_eq!(scaled_label(-2048, "bytes", "kB"), "-2kB");
        assert_eq!(scaled_label(123, "count", "minimum"), "123");
        // -unit=B prints raw numbers, even for counts (pprof keeps the unknown unit's name).
        assert_eq!(scaled_label(123, "count", "B"), "123B");
        assert_eq!(scaled_label(3_000_000, "nanoseconds", "minimum"), "3ms");
    }

    #[test]
    fn minimum_unit_moves_up_when_values_span_a_wide_range() {
        // Smallest 747 B, total 11.5 MB: 747*100 B is in kB.
        assert_eq!(minimum_unit(747, 12_144_763, "bytes"), "kB");
        assert_eq!(minimum_unit(2 << 20, 12 << 20, "bytes"), "MB");
        assert_eq!(minimum_unit(5, 7, "count"), "count");
    }

    #[test]
    fn percentages_print_like_go_fmt() {
        // Expected strings printed by Go for the same int64 pairs.
        assert_eq!(percentage(1, 1), "  100%");
        assert_eq!(percentage(2161, 10000), "21.61%");
        assert_eq!(percentage(62, 1_000_000), "0.0062%");
        assert_eq!(percentage(0, 10), "    0%");
        assert_eq!(percentage(5, 1000), "  0.5%");
        assert_eq!(percentage(1, 10_000_000), "1e-05%");
        assert_eq!(percentage(125, 10_000_000), "0.0013%");
        assert_eq!(percentage(3, 10), "30.00%");
    }

    #[test]
    fn go_g2_matches_go_on_ties_and_carries() {
        // Values checked against Go's fmt.Sprintf("%.2g").
        for (x, want) in [
            (0.125, "0.12"),
            (0.375, "0.38"),
            (0.0625, "0.062"),
            (0.9951, "1"),
            (0.095, "0.095"),
            (1.25e-05, "1.3e-05"),
            (0.00125, "0.0013"),
            (0.5, "0.5"),
        ] {
            assert_eq!(go_g2(x), want, "{x}");
        }
    }
}
