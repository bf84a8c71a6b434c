//! What a question asks, in the schema's terms but before a base table is chosen: the [`Intent`] that
//! `understand` reads from the words, `follow_up` merges into the previous turn's, and `resolve` turns into a
//! plan. Plain data, serializable, so a turn can be stored with its session. Also the planner's [`Decline`].

use serde::{Deserialize, Serialize};

use super::lexicon::{Concept, Unit};
use super::spec::{Agg, CmpOp, Col, DateRange};

/// Why the planner will not draft a query; the message says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decline(pub String);

/// The planner's results: a value, or a decline that says what to ask instead.
pub(super) type Result<T> = std::result::Result<T, Decline>;

pub(super) fn decline<T>(message: impl Into<String>) -> Result<T> {
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
pub struct FollowUpCues {
    /// A word that only a follow-up uses (`now`, `instead`, `split`, `also`).
    pub strong: bool,
    /// `instead`: replace the groups rather than add to them.
    pub instead: bool,
}

/// Adds `value` to `list` unless it is there already.
pub(super) fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// How a target reads in a message: a table's name, a column's words, a concept's noun.
pub(super) fn target_words(target: &Target) -> String {
    match target {
        Target::Table(t) => t.clone(),
        Target::Cols(cols) => cols.first().map_or_else(String::new, |c| c.col.column.replace('_', " ")),
        Target::Concept(c) => c.noun().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_intent_survives_storage_in_snake_case() {
        let intent = Intent {
            measures: vec![MeasureReq { agg: Agg::Sum, target: Some(Target::Concept(Concept::Money)) }],
            dims: vec![DimReq::Bucket(None, Unit::Month)],
            filters: vec![FilterReq { target: Target::Table("orders".into()), cond: Cond::Key(42.0) }],
            subject: Some("orders".into()),
            ..Intent::default()
        };
        let json = serde_json::to_string(&intent).unwrap();
        assert!(json.contains(r#""concept":"money""#) && json.contains(r#""bucket""#), "{json}");
        assert_eq!(serde_json::from_str::<Intent>(&json).unwrap(), intent);
        // Fields added after the first stored turns default when absent.
        let old = json.replace(r#","soft":false"#, "").replace(r#","list_plural":false"#, "");
        assert_eq!(serde_json::from_str::<Intent>(&old).unwrap(), intent);
    }

    #[test]
    fn targets_read_as_words() {
        let col = |c: &str| ColRef { col: Col { table: "orders".into(), column: c.into() }, exact: true };
        assert_eq!(target_words(&Target::Cols(vec![col("order_date")])), "order date");
        assert_eq!(target_words(&Target::Table("orders".into())), "orders");
        assert_eq!(target_words(&Target::Concept(Concept::Money)), "revenue");
    }
}
