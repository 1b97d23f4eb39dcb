//! What a question is about: numbered assets ("line 2", "l2", "the third
//! motor") and measured quantities ("temperature", "motor current").

use super::AssetRef;
use crate::knowledge::vocab::{self, Quantity};

/// Numbered assets and the word positions they took: "line 2", "line2", "l2",
/// "motor #3", "m03", "line two", "the third motor".
pub(super) fn assets(words: &[&str]) -> (Vec<AssetRef>, Vec<usize>) {
    let mut out: Vec<AssetRef> = Vec::new();
    let mut used = Vec::new();
    let mut push = |noun: &str, number: u32, at: &[usize], out: &mut Vec<AssetRef>| {
        let r = AssetRef {
            noun: noun.to_owned(),
            number,
        };
        if !out.contains(&r) {
            out.push(r);
        }
        used.extend_from_slice(at);
    };
    let time_unit = |w: &str| {
        matches!(
            w,
            "hour"
                | "hours"
                | "h"
                | "hr"
                | "hrs"
                | "min"
                | "mins"
                | "minute"
                | "minutes"
                | "m"
                | "day"
                | "days"
                | "d"
                | "week"
                | "weeks"
                | "w"
                | "second"
                | "seconds"
                | "s"
                | "sec"
                | "month"
                | "months"
                | "am"
                | "pm"
        )
    };
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied();
        let noun = vocab::asset_noun(vocab::stem(w).as_str()).to_owned();
        let noun = if vocab::is_asset_noun(&noun) {
            noun
        } else {
            vocab::asset_noun(w).to_owned()
        };
        if vocab::is_asset_noun(&noun) && noun != "plant" {
            // "line 2", "motor no 3", "line two"
            let mut j = i + 1;
            if matches!(next, Some("no") | Some("nr") | Some("number") | Some("num")) {
                j += 1;
            }
            if let Some(n) = words
                .get(j)
                .and_then(|x| x.parse::<u32>().ok().or_else(|| vocab::number_word(x)))
            {
                if !words.get(j + 1).is_some_and(|u| time_unit(u)) {
                    push(&noun, n, &[i, j], &mut out);
                    continue;
                }
            }
            // "the third motor"
            if let Some(n) = i.checked_sub(1).and_then(|p| vocab::number_word(words[p])) {
                if i >= 2 && words[i - 2] == "the" {
                    push(&noun, n, &[i - 1, i], &mut out);
                }
            }
            continue;
        }
        // "line2", "l2", "m03", "motor3"
        let split = w.find(|c: char| c.is_ascii_digit());
        if let Some(at) = split.filter(|at| *at > 0) {
            let (letters, digits) = w.split_at(at);
            if let (Ok(n), true) = (
                digits.parse::<u32>(),
                letters.chars().all(|c| c.is_alphabetic()),
            ) {
                let noun = vocab::asset_noun(letters);
                if vocab::is_asset_noun(noun) && !time_unit(letters)
                    || letters == "m" && !time_unit_context(words, i)
                {
                    push(noun, n, &[i], &mut out);
                }
            }
        }
    }
    (out, used)
}

/// "30m ago" is a time; "m3" is a motor.
fn time_unit_context(words: &[&str], i: usize) -> bool {
    matches!(words.get(i + 1), Some(&"ago"))
}

pub(super) fn quantities(words: &[&str], stems: &[String]) -> Vec<Quantity> {
    let mut out = Vec::new();
    for (i, s) in stems.iter().enumerate() {
        let q = vocab::quantity_of_word(s).or_else(|| {
            // "motor current", "current draw", "amps": the electrical quantity.
            (words[i] == "current"
                && (matches!(words.get(i + 1), Some(&"draw") | Some(&"consumption"))
                    || i > 0
                        && vocab::is_asset_noun(vocab::asset_noun(words[i - 1]))
                        && !matches!(
                            words.get(i + 1),
                            Some(&"value") | Some(&"reading") | Some(&"status") | Some(&"state")
                        )))
            .then_some(Quantity::Current)
        });
        if let Some(q) = q {
            // "press 2" is an asset, not pressure.
            if s == "press" && words.get(i + 1).is_some_and(|n| n.parse::<u32>().is_ok()) {
                continue;
            }
            if !out.contains(&q) {
                out.push(q);
            }
        }
    }
    out
}
