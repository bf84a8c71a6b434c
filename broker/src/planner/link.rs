//! Linking: a question's tokens become pieces, left to right, the longest recognised phrase first. A piece is a
//! date range (`in 2024`, `last 3 months`, `since March 2024`), an aggregate word, a rank (`top 5`, `cheapest`),
//! a grouping marker, a time unit, a comparison, a table or column of the schema (by phrase, synonym or typo), a
//! concept (`revenue`, `price`), a literal value, a number, a function word, or a word it could not place.
//!
//! Nothing is dropped: `compose.rs` must use every piece that carries meaning, or decline naming it.

use super::lexicon::{
    Concept, Date, Tok, Unit, concept_word, format_number, is_follow_up_cue, is_stop, month_word, number_word,
    unit_word,
};
use super::model::{Hit, Model};
use super::spec::{Agg, CmpOp, DateRange};

#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    /// `how many`, `number of`, `count`.
    Count,
    /// `distinct`, `unique`, `different`.
    Distinct,
    /// `sum`, `total`, `average`, `minimum`, `maximum`.
    Agg(Agg),
    /// An aggregate the planner does not compute (`median`), named for the decline.
    Unsupported(&'static str),
    /// `top 5`, `the most`, `lowest`: a ranking, highest first when `desc`.
    Top {
        n: Option<u64>,
        desc: bool,
    },
    /// `most expensive`, `cheapest`, `longest`, `latest`: a ranking by a kind of column.
    Superlative {
        concept: Concept,
        desc: bool,
    },
    /// `first 10`: a list's length.
    Limit(u64),
    /// `no`, `without`, `missing` before a column: its value is missing (NULL).
    Missing,
    /// `longer than 300000`, `cheaper than 5`: a comparison with the column of a concept.
    CmpConcept(CmpOp, f64, Concept),
    /// `by`, `per`, `for each`, `grouped by`.
    Group,
    /// `month`, or `monthly` (`adverb`).
    Unit(Unit, bool),
    /// `over time`, `trend`.
    Trend,
    Dates(DateRange),
    /// `in March` without a year.
    NeedsYear(String),
    Cmp(CmpOp, f64),
    Between(f64, f64),
    /// `named`, `called`, `is`, `=`: binds a value to what precedes it.
    Binder,
    /// `not`, `except`, `excluding`.
    Not,
    /// `all`: no default row limit on a list.
    All,
    /// `when`.
    When,
    /// A word that marks a follow-up (`now`, `only`, `that`).
    Cue,
    /// `instead`: a follow-up replaces rather than adds.
    Instead,
    /// Tables and columns the words name; `plural` when the word was a plural.
    Schema {
        hits: Vec<Hit>,
        plural: bool,
    },
    Concept(Concept),
    Num(f64),
    /// A quoted literal.
    Value(String),
    /// A capitalized name after `in` or `from` (`customers in Germany`).
    Place(String),
    /// A verb that only says a fact happened (`sold`, `placed`): meaningful only when the plan reads a fact table.
    Soft,
    Stop,
    Unknown,
}

impl Piece {
    /// Whether leaving this piece unused loses meaning.
    pub fn carries_meaning(&self) -> bool {
        !matches!(
            self,
            Piece::Stop | Piece::Binder | Piece::Cue | Piece::Instead | Piece::Group | Piece::All | Piece::Soft
        )
    }
}

#[derive(Clone, Debug)]
pub struct Span {
    pub piece: Piece,
    /// The words the piece covers, as the question wrote them (lower-cased).
    pub text: String,
}

pub fn link(toks: &[Tok], model: &Model, today: Date) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let (piece, used) = recognise(toks, i, model, today);
        let used = used.max(1);
        let text = toks[i..i + used].iter().map(Tok::display).collect::<Vec<_>>().join(" ");
        spans.push(Span { piece, text });
        i += used;
    }
    spans
}

fn word(toks: &[Tok], i: usize) -> Option<&str> {
    toks.get(i).and_then(Tok::word)
}

fn number(toks: &[Tok], i: usize) -> Option<f64> {
    match toks.get(i) {
        Some(Tok::Num(n)) => Some(*n),
        Some(Tok::Word { text, .. }) => number_word(text),
        _ => None,
    }
}

fn year(toks: &[Tok], i: usize) -> Option<i32> {
    match toks.get(i) {
        Some(Tok::Num(n)) if n.fract() == 0.0 && (1900.0..=2100.0).contains(n) => Some(*n as i32),
        _ => None,
    }
}

fn recognise(toks: &[Tok], i: usize, model: &Model, today: Date) -> (Piece, usize) {
    if let Some(found) = dates(toks, i, today) {
        return found;
    }
    match &toks[i] {
        Tok::Quoted(text) => return (Piece::Value(text.clone()), 1),
        Tok::IsoDate(d) => return (Piece::Dates(DateRange::day(*d)), 1),
        Tok::Sym(sym) => {
            let op = match *sym {
                "=" => return (Piece::Binder, 1),
                "!=" => return (Piece::Not, 1),
                "<" => CmpOp::Lt,
                "<=" => CmpOp::Le,
                ">" => CmpOp::Gt,
                _ => CmpOp::Ge,
            };
            return match number(toks, i + 1) {
                Some(n) => (Piece::Cmp(op, n), 2),
                None => (Piece::Unknown, 1),
            };
        }
        Tok::Num(n) => {
            // `5 most expensive`, `3 cheapest`, `10 largest`.
            if let Some(desc) = word(toks, i + 1).and_then(rank_direction) {
                return (Piece::Top { n: Some(*n as u64), desc }, 1);
            }
            return (Piece::Num(*n), 1);
        }
        Tok::Word { .. } => {}
    }
    let w = word(toks, i).unwrap_or_default();
    let next = word(toks, i + 1);
    // A phrase of two or more words that names a table or column wins over the words' other readings
    // (`first name`, `last name`, `total amount`).
    if let Some(found) = schema(toks, i, model, 2) {
        return found;
    }
    match (w, next) {
        ("how", Some("many")) => return (Piece::Count, 2),
        ("what" | "how", Some("about")) => return (Piece::Cue, 2),
        ("number" | "count" | "counts", Some("of")) => return (Piece::Count, 2),
        ("total", Some("number")) if word(toks, i + 2) == Some("of") => return (Piece::Count, 3),
        ("count", _) => return (Piece::Count, 1),
        ("over", Some("time")) => return (Piece::Trend, 2),
        ("for" | "in", Some("each" | "every")) => return (Piece::Group, 2),
        ("grouped" | "group" | "split" | "broken" | "breakdown" | "sorted", Some("by")) => return (Piece::Group, 2),
        ("broken" | "break", Some("down")) if word(toks, i + 2) == Some("by") => return (Piece::Group, 3),
        ("other", Some("than")) => return (Piece::Not, 2),
        ("equal", Some("to")) => return (Piece::Binder, 2),
        ("is" | "are", Some("not")) => return (Piece::Not, 2),
        ("best" | "top" | "most", Some("selling" | "sold" | "seller" | "sellers")) => {
            return (Piece::Superlative { concept: Concept::Quantity, desc: true }, 2);
        }
        ("least" | "worst", Some("selling" | "sold" | "seller" | "sellers")) => {
            return (Piece::Superlative { concept: Concept::Quantity, desc: false }, 2);
        }
        ("no" | "without" | "missing" | "lacking", Some(_)) if schema(toks, i + 1, model, 1).is_some() => {
            return (Piece::Missing, 1);
        }
        ("most" | "more", Some("recent" | "recently")) => {
            return (Piece::Superlative { concept: Concept::When, desc: true }, 2);
        }
        ("most" | "least" | "more" | "less", Some(adjective)) => {
            if let Some((concept, desc)) = superlative_adjective(adjective) {
                let desc = if w == "most" || w == "more" { desc } else { !desc };
                return (Piece::Superlative { concept, desc }, 2);
            }
        }
        _ => {}
    }
    if let Some(found) = comparison(toks, i) {
        return found;
    }
    if matches!(w, "first")
        && let Some(n) = number(toks, i + 1)
    {
        return (Piece::Limit(n as u64), 2);
    }
    if w == "top" || w == "bottom" {
        let desc = w != "bottom";
        return match number(toks, i + 1) {
            Some(n) => (Piece::Top { n: Some(n as u64), desc }, 2),
            None => (Piece::Top { n: None, desc }, 1),
        };
    }
    if let Some((concept, desc)) = superlative(w) {
        return (Piece::Superlative { concept, desc }, 1);
    }
    if let Some(desc) = rank_direction(w) {
        return (Piece::Top { n: None, desc }, 1);
    }
    let single = match w {
        "sum" | "summed" => Some(Piece::Agg(Agg::Sum)),
        "average" | "avg" | "mean" => Some(Piece::Agg(Agg::Avg)),
        "minimum" | "min" => Some(Piece::Agg(Agg::Min)),
        "maximum" | "max" => Some(Piece::Agg(Agg::Max)),
        "median" => Some(Piece::Unsupported("median")),
        "percentile" | "percentiles" => Some(Piece::Unsupported("percentile")),
        "percent" | "percentage" | "share" | "ratio" | "proportion" => Some(Piece::Unsupported("percentage")),
        "stddev" | "deviation" | "variance" => Some(Piece::Unsupported("standard deviation")),
        "cumulative" | "running" => Some(Piece::Unsupported("running total")),
        "growth" | "change" | "increase" | "decrease" => Some(Piece::Unsupported("change over time")),
        "distinct" | "unique" | "different" => Some(Piece::Distinct),
        "by" | "per" | "each" | "across" => Some(Piece::Group),
        "trend" | "trends" | "timeline" | "evolution" => Some(Piece::Trend),
        "named" | "called" | "titled" | "equals" | "equal" => Some(Piece::Binder),
        "not" | "except" | "excluding" | "exclude" | "without" | "isnt" | "arent" => Some(Piece::Not),
        "all" | "every" => Some(Piece::All),
        "when" => Some(Piece::When),
        "instead" => Some(Piece::Instead),
        "down" => Some(Piece::Cue),
        _ => None,
    };
    if let Some(piece) = single {
        return (piece, 1);
    }
    if w == "total" {
        // `total revenue`, `total amount` and `total of` sum; `total orders` counts (compose decides); a column
        // named `total` is meant when nothing to sum follows.
        let follows_measure = toks.get(i + 1).is_some_and(|t| match t {
            Tok::Word { text, stem, .. } => {
                text == "of"
                    || concept_word(stem).is_some()
                    || model.lookup(&[stem.as_str()]).is_some_and(|(_, hits)| {
                        hits.iter().any(|h| matches!(h, Hit::Table(_)))
                            || hits.iter().any(|h| matches!(h, Hit::Column(c, _) if model.column(*c).role.numeric))
                    })
            }
            _ => false,
        });
        let has_total_column = model.lookup(&["total"]).is_some();
        if follows_measure || !has_total_column {
            return (Piece::Agg(Agg::Sum), 1);
        }
    }
    // `day of week`, `month of the year`: a position within a cycle, which the planner does not group by.
    if let (Some((_, false)), Some("of")) = (unit_word(w), next) {
        let k = if word(toks, i + 2) == Some("the") { i + 3 } else { i + 2 };
        if let Some((_, false)) = word(toks, k).and_then(unit_word) {
            return (
                Piece::Unsupported("position within a calendar cycle (day of the week, month of the year)"),
                k + 1 - i,
            );
        }
    }
    if let Some((unit, adverb)) = unit_word(w) {
        // `date` is a unit only after a grouping word (`by date`); elsewhere it names date columns.
        if w != "date" || spans_group_before(toks, i) {
            return (Piece::Unit(unit, adverb), 1);
        }
    }
    if let Some(found) = schema(toks, i, model, 1) {
        return found;
    }
    let stem = toks[i].stem().unwrap_or_default();
    if let Some(concept) = concept_word(stem).or_else(|| concept_word(w)) {
        return (Piece::Concept(concept), 1);
    }
    if matches!(
        stem,
        "sell"
            | "buy"
            | "plac"
            | "make"
            | "mak"
            | "generat"
            | "bring"
            | "brought"
            | "happen"
            | "occur"
            | "receiv"
            | "get"
    ) {
        return (Piece::Soft, 1);
    }
    if let Some(n) = number_word(w) {
        if let Some(desc) = word(toks, i + 1).and_then(rank_direction) {
            return (Piece::Top { n: Some(n as u64), desc }, 1);
        }
        return (Piece::Num(n), 1);
    }
    if is_follow_up_cue(w) {
        return (Piece::Cue, 1);
    }
    if is_stop(w) {
        return (Piece::Stop, 1);
    }
    // A capitalized name after `in`/`from` (`the` allowed between) is a place; following capitalized words
    // belong to it (`New York`).
    if let Tok::Word { cap: true, .. } = &toks[i] {
        let lead = i.checked_sub(1).and_then(|j| word(toks, j));
        let lead = if lead == Some("the") { i.checked_sub(2).and_then(|j| word(toks, j)) } else { lead };
        if matches!(lead, Some("in" | "from" | "at")) && month_word(w).is_none() {
            let mut end = i + 1;
            while matches!(toks.get(end), Some(Tok::Word { cap: true, .. })) {
                end += 1;
            }
            let original = capitalized(toks, i, end);
            return (Piece::Place(original), end - i);
        }
    }
    if let Some(found) = fuzzy(toks, i, model) {
        return found;
    }
    (Piece::Unknown, 1)
}

fn spans_group_before(toks: &[Tok], i: usize) -> bool {
    i > 0 && matches!(word(toks, i - 1), Some("by" | "per" | "each"))
}

/// The words of `toks[start..end]` with their first letters capitalized, as a place name was written.
fn capitalized(toks: &[Tok], start: usize, end: usize) -> String {
    toks[start..end]
        .iter()
        .filter_map(Tok::word)
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn rank_direction(w: &str) -> Option<bool> {
    match w {
        "most" | "highest" | "biggest" | "largest" | "greatest" | "best" | "top" | "maximal" => Some(true),
        "least" | "lowest" | "smallest" | "fewest" | "worst" | "bottom" | "minimal" => Some(false),
        _ => superlative(w).map(|(_, desc)| desc),
    }
}

fn superlative(w: &str) -> Option<(Concept, bool)> {
    Some(match w {
        "cheapest" => (Concept::Price, false),
        "priciest" | "dearest" => (Concept::Price, true),
        "longest" => (Concept::Duration, true),
        "shortest" => (Concept::Duration, false),
        "latest" | "newest" | "last" | "recent" => (Concept::When, true),
        "earliest" | "oldest" | "first" => (Concept::When, false),
        _ => return None,
    })
}

fn superlative_adjective(w: &str) -> Option<(Concept, bool)> {
    Some(match w {
        "expensive" | "costly" | "pricey" => (Concept::Price, true),
        "cheap" | "affordable" => (Concept::Price, false),
        "long" | "lengthy" => (Concept::Duration, true),
        "short" => (Concept::Duration, false),
        _ => return None,
    })
}

/// `more than 5`, `over 100`, `at least 3`, `between 10 and 20`, `under 2`.
fn comparison(toks: &[Tok], i: usize) -> Option<(Piece, usize)> {
    let w = word(toks, i)?;
    let next = word(toks, i + 1);
    // Comparatives that name what they compare.
    let concept = match (w, next) {
        ("longer", Some("than")) => Some((CmpOp::Gt, Concept::Duration, 2)),
        ("shorter", Some("than")) => Some((CmpOp::Lt, Concept::Duration, 2)),
        ("cheaper", Some("than")) => Some((CmpOp::Lt, Concept::Price, 2)),
        ("pricier" | "costlier", Some("than")) => Some((CmpOp::Gt, Concept::Price, 2)),
        ("more", Some("expensive")) if word(toks, i + 2) == Some("than") => Some((CmpOp::Gt, Concept::Price, 3)),
        ("less", Some("expensive")) if word(toks, i + 2) == Some("than") => Some((CmpOp::Lt, Concept::Price, 3)),
        _ => None,
    };
    if let Some((op, concept, len)) = concept {
        let n = number(toks, i + len)?;
        return Some((Piece::CmpConcept(op, n, concept), len + 1));
    }
    let (op, len) = match (w, next) {
        ("more" | "greater" | "higher" | "larger" | "bigger", Some("than")) => (CmpOp::Gt, 2),
        ("less" | "fewer" | "lower" | "smaller", Some("than")) => (CmpOp::Lt, 2),
        ("at", Some("least")) => (CmpOp::Ge, 2),
        ("at", Some("most")) => (CmpOp::Le, 2),
        ("no", Some("more")) if word(toks, i + 2) == Some("than") => (CmpOp::Le, 3),
        ("no", Some("less")) if word(toks, i + 2) == Some("than") => (CmpOp::Ge, 3),
        ("over" | "above" | "exceeding", _) => (CmpOp::Gt, 1),
        ("under" | "below", _) => (CmpOp::Lt, 1),
        ("exactly", _) => (CmpOp::Eq, 1),
        ("between", _) => {
            let (a, b) = (number(toks, i + 1)?, number(toks, i + 3)?);
            if !matches!(word(toks, i + 2), Some("and")) {
                return None;
            }
            return Some((Piece::Between(a.min(b), a.max(b)), 4));
        }
        _ => return None,
    };
    let n = number(toks, i + len)?;
    Some((Piece::Cmp(op, n), len + 1))
}

fn schema(toks: &[Tok], i: usize, model: &Model, min_words: usize) -> Option<(Piece, usize)> {
    let mut stems = Vec::new();
    for t in &toks[i..] {
        match t.stem() {
            Some(s) if !s.is_empty() => stems.push(s),
            _ => break,
        }
        if stems.len() >= 4 {
            break;
        }
    }
    if stems.len() < min_words {
        return None;
    }
    // Function words are never schema names on their own (`in`, `by`, `to`); nor are words a rank or unit takes.
    let first = word(toks, i)?;
    if (stems.len() == 1 || min_words == 1) && is_stop(first) && !matches!(first, "data") {
        return None;
    }
    let (n, hits) = model.lookup(&stems)?;
    if n < min_words {
        return None;
    }
    let last = &toks[i + n - 1];
    let plural = matches!(last, Tok::Word { text, stem, .. } if text != stem && text.ends_with('s'));
    Some((Piece::Schema { hits, plural }, n))
}

fn fuzzy(toks: &[Tok], i: usize, model: &Model) -> Option<(Piece, usize)> {
    let w = word(toks, i)?;
    let (_, hits) = model.fuzzy(w)?;
    Some((Piece::Schema { hits, plural: w.ends_with('s') }, 1))
}

/// Date phrases. Periods: a year, a month of a year, a quarter, a day. Ranges: `in P`, `since P`, `after P`,
/// `before P`, `until P`, `between P and Q`, `from P to Q`, `last N units`, `last unit`, `this unit`, `today`.
fn dates(toks: &[Tok], i: usize, today: Date) -> Option<(Piece, usize)> {
    let w0 = match &toks[i] {
        Tok::Word { text, .. } => text.as_str(),
        _ => return None,
    };
    let mut j = i;
    let lead = w0;
    let takes_period = matches!(lead, "in" | "during" | "for" | "of" | "within" | "on" | "over" | "throughout");
    if takes_period {
        j += 1;
        if word(toks, j) == Some("the") {
            j += 1;
        }
    }
    let here = word(toks, j);
    // `over` leads only a relative period (`over the last 3 months`); `over 2000` is a comparison.
    if lead == "over"
        && !matches!(here, Some("last" | "past" | "previous" | "recent" | "trailing" | "this" | "current"))
    {
        return None;
    }
    // `the last week of 2024`, `the first 3 months of 2023`: the end or the start of a period.
    if let Some(edge @ ("last" | "first" | "final")) = here {
        let (n, k) = match number(toks, j + 1) {
            Some(n) if (1.0..=1000.0).contains(&n) => (n as i32, j + 2),
            _ => (1, j + 1),
        };
        if let Some((unit, false)) = word(toks, k).and_then(unit_word)
            && word(toks, k + 1) == Some("of")
            && let Some(((start, end), used)) = period(toks, k + 2, today)
        {
            let range = if edge == "first" {
                DateRange::between(start, start.add(unit, n).min(end), String::new())
            } else {
                DateRange::between(end.add(unit, -n).max(start), end, String::new())
            };
            let text = phrase(toks, j, k + 2 + used - j);
            return Some((Piece::Dates(DateRange { text, ..range }), k + 2 + used - i));
        }
    }
    // Rolling and calendar-relative periods.
    if let Some(rel @ ("last" | "past" | "previous" | "recent" | "trailing" | "this" | "current" | "next")) = here {
        if rel == "next" {
            return None;
        }
        if let Some(n) = number(toks, j + 1) {
            if let Some((unit, false)) = word(toks, j + 2).and_then(unit_word) {
                if matches!(rel, "this" | "current") || !(1.0..=1000.0).contains(&n) {
                    return None;
                }
                let n = n as i32;
                let from = today.add(unit, -n);
                let text = format!("the last {n} {}s", unit.noun());
                return Some((Piece::Dates(DateRange::between(from, today.add_days(1), text)), j + 3 - i));
            }
            return None;
        }
        if let Some((unit, false)) = word(toks, j + 1).and_then(unit_word) {
            let start = today.truncate(unit);
            let range = match rel {
                "this" | "current" => DateRange::between(start, start.add(unit, 1), format!("this {}", unit.noun())),
                "past" | "trailing" | "recent" => {
                    DateRange::between(today.add(unit, -1), today.add_days(1), format!("the past {}", unit.noun()))
                }
                _ => DateRange::between(start.add(unit, -1), start, format!("last {}", unit.noun())),
            };
            return Some((Piece::Dates(range), j + 2 - i));
        }
        return None;
    }
    if here == Some("today") {
        return Some((Piece::Dates(DateRange::between(today, today.add_days(1), "today".into())), j + 1 - i));
    }
    if here == Some("yesterday") {
        let y = today.add_days(-1);
        return Some((Piece::Dates(DateRange::between(y, today, "yesterday".into())), j + 1 - i));
    }
    if here == Some("ytd")
        || (here == Some("year") && word(toks, j + 1) == Some("to") && word(toks, j + 2) == Some("date"))
    {
        let len = if here == Some("ytd") { 1 } else { 3 };
        let range = DateRange::between(today.year_start(), today.add_days(1), "this year to date".into());
        return Some((Piece::Dates(range), j + len - i));
    }
    if takes_period || i == j {
        // `between P and Q`, `from P to Q`.
        if matches!(lead, "between" | "from") {
            if let Some(((from, _), used)) = period(toks, i + 1, today) {
                let k = i + 1 + used;
                if matches!(word(toks, k), Some("and" | "to" | "until" | "till" | "through" | "thru"))
                    && let Some(((_, to), used2)) = period(toks, k + 1, today)
                {
                    let text = format!("{} to {}", phrase(toks, i + 1, used), phrase(toks, k + 1, used2));
                    return Some((Piece::Dates(DateRange::between(from, to, text)), k + 1 + used2 - i));
                }
                // `from March to May 2024`: the first period takes the second's year.
                if lead == "from" {
                    // `from 2024 onwards` is a start; `invoices from 2009` means those of 2009.
                    let k = i + 1 + used;
                    if matches!(word(toks, k), Some("onwards" | "onward")) {
                        let text = format!("since {}", phrase(toks, i + 1, used));
                        return Some((Piece::Dates(DateRange { from: Some(from), to: None, text }), 2 + used));
                    }
                    if let Some(((from, to), _)) = period(toks, i + 1, today) {
                        let text = format!("in {}", phrase(toks, i + 1, used));
                        return Some((Piece::Dates(DateRange::between(from, to, text)), 1 + used));
                    }
                }
            }
            if (lead == "between" || lead == "from")
                && let (Some(m1), Some(sep), Some(m2), Some(y)) = (
                    word(toks, i + 1).and_then(month_word),
                    word(toks, i + 2),
                    word(toks, i + 3).and_then(month_word),
                    year(toks, i + 4),
                )
                && matches!(sep, "and" | "to" | "until" | "through")
                && m1 <= m2
            {
                let from = Date::new(y, m1, 1);
                let to = Date::new(y, m2, 1).add_months(1);
                let text = format!("{} to {} {y}", toks[i + 1].display(), toks[i + 3].display());
                return Some((Piece::Dates(DateRange::between(from, to, text)), 5));
            }
        }
        let open = match lead {
            "since" | "starting" | "after" => Some(true),
            "before" | "until" | "till" | "through" | "prior" | "up" => Some(false),
            _ => None,
        };
        if let Some(open_end) = open {
            let mut k = i + 1;
            if (lead == "prior" || lead == "up") && word(toks, k) == Some("to") {
                k += 1;
            } else if lead == "prior" || lead == "up" {
                return None;
            }
            if lead == "starting" && matches!(word(toks, k), Some("in" | "from" | "on")) {
                k += 1;
            }
            let ((start, end), used) = period(toks, k, today)?;
            let text = format!("{lead} {}", phrase(toks, k, used));
            let range = match (open_end, lead) {
                (true, "after") => DateRange { from: Some(end), to: None, text },
                (true, _) => DateRange { from: Some(start), to: None, text },
                (false, "before" | "prior") => DateRange { from: None, to: Some(start), text },
                (false, _) => DateRange { from: None, to: Some(end), text },
            };
            return Some((Piece::Dates(range), k + used - i));
        }
        if takes_period {
            if let Some(((from, to), used)) = period(toks, j, today) {
                let text = format!("in {}", phrase(toks, j, used));
                return Some((Piece::Dates(DateRange::between(from, to, text)), j + used - i));
            }
            // `in March` with no year: ask for one rather than guess which March.
            if let Some(m) = here.and_then(month_word)
                && (here != Some("may") || lead == "in")
            {
                let _ = m;
                return Some((Piece::NeedsYear(toks[j].display()), j + 1 - i));
            }
        }
    }
    // A month and a year with no preposition: `March 2024 revenue`.
    if let (Some(m), Some(y)) = (month_word(w0), year(toks, i + 1)) {
        let from = Date::new(y, m, 1);
        return Some((Piece::Dates(DateRange::between(from, from.add_months(1), phrase(toks, i, 2))), 2));
    }
    None
}

fn phrase(toks: &[Tok], start: usize, len: usize) -> String {
    toks[start..start + len].iter().map(Tok::display).collect::<Vec<_>>().join(" ")
}

/// A calendar period at `toks[i..]`: `[start, end)` and the tokens it took. A year, `March 2024`, `Q1 2024`,
/// `the first quarter of 2024`, or an ISO date.
fn period(toks: &[Tok], i: usize, _today: Date) -> Option<((Date, Date), usize)> {
    if let Some(Tok::IsoDate(d)) = toks.get(i) {
        return Some(((*d, d.add_days(1)), 1));
    }
    if let Some(y) = year(toks, i) {
        let from = Date::new(y, 1, 1);
        return Some(((from, from.add_months(12)), 1));
    }
    let w = word(toks, i)?;
    if let Some(m) = month_word(w) {
        let mut k = i + 1;
        if matches!(word(toks, k), Some("of")) {
            k += 1;
        }
        let y = year(toks, k)?;
        let from = Date::new(y, m, 1);
        return Some(((from, from.add_months(1)), k + 1 - i));
    }
    // `the first half of 2010`.
    if matches!(w, "first" | "second") && word(toks, i + 1) == Some("half") {
        let mut k = i + 2;
        if matches!(word(toks, k), Some("of" | "in")) {
            k += 1;
        }
        let y = year(toks, k)?;
        let from = Date::new(y, if w == "first" { 1 } else { 7 }, 1);
        return Some(((from, from.add_months(6)), k + 1 - i));
    }
    let quarter = match w {
        "q1" => Some((1, 1)),
        "q2" => Some((2, 1)),
        "q3" => Some((3, 1)),
        "q4" => Some((4, 1)),
        "first" | "second" | "third" | "fourth" if word(toks, i + 1) == Some("quarter") => {
            Some(([("first", 1), ("second", 2), ("third", 3), ("fourth", 4)].iter().find(|(n, _)| *n == w)?.1, 2))
        }
        _ => None,
    };
    if let Some((q, used)) = quarter {
        let mut k = i + used;
        if matches!(word(toks, k), Some("of" | "in")) {
            k += 1;
        }
        let y = year(toks, k)?;
        let from = Date::new(y, (q - 1) * 3 + 1, 1);
        return Some(((from, from.add_months(3)), k + 1 - i));
    }
    None
}

/// How a number reads in an explanation.
pub fn show_number(n: f64) -> String {
    format_number(n)
}

#[cfg(test)]
mod tests {
    use super::super::lexicon::tokenize;
    use super::*;
    use polystoreiq_protocol::types::{Engine, SchemaSnapshot};

    fn pieces(question: &str) -> Vec<Piece> {
        let model = Model::new(&SchemaSnapshot { tables: Vec::new(), fetched_at_ms: 0, cache: None }, Engine::Duckdb);
        link(&tokenize(question), &model, Date::new(2026, 11, 22)).into_iter().map(|s| s.piece).collect()
    }

    fn range(question: &str) -> (Option<Date>, Option<Date>) {
        let found = pieces(question).into_iter().find_map(|p| match p {
            Piece::Dates(r) => Some((r.from, r.to)),
            _ => None,
        });
        found.unwrap_or_else(|| panic!("no date range in {question:?}"))
    }

    #[test]
    fn date_phrases_become_half_open_ranges() {
        let d = |y, m, d| Some(Date::new(y, m, d));
        assert_eq!(range("orders in 2024"), (d(2024, 1, 1), d(2025, 1, 1)));
        assert_eq!(range("invoices from 2009"), (d(2009, 1, 1), d(2010, 1, 1)));
        assert_eq!(range("invoices from 2009 onwards"), (d(2009, 1, 1), None));
        assert_eq!(range("orders in March 2024"), (d(2024, 3, 1), d(2024, 4, 1)));
        assert_eq!(range("orders since March 2024"), (d(2024, 3, 1), None));
        assert_eq!(range("orders after 2023"), (d(2024, 1, 1), None));
        assert_eq!(range("orders before 2024"), (None, d(2024, 1, 1)));
        assert_eq!(range("orders until 2023"), (None, d(2024, 1, 1)));
        assert_eq!(range("orders between 2023 and 2024"), (d(2023, 1, 1), d(2025, 1, 1)));
        assert_eq!(range("orders from January to March 2024"), (d(2024, 1, 1), d(2024, 4, 1)));
        assert_eq!(range("orders in Q2 2024"), (d(2024, 4, 1), d(2024, 7, 1)));
        assert_eq!(range("orders in the first quarter of 2024"), (d(2024, 1, 1), d(2024, 4, 1)));
        assert_eq!(range("sales in the second half of 2010"), (d(2010, 7, 1), d(2011, 1, 1)));
        assert_eq!(range("orders in the last 3 months"), (d(2026, 8, 22), d(2026, 11, 23)));
        assert_eq!(range("orders over the past 2 years"), (d(2024, 11, 22), d(2026, 11, 23)));
        assert_eq!(range("orders last month"), (d(2026, 10, 1), d(2026, 11, 1)));
        assert_eq!(range("orders this year"), (d(2026, 1, 1), d(2027, 1, 1)));
        assert_eq!(range("orders on 2024-03-05"), (d(2024, 3, 5), d(2024, 3, 6)));
        assert_eq!(range("orders in the last week of 2024"), (d(2024, 12, 25), d(2025, 1, 1)));
        assert_eq!(range("orders in the first 3 months of 2023"), (d(2023, 1, 1), d(2023, 4, 1)));
        assert!(pieces("orders in March").contains(&Piece::NeedsYear("march".into())));
    }

    #[test]
    fn counts_ranks_groups_and_comparisons() {
        assert_eq!(pieces("how many")[0], Piece::Count);
        assert_eq!(pieces("top 5")[0], Piece::Top { n: Some(5), desc: true });
        assert_eq!(pieces("the 3 cheapest")[1], Piece::Top { n: Some(3), desc: false });
        assert_eq!(pieces("most expensive")[0], Piece::Superlative { concept: Concept::Price, desc: true });
        assert_eq!(pieces("for each")[0], Piece::Group);
        assert_eq!(pieces("more than 10")[0], Piece::Cmp(CmpOp::Gt, 10.0));
        assert_eq!(pieces("over time")[0], Piece::Trend);
        assert_eq!(pieces("monthly")[0], Piece::Unit(Unit::Month, true));
        assert_eq!(pieces("median")[0], Piece::Unsupported("median"));
        assert_eq!(pieces("customers in Germany")[2], Piece::Place("Germany".into()));
        assert_eq!(pieces("status 'shipped'")[1], Piece::Value("shipped".into()));
    }
}
