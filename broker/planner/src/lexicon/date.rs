//! Calendar dates and units for the planner's date phrases: a proleptic Gregorian [`Date`] with day arithmetic,
//! calendar truncation and `YYYY-MM-DD` parsing, and the [`Unit`]s a question groups or counts back by.

use polystoreiq_protocol::civil;
use serde::{Deserialize, Serialize};

/// A calendar unit for trends and relative dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub fn noun(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Quarter => "quarter",
            Unit::Year => "year",
        }
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Date {
        Date { year, month, day }
    }

    /// `YYYY-MM-DD`, checked.
    pub fn parse_iso(text: &str) -> Option<Date> {
        let mut parts = text.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
            return None;
        }
        let date = Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        ((1..=12).contains(&date.month) && date.day >= 1 && date.day <= days_in_month(date.year, date.month))
            .then_some(date)
    }

    /// Today in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        civil::days_from_civil(i64::from(self.year), self.month, self.day)
    }

    pub fn from_days(days: i64) -> Date {
        let (year, month, day) = civil::civil_from_days(days);
        Date { year: year as i32, month, day }
    }

    pub fn add_days(self, n: i64) -> Date {
        Date::from_days(self.days() + n)
    }

    /// The same day `n` months later (or earlier), clamped to the month's last day.
    pub fn add_months(self, n: i32) -> Date {
        let total = self.year * 12 + (self.month as i32 - 1) + n;
        let year = total.div_euclid(12);
        let month = (total.rem_euclid(12) + 1) as u32;
        Date { year, month, day: self.day.min(days_in_month(year, month)) }
    }

    /// Monday of this date's week (ISO weeks, as PostgreSQL's `date_trunc('week', ...)`).
    pub fn week_start(self) -> Date {
        // 1970-01-01 was a Thursday.
        let weekday = (self.days() + 3).rem_euclid(7);
        self.add_days(-weekday)
    }

    pub fn month_start(self) -> Date {
        Date { day: 1, ..self }
    }

    pub fn quarter_start(self) -> Date {
        Date { month: (self.month - 1) / 3 * 3 + 1, day: 1, ..self }
    }

    pub fn year_start(self) -> Date {
        Date { month: 1, day: 1, ..self }
    }

    /// The first day of the unit that holds this date.
    pub fn truncate(self, unit: Unit) -> Date {
        match unit {
            Unit::Day => self,
            Unit::Week => self.week_start(),
            Unit::Month => self.month_start(),
            Unit::Quarter => self.quarter_start(),
            Unit::Year => self.year_start(),
        }
    }

    /// `n` units later.
    pub fn add(self, unit: Unit, n: i32) -> Date {
        match unit {
            Unit::Day => self.add_days(i64::from(n)),
            Unit::Week => self.add_days(7 * i64::from(n)),
            Unit::Month => self.add_months(n),
            Unit::Quarter => self.add_months(3 * n),
            Unit::Year => self.add_months(12 * n),
        }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_move_by_calendar_units() {
        for days in [-800_000, -1, 0, 1, 19_000, 20_000, 2_932_896] {
            assert_eq!(Date::from_days(days).days(), days);
        }
        assert_eq!(Date::from_days(0), Date::new(1970, 1, 1));
        assert_eq!(Date::new(2024, 1, 31).add_months(1), Date::new(2024, 2, 29));
        assert_eq!(Date::new(2024, 3, 15).add_months(-3), Date::new(2023, 12, 15));
        assert_eq!(Date::new(2024, 3, 7).week_start(), Date::new(2024, 3, 4));
        assert_eq!(Date::new(2024, 8, 7).quarter_start(), Date::new(2024, 7, 1));
        assert_eq!(Date::parse_iso("2024-02-30"), None);
        assert_eq!(Date::parse_iso("2024-2-3"), Some(Date::new(2024, 2, 3)));
    }
}
