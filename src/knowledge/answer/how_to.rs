//! Answers that quote what a stored document says to do.

use super::builder::Builder;
use crate::knowledge::facts::{Fact, Gathered};

/// The best-matching passage of a stored document, quoted, and the next one.
pub(super) fn how_to(b: &mut Builder, g: &Gathered) {
    let Some(p) = g.passages.first() else {
        b.say(
            "No stored document covers this; add the runbook with `edgewatch docs add FILE`."
                .into(),
        );
        return;
    };
    let cite = b.cite(Fact {
        id: format!("doc:{}", p.chunk),
        text: format!(
            "from the document \"{}\": \"{}\"",
            crate::knowledge::facts::clean(&p.title),
            crate::knowledge::facts::clean(&p.text)
        ),
    });
    b.say(format!(
        "The document \"{}\" says: \"{}\" {cite}.",
        crate::knowledge::facts::clean(&p.title),
        crate::knowledge::facts::clean(&p.text)
    ));
    if let Some(p2) = g.passages.get(1) {
        let cite = b.cite(Fact {
            id: format!("doc:{}", p2.chunk),
            text: format!(
                "from the document \"{}\": \"{}\"",
                crate::knowledge::facts::clean(&p2.title),
                crate::knowledge::facts::clean(&p2.text)
            ),
        });
        b.say(format!(
            "See also \"{}\": \"{}\" {cite}.",
            crate::knowledge::facts::clean(&p2.title),
            crate::knowledge::facts::clean(&p2.text)
        ));
    }
}
