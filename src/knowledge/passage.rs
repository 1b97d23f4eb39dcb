//! The part of a document that answers a how-to question: the chunks found by
//! semantic search are re-ranked by the question's words (with their quantities:
//! "overheats" finds "temperature"), and from the best one the lines that match,
//! with the steps that follow a matching heading, are quoted; not the title.

use super::question::Query;
use super::vocab;
use crate::store::ChunkRow;

#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub chunk: i64,
    pub title: String,
    pub text: String,
}

/// Most characters quoted from one document.
const MAX_QUOTE: usize = 600;
/// Chunks below this cosine are not about the question at all.
const MIN_SCORE: f32 = 0.25;

/// The passages to quote, best first (at most two documents).
pub fn best(q: &Query, chunks: &[(ChunkRow, f32)]) -> Vec<Passage> {
    let mut ranked: Vec<(f32, &ChunkRow)> = chunks
        .iter()
        .filter(|(_, s)| *s >= MIN_SCORE)
        .map(|(c, s)| {
            (
                s + 0.05 * overlap(q, &c.text) as f32 + 0.1 * overlap(q, &c.title) as f32,
                c,
            )
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<Passage> = Vec::new();
    for (_, c) in ranked {
        if out.iter().any(|p| p.title == c.title) || out.len() >= 2 {
            continue;
        }
        // A second document only when its words are the question's too.
        if !out.is_empty() && overlap(q, &c.text) < 2 {
            continue;
        }
        out.push(Passage {
            chunk: c.id,
            title: c.title.clone(),
            text: quote(q, &c.text),
        });
    }
    out
}

/// Question words found in a text (stems, and words of the same quantity).
fn overlap(q: &Query, text: &str) -> usize {
    let stems: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(vocab::stem)
        .collect();
    let words = q
        .words
        .iter()
        .filter(|w| stems.iter().any(|s| vocab::same_word(s, w)))
        .count();
    let quantities = q
        .quantities
        .iter()
        .filter(|x| {
            stems
                .iter()
                .any(|s| vocab::quantity_of_word(s) == Some(**x))
        })
        .count();
    words + 2 * quantities
}

fn is_step(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with(['-', '*', '•'])
        || t.split_once(['.', ')']).is_some_and(|(n, _)| {
            !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit())
        })
}

fn is_heading(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('#')
        || (t.ends_with(':') && t.len() < 80)
        || (!t.ends_with('.') && t.split_whitespace().count() <= 6 && !is_step(t))
}

/// The lines of a chunk that answer the question: the best-matching line, and
/// when it is a heading or a step, the steps around it.
fn quote(q: &Query, text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    // Prose without line breaks: its sentences are the lines.
    let units: Vec<String> = if lines.len() == 1 {
        lines[0]
            .split_inclusive(". ")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    } else {
        lines.iter().map(|l| (*l).to_owned()).collect()
    };
    let scores: Vec<usize> = units.iter().map(|u| overlap(q, u)).collect();
    let best = (0..units.len())
        .max_by(|a, b| {
            scores[*a]
                .cmp(&scores[*b])
                .then(units[*a].len().cmp(&units[*b].len()))
                .then(b.cmp(a))
        })
        .unwrap_or(0);
    let mut start = best;
    let mut end = best + 1;
    if is_heading(&units[best]) || scores[best] == 0 {
        // What the heading introduces.
        start = best + usize::from(is_heading(&units[best]));
        end = start;
        while end < units.len() && !(end > start && is_heading(&units[end])) {
            end += 1;
        }
    } else if is_step(&units[best]) {
        while start > 0 && is_step(&units[start - 1]) {
            start -= 1;
        }
        while end < units.len() && is_step(&units[end]) {
            end += 1;
        }
    } else if end < units.len() && is_step(&units[end]) {
        while end < units.len() && is_step(&units[end]) {
            end += 1;
        }
    }
    let start = start.min(units.len() - 1);
    let end = end.clamp(start + 1, units.len());
    let mut out = String::new();
    for u in &units[start..end] {
        if out.len() + u.len() > MAX_QUOTE && !out.is_empty() {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(u);
    }
    if out.len() > MAX_QUOTE {
        let cut = crate::untrusted::truncate(&out, MAX_QUOTE).len();
        out.truncate(cut);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::question::parse;
    use crate::knowledge::timerange::Clock;
    use jiff::tz::TimeZone;

    fn chunk(id: i64, title: &str, text: &str) -> (ChunkRow, f32) {
        (
            ChunkRow {
                id,
                document: id,
                title: title.into(),
                source: String::new(),
                seq: 0,
                text: text.into(),
            },
            0.5,
        )
    }

    #[test]
    fn the_steps_are_quoted_not_the_title() {
        let q = parse(
            "what does the runbook say to do when a motor overheats?",
            &Clock::new(TimeZone::UTC, 0),
            None,
        );
        let runbook = "# Motor runbook\n\n## High vibration\n1. Check the bearing.\n2. Regrease.\n\n## Overtemperature\n1. Reduce the load to 50 %.\n2. Check the coolant flow.\n3. If the temperature stays above 90 °C, stop the motor.";
        let other = "Descale the coffee machine every month.";
        let p = best(
            &q,
            &[
                chunk(1, "Coffee", other),
                chunk(2, "Motor runbook", runbook),
            ],
        );
        assert_eq!(p[0].chunk, 2);
        assert_eq!(
            p[0].text,
            "1. Reduce the load to 50 %. 2. Check the coolant flow. 3. If the temperature stays above 90 °C, stop the motor."
        );
        let prose = "Cabinet humidity. When the cabinet humidity exceeds 80 %, check the door seal and the heater. Dry the cabinet before restart.";
        let q = parse(
            "what should I do when the cabinet humidity is high",
            &Clock::new(TimeZone::UTC, 0),
            None,
        );
        let p = best(&q, &[chunk(3, "Cabinet", prose)]);
        assert_eq!(
            p[0].text,
            "When the cabinet humidity exceeds 80 %, check the door seal and the heater."
        );
    }
}
