//! Maps a validated key path (`rules[1].clear`) back to its line in the TOML text,
//! so a validation error points where the user has to edit.

use super::ConfigIssue;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub(super) fn attach_lines(text: &str, issues: &mut [ConfigIssue]) {
    let Ok(root) = DeTable::parse(text) else {
        return;
    };
    for issue in issues.iter_mut() {
        issue.line = find_span(root.get_ref(), &issue.key).map(|offset| line_of(text, offset));
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Walks `a.b[2].c`; returns the byte offset of the deepest part that exists, so a
/// missing key still points at its table.
fn find_span(root: &DeTable<'_>, key: &str) -> Option<usize> {
    let mut table = root;
    let mut best = None;
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        // A key that is not written points at the table it belongs in.
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            return best;
        };
        best = Some(k.span().start);
        let mut value: &Spanned<DeValue<'_>> = v;
        if let Some(i) = index {
            let DeValue::Array(items) = value.get_ref() else {
                return best;
            };
            let Some(item) = items.get(i) else {
                return best;
            };
            best = Some(item.span().start);
            value = item;
        }
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return best,
        }
    }
    best
}
