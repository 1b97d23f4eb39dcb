//! `edgewatch alerts`: recent alerts straight from the store, as a table or JSON.

use super::CommandError;
use crate::api::query_time;
use crate::event::now_ms;
use crate::sensor_glob::SensorGlob;
use crate::store::{AlertFilter, AlertRow, Reader};
use std::path::Path;

pub struct AlertsArgs<'a> {
    pub state_dir: &'a Path,
    pub since: &'a str,
    pub sensor: Option<&'a str>,
    pub state: Option<&'a str>,
    pub limit: usize,
    pub json: bool,
}

pub fn run(a: AlertsArgs<'_>) -> Result<String, CommandError> {
    let reader = Reader::open(a.state_dir).map_err(|e| {
        CommandError::Usage(format!(
            "{e}\nno store in {}: pass the daemon's config with -c FILE or its --state-dir",
            a.state_dir.display()
        ))
    })?;
    let since =
        query_time(a.since, now_ms()).map_err(|e| CommandError::Usage(format!("--since: {e}")))?;
    let sensor = a
        .sensor
        .map(|g| SensorGlob::new(&[g]).map_err(|e| CommandError::Usage(format!("--sensor: {e}"))))
        .transpose()?;
    let rows = reader.alerts(&AlertFilter {
        since_ms: Some(since),
        sensor,
        state: a.state.map(str::to_owned),
        limit: a.limit,
        ..Default::default()
    })?;
    if a.json {
        return Ok(serde_json::to_string_pretty(&rows).unwrap_or_default());
    }
    Ok(table(&rows))
}

fn table(rows: &[AlertRow]) -> String {
    if rows.is_empty() {
        return "no alerts in that range\n".to_owned();
    }
    let mut out = format!(
        "{:<24} {:<9} {:<8} {:<22} {}\n",
        "FIRED (UTC)", "STATE", "SEVERITY", "RULE", "MESSAGE"
    );
    for r in rows {
        let fired = r
            .fired_at
            .get(..19)
            .unwrap_or(&r.fired_at)
            .replace('T', " ");
        out.push_str(&format!(
            "{:<24} {:<9} {:<8} {:<22} {}\n",
            fired, r.state, r.severity, r.rule, r.message
        ));
    }
    out
}
