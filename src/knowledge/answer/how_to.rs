//! Answers that quote what a stored document says to do.

use super::builder::Builder;
use crate::knowledge::facts::{clean, Fact, Gathered};
use crate::knowledge::passage::Passage;

/// The best-matching passage of a stored document, quoted, and the next one.
pub(super) fn how_to(b: &mut Builder, g: &Gathered) {
    let Some(p) = g.passages.first() else {
        b.say(
            "No stored document covers this; add the runbook with `edgewatch docs add FILE`."
                .into(),
        );
        return;
    };
    let (title, text, cite) = quote(b, p);
    b.say(format!("The document \"{title}\" says: \"{text}\" {cite}."));
    if let Some(p2) = g.passages.get(1) {
        let (title, text, cite) = quote(b, p2);
        b.say(format!("See also \"{title}\": \"{text}\" {cite}."));
    }
}

/// A passage's title and text as quoted, and the citation of its fact.
fn quote(b: &mut Builder, p: &Passage) -> (String, String, String) {
    let (title, text) = (clean(&p.title), clean(&p.text));
    let cite = b.cite(Fact {
        id: format!("doc:{}", p.chunk),
        text: format!("from the document \"{title}\": \"{text}\""),
    });
    (title, text, cite)
}
