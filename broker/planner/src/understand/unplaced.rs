//! The last pass: a phrase that means something and that no pass placed is a decline naming its words, with
//! the columns they may mean and how to say a value.

use super::Phrase;
use crate::intent::{Intent, Result, decline};
use crate::link::{Meaning, show_number};
use crate::schema_model::{SchemaModel, outline};

/// Declines when a phrase that carries meaning was not placed.
pub(super) fn check(phrases: &[Phrase], intent: &Intent, model: &SchemaModel) -> Result<()> {
    let unplaced: Vec<&Phrase> = phrases.iter().filter(|i| !i.placed && i.meaning.carries_meaning()).collect();
    if !unplaced.is_empty() {
        return decline(unplaced_message(&unplaced, intent, model));
    }
    Ok(())
}

fn unplaced_message(unplaced: &[&Phrase], intent: &Intent, model: &SchemaModel) -> String {
    let words: Vec<String> = unplaced.iter().map(|i| format!("\"{}\"", i.text)).collect();
    let mut message = format!(
        "could not place {} in this source's schema, so no query was drafted (the planner does not guess)",
        words.join(", ")
    );
    let mut hints = Vec::new();
    for phrase in unplaced {
        match &phrase.meaning {
            Meaning::Unknown | Meaning::Value(_) | Meaning::Place(_) => {
                let near = model.near_columns(&phrase.text, 3);
                if !near.is_empty() {
                    hints.push(format!("\"{}\" may mean {}", phrase.text, near.join(" or ")));
                }
                let mut tables: Vec<usize> = intent
                    .mentioned
                    .iter()
                    .filter_map(|t| model.table_index(t))
                    .chain(intent.subject.as_deref().and_then(|t| model.table_index(t)))
                    .collect();
                tables.sort_unstable();
                tables.dedup();
                let text_cols: Vec<String> = tables
                    .iter()
                    .flat_map(|&t| {
                        model.tables[t]
                            .columns
                            .iter()
                            .filter(|c| c.role.text && !c.role.key && c.name != "_id")
                            .map(move |c| format!("{}.{}", model.tables[t].name, c.name))
                    })
                    .take(6)
                    .collect();
                let example = text_cols
                    .first()
                    .map_or("status".to_owned(), |c| c.rsplit('.').next().unwrap_or("status").to_owned());
                let value = phrase.text.trim_matches('\'');
                if !text_cols.is_empty() {
                    hints.push(format!(
                        "if \"{value}\" is a value, quote it after its column, e.g. {example} '{value}' (text columns: {})",
                        text_cols.join(", ")
                    ));
                } else {
                    hints.push(format!(
                        "if \"{value}\" is a value, quote it after its column, e.g. {example} '{value}'"
                    ));
                }
            }
            Meaning::Num(n) => hints.push(format!(
                "say what {} is: a year (\"in {}\"), a limit (\"top {}\") or a column's value (\"quantity {}\")",
                show_number(*n),
                show_number(*n),
                show_number(*n),
                show_number(*n)
            )),
            _ => {}
        }
    }
    if hints.is_empty() || intent.mentioned.is_empty() {
        let all: Vec<usize> = (0..model.tables.len().min(12)).collect();
        hints.push(format!("tables and columns here: {}", outline(model, &all, 8)));
    }
    message.push_str("; ");
    message.push_str(&hints.join("; "));
    message
}

#[cfg(test)]
mod tests {
    use super::super::{demo_model, phrases};
    use super::*;

    #[test]
    fn an_unplaced_word_is_named_with_what_the_schema_holds() {
        let model = demo_model();
        let err = check(&phrases(&model, "what is the weather"), &Intent::default(), &model).unwrap_err();
        assert!(err.0.contains("\"weather\"") && err.0.contains("customers ("), "{}", err.0);
    }

    #[test]
    fn unplaced_function_words_are_fine() {
        let model = demo_model();
        let mut p = phrases(&model, "the orders");
        p[1].placed = true;
        assert!(check(&p, &Intent::default(), &model).is_ok());
    }
}
