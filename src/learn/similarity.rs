//! A similarity model in the family of MSET (multivariate state estimation):
//! auto-associative kernel regression. The model keeps a memory of normal states
//! from the fit data; a new frame is estimated as the kernel-weighted mean of the
//! remembered states nearest to it, and the squared distance between the frame
//! and its estimate (standardised, summed over channels) is its score.
//!
//! Unlike PCA it does not assume the channels are linearly related: a pump whose
//! current grows with the cube of its speed and its pressure with the square is
//! one curved surface of states, which PCA can only approximate by a plane.
//! A frame off every remembered state, however ordinary each value, scores high.
//!
//! The limit and the kernel's width come from held-out data (contiguous blocks
//! of the fit left out of the memory in turn), so they reflect how well the
//! model estimates states it has not memorised, not how well it recalls.
//!
//! Pure arithmetic on frames; no time, no I/O.

use super::pca::{quantile_of, shares, smoothed, standardise, FitError};
use serde::{Deserialize, Serialize};

/// How a similarity model is fitted.
#[derive(Debug, Clone, Copy)]
pub struct SimilarityOptions {
    /// Most remembered states (estimation costs memory x channels per frame).
    pub memory: usize,
    /// Quantile of the held-out scores the limit sits at.
    pub quantile: f64,
    /// Frames each score is averaged over before it is judged.
    pub smooth: usize,
}

impl Default for SimilarityOptions {
    fn default() -> Self {
        SimilarityOptions {
            memory: 300,
            quantile: 0.995,
            smooth: 1,
        }
    }
}

/// The memory built without one block of the fit, and that block.
type Fold<'a> = (Vec<Vec<f64>>, &'a [Vec<f64>]);

/// Contiguous blocks the fit data is cut into to choose the width and the limit.
const FOLDS: usize = 5;
/// Widths tried, as multiples of the median distance between remembered states.
const WIDTHS: [f64; 5] = [0.5, 1.0, 2.0, 4.0, 8.0];
/// Frames of each fold scored at most while choosing (the rest adds little).
const MAX_SCORED_PER_FOLD: usize = 4000;
/// Smallest limit, in squared standard deviations (as PCA's Q floor).
const LIMIT_FLOOR: f64 = 1e-3;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Similarity {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    /// Remembered normal states, standardised, one row per state.
    pub memory: Vec<Vec<f64>>,
    /// Kernel width, in standardised units.
    pub width: f64,
    /// Limit on the (smoothed) score.
    pub limit: f64,
}

impl Similarity {
    /// Fits on `frames` (rows of one value per channel named in `channels`),
    /// standardised with `mean` and `scale` (checked and computed by the caller).
    pub fn fit(
        frames: &[Vec<f64>],
        mean: &[f64],
        scale: &[f64],
        o: SimilarityOptions,
    ) -> Result<Similarity, FitError> {
        let c = mean.len();
        let z: Vec<Vec<f64>> = frames.iter().map(|f| standardise(f, mean, scale)).collect();
        let n = z.len();
        let need = (2 * FOLDS * c).max(50);
        if n < need {
            return Err(FitError::TooFewFrames {
                got: n,
                need,
                channels: c,
            });
        }
        let memory_size = o.memory.clamp(2, n);
        let block = n.div_ceil(FOLDS);
        let folds: Vec<Fold> = (0..FOLDS)
            .map(|k| {
                let (lo, hi) = (k * block, ((k + 1) * block).min(n));
                let rest: Vec<&Vec<f64>> = z[..lo].iter().chain(&z[hi..]).collect();
                (select(&rest, memory_size), &z[lo..hi])
            })
            .collect();
        let memory = select(&z.iter().collect::<Vec<_>>(), memory_size);
        let scale_d = median_neighbour_distance(&memory);
        let mut best = (f64::INFINITY, 1.0);
        for w in WIDTHS {
            let width = (w * scale_d).max(1e-3);
            let mut sum = 0.0;
            let mut count = 0usize;
            for (memory, held) in &folds {
                for x in thin(held) {
                    sum += spe(memory, width, x);
                    count += 1;
                }
            }
            let mean_spe = sum / count.max(1) as f64;
            if mean_spe < best.0 {
                best = (mean_spe, width);
            }
        }
        let width = best.1;
        // Smoothed within each held-out block, never across the seam of two.
        let mut scores = Vec::new();
        for (fold_memory, held) in &folds {
            let s: Vec<f64> = held.iter().map(|x| spe(fold_memory, width, x)).collect();
            scores.extend(smoothed(&s, o.smooth));
        }
        let limit = quantile_of(&mut scores, o.quantile).max(LIMIT_FLOOR);
        Ok(Similarity {
            mean: mean.to_vec(),
            scale: scale.to_vec(),
            memory,
            width,
            limit,
        })
    }

    fn standardise(&self, x: &[f64]) -> Vec<f64> {
        standardise(x, &self.mean, &self.scale)
    }

    /// The frame's distance from the state the memory estimates for it.
    pub fn score(&self, x: &[f64]) -> f64 {
        spe(&self.memory, self.width, &self.standardise(x))
    }

    /// Each channel's share (summing to 1) of the score.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        let z = self.standardise(x);
        let e = estimate(&self.memory, self.width, &z);
        shares(z.iter().zip(&e).map(|(a, b)| (a - b).powi(2)).collect())
    }
}

/// Kernel-weighted mean of the remembered states. Weights are taken relative to
/// the nearest state, so a frame far from all of them is estimated by the
/// nearest few instead of by nothing.
fn estimate(memory: &[Vec<f64>], width: f64, z: &[f64]) -> Vec<f64> {
    let d2: Vec<f64> = memory.iter().map(|m| sq_dist(m, z)).collect();
    let nearest = d2.iter().copied().fold(f64::INFINITY, f64::min);
    let k = 0.5 / (width * width);
    let mut est = vec![0.0; z.len()];
    let mut total = 0.0;
    for (m, d) in memory.iter().zip(&d2) {
        let w = (-(d - nearest) * k).exp();
        if w < 1e-12 {
            continue;
        }
        total += w;
        for (e, v) in est.iter_mut().zip(m) {
            *e += w * v;
        }
    }
    for e in &mut est {
        *e /= total;
    }
    est
}

fn spe(memory: &[Vec<f64>], width: f64, z: &[f64]) -> f64 {
    let e = estimate(memory, width, z);
    sq_dist(&e, z)
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

/// Up to `size` states that cover the data: each channel's lowest and highest
/// frame (the edges of normal), then frames evenly spaced in time (the states
/// the asset spends its time in, in proportion).
fn select(frames: &[&Vec<f64>], size: usize) -> Vec<Vec<f64>> {
    let n = frames.len();
    if n <= size {
        return frames.iter().map(|f| f.to_vec()).collect();
    }
    let c = frames.first().map_or(0, |f| f.len());
    let mut chosen = vec![false; n];
    let mut picked = Vec::with_capacity(size);
    let (mut lo, mut hi) = (vec![0usize; c], vec![0usize; c]);
    for (i, f) in frames.iter().enumerate() {
        for (j, v) in f.iter().enumerate() {
            if *v < frames[lo[j]][j] {
                lo[j] = i;
            }
            if *v > frames[hi[j]][j] {
                hi[j] = i;
            }
        }
    }
    for i in lo.into_iter().zip(hi).flat_map(|(a, b)| [a, b]) {
        if !chosen[i] && picked.len() < size {
            chosen[i] = true;
            picked.push(i);
        }
    }
    let left = size.saturating_sub(picked.len());
    for k in 0..left {
        let i = (k * n + n / 2) / left.max(1);
        if let Some(i) = (i..n).chain(0..i).find(|&i| !chosen[i]) {
            chosen[i] = true;
            picked.push(i);
        }
    }
    picked.sort_unstable();
    picked.into_iter().map(|i| frames[i].to_vec()).collect()
}

/// Median distance from each remembered state to its nearest other state: the
/// scale the kernel width is chosen on.
fn median_neighbour_distance(memory: &[Vec<f64>]) -> f64 {
    let mut d: Vec<f64> = memory
        .iter()
        .enumerate()
        .map(|(i, a)| {
            memory
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != i)
                .map(|(_, b)| sq_dist(a, b))
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .filter(|v| v.is_finite())
        .collect();
    let m = quantile_of(&mut d, 0.5);
    if m > 0.0 {
        m
    } else {
        0.1
    }
}

/// At most [`MAX_SCORED_PER_FOLD`] frames of a block, evenly spaced.
fn thin(held: &[Vec<f64>]) -> impl Iterator<Item = &Vec<f64>> {
    let step = held.len().div_ceil(MAX_SCORED_PER_FOLD).max(1);
    held.iter().step_by(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// States on a curve: b = a^3 (a pump's current against its speed), c = a^2,
    /// with a little noise; a plane cannot hold them, a memory of states can.
    fn curved(n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n)
            .map(|_| {
                let a = 0.5 + 0.5 * rng.f64();
                let e = |r: &mut fastrand::Rng| (r.f64() - 0.5) * 0.01;
                vec![a, a.powi(3) + e(&mut rng), a * a + e(&mut rng)]
            })
            .collect()
    }

    fn standardisation(frames: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
        let n = frames.len() as f64;
        let c = frames[0].len();
        let mean: Vec<f64> = (0..c)
            .map(|j| frames.iter().map(|f| f[j]).sum::<f64>() / n)
            .collect();
        let scale = (0..c)
            .map(|j| {
                (frames.iter().map(|f| (f[j] - mean[j]).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
            })
            .collect();
        (mean, scale)
    }

    #[test]
    fn a_remembered_state_is_estimated_as_itself_and_the_estimate_is_a_weighted_mean() {
        let memory = vec![vec![0.0, 0.0], vec![1.0, 0.0]];
        // Equidistant from both states: the mean of the two.
        let e = estimate(&memory, 1.0, &[0.5, 0.0]);
        assert!((e[0] - 0.5).abs() < 1e-12 && e[1].abs() < 1e-12);
        // Closed form for weights exp(-d^2 / 2w^2), relative to the nearest.
        let x = [0.2, 0.0];
        let w1 = (-(0.8f64.powi(2) - 0.2f64.powi(2)) / 2.0).exp();
        let e = estimate(&memory, 1.0, &x);
        assert!((e[0] - w1 / (1.0 + w1)).abs() < 1e-12);
        // A narrow kernel recalls a remembered state exactly.
        assert!(spe(&memory, 0.01, &[1.0, 0.0]) < 1e-20);
    }

    #[test]
    fn ordinary_values_off_the_learned_curve_score_far_over_the_limit() {
        let frames = curved(3000, 1);
        let (mean, scale) = standardisation(&frames);
        let m = Similarity::fit(&frames, &mean, &scale, SimilarityOptions::default()).unwrap();
        // New normal states stay under the limit almost always.
        let fresh = curved(2000, 2);
        let over = fresh.iter().filter(|f| m.score(f) > m.limit).count();
        assert!(over < 40, "{over} of 2000 normal frames over the limit");
        // a = 0.8 with b and c of a = 0.6: each value is common, the state is not.
        let x = [0.8, 0.6f64.powi(3), 0.36];
        assert!(
            m.score(&x) > 20.0 * m.limit,
            "{} vs {}",
            m.score(&x),
            m.limit
        );
        let share = m.contributions(&x);
        assert!((share.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn memory_keeps_the_edges_and_its_size() {
        let frames = curved(1000, 3);
        let refs: Vec<&Vec<f64>> = frames.iter().collect();
        let memory = select(&refs, 50);
        assert_eq!(memory.len(), 50);
        for j in 0..3 {
            let max = frames.iter().map(|f| f[j]).fold(f64::MIN, f64::max);
            assert!(memory.iter().any(|m| m[j] == max), "channel {j} max kept");
        }
    }

    #[test]
    fn too_little_data_is_refused() {
        let frames = curved(20, 4);
        let (mean, scale) = standardisation(&frames);
        let e = Similarity::fit(&frames, &mean, &scale, SimilarityOptions::default()).unwrap_err();
        assert!(matches!(e, FitError::TooFewFrames { got: 20, .. }), "{e}");
    }
}
