//! The groups pass: `by status`, `per month`, `by customer country and channel`, `by signup year`, and the
//! units and trends said without a grouping word (`monthly revenue`, `over time`). After a rank, a group word may
//! say what is ranked instead (`top 5 artists by number of albums`).

use super::{
    Phrase, colref, columns_of, groupable, next_index, next_meaningful, rank_by_is_none, set_rank_by, table_of,
};
use crate::intent::{ColRef, DimReq, Intent, MeasureReq, RankBy, Target};
use crate::lexicon::Unit;
use crate::link::Meaning;
use crate::schema_model::SchemaModel;

/// Adds the question's groups and time buckets to `intent` (and, after a rank, what it ranks by).
pub(super) fn read(phrases: &mut [Phrase], intent: &mut Intent, model: &SchemaModel) {
    let table_name = |t: usize| model.tables[t].name.clone();

    // Groups: `by status`, `per month`, `by customer country and channel`, `monthly`.
    let ranked = intent.rank.is_some();
    for k in 0..phrases.len() {
        if phrases[k].meaning != Meaning::Group || phrases[k].placed {
            continue;
        }
        phrases[k].placed = true;
        let mut j = k;
        while let Some(next) = next_meaningful(phrases, j) {
            if phrases[next].placed {
                break;
            }
            j = next;
            let mut took = true;
            match phrases[j].meaning.clone() {
                Meaning::Unit(unit, _) => intent.dims.push(DimReq::Bucket(None, unit)),
                Meaning::Count if ranked => {
                    phrases[j].placed = true;
                    if let Some(t) = next_meaningful(phrases, j).filter(|&t| table_of(&phrases[t]).is_some()) {
                        let name = table_name(table_of(&phrases[t]).unwrap_or_default());
                        set_rank_by(intent, RankBy::CountOf(name));
                        j = t;
                    } else {
                        took = false;
                    }
                }
                Meaning::Agg(agg) if ranked => {
                    let Some(t) = next_meaningful(phrases, j) else { break };
                    let target = match (&phrases[t].meaning, columns_of(&phrases[t])) {
                        (_, Some(cols)) => Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()),
                        (Meaning::Concept(c), None) => Target::Concept(*c),
                        _ => break,
                    };
                    phrases[j].placed = true;
                    intent.measures.push(MeasureReq { agg, target: Some(target) });
                    j = t;
                }
                Meaning::Concept(c) if ranked => set_rank_by(intent, RankBy::Target(Target::Concept(c))),
                _ => {
                    if let Some(t) = table_of(&phrases[j]) {
                        if ranked && intent.measures.is_empty() && rank_by_is_none(intent) {
                            set_rank_by(intent, RankBy::CountOf(table_name(t)));
                        } else {
                            intent.dims.push(DimReq::Group(Target::Table(table_name(t))));
                        }
                    } else if let Some(cols) = columns_of(&phrases[j]) {
                        let refs: Vec<ColRef> = cols.iter().map(|(c, e)| colref(model, *c, *e)).collect();
                        let numeric = cols.iter().all(|(c, _)| model.column(*c).role.numeric);
                        let dated = cols.iter().all(|(c, _)| model.column(*c).role.date);
                        if ranked && numeric && intent.measures.is_empty() && rank_by_is_none(intent) {
                            set_rank_by(intent, RankBy::Target(Target::Cols(refs)));
                        } else if dated {
                            // `by signup year`, `by invoice date`.
                            let unit = match next_meaningful(phrases, j).map(|u| (u, phrases[u].meaning.clone())) {
                                Some((u, Meaning::Unit(unit, _))) => {
                                    phrases[j].placed = true;
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
            phrases[j].placed = true;
            // `by channel and status`: another group after `and`.
            let Some(after) = next_index(phrases, j) else { break };
            if phrases[after].text == "and" && next_meaningful(phrases, after).is_some_and(|n| groupable(&phrases[n])) {
                j = after;
                continue;
            }
            break;
        }
    }
    for phrase in phrases.iter_mut() {
        if let Meaning::Unit(unit, _) = phrase.meaning
            && !phrase.placed
        {
            // `monthly revenue`, `which month had the most orders`.
            intent.dims.push(DimReq::Bucket(None, unit));
            phrase.placed = true;
        }
    }
    for phrase in phrases.iter_mut() {
        if phrase.meaning == Meaning::Trend && !phrase.placed {
            // `over time`, `trend`: by month, unless the question names a unit.
            if !intent.dims.iter().any(|d| matches!(d, DimReq::Bucket(..))) {
                intent.dims.push(DimReq::Bucket(None, Unit::Month));
            }
            phrase.placed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{column_names, demo_model, phrases};
    use super::*;

    fn dims(question: &str) -> Vec<DimReq> {
        let model = demo_model();
        let mut intent = Intent::default();
        read(&mut phrases(&model, question), &mut intent, &model);
        intent.dims
    }

    #[test]
    fn groups_after_by_and_another_after_and() {
        let dims = dims("orders by status and channel");
        let names: Vec<Vec<String>> = dims
            .iter()
            .map(|d| match d {
                DimReq::Group(t) => column_names(t),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, [["orders.status"], ["orders.channel"]]);
    }

    #[test]
    fn units_and_trends_bucket_the_plans_date() {
        assert_eq!(dims("monthly revenue"), [DimReq::Bucket(None, Unit::Month)]);
        assert_eq!(dims("orders over time"), [DimReq::Bucket(None, Unit::Month)]);
        assert_eq!(dims("orders per week over time"), [DimReq::Bucket(None, Unit::Week)]);
        assert!(matches!(&dims("customers by signup date")[..], [DimReq::Bucket(Some(_), Unit::Day)]));
    }
}
