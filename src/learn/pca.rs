//! Principal component analysis for multivariate process monitoring: Hotelling's
//! T-squared (how far a frame sits from normal *inside* the correlations the fit
//! data showed) and Q, the squared prediction error (how far it sits *outside*
//! them: channels that moved together no longer do). Both are judged against
//! control limits taken from the fit data, each channel's share of a score says
//! which sensors to look at.
//!
//! Pure arithmetic on frames (one value per channel); no time, no I/O.

use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Deserialize, Serialize};

/// How a PCA model is fitted.
#[derive(Debug, Clone, Copy)]
pub struct PcaOptions {
    /// Share of the (standardised) variance the kept components explain.
    pub variance: f64,
    /// Quantile of the fit data's statistics the control limits sit at.
    pub quantile: f64,
    /// Frames each statistic is averaged over before it is judged (noisy sensors).
    pub smooth: usize,
}

impl Default for PcaOptions {
    fn default() -> Self {
        PcaOptions {
            variance: 0.90,
            quantile: 0.995,
            smooth: 1,
        }
    }
}

/// Smallest Q limit, in squared standard deviations: a residual of ~3 % of a
/// channel's spread is never an anomaly on its own.
const Q_LIMIT_FLOOR: f64 = 1e-3;

/// A fitted model: standardisation, kept components, control limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pca {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    /// Kept principal axes, one row of `mean.len()` loadings each, largest first.
    pub components: Vec<Vec<f64>>,
    /// Variance of the standardised data along each kept axis.
    pub variances: Vec<f64>,
    /// Share of the standardised variance the kept axes explain.
    pub explained: f64,
    pub t2_limit: f64,
    /// Zero when nothing is left outside the kept axes (one channel).
    pub q_limit: f64,
}

/// Both statistics of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PcaStats {
    pub t2: f64,
    pub q: f64,
}

/// Why a model cannot be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("{got} frames is too little data to learn {channels} channels from: need at least {need} (a longer period, or fewer channels)")]
    TooFewFrames {
        got: usize,
        need: usize,
        channels: usize,
    },
    #[error("channel `{channel}` held one value ({value}) through the whole period: a constant channel teaches nothing; leave it out of the model or learn from a period where it moves")]
    Constant { channel: String, value: f64 },
    #[error("frame {frame} has {got} values for {channels} channels")]
    Width {
        frame: usize,
        got: usize,
        channels: usize,
    },
    #[error("channel `{channel}` has a value that is not a finite number")]
    NotFinite { channel: String },
}

/// Frames needed to fit `channels` channels.
pub fn frames_needed(channels: usize) -> usize {
    (5 * channels).max(30)
}

impl Pca {
    /// Fits on `frames` (rows of one value per channel named in `channels`).
    pub fn fit(frames: &[Vec<f64>], channels: &[String], o: PcaOptions) -> Result<Pca, FitError> {
        let c = channels.len();
        let n = frames.len();
        if n < frames_needed(c) {
            return Err(FitError::TooFewFrames {
                got: n,
                need: frames_needed(c),
                channels: c,
            });
        }
        for (i, f) in frames.iter().enumerate() {
            if f.len() != c {
                return Err(FitError::Width {
                    frame: i,
                    got: f.len(),
                    channels: c,
                });
            }
            if let Some(j) = f.iter().position(|v| !v.is_finite()) {
                return Err(FitError::NotFinite {
                    channel: channels[j].clone(),
                });
            }
        }
        let mut mean = vec![0.0; c];
        for f in frames {
            for (m, v) in mean.iter_mut().zip(f) {
                *m += v / n as f64;
            }
        }
        let mut scale = vec![0.0; c];
        for f in frames {
            for ((s, v), m) in scale.iter_mut().zip(f).zip(&mean) {
                *s += (v - m).powi(2) / (n - 1) as f64;
            }
        }
        for (j, s) in scale.iter_mut().enumerate() {
            let sd = s.sqrt();
            if sd <= 1e-12 * mean[j].abs().max(1.0) {
                return Err(FitError::Constant {
                    channel: channels[j].clone(),
                    value: frames[0][j],
                });
            }
            *s = sd;
        }
        let z = DMatrix::from_fn(n, c, |i, j| (frames[i][j] - mean[j]) / scale[j]);
        let cov = (z.transpose() * &z) / (n - 1) as f64;
        let eigen = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..c).collect();
        order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
        let total: f64 = eigen.eigenvalues.iter().map(|v| v.max(0.0)).sum();
        // Keep axes until `variance` is explained, at least one, and leave at least
        // one out so Q watches the correlations (except for a single channel).
        let most = if c == 1 { 1 } else { c - 1 };
        let mut kept = 0;
        let mut explained = 0.0;
        while kept < most && (kept == 0 || explained < o.variance) {
            let v = eigen.eigenvalues[order[kept]].max(0.0);
            if v <= 1e-12 * total {
                break;
            }
            explained += v / total;
            kept += 1;
        }
        let components: Vec<Vec<f64>> = order[..kept]
            .iter()
            .map(|&k| eigen.eigenvectors.column(k).iter().copied().collect())
            .collect();
        let variances = order[..kept]
            .iter()
            .map(|&k| eigen.eigenvalues[k])
            .collect();
        let mut model = Pca {
            mean,
            scale,
            components,
            variances,
            explained,
            t2_limit: 0.0,
            q_limit: 0.0,
        };
        let stats: Vec<PcaStats> = frames.iter().map(|f| model.stats(f)).collect();
        let (t2, q) = smoothed_limits(&stats, o.smooth, o.quantile);
        model.t2_limit = t2;
        // Channels that were exactly related in the fit (one computed from another,
        // or quantised alike) leave a residual of ~1e-30; without a floor the first
        // rounding step would score a billion times the limit.
        model.q_limit = if c > 1 { q.max(Q_LIMIT_FLOOR) } else { q };
        Ok(model)
    }

    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    /// How far past its limit the further statistic is: above 1 is anomalous.
    pub fn ratio(&self, s: PcaStats) -> f64 {
        let t2 = s.t2 / self.t2_limit.max(f64::MIN_POSITIVE);
        let q = if self.q_limit > 0.0 {
            s.q / self.q_limit
        } else {
            0.0
        };
        t2.max(q)
    }

    fn standardise(&self, x: &[f64]) -> Vec<f64> {
        standardise(x, &self.mean, &self.scale)
    }

    /// Scores on the kept axes of a standardised frame.
    fn project(&self, z: &[f64]) -> Vec<f64> {
        self.components
            .iter()
            .map(|p| p.iter().zip(z).map(|(a, b)| a * b).sum())
            .collect()
    }

    /// T-squared and Q of one frame.
    pub fn stats(&self, x: &[f64]) -> PcaStats {
        let z = self.standardise(x);
        let t = self.project(&z);
        let t2 = t.iter().zip(&self.variances).map(|(t, l)| t * t / l).sum();
        let q = self.residual(&z, &t).iter().map(|r| r * r).sum();
        PcaStats { t2, q }
    }

    fn residual(&self, z: &[f64], t: &[f64]) -> Vec<f64> {
        let mut r = z.to_vec();
        for (p, tk) in self.components.iter().zip(t) {
            for (rj, pj) in r.iter_mut().zip(p) {
                *rj -= tk * pj;
            }
        }
        r
    }

    /// Each channel's share (summing to 1) of the statistic further past its
    /// limit: squared residuals for Q, the usual T-squared decomposition
    /// (negative parts count as zero) for T-squared.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        let z = self.standardise(x);
        let t = self.project(&z);
        let s = self.stats(x);
        let q_ratio = if self.q_limit > 0.0 {
            s.q / self.q_limit
        } else {
            0.0
        };
        let parts: Vec<f64> = if q_ratio > s.t2 / self.t2_limit.max(f64::MIN_POSITIVE) {
            self.residual(&z, &t).iter().map(|r| r * r).collect()
        } else {
            (0..z.len())
                .map(|j| {
                    let w: f64 = self
                        .components
                        .iter()
                        .zip(&t)
                        .zip(&self.variances)
                        .map(|((p, tk), l)| p[j] * tk / l)
                        .sum();
                    (z[j] * w).max(0.0)
                })
                .collect()
        };
        shares(parts)
    }
}

/// A frame in standard deviations from the fit's mean.
pub(super) fn standardise(x: &[f64], mean: &[f64], scale: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(mean)
        .zip(scale)
        .map(|((v, m), s)| (v - m) / s)
        .collect()
}

/// Non-negative parts as shares summing to 1 (all 0 when nothing contributes).
pub(super) fn shares(parts: Vec<f64>) -> Vec<f64> {
    let total: f64 = parts.iter().sum();
    if total > 0.0 {
        parts.iter().map(|p| p / total).collect()
    } else {
        vec![0.0; parts.len()]
    }
}

/// Each value averaged with the `smooth - 1` before it, as scoring averages them
/// (one average of all when there are fewer).
pub(super) fn smoothed(v: &[f64], smooth: usize) -> Vec<f64> {
    v.windows(smooth.max(1).min(v.len()).max(1))
        .map(|w| w.iter().sum::<f64>() / w.len() as f64)
        .collect()
}

/// Control limits at `quantile` of the fit data's statistics, each averaged over
/// `smooth` consecutive frames as scoring averages them.
pub fn smoothed_limits(stats: &[PcaStats], smooth: usize, quantile: f64) -> (f64, f64) {
    let t2: Vec<f64> = stats.iter().map(|s| s.t2).collect();
    let q: Vec<f64> = stats.iter().map(|s| s.q).collect();
    (
        quantile_of(&mut smoothed(&t2, smooth), quantile),
        quantile_of(&mut smoothed(&q, smooth), quantile),
    )
}

/// The `quantile` of `v` (nearest rank); 0 when empty.
pub(super) fn quantile_of(v: &mut [f64], quantile: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((quantile * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: usize) -> Vec<String> {
        (0..c).map(|i| format!("c{i}")).collect()
    }

    /// Two channels that move together (b = a) plus independent noise in a third.
    fn correlated(n: usize) -> Vec<Vec<f64>> {
        let mut rng = fastrand::Rng::with_seed(7);
        (0..n)
            .map(|_| {
                let a = rng.f64() * 2.0 - 1.0;
                let e = (rng.f64() - 0.5) * 0.02;
                vec![10.0 + a, 20.0 + a + e, 5.0 + rng.f64() - 0.5]
            })
            .collect()
    }

    #[test]
    fn standardisation_and_kept_variance_follow_their_closed_forms() {
        // a and b are (almost) one channel, c is independent: on the correlation
        // matrix [[1,1,0],[1,1,0],[0,0,1]] the eigenvalues are 2, 1, 0.
        let frames = correlated(2000);
        let m = Pca::fit(&frames, &names(3), PcaOptions::default()).unwrap();
        assert!((m.mean[0] - 10.0).abs() < 0.05 && (m.mean[2] - 5.0).abs() < 0.05);
        // Uniform on [-1, 1]: sd 1/sqrt(3); on [-0.5, 0.5]: 1/sqrt(12).
        assert!((m.scale[0] - 3f64.sqrt().recip()).abs() < 0.02);
        assert!((m.scale[2] - 12f64.sqrt().recip()).abs() < 0.01);
        assert_eq!(m.components.len(), 2, "{m:?}");
        assert!((m.variances[0] - 2.0).abs() < 0.05 && (m.variances[1] - 1.0).abs() < 0.1);
        // The first axis is (1, 1, 0)/sqrt(2), up to sign.
        let p = &m.components[0];
        assert!((p[0].abs() - 0.5f64.sqrt()).abs() < 0.01 && p[2].abs() < 0.05);
        assert!(m.explained > 0.99);
    }

    #[test]
    fn t2_and_q_match_the_definitions_on_a_crafted_frame() {
        let frames = correlated(2000);
        let m = Pca::fit(&frames, &names(3), PcaOptions::default()).unwrap();
        let x = [10.0 + 0.3, 20.0 - 0.3, 5.2];
        let z: Vec<f64> = (0..3).map(|j| (x[j] - m.mean[j]) / m.scale[j]).collect();
        let t: Vec<f64> = m
            .components
            .iter()
            .map(|p| p.iter().zip(&z).map(|(a, b)| a * b).sum())
            .collect();
        let t2: f64 = t.iter().zip(&m.variances).map(|(t, l)| t * t / l).sum();
        let zz: f64 = z.iter().map(|v| v * v).sum();
        let tt: f64 = t.iter().map(|v| v * v).sum();
        let s = m.stats(&x);
        assert!((s.t2 - t2).abs() < 1e-9);
        // Orthonormal axes: |z|^2 = |t|^2 + Q.
        assert!((s.q - (zz - tt)).abs() < 1e-9);
    }

    #[test]
    fn a_broken_correlation_raises_q_and_names_the_channels() {
        let frames = correlated(2000);
        let m = Pca::fit(&frames, &names(3), PcaOptions::default()).unwrap();
        // Each value is ordinary on its own; together they break a = b.
        let x = [10.5, 19.5, 5.0];
        let s = m.stats(&x);
        assert!(s.q > 50.0 * m.q_limit, "{s:?} {m:?}");
        let share = m.contributions(&x);
        assert!(
            share[0] > 0.45 && share[1] > 0.45 && share[2] < 0.05,
            "{share:?}"
        );
        // A frame from the fit population is within both limits.
        let s = m.stats(&[10.2, 20.2, 5.1]);
        assert!(s.t2 < m.t2_limit && s.q < m.q_limit, "{s:?}");
    }

    #[test]
    fn limits_sit_at_the_quantile_of_the_fit_data() {
        let frames = correlated(1000);
        let o = PcaOptions::default();
        let m = Pca::fit(&frames, &names(3), o).unwrap();
        let over = frames.iter().filter(|f| m.stats(f).t2 > m.t2_limit).count();
        // Nearest rank at 0.995 of 1000: five frames above.
        assert_eq!(over, 5);
    }

    #[test]
    fn too_little_data_and_a_constant_channel_are_refused_by_name() {
        let frames = correlated(10);
        let e = Pca::fit(&frames, &names(3), PcaOptions::default()).unwrap_err();
        assert_eq!(
            e,
            FitError::TooFewFrames {
                got: 10,
                need: 30,
                channels: 3
            }
        );
        let mut frames = correlated(100);
        for f in &mut frames {
            f[1] = 4.0;
        }
        let e = Pca::fit(&frames, &names(3), PcaOptions::default()).unwrap_err();
        assert!(
            e.to_string().contains("channel `c1` held one value (4)"),
            "{e}"
        );
    }

    #[test]
    fn one_channel_is_a_z_score_squared() {
        let frames: Vec<Vec<f64>> = (0..100).map(|i| vec![f64::from(i % 10)]).collect();
        let m = Pca::fit(&frames, &names(1), PcaOptions::default()).unwrap();
        let s = m.stats(&[4.5 + 3.0 * m.scale[0]]);
        assert!((s.t2 - 9.0).abs() < 1e-9 && s.q.abs() < 1e-12, "{s:?}");
        assert_eq!(m.q_limit, 0.0);
    }

    #[test]
    fn exactly_related_channels_get_the_floor_limit_not_zero() {
        let frames: Vec<Vec<f64>> = (0..100)
            .map(|i| vec![f64::from(i % 7), 2.0 * f64::from(i % 7) + 1.0])
            .collect();
        let m = Pca::fit(&frames, &names(2), PcaOptions::default()).unwrap();
        assert_eq!(m.q_limit, Q_LIMIT_FLOOR);
        // One rounding step off the relation is not a billion times the limit.
        let off = m.stats(&[3.0, 7.0 + 0.001 * m.scale[1]]);
        assert!(m.ratio(off) < 1.0, "{off:?}");
    }
}
