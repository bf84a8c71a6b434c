//! A filter of the plan from one base: the column each condition applies to (a table's name column or key, a
//! named column, a concept's column, the nearest place columns) and the condition on it.

use crate::intent::{Cond, FilterReq, Result, Target, decline, target_words};
use crate::lexicon::Concept;
use crate::link::show_number;
use crate::schema_model::ColId;
use crate::spec::{CmpOp, Col, Filter};

use super::candidate::{Candidate, ConceptCol, key_column};

/// The filter `f` from the candidate's base; a date filter sets the plan's date (`date_col`) when it has none.
pub(super) fn filter(ctx: &mut Candidate<'_>, f: &FilterReq, date_col: &mut Option<ColId>) -> Result<Filter> {
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

#[cfg(test)]
mod tests {
    use polystoreiq_protocol::types::Engine;

    use super::*;
    use crate::schema_model::SchemaModel;

    #[test]
    fn a_key_of_a_referenced_table_needs_no_join() {
        let model = SchemaModel::new(&crate::tests::demo(Engine::Postgres), Engine::Postgres);
        let mut ctx = Candidate::new(&model, 2, &[]);
        let mut date_col = None;
        let key = FilterReq { target: Target::Table("customers".into()), cond: Cond::Key(42.0) };
        let found = filter(&mut ctx, &key, &mut date_col).unwrap();
        let col = Col { table: "orders".into(), column: "customer_id".into() };
        assert_eq!(found, Filter::Number { col, op: CmpOp::Eq, value: 42.0 });
        assert!(ctx.needed.is_empty());
        let when = FilterReq {
            target: Target::Concept(Concept::When),
            cond: Cond::Dates(crate::spec::DateRange { from: None, to: None, text: String::new() }),
        };
        filter(&mut ctx, &when, &mut date_col).unwrap();
        assert_eq!(date_col, Some((2, 3)), "the plan's date is orders.order_date");
    }
}
