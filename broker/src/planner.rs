//! The simplest honest drafter: it recognises a table the question names and either counts its rows or shows
//! a sample. It says what it matched, and declines (naming the tables it knows) when it matches nothing.
//! The full offline planner and the LLM router replace it.

use polystoreiq_protocol::types::SchemaSnapshot;
use polystoreiq_protocol::{ErrorCode, TypedError};

/// The provider name shown in previews.
pub const PROVIDER: &str = "simple-planner";

pub struct Plan {
    pub query: String,
    pub explanation: String,
}

pub fn draft(question: &str, schema: &SchemaSnapshot) -> Result<Plan, TypedError> {
    let words: Vec<String> = question
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let table = schema.tables.iter().find(|t| {
        let name = t.name.to_lowercase();
        words.iter().any(|w| *w == name || singular(w) == singular(&name))
    });
    let Some(table) = table else {
        let known: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
        return Err(TypedError::new(
            ErrorCode::DraftDeclined,
            format!("no word of the question names a table of this source; name one of: {}", known.join(", ")),
        ));
    };
    let ident = format!("\"{}\"", table.name.replace('"', "\"\""));
    let lower = question.to_lowercase();
    if lower.contains("how many") || words.iter().any(|w| w == "count" || w == "number") {
        Ok(Plan {
            query: format!("SELECT count(*) AS row_count FROM {ident}"),
            explanation: format!("Counts the rows of table {} (matched by name in the question).", table.name),
        })
    } else {
        Ok(Plan {
            query: format!("SELECT * FROM {ident} LIMIT 100"),
            explanation: format!("Shows the first 100 rows of table {} (matched by name in the question).", table.name),
        })
    }
}

fn singular(word: &str) -> &str {
    word.strip_suffix('s').filter(|w| w.len() > 2).unwrap_or(word)
}
