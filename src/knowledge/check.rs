//! Checks a model's answer against the facts before anyone sees it: every citation
//! must be a fact's id, every number and sensor it names must appear in the facts,
//! and it must state the headline count. A 135M model misreads numbers and invents
//! clauses; what fails here is replaced by the deterministic summary.

use super::facts::Facts;

/// The fact ids the answer cites, or why it is refused.
pub fn check(answer: &str, facts: &Facts) -> Result<Vec<String>, String> {
    let known: Vec<&str> = facts.facts.iter().map(|f| f.id.as_str()).collect();
    let mut cited = Vec::new();
    let mut plain = String::with_capacity(answer.len());
    let mut rest = answer;
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
    if cited.is_empty() {
        return Err("it cites no fact".into());
    }
    let block = facts.block();
    for word in plain.split_whitespace() {
        let w =
            word.trim_matches(|c: char| !c.is_alphanumeric() && c != '/' && c != '_' && c != '-');
        if w.matches('/').count() >= 2 && !block.contains(w) {
            return Err(format!(
                "it names the sensor {w}, which is not in the facts"
            ));
        }
    }
    let fact_numbers = numbers(&block);
    for n in numbers(&plain) {
        if !fact_numbers.iter().any(|f| same_number(&n, f)) {
            return Err(format!("it names {n}, which is not in the facts"));
        }
    }
    if facts.alerts > 0 && !states_count(&plain, facts.alerts) {
        return Err(format!(
            "it does not state the number of alerts ({})",
            facts.alerts
        ));
    }
    Ok(cited)
}

/// Numbers written in a text: digits with an optional sign and decimals.
fn numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_digit()
                    || (b[j] == b'.' && j + 1 < b.len() && b[j + 1].is_ascii_digit()))
            {
                j += 1;
            }
            out.push(text[start..j].to_owned());
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// 88.20 and 88.2 are the same number; 88 and 88.2 are not.
fn same_number(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y || x.abs() == y.abs(),
        _ => a == b,
    }
}

fn states_count(text: &str, n: usize) -> bool {
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    numbers(text).iter().any(|x| x.parse::<usize>() == Ok(n))
        || WORDS.get(n).is_some_and(|w| {
            text.to_ascii_lowercase()
                .split(|c: char| !c.is_alphabetic())
                .any(|x| x == *w)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::facts::Fact;

    fn facts() -> Facts {
        Facts {
            range: "last night".into(),
            since: "s".into(),
            until: "u".into(),
            alerts: 3,
            facts: vec![
                Fact { id: "range".into(), text: "3 alerts fired from 2026-11-21T18:00:00.000Z".into() },
                Fact {
                    id: "alert:a1".into(),
                    text: "3 x warning alert `hot` on plant1/line2/motor/m01/temperature; largest value 88.2 (limit 85)".into(),
                },
            ],
            summary: vec![],
        }
    }

    #[test]
    fn a_grounded_answer_passes() {
        let ok = "Three alerts fired last night [range]; motor m01's temperature reached 88.2 against a limit of 85 [alert:a1].";
        assert_eq!(check(ok, &facts()).unwrap(), vec!["range", "alert:a1"]);
        assert!(
            check("3 alerts, peak 88.20 [a1]", &facts()).is_ok(),
            "bare alert id, trailing zero"
        );
    }

    #[test]
    fn invented_numbers_sensors_citations_and_missing_counts_fail() {
        let f = facts();
        assert!(check("3 alerts, peak 91.5 [alert:a1]", &f)
            .unwrap_err()
            .contains("91.5"));
        assert!(check("3 alerts [alert:zz]", &f)
            .unwrap_err()
            .contains("[alert:zz]"));
        assert!(
            check("3 alerts on plant1/line9/motor/m07/temperature [range]", &f)
                .unwrap_err()
                .contains("line9")
        );
        assert!(check("Everything is fine.", &f)
            .unwrap_err()
            .contains("cites no fact"));
        assert!(check("Everything is fine [range].", &f)
            .unwrap_err()
            .contains("number of alerts"));
    }
}
