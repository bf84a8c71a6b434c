//! The chart rules, in order: each says when it holds for a result's [`Shape`] and what it recommends. The first
//! that holds decides; the later chart rules that also hold are offered as alternatives.

use polystoreiq_protocol::types::ChartKind;

use super::shape::{Role, Shape, words};
use super::{BAR_MAX, DISTINCT_CAP, NON_ADDITIVE_WORDS, PIE_SLICES};

/// One rule of the table: when it holds, and what it recommends.
pub(super) struct Rule {
    /// What the rule recognises, for readers and tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) name: &'static str,
    pub(super) kind: ChartKind,
    pub(super) holds: fn(&Shape) -> bool,
    /// The x column, the y columns and the reason, for a shape the rule holds for.
    pub(super) build: fn(&Shape) -> Pick,
}

/// What a rule fills in.
pub(super) struct Pick {
    pub(super) x: Option<String>,
    pub(super) y: Vec<String>,
    pub(super) reason: String,
}

impl Pick {
    fn table(reason: impl Into<String>) -> Pick {
        Pick { x: None, y: Vec::new(), reason: reason.into() }
    }
}

/// The rules, in order: the first that holds decides.
pub(super) const RULES: &[Rule] = &[
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
