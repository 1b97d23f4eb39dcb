//! The CLI's way to the running daemon: its HTTP API, found through the config
//! (`api.addr` in the state dir, else `api.listen`) or `--url`.

use super::CommandError;
use std::time::Duration;

pub struct ApiClient {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl ApiClient {
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> ApiClient {
        ApiClient {
            base: base.trim_end_matches('/').to_owned(),
            token,
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    /// The daemon of a config file: its address and token.
    pub fn from_config(c: &crate::config::Config, timeout: Duration) -> ApiClient {
        let addr = std::fs::read_to_string(c.gateway.state_dir.join("api.addr"))
            .unwrap_or(c.api.listen.clone());
        let token = c
            .api
            .token_file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok());
        ApiClient::new(
            &format!("http://{}", addr.trim()),
            token.map(|t| t.trim().to_owned()),
            timeout,
        )
    }

    /// GET, or POST with a JSON body; the answer's JSON, or its error message.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, CommandError> {
        let url = format!("{}{path}", self.base);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let result = match (method, body) {
            ("POST", Some(b)) => {
                let mut r = self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json");
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send(b.to_string().as_bytes())
            }
            ("DELETE", _) => {
                let mut r = self.agent.delete(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            _ => {
                let mut r = self.agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
        };
        let mut resp = result.map_err(|e| {
            CommandError::Unreachable(format!(
                "cannot reach edgewatch at {url}: {e} (is it running? `systemctl status edgewatch`; pass --url if it listens elsewhere)"
            ))
        })?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let v: serde_json::Value = if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| {
                CommandError::Unreachable(format!("{url} answered no JSON ({status}): {e}"))
            })?
        };
        if status >= 400 {
            return Err(CommandError::Unreachable(format!(
                "{url}: {status}: {}",
                v["error"].as_str().unwrap_or(&text)
            )));
        }
        Ok(v)
    }
}
