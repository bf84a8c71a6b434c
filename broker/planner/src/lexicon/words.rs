//! The planner's vocabulary: synonyms of schema words, the concepts a question may ask for without naming a
//! column, the function words it may pass over, follow-up cues, and number, unit and month words.

use serde::{Deserialize, Serialize};

use super::date::Unit;

/// Other words for a schema word, by stem: a question's word is looked up as itself, then as each of these.
pub fn synonyms(stem: &str) -> &'static [&'static str] {
    match stem {
        "client" | "buyer" | "shopper" | "purchaser" | "account" => &["customer", "user"],
        "user" => &["customer"],
        "item" | "article" | "good" | "merchandise" => &["product", "item"],
        "purchas" | "purchase" | "transaction" => &["order", "invoice"],
        "song" | "tune" => &["track"],
        "band" | "musician" | "singer" | "performer" => &["artist"],
        "record" => &["album"],
        "bill" => &["invoice"],
        "staff" | "worker" | "employe" | "colleague" => &["employee"],
        "employee" => &["employe"],
        "rep" | "representative" => &["employee", "rep"],
        "nation" => &["country"],
        "town" => &["city"],
        "qty" | "unit" | "pieces" => &["quantity"],
        "style" => &["genre"],
        "kind" | "type" | "class" => &["category", "type"],
        "categ" | "category" => &["category", "type"],
        "title" => &["name", "title"],
        "nam" => &["title"],
        "label" => &["name"],
        "format" => &["media", "type"],
        "mail" => &["email"],
        "telephon" | "tel" => &["phone"],
        "zip" | "postcod" => &["postal", "zip"],
        "birthday" => &["birth"],
        "sign" | "signup" | "regist" | "registration" | "join" | "enrol" => {
            &["signup", "registration", "join", "created"]
        }
        "hir" | "hire" => &["hire"],
        "ship" | "shipment" => &["ship"],
        "creat" | "created" => &["created", "create"],
        "sal" => &["sale"],
        _ => &[],
    }
}

/// A kind of column the question may ask for without naming it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Concept {
    /// Revenue, sales, spend: an amount of money (`amount`, `total`, `revenue`), or price times quantity.
    Money,
    /// A price or cost per unit.
    Price,
    /// How long something lasts.
    Duration,
    /// How big something is.
    Size,
    /// How many units.
    Quantity,
    /// When something happened.
    When,
}

impl Concept {
    pub fn noun(self) -> &'static str {
        match self {
            Concept::Money => "revenue",
            Concept::Price => "price",
            Concept::Duration => "duration",
            Concept::Size => "size",
            Concept::Quantity => "quantity",
            Concept::When => "date",
        }
    }
}

/// Words that name a concept rather than a column.
pub fn concept_word(stem: &str) -> Option<Concept> {
    Some(match stem {
        "revenu" | "revenue" | "sal" | "sale" | "income" | "turnover" | "earning" | "earn" | "spend" | "money"
        | "gross" | "takings" | "spending" | "valu" | "value" => Concept::Money,
        "price" | "pric" | "cost" | "expensiv" | "expensive" | "cheap" | "pricy" | "pricey" => Concept::Price,
        "duration" | "length" | "long" | "runtim" | "runtime" => Concept::Duration,
        "size" | "siz" | "big" | "larg" | "large" | "byt" | "heavy" => Concept::Size,
        _ => return None,
    })
}

/// The function words a question may use without them naming anything.
pub fn is_stop(word: &str) -> bool {
    STOP.binary_search(&word).is_ok()
}

/// Sorted, for binary search.
const STOP: &[&str] = &[
    "a",
    "about",
    "all",
    "also",
    "altogether",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "being",
    "can",
    "could",
    "currently",
    "data",
    "database",
    "did",
    "display",
    "do",
    "does",
    "done",
    "each",
    "every",
    "exist",
    "exists",
    "find",
    "for",
    "from",
    "get",
    "give",
    "got",
    "had",
    "has",
    "have",
    "having",
    "here",
    "how",
    "i",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "know",
    "let",
    "like",
    "list",
    "me",
    "much",
    "my",
    "need",
    "of",
    "on",
    "our",
    "overall",
    "please",
    "records",
    "rows",
    "see",
    "show",
    "so",
    "table",
    "tell",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "up",
    "us",
    "using",
    "via",
    "want",
    "was",
    "we",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "who",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "would",
    "you",
    "your",
];

/// Words that refer back to the previous answer, or mark a question as a follow-up.
pub fn is_follow_up_cue(word: &str) -> bool {
    matches!(
        word,
        "now"
            | "only"
            | "instead"
            | "also"
            | "again"
            | "same"
            | "that"
            | "those"
            | "them"
            | "it"
            | "this"
            | "these"
            | "just"
            | "but"
            | "then"
            | "previous"
            | "above"
            | "too"
            | "split"
            | "break"
            | "drill"
            | "rather"
    )
}

/// English number words up to twenty, and a few round ones.
pub fn number_word(word: &str) -> Option<f64> {
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    if let Some(i) = WORDS.iter().position(|w| *w == word) {
        return Some(i as f64);
    }
    Some(match word {
        "thirty" => 30.0,
        "fifty" => 50.0,
        "hundred" => 100.0,
        "dozen" => 12.0,
        _ => return None,
    })
}

/// `month`, `months`, `monthly` and the like: the unit, and whether the word was the adverb (`monthly`).
pub fn unit_word(word: &str) -> Option<(Unit, bool)> {
    Some(match word {
        "day" | "days" | "date" => (Unit::Day, false),
        "daily" => (Unit::Day, true),
        "week" | "weeks" => (Unit::Week, false),
        "weekly" => (Unit::Week, true),
        "month" | "months" => (Unit::Month, false),
        "monthly" => (Unit::Month, true),
        "quarter" | "quarters" => (Unit::Quarter, false),
        "quarterly" => (Unit::Quarter, true),
        "year" | "years" => (Unit::Year, false),
        "yearly" | "annually" | "annual" => (Unit::Year, true),
        _ => return None,
    })
}

/// January is 1.
pub fn month_word(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if let Some(i) = MONTHS.iter().position(|m| *m == word) {
        return Some(i as u32 + 1);
    }
    // Three-letter forms (`jan`, `sep`) and `sept`.
    if word.len() == 3 || word == "sept" {
        return MONTHS.iter().position(|m| m.starts_with(&word[..3])).map(|i| i as u32 + 1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_stay_sorted_for_binary_search() {
        assert!(STOP.windows(2).all(|w| w[0] < w[1]), "STOP must stay sorted");
        assert!(is_stop("the") && is_stop("your") && !is_stop("revenue"));
    }

    #[test]
    fn number_unit_and_month_words() {
        assert_eq!(number_word("twelve"), Some(12.0));
        assert_eq!(number_word("dozen"), Some(12.0));
        assert_eq!(unit_word("monthly"), Some((Unit::Month, true)));
        assert_eq!(unit_word("date"), Some((Unit::Day, false)));
        assert_eq!(month_word("sept"), Some(9));
        assert_eq!(month_word("jan"), Some(1));
        assert_eq!(month_word("march"), Some(3));
        assert_eq!(concept_word("revenu"), Some(Concept::Money));
        assert!(synonyms("client").contains(&"customer"));
    }
}
