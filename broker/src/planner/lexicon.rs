//! The planner's words: tokenizing a question, splitting identifiers, stemming, synonyms, the function words it
//! may pass over, number words, month and time-unit names, and a bounded edit distance for typos.
//!
//! Nothing here knows a schema; `link.rs` matches these words against one.

use serde::{Deserialize, Serialize};

/// One token of a question.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A word: lower-cased text, its stem, and whether it was written capitalized away from the question's start.
    Word { text: String, stem: String, cap: bool },
    /// A number as written (`5`, `2024`, `3.5`).
    Num(f64),
    /// A quoted literal, exactly as written between the quotes.
    Quoted(String),
    /// An ISO date written in the question (`2024-03-05`).
    IsoDate(Date),
    /// A comparison symbol: `=`, `<`, `>`, `<=`, `>=`, `!=`.
    Sym(&'static str),
}

impl Tok {
    pub fn word(&self) -> Option<&str> {
        match self {
            Tok::Word { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn stem(&self) -> Option<&str> {
        match self {
            Tok::Word { stem, .. } => Some(stem),
            _ => None,
        }
    }

    /// How the token reads in a message.
    pub fn display(&self) -> String {
        match self {
            Tok::Word { text, .. } => text.clone(),
            Tok::Num(n) => format_number(*n),
            Tok::Quoted(q) => format!("'{q}'"),
            Tok::IsoDate(d) => d.to_string(),
            Tok::Sym(s) => (*s).to_owned(),
        }
    }
}

pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// Splits a question into tokens. Quotes (`'`, `"`, and typographic ones) delimit literals; an apostrophe inside
/// a word (`customer's`) is a possessive, dropped with what follows it.
pub fn tokenize(question: &str) -> Vec<Tok> {
    let chars: Vec<char> = question.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut first_word = true;
    while i < chars.len() {
        let c = chars[i];
        if let Some(close) = closing_quote(c) {
            // An apostrophe right after a letter is a possessive or a contraction, not a quote.
            let after_letter = i > 0 && chars[i - 1].is_alphanumeric();
            if !(c == '\'' || c == '\u{2019}') || !after_letter {
                // A quote doubled inside the literal is one quote (`'O''Brien'`), as in SQL.
                let mut text = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < chars.len() {
                    let is_close = chars[j] == close || (close == '\'' && chars[j] == '\u{2019}');
                    if is_close && chars.get(j + 1) == Some(&chars[j]) && c != '\u{2018}' && c != '\u{201c}' {
                        text.push(chars[j]);
                        j += 2;
                        continue;
                    }
                    if is_close {
                        closed = true;
                        break;
                    }
                    text.push(chars[j]);
                    j += 1;
                }
                if closed {
                    toks.push(Tok::Quoted(text));
                    i = j + 1;
                    first_word = false;
                    continue;
                }
            }
            // A possessive: skip the apostrophe and the letters after it (`customer's` → `customer`).
            i += 1;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '-' || chars[i] == ',')
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let text = text.trim_end_matches(['.', '-', ',']);
            i = start + text.chars().count();
            if let Some(date) = Date::parse_iso(text) {
                toks.push(Tok::IsoDate(date));
            } else if let Ok(n) = text.replace(',', "").parse::<f64>() {
                toks.push(Tok::Num(n));
            } else {
                // `3-5` or `1.2.3`: take the leading number and go on from after it.
                let lead: String = text.chars().take_while(char::is_ascii_digit).collect();
                i = start + lead.len();
                toks.push(Tok::Num(lead.parse().unwrap_or(0.0)));
            }
            // `5th`, `2024s`: letters glued to a number are dropped.
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            first_word = false;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let orig: String = chars[start..i].iter().collect();
            let cap = !first_word && orig.chars().next().is_some_and(char::is_uppercase);
            first_word = false;
            // An identifier typed as such (`order_date`, `unitPrice`, `shipment_3`) reads as its words.
            let parts = if orig.contains('_')
                || orig.chars().skip(1).any(char::is_uppercase) && orig.chars().any(char::is_lowercase)
            {
                split_identifier(&orig)
            } else {
                vec![orig.to_lowercase()]
            };
            for (n, text) in parts.into_iter().enumerate() {
                let stem = stem(&text);
                toks.push(Tok::Word { text, stem, cap: cap && n == 0 });
            }
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let sym = match two.as_str() {
            "<=" => Some(("<=", 2)),
            ">=" => Some((">=", 2)),
            "!=" | "<>" => Some(("!=", 2)),
            _ => match c {
                '=' => Some(("=", 1)),
                '<' => Some(("<", 1)),
                '>' => Some((">", 1)),
                _ => None,
            },
        };
        if let Some((sym, len)) = sym {
            toks.push(Tok::Sym(sym));
            i += len;
            continue;
        }
        if matches!(c, '.' | '?' | '!' | ';' | ':') {
            first_word = true;
        }
        i += 1;
    }
    toks
}

fn closing_quote(c: char) -> Option<char> {
    match c {
        '\'' => Some('\''),
        '"' => Some('"'),
        '\u{2018}' => Some('\u{2019}'),
        '\u{201c}' => Some('\u{201d}'),
        '`' => Some('`'),
        _ => None,
    }
}

/// The words of an identifier: `unit_price`, `UnitPrice`, `unitPrice`, `address.city`, `Invoice Line` all split.
pub fn split_identifier(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let boundary = i > 0 && {
            let prev = chars[i - 1];
            (c.is_uppercase() && prev.is_lowercase())
                || (c.is_uppercase() && prev.is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase()))
                || (c.is_ascii_digit() != prev.is_ascii_digit() && prev.is_alphanumeric())
        };
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A light English stemmer: plural and verb endings go, and so does a final `e`, so that `price`/`prices`,
/// `hire`/`hired`/`hiring` and `ship`/`shipped` meet. Both sides of every comparison are stemmed the same way.
pub fn stem(word: &str) -> String {
    let w = word.to_lowercase();
    if let Some(irregular) = IRREGULAR.iter().find(|(from, _)| *from == w).map(|(_, to)| *to) {
        return irregular.to_owned();
    }
    if w.len() <= 3 || w.chars().any(|c| c.is_ascii_digit()) {
        return w;
    }
    let mut s = w.clone();
    if let Some(base) = s.strip_suffix("ies").filter(|b| b.len() >= 2) {
        s = format!("{base}y");
    } else if let Some(base) = s.strip_suffix("sses") {
        s = format!("{base}ss");
    } else if let Some(base) =
        ["xes", "ches", "shes", "zes"].iter().find_map(|suffix| s.strip_suffix(suffix).map(|b| (b, suffix)))
    {
        s = format!("{}{}", base.0, &base.1[..base.1.len() - 2]);
    } else if s.ends_with("us") || s.ends_with("ss") || s.ends_with("is") || s.ends_with("ous") {
        // status, address, analysis: not plurals.
    } else if let Some(base) = s.strip_suffix('s').filter(|b| b.len() >= 3) {
        s = base.to_owned();
    } else if let Some(base) = s.strip_suffix("ing").filter(|b| b.len() >= 3) {
        s = undouble(base);
    } else if let Some(base) = s.strip_suffix("ed").filter(|b| b.len() >= 3) {
        s = undouble(base);
    }
    if s.len() > 3
        && let Some(base) = s.strip_suffix('e')
    {
        s = base.to_owned();
    }
    s
}

fn undouble(base: &str) -> String {
    let chars: Vec<char> = base.chars().collect();
    match chars.as_slice() {
        [.., a, b] if chars.len() >= 3 && a == b && a.is_ascii_alphabetic() && !matches!(a, 'l' | 's' | 'z') => {
            chars[..chars.len() - 1].iter().collect()
        }
        _ => base.to_owned(),
    }
}

const IRREGULAR: &[(&str, &str)] = &[
    ("people", "person"),
    ("children", "child"),
    ("men", "man"),
    ("women", "woman"),
    ("media", "media"),
    ("data", "data"),
    ("bought", "buy"),
    ("sold", "sell"),
    ("spent", "spend"),
    ("born", "birth"),
    ("made", "make"),
    ("paid", "pay"),
    ("went", "go"),
    ("has", "has"),
    ("does", "does"),
    ("was", "was"),
    ("is", "is"),
    ("its", "its"),
    ("this", "this"),
    ("series", "series"),
    ("news", "news"),
];

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

/// A calendar unit for trends and relative dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub fn noun(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Quarter => "quarter",
            Unit::Year => "year",
        }
    }
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

/// Levenshtein distance, giving up (returning `max + 1`) once it must exceed `max`.
pub fn edit_distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            // A transposition (`custmoer`) costs one.
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev[j - 1]);
            }
            row_min = row_min.min(cur[j]);
        }
        if row_min > max {
            return max + 1;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The typo budget of a word: none for short words, one from five letters, two from nine.
pub fn typo_budget(word: &str) -> usize {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Date {
        Date { year, month, day }
    }

    /// `YYYY-MM-DD`, checked.
    pub fn parse_iso(text: &str) -> Option<Date> {
        let mut parts = text.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
            return None;
        }
        let date = Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        ((1..=12).contains(&date.month) && date.day >= 1 && date.day <= days_in_month(date.year, date.month))
            .then_some(date)
    }

    /// Today in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    pub fn days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    pub fn add_days(self, n: i64) -> Date {
        Date::from_days(self.days() + n)
    }

    /// The same day `n` months later (or earlier), clamped to the month's last day.
    pub fn add_months(self, n: i32) -> Date {
        let total = self.year * 12 + (self.month as i32 - 1) + n;
        let year = total.div_euclid(12);
        let month = (total.rem_euclid(12) + 1) as u32;
        Date { year, month, day: self.day.min(days_in_month(year, month)) }
    }

    /// Monday of this date's week (ISO weeks, as PostgreSQL's `date_trunc('week', ...)`).
    pub fn week_start(self) -> Date {
        // 1970-01-01 was a Thursday.
        let weekday = (self.days() + 3).rem_euclid(7);
        self.add_days(-weekday)
    }

    pub fn month_start(self) -> Date {
        Date { day: 1, ..self }
    }

    pub fn quarter_start(self) -> Date {
        Date { month: (self.month - 1) / 3 * 3 + 1, day: 1, ..self }
    }

    pub fn year_start(self) -> Date {
        Date { month: 1, day: 1, ..self }
    }

    /// The first day of the unit that holds this date.
    pub fn truncate(self, unit: Unit) -> Date {
        match unit {
            Unit::Day => self,
            Unit::Week => self.week_start(),
            Unit::Month => self.month_start(),
            Unit::Quarter => self.quarter_start(),
            Unit::Year => self.year_start(),
        }
    }

    /// `n` units later.
    pub fn add(self, unit: Unit, n: i32) -> Date {
        match unit {
            Unit::Day => self.add_days(i64::from(n)),
            Unit::Week => self.add_days(7 * i64::from(n)),
            Unit::Month => self.add_months(n),
            Unit::Quarter => self.add_months(3 * n),
            Unit::Year => self.add_months(12 * n),
        }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_on_case_separators_and_digits() {
        assert_eq!(split_identifier("unit_price"), ["unit", "price"]);
        assert_eq!(split_identifier("UnitPrice"), ["unit", "price"]);
        assert_eq!(split_identifier("invoiceLineID"), ["invoice", "line", "id"]);
        assert_eq!(split_identifier("HTTPStatus"), ["http", "status"]);
        assert_eq!(split_identifier("address.city"), ["address", "city"]);
        assert_eq!(split_identifier("q3_2024"), ["q", "3", "2024"]);
    }

    #[test]
    fn stems_meet_across_plural_and_verb_forms() {
        for (a, b) in [
            ("price", "prices"),
            ("hire", "hired"),
            ("ship", "shipped"),
            ("category", "categories"),
            ("order", "ordered"),
            ("box", "boxes"),
            ("customer", "customers"),
            ("sale", "sales"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("address"), "address");
        assert_eq!(stem("bought"), "buy");
    }

    #[test]
    fn tokens_keep_quotes_numbers_dates_and_capitals() {
        let toks = tokenize("Customers in Germany with status 'shipped' since 2024-03-05, top 5 of Bob's 1,200");
        assert_eq!(toks[0], Tok::Word { text: "customers".into(), stem: "customer".into(), cap: false });
        assert_eq!(toks[2], Tok::Word { text: "germany".into(), stem: "germany".into(), cap: true });
        assert!(toks.contains(&Tok::Quoted("shipped".into())));
        assert!(toks.contains(&Tok::IsoDate(Date::new(2024, 3, 5))));
        assert!(toks.contains(&Tok::Num(5.0)));
        assert!(toks.contains(&Tok::Num(1200.0)));
        assert!(toks.iter().any(|t| t.word() == Some("bob")));
        assert!(!toks.iter().any(|t| t.word() == Some("s")));
        assert_eq!(tokenize("amount >= 10")[1], Tok::Sym(">="));
        assert_eq!(tokenize("\u{201c}Rock\u{201d} tracks")[0], Tok::Quoted("Rock".into()));
    }

    #[test]
    fn dates_round_trip_and_move_by_calendar_units() {
        for days in [-800_000, -1, 0, 1, 19_000, 20_000, 2_932_896] {
            assert_eq!(Date::from_days(days).days(), days);
        }
        assert_eq!(Date::from_days(0), Date::new(1970, 1, 1));
        assert_eq!(Date::new(2024, 1, 31).add_months(1), Date::new(2024, 2, 29));
        assert_eq!(Date::new(2024, 3, 15).add_months(-3), Date::new(2023, 12, 15));
        assert_eq!(Date::new(2024, 3, 7).week_start(), Date::new(2024, 3, 4));
        assert_eq!(Date::new(2024, 8, 7).quarter_start(), Date::new(2024, 7, 1));
        assert_eq!(Date::parse_iso("2024-02-30"), None);
        assert_eq!(Date::parse_iso("2024-2-3"), Some(Date::new(2024, 2, 3)));
    }

    #[test]
    fn edit_distance_counts_typos_and_gives_up_early() {
        assert_eq!(edit_distance("custmers", "customers", 2), 1);
        assert_eq!(edit_distance("custmoer", "customer", 2), 1);
        assert_eq!(edit_distance("orders", "products", 1), 2);
        assert_eq!(edit_distance("a", "abcdef", 2), 3);
        assert!(STOP.windows(2).all(|w| w[0] < w[1]), "STOP must stay sorted");
    }
}
