//! Learning a model from the gateway's own history: the journal's readings of a
//! period, less every span in which an alert on the asset or one of its sensors
//! was open (so an anomaly that is still firing is never learned as normal).
//! Runs blocking; the API calls it off the runtime and installs the result.

use crate::event::{format_ts, Quality};
use crate::learn::{LearnError, LearnSpec, LearnedModel, Learner, Span};
use crate::store::{Reader, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LearnFromJournalError {
    #[error("the period to learn from is empty ({from} is not before {until}): give --from before --until, or --last 7d")]
    Period { from: String, until: String },
    #[error(transparent)]
    Learn(#[from] LearnError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Fits `spec` on the good readings of `[from_ms, until_ms]` in the journal.
pub fn learn_from_journal(
    reader: &Reader,
    spec: LearnSpec,
    from_ms: i64,
    until_ms: i64,
) -> Result<LearnedModel, LearnFromJournalError> {
    if from_ms >= until_ms {
        return Err(LearnFromJournalError::Period {
            from: format_ts(from_ms),
            until: format_ts(until_ms),
        });
    }
    let mut learner = Learner::new(spec)?;
    reader.replay(from_ms, until_ms, |r| {
        if r.quality == Quality::Good {
            learner.observe(&r.sensor, r.ts_ms, r.value);
        }
    })?;
    let spans: Vec<Span> = reader
        .alert_spans(from_ms, until_ms)?
        .into_iter()
        .map(|a| Span {
            sensor: a.sensor,
            from_ms: a.fired_ms,
            until_ms: a.resolved_ms,
        })
        .collect();
    Ok(learner.finish(from_ms, until_ms, &spans)?)
}
