//! A question cut into what the reader looks at: tokens that keep times and
//! dates whole ("14:00", "2026-11-30"), plain words, their stems, and the plant
//! words left once everything with a meaning of its own is taken out.

use super::stop_words::STOP;
use crate::knowledge::vocab;

pub(super) struct Words<'q> {
    /// Keep ':' '-' '.' inside ("14:00", "2026-11-30", "motor-overtemp").
    pub tokens: Vec<&'q str>,
    pub words: Vec<&'q str>,
    pub stems: Vec<String>,
}

impl<'q> Words<'q> {
    /// `lower` is the question lowercased, apostrophes removed.
    pub fn new(lower: &'q str) -> Self {
        let tokens = lower
            .split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '-' || c == '.'))
            .map(|t| t.trim_matches(|c: char| c == '.' || c == ':' || c == '-'))
            .filter(|t| !t.is_empty())
            .collect();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let stems = words.iter().map(|w| vocab::stem(w)).collect();
        Words {
            tokens,
            words,
            stems,
        }
    }

    pub fn has(&self, w: &str) -> bool {
        self.words.contains(&w)
    }

    /// Whether any of `ws` is a word of the question.
    pub fn any(&self, ws: &[&str]) -> bool {
        ws.iter().any(|w| self.has(w))
    }

    pub fn has_stem(&self, s: &str) -> bool {
        self.stems.iter().any(|x| x == s)
    }

    pub fn any_stem(&self, ss: &[&str]) -> bool {
        ss.iter().any(|s| self.has_stem(s))
    }

    pub fn phrase(&self, p: &str) -> bool {
        contains_phrase(&self.words, p)
    }

    pub fn any_phrase(&self, ps: &[&str]) -> bool {
        ps.iter().any(|p| self.phrase(p))
    }

    pub fn first(&self) -> &str {
        self.words.first().copied().unwrap_or("")
    }

    /// The stems of the plant words ("coolant", "cabinet"): not at a position in
    /// `used` (an asset), not a number, a stop word, a quantity or part of a time.
    pub fn content(&self, used: &[usize]) -> Vec<String> {
        let mut content = Vec::new();
        for (i, s) in self.stems.iter().enumerate() {
            let w = self.words[i];
            if used.contains(&i)
                || w.chars().all(|c| c.is_ascii_digit())
                || w.len() < 2
                || STOP.contains(&s.as_str())
                || STOP.contains(&w)
                || vocab::quantity_of_word(s).is_some()
                || vocab::number_word(w).is_some()
                || self.tokens.iter().any(|t| t.contains(':') && t.contains(w))
            {
                continue;
            }
            // "current" is the quantity only beside a word of electricity.
            if w == "current" {
                continue;
            }
            if !content.contains(s) {
                content.push(s.clone());
            }
        }
        content
    }
}

pub(super) fn contains_phrase(words: &[&str], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    words.windows(p.len()).any(|w| w == p.as_slice())
}
