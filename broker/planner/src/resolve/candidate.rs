//! One reading of an intent from one base table: which tables it reaches and how, the columns it picks for each
//! phrase (the nearest, named in full, on a table the question named), the concepts' columns, the score that
//! ranks it against readings from other bases, and the joins it needs.

use crate::intent::{ColRef, Decline, Result, decline};
use crate::lexicon::Concept;
use crate::schema_model::{ColId, JoinEdge, JoinPaths, ModelColumn, SchemaModel, outline};
use crate::spec::{Col, Join};

use super::singular;

/// The intent read from one base table: the columns picked so far, the tables to join, the notes for the
/// explanation, and a score (lower is better: fewer joins, fewer guesses).
pub(super) struct Candidate<'a> {
    pub(super) model: &'a SchemaModel,
    pub(super) base: usize,
    pub(super) reach: JoinPaths,
    pub(super) mentioned: Vec<usize>,
    /// Tables the plan must join.
    pub(super) needed: Vec<usize>,
    pub(super) score: f64,
    pub(super) notes: Vec<String>,
}

impl Candidate<'_> {
    pub(super) fn new<'m>(model: &'m SchemaModel, base: usize, mentioned: &[usize]) -> Candidate<'m> {
        Candidate {
            model,
            base,
            reach: model.paths_from(base),
            mentioned: mentioned.to_vec(),
            needed: Vec::new(),
            score: 0.0,
            notes: Vec::new(),
        }
    }

    pub(super) fn distance(&self, t: usize) -> Option<usize> {
        if t == self.base { Some(0) } else { self.reach.paths[t].as_ref().map(Vec::len) }
    }

    pub(super) fn need(&mut self, t: usize) {
        if t != self.base && !self.needed.contains(&t) {
            self.needed.push(t);
        }
    }

    pub(super) fn col(&self, (t, c): ColId) -> Col {
        Col { table: self.model.tables[t].name.clone(), column: self.model.tables[t].columns[c].name.clone() }
    }

    /// The best of several candidate columns: reachable, fewest joins, named in full, on a table the question
    /// named. Two equally good candidates on different columns are an ambiguity.
    pub(super) fn pick(&mut self, cands: &[ColRef], what: &str) -> Result<ColId> {
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

    pub(super) fn table(&mut self, name: &str) -> Result<usize> {
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
    pub(super) fn concept(&mut self, concept: Concept) -> Result<ConceptCol> {
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

/// The column that holds a concept: one column, or price times quantity (revenue where no amount is stored).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum ConceptCol {
    Col(ColId),
    Product(ColId, ColId),
}

impl ConceptCol {
    fn describe(&self, model: &SchemaModel) -> String {
        match self {
            ConceptCol::Col(c) => model.qualified(*c),
            ConceptCol::Product(a, b) => format!("{} × {}", model.qualified(*a), model.qualified(*b)),
        }
    }
}

/// The column of `table` that holds a concept: `Ok(None)` when it has none, a decline when it has two.
pub(super) fn concept_column(model: &SchemaModel, t: usize, concept: Concept) -> Result<Option<ConceptCol>> {
    let table = &model.tables[t];
    let ids = |f: &dyn Fn(&ModelColumn) -> bool| -> Vec<usize> {
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

/// The column that holds a table's key from the base's point of view: the key itself on the base, else the
/// referring column of the last join (so `orders of customer 42` needs no join to customers).
pub(super) fn key_column(ctx: &mut Candidate<'_>, name: &str) -> Result<ColId> {
    let model = ctx.model;
    let t = model.table_index(name).ok_or_else(|| Decline(format!("no table {name}")))?;
    let key = model.tables[t].key.ok_or_else(|| Decline(format!("{name} has no key column to match a number")))?;
    if t == ctx.base {
        return Ok((t, key));
    }
    let path = ctx.reach.paths[t]
        .clone()
        .ok_or_else(|| Decline(format!("{name} cannot be reached from {}", model.tables[ctx.base].name)))?;
    let last: JoinEdge = *path.last().ok_or_else(|| Decline("empty join path".into()))?;
    if path.len() > 1 {
        ctx.need(path[path.len() - 2].to.0);
    }
    ctx.score += path.len() as f64;
    Ok(last.from)
}

/// The joins that reach every needed table, each table joined once, shortest paths first.
pub(super) fn joins(ctx: &Candidate<'_>) -> Result<Vec<Join>> {
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

#[cfg(test)]
mod tests {
    use polystoreiq_protocol::types::Engine;

    use super::*;

    #[test]
    fn equally_good_columns_are_an_ambiguity_and_a_named_table_breaks_the_tie() {
        let model = SchemaModel::new(&crate::tests::demo(Engine::Postgres), Engine::Postgres);
        let name = |t: &str| ColRef { col: Col { table: t.into(), column: "name".into() }, exact: true };
        let cands = [name("customers"), name("products")];
        let err = Candidate::new(&model, 2, &[]).pick(&cands, "name").unwrap_err();
        assert!(err.0.contains("could be customers.name or products.name"), "{}", err.0);
        let mut candidate = Candidate::new(&model, 2, &[1]);
        assert_eq!(candidate.pick(&cands, "name").unwrap(), (1, 1));
        assert_eq!(candidate.needed, [1]);
        assert_eq!(joins(&candidate).unwrap().len(), 1);
    }

    #[test]
    fn revenue_is_an_amount_or_price_times_quantity() {
        let model = SchemaModel::new(&crate::tests::chinook(Engine::Postgres), Engine::Postgres);
        let line = model.table_index("invoice_line").unwrap();
        let revenue = concept_column(&model, line, Concept::Money).unwrap().unwrap();
        assert_eq!(revenue.describe(&model), "invoice_line.unit_price × invoice_line.quantity");
        let invoice = model.table_index("invoice").unwrap();
        assert!(matches!(concept_column(&model, invoice, Concept::Money), Ok(Some(ConceptCol::Col(_)))));
    }
}
