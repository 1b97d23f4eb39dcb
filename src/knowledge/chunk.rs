//! Splits a document into overlapping chunks along paragraph and sentence ends, so
//! each chunk is one embedding's worth of text (the model reads 256 tokens).

/// Characters per chunk (about 200 tokens of English) and carried over between two.
pub const CHUNK_CHARS: usize = 900;
pub const OVERLAP_CHARS: usize = 150;

pub fn split(text: &str) -> Vec<String> {
    let text = text.replace("\r\n", "\n");
    let mut pieces: Vec<&str> = Vec::new();
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if para.len() <= CHUNK_CHARS {
            pieces.push(para);
        } else {
            pieces.extend(sentences(para));
        }
    }
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    for p in pieces {
        if !current.is_empty() && current.len() + p.len() + 1 > CHUNK_CHARS {
            let tail = overlap(&current);
            chunks.push(std::mem::take(&mut current));
            current.push_str(&tail);
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(p);
        // A single piece longer than a chunk (no sentence ends): cut it.
        while current.len() > CHUNK_CHARS {
            let cut = crate::untrusted::truncate(&current, CHUNK_CHARS).len();
            let rest = current[cut..].to_owned();
            let tail = overlap(&current[..cut]);
            chunks.push(current[..cut].to_owned());
            current = tail + &rest;
        }
    }
    if !current.trim().is_empty() {
        chunks.push(current);
    }
    chunks
}

/// Sentences of a long paragraph, each ending with its punctuation.
fn sentences(p: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in p.char_indices() {
        if matches!(c, '.' | '!' | '?') && p[i + 1..].starts_with(char::is_whitespace) {
            out.push(p[start..=i].trim());
            start = i + 1;
        }
    }
    if start < p.len() && !p[start..].trim().is_empty() {
        out.push(p[start..].trim());
    }
    out
}

/// The end of a chunk carried into the next, starting at a word.
fn overlap(s: &str) -> String {
    if s.len() <= OVERLAP_CHARS {
        return String::new();
    }
    let from = ceil_boundary(s, s.len() - OVERLAP_CHARS);
    let from = s[from..].find(' ').map_or(from, |i| from + i + 1);
    s[from..].to_owned()
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_chunk() {
        assert_eq!(
            split("Bearing runbook.\n\nCheck grease."),
            vec!["Bearing runbook.\nCheck grease."]
        );
        assert!(split("  \n\n ").is_empty());
    }

    #[test]
    fn long_text_splits_with_overlap_and_loses_nothing() {
        let para: String = (0..60)
            .map(|i| format!("Sentence number {i} about pumps. "))
            .collect();
        let text = format!("{para}\n\n{para}");
        let chunks = split(&text);
        assert!(chunks.len() >= 3, "{}", chunks.len());
        assert!(chunks.iter().all(|c| c.len() <= CHUNK_CHARS));
        for i in 0..60 {
            let s = format!("Sentence number {i} about pumps.");
            assert!(chunks.iter().any(|c| c.contains(&s)), "{s} lost");
        }
        // Consecutive chunks share text.
        let tail = &chunks[0][chunks[0].len() - 40..];
        assert!(chunks[1].contains(tail.trim()), "no overlap");
        // Multi-byte text without sentence ends is cut on char boundaries.
        let long = "Überdruck ".repeat(300);
        assert!(split(&long).len() >= 3);
    }
}
