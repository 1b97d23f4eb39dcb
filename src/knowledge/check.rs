//! Checks a model's rephrasing against the facts before anyone sees it. Numbers,
//! clock times and sensor ids are read as whole tokens (the digits inside an id
//! such as `a1b2` or `line2` are not numbers); each sentence's numbers, times and
//! sensors must appear in the facts that sentence cites; every citation must be a
//! fact; and the rephrasing must keep every number and time of the deterministic
//! answer's first sentence, so it still answers the question.

use super::answer::Composed;

/// The fact ids the answer cites, or why it is refused.
pub fn check(answer: &str, reference: &Composed) -> Result<Vec<String>, String> {
    let known: Vec<&str> = reference.facts.iter().map(|f| f.id.as_str()).collect();
    let mut cited_all: Vec<String> = Vec::new();
    for sentence in sentences(answer) {
        let (plain, cited) = citations(sentence, &known)?;
        let supported: String = reference
            .facts
            .iter()
            .filter(|f| cited.contains(&f.id))
            .map(|f| format!("{} {}\n", f.id, f.text))
            .collect();
        let stated = claims(&plain);
        if stated.is_empty() {
            // A sentence with no figure needs no citation ("Everything else is normal" does).
            if cited.is_empty() && !plain.trim().is_empty() && plain.split_whitespace().count() > 3
            {
                return Err(format!("the sentence {:?} cites no fact", plain.trim()));
            }
        } else if cited.is_empty() {
            return Err(format!("the sentence {:?} cites no fact", plain.trim()));
        }
        let facts_claims = claims(&supported);
        for c in &stated {
            if !facts_claims.iter().any(|f| same(c, f)) {
                return Err(format!("it names {c}, which its cited facts do not"));
            }
        }
        for id in cited {
            if !cited_all.contains(&id) {
                cited_all.push(id);
            }
        }
    }
    if cited_all.is_empty() {
        return Err("it cites no fact".into());
    }
    let said = claims(answer);
    if let Some(head) = reference.sentences.first() {
        let (head_plain, _) = citations(head, &known).unwrap_or_default();
        // Figures, not names: "motor m03" may stand for the sensor id.
        for c in claims(&head_plain)
            .into_iter()
            .filter(|c| !c.contains('/') && !c.starts_with(char::is_alphabetic))
        {
            if !said.iter().any(|s| same(s, &c)) {
                return Err(format!("it leaves out {c}, which the answer rests on"));
            }
        }
    }
    Ok(cited_all)
}

/// Sentences: split after '.', '!' or '?' followed by a space (not inside
/// "93.7" or a citation).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut start = 0;
    let mut depth = 0i32;
    for i in 0..b.len() {
        match b[i] {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b'.' | b'!' | b'?'
                if depth == 0 && b.get(i + 1).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                out.push(&text[start..=i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < text.len() && !text[start..].trim().is_empty() {
        out.push(&text[start..]);
    }
    out
}

/// The sentence without its citations, and the fact ids cited.
fn citations(sentence: &str, known: &[&str]) -> Result<(String, Vec<String>), String> {
    let mut plain = String::with_capacity(sentence.len());
    let mut cited = Vec::new();
    let mut rest = sentence;
    while let Some(open) = rest.find('[') {
        plain.push_str(&rest[..open]);
        let Some(close) = rest[open..].find(']') else {
            return Err("an unclosed citation bracket".into());
        };
        for id in rest[open + 1..open + close]
            .split([',', ';'])
            .map(str::trim)
        {
            let id = known
                .iter()
                .find(|k| **k == id || k.strip_prefix("alert:") == Some(id))
                .ok_or_else(|| format!("it cites [{id}], which is not a fact"))?;
            if !cited.iter().any(|c| c == id) {
                cited.push((*id).to_owned());
            }
        }
        rest = &rest[open + close + 1..];
    }
    plain.push_str(rest);
    Ok((plain, cited))
}

/// Numbers, clock times and sensor ids a text states, as whole tokens; a count
/// of alerts ("2 critical alerts", "two alerts") also as `2 alerts`, so the 6 of
/// "the last 6 hours" cannot pass for one.
fn claims(text: &str) -> Vec<String> {
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '"' | '`' | '\''))
        .map(|raw| {
            raw.trim_end_matches(['.', ':', '!', '?'])
                .trim_start_matches(['.', ':'])
        })
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if t.matches('/').count() >= 2 && t.chars().any(|c| c.is_alphabetic()) {
            out.push((*t).to_owned());
            // A sensor id supports "line 2" and "motor 3".
            let info = super::resolve::SensorInfo::new(t, None, &serde_json::Value::Null);
            out.extend(info.assets());
            continue;
        }
        let number = number(t);
        let asset = i
            .checked_sub(1)
            .map(|p| super::vocab::asset_noun(&tokens[p].to_lowercase()).to_owned())
            .filter(|noun| super::vocab::is_asset_noun(noun));
        match (&number, asset) {
            // "line 2" is an asset, not the number 2.
            (Some(n), Some(noun)) if n.parse::<u32>().is_ok() => {
                out.push(format!("{noun} {}", n.parse::<u32>().unwrap_or(0)));
                continue;
            }
            (Some(n), _) => out.push(n.clone()),
            _ => {}
        }
        let count =
            number.or_else(|| super::vocab::number_word(&t.to_lowercase()).map(|n| n.to_string()));
        if let Some(n) = count {
            let next = |k: usize| tokens.get(i + k).map(|w| w.to_lowercase());
            let alerts = |w: Option<String>| w.is_some_and(|w| w.starts_with("alert"));
            let severity = |w: Option<String>| {
                w.is_some_and(|w| matches!(w.as_str(), "critical" | "warning" | "info"))
            };
            if alerts(next(1)) || severity(next(1)) && alerts(next(2)) {
                out.push(format!("{n} alerts"));
            }
        }
    }
    out
}

/// A token that is a number, a clock time or a date, with at most a unit after
/// it ("85%RH", "12°C", "5min"); none for ids such as `a1b2` or `m03`.
fn number(t: &str) -> Option<String> {
    let lead: String = t
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '-'))
        .collect();
    let rest = &t[lead.len()..];
    let lead = lead.trim_matches(['.', ':', '-']);
    let ok = lead.chars().any(|c| c.is_ascii_digit())
        && (rest.is_empty() || rest.starts_with(['%', '°']) || is_unit(&rest.to_lowercase()));
    ok.then(|| lead.to_owned())
}

/// Unit suffixes written against a number ("5min", "12s", "3h", "6bar").
fn is_unit(s: &str) -> bool {
    matches!(
        s,
        "s" | "min" | "h" | "d" | "bar" | "c" | "mm/s" | "rh" | "v" | "a" | "kw"
    )
}

/// 88.20 and 88.2 are the same number; 88 and 88.2 are not; times and ids match
/// as written.
fn same(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::facts::Fact;

    fn composed() -> Composed {
        Composed {
            sentences: vec![
                "2 critical alerts fired in the last 6 hours [count]: `hot` on plant1/line2/motor/m03/temperature at 18:40 (resolved 18:52) [alert:a1b2]; `hot` on plant1/line1/motor/m01/temperature at 18:53 (still firing) [alert:c3d4].".into(),
            ],
            facts: vec![
                Fact { id: "range".into(), text: "the question covers 12:53 to 18:53 (in the last 6 hours)".into() },
                Fact { id: "count".into(), text: "2 critical alerts fired in the last 6 hours".into() },
                Fact { id: "alert:a1b2".into(), text: "critical alert `hot` on plant1/line2/motor/m03/temperature fired 18:40 at 93.7 °C (limit 85), resolved 18:52 at 79.8 °C after 12 min".into() },
                Fact { id: "alert:c3d4".into(), text: "critical alert `hot` on plant1/line1/motor/m01/temperature fired 18:53 at 88.2 °C (limit 85), still firing".into() },
            ],
        }
    }

    #[test]
    fn a_faithful_rephrasing_passes() {
        let ok = "Two critical alerts in the last 6 hours [count]. Motor m03 on line 2 overheated at 18:40 and cleared at 18:52 [alert:a1b2]; plant1/line1/motor/m01/temperature went hot at 18:53 and is still firing [c3d4]. In all 2 alerts [count].";
        assert_eq!(
            check(ok, &composed()).unwrap(),
            ["count", "alert:a1b2", "alert:c3d4"]
        );
    }

    #[test]
    fn invented_or_unsupported_figures_fail() {
        let c = composed();
        // 93.7 is in a fact, but not in the one this sentence cites.
        let e = check("2 alerts [count]; motor 3 reached 93.7 at 18:40 and 18:52, and motor 1 fired at 18:53 [alert:c3d4].", &c).unwrap_err();
        assert!(e.contains("motor 3") || e.contains("93.7"), "{e}");
        let e = check(
            "2 alerts at 18:40, 18:52 and 18:53 [count] reached 91.5 [alert:a1b2].",
            &c,
        )
        .unwrap_err();
        assert!(e.contains("18:53") || e.contains("91.5"), "{e}");
        assert!(check("2 alerts, 18:40 18:52 18:53 [alert:zz].", &c)
            .unwrap_err()
            .contains("[alert:zz]"));
        let e = check("6 alerts fired at 18:40, 18:52, 18:53 [count].", &c).unwrap_err();
        assert!(
            e.contains("6 alerts"),
            "the 6 of 'last 6 hours' is not a count of alerts: {e}"
        );
        // Digits inside ids are not numbers; leaving out the headline count is refused.
        let e = check(
            "Alerts a1b2 and c3d4 fired at 18:40, 18:52 and 18:53 [alert:a1b2, alert:c3d4].",
            &c,
        )
        .unwrap_err();
        assert!(e.contains("leaves out 2"), "{e}");
        assert!(check("Everything is fine on the whole plant.", &c)
            .unwrap_err()
            .contains("cites no fact"));
    }
}
