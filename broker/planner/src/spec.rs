//! The plan structure: what a drafted query computes, independent of dialect. `resolve` builds it, `emit.rs`
//! writes it as SQL or a MongoDB document, and a follow-up question edits the previous turn's copy. Tables and
//! columns are named, not numbered, so a stored plan survives a schema refresh that reorders tables.

use serde::{Deserialize, Serialize};

use super::lexicon::{Date, Unit};

/// A column of a table, by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Col {
    pub table: String,
    pub column: String,
}

impl std::fmt::Display for Col {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

/// A many-to-one join from a table already in the plan to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    pub from: Col,
    pub to: Col,
    /// A declared foreign key, or inferred from the column's name.
    pub declared: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agg {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl Agg {
    pub fn verb(self) -> &'static str {
        match self {
            Agg::Count => "count",
            Agg::CountDistinct => "count of distinct",
            Agg::Sum => "sum",
            Agg::Avg => "average",
            Agg::Min => "minimum",
            Agg::Max => "maximum",
        }
    }
}

/// What a measure aggregates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    Col(Col),
    /// Price times quantity, as revenue where a table has no amount column.
    Product(Col, Col),
}

impl Expr {
    pub fn columns(&self) -> Vec<&Col> {
        match self {
            Expr::Col(c) => vec![c],
            Expr::Product(a, b) => vec![a, b],
        }
    }
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expr::Col(c) => write!(f, "{c}"),
            Expr::Product(a, b) => write!(f, "{a} × {b}"),
        }
    }
}

/// One column of the result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// A column as it is (a list's column, or a group key).
    Col { col: Col, name: String },
    /// A date column truncated to a calendar unit (a year is its number, any other unit its first day).
    Bucket { col: Col, unit: Unit, name: String },
    /// An aggregate; `expr` is `None` for `count(*)`. `counts` names the table whose rows a count counts.
    Measure { agg: Agg, expr: Option<Expr>, name: String, counts: Option<String> },
}

impl Output {
    pub fn name(&self) -> &str {
        match self {
            Output::Col { name, .. } | Output::Bucket { name, .. } | Output::Measure { name, .. } => name,
        }
    }

    pub fn is_measure(&self) -> bool {
        matches!(self, Output::Measure { .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl CmpOp {
    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "=",
        }
    }

    pub fn mongo(self) -> &'static str {
        match self {
            CmpOp::Lt => "$lt",
            CmpOp::Le => "$lte",
            CmpOp::Gt => "$gt",
            CmpOp::Ge => "$gte",
            CmpOp::Eq => "$eq",
        }
    }
}

/// A half-open date range `[from, to)`; either end may be open. `text` is how the question put it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub text: String,
}

impl DateRange {
    pub fn between(from: Date, to: Date, text: String) -> DateRange {
        DateRange { from: Some(from), to: Some(to), text }
    }

    pub fn day(d: Date) -> DateRange {
        DateRange::between(d, d.add_days(1), format!("on {d}"))
    }

    /// `2024-01-01 to 2024-12-31`, inclusive, for explanations.
    pub fn describe(&self) -> String {
        match (self.from, self.to) {
            (Some(a), Some(b)) => format!("{a} to {}", b.add_days(-1)),
            (Some(a), None) => format!("from {a}"),
            (None, Some(b)) => format!("up to {}", b.add_days(-1)),
            (None, None) => "any date".into(),
        }
    }
}

/// A condition on the rows read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Text equal to `value`, ignoring case; with `negated`, not equal. Over several columns (a place: city, state
    /// or country), any of them may match.
    Text { cols: Vec<Col>, value: String, negated: bool },
    /// A number compared with a value.
    Number { col: Col, op: CmpOp, value: f64 },
    /// A number within `[low, high]`.
    Between { col: Col, low: f64, high: f64 },
    /// A date within a range.
    Dates { col: Col, range: DateRange },
    /// No value (NULL, or a missing field on MongoDB).
    Missing { col: Col },
}

impl Filter {
    pub fn columns(&self) -> Vec<&Col> {
        match self {
            Filter::Text { cols, .. } => cols.iter().collect(),
            Filter::Number { col, .. }
            | Filter::Between { col, .. }
            | Filter::Dates { col, .. }
            | Filter::Missing { col } => vec![col],
        }
    }
}

/// A sort key: a result column by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub output: String,
    pub desc: bool,
}

/// A whole plan: read `base`, join along `joins`, keep rows passing every filter, and produce `outputs`
/// (grouped by the non-measure outputs when any output is a measure, or `distinct`), sorted and limited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub base: String,
    pub joins: Vec<Join>,
    pub outputs: Vec<Output>,
    pub filters: Vec<Filter>,
    /// Group keys without measures: distinct values.
    pub distinct: bool,
    pub order: Vec<Sort>,
    pub limit: Option<u64>,
}

impl Spec {
    pub fn grouped(&self) -> bool {
        self.distinct || self.outputs.iter().any(Output::is_measure)
    }

    /// Every table the plan reads: the base, then each joined table in join order.
    pub fn tables(&self) -> Vec<&str> {
        let mut tables = vec![self.base.as_str()];
        tables.extend(self.joins.iter().map(|j| j.to.table.as_str()));
        tables
    }
}
