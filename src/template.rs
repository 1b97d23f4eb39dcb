//! `{name}` placeholders in topics: parsed once at validation, filled per event.

/// The placeholder names in `template`, or an error for an unclosed `{`.
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("`{template}` has a `{{` without its `}}`"))?;
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(out)
}

/// Fills each `{name}` with `value(name)`; unknown names are left as written
/// (validation refuses them before this runs).
pub fn render<'a>(template: &str, value: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match value(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_names_and_keeps_the_rest() {
        let t = "edge/{gateway}/alerts/{severity}/{nope}";
        assert_eq!(
            placeholders(t).unwrap(),
            vec!["gateway", "severity", "nope"]
        );
        let got = render(t, |n| match n {
            "gateway" => Some("gw1"),
            "severity" => Some("critical"),
            _ => None,
        });
        assert_eq!(got, "edge/gw1/alerts/critical/{nope}");
        assert!(placeholders("a/{b").is_err());
    }
}
