//! Durations as people write them on a command line: `500ms`, `8s`, `2m`, `1m30s`, `1.5s`.
//! The units are Go's (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), so a value copied from a Go
//! flag means the same thing here.

use std::time::Duration;

/// Parses `500ms`, `8s`, `2m`, `1h`, `1m30s`, `1.5s`. A bare number is refused: `30` could be
/// seconds or milliseconds, and guessing wrong makes a timeout silently useless.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration: write it like 500ms, 8s or 2m".into());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!(
                "invalid duration {text:?}: expected a number, e.g. 500ms, 8s or 2m"
            ));
        }
        let (num, after) = rest.split_at(num_len);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("invalid number {num:?} in duration {text:?}"))?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => {
                return Err(format!(
                    "duration {text:?} has no unit: write {num}s or {num}ms"
                ));
            }
            other => {
                return Err(format!(
                    "unknown unit {other:?} in duration {text:?} (use ns, us, ms, s, m or h)"
                ));
            }
        };
        total += value * scale;
        rest = next;
    }
    if !total.is_finite() || total > 1e9 {
        return Err(format!("duration {text:?} is too long"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// A short human rendering: `850ms`, `3.2s`, `2m5s`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = d.as_secs_f64();
        if ms % 1000 == 0 {
            format!("{}s", ms / 1000)
        } else {
            format!("{s:.1}s")
        }
    } else {
        let secs = d.as_secs();
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_style_durations() {
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("8s").unwrap(), Duration::from_secs(8));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse(" 3s ").unwrap(), Duration::from_secs(3));
    }

    #[test]
    fn refuses_ambiguous_or_broken_durations() {
        for bad in ["", "30", "s", "5 s", "5x", "1..2s", "ms5", "-1s", "1e999s"] {
            let err = parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(parse("30").unwrap_err().contains("30s"));
    }

    #[test]
    fn formats_briefly() {
        assert_eq!(format(Duration::from_millis(850)), "850ms");
        assert_eq!(format(Duration::from_millis(3200)), "3.2s");
        assert_eq!(format(Duration::from_secs(8)), "8s");
        assert_eq!(format(Duration::from_secs(125)), "2m5s");
    }
}
