//! Follow-ups: a question that refines the previous one ("now only 2024", "split that by month", "by week
//! instead") is understood on its own as a delta, then merged into the previous turn's intent and resolved again.

use super::intent::{Cond, DimReq, FilterReq, FollowUpCues, Intent, MeasureReq, RankReq, Target, push_unique};
use super::spec::Agg;

/// A follow-up applied to the previous turn's intent: new measures replace the old, new groups add (or replace
/// with `instead`; a new time unit replaces the old one), a new filter replaces one on the same thing, a new rank
/// or limit replaces the old.
pub fn merge(previous: &Intent, delta: &Intent, cues: FollowUpCues) -> Intent {
    let mut merged = previous.clone();
    if !delta.measures.is_empty() {
        merged.measures = delta
            .measures
            .iter()
            .map(|m| match (&m.target, &previous.subject) {
                (None, Some(subject)) => MeasureReq { agg: m.agg, target: Some(Target::Table(subject.clone())) },
                _ => m.clone(),
            })
            .collect();
        merged.distinct = false;
    }
    // `what about customers in France?` after `orders by status`: the table only says where the filter looks.
    let filter_context = delta.measures.is_empty() && delta.dims.is_empty() && !delta.filters.is_empty();
    if let Some(subject) = delta.subject.as_ref().filter(|_| !filter_context)
        && merged.subject.as_ref() != Some(subject)
    {
        let old = merged.subject.replace(subject.clone());
        for m in &mut merged.measures {
            if m.agg == Agg::Count && (m.target.is_none() || m.target == old.clone().map(Target::Table)) {
                m.target = Some(Target::Table(subject.clone()));
            }
        }
        merged.subject_plural = delta.subject_plural;
    }
    if cues.instead && !delta.dims.is_empty() {
        merged.dims.clear();
    }
    for dim in &delta.dims {
        if let DimReq::Bucket(_, _) = dim {
            merged.dims.retain(|d| !matches!(d, DimReq::Bucket(..)));
        }
        if !merged.dims.contains(dim) {
            merged.dims.push(dim.clone());
        }
    }
    for filter in &delta.filters {
        merged.filters.retain(|f| !same_subject(f, filter));
        merged.filters.push(filter.clone());
    }
    if delta.rank.is_some() {
        let by = delta
            .rank
            .as_ref()
            .and_then(|r| r.by.clone())
            .or_else(|| previous.rank.as_ref().and_then(|r| r.by.clone()));
        merged.rank = delta.rank.clone().map(|r| RankReq { by, ..r });
    }
    if delta.limit.is_some() {
        merged.limit = delta.limit;
    }
    if !delta.list_cols.is_empty() {
        merged.list_cols = delta.list_cols.clone();
    }
    merged.all |= delta.all;
    for table in &delta.mentioned {
        push_unique(&mut merged.mentioned, table.clone());
    }
    merged
}

/// Whether two filters constrain the same thing (so the newer replaces the older).
fn same_subject(a: &FilterReq, b: &FilterReq) -> bool {
    match (&a.cond, &b.cond) {
        (Cond::Dates(_), Cond::Dates(_)) => {
            a.target == b.target || matches!((&a.target, &b.target), (Target::Concept(_), _) | (_, Target::Concept(_)))
        }
        (Cond::Place(_), Cond::Place(_)) => true,
        (Cond::Text { .. } | Cond::Place(_), Cond::Text { .. } | Cond::Place(_)) => a.target == b.target,
        _ => a.target == b.target && std::mem::discriminant(&a.cond) == std::mem::discriminant(&b.cond),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexicon::{Concept, Date, Unit};
    use crate::spec::DateRange;

    fn revenue_by_month() -> Intent {
        Intent {
            measures: vec![MeasureReq { agg: Agg::Sum, target: Some(Target::Concept(Concept::Money)) }],
            dims: vec![DimReq::Bucket(None, Unit::Month)],
            ..Intent::default()
        }
    }

    fn year(y: i32) -> FilterReq {
        let from = Date::new(y, 1, 1);
        FilterReq {
            target: Target::Concept(Concept::When),
            cond: Cond::Dates(DateRange::between(from, from.add_months(12), format!("in {y}"))),
        }
    }

    #[test]
    fn a_filter_adds_and_a_newer_one_on_the_same_thing_replaces_it() {
        let only_2023 = merge(
            &revenue_by_month(),
            &Intent { filters: vec![year(2023)], ..Intent::default() },
            FollowUpCues::default(),
        );
        assert_eq!(only_2023.measures, revenue_by_month().measures);
        assert_eq!(only_2023.filters, vec![year(2023)]);
        let then_2024 =
            merge(&only_2023, &Intent { filters: vec![year(2024)], ..Intent::default() }, FollowUpCues::default());
        assert_eq!(then_2024.filters, vec![year(2024)]);
    }

    #[test]
    fn a_new_time_unit_replaces_the_old_and_instead_replaces_every_group() {
        let channel = DimReq::Group(Target::Table("channels".into()));
        let previous = Intent { dims: vec![DimReq::Bucket(None, Unit::Month), channel.clone()], ..revenue_by_month() };
        let by_week = Intent { dims: vec![DimReq::Bucket(None, Unit::Week)], ..Intent::default() };
        let merged = merge(&previous, &by_week, FollowUpCues::default());
        assert_eq!(merged.dims, vec![channel, DimReq::Bucket(None, Unit::Week)]);
        let instead = FollowUpCues { strong: true, instead: true };
        let status = Intent { dims: vec![DimReq::Group(Target::Table("status".into()))], ..Intent::default() };
        assert_eq!(merge(&previous, &status, instead).dims, status.dims);
    }

    #[test]
    fn a_new_subject_takes_over_the_count_of_the_old() {
        let count = |t: &str| MeasureReq { agg: Agg::Count, target: Some(Target::Table(t.into())) };
        let previous = Intent { measures: vec![count("orders")], subject: Some("orders".into()), ..Intent::default() };
        let delta = Intent { subject: Some("customers".into()), subject_plural: true, ..Intent::default() };
        let merged = merge(&previous, &delta, FollowUpCues::default());
        assert_eq!(merged.subject.as_deref(), Some("customers"));
        assert_eq!(merged.measures, vec![count("customers")]);
        // A table named only beside a filter says where the filter looks, not what is counted.
        let context = Intent { filters: vec![year(2024)], ..delta };
        assert_eq!(merge(&previous, &context, FollowUpCues::default()).subject.as_deref(), Some("orders"));
    }
}
