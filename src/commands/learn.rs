//! `edgewatch learn` and `edgewatch learned`: clients of the daemon's learn API.
//! Learning runs in the daemon, which owns the journal and installs the model
//! in its running pipeline at once.

use super::api_client::ApiClient;
use super::CommandError;

/// What to learn; `None` fields keep the daemon's defaults.
pub struct LearnArgs<'a> {
    pub name: &'a str,
    pub sensors: &'a str,
    pub from: &'a str,
    pub until: Option<&'a str>,
    pub method: Option<&'a str>,
    pub lags: Option<usize>,
    pub smooth: Option<usize>,
    pub track: Option<&'a str>,
    pub debounce: Option<u32>,
    pub clear_after: Option<u32>,
    pub severity: Option<&'a str>,
}

pub fn learn(api: &ApiClient, a: &LearnArgs) -> Result<String, CommandError> {
    let mut body = serde_json::json!({ "name": a.name, "sensors": a.sensors, "from": a.from });
    let optional = [
        ("until", a.until.map(serde_json::Value::from)),
        ("method", a.method.map(serde_json::Value::from)),
        ("lags", a.lags.map(serde_json::Value::from)),
        ("smooth", a.smooth.map(serde_json::Value::from)),
        ("track", a.track.map(serde_json::Value::from)),
        ("debounce", a.debounce.map(serde_json::Value::from)),
        ("clear-after", a.clear_after.map(serde_json::Value::from)),
        ("severity", a.severity.map(serde_json::Value::from)),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            body[key] = v;
        }
    }
    let v = api.call("POST", "/api/v1/learn", Some(&body))?;
    let mut out = describe(&v["model"]);
    out.push_str(&format!(
        "saved to {} and watching now\n",
        v["file"].as_str().unwrap_or("?")
    ));
    Ok(out)
}

pub fn list(api: &ApiClient) -> Result<String, CommandError> {
    let v = api.call("GET", "/api/v1/learned", None)?;
    let mut out = String::new();
    for m in v["models"].as_array().into_iter().flatten() {
        out.push_str(&describe(m));
    }
    for e in v["errors"].as_array().into_iter().flatten() {
        out.push_str(&format!("error: {}\n", e.as_str().unwrap_or("")));
    }
    if out.is_empty() {
        out.push_str(
            "no learned models (learn one: edgewatch learn NAME --sensors 'plant/pump1/{channel}' --from 7d)\n",
        );
    }
    Ok(out)
}

/// The whole model file, as JSON (for inspection or to take elsewhere).
pub fn show(api: &ApiClient, name: &str) -> Result<String, CommandError> {
    let v = api.call("GET", &format!("/api/v1/learned/{name}"), None)?;
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&v).unwrap_or_default()
    ))
}

fn describe(m: &serde_json::Value) -> String {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let mut out = format!(
        "{}  {} over {}  (learned {}, lags {}, smooth {}, debounce {})\n",
        s(&m["name"]),
        s(&m["method"]),
        s(&m["sensors"]),
        s(&m["learned-at"]),
        m["lags"],
        m["smooth"],
        m["debounce"]
    );
    for a in m["assets"].as_array().into_iter().flatten() {
        let channels: Vec<String> = a["channels"]
            .as_array()
            .into_iter()
            .flatten()
            .map(s)
            .collect();
        out.push_str(&format!(
            "  {}: {} channels ({}), {} frames from {} to {} ({} left out for alerts), {} components explain {:.0} %\n",
            s(&a["asset"]),
            channels.len(),
            channels.join(", "),
            a["frames"],
            s(&a["from"]),
            s(&a["until"]),
            a["excluded-frames"],
            a["components"],
            a["explained"].as_f64().unwrap_or(0.0) * 100.0
        ));
    }
    out
}
