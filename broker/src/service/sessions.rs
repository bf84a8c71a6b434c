//! Chat sessions and their messages.

use polystoreiq_protocol::types::{ChatMessage, SessionId};
use polystoreiq_protocol::{ErrorCode, TypedError};

use super::Broker;
use polystoreiq_protocol::types::ChatSession;

impl Broker {
    pub(super) async fn create_session(&self, title: String) -> Result<ChatSession, TypedError> {
        Ok(self.store.call(move |db| db.create_session(&title)).await?)
    }

    pub(super) async fn sessions(&self) -> Result<Vec<ChatSession>, TypedError> {
        Ok(self.store.call(|db| db.sessions()).await?)
    }

    /// Gives a session a new title: 1 to 200 characters, no control characters, kept as typed but for the
    /// spaces around it.
    pub(super) async fn rename_session(&self, session: SessionId, title: String) -> Result<ChatSession, TypedError> {
        let title = title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
            return Err(TypedError::new(
                ErrorCode::BadRequest,
                "a session's title has 1 to 200 characters and no control characters",
            ));
        }
        let renamed = self.store.call(move |db| db.rename_session(session, &title)).await?;
        renamed.ok_or_else(|| {
            TypedError::new(ErrorCode::BadRequest, format!("no chat session {session}; see `psiq session list`"))
        })
    }

    pub(super) async fn messages(&self, session: SessionId) -> Result<Vec<ChatMessage>, TypedError> {
        self.require_session(session).await?;
        Ok(self.store.call(move |db| db.messages(session)).await?)
    }

    pub(super) async fn require_session(&self, session: SessionId) -> Result<(), TypedError> {
        if self.store.call(move |db| db.session_exists(session)).await? {
            Ok(())
        } else {
            Err(TypedError::new(ErrorCode::BadRequest, format!("no chat session {session}; see `psiq session list`")))
        }
    }
}
