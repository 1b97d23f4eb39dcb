//! `edgewatch status`: asks the running daemon's API and prints a summary.

use super::CommandError;

pub fn run(api: &super::api_client::ApiClient, json: bool) -> Result<String, CommandError> {
    let v = api.call("GET", "/api/v1/status", None)?;
    if json {
        return Ok(format!("{v}\n"));
    }
    Ok(render(&v))
}

fn render(v: &serde_json::Value) -> String {
    let mut out = format!(
        "edgewatch {} on {}: {}, up {}s\n\
         readings: {} total, {}/s\n\
         alerts firing: {}\n\
         journal: {} rows, database {} bytes, commit p99 {} ms\n\
         queues: ingest {}, writer {}\n",
        v["version"].as_str().unwrap_or("?"),
        v["gateway"].as_str().unwrap_or("?"),
        if v["ready"].as_bool() == Some(true) {
            "ready"
        } else {
            "not ready"
        },
        v["uptime_s"],
        v["readings_total"],
        v["readings_per_s"],
        v["alerts_firing"],
        v["journal_rows"],
        v["db_bytes"],
        v["commit_p99_ms"],
        v["ingest_queue"],
        v["writer_queue"],
    );
    for s in v["sources"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "source {} ({}): {}, {} messages, {} readings, {} rejected\n",
            s["name"].as_str().unwrap_or("?"),
            s["kind"].as_str().unwrap_or("?"),
            if s["connected"].as_bool() == Some(true) {
                "connected"
            } else {
                "DISCONNECTED"
            },
            s["messages"],
            s["readings"],
            s["rejected"],
        ));
    }
    for s in v["sinks"].as_array().into_iter().flatten() {
        let connected = match (s["kind"].as_str(), s["connected"].as_bool()) {
            (Some("mqtt"), Some(true)) => ", connected",
            (Some("mqtt"), _) => ", DISCONNECTED",
            _ => "",
        };
        out.push_str(&format!(
            "sink {} ({}{connected}): queue {} items / {} bytes, oldest {}s, delivered {}, dropped {} alerts + {} aggregates, retries {}, breaker {}, send p99 {} ms\n",
            s["name"].as_str().unwrap_or("?"),
            s["kind"].as_str().unwrap_or("?"),
            s["queue_items"],
            s["queue_bytes"],
            s["queue_age_s"],
            s["delivered"],
            s["dropped_alerts"],
            s["dropped_aggregates"],
            s["retries"],
            s["breaker"].as_str().unwrap_or("?"),
            s["send_p99_ms"],
        ));
        if let Some(n) = s["dead_letters"].as_i64().filter(|n| *n > 0) {
            out.push_str(&format!(
                "  {n} dead letters (items it can never deliver): `edgewatch dead-letters list`\n"
            ));
        }
        if let Some(e) = s["last_error"].as_str() {
            out.push_str(&format!("  last error: {e}\n"));
        }
    }
    out
}
