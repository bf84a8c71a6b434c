//! The plan from one base table: the filters, the outputs (groups and measures, or the listed columns), the
//! order and limit, and the joins; with the candidate's score and the notes for the explanation.

use crate::intent::{DimReq, Intent, Result, Target, decline, target_words};
use crate::lexicon::Concept;
use crate::schema_model::{ColId, SchemaModel};
use crate::spec::{Agg, Col, Filter, Output, Sort, Spec};

use super::candidate::{Candidate, ConceptCol, joins};
use super::filter::filter;
use super::measure::measure;
use super::singular;

/// The names of a plan's outputs, each unique: a repeated name takes its table's singular in front, then a number.
#[derive(Default)]
pub(super) struct OutputNames {
    taken: Vec<String>,
}

impl OutputNames {
    pub(super) fn unique(&mut self, name: String, table: &str) -> String {
        let mut candidate = name.clone();
        if self.taken.contains(&candidate) {
            candidate = format!("{}_{name}", singular(table));
        }
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{name}_{n}");
            n += 1;
        }
        self.taken.push(candidate.clone());
        candidate
    }
}

/// The plan that reads `intent` from `base`, its score (lower is better) and its notes.
pub(super) fn build(
    intent: &Intent,
    model: &SchemaModel,
    base: usize,
    subject: Option<usize>,
    mentioned: &[usize],
    aggregate: bool,
    list_order: Option<(Target, bool)>,
) -> Result<(Spec, f64, Vec<String>)> {
    let mut ctx = Candidate::new(model, base, mentioned);
    check_base(&ctx, intent)?;
    let mut names = OutputNames::default();
    let mut date_col: Option<ColId> = None;

    // Filters first: a date filter and a time bucket share the plan's date.
    let mut filters = Vec::new();
    for f in &intent.filters {
        filters.push(filter(&mut ctx, f, &mut date_col)?);
    }
    let (mut outputs, dim_names, bucket_names) = if aggregate {
        aggregate_outputs(&mut ctx, intent, subject, &filters, &mut names, &mut date_col)?
    } else {
        (list_outputs(&mut ctx, intent, &mut names)?, Vec::new(), Vec::new())
    };
    if let Some(s) = subject
        && ctx.distance(s).is_none()
    {
        return decline(format!(
            "{} cannot be reached from {} along many-to-one joins",
            model.tables[s].name, model.tables[base].name
        ));
    }

    let (order, limit) = if aggregate {
        aggregate_order(intent, &outputs, &dim_names, &bucket_names)
    } else {
        list_order_and_limit(&mut ctx, intent, list_order, &mut outputs, &mut names)?
    };

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

/// Whether `base` can be read for this intent at all: a verb of happening needs a table of facts, one time unit
/// at a time, and every table the question mentions reachable many-to-one.
fn check_base(ctx: &Candidate<'_>, intent: &Intent) -> Result<()> {
    let (model, base) = (ctx.model, ctx.base);
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
    for &t in &ctx.mentioned {
        if ctx.distance(t).is_none() {
            return decline(format!(
                "{} and {} are not joined many-to-one (no foreign key or <table>_id column leads from the one to the \
                 other), so the planner cannot combine them without counting rows twice",
                model.tables[base].name, model.tables[t].name
            ));
        }
    }
    Ok(())
}

/// The groups (and time buckets) and measures of an aggregate, with the names of the groups and of the buckets.
fn aggregate_outputs(
    ctx: &mut Candidate<'_>,
    intent: &Intent,
    subject: Option<usize>,
    filters: &[Filter],
    names: &mut OutputNames,
    date_col: &mut Option<ColId>,
) -> Result<(Vec<Output>, Vec<String>, Vec<String>)> {
    let (model, base) = (ctx.model, ctx.base);
    let mut outputs: Vec<Output> = Vec::new();
    let mut dim_names: Vec<String> = Vec::new();
    let mut bucket_names: Vec<String> = Vec::new();
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
                    let name = names.unique(col.column.clone(), &col.table);
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
                let name = names.unique(col.column.clone(), &col.table);
                dim_names.push(name.clone());
                ctx.notes.push(format!("per {col}"));
                outputs.push(Output::Col { col, name });
            }
            DimReq::Bucket(target, unit) => {
                let id = match target {
                    Some(Target::Cols(cols)) => {
                        ctx.pick(cols, &target_words(target.as_ref().unwrap_or(&Target::Concept(Concept::When))))?
                    }
                    _ => match *date_col {
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
                let name = names.unique(unit.noun().to_owned(), &col.table);
                bucket_names.push(name.clone());
                ctx.notes.push(format!("per {} of {col}", unit.noun()));
                outputs.push(Output::Bucket { col, unit: *unit, name });
            }
        }
    }
    for m in &intent.measures {
        outputs.push(measure(ctx, m, subject, names)?);
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
    Ok((outputs, dim_names, bucket_names))
}

/// The columns of a list: the ones named (with the table's key first), or all of the base's.
fn list_outputs(ctx: &mut Candidate<'_>, intent: &Intent, names: &mut OutputNames) -> Result<Vec<Output>> {
    let (model, base) = (ctx.model, ctx.base);
    let mut outputs: Vec<Output> = Vec::new();
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
        let name = names.unique(col.column.clone(), &col.table);
        outputs.push(Output::Col { col, name });
    }
    Ok(outputs)
}

/// The order and limit of an aggregate: a rank sorts by the first measure, time buckets sort in time, groups by
/// the first measure, highest first.
fn aggregate_order(
    intent: &Intent,
    outputs: &[Output],
    dim_names: &[String],
    bucket_names: &[String],
) -> (Vec<Sort>, Option<u64>) {
    let mut order = Vec::new();
    let mut limit = None;
    let measure_names: Vec<String> = outputs.iter().filter(|o| o.is_measure()).map(|o| o.name().to_owned()).collect();
    if let Some(rank) = &intent.rank {
        if let Some(first) = measure_names.first() {
            order.push(Sort { output: first.clone(), desc: rank.desc });
        }
        limit = Some(rank.n.unwrap_or(if rank.top_word || intent.subject_plural { 10 } else { 1 }));
        for name in bucket_names.iter().chain(dim_names) {
            order.push(Sort { output: name.clone(), desc: false });
        }
    } else if !bucket_names.is_empty() {
        for name in bucket_names.iter().chain(dim_names) {
            order.push(Sort { output: name.clone(), desc: false });
        }
    } else if !dim_names.is_empty() {
        if let Some(first) = measure_names.first() {
            order.push(Sort { output: first.clone(), desc: true });
        }
        for name in dim_names {
            order.push(Sort { output: name.clone(), desc: false });
        }
    }
    if intent.limit.is_some() {
        limit = intent.limit;
    }
    (order, limit)
}

/// The order and limit of a list: by the ranked column (added to the outputs when not listed), then by key.
fn list_order_and_limit(
    ctx: &mut Candidate<'_>,
    intent: &Intent,
    list_order: Option<(Target, bool)>,
    outputs: &mut Vec<Output>,
    names: &mut OutputNames,
) -> Result<(Vec<Sort>, Option<u64>)> {
    let (model, base) = (ctx.model, ctx.base);
    let mut order = Vec::new();
    let limit;
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
                let name = names.unique(col.column.clone(), &col.table);
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
    Ok((order, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_stay_unique() {
        let mut names = OutputNames::default();
        assert_eq!(names.unique("name".into(), "customers"), "name");
        assert_eq!(names.unique("name".into(), "products"), "product_name");
        assert_eq!(names.unique("name".into(), "products"), "name_2");
    }
}
