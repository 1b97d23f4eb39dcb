//! Text that came from outside (upstream response bodies, payload fields, topic
//! names) made safe to log, store and print: control characters are escaped (an
//! ANSI sequence or a CR cannot repaint a terminal or forge a log line), and so
//! are the invisible characters that reorder or hide text (bidi overrides and
//! isolates, zero-width characters: "Trojan Source"), known secrets are replaced,
//! and the length is capped on a character boundary. An MQTT broker refuses
//! control characters in topics, but not these.

/// `text` with each secret replaced by `[redacted]`, control and invisible
/// characters escaped (`\u{1b}`, `\r`, `\n`, `\u{202e}`), and at most `max`
/// bytes kept (then `…`).
pub fn quote(text: &str, secrets: &[&str], max: usize) -> String {
    let mut clean = text.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        clean = clean.replace(*s, "[redacted]");
    }
    let mut out = String::with_capacity(clean.len().min(max + 8));
    for c in clean.chars() {
        let piece: String = if c.is_control() {
            c.escape_default().collect()
        } else if is_invisible(c) {
            c.escape_unicode().collect()
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

/// Characters that change how the text around them is shown without showing
/// themselves: zero-width spaces and joiners, direction marks, embeddings,
/// overrides and isolates, the byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `text` cut to at most `max` bytes on a character boundary; for keeping what
/// came from outside (a topic, an excerpt) at a bounded size.
pub fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
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
        // Text that reads one way and is another: shown for what it is.
        let trojan = quote("in/\u{202e}gnp.exe\u{200b}", &[], 200);
        assert_eq!(trojan, "in/\\u{202e}gnp.exe\\u{200b}");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("aé", 3), "aé");
    }
}
