//! The dates pass: a date range (`in 2024`, `last 3 months`, or a bare year) filters the date column named just
//! before it (`hired in 2003`), or else the plan's date, which `resolve` finds.

use super::{Phrase, colref, columns_of, is_glue};
use crate::intent::{Cond, FilterReq, Target};
use crate::lexicon::{Concept, Date};
use crate::link::Meaning;
use crate::schema_model::{ColId, SchemaModel};
use crate::spec::DateRange;

/// The date filters of the question, in order.
pub(super) fn bind(phrases: &mut [Phrase], model: &SchemaModel) -> Vec<FilterReq> {
    let mut filters = Vec::new();
    // Dates: `hired in 2003` names its column; otherwise the plan's date.
    for k in 0..phrases.len() {
        let range = match &phrases[k].meaning {
            Meaning::Dates(range) => range.clone(),
            Meaning::Num(n) if !phrases[k].placed && n.fract() == 0.0 && (1900.0..=2100.0).contains(n) => {
                let y = *n as i32;
                let from = Date::new(y, 1, 1);
                DateRange::between(from, from.add_months(12), format!("in {y}"))
            }
            _ => continue,
        };
        let target = date_column_before(phrases, k, model).map_or(Target::Concept(Concept::When), |(j, cols)| {
            phrases[j].placed = true;
            Target::Cols(cols.into_iter().map(|(c, e)| colref(model, c, e)).collect())
        });
        filters.push(FilterReq { target, cond: Cond::Dates(range) });
        phrases[k].placed = true;
    }
    filters
}

fn date_column_before(phrases: &[Phrase], k: usize, model: &SchemaModel) -> Option<(usize, Vec<(ColId, bool)>)> {
    let mut j = k;
    while j > 0 {
        j -= 1;
        if is_glue(&phrases[j]) || matches!(phrases[j].meaning, Meaning::Stop | Meaning::Soft) {
            continue;
        }
        if phrases[j].placed {
            return None;
        }
        let cols = columns_of(&phrases[j])?;
        let dated: Vec<(ColId, bool)> = cols.into_iter().filter(|(c, _)| model.column(*c).role.date).collect();
        return (!dated.is_empty()).then_some((j, dated));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::{column_names, demo_model, phrases};
    use super::*;

    #[test]
    fn a_range_filters_the_date_column_named_before_it_or_the_plans_date() {
        let model = demo_model();
        let filters = bind(&mut phrases(&model, "orders in 2024"), &model);
        assert_eq!(filters[0].target, Target::Concept(Concept::When));
        let Cond::Dates(range) = &filters[0].cond else { panic!("{:?}", filters[0].cond) };
        assert_eq!((range.from, range.to), (Some(Date::new(2024, 1, 1)), Some(Date::new(2025, 1, 1))));
        let filters = bind(&mut phrases(&model, "customers signup date in 2022"), &model);
        assert_eq!(column_names(&filters[0].target), ["customers.signup_date"]);
    }
}
