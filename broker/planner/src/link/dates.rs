//! Date phrases: a period (a year, a month of a year, a quarter, a half, a day) or a range (`in P`, `since P`,
//! `between P and Q`, `the last 3 months`, `this year`, `today`) becomes one half-open [`DateRange`], relative
//! phrases counted from the `today` the planner is given.

use super::{Meaning, number, word, year};
use crate::lexicon::{Date, Token, month_word, unit_word};
use crate::spec::DateRange;

/// Date phrases. Periods: a year, a month of a year, a quarter, a day. Ranges: `in P`, `since P`, `after P`,
/// `before P`, `until P`, `between P and Q`, `from P to Q`, `last N units`, `last unit`, `this unit`, `today`.
pub(super) fn dates(toks: &[Token], i: usize, today: Date) -> Option<(Meaning, usize)> {
    let w0 = match &toks[i] {
        Token::Word { text, .. } => text.as_str(),
        _ => return None,
    };
    let mut j = i;
    let lead = w0;
    let takes_period = matches!(lead, "in" | "during" | "for" | "of" | "within" | "on" | "over" | "throughout");
    if takes_period {
        j += 1;
        if word(toks, j) == Some("the") {
            j += 1;
        }
    }
    let here = word(toks, j);
    // `over` leads only a relative period (`over the last 3 months`); `over 2000` is a comparison.
    if lead == "over"
        && !matches!(here, Some("last" | "past" | "previous" | "recent" | "trailing" | "this" | "current"))
    {
        return None;
    }
    // `the last week of 2024`, `the first 3 months of 2023`: the end or the start of a period.
    if let Some(edge @ ("last" | "first" | "final")) = here {
        let (n, k) = match number(toks, j + 1) {
            Some(n) if (1.0..=1000.0).contains(&n) => (n as i32, j + 2),
            _ => (1, j + 1),
        };
        if let Some((unit, false)) = word(toks, k).and_then(unit_word)
            && word(toks, k + 1) == Some("of")
            && let Some(((start, end), used)) = period(toks, k + 2, today)
        {
            let range = if edge == "first" {
                DateRange::between(start, start.add(unit, n).min(end), String::new())
            } else {
                DateRange::between(end.add(unit, -n).max(start), end, String::new())
            };
            let text = phrase(toks, j, k + 2 + used - j);
            return Some((Meaning::Dates(DateRange { text, ..range }), k + 2 + used - i));
        }
    }
    // Rolling and calendar-relative periods.
    if let Some(rel @ ("last" | "past" | "previous" | "recent" | "trailing" | "this" | "current" | "next")) = here {
        if rel == "next" {
            return None;
        }
        if let Some(n) = number(toks, j + 1) {
            if let Some((unit, false)) = word(toks, j + 2).and_then(unit_word) {
                if matches!(rel, "this" | "current") || !(1.0..=1000.0).contains(&n) {
                    return None;
                }
                let n = n as i32;
                let from = today.add(unit, -n);
                let text = format!("the last {n} {}s", unit.noun());
                return Some((Meaning::Dates(DateRange::between(from, today.add_days(1), text)), j + 3 - i));
            }
            return None;
        }
        if let Some((unit, false)) = word(toks, j + 1).and_then(unit_word) {
            let start = today.truncate(unit);
            let range = match rel {
                "this" | "current" => DateRange::between(start, start.add(unit, 1), format!("this {}", unit.noun())),
                "past" | "trailing" | "recent" => {
                    DateRange::between(today.add(unit, -1), today.add_days(1), format!("the past {}", unit.noun()))
                }
                _ => DateRange::between(start.add(unit, -1), start, format!("last {}", unit.noun())),
            };
            return Some((Meaning::Dates(range), j + 2 - i));
        }
        return None;
    }
    if here == Some("today") {
        return Some((Meaning::Dates(DateRange::between(today, today.add_days(1), "today".into())), j + 1 - i));
    }
    if here == Some("yesterday") {
        let y = today.add_days(-1);
        return Some((Meaning::Dates(DateRange::between(y, today, "yesterday".into())), j + 1 - i));
    }
    if here == Some("ytd")
        || (here == Some("year") && word(toks, j + 1) == Some("to") && word(toks, j + 2) == Some("date"))
    {
        let len = if here == Some("ytd") { 1 } else { 3 };
        let range = DateRange::between(today.year_start(), today.add_days(1), "this year to date".into());
        return Some((Meaning::Dates(range), j + len - i));
    }
    if takes_period || i == j {
        // `between P and Q`, `from P to Q`.
        if matches!(lead, "between" | "from") {
            if let Some(((from, _), used)) = period(toks, i + 1, today) {
                let k = i + 1 + used;
                if matches!(word(toks, k), Some("and" | "to" | "until" | "till" | "through" | "thru"))
                    && let Some(((_, to), used2)) = period(toks, k + 1, today)
                {
                    let text = format!("{} to {}", phrase(toks, i + 1, used), phrase(toks, k + 1, used2));
                    return Some((Meaning::Dates(DateRange::between(from, to, text)), k + 1 + used2 - i));
                }
                // `from March to May 2024`: the first period takes the second's year.
                if lead == "from" {
                    // `from 2024 onwards` is a start; `invoices from 2009` means those of 2009.
                    let k = i + 1 + used;
                    if matches!(word(toks, k), Some("onwards" | "onward")) {
                        let text = format!("since {}", phrase(toks, i + 1, used));
                        return Some((Meaning::Dates(DateRange { from: Some(from), to: None, text }), 2 + used));
                    }
                    if let Some(((from, to), _)) = period(toks, i + 1, today) {
                        let text = format!("in {}", phrase(toks, i + 1, used));
                        return Some((Meaning::Dates(DateRange::between(from, to, text)), 1 + used));
                    }
                }
            }
            if (lead == "between" || lead == "from")
                && let (Some(m1), Some(sep), Some(m2), Some(y)) = (
                    word(toks, i + 1).and_then(month_word),
                    word(toks, i + 2),
                    word(toks, i + 3).and_then(month_word),
                    year(toks, i + 4),
                )
                && matches!(sep, "and" | "to" | "until" | "through")
                && m1 <= m2
            {
                let from = Date::new(y, m1, 1);
                let to = Date::new(y, m2, 1).add_months(1);
                let text = format!("{} to {} {y}", toks[i + 1].display(), toks[i + 3].display());
                return Some((Meaning::Dates(DateRange::between(from, to, text)), 5));
            }
        }
        let open = match lead {
            "since" | "starting" | "after" => Some(true),
            "before" | "until" | "till" | "through" | "prior" | "up" => Some(false),
            _ => None,
        };
        if let Some(open_end) = open {
            let mut k = i + 1;
            if (lead == "prior" || lead == "up") && word(toks, k) == Some("to") {
                k += 1;
            } else if lead == "prior" || lead == "up" {
                return None;
            }
            if lead == "starting" && matches!(word(toks, k), Some("in" | "from" | "on")) {
                k += 1;
            }
            let ((start, end), used) = period(toks, k, today)?;
            let text = format!("{lead} {}", phrase(toks, k, used));
            let range = match (open_end, lead) {
                (true, "after") => DateRange { from: Some(end), to: None, text },
                (true, _) => DateRange { from: Some(start), to: None, text },
                (false, "before" | "prior") => DateRange { from: None, to: Some(start), text },
                (false, _) => DateRange { from: None, to: Some(end), text },
            };
            return Some((Meaning::Dates(range), k + used - i));
        }
        if takes_period {
            if let Some(((from, to), used)) = period(toks, j, today) {
                let text = format!("in {}", phrase(toks, j, used));
                return Some((Meaning::Dates(DateRange::between(from, to, text)), j + used - i));
            }
            // `in March` with no year: ask for one rather than guess which March.
            if let Some(m) = here.and_then(month_word)
                && (here != Some("may") || lead == "in")
            {
                let _ = m;
                return Some((Meaning::NeedsYear(toks[j].display()), j + 1 - i));
            }
        }
    }
    // A month and a year with no preposition: `March 2024 revenue`.
    if let (Some(m), Some(y)) = (month_word(w0), year(toks, i + 1)) {
        let from = Date::new(y, m, 1);
        return Some((Meaning::Dates(DateRange::between(from, from.add_months(1), phrase(toks, i, 2))), 2));
    }
    None
}

fn phrase(toks: &[Token], start: usize, len: usize) -> String {
    toks[start..start + len].iter().map(Token::display).collect::<Vec<_>>().join(" ")
}

/// A calendar period at `toks[i..]`: `[start, end)` and the tokens it took. A year, `March 2024`, `Q1 2024`,
/// `the first quarter of 2024`, or an ISO date.
fn period(toks: &[Token], i: usize, _today: Date) -> Option<((Date, Date), usize)> {
    if let Some(Token::IsoDate(d)) = toks.get(i) {
        return Some(((*d, d.add_days(1)), 1));
    }
    if let Some(y) = year(toks, i) {
        let from = Date::new(y, 1, 1);
        return Some(((from, from.add_months(12)), 1));
    }
    let w = word(toks, i)?;
    if let Some(m) = month_word(w) {
        let mut k = i + 1;
        if matches!(word(toks, k), Some("of")) {
            k += 1;
        }
        let y = year(toks, k)?;
        let from = Date::new(y, m, 1);
        return Some(((from, from.add_months(1)), k + 1 - i));
    }
    // `the first half of 2010`.
    if matches!(w, "first" | "second") && word(toks, i + 1) == Some("half") {
        let mut k = i + 2;
        if matches!(word(toks, k), Some("of" | "in")) {
            k += 1;
        }
        let y = year(toks, k)?;
        let from = Date::new(y, if w == "first" { 1 } else { 7 }, 1);
        return Some(((from, from.add_months(6)), k + 1 - i));
    }
    let quarter = match w {
        "q1" => Some((1, 1)),
        "q2" => Some((2, 1)),
        "q3" => Some((3, 1)),
        "q4" => Some((4, 1)),
        "first" | "second" | "third" | "fourth" if word(toks, i + 1) == Some("quarter") => {
            Some(([("first", 1), ("second", 2), ("third", 3), ("fourth", 4)].iter().find(|(n, _)| *n == w)?.1, 2))
        }
        _ => None,
    };
    if let Some((q, used)) = quarter {
        let mut k = i + used;
        if matches!(word(toks, k), Some("of" | "in")) {
            k += 1;
        }
        let y = year(toks, k)?;
        let from = Date::new(y, (q - 1) * 3 + 1, 1);
        return Some(((from, from.add_months(3)), k + 1 - i));
    }
    None
}

#[cfg(test)]
mod tests {
    use polystoreiq_protocol::types::{Engine, SchemaSnapshot};

    use super::*;
    use crate::lexicon::tokenize;
    use crate::schema_model::SchemaModel;

    fn meanings(question: &str) -> Vec<Meaning> {
        let model =
            SchemaModel::new(&SchemaSnapshot { tables: Vec::new(), fetched_at_ms: 0, cache: None }, Engine::Duckdb);
        super::super::link(&tokenize(question), &model, Date::new(2026, 11, 22))
            .into_iter()
            .map(|s| s.meaning)
            .collect()
    }

    fn range(question: &str) -> (Option<Date>, Option<Date>) {
        let found = meanings(question).into_iter().find_map(|p| match p {
            Meaning::Dates(r) => Some((r.from, r.to)),
            _ => None,
        });
        found.unwrap_or_else(|| panic!("no date range in {question:?}"))
    }

    #[test]
    fn date_phrases_become_half_open_ranges() {
        let d = |y, m, d| Some(Date::new(y, m, d));
        assert_eq!(range("orders in 2024"), (d(2024, 1, 1), d(2025, 1, 1)));
        assert_eq!(range("invoices from 2009"), (d(2009, 1, 1), d(2010, 1, 1)));
        assert_eq!(range("invoices from 2009 onwards"), (d(2009, 1, 1), None));
        assert_eq!(range("orders in March 2024"), (d(2024, 3, 1), d(2024, 4, 1)));
        assert_eq!(range("orders since March 2024"), (d(2024, 3, 1), None));
        assert_eq!(range("orders after 2023"), (d(2024, 1, 1), None));
        assert_eq!(range("orders before 2024"), (None, d(2024, 1, 1)));
        assert_eq!(range("orders until 2023"), (None, d(2024, 1, 1)));
        assert_eq!(range("orders between 2023 and 2024"), (d(2023, 1, 1), d(2025, 1, 1)));
        assert_eq!(range("orders from January to March 2024"), (d(2024, 1, 1), d(2024, 4, 1)));
        assert_eq!(range("orders in Q2 2024"), (d(2024, 4, 1), d(2024, 7, 1)));
        assert_eq!(range("orders in the first quarter of 2024"), (d(2024, 1, 1), d(2024, 4, 1)));
        assert_eq!(range("sales in the second half of 2010"), (d(2010, 7, 1), d(2011, 1, 1)));
        assert_eq!(range("orders in the last 3 months"), (d(2026, 8, 22), d(2026, 11, 23)));
        assert_eq!(range("orders over the past 2 years"), (d(2024, 11, 22), d(2026, 11, 23)));
        assert_eq!(range("orders last month"), (d(2026, 10, 1), d(2026, 11, 1)));
        assert_eq!(range("orders this year"), (d(2026, 1, 1), d(2027, 1, 1)));
        assert_eq!(range("orders on 2024-03-05"), (d(2024, 3, 5), d(2024, 3, 6)));
        assert_eq!(range("orders in the last week of 2024"), (d(2024, 12, 25), d(2025, 1, 1)));
        assert_eq!(range("orders in the first 3 months of 2023"), (d(2023, 1, 1), d(2023, 4, 1)));
        assert!(meanings("orders in March").contains(&Meaning::NeedsYear("march".into())));
    }
}
