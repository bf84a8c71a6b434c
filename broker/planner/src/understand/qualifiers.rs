//! The qualifiers pass: a table word that says whose column or concept is meant (`customer country`, `album
//! title`, `track length`, `the country of the customer`) narrows that phrase to the table's columns.

use super::{Phrase, absorb, columns_of, is_plural, table_of};
use crate::link::Meaning;
use crate::schema_model::{ColId, SchemaHit};

/// Rewrites qualified column phrases to the qualifying table's columns; a qualifier placed only to qualify reads as
/// a function word from then on.
pub(super) fn attach(phrases: &mut [Phrase]) {
    // Qualifiers: `customer country`, `album title`, and `country of the customer`.
    for k in 0..phrases.len() {
        let Some(t) = table_of(&phrases[k]) else { continue };
        // A noun qualifies the next one in the singular (`customer country`); `employees hired` is about employees.
        let singular_word = !is_plural(&phrases[k]);
        if let Some(next) = phrases.get(k + 1).filter(|_| singular_word) {
            if let Some(cols) = columns_of(next) {
                let own: Vec<(ColId, bool)> = cols.into_iter().filter(|(c, _)| c.0 == t).collect();
                if !own.is_empty() {
                    let text = format!("{} {}", phrases[k].text, phrases[k + 1].text);
                    phrases[k + 1].meaning = Meaning::Schema {
                        hits: own.iter().map(|(c, e)| SchemaHit::Column(*c, *e)).collect(),
                        plural: false,
                    };
                    phrases[k + 1].text = text;
                    absorb(&mut phrases[k]);
                    continue;
                }
            }
            // `track length`, `customer revenue`: the table says where to look for the concept.
            if matches!(next.meaning, Meaning::Concept(_)) {
                absorb(&mut phrases[k]);
                continue;
            }
        }
        // `X of [the] T`: look back over `of`/`the`.
        let mut j = k;
        let mut saw_of = false;
        while j > 0 {
            j -= 1;
            match (&phrases[j].meaning, phrases[j].text.as_str()) {
                (Meaning::Stop, "of") => saw_of = true,
                (Meaning::Stop, "the" | "each" | "every") => {}
                _ => break,
            }
        }
        if saw_of
            && j < k
            && !phrases[j].placed
            && let Some(cols) = columns_of(&phrases[j])
        {
            let own: Vec<(ColId, bool)> = cols.into_iter().filter(|(c, _)| c.0 == t).collect();
            if !own.is_empty() {
                // The table stays: `the cities of customers in Spain` lists customers.
                phrases[j].meaning = Meaning::Schema {
                    hits: own.iter().map(|(c, e)| SchemaHit::Column(*c, *e)).collect(),
                    plural: false,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{demo_model, phrases};
    use super::*;

    #[test]
    fn a_table_word_narrows_the_next_column_to_its_own() {
        let model = demo_model();
        let mut p = phrases(&model, "customer name");
        attach(&mut p);
        assert_eq!(p[0].meaning, Meaning::Stop, "the qualifier reads as a function word");
        assert!(p[0].placed);
        assert_eq!(columns_of(&p[1]), Some(vec![((0, 1), true)]));
        assert_eq!(p[1].text, "customer name");
    }

    #[test]
    fn of_the_table_narrows_the_column_before_and_keeps_the_table() {
        let model = demo_model();
        let mut p = phrases(&model, "name of the product");
        attach(&mut p);
        assert_eq!(columns_of(&p[0]), Some(vec![((1, 1), true)]));
        assert!(table_of(&p[3]).is_some() && !p[3].placed);
    }
}
