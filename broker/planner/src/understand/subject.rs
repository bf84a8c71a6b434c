//! The subject pass: what is left names the table the question is about, other tables for context, and the
//! columns to list; a verb of happening (`sold`, `placed`) asks `resolve` for a table of facts.

use super::{Phrase, colref, columns_of, is_plural, table_of};
use crate::intent::{Intent, Target};
use crate::link::Meaning;
use crate::schema_model::SchemaModel;

/// Sets the intent's subject, list columns and `soft` from the phrases no earlier pass placed.
pub(super) fn read(phrases: &mut [Phrase], intent: &mut Intent, model: &SchemaModel) {
    let table_name = |t: usize| model.tables[t].name.clone();

    // What is left: the subject, other tables for context, and columns to list.
    for phrase in phrases.iter_mut() {
        if phrase.placed {
            continue;
        }
        if let Some(t) = table_of(phrase) {
            if intent.subject.is_none() {
                intent.subject = Some(table_name(t));
                intent.subject_plural = is_plural(phrase);
            }
            phrase.placed = true;
        } else if let Some(cols) = columns_of(phrase) {
            intent.list_cols.push(Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()));
            intent.list_plural |= is_plural(phrase);
            phrase.placed = true;
        } else if let Meaning::Concept(c) = phrase.meaning {
            intent.list_cols.push(Target::Concept(c));
            phrase.placed = true;
        }
    }
    for phrase in phrases.iter_mut() {
        if phrase.meaning == Meaning::Soft {
            // `sold`, `placed`: fine when the plan reads facts, checked in `build`.
            intent.soft = true;
            phrase.placed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{column_names, demo_model, phrases};
    use super::*;

    #[test]
    fn what_is_left_names_the_subject_the_columns_to_list_and_a_fact() {
        let model = demo_model();
        let mut intent = Intent::default();
        let mut p = phrases(&model, "customers city sold");
        read(&mut p, &mut intent, &model);
        assert_eq!(intent.subject.as_deref(), Some("customers"));
        assert!(intent.subject_plural && !intent.list_plural && intent.soft);
        assert_eq!(intent.list_cols.len(), 1);
        assert_eq!(column_names(&intent.list_cols[0]), ["customers.city"]);
        assert!(p.iter().all(|p| p.placed));
    }
}
