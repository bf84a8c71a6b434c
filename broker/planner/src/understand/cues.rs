//! The cues pass: follow-up words (`now`, `instead`, `split that`), the tables the question mentions, and an
//! early decline for what the planner does not compute (`median`) or cannot date (`in March` with no year).

use super::Phrase;
use crate::intent::{FollowUpCues, Result, decline, push_unique};
use crate::link::Meaning;
use crate::schema_model::{SchemaHit, SchemaModel};

/// The question's follow-up cues and every table it mentions (by name, in order); places the cue words.
pub(super) fn read(phrases: &mut [Phrase], model: &SchemaModel) -> Result<(FollowUpCues, Vec<String>)> {
    let mut cues = FollowUpCues::default();
    let mut mentioned = Vec::new();
    let table_name = |t: usize| model.tables[t].name.clone();

    for phrase in phrases.iter_mut() {
        match &phrase.meaning {
            Meaning::Cue => {
                if matches!(
                    phrase.text.as_str(),
                    "now"
                        | "instead"
                        | "also"
                        | "too"
                        | "again"
                        | "same"
                        | "split"
                        | "break"
                        | "drill"
                        | "rather"
                        | "previous"
                        | "above"
                        | "them"
                        | "those"
                        | "down"
                        | "what about"
                        | "how about"
                ) {
                    cues.strong = true;
                }
                phrase.placed = true;
            }
            Meaning::Instead => {
                cues.strong = true;
                cues.instead = true;
                phrase.placed = true;
            }
            Meaning::Unsupported(what) => {
                return decline(format!(
                    "the offline planner does not compute a {what} (\"{}\"); ask for a count, sum, average, minimum or \
                     maximum, optionally by group or over time, or write the query yourself with `psiq query`",
                    phrase.text
                ));
            }
            Meaning::NeedsYear(month) => {
                return decline(format!("which year's {month}? Say it with the year, e.g. \"in {month} 2024\""));
            }
            Meaning::Schema { hits, .. } => {
                for hit in hits {
                    if let SchemaHit::Table(t) = hit {
                        push_unique(&mut mentioned, table_name(*t));
                    }
                }
            }
            _ => {}
        }
    }
    Ok((cues, mentioned))
}

#[cfg(test)]
mod tests {
    use super::super::{demo_model, phrases};
    use super::*;

    #[test]
    fn follow_up_words_and_the_tables_mentioned() {
        let model = demo_model();
        let mut p = phrases(&model, "now only orders by customer instead");
        let (cues, mentioned) = read(&mut p, &model).unwrap();
        assert!(cues.strong && cues.instead);
        assert_eq!(mentioned, ["orders", "customers"]);
        assert!(p.iter().filter(|p| matches!(p.meaning, Meaning::Cue | Meaning::Instead)).all(|p| p.placed));
        let (cues, _) = read(&mut phrases(&model, "only orders"), &model).unwrap();
        assert!(!cues.strong, "`only` alone does not make a follow-up");
    }

    #[test]
    fn what_the_planner_does_not_compute_is_declined_first() {
        let model = demo_model();
        let err = read(&mut phrases(&model, "median order amount"), &model).unwrap_err();
        assert!(err.0.contains("median"), "{}", err.0);
        let err = read(&mut phrases(&model, "orders in March"), &model).unwrap_err();
        assert!(err.0.contains("which year's march"), "{}", err.0);
    }
}
