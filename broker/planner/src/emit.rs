//! Writing a [`Spec`] in the source's language: PostgreSQL, MySQL/MariaDB or DuckDB SQL, or a MongoDB
//! `find`/`count`/`aggregate` document (`{"collection": "orders", "aggregate": [...]}`), and the plain-words
//! explanation that goes with it.
//!
//! Every identifier is quoted, every literal escaped; text comparisons ignore case (`lower(x) = 'v'`, an anchored
//! case-insensitive regex on MongoDB); dates are half-open ranges of literal dates, so the same plan means the
//! same rows on every engine.

use polystoreiq_protocol::types::Engine;
use serde_json::{Map, Value, json};

use super::lexicon::Unit;
use super::link::show_number;
use super::spec::{Agg, CmpOp, Col, Expr, Filter, Join, Output, Spec};

/// The query text for `engine`.
pub fn query(spec: &Spec, engine: Engine) -> Result<String, String> {
    match engine {
        Engine::Mongodb => mongo(spec),
        sql_engine => sql(spec, sql_engine),
    }
}

// ---- SQL -----------------------------------------------------------------------------------------------------

struct Sql<'a> {
    spec: &'a Spec,
    engine: Engine,
}

impl Sql<'_> {
    fn ident(&self, name: &str) -> String {
        if self.engine == Engine::Mysql {
            format!("`{}`", name.replace('`', "``"))
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    /// A table name; a schema-qualified one (`sales.orders`) is quoted part by part.
    fn table(&self, name: &str) -> String {
        name.split('.').map(|part| self.ident(part)).collect::<Vec<_>>().join(".")
    }

    fn alias(&self, table: &str) -> String {
        let index = self.spec.tables().iter().position(|t| *t == table).unwrap_or(0);
        format!("t{index}")
    }

    fn col(&self, col: &Col) -> String {
        format!("{}.{}", self.alias(&col.table), self.ident(&col.column))
    }

    fn literal(&self, text: &str) -> Result<String, String> {
        if self.engine == Engine::Mysql && text.contains('\\') {
            // MySQL reads a backslash in a string as an escape unless NO_BACKSLASH_ESCAPES is set; which it is
            // cannot be known here, so such a value is refused rather than misread.
            return Err(format!("the value '{text}' contains a backslash, which MySQL may read as an escape"));
        }
        Ok(format!("'{}'", text.replace('\'', "''")))
    }

    fn expr(&self, expr: &Expr) -> String {
        match expr {
            Expr::Col(c) => self.col(c),
            Expr::Product(a, b) => format!("{} * {}", self.col(a), self.col(b)),
        }
    }

    fn bucket(&self, col: &Col, unit: Unit) -> String {
        let x = self.col(col);
        match (self.engine, unit) {
            (Engine::Mysql, Unit::Year) => format!("YEAR({x})"),
            (Engine::Mysql, Unit::Month) => format!("CAST(DATE_FORMAT({x}, '%Y-%m-01') AS DATE)"),
            (Engine::Mysql, Unit::Day) => format!("DATE({x})"),
            (Engine::Mysql, Unit::Week) => format!("DATE_SUB(DATE({x}), INTERVAL WEEKDAY({x}) DAY)"),
            (Engine::Mysql, Unit::Quarter) => {
                format!("DATE_ADD(MAKEDATE(YEAR({x}), 1), INTERVAL ((QUARTER({x}) - 1) * 3) MONTH)")
            }
            (Engine::Postgres, Unit::Year) => format!("CAST(EXTRACT(YEAR FROM {x}) AS integer)"),
            (Engine::Postgres, unit) => format!("CAST(date_trunc('{}', {x}) AS date)", unit.noun()),
            (_, Unit::Year) => format!("CAST(EXTRACT(YEAR FROM {x}) AS INTEGER)"),
            (_, unit) => format!("CAST(date_trunc('{}', {x}) AS DATE)", unit.noun()),
        }
    }

    fn output(&self, output: &Output) -> String {
        match output {
            Output::Col { col, .. } => self.col(col),
            Output::Bucket { col, unit, .. } => self.bucket(col, *unit),
            Output::Measure { agg, expr, .. } => {
                let inner = expr.as_ref().map_or("*".to_owned(), |e| self.expr(e));
                match agg {
                    Agg::Count => format!("count({inner})"),
                    Agg::CountDistinct => format!("count(DISTINCT {inner})"),
                    Agg::Sum => format!("sum({inner})"),
                    Agg::Avg => format!("avg({inner})"),
                    Agg::Min => format!("min({inner})"),
                    Agg::Max => format!("max({inner})"),
                }
            }
        }
    }

    fn filter(&self, filter: &Filter) -> Result<String, String> {
        Ok(match filter {
            Filter::Text { cols, value, negated } => {
                let value = self.literal(&value.to_lowercase())?;
                let op = if *negated { "<>" } else { "=" };
                let parts: Vec<String> = cols.iter().map(|c| format!("lower({}) {op} {value}", self.col(c))).collect();
                match parts.as_slice() {
                    [one] => one.clone(),
                    many => format!("({})", many.join(if *negated { " AND " } else { " OR " })),
                }
            }
            Filter::Number { col, op, value } => format!("{} {} {}", self.col(col), op.sql(), show_number(*value)),
            Filter::Between { col, low, high } => {
                format!("{} BETWEEN {} AND {}", self.col(col), show_number(*low), show_number(*high))
            }
            Filter::Missing { col } => format!("{} IS NULL", self.col(col)),
            Filter::Dates { col, range } => {
                let mut parts = Vec::new();
                if let Some(from) = range.from {
                    parts.push(format!("{} >= DATE '{from}'", self.col(col)));
                }
                if let Some(to) = range.to {
                    parts.push(format!("{} < DATE '{to}'", self.col(col)));
                }
                parts.join(" AND ")
            }
        })
    }

    fn join(&self, join: &Join) -> String {
        format!(
            "JOIN {} AS {} ON {} = {}",
            self.table(&join.to.table),
            self.alias(&join.to.table),
            self.col(&join.to),
            self.col(&join.from)
        )
    }
}

fn sql(spec: &Spec, engine: Engine) -> Result<String, String> {
    let q = Sql { spec, engine };
    let select: Vec<String> =
        spec.outputs.iter().map(|o| format!("{} AS {}", q.output(o), q.ident(o.name()))).collect();
    let mut text = format!(
        "SELECT {}{} FROM {} AS t0",
        if spec.distinct { "DISTINCT " } else { "" },
        select.join(", "),
        q.table(&spec.base)
    );
    for join in &spec.joins {
        text.push(' ');
        text.push_str(&q.join(join));
    }
    let filters = spec.filters.iter().map(|f| q.filter(f)).collect::<Result<Vec<_>, _>>()?;
    if !filters.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&filters.join(" AND "));
    }
    if spec.grouped() && !spec.distinct {
        let keys: Vec<String> = spec.outputs.iter().filter(|o| !o.is_measure()).map(|o| q.output(o)).collect();
        if !keys.is_empty() {
            text.push_str(" GROUP BY ");
            text.push_str(&keys.join(", "));
        }
    }
    if !spec.order.is_empty() {
        let order: Vec<String> =
            spec.order.iter().map(|s| format!("{}{}", q.ident(&s.output), if s.desc { " DESC" } else { "" })).collect();
        text.push_str(" ORDER BY ");
        text.push_str(&order.join(", "));
    }
    if let Some(limit) = spec.limit {
        text.push_str(&format!(" LIMIT {limit}"));
    }
    Ok(text)
}

// ---- MongoDB -------------------------------------------------------------------------------------------------

/// The field that holds a joined table's document after its `$lookup`.
fn lookup_field(table: &str) -> String {
    format!("_{}", table.replace('.', "_"))
}

fn path(spec: &Spec, col: &Col) -> String {
    if col.table == spec.base { col.column.clone() } else { format!("{}.{}", lookup_field(&col.table), col.column) }
}

fn field(spec: &Spec, col: &Col) -> Value {
    Value::String(format!("${}", path(spec, col)))
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 { json!(n as i64) } else { json!(n) }
}

fn date(d: super::lexicon::Date) -> Value {
    json!({ "$date": format!("{d}T00:00:00Z") })
}

fn mongo_filter(spec: &Spec, filter: &Filter) -> Value {
    match filter {
        Filter::Text { cols, value, negated } => {
            let regex = json!({ "$regex": format!("^{}$", regex_escape(value)), "$options": "i" });
            let cond = if *negated { json!({ "$not": regex }) } else { regex };
            let parts: Vec<Value> = cols.iter().map(|c| json!({ path(spec, c): cond.clone() })).collect();
            match parts.len() {
                1 => parts.into_iter().next().unwrap_or(Value::Null),
                _ if *negated => json!({ "$and": parts }),
                _ => json!({ "$or": parts }),
            }
        }
        Filter::Number { col, op: CmpOp::Eq, value } => json!({ path(spec, col): number(*value) }),
        Filter::Number { col, op, value } => json!({ path(spec, col): { op.mongo(): number(*value) } }),
        Filter::Between { col, low, high } => {
            json!({ path(spec, col): { "$gte": number(*low), "$lte": number(*high) } })
        }
        Filter::Missing { col } => json!({ path(spec, col): Value::Null }),
        Filter::Dates { col, range } => {
            let mut bounds = Map::new();
            if let Some(from) = range.from {
                bounds.insert("$gte".into(), date(from));
            }
            if let Some(to) = range.to {
                bounds.insert("$lt".into(), date(to));
            }
            json!({ path(spec, col): bounds })
        }
    }
}

fn and(parts: Vec<Value>) -> Value {
    match parts.len() {
        0 => json!({}),
        1 => parts.into_iter().next().unwrap_or_else(|| json!({})),
        _ => json!({ "$and": parts }),
    }
}

fn accumulator(spec: &Spec, agg: Agg, expr: Option<&Expr>) -> Value {
    let value = match expr {
        None => json!(1),
        Some(Expr::Col(c)) => field(spec, c),
        Some(Expr::Product(a, b)) => json!({ "$multiply": [field(spec, a), field(spec, b)] }),
    };
    match agg {
        Agg::Count => json!({ "$sum": 1 }),
        Agg::CountDistinct => json!({ "$addToSet": value }),
        Agg::Sum => json!({ "$sum": value }),
        Agg::Avg => json!({ "$avg": value }),
        Agg::Min => json!({ "$min": value }),
        Agg::Max => json!({ "$max": value }),
    }
}

fn bucket(spec: &Spec, col: &Col, unit: Unit) -> Value {
    match unit {
        Unit::Year => json!({ "$year": field(spec, col) }),
        Unit::Week => json!({ "$dateTrunc": { "date": field(spec, col), "unit": "week", "startOfWeek": "monday" } }),
        unit => json!({ "$dateTrunc": { "date": field(spec, col), "unit": unit.noun() } }),
    }
}

fn mongo(spec: &Spec) -> Result<String, String> {
    let base_filters: Vec<Value> = spec
        .filters
        .iter()
        .filter(|f| f.columns().iter().all(|c| c.table == spec.base))
        .map(|f| mongo_filter(spec, f))
        .collect();
    let joined_filters: Vec<Value> = spec
        .filters
        .iter()
        .filter(|f| f.columns().iter().any(|c| c.table != spec.base))
        .map(|f| mongo_filter(spec, f))
        .collect();
    let measures: Vec<&Output> = spec.outputs.iter().filter(|o| o.is_measure()).collect();
    // A plain count: MongoDB's own count operation (its result column is `count`).
    if spec.joins.is_empty()
        && spec.outputs.len() == 1
        && let Some(Output::Measure { agg: Agg::Count, expr: None, .. }) = measures.first()
    {
        return Ok(json!({ "collection": spec.base, "count": and(base_filters) }).to_string());
    }
    if !spec.grouped() && spec.joins.is_empty() {
        let mut projection = Map::new();
        for o in &spec.outputs {
            if let Output::Col { col, .. } = o {
                projection.insert(col.column.clone(), json!(1));
            }
        }
        projection.insert("_id".into(), json!(0));
        let mut doc = Map::new();
        doc.insert("collection".into(), json!(spec.base));
        doc.insert("find".into(), and(base_filters));
        doc.insert("projection".into(), Value::Object(projection));
        if !spec.order.is_empty() {
            let sort: Map<String, Value> = spec
                .order
                .iter()
                .map(|s| {
                    let column = spec
                        .outputs
                        .iter()
                        .find(|o| o.name() == s.output)
                        .and_then(|o| match o {
                            Output::Col { col, .. } => Some(col.column.clone()),
                            _ => None,
                        })
                        .unwrap_or_else(|| s.output.clone());
                    (column, json!(if s.desc { -1 } else { 1 }))
                })
                .collect();
            doc.insert("sort".into(), Value::Object(sort));
        }
        if let Some(limit) = spec.limit {
            doc.insert("limit".into(), json!(limit));
        }
        return Ok(Value::Object(doc).to_string());
    }
    let mut stages: Vec<Value> = Vec::new();
    if !base_filters.is_empty() {
        stages.push(json!({ "$match": and(base_filters) }));
    }
    for join in &spec.joins {
        let local = path(spec, &join.from);
        let alias = lookup_field(&join.to.table);
        stages.push(json!({ "$lookup": { "from": join.to.table, "localField": local, "foreignField": join.to.column, "as": alias } }));
        stages.push(json!({ "$unwind": format!("${alias}") }));
    }
    if !joined_filters.is_empty() {
        stages.push(json!({ "$match": and(joined_filters) }));
    }
    let mut project = Map::new();
    project.insert("_id".into(), json!(0));
    if spec.grouped() {
        let keys: Vec<&Output> = spec.outputs.iter().filter(|o| !o.is_measure()).collect();
        let mut group = Map::new();
        if keys.is_empty() {
            group.insert("_id".into(), Value::Null);
        } else {
            let mut id = Map::new();
            for key in &keys {
                let value = match key {
                    Output::Col { col, .. } => field(spec, col),
                    Output::Bucket { col, unit, .. } => bucket(spec, col, *unit),
                    Output::Measure { .. } => continue,
                };
                id.insert(key.name().to_owned(), value);
            }
            group.insert("_id".into(), Value::Object(id));
        }
        for m in &measures {
            if let Output::Measure { agg, expr, name, .. } = m {
                group.insert(name.clone(), accumulator(spec, *agg, expr.as_ref()));
            }
        }
        stages.push(json!({ "$group": group }));
        for o in &spec.outputs {
            let value = match o {
                // SQL's count(DISTINCT x) does not count NULL; neither does this.
                Output::Measure { agg: Agg::CountDistinct, name, .. } => {
                    json!({ "$size": { "$setDifference": [format!("${name}"), [null]] } })
                }
                Output::Measure { .. } => json!(1),
                key => json!(format!("$_id.{}", key.name())),
            };
            project.insert(o.name().to_owned(), value);
        }
    } else {
        for o in &spec.outputs {
            if let Output::Col { col, name } = o {
                project.insert(name.clone(), field(spec, col));
            }
        }
    }
    stages.push(json!({ "$project": project }));
    if !spec.order.is_empty() {
        let sort: Map<String, Value> =
            spec.order.iter().map(|s| (s.output.clone(), json!(if s.desc { -1 } else { 1 }))).collect();
        stages.push(json!({ "$sort": sort }));
    }
    if let Some(limit) = spec.limit {
        stages.push(json!({ "$limit": limit }));
    }
    Ok(json!({ "collection": spec.base, "aggregate": stages }).to_string())
}

// ---- explanation ---------------------------------------------------------------------------------------------

/// What the query does, in words, and how the question's words were read.
pub fn explain(spec: &Spec, notes: &[String], engine: Engine, follow_up: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(previous) = follow_up {
        parts.push(format!("Follow-up to \"{previous}\"."));
    }
    let measures: Vec<String> = spec
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::Measure { agg: Agg::Count, expr: None, counts, .. } => {
                Some(format!("counts {}", counts.as_deref().unwrap_or(&spec.base)))
            }
            Output::Measure { agg: Agg::CountDistinct, counts: Some(t), expr: Some(e), .. } => {
                Some(format!("counts distinct {t} (by {e})"))
            }
            Output::Measure { agg, expr: Some(e), .. } => Some(format!("{} of {e}", agg.verb())),
            _ => None,
        })
        .collect();
    let keys: Vec<String> = spec
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::Col { col, .. } if spec.grouped() => Some(col.to_string()),
            Output::Bucket { col, unit, .. } => Some(format!("{} of {col}", unit.noun())),
            _ => None,
        })
        .collect();
    let what = if !measures.is_empty() {
        let mut s = capitalize(&measures.join(", "));
        if !keys.is_empty() {
            s.push_str(&format!(" per {}", keys.join(", ")));
        }
        s
    } else if spec.distinct {
        format!("Distinct values of {}", keys.join(", "))
    } else {
        let cols: Vec<&str> = spec.outputs.iter().map(Output::name).collect();
        format!("Lists {} ({})", spec.base, cols.join(", "))
    };
    parts.push(format!("{what}, reading {}.", spec.base));
    for join in &spec.joins {
        parts.push(format!(
            "Joins {} = {} ({}).",
            join.from,
            join.to,
            if join.declared { "declared foreign key" } else { "inferred from the column's name" }
        ));
    }
    let filters: Vec<String> = spec.filters.iter().map(describe_filter).collect();
    if !filters.is_empty() {
        parts.push(format!("Only rows where {}.", filters.join(" and ")));
    }
    if !spec.order.is_empty() {
        let order: Vec<String> = spec
            .order
            .iter()
            .map(|s| format!("{} {}", s.output, if s.desc { "descending" } else { "ascending" }))
            .collect();
        parts.push(format!("Sorted by {}.", order.join(", ")));
    }
    if let Some(limit) = spec.limit {
        parts.push(format!("At most {limit} rows."));
    }
    if !notes.is_empty() {
        parts.push(format!("Read as: {}.", notes.join("; ")));
    }
    let language = match engine {
        Engine::Mongodb => "a MongoDB query",
        Engine::Mysql => "MySQL",
        Engine::Postgres => "PostgreSQL",
        Engine::Duckdb => "DuckDB SQL",
    };
    parts.push(format!("Drafted offline, without a model, as {language}."));
    parts.join(" ")
}

fn describe_filter(filter: &Filter) -> String {
    match filter {
        Filter::Text { cols, value, negated } => {
            let names: Vec<String> = cols.iter().map(ToString::to_string).collect();
            let verb = if *negated { "is not" } else { "is" };
            if names.len() == 1 {
                format!("{} {verb} '{value}' (ignoring case)", names[0])
            } else {
                format!("any of {} {verb} '{value}' (ignoring case)", names.join(", "))
            }
        }
        Filter::Number { col, op, value } => format!("{col} {} {}", op.sql(), show_number(*value)),
        Filter::Between { col, low, high } => {
            format!("{col} is between {} and {}", show_number(*low), show_number(*high))
        }
        Filter::Dates { col, range } => format!("{col} is {} ({})", range.text, range.describe()),
        Filter::Missing { col } => format!("{col} is missing"),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}
