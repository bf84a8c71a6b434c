//! The shape of a result as the chart rules read it: each column's role (time, measure, category, identifier),
//! its distinct values (up to [`DISTINCT_CAP`]), whether it is unique and sorted, and its numeric range, from
//! one pass over its values.

use std::collections::HashSet;
use std::ops::RangeInclusive;

use polystoreiq_protocol::types::{Batch, ColumnValues, LogicalType, ResultColumn};

use super::{BAR_MAX, DISTINCT_CAP, IDENTIFIER_WORDS, TIME_WORDS};

/// What a column is for in a chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// Dates and times, whole-number years or months, text holding ISO dates: the x axis of a line.
    Temporal,
    /// Numbers to plot.
    Measure,
    /// Text or booleans to group by (and an ordered whole-number key, see [`Shape::of`]).
    Category,
    /// Keys such as `id` or `customer_id`: they label rows, but are never plotted as values.
    Identifier,
    /// Nothing to plot: bytes, JSON, intervals, or a column that is NULL throughout.
    Other,
}

/// One column of the shape summary.
#[derive(Debug)]
pub(super) struct ColumnShape<'a> {
    pub(super) name: &'a str,
    pub(super) role: Role,
    /// Distinct values, NULL counting as one; `None` past [`DISTINCT_CAP`].
    pub(super) distinct: Option<usize>,
    /// Every row holds a different value.
    pub(super) unique: bool,
    /// The smallest and largest number, for numeric columns.
    pub(super) range: Option<(f64, f64)>,
    /// A whole-number key taken for a category: its order matters, so it is drawn as bars, never slices.
    pub(super) ordinal: bool,
}

impl ColumnShape<'_> {
    pub(super) fn non_negative(&self) -> bool {
        self.range.is_some_and(|(min, _)| min >= 0.0)
    }

    pub(super) fn distinct_in(&self, range: RangeInclusive<usize>) -> bool {
        self.distinct.is_some_and(|n| range.contains(&n))
    }
}

/// What the rules read: the row count and each column's role and spread.
#[derive(Debug)]
pub(super) struct Shape<'a> {
    pub(super) rows: usize,
    pub(super) columns: Vec<ColumnShape<'a>>,
}

impl<'a> Shape<'a> {
    pub(super) fn of(columns: &'a [ResultColumn], batches: &'a [Batch]) -> Shape<'a> {
        let rows = batches.iter().map(Batch::row_count).sum();
        let tallies: Vec<Tally<'a>> =
            columns.iter().enumerate().map(|(index, column)| Tally::of(column.logical, batches, index)).collect();
        let mut shapes: Vec<ColumnShape<'a>> = columns
            .iter()
            .zip(&tallies)
            .map(|(column, tally)| {
                let distinct = (!tally.overflow).then_some(tally.seen.len());
                ColumnShape {
                    name: &column.name,
                    role: role(column, tally),
                    distinct,
                    unique: distinct == Some(rows) || (tally.sorted() && tally.non_null == rows && rows > 0),
                    range: tally.numbers.then_some((tally.min, tally.max)),
                    ordinal: false,
                }
            })
            .collect();
        // `SELECT stars, count(*) ... GROUP BY stars ORDER BY stars`: a first whole-number column that is sorted
        // and unique over a few rows is the key of a grouped result, not a measure to plot against another.
        let grouped_by_number = !shapes.iter().any(|c| matches!(c.role, Role::Temporal | Role::Category))
            && shapes.iter().filter(|c| c.role == Role::Measure).count() >= 2
            && (2..=BAR_MAX).contains(&rows);
        if grouped_by_number
            && let (Some(first), Some(tally)) = (shapes.first_mut(), tallies.first())
            && first.role == Role::Measure
            && first.unique
            && tally.sorted()
            && tally.integral
        {
            first.role = Role::Category;
            first.ordinal = true;
        }
        Shape { rows, columns: shapes }
    }

    pub(super) fn with(&self, role: Role) -> impl Iterator<Item = &ColumnShape<'a>> {
        self.columns.iter().filter(move |c| c.role == role)
    }

    pub(super) fn count(&self, role: Role) -> usize {
        self.with(role).count()
    }

    pub(super) fn measures(&self) -> Vec<String> {
        self.with(Role::Measure).map(|c| c.name.to_owned()).collect()
    }

    /// The column the measures are read against: the leftmost time or category, else the leftmost identifier.
    /// Leftmost, because a grouped query names its keys first (`city, count(*), min(signup_date)` is by city).
    pub(super) fn key(&self) -> Option<&ColumnShape<'a>> {
        let key = self.columns.iter().find(|c| matches!(c.role, Role::Temporal | Role::Category));
        key.or_else(|| self.with(Role::Identifier).next())
    }

    pub(super) fn key_is(&self, roles: &[Role]) -> bool {
        self.key().is_some_and(|key| roles.contains(&key.role))
    }

    pub(super) fn key_name(&self) -> Option<String> {
        self.key().map(|key| key.name.to_owned())
    }
}

/// A column's role from its type, its name and what its values look like.
fn role(column: &ResultColumn, tally: &Tally) -> Role {
    if tally.non_null == 0 {
        return Role::Other;
    }
    let words = words(&column.name);
    let last = words.last().map_or("", String::as_str);
    let identifier = IDENTIFIER_WORDS.contains(&last);
    let time_word = || {
        let (_, plausible) = TIME_WORDS.iter().find(|(word, _)| *word == last)?;
        Some(tally.integral && plausible.contains(&tally.min) && plausible.contains(&tally.max))
    };
    match column.logical {
        LogicalType::Date | LogicalType::Time | LogicalType::Timestamp | LogicalType::TimestampTz => Role::Temporal,
        LogicalType::Int | LogicalType::Float | LogicalType::Decimal if identifier => Role::Identifier,
        LogicalType::Int | LogicalType::Float | LogicalType::Decimal if !tally.numbers => Role::Other,
        LogicalType::Int | LogicalType::Float | LogicalType::Decimal if time_word() == Some(true) => Role::Temporal,
        LogicalType::Int | LogicalType::Float | LogicalType::Decimal => Role::Measure,
        LogicalType::Text if identifier => Role::Identifier,
        LogicalType::Text if tally.dates => Role::Temporal,
        LogicalType::Text | LogicalType::Bool => Role::Category,
        LogicalType::Uuid => Role::Identifier,
        LogicalType::Interval | LogicalType::Json | LogicalType::Bytes | LogicalType::Other => Role::Other,
    }
}

/// The lowercase words of a column name: `customerId` and `customer_id` are both `customer`, `id`.
pub(super) fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut after_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() || (c.is_uppercase() && after_lower) {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            if !c.is_alphanumeric() {
                after_lower = false;
                continue;
            }
        }
        word.extend(c.to_lowercase());
        after_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// True for text that reads as an ISO date or date-time, or a month (`2024-03`) or quarter (`2024-Q1`) bucket.
pub(super) fn looks_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let number = |at: usize| u32::from(b[at] - b'0') * 10 + u32::from(b[at + 1] - b'0');
    if !(digits(0..4) && b.get(4) == Some(&b'-')) {
        return false;
    }
    if b.len() == 7 && b[5] == b'Q' {
        return (b'1'..=b'4').contains(&b[6]);
    }
    if !(digits(5..7) && (1..=12).contains(&number(5))) {
        return false;
    }
    if b.len() == 7 {
        return true;
    }
    if !(b.get(7) == Some(&b'-') && digits(8..10) && (1..=31).contains(&number(8))) {
        return false;
    }
    b.len() == 10 || (matches!(b[10], b'T' | b' ') && digits(11..13) && b.get(13) == Some(&b':') && digits(14..16))
}

/// A value as the distinct count sees it.
#[derive(PartialEq, Eq, Hash)]
enum Distinct<'a> {
    Null,
    Bits(u64),
    Text(&'a str),
}

/// One pass over one column.
pub(super) struct Tally<'a> {
    non_null: usize,
    seen: HashSet<Distinct<'a>>,
    overflow: bool,
    /// Some value was a number (or decimal text that parsed as one).
    numbers: bool,
    min: f64,
    max: f64,
    /// Every number was a whole number.
    integral: bool,
    /// Non-NULL values strictly rise (or fall) row after row.
    ascending: bool,
    descending: bool,
    previous: Option<Ordered<'a>>,
    /// Every non-NULL value was text that reads as a date.
    dates: bool,
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Ordered<'a> {
    Number(f64),
    Text(&'a str),
}

impl<'a> Tally<'a> {
    fn of(logical: LogicalType, batches: &'a [Batch], index: usize) -> Tally<'a> {
        let mut tally = Tally {
            non_null: 0,
            seen: HashSet::new(),
            overflow: false,
            numbers: false,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            integral: true,
            ascending: true,
            descending: true,
            previous: None,
            dates: true,
        };
        let decimal = logical == LogicalType::Decimal;
        for values in batches.iter().filter_map(|batch| batch.columns.get(index)) {
            match values {
                ColumnValues::Bool(v) => v.iter().for_each(|b| tally.number(b.map(|b| (u64::from(b), f64::from(b))))),
                ColumnValues::Int(v) => v.iter().for_each(|n| tally.number(n.map(|n| (n as u64, n as f64)))),
                ColumnValues::Float(v) => v.iter().for_each(|n| tally.number(n.map(|n| (n.to_bits(), n)))),
                ColumnValues::Date(v) => v.iter().for_each(|n| tally.number(n.map(|n| (n as u64, f64::from(n))))),
                ColumnValues::Timestamp(v) => v.iter().for_each(|n| tally.number(n.map(|n| (n as u64, n as f64)))),
                ColumnValues::Text(v) => v.iter().for_each(|t| tally.text(t, decimal)),
                ColumnValues::Bytes(v) => tally.non_null += v.iter().filter(|b| b.is_some()).count(),
            }
        }
        if tally.non_null == 0 {
            tally.dates = false;
        }
        tally
    }

    fn see(&mut self, value: Distinct<'a>) {
        if !self.overflow {
            self.seen.insert(value);
            if self.seen.len() > DISTINCT_CAP {
                self.overflow = true;
                self.seen = HashSet::new();
            }
        }
    }

    /// A number with its bits for the distinct count.
    fn number(&mut self, value: Option<(u64, f64)>) {
        let Some((bits, number)) = value else {
            return self.see(Distinct::Null);
        };
        self.non_null += 1;
        self.see(Distinct::Bits(bits));
        self.dates = false;
        self.measure(number);
    }

    fn text(&mut self, value: Option<&'a str>, decimal: bool) {
        let Some(text) = value else {
            return self.see(Distinct::Null);
        };
        self.non_null += 1;
        self.see(Distinct::Text(text));
        self.dates = self.dates && looks_like_date(text);
        if !decimal {
            self.order(Ordered::Text(text));
        } else if let Ok(number) = text.trim().parse::<f64>() {
            self.measure(number);
        }
    }

    /// Non-NULL values strictly rise or strictly fall, so none repeats.
    fn sorted(&self) -> bool {
        self.ascending || self.descending
    }

    fn measure(&mut self, number: f64) {
        if number.is_nan() {
            return;
        }
        self.numbers = true;
        self.min = self.min.min(number);
        self.max = self.max.max(number);
        self.integral = self.integral && number.fract() == 0.0;
        self.order(Ordered::Number(number));
    }

    fn order(&mut self, value: Ordered<'a>) {
        if let Some(previous) = self.previous {
            self.ascending = self.ascending && previous < value;
            self.descending = self.descending && previous > value;
        }
        self.previous = Some(value);
    }
}
