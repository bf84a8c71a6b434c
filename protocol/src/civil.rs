//! Proleptic Gregorian calendar arithmetic on day counts since 1970-01-01 (Howard Hinnant's algorithms,
//! `chrono`-compatible `days_from_civil` and `civil_from_days`): the one place where a date becomes the protocol's
//! day count or back, for the connectors' decoders, the front ends' rendering and the planner's date words. Pure
//! arithmetic: no validation of an engine's own special values (zero dates, infinities), which stays with each
//! decoder.
//!
//! Hand-written rather than from `time` or `jiff` on purpose: their dates span the years -9999 to 9999, and
//! PostgreSQL's span 4713 BC to 5874897 AD, every one of which must decode exactly.

/// Days since 1970-01-01 of a proleptic Gregorian date, `month` from 1 to 12 and `day` from 1 to 31 (not
/// checked here: the caller refuses what its engine calls no date).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01; the year before 1 is 0.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::{civil_from_days, days_from_civil};

    #[test]
    fn known_days_count_from_the_epoch() {
        let check = |(y, m, d): (i64, u32, u32), days: i64| {
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
            assert_eq!(civil_from_days(days), (y, m, d), "{days}");
        };
        check((1970, 1, 1), 0);
        check((1969, 12, 31), -1);
        check((2000, 1, 1), 10_957);
        check((2000, 3, 1), 11_017);
        check((2024, 2, 29), 19_782);
        check((0, 12, 31), -719_163);
        check((-4713, 11, 24), -2_440_588);
    }

    #[test]
    fn the_two_directions_agree_across_leap_years_and_eras() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }
}
