//! Chart recommendation: reads a finished result's shape (which columns are times, measures, categories or
//! identifiers, and how many distinct values each holds) and picks a line, bar, pie or scatter chart, or a plain
//! table with the reason no chart fits.
//!
//! Pure: no I/O and no state, so a result always gets the same recommendation. The rules live in one ordered
//! table, [`RULES`]: the first rule that holds for the shape decides, and the later chart rules that also hold are
//! offered as alternatives. Each column is read once and distinct values are counted only up to
//! [`DISTINCT_CAP`], so a result at the row limit costs milliseconds.

use std::collections::HashSet;
use std::ops::RangeInclusive;

use polystoreiq_protocol::types::{Batch, ChartKind, ChartRecommendation, ColumnValues, LogicalType, ResultColumn};

/// Distinct values counted per column before counting stops. Past it a key is known to hold one row per value
/// only when its values are strictly ordered, as a sorted time bucket is.
const DISTINCT_CAP: usize = 4096;
/// The most bars a bar chart gets.
const BAR_MAX: usize = 50;
/// How many slices a pie may have.
const PIE_SLICES: RangeInclusive<usize> = 2..=6;

/// Name words that make an integer column an identifier: `id`, `customer_id`, `customerId`, `order_uuid`.
const IDENTIFIER_WORDS: &[&str] = &["id", "uuid", "guid"];
/// Name words that make a whole-number column a time, with the values that word allows (`2024` as a year, `13`
/// is no month). The word must end the name: `order_month` is a time, `months_active` and `day_count` are not.
const TIME_WORDS: &[(&str, RangeInclusive<f64>)] = &[
    ("year", 1800.0..=2200.0),
    ("yr", 1800.0..=2200.0),
    ("quarter", 1.0..=4.0),
    ("qtr", 1.0..=4.0),
    ("month", 1.0..=12.0),
    ("week", 0.0..=53.0),
    ("day", 1.0..=31.0),
    ("dow", 0.0..=7.0),
    ("weekday", 0.0..=7.0),
    ("doy", 1.0..=366.0),
    ("hour", 0.0..=23.0),
    ("minute", 0.0..=59.0),
];
/// Name words of measures that do not add up to a whole (an average, a price, a rate), so never a pie.
const NON_ADDITIVE_WORDS: &[&str] = &[
    "avg", "average", "mean", "median", "min", "minimum", "max", "maximum", "rate", "ratio", "price", "std", "stddev",
    "stdev",
];

/// What a column is for in a chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
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
struct ColumnShape<'a> {
    name: &'a str,
    role: Role,
    /// Distinct values, NULL counting as one; `None` past [`DISTINCT_CAP`].
    distinct: Option<usize>,
    /// Every row holds a different value.
    unique: bool,
    /// The smallest and largest number, for numeric columns.
    range: Option<(f64, f64)>,
    /// A whole-number key taken for a category: its order matters, so it is drawn as bars, never slices.
    ordinal: bool,
}

impl ColumnShape<'_> {
    fn non_negative(&self) -> bool {
        self.range.is_some_and(|(min, _)| min >= 0.0)
    }

    fn distinct_in(&self, range: RangeInclusive<usize>) -> bool {
        self.distinct.is_some_and(|n| range.contains(&n))
    }
}

/// What the rules read: the row count and each column's role and spread.
#[derive(Debug)]
struct Shape<'a> {
    rows: usize,
    columns: Vec<ColumnShape<'a>>,
}

impl<'a> Shape<'a> {
    fn of(columns: &'a [ResultColumn], batches: &'a [Batch]) -> Shape<'a> {
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

    fn with(&self, role: Role) -> impl Iterator<Item = &ColumnShape<'a>> {
        self.columns.iter().filter(move |c| c.role == role)
    }

    fn count(&self, role: Role) -> usize {
        self.with(role).count()
    }

    fn measures(&self) -> Vec<String> {
        self.with(Role::Measure).map(|c| c.name.to_owned()).collect()
    }

    /// The column the measures are read against: the leftmost time or category, else the leftmost identifier.
    /// Leftmost, because a grouped query names its keys first (`city, count(*), min(signup_date)` is by city).
    fn key(&self) -> Option<&ColumnShape<'a>> {
        let key = self.columns.iter().find(|c| matches!(c.role, Role::Temporal | Role::Category));
        key.or_else(|| self.with(Role::Identifier).next())
    }

    fn key_is(&self, roles: &[Role]) -> bool {
        self.key().is_some_and(|key| roles.contains(&key.role))
    }

    fn key_name(&self) -> Option<String> {
        self.key().map(|key| key.name.to_owned())
    }
}

/// One rule of the table: when it holds, and what it recommends.
struct Rule {
    /// What the rule recognises, for readers and tests.
    #[cfg_attr(not(test), allow(dead_code))]
    name: &'static str,
    kind: ChartKind,
    holds: fn(&Shape) -> bool,
    /// The x column, the y columns and the reason, for a shape the rule holds for.
    build: fn(&Shape) -> Pick,
}

/// What a rule fills in.
struct Pick {
    x: Option<String>,
    y: Vec<String>,
    reason: String,
}

impl Pick {
    fn table(reason: impl Into<String>) -> Pick {
        Pick { x: None, y: Vec::new(), reason: reason.into() }
    }
}

/// The rules, in order: the first that holds decides.
const RULES: &[Rule] = &[
    Rule { name: "no rows", kind: ChartKind::Table, holds: |s| s.rows == 0, build: |_| Pick::table("no rows") },
    Rule {
        name: "single value",
        kind: ChartKind::Table,
        holds: |s| s.rows == 1 && s.columns.len() == 1,
        build: |_| Pick::table("a single value"),
    },
    Rule { name: "single row", kind: ChartKind::Table, holds: |s| s.rows == 1, build: |_| Pick::table("a single row") },
    Rule {
        name: "time series",
        kind: ChartKind::Line,
        // A time with one row per value; or, with no category to split the rows, measures at repeated times.
        holds: |s| {
            s.key_is(&[Role::Temporal])
                && s.count(Role::Measure) > 0
                && (s.key().is_some_and(|k| k.unique) || s.count(Role::Category) == 0)
        },
        build: |s| Pick { x: s.key_name(), y: s.measures(), reason: format!("{} over time", measures(s)) },
    },
    Rule {
        name: "series in long form",
        kind: ChartKind::Table,
        holds: |s| s.count(Role::Measure) > 0 && s.key().is_some_and(|k| !k.unique) && long_form(s).is_some(),
        build: |s| {
            let (x, split) = long_form(s).expect("the rule holds only in long form");
            Pick::table(format!("several rows per {x} (one per {split}); pivot {split} into columns to chart it"))
        },
    },
    Rule {
        name: "share of a whole",
        kind: ChartKind::Pie,
        holds: |s| {
            let measure = s.with(Role::Measure).next();
            s.key_is(&[Role::Category])
                && s.key().is_some_and(|k| k.unique && !k.ordinal && k.distinct_in(PIE_SLICES))
                && s.count(Role::Category) == 1
                && s.count(Role::Temporal) == 0
                && s.count(Role::Measure) == 1
                && measure.is_some_and(|m| m.non_negative() && m.range.is_some_and(|(_, max)| max > 0.0))
                && measure.is_some_and(|m| !words(m.name).iter().any(|w| NON_ADDITIVE_WORDS.contains(&w.as_str())))
        },
        build: |s| {
            let slices = s.key().and_then(|k| k.distinct).unwrap_or_default();
            Pick {
                x: s.key_name(),
                y: s.measures(),
                reason: format!("a share of a whole: {slices} categories and one non-negative measure"),
            }
        },
    },
    Rule {
        name: "measures against each other",
        kind: ChartKind::Scatter,
        holds: |s| s.count(Role::Measure) >= 2 && s.count(Role::Category) == 0 && s.count(Role::Temporal) == 0,
        build: |s| {
            let reason = format!("{} and no category or time", measures(s));
            let mut y = s.measures();
            let x = y.remove(0);
            Pick { x: Some(x), y, reason }
        },
    },
    Rule {
        name: "categorical aggregate",
        kind: ChartKind::Bar,
        // Any key with one row per value and few values; a time key is drawn as a line first, so bars are only
        // its alternative.
        holds: |s| s.count(Role::Measure) > 0 && s.key().is_some_and(|k| k.unique && k.distinct_in(2..=BAR_MAX)),
        build: |s| {
            let what = match s.key().map(|k| k.role) {
                Some(Role::Identifier) => "one identifier",
                Some(Role::Temporal) => "one time column",
                _ => "one category",
            };
            Pick { x: s.key_name(), y: s.measures(), reason: format!("{what} and {}", measures(s)) }
        },
    },
    Rule {
        name: "too many categories",
        kind: ChartKind::Table,
        holds: |s| {
            s.count(Role::Measure) > 0
                && s.key_is(&[Role::Category, Role::Identifier])
                && s.key().is_some_and(|k| k.distinct.is_none_or(|n| n > BAR_MAX))
        },
        build: |s| {
            let key = s.key().expect("the rule holds only with a key");
            let n = key.distinct.map_or(format!("more than {DISTINCT_CAP}"), |n| n.to_string());
            Pick::table(format!("{n} distinct {} values: too many for a chart", key.name))
        },
    },
    Rule { name: "anything else", kind: ChartKind::Table, holds: |_| true, build: no_chart },
];

/// For rows keyed by two columns (`day, channel, revenue`), the x axis and the column that splits it into
/// series: the time and a category, or the first two categories.
fn long_form<'s>(s: &'s Shape) -> Option<(&'s str, &'s str)> {
    let mut categories = s.with(Role::Category);
    let x = s.with(Role::Temporal).next().or_else(|| categories.next())?;
    Some((x.name, categories.next()?.name))
}

/// Why no rule above found a chart.
fn no_chart(s: &Shape) -> Pick {
    if s.count(Role::Measure) == 0 {
        return Pick::table("no numeric column to plot");
    }
    match s.key() {
        Some(key) if !key.unique => {
            Pick::table(format!("several rows per {}; group by it to chart the result", key.name))
        }
        None => Pick::table("one measure and nothing to plot it against"),
        Some(_) => Pick::table("no chart fits this shape"),
    }
}

/// "one measure", "2 measures".
fn measures(s: &Shape) -> String {
    match s.count(Role::Measure) {
        1 => "one measure".to_owned(),
        n => format!("{n} measures"),
    }
}

/// The chart that suits a result, from its columns and rows alone.
pub fn recommend(columns: &[ResultColumn], batches: &[Batch]) -> ChartRecommendation {
    decide(&Shape::of(columns, batches)).1
}

/// The rule that decides for `shape`, and its recommendation.
fn decide(shape: &Shape) -> (&'static Rule, ChartRecommendation) {
    let position = RULES.iter().position(|rule| (rule.holds)(shape)).expect("the last rule always holds");
    let rule = &RULES[position];
    let mut alternatives = Vec::new();
    // Alternatives are other charts for a shape that has one; a shape that is a table has none.
    for later in RULES[position + 1..].iter().filter(|_| rule.kind != ChartKind::Table) {
        let kind = later.kind;
        if kind != ChartKind::Table && kind != rule.kind && !alternatives.contains(&kind) && (later.holds)(shape) {
            alternatives.push(kind);
        }
    }
    let Pick { x, y, reason } = (rule.build)(shape);
    (rule, ChartRecommendation { kind: rule.kind, x, y, reason, alternatives })
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
fn words(name: &str) -> Vec<String> {
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
fn looks_like_date(text: &str) -> bool {
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
struct Tally<'a> {
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

#[cfg(test)]
mod tests {
    use polystoreiq_protocol::column::{NumColumn, TextColumn};
    use polystoreiq_protocol::types::LogicalType::{self, Bool, Date, Decimal, Float, Int, Json, Text, Timestamp};

    use super::*;

    /// Builds a result from `(name, type, values)`: values are comma-separated, `~` is NULL, dates are days and
    /// timestamps microseconds since 1970.
    fn result(spec: &[(&str, LogicalType, &str)]) -> (Vec<ResultColumn>, Vec<Batch>) {
        let columns = spec
            .iter()
            .map(|&(name, logical, _)| ResultColumn { name: name.into(), db_type: format!("{logical:?}"), logical })
            .collect();
        let values = spec.iter().map(|&(_, logical, text)| {
            let texts: Vec<Option<&str>> =
                text.split(',').filter(|_| !text.is_empty()).map(|v| (v != "~").then_some(v)).collect();
            let whole = |v: &Option<&str>| v.map(|v| v.parse::<i64>().expect("a whole number"));
            match logical {
                Int => ColumnValues::Int(texts.iter().map(whole).collect()),
                Timestamp => ColumnValues::Timestamp(texts.iter().map(whole).collect()),
                Date => ColumnValues::Date(texts.iter().map(|v| whole(v).map(|n| n as i32)).collect()),
                Float => ColumnValues::Float(texts.iter().map(|v| v.map(|v| v.parse().expect("a number"))).collect()),
                Bool => ColumnValues::Bool(texts.iter().map(|v| v.map(|v| v == "true")).collect()),
                _ => ColumnValues::Text(texts.into_iter().collect()),
            }
        });
        (columns, vec![Batch { columns: values.collect() }])
    }

    /// `rule: kind x=X y=A,B +alternative` for a chart; `rule: table (reason)` for a table.
    fn render(rule: &Rule, chart: &ChartRecommendation) -> String {
        let alternatives: String = chart.alternatives.iter().map(|k| format!(" +{}", k.as_str())).collect();
        if chart.kind == ChartKind::Table {
            return format!("{}: table ({}){alternatives}", rule.name, chart.reason);
        }
        let x = chart.x.as_deref().unwrap_or("-");
        format!("{}: {} x={x} y={}{alternatives}", rule.name, chart.kind.as_str(), chart.y.join(","))
    }

    #[track_caller]
    fn check(spec: &[(&str, LogicalType, &str)], expected: &str) {
        let (columns, batches) = result(spec);
        let (rule, chart) = decide(&Shape::of(&columns, &batches));
        assert_eq!(render(rule, &chart), expected);
        assert_eq!(chart, recommend(&columns, &batches));
    }

    /// `n` comma-separated values, `f(i)` each.
    fn list(n: usize, f: impl Fn(usize) -> String) -> String {
        (0..n).map(f).collect::<Vec<_>>().join(",")
    }

    const DAY_US: i64 = 86_400_000_000;

    #[test]
    fn shapes_get_the_chart_that_suits_them() {
        let days = "19723,19724,19725,19726,19727";
        let dates = "2024-01-01,2024-01-02,2024-01-03,2024-01-04,2024-01-05";
        let five = "10,20,30,40,50";
        let channels = "web,store,app,phone";

        // Nothing to draw.
        check(&[("channel", Text, ""), ("revenue", Float, "")], "no rows: table (no rows)");
        check(&[("count", Int, "42")], "single value: table (a single value)");
        check(&[("n", Int, "42"), ("total", Float, "3.5")], "single row: table (a single row)");
        check(&[("name", Text, "a,b,c"), ("city", Text, "x,y,z")], "anything else: table (no numeric column to plot)");

        // Time series.
        check(&[("day", Date, days), ("revenue", Float, five)], "time series: line x=day y=revenue +bar");
        check(
            &[
                ("hour", Timestamp, &list(60, |i| (i as i64 * 3_600_000_000).to_string())),
                ("n", Int, &list(60, |i| i.to_string())),
            ],
            "time series: line x=hour y=n",
        );
        check(
            &[("day", Text, dates), ("orders", Int, five), ("revenue", Float, five)],
            "time series: line x=day y=orders,revenue +bar",
        );
        check(
            &[("month", Text, "2024-01,2024-02,2024-03"), ("revenue", Float, "1,2,3")],
            "time series: line x=month y=revenue +bar",
        );
        // A whole-number year with plausible values is a time; one named `year` holding 1..5 is not.
        check(
            &[("year", Int, "2019,2020,2021,2022"), ("revenue", Float, "1,2,3,4")],
            "time series: line x=year y=revenue +bar",
        );
        check(
            &[("order_month", Int, "1,2,3"), ("revenue", Float, "1,2,3")],
            "time series: line x=order_month y=revenue +bar",
        );
        check(&[("year", Int, "1,2,3,4,5"), ("students", Int, five)], "categorical aggregate: bar x=year y=students");
        check(
            &[("months_active", Int, "3,1,9,2"), ("spend", Float, "5,1,2,3")],
            "measures against each other: scatter x=months_active y=spend",
        );
        // Time buckets repeated per category are several series in one column.
        check(
            &[
                ("day", Date, "19723,19723,19724,19724"),
                ("channel", Text, "web,app,web,app"),
                ("revenue", Float, "1,2,3,4"),
            ],
            "series in long form: table (several rows per day (one per channel); pivot channel into columns to chart it)",
        );
        check(
            &[
                ("channel", Text, "app,app,web,web"),
                ("month", Text, "2024-01,2024-02,2024-01,2024-02"),
                ("n", Int, "1,2,3,4"),
            ],
            "series in long form: table (several rows per month (one per channel); pivot channel into columns to chart it)",
        );
        check(
            &[("channel", Text, "app,app,web,web"), ("region", Text, "eu,us,eu,us"), ("n", Int, "1,2,3,4")],
            "series in long form: table (several rows per channel (one per region); pivot region into columns to chart it)",
        );

        // Share of a whole, and the shapes that are bars instead.
        check(
            &[("channel", Text, channels), ("revenue", Float, "5,3,2,1")],
            "share of a whole: pie x=channel y=revenue +bar",
        );
        check(&[("is_active", Bool, "true,false"), ("n", Int, "70,30")], "share of a whole: pie x=is_active y=n +bar");
        check(
            &[("channel", Text, channels), ("profit", Float, "5,-3,2,1")],
            "categorical aggregate: bar x=channel y=profit",
        );
        check(
            &[("channel", Text, channels), ("avg_price", Float, "5,3,2,1")],
            "categorical aggregate: bar x=channel y=avg_price",
        );
        check(
            &[("channel", Text, channels), ("revenue", Float, "0,0,0,0")],
            "categorical aggregate: bar x=channel y=revenue",
        );
        check(
            &[("channel", Text, "a,b,c,d,e,f,g"), ("revenue", Float, "1,2,3,4,5,6,7")],
            "categorical aggregate: bar x=channel y=revenue",
        );
        check(
            &[("channel", Text, channels), ("revenue", Float, "5,3,2,1"), ("cost", Float, "1,1,1,1")],
            "categorical aggregate: bar x=channel y=revenue,cost",
        );
        check(
            &[("channel", Text, channels), ("revenue", Decimal, "-5.50,3.25,2,1")],
            "categorical aggregate: bar x=channel y=revenue",
        );
        check(
            &[("channel", Text, channels), ("revenue", Decimal, "5.50,3.25,2,1")],
            "share of a whole: pie x=channel y=revenue +bar",
        );
        // A key named first decides: a later date is an aggregate (the first sign-up), not the x axis.
        check(
            &[("city", Text, "Oslo,Lima,Pune"), ("n", Int, "3,4,5"), ("first", Date, "19000,19001,19000")],
            "categorical aggregate: bar x=city y=n",
        );
        // A NULL group is a category of its own; a column that is NULL throughout is ignored.
        check(
            &[("segment", Text, "a,~,b"), ("n", Int, "1,2,3"), ("note", Text, "~,~,~")],
            "share of a whole: pie x=segment y=n +bar",
        );
        check(
            &[("channel", Text, "web,app"), ("payload", Json, "{},{}"), ("n", Int, "1,2")],
            "share of a whole: pie x=channel y=n +bar",
        );

        // Identifiers label rows and are never measures.
        check(
            &[("customer_id", Int, "7,8,9"), ("total", Float, "1,2,3")],
            "categorical aggregate: bar x=customer_id y=total",
        );
        check(
            &[("customerId", Int, "7,8,9"), ("total", Float, "1,2,3")],
            "categorical aggregate: bar x=customerId y=total",
        );
        check(
            &[
                ("id", Int, &list(200, |i| i.to_string())),
                ("price", Float, &list(200, |i| (i % 17).to_string())),
                ("weight", Float, &list(200, |i| (i % 5).to_string())),
            ],
            "measures against each other: scatter x=price y=weight",
        );
        check(
            &[("id", Int, &list(100, |i| i.to_string())), ("price", Float, &list(100, |i| i.to_string()))],
            "too many categories: table (100 distinct id values: too many for a chart)",
        );

        // Whole numbers grouped and sorted are a key; many rows of two measures are a scatter.
        check(
            &[("stars", Int, "1,2,3,4,5"), ("reviews", Int, "3,9,20,41,77")],
            "categorical aggregate: bar x=stars y=reviews",
        );
        check(
            &[
                ("quantity", Int, &list(500, |i| (i % 13).to_string())),
                ("amount", Float, &list(500, |i| (i * 7 % 101).to_string())),
            ],
            "measures against each other: scatter x=quantity y=amount",
        );

        // Rows that are not grouped.
        check(
            &[("city", Text, "Oslo,Oslo,Lima"), ("amount", Float, "1,2,3")],
            "anything else: table (several rows per city; group by it to chart the result)",
        );
        check(&[("amount", Float, "1,2,3")], "anything else: table (one measure and nothing to plot it against)");
        check(
            &[("name", Text, &list(300, |i| format!("n{i}"))), ("amount", Float, &list(300, |i| i.to_string()))],
            "too many categories: table (300 distinct name values: too many for a chart)",
        );
    }

    #[test]
    fn the_reason_reads_as_the_cli_prints_it() {
        let (columns, batches) = result(&[("channel", Text, "a,b,c,d,e,f,g,h"), ("revenue", Float, "1,2,3,4,5,6,7,8")]);
        let chart = recommend(&columns, &batches);
        assert_eq!(chart.reason, "one category and one measure");
        let (columns, batches) = result(&[
            ("price", Float, &list(80, |i| i.to_string())),
            ("weight", Float, &list(80, |i| (i % 9).to_string())),
            ("volume", Float, &list(80, |i| (i % 4).to_string())),
        ]);
        let chart = recommend(&columns, &batches);
        assert_eq!((chart.kind, chart.reason.as_str()), (ChartKind::Scatter, "3 measures and no category or time"));
    }

    #[test]
    fn a_result_split_over_batches_is_read_as_one() {
        let (columns, first) = result(&[("channel", Text, "web,app"), ("revenue", Float, "1,2")]);
        let (_, second) = result(&[("channel", Text, "web,app"), ("revenue", Float, "3,4")]);
        let batches = [first, second].concat();
        let chart = recommend(&columns, &batches);
        assert_eq!(chart.kind, ChartKind::Table, "{chart:?}");
        assert_eq!(chart.reason, "several rows per channel; group by it to chart the result");
    }

    #[test]
    fn a_result_at_the_row_limit_is_read_past_the_distinct_cap() {
        let rows = 100_000;
        let ts: NumColumn<i64> = (0..rows).map(|i| Some(i * DAY_US / 24)).collect();
        let value: NumColumn<f64> = (0..rows).map(|i| Some((i % 1000) as f64)).collect();
        let columns = vec![
            ResultColumn { name: "ts".into(), db_type: "TIMESTAMP".into(), logical: Timestamp },
            ResultColumn { name: "value".into(), db_type: "DOUBLE".into(), logical: Float },
        ];
        let batches = vec![Batch { columns: vec![ColumnValues::Timestamp(ts), ColumnValues::Float(value.clone())] }];
        let chart = recommend(&columns, &batches);
        assert_eq!((chart.kind, chart.x.as_deref()), (ChartKind::Line, Some("ts")));

        let other: NumColumn<f64> = (0..rows).map(|i| Some((i % 7) as f64)).collect();
        let columns = vec![
            ResultColumn { name: "a".into(), db_type: "DOUBLE".into(), logical: Float },
            ResultColumn { name: "b".into(), db_type: "DOUBLE".into(), logical: Float },
        ];
        let batches = vec![Batch { columns: vec![ColumnValues::Float(value), ColumnValues::Float(other)] }];
        assert_eq!(recommend(&columns, &batches).kind, ChartKind::Scatter);

        let names: Vec<String> = (0..rows).map(|i| format!("customer {i}")).collect();
        let names: TextColumn = names.iter().map(|name| Some(name.as_str())).collect();
        let amounts: NumColumn<f64> = (0..rows).map(|i| Some(i as f64)).collect();
        let columns = vec![
            ResultColumn { name: "name".into(), db_type: "VARCHAR".into(), logical: Text },
            ResultColumn { name: "amount".into(), db_type: "DOUBLE".into(), logical: Float },
        ];
        let batches = vec![Batch { columns: vec![ColumnValues::Text(names), ColumnValues::Float(amounts)] }];
        let chart = recommend(&columns, &batches);
        assert_eq!(chart.reason, format!("more than {DISTINCT_CAP} distinct name values: too many for a chart"));
    }

    #[test]
    fn names_split_into_words_and_dates_are_recognised() {
        assert_eq!(words("customerID"), ["customer", "id"]);
        assert_eq!(words("order_id"), ["order", "id"]);
        assert_eq!(words("valid"), ["valid"]);
        assert_eq!(words("year(order_date)"), ["year", "order", "date"]);
        for date in ["2024-01-31", "2024-01", "2024-Q3", "2024-01-31T10:00:00Z", "2024-01-31 10:00"] {
            assert!(looks_like_date(date), "{date}");
        }
        for text in ["2024", "2024-13", "2024-01-32", "20240131", "2024-Q5", "web", "2024-01-31x", ""] {
            assert!(!looks_like_date(text), "{text}");
        }
    }
}
