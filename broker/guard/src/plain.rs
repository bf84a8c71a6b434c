//! A fast tokenizer for plain SQL, the shape nearly every drafted query has: it gives exactly the tokens
//! sqlparser's tokenizer would, or declines.
//!
//! sqlparser's tokenizer spends about 200 ns a token (a virtual call per character, a keyword search that
//! upper-cases while it compares), a third of the guardrail's time on a long query. This one reads ASCII text
//! made of unquoted words, whole and decimal numbers, single-quoted strings without escapes, whitespace and the
//! common operators, and returns `None` at the first byte outside that subset, or where the byte after a token
//! could change how sqlparser reads it (a word before a quote may be a typed, escaped or charset string; an
//! operator before an operator character may be a longer or custom operator; a number before a letter may be
//! hexadecimal, an exponent or, in MySQL, an identifier). The caller then tokenizes with sqlparser, so the
//! subset is only a shortcut, never a second reading of the query. Within the subset the PostgreSQL, MySQL and
//! DuckDB dialects tokenize alike; debug builds compare every stream with sqlparser's, and a property test
//! compares the two on random text.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use sqlparser::keywords::{ALL_KEYWORDS, ALL_KEYWORDS_INDEX, Keyword};
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace, Word};

/// The tokens of `query` with empty spans, as sqlparser's tokenizer gives them for the PostgreSQL, MySQL and
/// DuckDB dialects; `None` when the query is not plain enough to be sure of that.
pub(super) fn tokenize(query: &str) -> Option<Vec<TokenWithSpan>> {
    // Outside ASCII a byte is not a character, and sqlparser's dialects differ on which letters start words.
    if !query.is_ascii() {
        return None;
    }
    let bytes = query.as_bytes();
    // About one token per three bytes in analytic SQL; reserving that avoids regrowing the vector.
    let mut tokens = Vec::with_capacity(bytes.len() / 3);
    let mut at = 0;
    while at < bytes.len() {
        let next = bytes.get(at + 1).copied();
        let (token, len) = match bytes[at] {
            b' ' => (Token::Whitespace(Whitespace::Space), 1),
            b'\t' => (Token::Whitespace(Whitespace::Tab), 1),
            b'\n' => (Token::Whitespace(Whitespace::Newline), 1),
            b'\r' => (Token::Whitespace(Whitespace::Newline), if next == Some(b'\n') { 2 } else { 1 }),
            b'(' => (Token::LParen, 1),
            b')' => (Token::RParen, 1),
            b',' => (Token::Comma, 1),
            b';' => (Token::SemiColon, 1),
            b'+' => (Token::Plus, 1),
            b'*' => (Token::Mul, 1),
            b':' if next == Some(b':') => (Token::DoubleColon, 2),
            // Before a digit a period starts a number (or, in MySQL, an identifier); before `_` it depends on the
            // token before.
            b'.' if next.is_some_and(|b| b.is_ascii_alphabetic() || b == b'*') => (Token::Period, 1),
            first @ (b'=' | b'<' | b'>' | b'!' | b'-' | b'/' | b'|') => {
                let (token, len) = operator(first, next)?;
                if !bytes.get(at + len).is_none_or(|b| after_operator(*b)) {
                    return None;
                }
                (token, len)
            }
            b'0'..=b'9' => {
                let len = number_len(&bytes[at..])?;
                (Token::Number(query[at..at + len].to_owned(), false), len)
            }
            b'\'' => {
                let body = &bytes[at + 1..];
                // A backslash escapes in MySQL and not elsewhere; a doubled quote is a quote. Both are left to
                // sqlparser, as is a string without its closing quote.
                let end = body.iter().position(|b| matches!(b, b'\'' | b'\\'))?;
                if body[end] != b'\'' || body.get(end + 1) == Some(&b'\'') {
                    return None;
                }
                (Token::SingleQuotedString(query[at + 1..at + 1 + end].to_owned()), end + 2)
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let len = bytes[at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
                // `$` and `@` continue a word in some dialects; a quote or `&` after it makes `E'...'`, `X'...'`,
                // `U&'...'`, `_utf8'...'` and the like.
                if !bytes.get(at + len).is_none_or(|b| after_word(*b)) {
                    return None;
                }
                let value = &query[at..at + len];
                (Token::Word(Word { value: value.to_owned(), quote_style: None, keyword: keyword(value) }), len)
            }
            _ => return None,
        };
        tokens.push(TokenWithSpan::wrap(token));
        at += len;
    }
    Some(tokens)
}

/// The operator starting with `first`, and its length, when sqlparser would read it the same in every dialect
/// provided the byte after it passes [`after_operator`].
fn operator(first: u8, next: Option<u8>) -> Option<(Token, usize)> {
    Some(match (first, next) {
        (b'=', _) => (Token::Eq, 1),
        (b'<', Some(b'=')) => (Token::LtEq, 2),
        (b'<', Some(b'>')) => (Token::Neq, 2),
        (b'<', _) => (Token::Lt, 1),
        (b'>', Some(b'=')) => (Token::GtEq, 2),
        (b'>', _) => (Token::Gt, 1),
        (b'!', Some(b'=')) => (Token::Neq, 2),
        (b'|', Some(b'|')) => (Token::StringConcat, 2),
        (b'-', _) => (Token::Minus, 1),
        (b'/', _) => (Token::Div, 1),
        _ => return None,
    })
}

/// Bytes that end an operator whatever the dialect: none of them extends one (`<=>`, `->>`, `--`, `/*`, `//`,
/// PostgreSQL's custom operators).
fn after_operator(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b' ' | b'\t' | b'\n' | b'\r' | b'(' | b'\'' | b'.')
}

/// Bytes that end a word whatever the dialect.
fn after_word(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b'('
            | b')'
            | b','
            | b';'
            | b'.'
            | b'+'
            | b'-'
            | b'*'
            | b'/'
            | b'='
            | b'<'
            | b'>'
            | b'|'
            | b':'
            | b'!'
    )
}

/// The length of the number at the start of `bytes` (`12`, `3.25`), when nothing after it could make it part of
/// another token: `0x1F`, `1e9`, `10L`, `1_000`, `1.2.3`, MySQL's `1abc`.
fn number_len(bytes: &[u8]) -> Option<usize> {
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut len = digits(0);
    if bytes.get(len) == Some(&b'.') {
        let fraction = digits(len + 1);
        if fraction == 0 {
            return None;
        }
        len += 1 + fraction;
    }
    // What ends a word ends a number too, but for `(`, `.` and `!`, which could make it part of another token.
    let ends = bytes.get(len).is_none_or(|&b| after_word(b) && !matches!(b, b'(' | b'.' | b'!'));
    ends.then_some(len)
}

/// Longer than any keyword, so a longer word is no keyword.
const KEYWORD_BUFFER: usize = 48;

/// The keyword an unquoted word is: the entry of [`ALL_KEYWORDS`] equal to the upper-cased word, which is what
/// sqlparser's binary search finds, since the list is strictly sorted (a test pins that). A hash lookup, because
/// the binary search costs about 100 ns a word, as much as the rest of the tokenizer.
pub(super) fn keyword(word: &str) -> Keyword {
    static KEYWORDS: OnceLock<HashMap<&[u8], Keyword, BuildHasherDefault<WordHasher>>> = OnceLock::new();
    let keywords = KEYWORDS
        .get_or_init(|| ALL_KEYWORDS.iter().map(|k| k.as_bytes()).zip(ALL_KEYWORDS_INDEX.iter().copied()).collect());
    let mut buffer = [0u8; KEYWORD_BUFFER];
    let Some(upper) = buffer.get_mut(..word.len()) else {
        return Keyword::NoKeyword;
    };
    upper.copy_from_slice(word.as_bytes());
    upper.make_ascii_uppercase();
    keywords.get(&*upper).copied().unwrap_or(Keyword::NoKeyword)
}

/// FNV-1a: a few cycles for a short word, where the standard library's hasher costs more than the lookup saves.
/// The table is fixed, so there is nothing to flood.
struct WordHasher(u64);

impl Default for WordHasher {
    fn default() -> WordHasher {
        WordHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use polystoreiq_protocol::types::Engine;
    use proptest::prelude::*;

    use super::super::sql;
    use super::*;

    /// Where the fast tokenizer answers, every dialect's tokenizer gives the same tokens.
    fn agrees(query: &str) -> Result<(), TestCaseError> {
        if let Some(fast) = tokenize(query) {
            for engine in [Engine::Postgres, Engine::Mysql, Engine::Duckdb] {
                let slow = sql::tokenize(sql::dialect(engine), query).ok();
                prop_assert_eq!(Some(&fast), slow.as_ref(), "{:?} in {:?}", query, engine);
            }
        }
        Ok(())
    }

    #[test]
    fn plain_queries_tokenize_as_sqlparser_tokenizes_them() {
        let plain = [
            "SELECT 1",
            "SELECT c.city, count(*) AS orders, sum(o.amount) AS revenue FROM orders o JOIN customers c ON \
             c.customer_id = o.customer_id WHERE o.status IN ('completed', 'shipped') AND o.order_date >= DATE \
             '2024-01-01' GROUP BY c.city ORDER BY revenue DESC LIMIT 10",
            "SELECT sum(CASE WHEN o.quantity > 3 THEN o.amount ELSE 0 END) AS over_3 FROM o",
            "select a<>b, a!=b, a<=b, a>=b, a<b, a>b, a||'x', -1.5, 2*3/4+5-6, x::int, t.* from t;",
            "SELECT\r\n\ta\rFROM\tt\n",
            "SELECT '' AS empty, 'a b' AS s, _x, end_exec, selectx FROM t",
        ];
        for query in plain {
            assert!(tokenize(query).is_some(), "{query}");
            agrees(query).unwrap();
        }
    }

    #[test]
    fn whatever_a_dialect_might_read_differently_is_declined() {
        let declined = [
            "SELECT E'a\\nb'",
            "SELECT X'1F'",
            "SELECT B'101'",
            "SELECT N'x'",
            "SELECT U&'\\0061'",
            "SELECT U&\"a\"",
            "SELECT _utf8'x'",
            "SELECT 'it''s'",
            "SELECT 'a\\'b'",
            "SELECT 'open",
            "SELECT \"quoted\"",
            "SELECT `quoted`",
            "SELECT 0x1F",
            "SELECT 1e9",
            "SELECT 10L",
            "SELECT 1_000",
            "SELECT 1abc",
            "SELECT t.1a",
            "SELECT .5",
            "SELECT 1.",
            "SELECT t._a",
            "SELECT a->>'b'",
            "SELECT a -- comment",
            "SELECT a --x",
            "SELECT a /* comment */",
            "SELECT a # comment",
            "SELECT a // 2",
            "SELECT a <=> b",
            "SELECT a >-1",
            "SELECT a <-> b",
            "SELECT a ||/ b",
            "SELECT a % b",
            "SELECT $1",
            "SELECT @@version",
            "SELECT a$b",
            "SELECT ?",
            "SELECT :name",
            "SELECT a := 1",
            "SELECT [1]",
            "SELECT 'é'",
            "SELECT\u{0B}1",
        ];
        for query in declined {
            assert!(tokenize(query).is_none(), "{query}");
        }
    }

    #[test]
    fn keywords_fit_the_lookup_buffer() {
        assert!(ALL_KEYWORDS.iter().all(|k| k.len() < KEYWORD_BUFFER));
        assert!(ALL_KEYWORDS.windows(2).all(|pair| pair[0].as_bytes() < pair[1].as_bytes()));
        assert_eq!(keyword("select"), Keyword::SELECT);
        assert_eq!(keyword("Case"), Keyword::CASE);
        assert_eq!(keyword("over_3"), Keyword::NoKeyword);
        assert_eq!(keyword(&"a".repeat(100)), Keyword::NoKeyword);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Short random text, mostly of the bytes the fast path reads, so its edges are crossed often.
        #[test]
        fn agrees_with_sqlparser_on_random_text(
            query in "[ \t\r\n().,;:+*=<>!|/'_\\-0-9a-fA-FbBeEnNuUxXlL]{0,12}|[ ().,:=<>!|/%&@#$?'\"`\\\\_\\-0-9a-eE\u{e9}\u{0B}]{0,12}"
        ) {
            agrees(&query)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Random sequences of tokens, with the occasional one the fast path must decline, so long plain
        /// queries are compared too.
        #[test]
        fn agrees_with_sqlparser_on_random_tokens(
            parts in prop::collection::vec(
                (
                    prop_oneof![
                        8 => "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
                        3 => prop::sample::select(vec![
                            "SELECT", "from", "Case", "when", "DATE", "interval", "e", "E", "x", "b", "n", "u", "U", "_",
                            "end_exec", "L",
                        ]).prop_map(str::to_owned),
                        4 => "[0-9]{1,4}(\\.[0-9]{1,3})?",
                        3 => "'[^'\\\\\u{80}-\u{10FFFF}]{0,6}'",
                        8 => prop::sample::select(vec![
                            "(", ")", ",", ";", ".", "::", "+", "-", "*", "/", "=", "<", ">", "<=", ">=", "<>", "!=", "||",
                        ]).prop_map(str::to_owned),
                        1 => prop::sample::select(vec![
                            "'", "''", "--", "/*", "*/", "$", "@", "\\", "\"", "`", "&", "%", "#", "?", ":", "!", "|", "[",
                            "\u{e9}",
                        ]).prop_map(str::to_owned),
                    ],
                    prop::sample::select(vec!["", "", " ", " ", " ", "\n", "\t", "\r\n", "\r"]),
                ),
                0..40,
            )
        ) {
            let query: String = parts.iter().flat_map(|(token, space)| [token.as_str(), space]).collect();
            agrees(&query)?;
        }
    }
}
