//! How an asset's learned model scores a frame, whichever method fitted it: two
//! statistics per frame (PCA: T-squared and Q; similarity: its score and an
//! unused zero), their limits, and each channel's share of the one furthest out.
//! The detector averages the statistics and judges them here.

use super::model::AssetModel;

/// A statistic, judged against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// PCA: outside the operating range the fit saw (T-squared).
    Range,
    /// PCA: channels no longer related as in the fit (Q).
    Relation,
    /// Similarity: no remembered normal state is near.
    Unfamiliar,
}

impl AssetModel {
    /// The frame's two statistics (see the module header).
    pub fn raw_stats(&self, x: &[f64]) -> [f64; 2] {
        match &self.similarity {
            Some(s) => [s.score(x), 0.0],
            None => {
                let s = self.pca.stats(x);
                [s.t2, s.q]
            }
        }
    }

    fn limits(&self) -> [f64; 2] {
        match &self.similarity {
            Some(s) => [s.limit, 0.0],
            None => [self.pca.t2_limit, self.pca.q_limit],
        }
    }

    /// How far past its limit the further statistic is (above 1: anomalous),
    /// and which one it is.
    pub fn judge(&self, stats: [f64; 2]) -> (f64, Statistic) {
        let [l0, l1] = self.limits();
        let r0 = stats[0] / l0.max(f64::MIN_POSITIVE);
        let r1 = if l1 > 0.0 { stats[1] / l1 } else { 0.0 };
        match (&self.similarity, r1 > r0) {
            (Some(_), _) => (r0, Statistic::Unfamiliar),
            (None, true) => (r1, Statistic::Relation),
            (None, false) => (r0, Statistic::Range),
        }
    }

    /// Each feature's share (summing to 1) of the statistic further out.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        match &self.similarity {
            Some(s) => s.contributions(x),
            None => self.pca.contributions(x),
        }
    }

    /// The standardisation's centre: where level tracking measures shifts from.
    pub fn centre(&self) -> &[f64] {
        &self.pca.mean
    }
}
