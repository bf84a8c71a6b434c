//! The profile lock, as requests: unlocking, locking and setting the secrets, each audited.

use polystoreiq_protocol::TypedError;
use polystoreiq_protocol::secret::UserSecret;
use polystoreiq_protocol::types::{AccessState, AuditAction, Role};

use super::Broker;

impl Broker {
    pub(super) async fn unlock(&self, secret: UserSecret) -> Result<AccessState, TypedError> {
        match self.access.unlock(&secret).await {
            Ok(state) => {
                self.audit(AuditAction::AccessUnlock, None, None, None, None, format!("as {}", state.role.as_str()))
                    .await;
                Ok(state)
            }
            Err(err) => {
                self.audit(AuditAction::AccessUnlockFailed, None, None, None, None, err.message.clone()).await;
                Err(err)
            }
        }
    }

    pub(super) async fn lock(&self) -> Result<AccessState, TypedError> {
        let state = self.access.lock()?;
        self.audit(AuditAction::AccessLock, None, None, None, None, String::new()).await;
        Ok(state)
    }

    pub(super) async fn set_lock(&self, role: Role, secret: Option<UserSecret>) -> Result<AccessState, TypedError> {
        let detail = format!("{} {}", role.as_str(), if secret.is_some() { "set" } else { "removed" });
        let state = self.access.set_lock(role, secret).await?;
        self.audit(AuditAction::AccessSetLock, None, None, None, None, detail).await;
        Ok(state)
    }
}
