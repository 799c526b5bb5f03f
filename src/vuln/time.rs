//! The few date computations the scan needs (a withdrawal time, the database's age, a
//! suppression's `until`), on UTC Unix seconds: RFC 3339 timestamps and `YYYY-MM-DD` dates
//! parsed by hand, with no calendar crate.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD` as the Unix time of its first second (UTC).
pub fn date_to_unix(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let y = num(parts.next()?)?;
    let m = num(parts.next()?)?;
    let d = num(parts.next()?)?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || date.len() != 10 {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, d) * 86_400)
}

/// An RFC 3339 timestamp (`2024-05-01T12:00:00Z`, fractions and offsets allowed) as Unix
/// seconds.
pub fn rfc3339_to_unix(ts: &str) -> Option<i64> {
    let day = date_to_unix(ts.get(..10)?)?;
    let rest = ts.get(10..)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (h, m, s) = (
        num(rest.get(..2)?)?,
        num(rest.get(3..5)?)?,
        num(rest.get(6..8)?)?,
    );
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut tail = rest.get(8..)?;
    if let Some(frac) = tail.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        tail = &frac[n..];
    }
    let offset = match tail {
        "Z" | "z" => 0,
        _ => {
            let sign = match tail.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let (oh, om) = (num(tail.get(1..3)?)?, num(tail.get(4..6)?)?);
            if tail.get(3..4)? != ":" || tail.len() != 6 {
                return None;
            }
            sign * i64::from(oh * 3600 + om * 60)
        }
    };
    Some(day + i64::from(h * 3600 + m * 60 + s) - offset)
}

/// Now, as Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_timestamps() {
        assert_eq!(date_to_unix("1970-01-01"), Some(0));
        assert_eq!(date_to_unix("2000-03-01"), Some(951_868_800));
        assert_eq!(rfc3339_to_unix("2024-02-29T12:30:00Z"), Some(1_709_209_800));
        assert_eq!(
            rfc3339_to_unix("2024-02-29T14:30:00.123+02:00"),
            Some(1_709_209_800)
        );
        for bad in [
            "",
            "2024-13-01",
            "2024-1-01",
            "2024-01-01T25:00:00Z",
            "2024-01-01T",
            "x",
        ] {
            assert!(rfc3339_to_unix(bad).is_none(), "{bad}");
        }
        assert!(date_to_unix("2027-01-3").is_none());
    }
}
