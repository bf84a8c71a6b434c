//! The model provider settings: which provider drafts, and each provider's model and endpoint, in the app
//! state's settings table; each provider's API key in the OS keyring, the settings holding only its reference.
//!
//! They are read for every question, so a change takes effect at the next `ask`, without a restart. The key is
//! never written to the app state, never logged and never sent back: front ends see only whether one is set.
//!
//! A key is bound to the endpoint it was entered for (`llm.<provider>.key_endpoint`): changing the endpoint asks
//! for the key again, and a key whose binding does not match the endpoint in force is not sent anywhere until it
//! is entered again. A key goes only over `https`, or plain `http` to this machine (127.0.0.0/8, ::1,
//! `localhost`), where a local server such as Ollama or llama.cpp listens.

use polystoreiq_protocol::secret::{Secret, UserSecret};
use polystoreiq_protocol::types::{LlmProvider, LlmSettings};
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::secrets::{Keyring, SecretRef};
use crate::store::{DEFAULT_PROFILE, Store};

use super::{anthropic, ollama, openai};

const PROVIDER: &str = "llm.provider";

fn setting(provider: LlmProvider, field: &str) -> String {
    format!("llm.{}.{field}", provider.as_str())
}

/// The provider in force, as the router needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlmConfig {
    pub provider: LlmProvider,
    pub model: String,
    pub endpoint: String,
    /// Where the API key is in the keyring, when one is set and may be sent to `endpoint`.
    pub key_ref: Option<SecretRef>,
    /// Why a key in the keyring is not used: it was entered for another endpoint (or before keys were bound to
    /// their endpoint), or the endpoint is plain `http` to another machine.
    pub key_refused: Option<String>,
}

impl LlmConfig {
    pub fn offline() -> LlmConfig {
        LlmConfig {
            provider: LlmProvider::Offline,
            model: String::new(),
            endpoint: String::new(),
            key_ref: None,
            key_refused: None,
        }
    }

    /// As front ends see it.
    pub fn view(&self) -> LlmSettings {
        LlmSettings {
            provider: self.provider,
            model: self.model.clone(),
            endpoint: self.endpoint.clone(),
            api_key_set: self.key_ref.is_some(),
        }
    }
}

/// A provider's model and endpoint when none is set.
pub fn defaults(provider: LlmProvider) -> (&'static str, &'static str) {
    match provider {
        LlmProvider::Offline => ("", ""),
        LlmProvider::Openai => (openai::DEFAULT_MODEL, openai::DEFAULT_ENDPOINT),
        LlmProvider::Anthropic => (anthropic::DEFAULT_MODEL, anthropic::DEFAULT_ENDPOINT),
        LlmProvider::Ollama => (ollama::DEFAULT_MODEL, ollama::DEFAULT_ENDPOINT),
    }
}

fn parse_provider(text: &str) -> Option<LlmProvider> {
    [LlmProvider::Offline, LlmProvider::Openai, LlmProvider::Anthropic, LlmProvider::Ollama]
        .into_iter()
        .find(|p| p.as_str() == text)
}

/// The provider in force: the offline planner until another is chosen.
pub async fn load(store: &Store) -> Result<LlmConfig, TypedError> {
    let stored = store
        .call(|db| {
            let Some(provider) = db.setting(PROVIDER)?.as_deref().and_then(parse_provider) else {
                return Ok(None);
            };
            if provider == LlmProvider::Offline {
                return Ok(Some((provider, None, None, None, None)));
            }
            let model = db.setting(&setting(provider, "model"))?;
            let endpoint = db.setting(&setting(provider, "endpoint"))?;
            let key_ref = db.setting(&setting(provider, "key_ref"))?;
            let key_endpoint = db.setting(&setting(provider, "key_endpoint"))?;
            Ok(Some((provider, model, endpoint, key_ref, key_endpoint)))
        })
        .await?;
    let Some((provider, model, endpoint, key_ref, key_endpoint)) = stored else {
        return Ok(LlmConfig::offline());
    };
    if provider == LlmProvider::Offline {
        return Ok(LlmConfig::offline());
    }
    let (default_model, default_endpoint) = defaults(provider);
    let endpoint = endpoint.unwrap_or_else(|| default_endpoint.to_owned());
    let mut key_ref = key_ref.map(SecretRef::from_stored);
    let mut key_refused = None;
    if key_ref.is_some() {
        key_refused = match key_endpoint {
            Some(bound) if bound == endpoint => key_transport(&endpoint).err().map(|err| err.message),
            Some(bound) => Some(format!(
                "the {} API key was entered for {bound}, not for {endpoint}, so it is not sent there; enter it again \
                 with `psiq settings llm --provider {} --api-key-stdin`",
                provider.as_str(),
                provider.as_str()
            )),
            None => Some(format!(
                "the {} API key was stored before keys were bound to their endpoint, so it is not sent to \
                 {endpoint}; enter it again with `psiq settings llm --provider {} --api-key-stdin`",
                provider.as_str(),
                provider.as_str()
            )),
        };
        if key_refused.is_some() {
            key_ref = None;
        }
    }
    Ok(LlmConfig { provider, model: model.unwrap_or_else(|| default_model.to_owned()), endpoint, key_ref, key_refused })
}

/// What `psiq settings llm` asks for.
pub struct LlmChange {
    pub provider: LlmProvider,
    pub model: Option<String>,
    pub endpoint: Option<String>,
    pub api_key: Option<UserSecret>,
    pub clear_api_key: bool,
}

/// Makes `change.provider` the one in force, with its model and endpoint (those left out keep their stored
/// values, else the defaults) and its API key put into or removed from the keyring.
pub async fn save(
    store: &Store,
    keyring: Result<&Keyring, TypedError>,
    change: LlmChange,
) -> Result<LlmConfig, TypedError> {
    let provider = change.provider;
    if provider == LlmProvider::Offline {
        if change.model.is_some() || change.endpoint.is_some() || change.api_key.is_some() || change.clear_api_key {
            return Err(TypedError::new(
                ErrorCode::BadRequest,
                "the offline planner takes no model, endpoint or API key; give only --provider offline",
            ));
        }
        store.call(|db| db.set_setting(PROVIDER, LlmProvider::Offline.as_str())).await?;
        return Ok(LlmConfig::offline());
    }
    if change.api_key.is_some() && change.clear_api_key {
        return Err(TypedError::new(ErrorCode::BadRequest, "give either a new API key or --clear-api-key, not both"));
    }
    let model = change.model.map(|m| validate_model(&m)).transpose()?;
    let endpoint = change.endpoint.map(|e| validate_endpoint(&e)).transpose()?;
    let key_setting = setting(provider, "key_ref");
    let (existing, stored_endpoint, bound_endpoint) = {
        let key_setting = key_setting.clone();
        store
            .call(move |db| {
                Ok((
                    db.setting(&key_setting)?,
                    db.setting(&setting(provider, "endpoint"))?,
                    db.setting(&setting(provider, "key_endpoint"))?,
                ))
            })
            .await?
    };
    let existing = existing.map(SecretRef::from_stored);
    let old_endpoint = stored_endpoint.unwrap_or_else(|| defaults(provider).1.to_owned());
    // The endpoint the provider will use after this change: the key, new or kept, is bound to it.
    let new_endpoint = endpoint.clone().unwrap_or_else(|| old_endpoint.clone());
    if existing.is_some() && change.api_key.is_none() && !change.clear_api_key {
        if bound_endpoint.as_deref() != Some(new_endpoint.as_str()) {
            let entered = match &bound_endpoint {
                Some(bound) => format!("was entered for {bound}"),
                None => "was stored before keys were bound to their endpoint".to_owned(),
            };
            return Err(TypedError::new(
                ErrorCode::BadRequest,
                format!(
                    "the {} API key {entered} and is never sent to another endpoint; to use {new_endpoint}, give \
                     the key again with --api-key-stdin, or drop it with --clear-api-key",
                    provider.as_str()
                ),
            ));
        }
        key_transport(&new_endpoint)?;
    }
    let mut key_ref = existing.clone();
    if let Some(key) = change.api_key {
        key_transport(&new_endpoint)?;
        let key = key.into_secret();
        if key.expose().trim().is_empty() || key.expose().chars().any(char::is_control) {
            return Err(TypedError::new(ErrorCode::BadRequest, "the API key is empty or holds control characters"));
        }
        let reference =
            existing.clone().unwrap_or_else(|| SecretRef::new(DEFAULT_PROFILE, &format!("llm-{}", provider.as_str())));
        keyring.clone()?.store(&reference, &key).map_err(|e| e.to_typed())?;
        key_ref = Some(reference);
    } else if change.clear_api_key {
        if let Some(reference) = &existing {
            keyring.clone()?.delete(reference).map_err(|e| e.to_typed())?;
        }
        key_ref = None;
    }
    let stored_ref = key_ref.as_ref().map(|r| r.as_str().to_owned());
    let key_endpoint_setting = setting(provider, "key_endpoint");
    let saved = store
        .call(move |db| {
            if let Some(model) = &model {
                db.set_setting(&setting(provider, "model"), model)?;
            }
            if let Some(endpoint) = &endpoint {
                db.set_setting(&setting(provider, "endpoint"), endpoint)?;
            }
            match &stored_ref {
                Some(reference) => {
                    db.set_setting(&key_setting, reference)?;
                    db.set_setting(&key_endpoint_setting, &new_endpoint)?;
                }
                None => {
                    db.delete_setting(&key_setting)?;
                    db.delete_setting(&key_endpoint_setting)?;
                }
            }
            db.set_setting(PROVIDER, provider.as_str())
        })
        .await;
    if let Err(err) = saved {
        // A key stored for a reference the app state does not hold would be lost in the keyring.
        if existing.is_none()
            && let (Some(reference), Ok(keyring)) = (&key_ref, keyring)
        {
            let _ = keyring.delete(reference);
        }
        return Err(err.into());
    }
    load(store).await
}

/// The API key of `config`, from the keyring; `Ok(None)` when none is set; an error when one is set but may not
/// be sent to the endpoint in force (see [`LlmConfig::key_refused`]).
pub fn key(config: &LlmConfig, keyring: Result<&Keyring, TypedError>) -> Result<Option<Secret>, String> {
    if let Some(refused) = &config.key_refused {
        return Err(refused.clone());
    }
    let Some(reference) = &config.key_ref else { return Ok(None) };
    key_transport(&config.endpoint).map_err(|err| err.message)?;
    let keyring = keyring.map_err(|err| err.message)?;
    keyring.load(reference).map(Some).map_err(|err| {
        format!("the API key is not readable from the OS keyring ({err}); set it again with `psiq settings llm --api-key-stdin`")
    })
}

fn validate_model(model: &str) -> Result<String, TypedError> {
    let model = model.trim();
    if model.is_empty() || model.len() > 200 || model.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(TypedError::new(
            ErrorCode::BadRequest,
            "a model name is 1-200 characters without spaces, e.g. gpt-4o-mini or llama3.1:8b",
        ));
    }
    Ok(model.to_owned())
}

/// An endpoint is an `http` or `https` URL with a host and no user name or password (those belong in the
/// keyring, as the API key); a trailing slash is dropped.
pub fn validate_endpoint(endpoint: &str) -> Result<String, TypedError> {
    let bad = |why: &str| {
        TypedError::new(
            ErrorCode::BadRequest,
            format!("{why}; an endpoint is a URL such as https://api.openai.com/v1 or http://127.0.0.1:11434"),
        )
    };
    let url = reqwest::Url::parse(endpoint.trim()).map_err(|err| bad(&format!("the endpoint is not a URL ({err})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the endpoint must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the endpoint names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TypedError::new(
            ErrorCode::BadRequest,
            "do not put credentials in the endpoint URL; pass the API key with --api-key-stdin (it goes to the OS \
             keyring)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("the endpoint must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Whether an API key may travel to `endpoint`: over `https`, or over plain `http` only to this machine
/// (127.0.0.0/8, ::1, `localhost`), where nobody on the network can read it.
pub fn key_transport(endpoint: &str) -> Result<(), TypedError> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|err| TypedError::new(ErrorCode::BadRequest, format!("the endpoint is not a URL ({err})")))?;
    if url.scheme() == "https" {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    let loopback = match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    if url.scheme() == "http" && loopback {
        return Ok(());
    }
    Err(TypedError::new(
        ErrorCode::BadRequest,
        format!(
            "an API key is sent only over https (plain http only to this machine: 127.0.0.1, ::1 or localhost); \
             {endpoint} would carry it unencrypted. Use the provider's https URL, or drop the key with \
             --clear-api-key"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_travels_only_over_https_or_to_this_machine() {
        for ok in [
            "https://api.openai.com/v1",
            "http://127.0.0.1:8080/v1",
            "http://127.3.4.5",
            "http://[::1]:11434",
            "http://LOCALHOST:1",
        ] {
            assert!(key_transport(ok).is_ok(), "{ok}");
        }
        for refused in
            ["http://api.openai.com/v1", "http://10.0.0.2:11434", "http://[::2]", "http://localhost.evil.example"]
        {
            let err = key_transport(refused).unwrap_err();
            assert_eq!(err.code, ErrorCode::BadRequest);
            assert!(err.message.contains("only over https"), "{}", err.message);
        }
    }

    #[test]
    fn endpoints_are_checked() {
        assert_eq!(validate_endpoint("http://127.0.0.1:11434/").unwrap(), "http://127.0.0.1:11434");
        assert_eq!(validate_endpoint("https://api.openai.com/v1").unwrap(), "https://api.openai.com/v1");
        assert!(validate_endpoint("ftp://x").is_err());
        assert!(validate_endpoint("https://user:pw@example.com/v1").unwrap_err().message.contains("credentials"));
        assert!(validate_endpoint("not a url").is_err());
        assert!(validate_model("gpt 4").is_err());
    }
}
