//! The offline planner: turns a question into a read-only query for one source with no model, deterministically
//! and in about a millisecond. It is the provider when none is configured and the fallback when one fails.
//!
//! The pipeline, one named stage per module: [`lexicon`] tokenizes and stems the question; [`schema_model`] indexes
//! the schema snapshot (tables, columns and their roles, keys, labels, declared and inferred many-to-one joins);
//! [`link`] turns the tokens into linked phrases, each with a meaning (a date range, an aggregate, a rank, a group,
//! a table, a column, a value); [`understand`] reads them, pass by pass, into an [`Intent`]; [`follow_up`] merges
//! a follow-up's intent into the previous turn's; [`resolve`] chooses the table to read and every column, giving a
//! [`spec::Spec`]; [`emit`] writes that as PostgreSQL, MySQL or DuckDB SQL, or a MongoDB document, and explains
//! it. Every query it drafts passes the guardrail of the source's engine before it is returned.
//!
//! It never guesses: a word it cannot place, two equally good readings, or a question it cannot answer is a
//! `draft_declined` error that names the words and suggests columns. A follow-up ("now only 2024", "split that by
//! month") is read against the previous [`Turn`], which the broker keeps per chat session (see [`replay`]).

mod emit;
mod follow_up;
mod intent;
mod lexicon;
mod link;
mod resolve;
mod schema_model;
pub mod spec;
mod understand;

use polystoreiq_guard::Guardrail;
use polystoreiq_protocol::types::{ChatMessage, Engine, SchemaSnapshot};
use polystoreiq_protocol::{ErrorCode, TypedError};
use serde::{Deserialize, Serialize};

pub use intent::Intent;
pub use lexicon::Date;
pub use spec::Spec;

use intent::FollowUpCues;
use schema_model::SchemaModel;

/// The provider name shown in previews.
pub const PROVIDER: &str = "offline-planner";

/// How many of a session's earlier questions [`replay`] reads.
pub const REPLAY_DEPTH: usize = 8;

/// A drafted query.
#[derive(Clone, Debug)]
pub struct Plan {
    pub query: String,
    pub explanation: String,
    /// What a follow-up needs to know about this draft; keep it per session.
    pub turn: Turn,
}

/// One answered question, as a follow-up reads it: the question, the query, the plan structure and the
/// interpretation behind it. Plain data, serializable, so a session can store it anywhere.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub question: String,
    pub query: String,
    pub spec: Spec,
    pub intent: Intent,
}

/// Drafts a query for `question` in `engine`'s language over `schema`, as a follow-up of `previous` when the
/// question reads as one. Declines with `draft_declined` (and a message naming the words it could not place)
/// rather than guess.
pub fn draft(
    question: &str,
    schema: &SchemaSnapshot,
    engine: Engine,
    previous: Option<&Turn>,
) -> Result<Plan, TypedError> {
    Planner::new(schema, engine).draft(question, previous, Date::today())
}

/// The follow-up state of a chat session: its earlier questions (the last [`REPLAY_DEPTH`] user messages of
/// `history`, oldest first) drafted again in order, each as a follow-up of the one before. The planner is
/// deterministic, so this rebuilds the turn the session ended on without storing it; questions it declines are
/// skipped. `history` must not hold the question being asked now.
pub fn replay(history: &[ChatMessage], schema: &SchemaSnapshot, engine: Engine) -> Option<Turn> {
    let planner = Planner::new(schema, engine);
    let today = Date::today();
    let questions: Vec<&str> = history
        .iter()
        .filter(|m| m.role == polystoreiq_protocol::types::ChatRole::User)
        .map(|m| m.content.as_str())
        .collect();
    let start = questions.len().saturating_sub(REPLAY_DEPTH);
    let mut turn: Option<Turn> = None;
    for question in &questions[start..] {
        if let Ok(plan) = planner.draft(question, turn.as_ref(), today) {
            turn = Some(plan.turn);
        }
    }
    turn
}

/// The planner over one schema: build once, draft many questions (a session's replay, a benchmark).
pub struct Planner {
    model: SchemaModel,
    engine: Engine,
}

impl Planner {
    pub fn new(schema: &SchemaSnapshot, engine: Engine) -> Planner {
        Planner { model: SchemaModel::new(schema, engine), engine }
    }

    /// [`draft`] with a fixed "today" for relative dates.
    pub fn draft(&self, question: &str, previous: Option<&Turn>, today: Date) -> Result<Plan, TypedError> {
        let declined = |message: String| TypedError::new(ErrorCode::DraftDeclined, message);
        if self.model.tables.is_empty() {
            return Err(declined("this source has no tables yet; check it with `psiq schema SOURCE`".into()));
        }
        let tokens = lexicon::tokenize(question);
        if tokens.is_empty() {
            return Err(declined("ask a question about this source's data, e.g. \"how many rows per ...\"".into()));
        }
        let linked = link::link(&tokens, &self.model, today);
        let (delta, cues) = understand::understand(linked, &self.model).map_err(|d| declined(d.0))?;
        if previous.is_none() && is_follow_up(&delta, cues) && incomplete(&delta) {
            return Err(declined(format!(
                "\"{question}\" reads as a follow-up, but there is no earlier question to follow: ask it in the same \
                 chat session as the question it refines (`psiq ask SOURCE QUESTION --session ID`), or ask the whole \
                 question"
            )));
        }
        let follow_up = previous.filter(|_| is_follow_up(&delta, cues));
        let intent = match follow_up {
            Some(turn) => follow_up::merge(&turn.intent, &delta, cues),
            None => delta,
        };
        let (spec, notes) = resolve::resolve(&intent, &self.model).map_err(|d| declined(d.0))?;
        let query = emit::query(&spec, self.engine).map_err(declined)?;
        let verdict = Guardrail::new(self.engine).check(&query);
        if !verdict.allowed() {
            // A planner bug, never the user's: say so plainly.
            return Err(TypedError::new(
                ErrorCode::Internal,
                format!(
                    "the offline planner drafted a query its own guardrail refuses ({}: {}); please report it with \
                     the question",
                    verdict.code.as_str(),
                    verdict.reason
                ),
            ));
        }
        let explanation = emit::explain(&spec, &notes, self.engine, follow_up.map(|t| t.question.as_str()));
        let turn = Turn { question: question.to_owned(), query: query.clone(), spec, intent };
        Ok(Plan { query, explanation, turn })
    }
}

/// A question that says it follows up (`now`, `instead`, `split that`), or one that cannot stand alone: no
/// measure and no table of its own, only groups, filters or a rank (`by month`, `only 2024`, `top 3`).
fn is_follow_up(delta: &Intent, cues: FollowUpCues) -> bool {
    if cues.strong {
        return true;
    }
    let modifies = !delta.dims.is_empty() || !delta.filters.is_empty() || delta.rank.is_some() || delta.limit.is_some();
    incomplete(delta) && modifies
}

/// No measure, no table and no column of its own: only a change to something said before.
fn incomplete(delta: &Intent) -> bool {
    let ranks_by_something = delta.rank.as_ref().is_some_and(|r| r.by.is_some());
    delta.measures.is_empty() && delta.subject.is_none() && delta.list_cols.is_empty() && !ranks_by_something
}

#[cfg(test)]
mod tests;
