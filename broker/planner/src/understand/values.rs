//! The values pass: a literal binds to the column (or table) before it, across `is`, `=`, `named` and `not`
//! (`status 'shipped'`, `albums by artist 'Iron Maiden'`, `customer 42`), or to a column right after it (`the
//! 'Rock' genre`); a capitalized place (`in Germany`) matches the place columns.

use super::{Phrase, colref, columns_of, is_glue, is_plural, mark_negations_placed, next_index, table_of};
use crate::intent::{ColRef, Cond, FilterReq, Target};
use crate::link::Meaning;
use crate::schema_model::SchemaModel;
use crate::spec::CmpOp;

/// The filters the question's values make, in the order the values appear.
pub(super) fn bind(phrases: &mut [Phrase], model: &SchemaModel) -> Vec<FilterReq> {
    let mut filters = Vec::new();
    let table_name = |t: usize| model.tables[t].name.clone();

    // Values: a literal binds to the column (or table) before it, across `is`, `=`, `named`, `not`.
    for k in 0..phrases.len() {
        let value = match &phrases[k].meaning {
            Meaning::Value(v) => Some((v.clone(), true)),
            Meaning::Place(v) => Some((v.clone(), false)),
            Meaning::Unknown => Some((phrases[k].text.clone(), false)),
            _ => None,
        };
        let number = match &phrases[k].meaning {
            Meaning::Num(n) => Some(*n),
            _ => None,
        };
        if value.is_none() && number.is_none() {
            continue;
        }
        let mut j = k;
        let mut negated = false;
        let mut left = None;
        while j > 0 {
            j -= 1;
            if phrases[j].meaning == Meaning::Not {
                negated = true;
                continue;
            }
            if is_glue(&phrases[j]) {
                continue;
            }
            left = Some(j);
            break;
        }
        let quoted = matches!(phrases[k].meaning, Meaning::Value(_));
        if let (Some((value, _)), Some(j)) = (&value, left) {
            if let Some(cols) = columns_of(&phrases[j]) {
                let text_cols: Vec<ColRef> = cols
                    .iter()
                    .filter(|(c, _)| model.column(*c).role.text)
                    .map(|(c, e)| colref(model, *c, *e))
                    .collect();
                if !text_cols.is_empty()
                    && (quoted || matches!(phrases[k].meaning, Meaning::Unknown | Meaning::Place(_)))
                {
                    filters.push(FilterReq {
                        target: Target::Cols(text_cols),
                        cond: Cond::Text { value: value.clone(), negated },
                    });
                    phrases[k].placed = true;
                    phrases[j].placed = true;
                    mark_negations_placed(phrases, j, k);
                    continue;
                }
            }
            if quoted && let Some(t) = table_of(&phrases[j]) {
                filters.push(FilterReq {
                    target: Target::Table(table_name(t)),
                    cond: Cond::Text { value: value.clone(), negated },
                });
                phrases[k].placed = true;
                // The table stays available as the question's subject or a group (`albums of artist 'X'`
                // names the artist only to filter, but `tracks named 'X'` is about tracks).
                mark_negations_placed(phrases, j, k);
                if phrases[j + 1..k].iter().any(|i| i.meaning == Meaning::Binder) {
                    // `tracks named 'X'`: the table is the subject.
                } else {
                    phrases[j].placed = true;
                }
                continue;
            }
        }
        // `the store channel`, `the 'Rock' genre`: a value before its column, or before a singular table word.
        if let Some((value, _)) = &value
            && let Some(j) = next_index(phrases, k).filter(|&j| !phrases[j].placed)
        {
            let text_cols: Vec<ColRef> = columns_of(&phrases[j])
                .unwrap_or_default()
                .iter()
                .filter(|(c, _)| model.column(*c).role.text)
                .map(|(c, e)| colref(model, *c, *e))
                .collect();
            let is_word = matches!(phrases[k].meaning, Meaning::Unknown | Meaning::Value(_));
            if is_word && !text_cols.is_empty() {
                filters.push(FilterReq {
                    target: Target::Cols(text_cols),
                    cond: Cond::Text { value: value.clone(), negated: false },
                });
                phrases[k].placed = true;
                phrases[j].placed = true;
                continue;
            }
            if let (Meaning::Value(_), Some(t)) = (&phrases[k].meaning, table_of(&phrases[j]))
                && !is_plural(&phrases[j])
            {
                filters.push(FilterReq {
                    target: Target::Table(table_name(t)),
                    cond: Cond::Text { value: value.clone(), negated: false },
                });
                phrases[k].placed = true;
                phrases[j].placed = true;
                continue;
            }
        }
        if let (Some(n), Some(j)) = (number, left) {
            if let Some(t) = table_of(&phrases[j])
                && model.tables[t].key.is_some()
            {
                filters.push(FilterReq { target: Target::Table(table_name(t)), cond: Cond::Key(n) });
                phrases[k].placed = true;
                phrases[j].placed = true;
                continue;
            }
            if let Some(cols) = columns_of(&phrases[j]) {
                let numeric: Vec<ColRef> = cols
                    .iter()
                    .filter(|(c, _)| model.column(*c).role.numeric || model.column(*c).role.key)
                    .map(|(c, e)| colref(model, *c, *e))
                    .collect();
                if !numeric.is_empty() {
                    filters.push(FilterReq { target: Target::Cols(numeric), cond: Cond::Number(CmpOp::Eq, n) });
                    phrases[k].placed = true;
                    phrases[j].placed = true;
                    continue;
                }
            }
        }
        if let Meaning::Place(place) = &phrases[k].meaning {
            filters.push(FilterReq { target: place_target(model), cond: Cond::Place(place.clone()) });
            phrases[k].placed = true;
        }
    }
    filters
}

/// Every place column (city, state, country) of the schema: a place name may match any of them.
fn place_target(model: &SchemaModel) -> Target {
    let mut cols = Vec::new();
    for (t, table) in model.tables.iter().enumerate() {
        for (c, column) in table.columns.iter().enumerate() {
            if column.role.place {
                cols.push(colref(model, (t, c), true));
            }
        }
    }
    Target::Cols(cols)
}

#[cfg(test)]
mod tests {
    use super::super::{column_names, demo_model, phrases};
    use super::*;

    #[test]
    fn a_quoted_value_binds_to_the_column_before_it_across_not() {
        let model = demo_model();
        let mut p = phrases(&model, "orders with status not 'shipped'");
        let filters = bind(&mut p, &model);
        assert_eq!(filters.len(), 1);
        assert_eq!(filters[0].cond, Cond::Text { value: "shipped".into(), negated: true });
        assert_eq!(column_names(&filters[0].target), ["orders.status"]);
        assert!(p.iter().filter(|p| p.meaning == Meaning::Not).all(|p| p.placed));
    }

    #[test]
    fn places_numbers_and_names_bind_to_what_they_can_mean() {
        let model = demo_model();
        let filters = bind(&mut phrases(&model, "customers in Germany"), &model);
        assert_eq!(filters[0].cond, Cond::Place("Germany".into()));
        assert_eq!(column_names(&filters[0].target), ["customers.city", "customers.country"]);
        let filters = bind(&mut phrases(&model, "orders of customer 42"), &model);
        assert_eq!(filters, vec![FilterReq { target: Target::Table("customers".into()), cond: Cond::Key(42.0) }]);
        let filters = bind(&mut phrases(&model, "products named 'Desk'"), &model);
        assert_eq!(filters[0].target, Target::Table("products".into()));
    }
}
