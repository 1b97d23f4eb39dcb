//! Webhook bodies per preset. Batching presets (json, splunk-hec) put all rows in
//! one request; chat presets (slack, teams, discord) post one message per event.

use super::envelope::{self, EventView};
use crate::store::OutboxRow;
use serde::Deserialize;
use serde_json::json;

/// How a webhook body is shaped.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookPreset {
    /// `{"items": [envelope, ...]}`: every field, batched.
    #[default]
    Json,
    Slack,
    Teams,
    Discord,
    /// Splunk HTTP Event Collector (batched; `Authorization: Splunk TOKEN`).
    SplunkHec,
}

impl WebhookPreset {
    /// Presets that post one human message per event.
    pub fn is_chat(self) -> bool {
        matches!(
            self,
            WebhookPreset::Slack | WebhookPreset::Teams | WebhookPreset::Discord
        )
    }
}

/// One HTTP request covering the next `items` rows.
#[derive(Debug, Clone)]
pub struct Request {
    pub body: String,
    pub items: usize,
    /// Dedup key of the item, for one-item requests (`X-Edgewatch-Key`).
    pub key: Option<String>,
}

/// Discord refuses longer messages.
const DISCORD_MAX: usize = 2000;

pub fn render(
    preset: WebhookPreset,
    gateway: &str,
    sink: &str,
    rows: &[OutboxRow],
) -> Vec<Request> {
    match preset {
        WebhookPreset::Json => {
            let items: Vec<String> = rows
                .iter()
                .map(|r| envelope::render(gateway, sink, r))
                .collect();
            vec![Request {
                body: format!(r#"{{"items":[{}]}}"#, items.join(",")),
                items: rows.len(),
                key: single_key(gateway, sink, rows),
            }]
        }
        WebhookPreset::SplunkHec => {
            // HEC takes several event objects back to back in one body.
            let mut body = String::new();
            for r in rows {
                let t = EventView::parse(r).time_ms(r);
                body.push_str(&format!(
                    r#"{{"time":{}.{:03},"host":{},"source":"edgewatch","sourcetype":"edgewatch:{}","event":{}}}"#,
                    t.div_euclid(1000),
                    t.rem_euclid(1000),
                    serde_json::to_string(gateway).unwrap_or_default(),
                    r.kind.as_str(),
                    envelope::render(gateway, sink, r)
                ));
                body.push('\n');
            }
            vec![Request {
                body,
                items: rows.len(),
                key: single_key(gateway, sink, rows),
            }]
        }
        WebhookPreset::Slack | WebhookPreset::Teams | WebhookPreset::Discord => rows
            .iter()
            .map(|r| Request {
                body: chat(preset, &EventView::parse(r).headline(gateway)).to_string(),
                items: 1,
                key: Some(envelope::key(gateway, sink, r)),
            })
            .collect(),
    }
}

fn single_key(gateway: &str, sink: &str, rows: &[OutboxRow]) -> Option<String> {
    match rows {
        [one] => Some(envelope::key(gateway, sink, one)),
        _ => None,
    }
}

fn chat(preset: WebhookPreset, text: &str) -> serde_json::Value {
    match preset {
        WebhookPreset::Slack => json!({ "text": text }),
        WebhookPreset::Discord => {
            let mut t: String = text.chars().take(DISCORD_MAX).collect();
            if t.len() < text.len() {
                t.pop();
                t.push('…');
            }
            json!({ "content": t, "allowed_mentions": { "parse": [] } })
        }
        // Teams workflow webhooks take an Adaptive Card in a message.
        _ => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [{ "type": "TextBlock", "text": text, "wrap": true }]
                }
            }]
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ItemKind;

    fn rows() -> Vec<OutboxRow> {
        (1..=3)
            .map(|seq| OutboxRow {
                seq,
                epoch: 7,
                kind: ItemKind::Alert,
                created_ms: 1_000,
                body: format!(
                    r#"{{"state":"firing","sensor":"s{seq}","severity":"warning","message":"s{seq} above 5","event_ms":1763700000123}}"#
                ),
            })
            .collect()
    }

    #[test]
    fn batching_presets_make_one_request_chat_presets_one_per_event() {
        let r = render(WebhookPreset::Json, "gw", "k", &rows());
        assert_eq!(r.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&r[0].body).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 3);
        assert_eq!(v["items"][2]["key"], "gw:k:7:3");

        let r = render(WebhookPreset::SplunkHec, "gw", "k", &rows());
        assert_eq!(r.len(), 1);
        let events: Vec<serde_json::Value> = r[0]
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0]["time"].as_f64().unwrap(), 1763700000.123);
        assert_eq!(events[0]["sourcetype"], "edgewatch:alert");

        for p in [
            WebhookPreset::Slack,
            WebhookPreset::Teams,
            WebhookPreset::Discord,
        ] {
            let r = render(p, "gw", "k", &rows());
            assert_eq!(r.len(), 3);
            assert!(
                r[1].body.contains("[WARNING] gw: s2 above 5"),
                "{}",
                r[1].body
            );
            assert_eq!(r[1].key.as_deref(), Some("gw:k:7:2"));
        }
    }

    #[test]
    fn discord_messages_are_cut_to_its_limit() {
        let v = chat(WebhookPreset::Discord, &"x".repeat(5000));
        assert_eq!(v["content"].as_str().unwrap().chars().count(), DISCORD_MAX);
    }
}
