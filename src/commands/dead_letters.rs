//! `edgewatch dead-letters`: the items a sink can never deliver, listed, resent
//! into their sink's outbox, or dropped, through the running daemon's API.

use super::api_client::ApiClient;
use super::CommandError;
use serde_json::{json, Value};

/// Which dead letters a resend or drop is about.
pub struct Selection {
    pub sink: Option<String>,
    pub ids: Vec<i64>,
    pub all: bool,
}

impl Selection {
    fn body(&self) -> Result<Value, CommandError> {
        match (self.ids.is_empty(), self.all) {
            (true, false) => Err(CommandError::Usage(
                "say which: dead letter ids (from `edgewatch dead-letters list`) or --all".into(),
            )),
            (false, true) => Err(CommandError::Usage("give ids or --all, not both".into())),
            (false, false) => Ok(json!({ "sink": self.sink, "ids": self.ids })),
            (true, true) => Ok(json!({ "sink": self.sink, "all": true })),
        }
    }
}

pub fn list(api: &ApiClient, sink: Option<&str>, json: bool) -> Result<String, CommandError> {
    let path = match sink {
        Some(s) => format!(
            "/api/v1/dead-letters?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("sink", s)
                .finish()
        ),
        None => "/api/v1/dead-letters".to_owned(),
    };
    let v = api.call("GET", &path, None)?;
    if json {
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ));
    }
    let rows = v["dead_letters"].as_array().cloned().unwrap_or_default();
    if rows.is_empty() {
        return Ok("no dead letters\n".to_owned());
    }
    let mut out = format!(
        "{:>6}  {:<12} {:<9} {:>8}  {}\n",
        "ID", "SINK", "KIND", "SEQ", "REASON"
    );
    for r in &rows {
        out.push_str(&format!(
            "{:>6}  {:<12} {:<9} {:>8}  {}\n",
            r["id"],
            crate::untrusted::quote(r["sink"].as_str().unwrap_or("?"), &[], 40),
            r["kind"].as_str().unwrap_or("?"),
            r["seq"],
            crate::untrusted::quote(r["reason"].as_str().unwrap_or(""), &[], 300),
        ));
    }
    Ok(out)
}

pub fn resend(api: &ApiClient, sel: &Selection) -> Result<String, CommandError> {
    let v = api.call("POST", "/api/v1/dead-letters/resend", Some(&sel.body()?))?;
    Ok(format!("{} resent into the outbox\n", v["resent"]))
}

pub fn drop(api: &ApiClient, sel: &Selection) -> Result<String, CommandError> {
    let v = api.call("POST", "/api/v1/dead-letters/drop", Some(&sel.body()?))?;
    Ok(format!("{} dropped\n", v["dropped"]))
}
