//! The ranks pass: `top 5`, `the most tracks`, `the highest total`, `cheapest`, `earliest order date`, `first
//! 10`. A rank says its direction and size here; what it ranks by may still be found by a later pass.

use super::{Phrase, colref, columns_of, next_meaningful, table_of};
use crate::intent::{ColRef, RankBy, RankReq, Target};
use crate::lexicon::Concept;
use crate::link::Meaning;
use crate::schema_model::SchemaModel;

/// The question's rank (`top 5 ... by`) and list limit (`first 10`).
pub(super) fn read(phrases: &mut [Phrase], model: &SchemaModel) -> (Option<RankReq>, Option<u64>) {
    let mut rank_req: Option<RankReq> = None;
    let mut limit = None;
    let table_name = |t: usize| model.tables[t].name.clone();

    // Ranks: `top 5`, `the most`, `cheapest`, `first 10`.
    for k in 0..phrases.len() {
        match phrases[k].meaning.clone() {
            Meaning::Limit(n) => {
                limit = Some(n);
                phrases[k].placed = true;
            }
            Meaning::Top { n, desc } => {
                let top_word = phrases[k].text.starts_with("top") || phrases[k].text.starts_with("bottom");
                let rank = rank_req.get_or_insert(RankReq { desc, n: None, by: None, top_word });
                rank.n = rank.n.or(n);
                rank.top_word |= top_word;
                phrases[k].placed = true;
                if top_word || n.is_some() {
                    continue;
                }
                // `the most tracks` ranks by a count; `the highest total` by a column.
                let Some(j) = next_meaningful(phrases, k) else { continue };
                if phrases[j].placed {
                    continue;
                }
                if let Some(t) = table_of(&phrases[j]) {
                    rank.by = Some(RankBy::CountOf(table_name(t)));
                    phrases[j].placed = true;
                } else if let Some(cols) = columns_of(&phrases[j]) {
                    let cols: Vec<ColRef> = cols
                        .iter()
                        .filter(|(c, _)| {
                            let role = model.column(*c).role;
                            role.numeric || role.date
                        })
                        .map(|(c, e)| colref(model, *c, *e))
                        .collect();
                    if !cols.is_empty() {
                        rank.by = Some(RankBy::Target(Target::Cols(cols)));
                        phrases[j].placed = true;
                    }
                } else if let Meaning::Concept(c) = phrases[j].meaning {
                    rank.by = Some(RankBy::Target(Target::Concept(c)));
                    phrases[j].placed = true;
                }
            }
            Meaning::Superlative { concept, desc } => {
                phrases[k].placed = true;
                // The columns phrase `j` names that the superlative can order by: dates for "when", else numbers.
                let fitting = |phrases: &[Phrase], j: usize| {
                    let cols: Vec<ColRef> = columns_of(&phrases[j])?
                        .into_iter()
                        .filter(|(c, _)| {
                            let role = model.column(*c).role;
                            if concept == Concept::When { role.date } else { role.numeric }
                        })
                        .map(|(c, e)| colref(model, c, e))
                        .collect();
                    (!cols.is_empty()).then_some((j, cols))
                };
                // `earliest order date`, `latest hire date`: the column the superlative is about.
                let named =
                    next_meaningful(phrases, k).filter(|&j| !phrases[j].placed).and_then(|j| fitting(phrases, j));
                // `customers who signed up most recently`: the column said before the superlative.
                let named = named.or_else(|| {
                    let j = (0..k).rev().find(|&j| {
                        !matches!(phrases[j].meaning, Meaning::Stop | Meaning::Binder | Meaning::Soft | Meaning::Cue)
                    })?;
                    if phrases[j].placed {
                        return None;
                    }
                    fitting(phrases, j)
                });
                let rank = rank_req.get_or_insert(RankReq { desc, n: None, by: None, top_word: false });
                rank.desc = desc;
                if let Some((j, cols)) = named {
                    rank.by = Some(RankBy::Target(Target::Cols(cols)));
                    phrases[j].placed = true;
                } else if rank.by.is_none() {
                    rank.by = Some(RankBy::Target(Target::Concept(concept)));
                }
            }
            _ => {}
        }
    }
    (rank_req, limit)
}

#[cfg(test)]
mod tests {
    use super::super::{demo_model, phrases};
    use super::*;

    #[test]
    fn top_cheapest_and_first_read_as_a_rank_or_a_limit() {
        let model = demo_model();
        let (rank, limit) = read(&mut phrases(&model, "top 5 customers"), &model);
        assert_eq!(rank, Some(RankReq { desc: true, n: Some(5), by: None, top_word: true }));
        assert_eq!(limit, None);
        let (rank, _) = read(&mut phrases(&model, "the cheapest products"), &model);
        let rank = rank.unwrap();
        assert!(!rank.desc);
        assert_eq!(rank.by, Some(RankBy::Target(Target::Concept(Concept::Price))));
        let (rank, limit) = read(&mut phrases(&model, "first 10 orders"), &model);
        assert_eq!((rank, limit), (None, Some(10)));
    }

    #[test]
    fn the_most_of_a_table_ranks_by_its_count() {
        let model = demo_model();
        let (rank, _) = read(&mut phrases(&model, "the most orders"), &model);
        assert_eq!(rank.unwrap().by, Some(RankBy::CountOf("orders".into())));
    }
}
