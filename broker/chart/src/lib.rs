//! Chart recommendation: reads a finished result's shape (which columns are times, measures, categories or
//! identifiers, and how many distinct values each holds) and picks a line, bar, pie or scatter chart, or a plain
//! table with the reason no chart fits.
//!
//! Pure: no I/O and no state, so a result always gets the same recommendation. The rules live in one ordered
//! table, [`RULES`]: the first rule that holds for the shape decides, and the later chart rules that also hold are
//! offered as alternatives. Each column is read once and distinct values are counted only up to
//! [`DISTINCT_CAP`], so a result at the row limit costs milliseconds.//!
//! [`shape`] reads the result (one [`shape::Tally`] pass per column), [`rules`] holds the table of rules, and
//! this module applies it.

mod rules;
mod shape;

use std::ops::RangeInclusive;

use polystoreiq_protocol::types::{Batch, ChartKind, ChartRecommendation, ResultColumn};

use rules::{Pick, RULES, Rule};
use shape::Shape;

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

#[cfg(test)]
mod tests;
