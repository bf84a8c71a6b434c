//! The owner's settings: limits and the language model.

use std::time::Instant;

use polystoreiq_protocol::TypedError;
use polystoreiq_protocol::types::AuditAction;
use polystoreiq_protocol::types::LimitsChange;

use crate::health::unix_ms;
use crate::llm::settings::{self as llm_settings, LlmChange};

use super::Broker;

impl Broker {
    pub(super) async fn settings(&self) -> Result<polystoreiq_protocol::types::Settings, TypedError> {
        Ok(self.settings_with(llm_settings::load(&self.store).await?.view()))
    }

    pub(super) fn settings_with(
        &self,
        llm: polystoreiq_protocol::types::LlmSettings,
    ) -> polystoreiq_protocol::types::Settings {
        polystoreiq_protocol::types::Settings { llm, limits: self.limits.get(), env_fixed: self.limits.env_fixed() }
    }

    pub(super) async fn set_limits(
        &self,
        change: LimitsChange,
    ) -> Result<polystoreiq_protocol::types::Settings, TypedError> {
        let detail = self.limits.change(&self.store, change).await?;
        self.supervisor.resize(self.limits.get().max_workers as usize);
        self.supervisor.set_session_limits(self.limits.session());
        self.audit(AuditAction::SettingsLimits, None, None, None, None, detail).await;
        if change.audit_retention_days.is_some() {
            self.prune_audit().await;
        }
        self.settings().await
    }

    /// Deletes the audit events older than the retention in force.
    pub async fn prune_audit(&self) {
        let retention = self.limits.audit_retention();
        let cutoff = unix_ms().saturating_sub(retention.as_millis() as u64);
        match self.store.call(move |db| db.prune_audit(cutoff)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("pruned {n} audit events older than {} days", retention.as_secs() / 86_400),
            Err(err) => tracing::error!("cannot prune the audit log: {err}"),
        }
    }

    pub(super) async fn set_llm(&self, change: LlmChange) -> Result<polystoreiq_protocol::types::Settings, TypedError> {
        let key_note = match (&change.api_key, change.clear_api_key) {
            (Some(_), _) => "; API key replaced",
            (None, true) => "; API key removed",
            (None, false) => "",
        };
        let config = llm_settings::save(&self.store, self.keyring(), change).await?;
        let detail = format!("{} {} {}{key_note}", config.provider.as_str(), config.model, config.endpoint);
        self.audit(AuditAction::SettingsLlm, None, None, None, None, detail.trim().to_owned()).await;
        Ok(self.settings_with(config.view()))
    }

    pub(super) async fn test_llm(&self) -> Result<polystoreiq_protocol::types::LlmTestReport, TypedError> {
        let config = llm_settings::load(&self.store).await?;
        let started = Instant::now();
        let result = self.router.health(&config, llm_settings::key(&config, self.keyring())).await;
        let message = match result {
            Ok(message) => message,
            Err(err) => return Err(err.to_typed(config.provider)),
        };
        Ok(polystoreiq_protocol::types::LlmTestReport {
            provider: config.provider,
            model: config.model,
            endpoint: config.endpoint,
            elapsed_ms: started.elapsed().as_millis() as u64,
            message,
        })
    }
}
