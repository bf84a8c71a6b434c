//! Composition: linked pieces become an [`Intent`] (what the question asks, still at the level of its words:
//! "revenue", "by customer", "in 2024"), then [`resolve`] turns an intent into a [`Spec`] against one schema: it
//! picks the table to read (the one every measure, group and filter can reach along many-to-one joins, preferring
//! the fewest joins and the columns the question named), the exact columns, the joins, the sort and the limit.
//!
//! A follow-up's intent is merged into the previous turn's ([`merge`]) and resolved again, so "split that by
//! month" adds a group to whatever the last answer computed.
//!
//! Every word that means something must end up in the plan; anything left over, any ambiguity between equally
//! good readings, and anything the planner does not compute is a [`Decline`] that says which words and what to
//! try instead. It never guesses silently.

use serde::{Deserialize, Serialize};

use super::lexicon::{Concept, Unit};
use super::link::{Piece, Span, show_number};
use super::model::{ColId, Edge, Hit, Model, Reach, outline};
use super::spec::{Agg, CmpOp, Col, DateRange, Expr, Filter, Join, Output, Sort, Spec};

/// Why the planner will not draft a query; the message says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decline(pub String);

type Result<T> = std::result::Result<T, Decline>;

fn decline<T>(message: impl Into<String>) -> Result<T> {
    Err(Decline(message.into()))
}

/// A column the question may mean, and whether the words were its whole name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColRef {
    pub col: Col,
    pub exact: bool,
}

/// What a phrase of the question refers to, before a table is chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A table as an entity: counted, grouped by (its key and label), or filtered by its label or key.
    Table(String),
    /// One of these columns.
    Cols(Vec<ColRef>),
    /// A kind of column (revenue, price, a date) to find in the tables the plan reads.
    Concept(Concept),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureReq {
    pub agg: Agg,
    /// `None` for a count of whatever the question is about.
    pub target: Option<Target>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DimReq {
    Group(Target),
    /// A date column (or the plan's date, when `None`) by calendar unit.
    Bucket(Option<Target>, Unit),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cond {
    Text {
        value: String,
        negated: bool,
    },
    /// A place name: equal to any place column (city, state, country) of one table.
    Place(String),
    Number(CmpOp, f64),
    Between(f64, f64),
    Dates(DateRange),
    /// A table's key equal to a number (`customer 42`).
    Key(f64),
    /// The value is missing (NULL).
    Missing,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterReq {
    pub target: Target,
    pub cond: Cond,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    Target(Target),
    /// The number of rows of this table (`the most tracks`).
    CountOf(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankReq {
    pub desc: bool,
    pub n: Option<u64>,
    pub by: Option<RankBy>,
    /// `top` without a number means ten; `the most` one or ten by the noun's number.
    pub top_word: bool,
}

/// What a question asks, in the schema's terms but before a base table is chosen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub measures: Vec<MeasureReq>,
    pub dims: Vec<DimReq>,
    pub filters: Vec<FilterReq>,
    /// The table the question is about (`how many orders`, `list customers`).
    pub subject: Option<String>,
    pub subject_plural: bool,
    /// Every table the question names.
    pub mentioned: Vec<String>,
    pub rank: Option<RankReq>,
    pub limit: Option<u64>,
    pub list_cols: Vec<Target>,
    /// Whether the words of a listed column were plural (`which countries` or `which country`).
    #[serde(default)]
    pub list_plural: bool,
    pub all: bool,
    /// `when ...`: the answer is a date.
    pub when: bool,
    /// `distinct` or `unique` without a count: distinct values.
    pub distinct: bool,
    /// A verb that says a fact happened (`sold`, `placed`): the plan must read a table of facts.
    #[serde(default)]
    pub soft: bool,
}

/// How the question relates to the previous turn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cues {
    /// A word that only a follow-up uses (`now`, `instead`, `split`, `also`).
    pub strong: bool,
    /// `instead`: replace the groups rather than add to them.
    pub instead: bool,
}

struct Item {
    piece: Piece,
    text: String,
    used: bool,
}

/// The words that may sit between a column and its value (`status is 'shipped'`, `country = 'France'`).
fn is_glue(item: &Item) -> bool {
    matches!(item.piece, Piece::Binder)
        || (item.piece == Piece::Stop && matches!(item.text.as_str(), "is" | "are" | "was" | "of" | "the" | "a" | "an"))
}

pub fn understand(spans: Vec<Span>, model: &Model) -> Result<(Intent, Cues)> {
    let mut items: Vec<Item> = spans.into_iter().map(|s| Item { piece: s.piece, text: s.text, used: false }).collect();
    let mut intent = Intent::default();
    let mut cues = Cues::default();
    let table_name = |t: usize| model.tables[t].name.clone();

    for item in &mut items {
        match &item.piece {
            Piece::Cue => {
                if matches!(
                    item.text.as_str(),
                    "now"
                        | "instead"
                        | "also"
                        | "too"
                        | "again"
                        | "same"
                        | "split"
                        | "break"
                        | "drill"
                        | "rather"
                        | "previous"
                        | "above"
                        | "them"
                        | "those"
                        | "down"
                        | "what about"
                        | "how about"
                ) {
                    cues.strong = true;
                }
                item.used = true;
            }
            Piece::Instead => {
                cues.strong = true;
                cues.instead = true;
                item.used = true;
            }
            Piece::Unsupported(what) => {
                return decline(format!(
                    "the offline planner does not compute a {what} (\"{}\"); ask for a count, sum, average, minimum or \
                     maximum, optionally by group or over time, or write the query yourself with `psiq query`",
                    item.text
                ));
            }
            Piece::NeedsYear(month) => {
                return decline(format!("which year's {month}? Say it with the year, e.g. \"in {month} 2024\""));
            }
            Piece::Schema { hits, .. } => {
                for hit in hits {
                    if let Hit::Table(t) = hit {
                        push_unique(&mut intent.mentioned, table_name(*t));
                    }
                }
            }
            _ => {}
        }
    }

    // Qualifiers: `customer country`, `album title`, and `country of the customer`.
    for k in 0..items.len() {
        let Some(t) = table_of(&items[k]) else { continue };
        // A noun qualifies the next one in the singular (`customer country`); `employees hired` is about employees.
        let singular_word = !is_plural(&items[k]);
        if let Some(next) = items.get(k + 1).filter(|_| singular_word) {
            if let Some(cols) = columns_of(next) {
                let own: Vec<(ColId, bool)> = cols.into_iter().filter(|(c, _)| c.0 == t).collect();
                if !own.is_empty() {
                    let text = format!("{} {}", items[k].text, items[k + 1].text);
                    items[k + 1].piece =
                        Piece::Schema { hits: own.iter().map(|(c, e)| Hit::Column(*c, *e)).collect(), plural: false };
                    items[k + 1].text = text;
                    absorb(&mut items[k]);
                    continue;
                }
            }
            // `track length`, `customer revenue`: the table says where to look for the concept.
            if matches!(next.piece, Piece::Concept(_)) {
                absorb(&mut items[k]);
                continue;
            }
        }
        // `X of [the] T`: look back over `of`/`the`.
        let mut j = k;
        let mut saw_of = false;
        while j > 0 {
            j -= 1;
            match (&items[j].piece, items[j].text.as_str()) {
                (Piece::Stop, "of") => saw_of = true,
                (Piece::Stop, "the" | "each" | "every") => {}
                _ => break,
            }
        }
        if saw_of
            && j < k
            && !items[j].used
            && let Some(cols) = columns_of(&items[j])
        {
            let own: Vec<(ColId, bool)> = cols.into_iter().filter(|(c, _)| c.0 == t).collect();
            if !own.is_empty() {
                // The table stays: `the cities of customers in Spain` lists customers.
                items[j].piece =
                    Piece::Schema { hits: own.iter().map(|(c, e)| Hit::Column(*c, *e)).collect(), plural: false };
            }
        }
    }

    // Values: a literal binds to the column (or table) before it, across `is`, `=`, `named`, `not`.
    for k in 0..items.len() {
        let value = match &items[k].piece {
            Piece::Value(v) => Some((v.clone(), true)),
            Piece::Place(v) => Some((v.clone(), false)),
            Piece::Unknown => Some((items[k].text.clone(), false)),
            _ => None,
        };
        let number = match &items[k].piece {
            Piece::Num(n) => Some(*n),
            _ => None,
        };
        if value.is_none() && number.is_none() {
            continue;
        }
        let mut j = k;
        let mut negated = false;
        let mut left = None;
        while j > 0 {
            j -= 1;
            if items[j].piece == Piece::Not {
                negated = true;
                continue;
            }
            if is_glue(&items[j]) {
                continue;
            }
            left = Some(j);
            break;
        }
        let quoted = matches!(items[k].piece, Piece::Value(_));
        if let (Some((value, _)), Some(j)) = (&value, left) {
            if let Some(cols) = columns_of(&items[j]) {
                let text_cols: Vec<ColRef> = cols
                    .iter()
                    .filter(|(c, _)| model.column(*c).role.text)
                    .map(|(c, e)| colref(model, *c, *e))
                    .collect();
                if !text_cols.is_empty() && (quoted || matches!(items[k].piece, Piece::Unknown | Piece::Place(_))) {
                    intent.filters.push(FilterReq {
                        target: Target::Cols(text_cols),
                        cond: Cond::Text { value: value.clone(), negated },
                    });
                    items[k].used = true;
                    items[j].used = true;
                    mark_not_used(&mut items, j, k);
                    continue;
                }
            }
            if quoted && let Some(t) = table_of(&items[j]) {
                intent.filters.push(FilterReq {
                    target: Target::Table(table_name(t)),
                    cond: Cond::Text { value: value.clone(), negated },
                });
                items[k].used = true;
                // The table stays available as the question's subject or a group (`albums of artist 'X'`
                // names the artist only to filter, but `tracks named 'X'` is about tracks).
                mark_not_used(&mut items, j, k);
                if items[j + 1..k].iter().any(|i| i.piece == Piece::Binder) {
                    // `tracks named 'X'`: the table is the subject.
                } else {
                    items[j].used = true;
                }
                continue;
            }
        }
        // `the store channel`, `the 'Rock' genre`: a value before its column, or before a singular table word.
        if let Some((value, _)) = &value
            && let Some(j) = next_index(&items, k).filter(|&j| !items[j].used)
        {
            let text_cols: Vec<ColRef> = columns_of(&items[j])
                .unwrap_or_default()
                .iter()
                .filter(|(c, _)| model.column(*c).role.text)
                .map(|(c, e)| colref(model, *c, *e))
                .collect();
            let is_word = matches!(items[k].piece, Piece::Unknown | Piece::Value(_));
            if is_word && !text_cols.is_empty() {
                intent.filters.push(FilterReq {
                    target: Target::Cols(text_cols),
                    cond: Cond::Text { value: value.clone(), negated: false },
                });
                items[k].used = true;
                items[j].used = true;
                continue;
            }
            if let (Piece::Value(_), Some(t)) = (&items[k].piece, table_of(&items[j]))
                && !is_plural(&items[j])
            {
                intent.filters.push(FilterReq {
                    target: Target::Table(table_name(t)),
                    cond: Cond::Text { value: value.clone(), negated: false },
                });
                items[k].used = true;
                items[j].used = true;
                continue;
            }
        }
        if let (Some(n), Some(j)) = (number, left) {
            if let Some(t) = table_of(&items[j])
                && model.tables[t].key.is_some()
            {
                intent.filters.push(FilterReq { target: Target::Table(table_name(t)), cond: Cond::Key(n) });
                items[k].used = true;
                items[j].used = true;
                continue;
            }
            if let Some(cols) = columns_of(&items[j]) {
                let numeric: Vec<ColRef> = cols
                    .iter()
                    .filter(|(c, _)| model.column(*c).role.numeric || model.column(*c).role.key)
                    .map(|(c, e)| colref(model, *c, *e))
                    .collect();
                if !numeric.is_empty() {
                    intent.filters.push(FilterReq { target: Target::Cols(numeric), cond: Cond::Number(CmpOp::Eq, n) });
                    items[k].used = true;
                    items[j].used = true;
                    continue;
                }
            }
        }
        if let Piece::Place(place) = &items[k].piece {
            intent.filters.push(FilterReq { target: place_target(model), cond: Cond::Place(place.clone()) });
            items[k].used = true;
        }
    }

    // Missing values: `tracks with no composer`, `customers without a company`.
    for k in 0..items.len() {
        if items[k].piece != Piece::Missing {
            continue;
        }
        let Some(j) = next_meaningful(&items, k) else { continue };
        if let Some(cols) = columns_of(&items[j]) {
            intent.filters.push(FilterReq {
                target: Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()),
                cond: Cond::Missing,
            });
            items[k].used = true;
            items[j].used = true;
        }
    }

    // Dates: `hired in 2003` names its column; otherwise the plan's date.
    for k in 0..items.len() {
        let range = match &items[k].piece {
            Piece::Dates(range) => range.clone(),
            Piece::Num(n) if !items[k].used && n.fract() == 0.0 && (1900.0..=2100.0).contains(n) => {
                let y = *n as i32;
                let from = super::lexicon::Date::new(y, 1, 1);
                DateRange::between(from, from.add_months(12), format!("in {y}"))
            }
            _ => continue,
        };
        let target = date_column_before(&items, k, model).map_or(Target::Concept(Concept::When), |(j, cols)| {
            items[j].used = true;
            Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect())
        });
        intent.filters.push(FilterReq { target, cond: Cond::Dates(range) });
        items[k].used = true;
    }

    // Comparisons: `amount over 100`, `price below 1`, and `orders over 100` (the plan's amount).
    for k in 0..items.len() {
        let (cond, concept) = match items[k].piece {
            Piece::Cmp(op, n) => (Cond::Number(op, n), None),
            Piece::CmpConcept(op, n, c) => (Cond::Number(op, n), Some(c)),
            Piece::Between(a, b) => (Cond::Between(a, b), None),
            _ => continue,
        };
        let mut j = k;
        let mut target = None;
        while j > 0 {
            j -= 1;
            if is_glue(&items[j])
                || (items[j].piece == Piece::Stop
                    && matches!(
                        items[j].text.as_str(),
                        "with" | "whose" | "has" | "have" | "having" | "where" | "that"
                    ))
            {
                continue;
            }
            if let Some(cols) = columns_of(&items[j]) {
                let numeric: Vec<ColRef> = cols
                    .iter()
                    .filter(|(c, _)| model.column(*c).role.numeric)
                    .map(|(c, e)| colref(model, *c, *e))
                    .collect();
                if !numeric.is_empty() && !items[j].used {
                    items[j].used = true;
                    target = Some(Target::Cols(numeric));
                }
            } else if let Piece::Concept(c) = items[j].piece
                && !items[j].used
            {
                items[j].used = true;
                target = Some(Target::Concept(c));
            }
            break;
        }
        // `more than 300000 milliseconds`: the column after the number says what is compared.
        if let Some(j) = next_index(&items, k).filter(|&j| !items[j].used).filter(|_| target.is_none())
            && let Some(cols) = columns_of(&items[j])
        {
            let numeric: Vec<ColRef> = cols
                .iter()
                .filter(|(c, _)| model.column(*c).role.numeric)
                .map(|(c, e)| colref(model, *c, *e))
                .collect();
            if !numeric.is_empty() {
                items[j].used = true;
                target = Some(Target::Cols(numeric));
            }
        }
        if target.is_none()
            && let Some(c) = concept
        {
            target = Some(Target::Concept(c));
        }
        if target.is_none() {
            // `customers with more than 5 orders` compares a count per group, which the planner does not do.
            if items.get(k + 1).is_some_and(|i| table_of(i).is_some()) {
                return decline(format!(
                    "the offline planner does not filter on a count per group (\"{} {}\"); ask for the counts \
                     (e.g. \"number of {} per ...\") and sort them, or write the query with `psiq query`",
                    items[k].text,
                    items[k + 1].text,
                    items[k + 1].text
                ));
            }
            target = Some(Target::Concept(Concept::Money));
        }
        intent.filters.push(FilterReq { target: target.unwrap_or(Target::Concept(Concept::Money)), cond });
        items[k].used = true;
    }

    // Ranks: `top 5`, `the most`, `cheapest`, `first 10`.
    for k in 0..items.len() {
        match items[k].piece.clone() {
            Piece::Limit(n) => {
                intent.limit = Some(n);
                items[k].used = true;
            }
            Piece::Top { n, desc } => {
                let top_word = items[k].text.starts_with("top") || items[k].text.starts_with("bottom");
                let rank = intent.rank.get_or_insert(RankReq { desc, n: None, by: None, top_word });
                rank.n = rank.n.or(n);
                rank.top_word |= top_word;
                items[k].used = true;
                if top_word || n.is_some() {
                    continue;
                }
                // `the most tracks` ranks by a count; `the highest total` by a column.
                let Some(j) = next_meaningful(&items, k) else { continue };
                if items[j].used {
                    continue;
                }
                if let Some(t) = table_of(&items[j]) {
                    rank.by = Some(RankBy::CountOf(table_name(t)));
                    items[j].used = true;
                } else if let Some(cols) = columns_of(&items[j]) {
                    let cols: Vec<ColRef> = cols
                        .iter()
                        .filter(|(c, _)| {
                            let role = model.column(*c).role;
                            role.numeric || role.date
                        })
                        .map(|(c, e)| colref(model, *c, *e))
                        .collect();
                    if !cols.is_empty() {
                        rank.by = Some(RankBy::Target(Target::Cols(cols)));
                        items[j].used = true;
                    }
                } else if let Piece::Concept(c) = items[j].piece {
                    rank.by = Some(RankBy::Target(Target::Concept(c)));
                    items[j].used = true;
                }
            }
            Piece::Superlative { concept, desc } => {
                items[k].used = true;
                // `earliest order date`, `latest hire date`: the column the superlative is about.
                let named = next_meaningful(&items, k).filter(|&j| !items[j].used).and_then(|j| {
                    let cols: Vec<ColRef> = columns_of(&items[j])?
                        .into_iter()
                        .filter(|(c, _)| {
                            let role = model.column(*c).role;
                            if concept == Concept::When { role.date } else { role.numeric }
                        })
                        .map(|(c, e)| colref(model, c, e))
                        .collect();
                    (!cols.is_empty()).then_some((j, cols))
                });
                // `customers who signed up most recently`: the column said before the superlative.
                let named = named.or_else(|| {
                    let j = (0..k)
                        .rev()
                        .find(|&j| !matches!(items[j].piece, Piece::Stop | Piece::Binder | Piece::Soft | Piece::Cue))?;
                    if items[j].used {
                        return None;
                    }
                    let cols: Vec<ColRef> = columns_of(&items[j])?
                        .into_iter()
                        .filter(|(c, _)| {
                            let role = model.column(*c).role;
                            if concept == Concept::When { role.date } else { role.numeric }
                        })
                        .map(|(c, e)| colref(model, c, e))
                        .collect();
                    (!cols.is_empty()).then_some((j, cols))
                });
                let rank = intent.rank.get_or_insert(RankReq { desc, n: None, by: None, top_word: false });
                rank.desc = desc;
                if let Some((j, cols)) = named {
                    rank.by = Some(RankBy::Target(Target::Cols(cols)));
                    items[j].used = true;
                } else if rank.by.is_none() {
                    rank.by = Some(RankBy::Target(Target::Concept(concept)));
                }
            }
            _ => {}
        }
    }

    // Groups: `by status`, `per month`, `by customer country and channel`, `monthly`.
    let ranked = intent.rank.is_some();
    for k in 0..items.len() {
        if items[k].piece != Piece::Group || items[k].used {
            continue;
        }
        items[k].used = true;
        let mut j = k;
        while let Some(next) = next_meaningful(&items, j) {
            if items[next].used {
                break;
            }
            j = next;
            let mut took = true;
            match items[j].piece.clone() {
                Piece::Unit(unit, _) => intent.dims.push(DimReq::Bucket(None, unit)),
                Piece::Count if ranked => {
                    items[j].used = true;
                    if let Some(t) = next_meaningful(&items, j).filter(|&t| table_of(&items[t]).is_some()) {
                        let name = table_name(table_of(&items[t]).unwrap_or_default());
                        set_rank_by(&mut intent, RankBy::CountOf(name));
                        j = t;
                    } else {
                        took = false;
                    }
                }
                Piece::Agg(agg) if ranked => {
                    let Some(t) = next_meaningful(&items, j) else { break };
                    let target = match (&items[t].piece, columns_of(&items[t])) {
                        (_, Some(cols)) => Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()),
                        (Piece::Concept(c), None) => Target::Concept(*c),
                        _ => break,
                    };
                    items[j].used = true;
                    intent.measures.push(MeasureReq { agg, target: Some(target) });
                    j = t;
                }
                Piece::Concept(c) if ranked => set_rank_by(&mut intent, RankBy::Target(Target::Concept(c))),
                _ => {
                    if let Some(t) = table_of(&items[j]) {
                        if ranked && intent.measures.is_empty() && rank_by_is_none(&intent) {
                            set_rank_by(&mut intent, RankBy::CountOf(table_name(t)));
                        } else {
                            intent.dims.push(DimReq::Group(Target::Table(table_name(t))));
                        }
                    } else if let Some(cols) = columns_of(&items[j]) {
                        let refs: Vec<ColRef> = cols.iter().map(|(c, e)| colref(model, *c, *e)).collect();
                        let numeric = cols.iter().all(|(c, _)| model.column(*c).role.numeric);
                        let dated = cols.iter().all(|(c, _)| model.column(*c).role.date);
                        if ranked && numeric && intent.measures.is_empty() && rank_by_is_none(&intent) {
                            set_rank_by(&mut intent, RankBy::Target(Target::Cols(refs)));
                        } else if dated {
                            // `by signup year`, `by invoice date`.
                            let unit = match next_meaningful(&items, j).map(|u| (u, items[u].piece.clone())) {
                                Some((u, Piece::Unit(unit, _))) => {
                                    items[j].used = true;
                                    j = u;
                                    unit
                                }
                                _ => Unit::Day,
                            };
                            intent.dims.push(DimReq::Bucket(Some(Target::Cols(refs)), unit));
                        } else {
                            intent.dims.push(DimReq::Group(Target::Cols(refs)));
                        }
                    } else {
                        took = false;
                    }
                }
            }
            if !took {
                break;
            }
            items[j].used = true;
            // `by channel and status`: another group after `and`.
            let Some(after) = next_index(&items, j) else { break };
            if items[after].text == "and" && next_meaningful(&items, after).is_some_and(|n| groupable(&items[n])) {
                j = after;
                continue;
            }
            break;
        }
    }
    for item in &mut items {
        if let Piece::Unit(unit, _) = item.piece
            && !item.used
        {
            // `monthly revenue`, `which month had the most orders`.
            intent.dims.push(DimReq::Bucket(None, unit));
            item.used = true;
        }
    }
    for item in &mut items {
        if item.piece == Piece::Trend && !item.used {
            // `over time`, `trend`: by month, unless the question names a unit.
            if !intent.dims.iter().any(|d| matches!(d, DimReq::Bucket(..))) {
                intent.dims.push(DimReq::Bucket(None, Unit::Month));
            }
            item.used = true;
        }
    }

    // Measures: `how many X`, `number of distinct X`, `average Y`, `total revenue`, `revenue`.
    for k in 0..items.len() {
        if items[k].used {
            continue;
        }
        match items[k].piece.clone() {
            Piece::Count => {
                items[k].used = true;
                let mut j = k;
                let mut distinct = false;
                let mut target = None;
                while let Some(n) = next_index(&items, j) {
                    j = n;
                    match &items[j].piece {
                        Piece::Distinct => {
                            distinct = true;
                            items[j].used = true;
                        }
                        Piece::Stop if matches!(items[j].text.as_str(), "the" | "of" | "all") => {}
                        _ => {
                            if items[j].used {
                                break;
                            }
                            if let Some(t) = table_of(&items[j]) {
                                target = Some(Target::Table(table_name(t)));
                                items[j].used = true;
                                intent.subject_plural |= is_plural(&items[j]);
                            } else if let Some(cols) = columns_of(&items[j]) {
                                target =
                                    Some(Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()));
                                items[j].used = true;
                                distinct = true;
                            }
                            break;
                        }
                    }
                }
                let agg =
                    if distinct && matches!(target, Some(Target::Cols(_))) { Agg::CountDistinct } else { Agg::Count };
                if let Some(Target::Table(t)) = &target {
                    intent.subject.get_or_insert_with(|| t.clone());
                }
                intent.measures.push(MeasureReq { agg, target });
            }
            Piece::Agg(agg) => {
                items[k].used = true;
                let Some(j) = next_meaningful(&items, k) else {
                    intent.measures.push(MeasureReq { agg, target: Some(Target::Concept(Concept::Money)) });
                    continue;
                };
                if items[j].piece == Piece::Count {
                    return decline(format!(
                        "the offline planner does not aggregate a count (\"{} {}\"): ask for the counts per group and \
                         read them, or write the query with `psiq query`",
                        items[k].text, items[j].text
                    ));
                }
                let target = if items[j].used {
                    None
                } else if let Some(cols) = columns_of(&items[j]) {
                    Some(Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()))
                } else if let Piece::Concept(c) = items[j].piece {
                    Some(Target::Concept(c))
                } else if let Some(t) = table_of(&items[j]) {
                    // `total orders` counts them; `average order` is the average amount of one.
                    push_unique(&mut intent.mentioned, table_name(t));
                    if agg == Agg::Sum {
                        intent.subject.get_or_insert_with(|| table_name(t));
                        items[j].used = true;
                        intent
                            .measures
                            .push(MeasureReq { agg: Agg::Count, target: Some(Target::Table(table_name(t))) });
                        continue;
                    }
                    intent.subject.get_or_insert_with(|| table_name(t));
                    Some(Target::Concept(Concept::Money))
                } else {
                    None
                };
                let target = target.unwrap_or(Target::Concept(Concept::Money));
                if let Some(t) = items.get_mut(j).filter(|i| !i.used)
                    && (columns_of(t).is_some() || matches!(t.piece, Piece::Concept(_)) || table_of(t).is_some())
                {
                    t.used = true;
                }
                intent.measures.push(MeasureReq { agg, target: Some(target) });
            }
            _ => {}
        }
    }
    for item in &mut items {
        if item.used {
            continue;
        }
        match item.piece.clone() {
            Piece::Concept(Concept::Money) => {
                if intent.rank.as_ref().is_some_and(|r| r.by.is_none()) {
                    set_rank_by(&mut intent, RankBy::Target(Target::Concept(Concept::Money)));
                } else {
                    intent.measures.push(MeasureReq { agg: Agg::Sum, target: Some(Target::Concept(Concept::Money)) });
                }
                item.used = true;
            }
            Piece::Concept(c) if intent.rank.as_ref().is_some_and(|r| r.by.is_none()) => {
                set_rank_by(&mut intent, RankBy::Target(Target::Concept(c)));
                item.used = true;
            }
            Piece::When => {
                intent.when = true;
                item.used = true;
            }
            Piece::Distinct => {
                intent.distinct = true;
                item.used = true;
            }
            Piece::All => {
                intent.all = true;
                item.used = true;
            }
            _ => {}
        }
    }

    // What is left: the subject, other tables for context, and columns to list.
    for item in &mut items {
        if item.used {
            continue;
        }
        if let Some(t) = table_of(item) {
            if intent.subject.is_none() {
                intent.subject = Some(table_name(t));
                intent.subject_plural = is_plural(item);
            }
            item.used = true;
        } else if let Some(cols) = columns_of(item) {
            intent.list_cols.push(Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()));
            intent.list_plural |= is_plural(item);
            item.used = true;
        } else if let Piece::Concept(c) = item.piece {
            intent.list_cols.push(Target::Concept(c));
            item.used = true;
        }
    }
    for item in &mut items {
        if item.piece == Piece::Soft {
            // `sold`, `placed`: fine when the plan reads facts, checked in `build`.
            intent.soft = true;
            item.used = true;
        }
    }

    let unplaced: Vec<&Item> = items.iter().filter(|i| !i.used && i.piece.carries_meaning()).collect();
    if !unplaced.is_empty() {
        return decline(unplaced_message(&unplaced, &intent, model));
    }
    Ok((intent, cues))
}

fn unplaced_message(unplaced: &[&Item], intent: &Intent, model: &Model) -> String {
    let words: Vec<String> = unplaced.iter().map(|i| format!("\"{}\"", i.text)).collect();
    let mut message = format!(
        "could not place {} in this source's schema, so no query was drafted (the planner does not guess)",
        words.join(", ")
    );
    let mut hints = Vec::new();
    for item in unplaced {
        match &item.piece {
            Piece::Unknown | Piece::Value(_) | Piece::Place(_) => {
                let near = model.near_columns(&item.text, 3);
                if !near.is_empty() {
                    hints.push(format!("\"{}\" may mean {}", item.text, near.join(" or ")));
                }
                let mut tables: Vec<usize> = intent
                    .mentioned
                    .iter()
                    .filter_map(|t| model.table_index(t))
                    .chain(intent.subject.as_deref().and_then(|t| model.table_index(t)))
                    .collect();
                tables.sort_unstable();
                tables.dedup();
                let text_cols: Vec<String> = tables
                    .iter()
                    .flat_map(|&t| {
                        model.tables[t]
                            .columns
                            .iter()
                            .filter(|c| c.role.text && !c.role.key && c.name != "_id")
                            .map(move |c| format!("{}.{}", model.tables[t].name, c.name))
                    })
                    .take(6)
                    .collect();
                let example = text_cols
                    .first()
                    .map_or("status".to_owned(), |c| c.rsplit('.').next().unwrap_or("status").to_owned());
                let value = item.text.trim_matches('\'');
                if !text_cols.is_empty() {
                    hints.push(format!(
                        "if \"{value}\" is a value, quote it after its column, e.g. {example} '{value}' (text columns: {})",
                        text_cols.join(", ")
                    ));
                } else {
                    hints.push(format!(
                        "if \"{value}\" is a value, quote it after its column, e.g. {example} '{value}'"
                    ));
                }
            }
            Piece::Num(n) => hints.push(format!(
                "say what {} is: a year (\"in {}\"), a limit (\"top {}\") or a column's value (\"quantity {}\")",
                show_number(*n),
                show_number(*n),
                show_number(*n),
                show_number(*n)
            )),
            _ => {}
        }
    }
    if hints.is_empty() || intent.mentioned.is_empty() {
        let all: Vec<usize> = (0..model.tables.len().min(12)).collect();
        hints.push(format!("tables and columns here: {}", outline(model, &all, 8)));
    }
    message.push_str("; ");
    message.push_str(&hints.join("; "));
    message
}

/// A table word that only qualified its neighbour (`customer` in `customer country`) reads as a function word
/// from now on; the table stays among those the question mentions.
fn absorb(item: &mut Item) {
    item.piece = Piece::Stop;
    item.used = true;
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

fn colref(model: &Model, (t, c): ColId, exact: bool) -> ColRef {
    ColRef { col: Col { table: model.tables[t].name.clone(), column: model.tables[t].columns[c].name.clone() }, exact }
}

fn is_plural(item: &Item) -> bool {
    matches!(item.piece, Piece::Schema { plural: true, .. })
}

/// The table an item names, if it names one (a table wins over columns of the same name).
fn table_of(item: &Item) -> Option<usize> {
    match &item.piece {
        Piece::Schema { hits, .. } => hits.iter().find_map(|h| match h {
            Hit::Table(t) => Some(*t),
            Hit::Column(..) => None,
        }),
        _ => None,
    }
}

fn columns_of(item: &Item) -> Option<Vec<(ColId, bool)>> {
    match &item.piece {
        Piece::Schema { hits, .. } if table_of(item).is_none() => {
            let cols: Vec<(ColId, bool)> = hits
                .iter()
                .filter_map(|h| match h {
                    Hit::Column(c, e) => Some((*c, *e)),
                    Hit::Table(_) => None,
                })
                .collect();
            (!cols.is_empty()).then_some(cols)
        }
        _ => None,
    }
}

fn groupable(item: &Item) -> bool {
    matches!(item.piece, Piece::Unit(..)) || table_of(item).is_some() || columns_of(item).is_some()
}

/// The next item after `k` that is not a function word.
fn next_meaningful(items: &[Item], k: usize) -> Option<usize> {
    (k + 1..items.len()).find(|&j| !matches!(items[j].piece, Piece::Stop | Piece::Binder | Piece::Cue))
}

fn next_index(items: &[Item], k: usize) -> Option<usize> {
    (k + 1 < items.len()).then_some(k + 1)
}

/// Marks `not` pieces between a column and its value as used.
fn mark_not_used(items: &mut [Item], from: usize, to: usize) {
    for item in &mut items[from + 1..to] {
        if item.piece == Piece::Not {
            item.used = true;
        }
    }
}

fn date_column_before(items: &[Item], k: usize, model: &Model) -> Option<(usize, Vec<(ColId, bool)>)> {
    let mut j = k;
    while j > 0 {
        j -= 1;
        if is_glue(&items[j]) || matches!(items[j].piece, Piece::Stop | Piece::Soft) {
            continue;
        }
        if items[j].used {
            return None;
        }
        let cols = columns_of(&items[j])?;
        let dated: Vec<(ColId, bool)> = cols.into_iter().filter(|(c, _)| model.column(*c).role.date).collect();
        return (!dated.is_empty()).then_some((j, dated));
    }
    None
}

fn place_target(model: &Model) -> Target {
    let mut cols = Vec::new();
    for (t, table) in model.tables.iter().enumerate() {
        for (c, column) in table.columns.iter().enumerate() {
            if column.role.place {
                cols.push(colref(model, (t, c), true));
            }
        }
    }
    Target::Cols(cols)
}

fn rank_by_is_none(intent: &Intent) -> bool {
    intent.rank.as_ref().is_none_or(|r| r.by.is_none())
}

fn set_rank_by(intent: &mut Intent, by: RankBy) {
    if let Some(rank) = &mut intent.rank
        && rank.by.is_none()
    {
        rank.by = Some(by);
    }
}

/// A follow-up applied to the previous turn's intent: new measures replace the old, new groups add (or replace
/// with `instead`; a new time unit replaces the old one), a new filter replaces one on the same thing, a new rank
/// or limit replaces the old.
pub fn merge(previous: &Intent, delta: &Intent, cues: Cues) -> Intent {
    let mut merged = previous.clone();
    if !delta.measures.is_empty() {
        merged.measures = delta
            .measures
            .iter()
            .map(|m| match (&m.target, &previous.subject) {
                (None, Some(subject)) => MeasureReq { agg: m.agg, target: Some(Target::Table(subject.clone())) },
                _ => m.clone(),
            })
            .collect();
        merged.distinct = false;
    }
    // `what about customers in France?` after `orders by status`: the table only says where the filter looks.
    let filter_context = delta.measures.is_empty() && delta.dims.is_empty() && !delta.filters.is_empty();
    if let Some(subject) = delta.subject.as_ref().filter(|_| !filter_context)
        && merged.subject.as_ref() != Some(subject)
    {
        let old = merged.subject.replace(subject.clone());
        for m in &mut merged.measures {
            if m.agg == Agg::Count && (m.target.is_none() || m.target == old.clone().map(Target::Table)) {
                m.target = Some(Target::Table(subject.clone()));
            }
        }
        merged.subject_plural = delta.subject_plural;
    }
    if cues.instead && !delta.dims.is_empty() {
        merged.dims.clear();
    }
    for dim in &delta.dims {
        if let DimReq::Bucket(_, _) = dim {
            merged.dims.retain(|d| !matches!(d, DimReq::Bucket(..)));
        }
        if !merged.dims.contains(dim) {
            merged.dims.push(dim.clone());
        }
    }
    for filter in &delta.filters {
        merged.filters.retain(|f| !same_subject(f, filter));
        merged.filters.push(filter.clone());
    }
    if delta.rank.is_some() {
        let by = delta
            .rank
            .as_ref()
            .and_then(|r| r.by.clone())
            .or_else(|| previous.rank.as_ref().and_then(|r| r.by.clone()));
        merged.rank = delta.rank.clone().map(|r| RankReq { by, ..r });
    }
    if delta.limit.is_some() {
        merged.limit = delta.limit;
    }
    if !delta.list_cols.is_empty() {
        merged.list_cols = delta.list_cols.clone();
    }
    merged.all |= delta.all;
    for table in &delta.mentioned {
        push_unique(&mut merged.mentioned, table.clone());
    }
    merged
}

/// Whether two filters constrain the same thing (so the newer replaces the older).
fn same_subject(a: &FilterReq, b: &FilterReq) -> bool {
    match (&a.cond, &b.cond) {
        (Cond::Dates(_), Cond::Dates(_)) => {
            a.target == b.target || matches!((&a.target, &b.target), (Target::Concept(_), _) | (_, Target::Concept(_)))
        }
        (Cond::Place(_), Cond::Place(_)) => true,
        (Cond::Text { .. } | Cond::Place(_), Cond::Text { .. } | Cond::Place(_)) => a.target == b.target,
        _ => a.target == b.target && std::mem::discriminant(&a.cond) == std::mem::discriminant(&b.cond),
    }
}

// ---- resolution ------------------------------------------------------------------------------------------

struct Ctx<'a> {
    model: &'a Model,
    base: usize,
    reach: Reach,
    mentioned: Vec<usize>,
    /// Tables the plan must join.
    needed: Vec<usize>,
    score: f64,
    notes: Vec<String>,
}

impl Ctx<'_> {
    fn distance(&self, t: usize) -> Option<usize> {
        if t == self.base { Some(0) } else { self.reach.paths[t].as_ref().map(Vec::len) }
    }

    fn need(&mut self, t: usize) {
        if t != self.base && !self.needed.contains(&t) {
            self.needed.push(t);
        }
    }

    fn col(&self, (t, c): ColId) -> Col {
        Col { table: self.model.tables[t].name.clone(), column: self.model.tables[t].columns[c].name.clone() }
    }

    /// The best of several candidate columns: reachable, fewest joins, named in full, on a table the question
    /// named. Two equally good candidates on different columns are an ambiguity.
    fn pick(&mut self, cands: &[ColRef], what: &str) -> Result<ColId> {
        let mut scored: Vec<(f64, ColId)> = Vec::new();
        for cand in cands {
            let Some(id) = self.model.column_id(&cand.col.table, &cand.col.column) else { continue };
            let Some(d) = self.distance(id.0) else { continue };
            let mut score = d as f64;
            if !cand.exact {
                score += 0.4;
            }
            if !self.mentioned.contains(&id.0) && id.0 != self.base {
                score += 0.2;
            }
            if self.reach.ambiguous[id.0] {
                score += 0.3;
            }
            scored.push((score, id));
        }
        scored.sort_by(|a, b| a.0.total_cmp(&b.0));
        let Some(&(best, id)) = scored.first() else {
            let names: Vec<String> = cands.iter().map(|c| c.col.to_string()).collect();
            return decline(format!(
                "\"{what}\" names {}, which the plan cannot reach from {} along many-to-one joins",
                names.join(", "),
                self.model.tables[self.base].name
            ));
        };
        let rivals: Vec<String> = scored
            .iter()
            .filter(|(s, other)| (s - best).abs() < 1e-9 && *other != id)
            .map(|(_, other)| self.model.qualified(*other))
            .collect();
        if !rivals.is_empty() {
            return decline(format!(
                "\"{what}\" could be {} or {}; name the table too (e.g. \"{} {}\")",
                self.model.qualified(id),
                rivals.join(" or "),
                singular(&self.model.tables[id.0].name),
                what
            ));
        }
        self.score += best;
        self.need(id.0);
        Ok(id)
    }

    fn table(&mut self, name: &str) -> Result<usize> {
        let t = self
            .model
            .table_index(name)
            .ok_or_else(|| Decline(format!("table {name} is no longer in this source's schema")))?;
        let d = self.distance(t).ok_or_else(|| {
            Decline(format!(
                "{} cannot be reached from {} along many-to-one joins (declared foreign keys or <table>_id columns), so \
                 the planner cannot combine them without counting rows twice",
                name, self.model.tables[self.base].name
            ))
        })?;
        self.score += d as f64;
        self.need(t);
        Ok(t)
    }

    /// The column of a concept, on the base table first, then on the nearest reachable table.
    fn concept(&mut self, concept: Concept) -> Result<ConceptCol> {
        let mut by_distance: Vec<(usize, usize)> =
            (0..self.model.tables.len()).filter_map(|t| self.distance(t).map(|d| (d, t))).collect();
        by_distance.sort();
        let mut found: Option<(usize, ConceptCol)> = None;
        for (d, t) in by_distance {
            if let Some((dist, _)) = &found
                && d > *dist
            {
                break;
            }
            match concept_column(self.model, t, concept) {
                Ok(Some(col)) => {
                    if let Some((_, previous)) = &found {
                        return decline(format!(
                            "\"{}\" could be {} or {}; name the column",
                            concept.noun(),
                            previous.describe(self.model),
                            col.describe(self.model)
                        ));
                    }
                    found = Some((d, col));
                }
                Ok(None) => {}
                Err(e) => return Err(e),
            }
        }
        let Some((d, col)) = found else {
            return decline(format!(
                "no column of {} or the tables it joins holds a {}; name the column (tables: {})",
                self.model.tables[self.base].name,
                concept.noun(),
                outline(self.model, &[self.base], 10)
            ));
        };
        self.score += d as f64 + 0.3;
        let table = match col {
            ConceptCol::Col(c) => c.0,
            ConceptCol::Product(a, _) => a.0,
        };
        self.need(table);
        Ok(col)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ConceptCol {
    Col(ColId),
    Product(ColId, ColId),
}

impl ConceptCol {
    fn describe(&self, model: &Model) -> String {
        match self {
            ConceptCol::Col(c) => model.qualified(*c),
            ConceptCol::Product(a, b) => format!("{} × {}", model.qualified(*a), model.qualified(*b)),
        }
    }
}

/// The column of `table` that holds a concept: `Ok(None)` when it has none, a decline when it has two.
fn concept_column(model: &Model, t: usize, concept: Concept) -> Result<Option<ConceptCol>> {
    let table = &model.tables[t];
    let ids = |f: &dyn Fn(&super::model::ColumnM) -> bool| -> Vec<usize> {
        table.columns.iter().enumerate().filter(|(_, c)| f(c)).map(|(i, _)| i).collect()
    };
    let pick = |cands: Vec<usize>, prefer: &[&str]| -> Result<Option<usize>> {
        if cands.len() <= 1 {
            return Ok(cands.first().copied());
        }
        for word in prefer {
            let hits: Vec<usize> =
                cands.iter().copied().filter(|&c| table.columns[c].words.iter().any(|w| w == word)).collect();
            if hits.len() == 1 {
                return Ok(Some(hits[0]));
            }
        }
        let names: Vec<String> = cands.iter().map(|&c| model.qualified((t, c))).collect();
        decline(format!("\"{}\" could be {}; name the column", concept.noun(), names.join(" or ")))
    };
    Ok(match concept {
        Concept::Money => {
            let money = pick(ids(&|c| c.role.money), &["amount", "total", "revenu", "sal"])?;
            match money {
                Some(c) => Some(ConceptCol::Col((t, c))),
                None => {
                    let price = pick(ids(&|c| c.role.price), &["unit", "pric"])?;
                    let quantity = pick(ids(&|c| c.role.quantity), &["quantity"])?;
                    match (price, quantity) {
                        (Some(p), Some(q)) => Some(ConceptCol::Product((t, p), (t, q))),
                        _ => None,
                    }
                }
            }
        }
        Concept::Price => pick(ids(&|c| c.role.price), &["unit", "pric"])?.map(|c| ConceptCol::Col((t, c))),
        Concept::Quantity => pick(ids(&|c| c.role.quantity), &["quantity"])?.map(|c| ConceptCol::Col((t, c))),
        Concept::Duration => {
            pick(ids(&|c| c.role.duration), &["duration", "millisecond", "length"])?.map(|c| ConceptCol::Col((t, c)))
        }
        Concept::Size => pick(ids(&|c| c.role.size), &["byt", "size"])?.map(|c| ConceptCol::Col((t, c))),
        Concept::When => {
            let dates = ids(&|c| c.role.date);
            if dates.len() <= 1 {
                dates.first().map(|&c| ConceptCol::Col((t, c)))
            } else {
                // The table's own date (`order_date` of orders), or one named plainly (`date`, `created_at`).
                let own: Vec<usize> = dates
                    .iter()
                    .copied()
                    .filter(|&c| {
                        let words = &table.columns[c].words;
                        words.starts_with(&table.words)
                            || words.len() == 1
                            || words.iter().any(|w| w == "creat" || w == "created")
                    })
                    .collect();
                if own.len() == 1 {
                    Some(ConceptCol::Col((t, own[0])))
                } else {
                    let names: Vec<String> = dates.iter().map(|&c| model.qualified((t, c))).collect();
                    return decline(format!(
                        "which date of {}: {}? Name it (e.g. \"{} in 2024\")",
                        table.name,
                        names.join(" or "),
                        table.columns[dates[0]].name.replace('_', " ")
                    ));
                }
            }
        }
    })
}

pub fn singular(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    if let Some(base) = last.strip_suffix("ies") {
        format!("{base}y")
    } else if last.ends_with("ss") || last.ends_with("us") {
        last.to_owned()
    } else {
        last.strip_suffix('s').filter(|b| !b.is_empty()).unwrap_or(last).to_owned()
    }
}

/// Chooses the table to read and every column, and builds the plan. Tries each table that could hold the
/// measures (or the listed table) and keeps the cheapest reading; declines when none works.
pub fn resolve(intent: &Intent, model: &Model) -> Result<(Spec, Vec<String>)> {
    let mut intent = intent.clone();
    let subject = intent.subject.as_deref().and_then(|s| model.table_index(s));
    // A rank with no measure: by a count (`the most tracks`), or by a column of the subject itself (a list
    // sorted by it, `most expensive products`), or by an amount on rows that refer to the subject (`customers
    // who spent the most`: their orders' amounts summed).
    let mut list_order: Option<(Target, bool)> = None;
    if let Some(rank) = intent.rank.clone() {
        // `which country has the most customers`, `which country's customers spent the most`: the column asked
        // about is what is ranked, unless the ranking is by a column of the subject itself (a sorted list).
        if intent.dims.is_empty() && !intent.list_cols.is_empty() {
            let ranked_by_count = matches!(rank.by, Some(RankBy::CountOf(_)));
            let ranked_by_total = matches!(&rank.by, Some(RankBy::Target(t))
                if !matches!(t, Target::Concept(Concept::When)) && !subject.is_some_and(|s| target_on_table(model, t, s)));
            if ranked_by_count || ranked_by_total || (!intent.measures.is_empty() && intent.subject.is_none()) {
                intent.dims = intent.list_cols.drain(..).map(DimReq::Group).collect();
                // `which country ...` wants one answer, `which countries ...` several.
                intent.subject_plural = intent.list_plural;
            }
        }
        if intent.measures.is_empty() {
            match &rank.by {
                Some(RankBy::CountOf(table)) => {
                    intent.measures.push(MeasureReq { agg: Agg::Count, target: Some(Target::Table(table.clone())) });
                    if intent.dims.is_empty() {
                        match &intent.subject {
                            Some(s) if s != table => intent.dims.push(DimReq::Group(Target::Table(s.clone()))),
                            _ => {
                                return decline(format!(
                                    "the most {table} of what? Say what to rank (e.g. \"which customer has the most {table}\")"
                                ));
                            }
                        }
                    }
                }
                Some(RankBy::Target(target)) => {
                    let on_subject = subject.is_some_and(|s| target_on_table(model, target, s));
                    if intent.when && matches!(target, Target::Concept(Concept::When)) && intent.dims.is_empty() {
                        let agg = if rank.desc { Agg::Max } else { Agg::Min };
                        intent.measures.push(MeasureReq { agg, target: Some(target.clone()) });
                        intent.rank = None;
                    } else if intent.dims.is_empty() && on_subject {
                        list_order = Some((target.clone(), rank.desc));
                    } else if intent.dims.is_empty() && subject.is_none() {
                        let agg = if rank.desc { Agg::Max } else { Agg::Min };
                        intent.measures.push(MeasureReq { agg, target: Some(target.clone()) });
                        intent.rank = None;
                    } else {
                        if !matches!(target, Target::Concept(Concept::Money | Concept::Quantity) | Target::Cols(_)) {
                            return decline(format!(
                                "rank {} by which total of their {}? Ask e.g. \"top 5 ... by average {}\"",
                                intent.subject.as_deref().unwrap_or("rows"),
                                target_words(target),
                                target_words(target)
                            ));
                        }
                        intent.measures.push(MeasureReq { agg: Agg::Sum, target: Some(target.clone()) });
                        if intent.dims.is_empty()
                            && let Some(s) = &intent.subject
                        {
                            intent.dims.push(DimReq::Group(Target::Table(s.clone())));
                        }
                    }
                }
                None => {
                    if intent.dims.is_empty() && intent.limit.is_none() {
                        return decline(
                            "top by what? Say what to rank by, e.g. \"top 5 customers by revenue\" or \"the 3 most expensive products\"",
                        );
                    }
                }
            }
        }
    }
    // `top 10 customers by total spent`: the measure is explicit, the ranked subject is the group.
    if intent.rank.is_some()
        && intent.dims.is_empty()
        && !intent.measures.is_empty()
        && let Some(s) = &intent.subject
    {
        let counts_subject = intent
            .measures
            .iter()
            .all(|m| m.agg == Agg::Count && (m.target.is_none() || m.target == Some(Target::Table(s.clone()))));
        if !counts_subject {
            intent.dims.push(DimReq::Group(Target::Table(s.clone())));
        }
    }
    if !intent.dims.is_empty() && intent.measures.is_empty() && !intent.distinct {
        intent.measures.push(MeasureReq { agg: Agg::Count, target: None });
    }
    let aggregate = !intent.measures.is_empty() || intent.distinct && !intent.dims.is_empty();
    if intent.distinct
        && intent.dims.is_empty()
        && let Some(cols) = intent.list_cols.first().cloned()
    {
        intent.dims.push(DimReq::Group(cols));
        intent.list_cols.remove(0);
    }

    // Candidate tables to read.
    let mentioned: Vec<usize> = intent.mentioned.iter().filter_map(|t| model.table_index(t)).collect();
    let named = named_tables(&intent, model, &mentioned);
    let mut candidates: Vec<usize> = Vec::new();
    if aggregate {
        let mut sets: Vec<Vec<usize>> = Vec::new();
        for m in &intent.measures {
            let set: Vec<usize> = match &m.target {
                None => match subject {
                    Some(s) => reaching(model, s).into_iter().filter(|&b| b == s || named.contains(&b)).collect(),
                    None => {
                        return decline(format!(
                            "what should be counted? Name a table (tables: {})",
                            outline(model, &(0..model.tables.len().min(12)).collect::<Vec<_>>(), 8)
                        ));
                    }
                },
                // Counted directly, or as distinct keys in a table the question names (`customers who placed
                // orders`), never through a table it does not name.
                Some(Target::Table(name)) => model
                    .table_index(name)
                    .map(|t| {
                        reaching(model, t)
                            .into_iter()
                            .filter(|&b| b == t || named.contains(&b) || is_link(model, b))
                            .collect()
                    })
                    .unwrap_or_default(),
                Some(Target::Cols(cols)) => {
                    // A column many tables have (`amount`) is looked for in the tables the question names first.
                    let holders: Vec<usize> = cols.iter().filter_map(|c| model.table_index(&c.col.table)).collect();
                    let named: Vec<usize> = holders.iter().copied().filter(|t| named.contains(t)).collect();
                    if named.is_empty() { holders } else { named }
                }
                Some(Target::Concept(c)) => {
                    let holders: Vec<usize> = (0..model.tables.len())
                        .filter(|&t| matches!(concept_column(model, t, *c), Ok(Some(_)) | Err(_)))
                        .collect();
                    // A concept is looked for in the tables the question names first.
                    let named: Vec<usize> =
                        holders.iter().copied().filter(|t| mentioned.contains(t) || Some(*t) == subject).collect();
                    if named.is_empty() { holders } else { named }
                }
            };
            sets.push(set);
        }
        if intent.measures.is_empty() {
            // Distinct values: read the table of the first group.
            if let Some(DimReq::Group(Target::Cols(cols))) = intent.dims.first() {
                sets.push(cols.iter().filter_map(|c| model.table_index(&c.col.table)).collect());
            }
        }
        candidates = sets.first().cloned().unwrap_or_default();
        for set in &sets[1.min(sets.len())..] {
            candidates.retain(|t| set.contains(t));
        }
        candidates.dedup();
        if candidates.is_empty() {
            let m = intent.measures.first();
            return decline(match m.and_then(|m| m.target.as_ref()) {
                Some(Target::Concept(c)) => format!(
                    "no table here holds a {}; name the column to {} (tables: {})",
                    c.noun(),
                    m.map_or("sum", |m| m.agg.verb()),
                    outline(model, &(0..model.tables.len().min(12)).collect::<Vec<_>>(), 8)
                ),
                _ => format!(
                    "what should be counted? Name a table (tables: {})",
                    outline(model, &(0..model.tables.len().min(12)).collect::<Vec<_>>(), 8)
                ),
            });
        }
    } else {
        if subject.is_none()
            && let Some(Target::Cols(cols)) = intent.list_cols.first()
        {
            let mut tables: Vec<&str> = cols.iter().map(|c| c.col.table.as_str()).collect();
            tables.dedup();
            if tables.len() > 1 {
                let names: Vec<String> = cols.iter().map(|c| c.col.to_string()).collect();
                return decline(format!(
                    "\"{}\" could be {}; name the table (e.g. \"{} of {}\")",
                    target_words(&intent.list_cols[0]),
                    names.join(" or "),
                    target_words(&intent.list_cols[0]),
                    tables[0]
                ));
            }
        }
        let listed = subject.or_else(|| {
            intent.list_cols.iter().find_map(|t| match t {
                Target::Cols(cols) => cols.first().and_then(|c| model.table_index(&c.col.table)),
                _ => None,
            })
        });
        match listed {
            Some(t) => candidates.push(t),
            None => {
                return decline(format!(
                    "what should be listed or counted? Name a table (tables: {})",
                    outline(model, &(0..model.tables.len().min(12)).collect::<Vec<_>>(), 8)
                ));
            }
        }
    }

    let mut best: Option<(f64, Spec, Vec<String>)> = None;
    let mut first_error: Option<Decline> = None;
    for &base in &candidates {
        match build(&intent, model, base, subject, &mentioned, aggregate, list_order.clone()) {
            Ok((spec, score, notes)) => {
                let better = match &best {
                    None => true,
                    Some((s, _, _)) => score < *s - 1e-9,
                };
                if better {
                    best = Some((score, spec, notes));
                }
            }
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    match best {
        Some((_, spec, notes)) => Ok((spec, notes)),
        None => Err(first_error.unwrap_or_else(|| Decline("the question fits no table of this source".into()))),
    }
}

/// A table that only links two others (`playlist_track`): every column a key or a reference.
fn is_link(model: &Model, t: usize) -> bool {
    let table = &model.tables[t];
    model.edges.iter().filter(|e| e.from.0 == t).count() >= 2 && table.columns.iter().all(|c| c.role.key)
}

/// The tables a question names: by name, or by naming one of their columns.
fn named_tables(intent: &Intent, model: &Model, mentioned: &[usize]) -> Vec<usize> {
    let mut named = mentioned.to_vec();
    let mut add = |target: &Target| {
        if let Target::Cols(cols) = target {
            for c in cols {
                if let Some(t) = model.table_index(&c.col.table)
                    && !named.contains(&t)
                {
                    named.push(t);
                }
            }
        }
    };
    for m in &intent.measures {
        if let Some(t) = &m.target {
            add(t);
        }
    }
    for d in &intent.dims {
        match d {
            DimReq::Group(t) | DimReq::Bucket(Some(t), _) => add(t),
            DimReq::Bucket(None, _) => {}
        }
    }
    for f in &intent.filters {
        if !matches!(f.cond, Cond::Place(_)) {
            add(&f.target);
        }
    }
    for t in &intent.list_cols {
        add(t);
    }
    named
}

/// `t` and every table that reaches it along many-to-one joins (where its rows can be counted as distinct keys).
fn reaching(model: &Model, t: usize) -> Vec<usize> {
    model.reaching(t)
}

fn target_on_table(model: &Model, target: &Target, t: usize) -> bool {
    match target {
        Target::Cols(cols) => cols.iter().any(|c| model.table_index(&c.col.table) == Some(t)),
        Target::Concept(c) => matches!(concept_column(model, t, *c), Ok(Some(_)) | Err(_)),
        Target::Table(name) => model.table_index(name) == Some(t),
    }
}

fn target_words(target: &Target) -> String {
    match target {
        Target::Table(t) => t.clone(),
        Target::Cols(cols) => cols.first().map_or_else(String::new, |c| c.col.column.replace('_', " ")),
        Target::Concept(c) => c.noun().to_owned(),
    }
}

#[allow(clippy::too_many_arguments)]
fn build(
    intent: &Intent,
    model: &Model,
    base: usize,
    subject: Option<usize>,
    mentioned: &[usize],
    aggregate: bool,
    list_order: Option<(Target, bool)>,
) -> Result<(Spec, f64, Vec<String>)> {
    let mut ctx = Ctx {
        model,
        base,
        reach: model.paths_from(base),
        mentioned: mentioned.to_vec(),
        needed: Vec::new(),
        score: 0.0,
        notes: Vec::new(),
    };
    // `items sold per category` counted from products alone would count products, not sales.
    if intent.soft && model.edges.iter().all(|e| e.from.0 != base) {
        return decline(format!(
            "the question speaks of something happening (sold, placed, bought), but {} records no events; ask about \
             the table that does (e.g. \"quantity sold per category\")",
            model.tables[base].name
        ));
    }
    if intent.dims.iter().filter(|d| matches!(d, DimReq::Bucket(..))).count() > 1 {
        return decline("one time unit at a time: by day, week, month, quarter or year");
    }
    for &t in mentioned {
        if ctx.distance(t).is_none() {
            return decline(format!(
                "{} and {} are not joined many-to-one (no foreign key or <table>_id column leads from the one to the \
                 other), so the planner cannot combine them without counting rows twice",
                model.tables[base].name, model.tables[t].name
            ));
        }
    }
    let mut outputs: Vec<Output> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut unique = |name: String, table: &str| -> String {
        let mut candidate = name.clone();
        if names.contains(&candidate) {
            candidate = format!("{}_{name}", singular(table));
        }
        let mut n = 2;
        while names.contains(&candidate) {
            candidate = format!("{name}_{n}");
            n += 1;
        }
        names.push(candidate.clone());
        candidate
    };
    let mut dim_names: Vec<String> = Vec::new();
    let mut bucket_names: Vec<String> = Vec::new();
    let mut date_col: Option<ColId> = None;

    // Filters first: a date filter and a time bucket share the plan's date.
    let mut filters = Vec::new();
    for f in &intent.filters {
        filters.push(filter(&mut ctx, f, &mut date_col)?);
    }
    if aggregate {
        for dim in &intent.dims {
            match dim {
                DimReq::Group(Target::Table(name))
                    if model.table_index(name) == Some(base) && intent.measures.iter().all(|m| m.agg == Agg::Avg) =>
                {
                    // `average quantity per order`, read from orders: the average over its rows.
                    ctx.notes.push(format!("per {} read as over all its rows", model.tables[base].name));
                }
                DimReq::Group(Target::Table(name)) => {
                    let t = ctx.table(name)?;
                    let table = &model.tables[t];
                    let mut cols: Vec<usize> = table.key.into_iter().collect();
                    cols.extend(table.label.iter().copied().filter(|c| Some(*c) != table.key));
                    if cols.is_empty() {
                        return decline(format!("{} has no key or name column to group by; name a column", table.name));
                    }
                    for c in cols {
                        let col = ctx.col((t, c));
                        let name = unique(col.column.clone(), &col.table);
                        dim_names.push(name.clone());
                        outputs.push(Output::Col { col, name });
                    }
                    ctx.notes.push(format!("per {} (its key and name)", table.name));
                }
                DimReq::Group(target) => {
                    let id = match target {
                        Target::Cols(cols) => ctx.pick(cols, &target_words(target))?,
                        Target::Concept(c) => match ctx.concept(*c)? {
                            ConceptCol::Col(id) => id,
                            ConceptCol::Product(..) => return decline("group by a column, not by a computed amount"),
                        },
                        Target::Table(name) => return decline(format!("name a column of {name}")),
                    };
                    let col = ctx.col(id);
                    let name = unique(col.column.clone(), &col.table);
                    dim_names.push(name.clone());
                    ctx.notes.push(format!("per {col}"));
                    outputs.push(Output::Col { col, name });
                }
                DimReq::Bucket(target, unit) => {
                    let id = match target {
                        Some(Target::Cols(cols)) => {
                            ctx.pick(cols, &target_words(target.as_ref().unwrap_or(&Target::Concept(Concept::When))))?
                        }
                        _ => match date_col {
                            Some(id) => id,
                            None => match ctx.concept(Concept::When)? {
                                ConceptCol::Col(id) => id,
                                ConceptCol::Product(..) => return decline("no date to group by"),
                            },
                        },
                    };
                    if !model.column(id).role.date {
                        return decline(format!("{} is not a date, so it has no {}", model.qualified(id), unit.noun()));
                    }
                    date_col.get_or_insert(id);
                    let col = ctx.col(id);
                    let name = unique(unit.noun().to_owned(), &col.table);
                    bucket_names.push(name.clone());
                    ctx.notes.push(format!("per {} of {col}", unit.noun()));
                    outputs.push(Output::Bucket { col, unit: *unit, name });
                }
            }
        }
        for m in &intent.measures {
            outputs.push(measure(&mut ctx, m, subject, &mut unique)?);
        }
        // A column named again (`total length of tracks in milliseconds`) is fine; any other is not placed.
        let used: Vec<&Col> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Measure { expr: Some(e), .. } => Some(e.columns()),
                _ => None,
            })
            .flatten()
            .chain(filters.iter().flat_map(Filter::columns))
            .collect();
        for target in intent.list_cols.iter().filter(|_| !intent.distinct) {
            let restated = match target {
                Target::Cols(cols) => cols.iter().any(|c| used.contains(&&c.col)),
                _ => false,
            };
            if !restated {
                let words = target_words(target);
                return decline(format!(
                    "could not use \"{words}\" in this question: group by it (\"by {words}\") or filter on it \
                     (\"{words} 'value'\")"
                ));
            }
        }
    } else {
        // A list: the subject's columns (or the ones named), in schema order.
        let table = &model.tables[base];
        let mut cols: Vec<ColId> = Vec::new();
        for target in &intent.list_cols {
            let id = match target {
                Target::Cols(cols) => ctx.pick(cols, &target_words(target))?,
                Target::Concept(c) => match ctx.concept(*c)? {
                    ConceptCol::Col(id) => id,
                    ConceptCol::Product(..) => return decline("list columns, not a computed amount"),
                },
                Target::Table(name) => return decline(format!("name a column of {name}")),
            };
            if !cols.contains(&id) {
                cols.push(id);
            }
        }
        if cols.is_empty() {
            cols = (0..table.columns.len()).filter(|&c| table.columns[c].name != "_id").map(|c| (base, c)).collect();
        } else if let Some(key) = table.key
            && !cols.contains(&(base, key))
        {
            cols.insert(0, (base, key));
        }
        for id in cols {
            let col = ctx.col(id);
            let name = unique(col.column.clone(), &col.table);
            outputs.push(Output::Col { col, name });
        }
    }
    if let Some(s) = subject
        && ctx.distance(s).is_none()
    {
        return decline(format!(
            "{} cannot be reached from {} along many-to-one joins",
            model.tables[s].name, model.tables[base].name
        ));
    }

    // Order and limit.
    let mut order = Vec::new();
    let mut limit = None;
    let measure_names: Vec<String> = outputs.iter().filter(|o| o.is_measure()).map(|o| o.name().to_owned()).collect();
    if aggregate {
        if let Some(rank) = &intent.rank {
            if let Some(first) = measure_names.first() {
                order.push(Sort { output: first.clone(), desc: rank.desc });
            }
            limit = Some(rank.n.unwrap_or(if rank.top_word || intent.subject_plural { 10 } else { 1 }));
            for name in bucket_names.iter().chain(&dim_names) {
                order.push(Sort { output: name.clone(), desc: false });
            }
        } else if !bucket_names.is_empty() {
            for name in bucket_names.iter().chain(&dim_names) {
                order.push(Sort { output: name.clone(), desc: false });
            }
        } else if !dim_names.is_empty() {
            if let Some(first) = measure_names.first() {
                order.push(Sort { output: first.clone(), desc: true });
            }
            for name in &dim_names {
                order.push(Sort { output: name.clone(), desc: false });
            }
        }
        if intent.limit.is_some() {
            limit = intent.limit;
        }
    } else {
        let key = model.tables[base].key.map(|k| ctx.col((base, k)));
        if let Some((target, desc)) = &list_order {
            let id = match target {
                Target::Cols(cols) => ctx.pick(cols, &target_words(target))?,
                Target::Concept(c) => match ctx.concept(*c)? {
                    ConceptCol::Col(id) if id.0 == base => id,
                    _ => {
                        return decline(format!(
                            "{} has no single {} column to sort by",
                            model.tables[base].name,
                            c.noun()
                        ));
                    }
                },
                Target::Table(name) => return decline(format!("name a column of {name}")),
            };
            let col = ctx.col(id);
            let name = match outputs.iter().find(|o| matches!(o, Output::Col { col: c, .. } if *c == col)) {
                Some(o) => o.name().to_owned(),
                None => {
                    let name = unique(col.column.clone(), &col.table);
                    outputs.push(Output::Col { col: col.clone(), name: name.clone() });
                    name
                }
            };
            ctx.notes.push(format!("sorted by {col}, {}", if *desc { "highest first" } else { "lowest first" }));
            order.push(Sort { output: name, desc: *desc });
            let rank = intent.rank.as_ref();
            limit = Some(
                rank.and_then(|r| r.n)
                    .or(intent.limit)
                    .unwrap_or(if rank.is_some_and(|r| r.top_word) || intent.subject_plural { 10 } else { 1 }),
            );
        } else {
            limit = if intent.all { None } else { Some(intent.limit.unwrap_or(100)) };
        }
        if let Some(key) = key
            && let Some(o) = outputs.iter().find(|o| matches!(o, Output::Col { col, .. } if *col == key))
        {
            let name = o.name().to_owned();
            if !order.iter().any(|s: &Sort| s.output == name) {
                order.push(Sort { output: name, desc: false });
            }
        }
    }

    let joins = joins(&ctx)?;
    let spec = Spec {
        base: model.tables[base].name.clone(),
        joins,
        outputs,
        filters,
        distinct: intent.distinct && intent.measures.is_empty(),
        order,
        limit,
    };
    let score = ctx.score;
    Ok((spec, score, ctx.notes))
}

fn measure(
    ctx: &mut Ctx<'_>,
    m: &MeasureReq,
    subject: Option<usize>,
    unique: &mut impl FnMut(String, &str) -> String,
) -> Result<Output> {
    let model = ctx.model;
    let counted = match &m.target {
        None => Some(subject.unwrap_or(ctx.base)),
        Some(Target::Table(name)) => Some(model.table_index(name).ok_or_else(|| Decline(format!("no table {name}")))?),
        _ => None,
    };
    if let Some(t) = counted {
        let table = &model.tables[t];
        let name = unique(format!("{}_count", singular(&table.name)), &table.name);
        if t == ctx.base {
            ctx.notes.push(format!("counts rows of {}", table.name));
            return Ok(Output::Measure { agg: Agg::Count, expr: None, name, counts: Some(table.name.clone()) });
        }
        // Rows of `t` counted through the rows that refer to them: distinct keys.
        let path = ctx.reach.paths[t]
            .clone()
            .ok_or_else(|| Decline(format!("{} cannot be reached from {}", table.name, model.tables[ctx.base].name)))?;
        let last = *path.last().ok_or_else(|| Decline("empty join path".into()))?;
        ctx.score += 1.5 + path.len() as f64;
        if path.len() > 1 {
            ctx.need(path[path.len() - 2].to.0);
        }
        let col = ctx.col(last.from);
        ctx.notes.push(format!("counts distinct {} referenced by {}", table.name, model.tables[ctx.base].name));
        return Ok(Output::Measure {
            agg: Agg::CountDistinct,
            expr: Some(Expr::Col(col)),
            name,
            counts: Some(table.name.clone()),
        });
    }
    let (expr, words) = match &m.target {
        Some(Target::Cols(cols)) => {
            let id = ctx.pick(cols, &target_words(m.target.as_ref().unwrap_or(&Target::Concept(Concept::Money))))?;
            let role = model.column(id).role;
            let ok = match m.agg {
                Agg::Sum | Agg::Avg => role.numeric,
                Agg::Min | Agg::Max => role.numeric || role.date || role.text,
                Agg::Count | Agg::CountDistinct => true,
            };
            if !ok {
                return decline(format!("{} is not a number, so it has no {}", model.qualified(id), m.agg.verb()));
            }
            (Expr::Col(ctx.col(id)), model.column(id).name.clone())
        }
        Some(Target::Concept(c)) => match ctx.concept(*c)? {
            ConceptCol::Col(id) => (Expr::Col(ctx.col(id)), model.column(id).name.clone()),
            ConceptCol::Product(a, b) => {
                if !matches!(m.agg, Agg::Sum | Agg::Avg) {
                    return decline(format!(
                        "{} of a computed revenue ({} × {}) is not supported; name a column",
                        m.agg.verb(),
                        model.qualified(a),
                        model.qualified(b)
                    ));
                }
                (Expr::Product(ctx.col(a), ctx.col(b)), "revenue".to_owned())
            }
        },
        _ => return decline("a measure needs a column"),
    };
    let name = match m.agg {
        Agg::Sum => {
            if words == "revenue" || words.starts_with("total") {
                words.clone()
            } else {
                format!("total_{words}")
            }
        }
        Agg::Avg => format!("avg_{words}"),
        Agg::Min => format!("min_{words}"),
        Agg::Max => format!("max_{words}"),
        Agg::Count => format!("{words}_count"),
        Agg::CountDistinct => format!("distinct_{words}"),
    };
    let table = match &expr {
        Expr::Col(c) | Expr::Product(c, _) => c.table.clone(),
    };
    ctx.notes.push(format!("{} of {expr}", m.agg.verb()));
    let name = unique(name, &table);
    Ok(Output::Measure { agg: m.agg, expr: Some(expr), name, counts: None })
}

fn filter(ctx: &mut Ctx<'_>, f: &FilterReq, date_col: &mut Option<ColId>) -> Result<Filter> {
    let model = ctx.model;
    Ok(match (&f.cond, &f.target) {
        (Cond::Text { value, negated }, Target::Table(name)) => {
            let t = ctx.table(name)?;
            let table = &model.tables[t];
            let [label] = table.label.as_slice() else {
                return decline(format!(
                    "{} has no single name column to match '{value}' against; name the column (e.g. {} '{value}')",
                    table.name,
                    table.columns.iter().find(|c| c.role.text).map_or("name", |c| c.name.as_str())
                ));
            };
            let col = ctx.col((t, *label));
            ctx.notes.push(format!("{col} {} '{value}'", if *negated { "is not" } else { "is" }));
            Filter::Text { cols: vec![col], value: value.clone(), negated: *negated }
        }
        (Cond::Text { value, negated }, Target::Cols(cols)) => {
            let id = ctx.pick(cols, &target_words(&f.target))?;
            let col = ctx.col(id);
            ctx.notes.push(format!("{col} {} '{value}'", if *negated { "is not" } else { "is" }));
            Filter::Text { cols: vec![col], value: value.clone(), negated: *negated }
        }
        (Cond::Place(value), Target::Cols(cols)) => {
            // The nearest table with place columns (city, state, country); the value may be any of them.
            let mut best: Option<(f64, usize)> = None;
            let mut tie = false;
            let mut tables: Vec<usize> = cols.iter().filter_map(|c| model.table_index(&c.col.table)).collect();
            tables.dedup();
            for t in tables {
                let Some(d) = ctx.distance(t) else { continue };
                let score = d as f64 + if ctx.mentioned.contains(&t) || t == ctx.base { 0.0 } else { 0.2 };
                match best {
                    Some((s, _)) if (score - s).abs() < 1e-9 => tie = true,
                    Some((s, _)) if score > s => {}
                    _ => {
                        best = Some((score, t));
                        tie = false;
                    }
                }
            }
            let Some((score, t)) = best else {
                return decline(format!(
                    "\"{value}\" looks like a place, but {} reaches no city, state or country column; quote it after \
                     its column (e.g. country '{value}')",
                    model.tables[ctx.base].name
                ));
            };
            if tie {
                return decline(format!(
                    "\"{value}\" could be a place of more than one table; name the column (e.g. customer country '{value}')"
                ));
            }
            ctx.score += score;
            ctx.need(t);
            let place_cols: Vec<Col> =
                cols.iter().filter(|c| c.col.table == model.tables[t].name).map(|c| c.col.clone()).collect();
            let names: Vec<String> = place_cols.iter().map(ToString::to_string).collect();
            ctx.notes.push(format!("\"{value}\" as a place: {} (any of them)", names.join(", ")));
            Filter::Text { cols: place_cols, value: value.clone(), negated: false }
        }
        (Cond::Key(n), target) | (Cond::Number(CmpOp::Eq, n), target @ Target::Table(_)) => {
            let Target::Table(name) = target else { return decline("a key needs a table") };
            let id = key_column(ctx, name)?;
            let col = ctx.col(id);
            ctx.notes.push(format!("{col} = {}", show_number(*n)));
            Filter::Number { col, op: CmpOp::Eq, value: *n }
        }
        (Cond::Number(op, n), target) => {
            let id = match target {
                Target::Table(name) => key_column(ctx, name)?,
                Target::Cols(cols) => ctx.pick(cols, &target_words(target))?,
                Target::Concept(c) => match ctx.concept(*c)? {
                    ConceptCol::Col(id) => id,
                    ConceptCol::Product(..) => return decline("compare a column, not a computed amount"),
                },
            };
            let col = ctx.col(id);
            ctx.notes.push(format!("{col} {} {}", op.sql(), show_number(*n)));
            Filter::Number { col, op: *op, value: *n }
        }
        (Cond::Missing, Target::Cols(cols)) => {
            let id = ctx.pick(cols, &target_words(&f.target))?;
            let col = ctx.col(id);
            ctx.notes.push(format!("{col} is missing"));
            Filter::Missing { col }
        }
        (Cond::Between(a, b), target) => {
            let id = match target {
                Target::Cols(cols) => ctx.pick(cols, &target_words(target))?,
                Target::Concept(c) => match ctx.concept(*c)? {
                    ConceptCol::Col(id) => id,
                    ConceptCol::Product(..) => return decline("compare a column, not a computed amount"),
                },
                Target::Table(_) => return decline("between needs a column"),
            };
            let col = ctx.col(id);
            ctx.notes.push(format!("{col} between {} and {}", show_number(*a), show_number(*b)));
            Filter::Between { col, low: *a, high: *b }
        }
        (Cond::Dates(range), target) => {
            let id = match target {
                Target::Cols(cols) => ctx.pick(cols, &target_words(target))?,
                _ => match ctx.concept(Concept::When)? {
                    ConceptCol::Col(id) => id,
                    ConceptCol::Product(..) => return decline("no date column"),
                },
            };
            if !model.column(id).role.date {
                return decline(format!("{} is not a date", model.qualified(id)));
            }
            date_col.get_or_insert(id);
            let col = ctx.col(id);
            ctx.notes.push(format!("{col} {} ({})", range.text, range.describe()));
            Filter::Dates { col, range: range.clone() }
        }
        (cond, target) => {
            return decline(format!("cannot apply {cond:?} to {}", target_words(target)));
        }
    })
}

/// The column that holds a table's key from the base's point of view: the key itself on the base, else the
/// referring column of the last join (so `orders of customer 42` needs no join to customers).
fn key_column(ctx: &mut Ctx<'_>, name: &str) -> Result<ColId> {
    let model = ctx.model;
    let t = model.table_index(name).ok_or_else(|| Decline(format!("no table {name}")))?;
    let key = model.tables[t].key.ok_or_else(|| Decline(format!("{name} has no key column to match a number")))?;
    if t == ctx.base {
        return Ok((t, key));
    }
    let path = ctx.reach.paths[t]
        .clone()
        .ok_or_else(|| Decline(format!("{name} cannot be reached from {}", model.tables[ctx.base].name)))?;
    let last: Edge = *path.last().ok_or_else(|| Decline("empty join path".into()))?;
    if path.len() > 1 {
        ctx.need(path[path.len() - 2].to.0);
    }
    ctx.score += path.len() as f64;
    Ok(last.from)
}

/// The joins that reach every needed table, each table joined once, shortest paths first.
fn joins(ctx: &Ctx<'_>) -> Result<Vec<Join>> {
    let mut needed = ctx.needed.clone();
    needed.sort_by_key(|&t| ctx.distance(t).unwrap_or(usize::MAX));
    let mut joined: Vec<usize> = vec![ctx.base];
    let mut out = Vec::new();
    for t in needed {
        let path = ctx.reach.paths[t].clone().ok_or_else(|| {
            Decline(format!("{} cannot be reached from {}", ctx.model.tables[t].name, ctx.model.tables[ctx.base].name))
        })?;
        for edge in path {
            if joined.contains(&edge.to.0) {
                continue;
            }
            joined.push(edge.to.0);
            out.push(Join { from: ctx.col(edge.from), to: ctx.col(edge.to), declared: edge.declared });
        }
    }
    Ok(out)
}
