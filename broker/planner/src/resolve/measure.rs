//! A measure of the plan from one base: a count of the base's rows, distinct keys of a table the base refers to,
//! or an aggregate of a column or a concept's column, with a name for its output.

use crate::intent::{Decline, MeasureReq, Result, Target, decline, target_words};
use crate::lexicon::Concept;
use crate::spec::{Agg, Expr, Output};

use super::build::OutputNames;
use super::candidate::{Candidate, ConceptCol};
use super::singular;

/// The output that computes `m` from the candidate's base.
pub(super) fn measure(
    ctx: &mut Candidate<'_>,
    m: &MeasureReq,
    subject: Option<usize>,
    names: &mut OutputNames,
) -> Result<Output> {
    let model = ctx.model;
    let counted = match &m.target {
        None => Some(subject.unwrap_or(ctx.base)),
        Some(Target::Table(name)) => Some(model.table_index(name).ok_or_else(|| Decline(format!("no table {name}")))?),
        _ => None,
    };
    if let Some(t) = counted {
        let table = &model.tables[t];
        let name = names.unique(format!("{}_count", singular(&table.name)), &table.name);
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
    let name = names.unique(name, &table);
    Ok(Output::Measure { agg: m.agg, expr: Some(expr), name, counts: None })
}

#[cfg(test)]
mod tests {
    use polystoreiq_protocol::types::Engine;

    use super::*;
    use crate::schema_model::SchemaModel;
    use crate::spec::Col;

    #[test]
    fn a_referenced_table_is_counted_as_distinct_keys() {
        let model = SchemaModel::new(&crate::tests::demo(Engine::Postgres), Engine::Postgres);
        let mut ctx = Candidate::new(&model, 2, &[]);
        let mut names = OutputNames::default();
        let customers = MeasureReq { agg: Agg::Count, target: Some(Target::Table("customers".into())) };
        let output = measure(&mut ctx, &customers, None, &mut names).unwrap();
        let col = Col { table: "orders".into(), column: "customer_id".into() };
        assert_eq!(
            output,
            Output::Measure {
                agg: Agg::CountDistinct,
                expr: Some(Expr::Col(col)),
                name: "customer_count".into(),
                counts: Some("customers".into())
            }
        );
        let rows = measure(&mut ctx, &MeasureReq { agg: Agg::Count, target: None }, None, &mut names).unwrap();
        assert_eq!(rows.name(), "order_count");
    }
}
