//! `edgewatch ask` and `edgewatch docs`: questions and documents through the
//! running daemon's API (the daemon owns the store and the models).

use super::api_client::ApiClient;
use super::CommandError;
use std::path::Path;

pub fn ask(api: &ApiClient, question: &str, json: bool) -> Result<String, CommandError> {
    let v = api.call(
        "POST",
        "/api/v1/ask",
        Some(&serde_json::json!({ "question": question })),
    )?;
    if json {
        return Ok(format!("{v:#}\n"));
    }
    let mut out = format!("{}\n\n", v["answer"].as_str().unwrap_or(""));
    let path = v["path"].as_str().unwrap_or("?");
    out.push_str(&format!(
        "({}, {})\n",
        match path {
            "model" => format!(
                "phrased by {} and checked against the facts",
                v["model"].as_str().unwrap_or("the model")
            ),
            _ => "from the facts alone".to_owned(),
        },
        v["range"]["label"].as_str().unwrap_or("")
    ));
    if let Some(note) = v["note"].as_str() {
        out.push_str(&format!("note: {note}\n"));
    }
    for c in v["citations"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "[{}] {}\n",
            c["id"].as_str().unwrap_or(""),
            c["text"].as_str().unwrap_or("")
        ));
    }
    Ok(out)
}

/// Adds text, Markdown or PDF files (a PDF's text is extracted here, so the
/// daemon only ever stores text); returns one line per file.
pub fn add(api: &ApiClient, files: &[std::path::PathBuf]) -> Result<String, CommandError> {
    let mut out = String::new();
    for f in files {
        let usage = |why: String| {
            CommandError::Usage(format!(
                "{}: {why} (text, Markdown or PDF files)",
                f.display()
            ))
        };
        let bytes = std::fs::read(f).map_err(|e| usage(e.to_string()))?;
        let text = if crate::knowledge::pdf::is_pdf(&bytes) {
            crate::knowledge::pdf::text(&bytes).map_err(|e| usage(e.to_string()))?
        } else {
            String::from_utf8(bytes).map_err(|_| usage("not UTF-8 text".into()))?
        };
        let title = title_of(&text, f);
        let v = api.call(
            "POST",
            "/api/v1/documents",
            Some(&serde_json::json!({ "title": title, "source": f.display().to_string(), "text": text })),
        )?;
        out.push_str(&format!(
            "added {} as document {} ({} chunks): {title}\n",
            f.display(),
            v["id"],
            v["chunks"]
        ));
    }
    Ok(out)
}

pub fn list(api: &ApiClient) -> Result<String, CommandError> {
    let v = api.call("GET", "/api/v1/documents", None)?;
    let mut out = String::new();
    for d in v.as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:>4}  {:<40}  {:>3} chunks  {}  {}\n",
            d["id"],
            d["title"].as_str().unwrap_or(""),
            d["chunks"],
            d["added"].as_str().unwrap_or(""),
            d["source"].as_str().unwrap_or("")
        ));
    }
    if out.is_empty() {
        out.push_str("no documents (add some: edgewatch docs add FILE...)\n");
    }
    Ok(out)
}

pub fn remove(api: &ApiClient, id: i64) -> Result<String, CommandError> {
    api.call("DELETE", &format!("/api/v1/documents/{id}"), None)?;
    Ok(format!("deleted document {id}\n"))
}

/// A Markdown file's first heading, else its file name.
fn title_of(text: &str, path: &Path) -> String {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("# ")
                .map(str::trim)
                .filter(|t| !t.is_empty())
        })
        .map(str::to_owned)
        .unwrap_or_else(|| {
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        })
}
