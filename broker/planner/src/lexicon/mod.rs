//! The planner's words: tokenizing a question, splitting identifiers, stemming, and a bounded edit distance for
//! typos. The vocabulary (synonyms, function words, number, month and unit words) is in [`words`]; calendar dates
//! in [`date`].
//!
//! Nothing here knows a schema; `link.rs` matches these words against one.

mod date;
mod words;

pub use date::{Date, Unit};
pub use words::{Concept, concept_word, is_follow_up_cue, is_stop, month_word, number_word, synonyms, unit_word};

/// One token of a question.
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
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

impl Token {
    pub fn word(&self) -> Option<&str> {
        match self {
            Token::Word { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn stem(&self) -> Option<&str> {
        match self {
            Token::Word { stem, .. } => Some(stem),
            _ => None,
        }
    }

    /// How the token reads in a message.
    pub fn display(&self) -> String {
        match self {
            Token::Word { text, .. } => text.clone(),
            Token::Num(n) => format_number(*n),
            Token::Quoted(q) => format!("'{q}'"),
            Token::IsoDate(d) => d.to_string(),
            Token::Sym(s) => (*s).to_owned(),
        }
    }
}

pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// Splits a question into tokens. Quotes (`'`, `"`, and typographic ones) delimit literals; an apostrophe inside
/// a word (`customer's`) is a possessive, dropped with what follows it.
pub fn tokenize(question: &str) -> Vec<Token> {
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
                    toks.push(Token::Quoted(text));
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
                toks.push(Token::IsoDate(date));
            } else if let Ok(n) = text.replace(',', "").parse::<f64>() {
                toks.push(Token::Num(n));
            } else {
                // `3-5` or `1.2.3`: take the leading number and go on from after it.
                let lead: String = text.chars().take_while(char::is_ascii_digit).collect();
                i = start + lead.len();
                toks.push(Token::Num(lead.parse().unwrap_or(0.0)));
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
                toks.push(Token::Word { text, stem, cap: cap && n == 0 });
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
            toks.push(Token::Sym(sym));
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
        assert_eq!(toks[0], Token::Word { text: "customers".into(), stem: "customer".into(), cap: false });
        assert_eq!(toks[2], Token::Word { text: "germany".into(), stem: "germany".into(), cap: true });
        assert!(toks.contains(&Token::Quoted("shipped".into())));
        assert!(toks.contains(&Token::IsoDate(Date::new(2024, 3, 5))));
        assert!(toks.contains(&Token::Num(5.0)));
        assert!(toks.contains(&Token::Num(1200.0)));
        assert!(toks.iter().any(|t| t.word() == Some("bob")));
        assert!(!toks.iter().any(|t| t.word() == Some("s")));
        assert_eq!(tokenize("amount >= 10")[1], Token::Sym(">="));
        assert_eq!(tokenize("\u{201c}Rock\u{201d} tracks")[0], Token::Quoted("Rock".into()));
    }

    #[test]
    fn edit_distance_counts_typos_and_gives_up_early() {
        assert_eq!(edit_distance("custmers", "customers", 2), 1);
        assert_eq!(edit_distance("custmoer", "customer", 2), 1);
        assert_eq!(edit_distance("orders", "products", 1), 2);
        assert_eq!(edit_distance("a", "abcdef", 2), 3);
    }
}
