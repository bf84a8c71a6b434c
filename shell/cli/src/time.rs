//! Parsing the times `psiq audit --since/--until` accepts into unix milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

use polystoreiq_protocol::{ErrorCode, TypedError};

/// Unix milliseconds, `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[Z]` (UTC), or an age: `90s`, `15m`, `2h`, `7d`.
pub fn parse(text: &str) -> Result<u64, TypedError> {
    let text = text.trim();
    let bad = || {
        TypedError::new(
            ErrorCode::BadRequest,
            format!(
                "{text:?} is not a time: use unix milliseconds, 2026-11-22, 2026-11-22T10:00:00Z or an age like 15m"
            ),
        )
    };
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    if let Some(unit) = text.chars().last().filter(|c| "smhd".contains(*c)) {
        let amount: u64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
        let seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => 86_400,
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        return Ok(now.saturating_sub(amount * seconds * 1000));
    }
    let (date, time) = text.trim_end_matches('Z').split_once('T').unwrap_or((text, "00:00:00"));
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(day)), None) = (d.next(), d.next(), d.next(), d.next()) else {
        return Err(bad());
    };
    let mut t = time.split(':').map(|p| p.parse::<i64>());
    let (h, min, sec) = match (t.next(), t.next(), t.next()) {
        (Some(Ok(h)), Some(Ok(min)), Some(Ok(sec))) => (h, min, sec),
        (Some(Ok(h)), Some(Ok(min)), None) => (h, min, 0),
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || sec > 60 {
        return Err(bad());
    }
    let days = days_from_civil(y, m, day);
    let ms = ((days * 86_400 + h * 3600 + min * 60 + sec) * 1000).max(0);
    Ok(ms as u64)
}

/// Howard Hinnant's civil-to-days algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn times_parse_in_every_accepted_form() {
        assert_eq!(parse("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse("2024-01-01T00:00:01Z").unwrap(), 1_704_067_201_000);
        assert_eq!(parse("2024-01-01T10:30").unwrap(), 1_704_105_000_000);
        let now = parse("0s").unwrap();
        assert!(now - parse("2h").unwrap() >= 7_200_000 - 5);
        for bad in ["yesterday", "2024-13-01", "2024-01-01T25:00:00", "5y", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
