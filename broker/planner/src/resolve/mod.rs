//! Resolution: an [`Intent`] becomes a [`Spec`] against one schema. It settles what the intent computes
//! ([`settle_measures`]), lists the tables that could be read ([`candidate_bases`]), builds the plan from each
//! ([`build`]: filters, outputs, order, limit, joins, each column picked by a [`candidate`] reading) and keeps the
//! cheapest: the table every measure, group and filter can reach along many-to-one joins with the fewest joins and
//! the columns the question named.
//!
//! Any ambiguity between equally good readings is a decline that says which columns and how to choose.

mod build;
mod candidate;
mod filter;
mod measure;

use super::intent::{Cond, Decline, DimReq, Intent, MeasureReq, RankBy, Result, Target, decline, target_words};
use super::lexicon::Concept;
use super::schema_model::{SchemaModel, outline};
use super::spec::{Agg, Spec};

use candidate::concept_column;

/// Chooses the table to read and every column, and builds the plan. Tries each table that could hold the
/// measures (or the listed table) and keeps the cheapest reading; declines when none works.
pub fn resolve(intent: &Intent, model: &SchemaModel) -> Result<(Spec, Vec<String>)> {
    let mut intent = intent.clone();
    let subject = intent.subject.as_deref().and_then(|s| model.table_index(s));
    let (list_order, aggregate) = settle_measures(&mut intent, model, subject)?;

    // Candidate tables to read.
    let mentioned: Vec<usize> = intent.mentioned.iter().filter_map(|t| model.table_index(t)).collect();
    let candidates = candidate_bases(&intent, model, subject, &mentioned, aggregate)?;

    let mut best: Option<(f64, Spec, Vec<String>)> = None;
    let mut first_error: Option<Decline> = None;
    for &base in &candidates {
        match build::build(&intent, model, base, subject, &mentioned, aggregate, list_order.clone()) {
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

/// Settles what an intent computes before a base is chosen: a rank with no measure becomes a count, a total, an
/// extreme or a sorted list (`list_order`); a ranked subject becomes the group; groups with no measure count
/// rows; `distinct` lists distinct values. Returns the sorted list's order, and whether the plan aggregates.
fn settle_measures(
    intent: &mut Intent,
    model: &SchemaModel,
    subject: Option<usize>,
) -> Result<(Option<(Target, bool)>, bool)> {
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
    Ok((list_order, aggregate))
}

/// The tables that could be read: for an aggregate, those that hold (or reach) every measure; for a list, the
/// subject or the table of the listed columns.
fn candidate_bases(
    intent: &Intent,
    model: &SchemaModel,
    subject: Option<usize>,
    mentioned: &[usize],
    aggregate: bool,
) -> Result<Vec<usize>> {
    let named = named_tables(intent, model, mentioned);
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
    Ok(candidates)
}

/// A table that only links two others (`playlist_track`): every column a key or a reference.
fn is_link(model: &SchemaModel, t: usize) -> bool {
    let table = &model.tables[t];
    model.edges.iter().filter(|e| e.from.0 == t).count() >= 2 && table.columns.iter().all(|c| c.role.key)
}

/// The tables a question names: by name, or by naming one of their columns.
fn named_tables(intent: &Intent, model: &SchemaModel, mentioned: &[usize]) -> Vec<usize> {
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
fn reaching(model: &SchemaModel, t: usize) -> Vec<usize> {
    model.reaching(t)
}

fn target_on_table(model: &SchemaModel, target: &Target, t: usize) -> bool {
    match target {
        Target::Cols(cols) => cols.iter().any(|c| model.table_index(&c.col.table) == Some(t)),
        Target::Concept(c) => matches!(concept_column(model, t, *c), Ok(Some(_)) | Err(_)),
        Target::Table(name) => model.table_index(name) == Some(t),
    }
}

/// A table's name as one row of it: `customers` → `customer`, `categories` → `category`, `sales.orders` → `order`.
pub(super) fn singular(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    if let Some(base) = last.strip_suffix("ies") {
        format!("{base}y")
    } else if last.ends_with("ss") || last.ends_with("us") {
        last.to_owned()
    } else {
        last.strip_suffix('s').filter(|b| !b.is_empty()).unwrap_or(last).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use polystoreiq_protocol::types::Engine;

    use super::*;
    use crate::intent::RankReq;

    fn model() -> SchemaModel {
        SchemaModel::new(&crate::tests::demo(Engine::Postgres), Engine::Postgres)
    }

    #[test]
    fn a_table_name_reads_as_one_row() {
        for (name, one) in
            [("customers", "customer"), ("categories", "category"), ("sales.orders", "order"), ("status", "status")]
        {
            assert_eq!(singular(name), one);
        }
    }

    #[test]
    fn the_base_is_the_table_every_part_reaches() {
        let intent = Intent {
            measures: vec![MeasureReq { agg: Agg::Sum, target: Some(Target::Concept(Concept::Money)) }],
            dims: vec![DimReq::Group(Target::Table("customers".into()))],
            ..Intent::default()
        };
        let (spec, notes) = resolve(&intent, &model()).unwrap();
        assert_eq!(spec.base, "orders");
        assert_eq!(spec.joins.len(), 1);
        assert!(notes.iter().any(|n| n.contains("per customers")), "{notes:?}");
    }

    #[test]
    fn a_rank_with_no_measure_becomes_a_sorted_list_or_a_count() {
        let model = model();
        let rank = |by: RankBy| Some(RankReq { desc: true, n: Some(3), by: Some(by), top_word: false });
        let mut cheapest = Intent {
            rank: rank(RankBy::Target(Target::Concept(Concept::Price))),
            subject: Some("products".into()),
            ..Intent::default()
        };
        let (list_order, aggregate) = settle_measures(&mut cheapest, &model, Some(1)).unwrap();
        assert_eq!(list_order, Some((Target::Concept(Concept::Price), true)));
        assert!(!aggregate);
        let mut most_orders = Intent {
            rank: rank(RankBy::CountOf("orders".into())),
            subject: Some("customers".into()),
            ..Intent::default()
        };
        let (list_order, aggregate) = settle_measures(&mut most_orders, &model, Some(0)).unwrap();
        assert!(list_order.is_none() && aggregate);
        assert_eq!(
            most_orders.measures,
            [MeasureReq { agg: Agg::Count, target: Some(Target::Table("orders".into())) }]
        );
        assert_eq!(most_orders.dims, [DimReq::Group(Target::Table("customers".into()))]);
    }

    #[test]
    fn an_aggregate_reads_only_tables_that_hold_its_measures() {
        let model = model();
        let count = |t: &str| MeasureReq { agg: Agg::Count, target: Some(Target::Table(t.into())) };
        let intent = Intent { measures: vec![count("customers")], ..Intent::default() };
        assert_eq!(candidate_bases(&intent, &model, None, &[], true).unwrap(), [0]);
        let intent =
            Intent { measures: vec![count("customers")], mentioned: vec!["orders".into()], ..Intent::default() };
        assert_eq!(candidate_bases(&intent, &model, None, &[2], true).unwrap(), [0, 2]);
        let none = Intent { measures: vec![MeasureReq { agg: Agg::Count, target: None }], ..Intent::default() };
        assert!(candidate_bases(&none, &model, None, &[], true).unwrap_err().0.contains("what should be counted"));
    }
}
