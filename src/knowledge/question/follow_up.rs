//! Follow-ups in a conversation: "and on line 1?", "what about motor 2", "and
//! yesterday?" ask nothing of their own and take the rest from the question before.

use super::words::contains_phrase;
use super::{AssetRef, Intent, Query};

/// Short, opened like a follow-up, and asking nothing a whole question would.
pub(super) fn is_follow_up(words: &[&str], q: &Query) -> bool {
    let opener = matches!(words.first(), Some(&"and") | Some(&"also") | Some(&"same"))
        || contains_phrase(words, "what about")
        || contains_phrase(words, "how about");
    opener
        && words.len() <= 8
        && matches!(q.intent, Intent::Summary | Intent::List | Intent::Status)
        || (words.len() <= 4 && matches!(q.intent, Intent::Summary) && q.quantities.is_empty())
}

/// `q` with what it leaves out taken from `prev`.
pub(super) fn follow_up(mut q: Query, prev: &Query) -> Query {
    q.intent = prev.intent;
    if !q.range.explicit {
        q.range = prev.range.clone();
    }
    q.severity = q.severity.or(prev.severity);
    q.state = q.state.or(prev.state);
    q.about_alerts |= prev.about_alerts;
    if q.quantities.is_empty() {
        q.quantities = prev.quantities.clone();
    }
    if q.words.is_empty() {
        q.words = prev.words.clone();
    }
    // A new "line 1" replaces the old line; the old motor stays unless renamed.
    let mut assets: Vec<AssetRef> = prev
        .assets
        .iter()
        .filter(|a| !q.assets.iter().any(|n| n.noun == a.noun))
        .cloned()
        .collect();
    assets.extend(q.assets.iter().cloned());
    q.assets = assets;
    q.group_by = q.group_by.or_else(|| prev.group_by.clone());
    q
}
