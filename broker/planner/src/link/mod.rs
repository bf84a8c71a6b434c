//! Linking: a question's tokens become linked phrases, left to right, the longest recognised phrase first. Each
//! phrase has one [`Meaning`]: a date range (`in 2024`, `last 3 months`, `since March 2024`), an aggregate word, a rank (`top 5`, `cheapest`),
//! a grouping marker, a time unit, a comparison, a table or column of the schema (by phrase, synonym or typo), a
//! concept (`revenue`, `price`), a literal value, a number, a function word, or a word it could not place.
//!
//! Date phrases are read by [`dates`]. Nothing is dropped: `understand` must place every phrase whose meaning
//! matters, or decline naming it.

mod dates;

use super::lexicon::{
    Concept, Date, Token, Unit, concept_word, format_number, is_follow_up_cue, is_stop, month_word, number_word,
    unit_word,
};
use super::schema_model::{SchemaHit, SchemaModel};
use super::spec::{Agg, CmpOp, DateRange};

/// What a phrase of the question means to the planner.
#[derive(Clone, Debug, PartialEq)]
pub enum Meaning {
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
        hits: Vec<SchemaHit>,
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

impl Meaning {
    /// Whether leaving this meaning unused loses meaning.
    pub fn carries_meaning(&self) -> bool {
        !matches!(
            self,
            Meaning::Stop
                | Meaning::Binder
                | Meaning::Cue
                | Meaning::Instead
                | Meaning::Group
                | Meaning::All
                | Meaning::Soft
        )
    }
}

/// A run of the question's tokens and what they mean, as linking recognised them.
#[derive(Clone, Debug)]
pub struct LinkedPhrase {
    pub meaning: Meaning,
    /// The words the meaning covers, as the question wrote them (lower-cased).
    pub text: String,
}

/// The question's tokens as linked phrases, in order; every token belongs to exactly one phrase.
pub fn link(toks: &[Token], model: &SchemaModel, today: Date) -> Vec<LinkedPhrase> {
    let mut phrases = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let (meaning, used) = recognise(toks, i, model, today);
        let used = used.max(1);
        let text = toks[i..i + used].iter().map(Token::display).collect::<Vec<_>>().join(" ");
        phrases.push(LinkedPhrase { meaning, text });
        i += used;
    }
    phrases
}

fn word(toks: &[Token], i: usize) -> Option<&str> {
    toks.get(i).and_then(Token::word)
}

fn number(toks: &[Token], i: usize) -> Option<f64> {
    match toks.get(i) {
        Some(Token::Num(n)) => Some(*n),
        Some(Token::Word { text, .. }) => number_word(text),
        _ => None,
    }
}

fn year(toks: &[Token], i: usize) -> Option<i32> {
    match toks.get(i) {
        Some(Token::Num(n)) if n.fract() == 0.0 && (1900.0..=2100.0).contains(n) => Some(*n as i32),
        _ => None,
    }
}

fn recognise(toks: &[Token], i: usize, model: &SchemaModel, today: Date) -> (Meaning, usize) {
    if let Some(found) = dates::dates(toks, i, today) {
        return found;
    }
    match &toks[i] {
        Token::Quoted(text) => return (Meaning::Value(text.clone()), 1),
        Token::IsoDate(d) => return (Meaning::Dates(DateRange::day(*d)), 1),
        Token::Sym(sym) => {
            let op = match *sym {
                "=" => return (Meaning::Binder, 1),
                "!=" => return (Meaning::Not, 1),
                "<" => CmpOp::Lt,
                "<=" => CmpOp::Le,
                ">" => CmpOp::Gt,
                _ => CmpOp::Ge,
            };
            return match number(toks, i + 1) {
                Some(n) => (Meaning::Cmp(op, n), 2),
                None => (Meaning::Unknown, 1),
            };
        }
        Token::Num(n) => {
            // `5 most expensive`, `3 cheapest`, `10 largest`.
            if let Some(desc) = word(toks, i + 1).and_then(rank_direction) {
                return (Meaning::Top { n: Some(*n as u64), desc }, 1);
            }
            return (Meaning::Num(*n), 1);
        }
        Token::Word { .. } => {}
    }
    let w = word(toks, i).unwrap_or_default();
    let next = word(toks, i + 1);
    // A phrase of two or more words that names a table or column wins over the words' other readings
    // (`first name`, `last name`, `total amount`).
    if let Some(found) = schema(toks, i, model, 2) {
        return found;
    }
    match (w, next) {
        ("how", Some("many")) => return (Meaning::Count, 2),
        ("what" | "how", Some("about")) => return (Meaning::Cue, 2),
        ("number" | "count" | "counts", Some("of")) => return (Meaning::Count, 2),
        ("total", Some("number")) if word(toks, i + 2) == Some("of") => return (Meaning::Count, 3),
        ("count", _) => return (Meaning::Count, 1),
        ("over", Some("time")) => return (Meaning::Trend, 2),
        ("for" | "in", Some("each" | "every")) => return (Meaning::Group, 2),
        ("grouped" | "group" | "split" | "broken" | "breakdown" | "sorted", Some("by")) => return (Meaning::Group, 2),
        ("broken" | "break", Some("down")) if word(toks, i + 2) == Some("by") => return (Meaning::Group, 3),
        ("other", Some("than")) => return (Meaning::Not, 2),
        ("equal", Some("to")) => return (Meaning::Binder, 2),
        ("is" | "are", Some("not")) => return (Meaning::Not, 2),
        ("best" | "top" | "most", Some("selling" | "sold" | "seller" | "sellers")) => {
            return (Meaning::Superlative { concept: Concept::Quantity, desc: true }, 2);
        }
        ("least" | "worst", Some("selling" | "sold" | "seller" | "sellers")) => {
            return (Meaning::Superlative { concept: Concept::Quantity, desc: false }, 2);
        }
        ("no" | "without" | "missing" | "lacking", Some(_)) if schema(toks, i + 1, model, 1).is_some() => {
            return (Meaning::Missing, 1);
        }
        ("most" | "more", Some("recent" | "recently")) => {
            return (Meaning::Superlative { concept: Concept::When, desc: true }, 2);
        }
        ("most" | "least" | "more" | "less", Some(adjective)) => {
            if let Some((concept, desc)) = superlative_adjective(adjective) {
                let desc = if w == "most" || w == "more" { desc } else { !desc };
                return (Meaning::Superlative { concept, desc }, 2);
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
        return (Meaning::Limit(n as u64), 2);
    }
    if w == "top" || w == "bottom" {
        let desc = w != "bottom";
        return match number(toks, i + 1) {
            Some(n) => (Meaning::Top { n: Some(n as u64), desc }, 2),
            None => (Meaning::Top { n: None, desc }, 1),
        };
    }
    if let Some((concept, desc)) = superlative(w) {
        return (Meaning::Superlative { concept, desc }, 1);
    }
    if let Some(desc) = rank_direction(w) {
        return (Meaning::Top { n: None, desc }, 1);
    }
    let single = match w {
        "sum" | "summed" => Some(Meaning::Agg(Agg::Sum)),
        "average" | "avg" | "mean" => Some(Meaning::Agg(Agg::Avg)),
        "minimum" | "min" => Some(Meaning::Agg(Agg::Min)),
        "maximum" | "max" => Some(Meaning::Agg(Agg::Max)),
        "median" => Some(Meaning::Unsupported("median")),
        "percentile" | "percentiles" => Some(Meaning::Unsupported("percentile")),
        "percent" | "percentage" | "share" | "ratio" | "proportion" => Some(Meaning::Unsupported("percentage")),
        "stddev" | "deviation" | "variance" => Some(Meaning::Unsupported("standard deviation")),
        "cumulative" | "running" => Some(Meaning::Unsupported("running total")),
        "growth" | "change" | "increase" | "decrease" => Some(Meaning::Unsupported("change over time")),
        "distinct" | "unique" | "different" => Some(Meaning::Distinct),
        "by" | "per" | "each" | "across" => Some(Meaning::Group),
        "trend" | "trends" | "timeline" | "evolution" => Some(Meaning::Trend),
        "named" | "called" | "titled" | "equals" | "equal" => Some(Meaning::Binder),
        "not" | "except" | "excluding" | "exclude" | "without" | "isnt" | "arent" => Some(Meaning::Not),
        "all" | "every" => Some(Meaning::All),
        "when" => Some(Meaning::When),
        "instead" => Some(Meaning::Instead),
        "down" => Some(Meaning::Cue),
        _ => None,
    };
    if let Some(meaning) = single {
        return (meaning, 1);
    }
    if w == "total" {
        // `total revenue`, `total amount` and `total of` sum; `total orders` counts (`understand` decides); a column
        // named `total` is meant when nothing to sum follows.
        let follows_measure = toks.get(i + 1).is_some_and(|t| match t {
            Token::Word { text, stem, .. } => {
                text == "of"
                    || concept_word(stem).is_some()
                    || model.lookup(&[stem.as_str()]).is_some_and(|(_, hits)| {
                        hits.iter().any(|h| matches!(h, SchemaHit::Table(_)))
                            || hits
                                .iter()
                                .any(|h| matches!(h, SchemaHit::Column(c, _) if model.column(*c).role.numeric))
                    })
            }
            _ => false,
        });
        let has_total_column = model.lookup(&["total"]).is_some();
        if follows_measure || !has_total_column {
            return (Meaning::Agg(Agg::Sum), 1);
        }
    }
    // `day of week`, `month of the year`: a position within a cycle, which the planner does not group by.
    if let (Some((_, false)), Some("of")) = (unit_word(w), next) {
        let k = if word(toks, i + 2) == Some("the") { i + 3 } else { i + 2 };
        if let Some((_, false)) = word(toks, k).and_then(unit_word) {
            return (
                Meaning::Unsupported("position within a calendar cycle (day of the week, month of the year)"),
                k + 1 - i,
            );
        }
    }
    if let Some((unit, adverb)) = unit_word(w) {
        // `date` is a unit only after a grouping word (`by date`); elsewhere it names date columns.
        if w != "date" || follows_grouping_word(toks, i) {
            return (Meaning::Unit(unit, adverb), 1);
        }
    }
    if let Some(found) = schema(toks, i, model, 1) {
        return found;
    }
    let stem = toks[i].stem().unwrap_or_default();
    if let Some(concept) = concept_word(stem).or_else(|| concept_word(w)) {
        return (Meaning::Concept(concept), 1);
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
        return (Meaning::Soft, 1);
    }
    if let Some(n) = number_word(w) {
        if let Some(desc) = word(toks, i + 1).and_then(rank_direction) {
            return (Meaning::Top { n: Some(n as u64), desc }, 1);
        }
        return (Meaning::Num(n), 1);
    }
    if is_follow_up_cue(w) {
        return (Meaning::Cue, 1);
    }
    if is_stop(w) {
        return (Meaning::Stop, 1);
    }
    // A capitalized name after `in`/`from` (`the` allowed between) is a place; following capitalized words
    // belong to it (`New York`).
    if let Token::Word { cap: true, .. } = &toks[i] {
        let lead = i.checked_sub(1).and_then(|j| word(toks, j));
        let lead = if lead == Some("the") { i.checked_sub(2).and_then(|j| word(toks, j)) } else { lead };
        if matches!(lead, Some("in" | "from" | "at")) && month_word(w).is_none() {
            let mut end = i + 1;
            while matches!(toks.get(end), Some(Token::Word { cap: true, .. })) {
                end += 1;
            }
            let original = capitalized(toks, i, end);
            return (Meaning::Place(original), end - i);
        }
    }
    if let Some(found) = fuzzy(toks, i, model) {
        return found;
    }
    (Meaning::Unknown, 1)
}

fn follows_grouping_word(toks: &[Token], i: usize) -> bool {
    i > 0 && matches!(word(toks, i - 1), Some("by" | "per" | "each"))
}

/// The words of `toks[start..end]` with their first letters capitalized, as a place name was written.
fn capitalized(toks: &[Token], start: usize, end: usize) -> String {
    toks[start..end]
        .iter()
        .filter_map(Token::word)
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
fn comparison(toks: &[Token], i: usize) -> Option<(Meaning, usize)> {
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
        return Some((Meaning::CmpConcept(op, n, concept), len + 1));
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
            return Some((Meaning::Between(a.min(b), a.max(b)), 4));
        }
        _ => return None,
    };
    let n = number(toks, i + len)?;
    Some((Meaning::Cmp(op, n), len + 1))
}

fn schema(toks: &[Token], i: usize, model: &SchemaModel, min_words: usize) -> Option<(Meaning, usize)> {
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
    let plural = matches!(last, Token::Word { text, stem, .. } if text != stem && text.ends_with('s'));
    Some((Meaning::Schema { hits, plural }, n))
}

fn fuzzy(toks: &[Token], i: usize, model: &SchemaModel) -> Option<(Meaning, usize)> {
    let w = word(toks, i)?;
    let (_, hits) = model.fuzzy(w)?;
    Some((Meaning::Schema { hits, plural: w.ends_with('s') }, 1))
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

    fn meanings(question: &str) -> Vec<Meaning> {
        let model =
            SchemaModel::new(&SchemaSnapshot { tables: Vec::new(), fetched_at_ms: 0, cache: None }, Engine::Duckdb);
        link(&tokenize(question), &model, Date::new(2026, 11, 22)).into_iter().map(|s| s.meaning).collect()
    }

    #[test]
    fn counts_ranks_groups_and_comparisons() {
        assert_eq!(meanings("how many")[0], Meaning::Count);
        assert_eq!(meanings("top 5")[0], Meaning::Top { n: Some(5), desc: true });
        assert_eq!(meanings("the 3 cheapest")[1], Meaning::Top { n: Some(3), desc: false });
        assert_eq!(meanings("most expensive")[0], Meaning::Superlative { concept: Concept::Price, desc: true });
        assert_eq!(meanings("for each")[0], Meaning::Group);
        assert_eq!(meanings("more than 10")[0], Meaning::Cmp(CmpOp::Gt, 10.0));
        assert_eq!(meanings("over time")[0], Meaning::Trend);
        assert_eq!(meanings("monthly")[0], Meaning::Unit(Unit::Month, true));
        assert_eq!(meanings("median")[0], Meaning::Unsupported("median"));
        assert_eq!(meanings("customers in Germany")[2], Meaning::Place("Germany".into()));
        assert_eq!(meanings("status 'shipped'")[1], Meaning::Value("shipped".into()));
    }
}
