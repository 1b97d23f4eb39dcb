//! Text that came from outside (upstream response bodies, payload fields, topic
//! names) made safe to log, store and print: control characters are escaped (an
//! ANSI sequence or a CR cannot repaint a terminal or forge a log line), known
//! secrets are replaced, and the length is capped on a character boundary.

/// `text` with each secret replaced by `[redacted]`, control characters escaped
/// (`\u{1b}`, `\r`, `\n`), and at most `max` bytes kept (then `…`).
pub fn quote(text: &str, secrets: &[&str], max: usize) -> String {
    let mut clean = text.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        clean = clean.replace(*s, "[redacted]");
    }
    let mut out = String::with_capacity(clean.len().min(max + 8));
    for c in clean.chars() {
        let piece: String = if c.is_control() {
            c.escape_default().collect()
        } else {
            c.to_string()
        };
        if out.len() + piece.len() > max {
            out.push('…');
            break;
        }
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_and_log_control_is_escaped_and_secrets_are_gone() {
        let body =
            "\u{1b}]0;pwned\u{7}\u{1b}[2J\rINFO forged line\nAuthorization: Splunk 0123-secret";
        let q = quote(body, &["0123-secret"], 200);
        assert!(!q.chars().any(char::is_control), "{q}");
        assert!(
            q.contains("\\u{1b}") && q.contains("\\r") && q.contains("\\n"),
            "{q}"
        );
        assert!(
            q.contains("[redacted]") && !q.contains("0123-secret"),
            "{q}"
        );
        // Multi-byte text is cut on a character boundary, never mid-character.
        let cut = quote(&"é".repeat(300), &[], 201);
        assert!(
            cut.ends_with('…') && cut.len() <= 201 + '…'.len_utf8(),
            "{}",
            cut.len()
        );
        assert_eq!(quote("plain", &[], 200), "plain");
    }
}
