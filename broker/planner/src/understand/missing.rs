//! The missing-values pass: `tracks with no composer`, `customers without a company` filter on a column
//! holding no value (NULL).

use super::{Phrase, colref, columns_of, next_meaningful};
use crate::intent::{Cond, FilterReq, Target};
use crate::link::Meaning;
use crate::schema_model::SchemaModel;

/// The filters `no`/`without`/`missing` make on the column named after them.
pub(super) fn bind(phrases: &mut [Phrase], model: &SchemaModel) -> Vec<FilterReq> {
    let mut filters = Vec::new();
    // Missing values: `tracks with no composer`, `customers without a company`.
    for k in 0..phrases.len() {
        if phrases[k].meaning != Meaning::Missing {
            continue;
        }
        let Some(j) = next_meaningful(phrases, k) else { continue };
        if let Some(cols) = columns_of(&phrases[j]) {
            filters.push(FilterReq {
                target: Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect()),
                cond: Cond::Missing,
            });
            phrases[k].placed = true;
            phrases[j].placed = true;
        }
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::super::{column_names, demo_model, phrases};
    use super::*;

    #[test]
    fn no_before_a_column_filters_on_its_missing_values() {
        let model = demo_model();
        let mut p = phrases(&model, "customers with no city");
        let filters = bind(&mut p, &model);
        assert_eq!(filters.len(), 1);
        assert_eq!(filters[0].cond, Cond::Missing);
        assert_eq!(column_names(&filters[0].target), ["customers.city"]);
        assert!(bind(&mut phrases(&model, "customers with city 'x'"), &model).is_empty());
    }
}
