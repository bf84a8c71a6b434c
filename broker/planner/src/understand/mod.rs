//! Understanding: a question's linked phrases become an [`Intent`] (what the question asks, still at the level of
//! its words: "revenue", "by customer", "in 2024") and the [`FollowUpCues`] that say how it relates to the
//! previous turn.
//!
//! It runs as a sequence of named passes, in this order, each placing the phrases it understands:
//! [`cues`] (follow-up words, what the planner cannot compute, tables mentioned), [`qualifiers`] (`customer
//! country`), [`values`] (`status 'shipped'`, `in Germany`, `customer 42`), [`missing`] (`with no composer`),
//! [`dates`] (`hired in 2003`), [`comparisons`] (`amount over 100`), [`ranks`] (`top 5`, `cheapest`), [`groups`]
//! (`by status`, `monthly`, `over time`), [`measures`] (`how many`, `average amount`, `revenue`), [`subject`]
//! (the table the question is about, columns to list) and [`unplaced`]. The order matters: a phrase an earlier
//! pass placed is not read again, so a value binds to its column before a group could take that column.
//!
//! Every phrase that means something must be placed; anything left over is a [`Decline`] that names the words and
//! suggests what to try. It never guesses silently.

mod comparisons;
mod cues;
mod dates;
mod groups;
mod measures;
mod missing;
mod qualifiers;
mod ranks;
mod subject;
mod unplaced;
mod values;

use super::intent::{ColRef, FollowUpCues, Intent, RankBy, Result};
use super::link::{LinkedPhrase, Meaning};
use super::schema_model::{ColId, SchemaHit, SchemaModel};
use super::spec::Col;

#[cfg(doc)]
use super::intent::Decline;

/// The intent of a question's linked phrases, and how it relates to the previous turn; a decline names the words
/// it could not place or the thing it does not compute.
pub fn understand(linked: Vec<LinkedPhrase>, model: &SchemaModel) -> Result<(Intent, FollowUpCues)> {
    let mut phrases: Vec<Phrase> = linked.into_iter().map(Phrase::new).collect();
    let (cues, mentioned) = cues::read(&mut phrases, model)?;
    let mut intent = Intent { mentioned, ..Intent::default() };
    qualifiers::attach(&mut phrases);
    intent.filters.extend(values::bind(&mut phrases, model));
    intent.filters.extend(missing::bind(&mut phrases, model));
    intent.filters.extend(dates::bind(&mut phrases, model));
    intent.filters.extend(comparisons::bind(&mut phrases, model)?);
    (intent.rank, intent.limit) = ranks::read(&mut phrases, model);
    groups::read(&mut phrases, &mut intent, model);
    measures::read(&mut phrases, &mut intent, model)?;
    subject::read(&mut phrases, &mut intent, model);
    unplaced::check(&phrases, &intent, model)?;
    Ok((intent, cues))
}

/// A linked phrase while understanding places it: its meaning (which a qualifier may rewrite), its words, and
/// whether a pass has placed it in the intent yet.
struct Phrase {
    meaning: Meaning,
    text: String,
    placed: bool,
}

impl Phrase {
    fn new(linked: LinkedPhrase) -> Phrase {
        Phrase { meaning: linked.meaning, text: linked.text, placed: false }
    }
}

/// The words that may sit between a column and its value (`status is 'shipped'`, `country = 'France'`).
fn is_glue(phrase: &Phrase) -> bool {
    matches!(phrase.meaning, Meaning::Binder)
        || (phrase.meaning == Meaning::Stop
            && matches!(phrase.text.as_str(), "is" | "are" | "was" | "of" | "the" | "a" | "an"))
}

/// A table word that only qualified its neighbour (`customer` in `customer country`) reads as a function word
/// from now on; the table stays among those the question mentions.
fn absorb(phrase: &mut Phrase) {
    phrase.meaning = Meaning::Stop;
    phrase.placed = true;
}

fn colref(model: &SchemaModel, (t, c): ColId, exact: bool) -> ColRef {
    ColRef { col: Col { table: model.tables[t].name.clone(), column: model.tables[t].columns[c].name.clone() }, exact }
}

fn is_plural(phrase: &Phrase) -> bool {
    matches!(phrase.meaning, Meaning::Schema { plural: true, .. })
}

/// The table an phrase names, if it names one (a table wins over columns of the same name).
fn table_of(phrase: &Phrase) -> Option<usize> {
    match &phrase.meaning {
        Meaning::Schema { hits, .. } => hits.iter().find_map(|h| match h {
            SchemaHit::Table(t) => Some(*t),
            SchemaHit::Column(..) => None,
        }),
        _ => None,
    }
}

fn columns_of(phrase: &Phrase) -> Option<Vec<(ColId, bool)>> {
    match &phrase.meaning {
        Meaning::Schema { hits, .. } if table_of(phrase).is_none() => {
            let cols: Vec<(ColId, bool)> = hits
                .iter()
                .filter_map(|h| match h {
                    SchemaHit::Column(c, e) => Some((*c, *e)),
                    SchemaHit::Table(_) => None,
                })
                .collect();
            (!cols.is_empty()).then_some(cols)
        }
        _ => None,
    }
}

fn groupable(phrase: &Phrase) -> bool {
    matches!(phrase.meaning, Meaning::Unit(..)) || table_of(phrase).is_some() || columns_of(phrase).is_some()
}

/// The next phrase after `k` that is not a function word.
fn next_meaningful(phrases: &[Phrase], k: usize) -> Option<usize> {
    (k + 1..phrases.len()).find(|&j| !matches!(phrases[j].meaning, Meaning::Stop | Meaning::Binder | Meaning::Cue))
}

fn next_index(phrases: &[Phrase], k: usize) -> Option<usize> {
    (k + 1 < phrases.len()).then_some(k + 1)
}

/// Marks the `not`s between a column and its value as placed.
fn mark_negations_placed(phrases: &mut [Phrase], from: usize, to: usize) {
    for phrase in &mut phrases[from + 1..to] {
        if phrase.meaning == Meaning::Not {
            phrase.placed = true;
        }
    }
}

fn rank_by_is_none(intent: &Intent) -> bool {
    intent.rank.as_ref().is_none_or(|r| r.by.is_none())
}

fn set_rank_by(intent: &mut Intent, by: RankBy) {
    if let Some(rank) = &mut intent.rank
        && rank.by.is_none()
    {
        rank.by = Some(by);
    }
}

/// The demo schema's model, for the passes' tests.
#[cfg(test)]
fn demo_model() -> SchemaModel {
    use polystoreiq_protocol::types::Engine;
    SchemaModel::new(&crate::tests::demo(Engine::Postgres), Engine::Postgres)
}

/// A question's phrases as linking leaves them, before any pass.
#[cfg(test)]
fn phrases(model: &SchemaModel, question: &str) -> Vec<Phrase> {
    let tokens = crate::lexicon::tokenize(question);
    let linked = crate::link::link(&tokens, model, crate::tests::today());
    linked.into_iter().map(Phrase::new).collect()
}

/// `table.column` for each column a target may mean.
#[cfg(test)]
fn column_names(target: &super::intent::Target) -> Vec<String> {
    match target {
        super::intent::Target::Cols(cols) => cols.iter().map(|c| c.col.to_string()).collect(),
        other => panic!("not columns: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::{Cond, DimReq, MeasureReq, Target};
    use crate::lexicon::{Concept, Date};
    use crate::spec::Agg;

    fn understood(question: &str) -> Result<(Intent, FollowUpCues)> {
        let model = demo_model();
        let tokens = crate::lexicon::tokenize(question);
        understand(crate::link::link(&tokens, &model, crate::tests::today()), &model)
    }

    #[test]
    fn the_passes_read_a_whole_question_into_an_intent() {
        let (intent, cues) = understood("revenue by country in 2024").unwrap();
        assert_eq!(intent.measures, vec![MeasureReq { agg: Agg::Sum, target: Some(Target::Concept(Concept::Money)) }]);
        assert!(matches!(&intent.dims[..], [DimReq::Group(t)] if column_names(t) == ["customers.country"]));
        assert_eq!(intent.filters.len(), 1);
        assert_eq!(intent.filters[0].target, Target::Concept(Concept::When));
        assert!(matches!(&intent.filters[0].cond, Cond::Dates(r) if r.from == Some(Date::new(2024, 1, 1))));
        assert_eq!(cues, FollowUpCues::default());
    }

    #[test]
    fn a_value_binds_to_its_column_before_a_group_can_take_it() {
        let (intent, _) = understood("orders by channel with status 'shipped'").unwrap();
        assert!(matches!(&intent.dims[..], [DimReq::Group(t)] if column_names(t) == ["orders.channel"]));
        assert!(matches!(&intent.filters[0].cond, Cond::Text { value, negated: false } if value == "shipped"));
        assert_eq!(column_names(&intent.filters[0].target), ["orders.status"]);
    }

    #[test]
    fn a_word_no_pass_places_is_declined_by_name() {
        let err = understood("orders by weather").unwrap_err();
        assert!(err.0.contains("\"weather\""), "{}", err.0);
    }
}
