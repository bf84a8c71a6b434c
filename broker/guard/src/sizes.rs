//! How many rows a generator makes and how long a padded string grows, folded from a query's constants, so a
//! query asking for more than any analysis needs is refused before it runs. The server's timeouts and temp limits
//! remain the bound for what no constant says.

use std::ops::ControlFlow;

use polystoreiq_protocol::types::Engine;
use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArguments, Query, SetExpr, TableFactor, TableWithJoins, UnaryOperator,
    Value,
};

use super::sql::arg_exprs;
use super::{Code, Verdict};

/// The most rows a generator may produce, and the longest string a padding function may build, from literals.
const MAX_GENERATED_ROWS: f64 = 1e8;
const MAX_GENERATED_CHARS: f64 = 1e7;

/// Generators and padding functions asked, in constants, for more than a query could sensibly need. The sizes
/// are folded from literals through arithmetic, `power`, casts and nested padding (`repeat(repeat('x', 1e7),
/// 100)` builds 1e9 characters).
pub(super) fn resource_abuse(engine: Engine, name: &str, args: &[FunctionArg]) -> ControlFlow<Verdict> {
    let exprs: Vec<&Expr> = arg_exprs(args).collect();
    let abusive = match name {
        "generate_series" | "range" => generated_rows(engine, name, args).is_some_and(|rows| rows > MAX_GENERATED_ROWS),
        "repeat" | "lpad" | "rpad" | "space" => {
            let call_chars = text_length(engine, name, &exprs);
            call_chars.is_some_and(|n| n > MAX_GENERATED_CHARS)
        }
        "repeat_row" => exprs.iter().skip(1).filter_map(|e| number(engine, e)).any(|n| n > MAX_GENERATED_ROWS),
        // DuckDB lists sized to a count: as many elements as a generator's rows.
        "list_resize" | "array_resize" => {
            exprs.get(1).and_then(|e| number(engine, e)).is_some_and(|n| n > MAX_GENERATED_ROWS)
        }
        _ => false,
    };
    if abusive {
        return deny(Code::ResourceAbuse, format!("{name}() is asked for more than the app allows in one query"));
    }
    ControlFlow::Continue(())
}

/// The rows a generator call makes, when its arguments are constants.
fn generated_rows(engine: Engine, name: &str, args: &[FunctionArg]) -> Option<f64> {
    if !matches!(name, "generate_series" | "range") {
        return None;
    }
    let exprs: Vec<&Expr> = arg_exprs(args).collect();
    match exprs.iter().map(|e| number(engine, e)).collect::<Option<Vec<f64>>>().as_deref() {
        Some([stop]) => Some(stop.abs()),
        Some([start, stop]) => Some((stop - start).abs()),
        Some([start, stop, step]) if *step != 0.0 => Some(((stop - start) / step).abs()),
        Some([_, _, _]) => Some(f64::INFINITY),
        // A series of timestamps: the span over the step, both in seconds.
        _ => match exprs.as_slice() {
            [start, stop, step] => match (instant(start), instant(stop), interval_seconds(step)) {
                (Some(start), Some(stop), Some(step)) if step != 0.0 => Some(((stop - start) / step).abs()),
                _ => None,
            },
            _ => None,
        },
    }
}

/// The length of the text a padding call builds, when it is known from constants: `repeat(s, n)` is `n` times
/// `s`, `lpad`/`rpad(s, n, ..)` is `n`, `space(n)` is `n`.
fn text_length(engine: Engine, name: &str, exprs: &[&Expr]) -> Option<f64> {
    match (name, exprs) {
        ("repeat", [text, count, ..]) => Some(string_length(engine, text).unwrap_or(1.0) * number(engine, count)?),
        ("lpad" | "rpad", [_, count, ..]) => number(engine, count),
        ("space", [count]) => number(engine, count),
        _ => None,
    }
}

/// The length of a string expression built from literals and padding calls.
fn string_length(engine: Engine, expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Value(v) => Some(v.value.clone().into_string()?.chars().count() as f64),
        Expr::Nested(inner) => string_length(engine, inner),
        Expr::Function(function) => {
            let name = function.name.0.last()?.as_ident()?.value.to_ascii_lowercase();
            let FunctionArguments::List(list) = &function.args else { return None };
            let exprs: Vec<&Expr> = arg_exprs(&list.args).collect();
            text_length(engine, &name, &exprs)
        }
        _ => None,
    }
}

/// Generators joined in one `FROM` multiply: `generate_series(1, 1e5) a, generate_series(1, 1e5) b,
/// generate_series(1, 1e5) c` is 1e15 rows, though each alone is small. A derived table counts as the rows its own
/// generators make (`(SELECT * FROM range(1e5)) a, (SELECT * FROM range(1e5)) b` is 1e10), so wrapping a generator
/// in a subquery changes nothing.
pub(super) fn generated_product(from: &[TableWithJoins]) -> ControlFlow<Verdict> {
    let (product, generators) = from_rows(from);
    if generators > 1 && product > MAX_GENERATED_ROWS {
        return deny(
            Code::ResourceAbuse,
            format!(
                "these {generators} generators joined together make about {product:.0e} rows; the limit is \
                 {MAX_GENERATED_ROWS:.0e}"
            ),
        );
    }
    ControlFlow::Continue(())
}

/// The product of the rows the generators of a `FROM` make, and how many generators (or derived tables built on
/// them) it holds. Tables of the source count as one row: their size is not the query's doing.
fn from_rows(from: &[TableWithJoins]) -> (f64, usize) {
    let factors = from.iter().flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    let mut product = 1.0_f64;
    let mut generators = 0;
    for factor in factors {
        let (rows, count) = factor_rows(factor);
        if count > 0 {
            product *= rows.max(1.0);
            generators += count;
        }
    }
    (product, generators)
}

fn factor_rows(factor: &TableFactor) -> (f64, usize) {
    let (name, args) = match factor {
        TableFactor::Table { name, args: Some(args), .. } => (name, args.args.as_slice()),
        TableFactor::Function { name, args, .. } => (name, args.as_slice()),
        TableFactor::Derived { subquery, .. } => return query_rows(subquery),
        TableFactor::NestedJoin { table_with_joins, .. } => return from_rows(std::slice::from_ref(table_with_joins)),
        _ => return (1.0, 0),
    };
    let Some(last) = name.0.last().and_then(|part| part.as_ident()) else { return (1.0, 0) };
    // Both PostgreSQL's `^` and DuckDB's count as a power here: a product estimate only needs magnitudes.
    match generated_rows(Engine::Postgres, &last.value.to_ascii_lowercase(), args) {
        Some(rows) => (rows, 1),
        None => (1.0, 0),
    }
}

/// The rows of a subquery built on generators: its `FROM`'s product (filters can only lower it), the sum of a set
/// operation's sides, capped by a literal `LIMIT`.
fn query_rows(query: &Query) -> (f64, usize) {
    fn body_rows(body: &SetExpr) -> (f64, usize) {
        match body {
            SetExpr::Select(select) => from_rows(&select.from),
            SetExpr::Query(query) => query_rows(query),
            SetExpr::SetOperation { left, right, .. } => {
                let ((l, lc), (r, rc)) = (body_rows(left), body_rows(right));
                (l + r, lc + rc)
            }
            _ => (1.0, 0),
        }
    }
    let (rows, count) = body_rows(&query.body);
    let limit = match &query.limit_clause {
        Some(sqlparser::ast::LimitClause::LimitOffset { limit: Some(limit), .. }) => number(Engine::Postgres, limit),
        _ => None,
    };
    (limit.map_or(rows, |limit| rows.min(limit.max(0.0))), count)
}

/// Seconds since 1970 of a date or timestamp literal (`DATE '2024-01-01'`, `TIMESTAMP '2000-01-01 10:00'`,
/// `'2000-01-01'::timestamp`); the time of day is ignored, which is precise enough for a size estimate.
fn instant(expr: &Expr) -> Option<f64> {
    let text = match expr {
        Expr::TypedString(typed) => typed.value.clone().into_string()?,
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Value(v) => v.value.clone().into_string()?,
            _ => return None,
        },
        Expr::Nested(inner) => return instant(inner),
        _ => return None,
    };
    let date = text.trim().get(..10)?;
    let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(((era * 146_097 + doe - 719_468) * 86_400) as f64)
}

/// Seconds in an interval literal: `INTERVAL '1 second'`, `INTERVAL 1 SECOND`, `INTERVAL '2 hours'`, `'1 day'::interval`.
fn interval_seconds(expr: &Expr) -> Option<f64> {
    let unit_seconds = |unit: &str| -> Option<f64> {
        let unit = unit.trim().to_ascii_lowercase();
        // Abbreviations first: `us` and `ms` end in an `s` that is not a plural (found in review).
        match unit.as_str() {
            "us" | "usec" | "usecs" => return Some(1e-6),
            "ms" | "msec" | "msecs" => return Some(1e-3),
            "hr" | "hrs" => return Some(3_600.0),
            _ => {}
        }
        let unit = unit.trim_end_matches('s');
        Some(match unit {
            "microsecond" => 1e-6,
            "millisecond" => 1e-3,
            "second" | "sec" => 1.0,
            "minute" | "min" => 60.0,
            "hour" | "h" => 3_600.0,
            "day" | "d" => 86_400.0,
            "week" => 604_800.0,
            "month" | "mon" => 2_592_000.0,
            "year" | "y" => 31_536_000.0,
            _ => return None,
        })
    };
    let text_seconds = |text: &str| -> Option<f64> {
        let mut words = text.split_whitespace();
        let amount: f64 = words.next()?.parse().ok()?;
        Some(amount * unit_seconds(words.next().unwrap_or("second"))?)
    };
    match expr {
        Expr::Interval(interval) => {
            let amount = match interval.value.as_ref() {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => n.clone(),
                    other => other.clone().into_string()?,
                },
                _ => return None,
            };
            match &interval.leading_field {
                Some(field) => Some(amount.trim().parse::<f64>().ok()? * unit_seconds(&field.to_string())?),
                None => text_seconds(&amount),
            }
        }
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Value(v) => text_seconds(&v.value.clone().into_string()?),
            _ => None,
        },
        Expr::Nested(inner) => interval_seconds(inner),
        _ => None,
    }
}

/// The number an argument spells in constants, through parentheses, casts (`10000000000::bigint`, `'1e9'::int`),
/// signs, arithmetic (`100000 * 100000`), powers (PostgreSQL's and DuckDB's `^`, `power`, `pow`) and a few other
/// pure numeric functions. A string counts only when cast.
fn number(engine: Engine, expr: &Expr) -> Option<f64> {
    let n = |e: &Expr| number(engine, e);
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::Nested(inner) => n(inner),
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Value(v) => v.value.clone().into_string().and_then(|s| s.trim().parse().ok()).or_else(|| n(expr)),
            inner => n(inner),
        },
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => n(expr).map(|x| -x),
        Expr::UnaryOp { op: UnaryOperator::Plus, expr } => n(expr),
        Expr::BinaryOp { left, op, right } => {
            let (left, right) = (n(left)?, n(right)?);
            match op {
                BinaryOperator::Plus => Some(left + right),
                BinaryOperator::Minus => Some(left - right),
                BinaryOperator::Multiply => Some(left * right),
                BinaryOperator::Divide if right != 0.0 => Some(left / right),
                // `^` is a power in PostgreSQL and DuckDB, a bitwise XOR in MySQL.
                BinaryOperator::PGExp => Some(left.powf(right)),
                BinaryOperator::BitwiseXor if engine != Engine::Mysql => Some(left.powf(right)),
                _ => None,
            }
        }
        Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => n(expr),
        // `(SELECT 1e10)`: a scalar subquery of one constant, with nothing to read.
        Expr::Subquery(query) => match query.body.as_ref() {
            SetExpr::Select(select) if select.from.is_empty() && select.selection.is_none() => {
                match select.projection.as_slice() {
                    [
                        sqlparser::ast::SelectItem::UnnamedExpr(expr)
                        | sqlparser::ast::SelectItem::ExprWithAlias { expr, .. },
                    ] => n(expr),
                    _ => None,
                }
            }
            _ => None,
        },
        Expr::Function(function) => {
            let name = function.name.0.last()?.as_ident()?.value.to_ascii_lowercase();
            let FunctionArguments::List(list) = &function.args else { return None };
            let args: Vec<f64> = arg_exprs(&list.args).map(n).collect::<Option<_>>()?;
            match (name.as_str(), args.as_slice()) {
                ("power" | "pow", [base, exponent]) => Some(base.powf(*exponent)),
                ("exp", [x]) => Some(x.exp()),
                ("abs", [x]) => Some(x.abs()),
                ("round" | "trunc" | "truncate" | "ceil" | "ceiling" | "floor", [x, ..]) => Some(*x),
                ("greatest", xs) if !xs.is_empty() => xs.iter().copied().reduce(f64::max),
                ("least", xs) if !xs.is_empty() => xs.iter().copied().reduce(f64::min),
                _ => None,
            }
        }
        _ => None,
    }
}

fn deny(code: Code, reason: impl Into<String>) -> ControlFlow<Verdict> {
    ControlFlow::Break(Verdict::deny(code, reason))
}
