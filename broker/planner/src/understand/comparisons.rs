//! The comparisons pass: `amount over 100`, `price below 1`, `more than 300000 milliseconds`, `longer than 5`,
//! and `orders over 100` (the plan's amount). A count per group (`customers with more than 5 orders`) is declined.

use super::{Phrase, colref, columns_of, is_glue, next_index, table_of};
use crate::intent::{ColRef, Cond, FilterReq, Result, Target, decline};
use crate::lexicon::Concept;
use crate::link::Meaning;
use crate::schema_model::SchemaModel;

/// The comparison filters of the question, in order.
pub(super) fn bind(phrases: &mut [Phrase], model: &SchemaModel) -> Result<Vec<FilterReq>> {
    let mut filters = Vec::new();
    // Comparisons: `amount over 100`, `price below 1`, and `orders over 100` (the plan's amount).
    for k in 0..phrases.len() {
        let (cond, concept) = match phrases[k].meaning {
            Meaning::Cmp(op, n) => (Cond::Number(op, n), None),
            Meaning::CmpConcept(op, n, c) => (Cond::Number(op, n), Some(c)),
            Meaning::Between(a, b) => (Cond::Between(a, b), None),
            _ => continue,
        };
        let mut j = k;
        let mut target = None;
        while j > 0 {
            j -= 1;
            if is_glue(&phrases[j])
                || (phrases[j].meaning == Meaning::Stop
                    && matches!(
                        phrases[j].text.as_str(),
                        "with" | "whose" | "has" | "have" | "having" | "where" | "that"
                    ))
            {
                continue;
            }
            if let Some(cols) = columns_of(&phrases[j]) {
                let numeric: Vec<ColRef> = cols
                    .iter()
                    .filter(|(c, _)| model.column(*c).role.numeric)
                    .map(|(c, e)| colref(model, *c, *e))
                    .collect();
                if !numeric.is_empty() && !phrases[j].placed {
                    phrases[j].placed = true;
                    target = Some(Target::Cols(numeric));
                }
            } else if let Meaning::Concept(c) = phrases[j].meaning
                && !phrases[j].placed
            {
                phrases[j].placed = true;
                target = Some(Target::Concept(c));
            }
            break;
        }
        // `more than 300000 milliseconds`: the column after the number says what is compared.
        if let Some(j) = next_index(phrases, k).filter(|&j| !phrases[j].placed).filter(|_| target.is_none())
            && let Some(cols) = columns_of(&phrases[j])
        {
            let numeric: Vec<ColRef> = cols
                .iter()
                .filter(|(c, _)| model.column(*c).role.numeric)
                .map(|(c, e)| colref(model, *c, *e))
                .collect();
            if !numeric.is_empty() {
                phrases[j].placed = true;
                target = Some(Target::Cols(numeric));
            }
        }
        if target.is_none()
            && let Some(c) = concept
        {
            target = Some(Target::Concept(c));
        }
        if target.is_none() {
            // `customers with more than 5 orders` compares a count per group, which the planner does not do.
            if phrases.get(k + 1).is_some_and(|i| table_of(i).is_some()) {
                return decline(format!(
                    "the offline planner does not filter on a count per group (\"{} {}\"); ask for the counts \
                     (e.g. \"number of {} per ...\") and sort them, or write the query with `psiq query`",
                    phrases[k].text,
                    phrases[k + 1].text,
                    phrases[k + 1].text
                ));
            }
            target = Some(Target::Concept(Concept::Money));
        }
        filters.push(FilterReq { target: target.unwrap_or(Target::Concept(Concept::Money)), cond });
        phrases[k].placed = true;
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::super::{column_names, demo_model, phrases};
    use super::*;
    use crate::spec::CmpOp;

    #[test]
    fn a_comparison_applies_to_the_number_column_before_it_or_the_plans_amount() {
        let model = demo_model();
        let filters = bind(&mut phrases(&model, "orders with amount over 1000"), &model).unwrap();
        assert_eq!(filters[0].cond, Cond::Number(CmpOp::Gt, 1000.0));
        assert_eq!(column_names(&filters[0].target), ["orders.amount"]);
        let filters = bind(&mut phrases(&model, "orders over 100"), &model).unwrap();
        assert_eq!(filters[0].target, Target::Concept(Concept::Money));
    }

    #[test]
    fn a_count_per_group_is_declined() {
        let model = demo_model();
        let err = bind(&mut phrases(&model, "customers with more than 5 orders"), &model).unwrap_err();
        assert!(err.0.contains("count per group"), "{}", err.0);
    }
}
