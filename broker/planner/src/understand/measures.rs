//! The measures pass: `how many X`, `number of distinct X`, `average Y`, `total revenue`, `total orders` (a
//! count), a bare `revenue`, and the words that shape the answer (`when`, `distinct`, `all`).

use super::{Phrase, colref, columns_of, is_plural, next_index, next_meaningful, set_rank_by, table_of};
use crate::intent::{Intent, MeasureReq, RankBy, Result, Target, decline, push_unique};
use crate::lexicon::Concept;
use crate::link::Meaning;
use crate::schema_model::SchemaModel;
use crate::spec::Agg;

/// Adds the question's measures to `intent`, and its subject when a measure names it.
pub(super) fn read(phrases: &mut [Phrase], intent: &mut Intent, model: &SchemaModel) -> Result<()> {
    let table_name = |t: usize| model.tables[t].name.clone();

    // Measures: `how many X`, `number of distinct X`, `average Y`, `total revenue`, `revenue`.
    for k in 0..phrases.len() {
        if phrases[k].placed {
            continue;
        }
        match phrases[k].meaning.clone() {
            Meaning::Count => {
                phrases[k].placed = true;
                let mut j = k;
                let mut distinct = false;
                let mut target = None;
                while let Some(n) = next_index(phrases, j) {
                    j = n;
                    match &phrases[j].meaning {
                        Meaning::Distinct => {
                            distinct = true;
                            phrases[j].placed = true;
                        }
                        Meaning::Stop if matches!(phrases[j].text.as_str(), "the" | "of" | "all") => {}
                        _ => {
                            if phrases[j].placed {
                                break;
                            }
                            if let Some(t) = table_of(&phrases[j]) {
                                target = Some(Target::Table(table_name(t)));
                                phrases[j].placed = true;
                                intent.subject_plural |= is_plural(&phrases[j]);
                            } else if let Some(cols) = columns_of(&phrases[j]) {
                                target =
                                    Some(Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()));
                                phrases[j].placed = true;
                                distinct = true;
                            }
                            break;
                        }
                    }
                }
                let agg =
                    if distinct && matches!(target, Some(Target::Cols(_))) { Agg::CountDistinct } else { Agg::Count };
                if let Some(Target::Table(t)) = &target {
                    intent.subject.get_or_insert_with(|| t.clone());
                }
                intent.measures.push(MeasureReq { agg, target });
            }
            Meaning::Agg(agg) => {
                phrases[k].placed = true;
                let Some(j) = next_meaningful(phrases, k) else {
                    intent.measures.push(MeasureReq { agg, target: Some(Target::Concept(Concept::Money)) });
                    continue;
                };
                if phrases[j].meaning == Meaning::Count {
                    return decline(format!(
                        "the offline planner does not aggregate a count (\"{} {}\"): ask for the counts per group and \
                         read them, or write the query with `psiq query`",
                        phrases[k].text, phrases[j].text
                    ));
                }
                let target = if phrases[j].placed {
                    None
                } else if let Some(cols) = columns_of(&phrases[j]) {
                    Some(Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()))
                } else if let Meaning::Concept(c) = phrases[j].meaning {
                    Some(Target::Concept(c))
                } else if let Some(t) = table_of(&phrases[j]) {
                    // `total orders` counts them; `average order` is the average amount of one.
                    push_unique(&mut intent.mentioned, table_name(t));
                    if agg == Agg::Sum {
                        intent.subject.get_or_insert_with(|| table_name(t));
                        phrases[j].placed = true;
                        intent
                            .measures
                            .push(MeasureReq { agg: Agg::Count, target: Some(Target::Table(table_name(t))) });
                        continue;
                    }
                    intent.subject.get_or_insert_with(|| table_name(t));
                    Some(Target::Concept(Concept::Money))
                } else {
                    None
                };
                let target = target.unwrap_or(Target::Concept(Concept::Money));
                if let Some(t) = phrases.get_mut(j).filter(|i| !i.placed)
                    && (columns_of(t).is_some() || matches!(t.meaning, Meaning::Concept(_)) || table_of(t).is_some())
                {
                    t.placed = true;
                }
                intent.measures.push(MeasureReq { agg, target: Some(target) });
            }
            _ => {}
        }
    }
    for phrase in phrases.iter_mut() {
        if phrase.placed {
            continue;
        }
        match phrase.meaning.clone() {
            Meaning::Concept(Concept::Money) => {
                if intent.rank.as_ref().is_some_and(|r| r.by.is_none()) {
                    set_rank_by(intent, RankBy::Target(Target::Concept(Concept::Money)));
                } else {
                    intent.measures.push(MeasureReq { agg: Agg::Sum, target: Some(Target::Concept(Concept::Money)) });
                }
                phrase.placed = true;
            }
            Meaning::Concept(c) if intent.rank.as_ref().is_some_and(|r| r.by.is_none()) => {
                set_rank_by(intent, RankBy::Target(Target::Concept(c)));
                phrase.placed = true;
            }
            Meaning::When => {
                intent.when = true;
                phrase.placed = true;
            }
            Meaning::Distinct => {
                intent.distinct = true;
                phrase.placed = true;
            }
            Meaning::All => {
                intent.all = true;
                phrase.placed = true;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{column_names, demo_model, phrases};
    use super::*;

    fn measured(question: &str) -> Result<Intent> {
        let model = demo_model();
        let mut intent = Intent::default();
        read(&mut phrases(&model, question), &mut intent, &model)?;
        Ok(intent)
    }

    #[test]
    fn counts_sums_and_averages() {
        let intent = measured("how many orders").unwrap();
        assert_eq!(intent.measures, [MeasureReq { agg: Agg::Count, target: Some(Target::Table("orders".into())) }]);
        assert_eq!(intent.subject.as_deref(), Some("orders"));
        assert!(intent.subject_plural);
        let intent = measured("number of distinct countries").unwrap();
        assert_eq!(intent.measures[0].agg, Agg::CountDistinct);
        assert_eq!(column_names(intent.measures[0].target.as_ref().unwrap()), ["customers.country"]);
        let intent = measured("average amount").unwrap();
        assert_eq!(intent.measures[0].agg, Agg::Avg);
        assert_eq!(
            measured("revenue").unwrap().measures,
            [MeasureReq { agg: Agg::Sum, target: Some(Target::Concept(Concept::Money)) }]
        );
        // `total orders` counts them.
        assert_eq!(
            measured("total orders").unwrap().measures,
            [MeasureReq { agg: Agg::Count, target: Some(Target::Table("orders".into())) }]
        );
    }

    #[test]
    fn an_aggregate_of_a_count_is_declined() {
        let err = measured("average number of orders").unwrap_err();
        assert!(err.0.contains("does not aggregate a count"), "{}", err.0);
    }
}
