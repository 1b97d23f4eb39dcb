//! Fused in-place CPU kernels for the BERT encoder. candle's generic ops take one
//! pass over memory per operation (bias add, residual add, layer norm, GELU with a
//! scalar `erf`); on two cores these passes cost more than the matrix products.
//! Each kernel here does its work in one pass over the matmul output it owns, with
//! SIMD chosen at run time (`multiversion`).

use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp3, InplaceOp1, InplaceOp3, Layout, Result, Shape,
};
use multiversion::multiversion;

/// Contiguous f32 slice of a storage, or an error naming the op.
fn slice<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => bail!("{op}: needs a contiguous f32 tensor"),
    }
}

fn slice_mut<'a>(s: &'a mut CpuStorage, l: &Layout, op: &str) -> Result<&'a mut [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&mut v[a..b]),
        _ => bail!("{op}: needs a contiguous f32 tensor"),
    }
}

/// `dst (m × n) = lhs (m × k) · rhs (k × n)`, or `dst +=` with `accumulate`, on
/// the calling thread. Each matrix is its first element and its (row, column)
/// strides, so transposed or interleaved views need no copy.
///
/// # Safety
/// Every element the dimensions and strides reach must lie inside its buffer,
/// and no other thread may touch the part of `dst` written.
unsafe fn product(
    (m, n, k): (usize, usize, usize),
    dst: (*mut f32, usize, usize),
    accumulate: bool,
    lhs: (*const f32, usize, usize),
    rhs: (*const f32, usize, usize),
) {
    gemm::gemm(
        m,
        n,
        k,
        dst.0,
        dst.2 as isize,
        dst.1 as isize,
        accumulate,
        lhs.0,
        lhs.2 as isize,
        lhs.1 as isize,
        rhs.0,
        rhs.2 as isize,
        rhs.1 as isize,
        if accumulate { 1.0 } else { 0.0 },
        1.0,
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}

/// `x · w + bias` for a contiguous x (m × k), w (k × n) and bias (n): the output
/// starts as the bias rows and gemm accumulates into it, so the bias costs no
/// extra pass. `threads` > 1 splits the product between threads (for a lone
/// text); batches run their parts side by side with one thread each instead.
pub struct Linear {
    pub threads: usize,
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = slice(s1, l1, self.name())?;
        let w = slice(s2, l2, self.name())?;
        let bias = slice(s3, l3, self.name())?;
        let (m, k) = l1.shape().dims2()?;
        let (wk, n) = l2.shape().dims2()?;
        if wk != k || bias.len() != n {
            bail!(
                "linear: ({m} x {k}) · ({wk} x {n}) + bias of {}",
                bias.len()
            );
        }
        let mut out: Vec<f32> = Vec::with_capacity(m * n);
        for _ in 0..m {
            out.extend_from_slice(bias);
        }
        // Computed as outᵀ = wᵀ · xᵀ, by strides, no copies: gemm's kernels work on
        // 64-row tiles, and the layer widths (n) fill them where the token count
        // (m) often leaves most of the last tile empty (37 tokens: 42 % waste).
        // With several threads each takes a band of output columns (multiples of
        // 64); on two cores that beat gemm's own split by 10-25 % at these sizes.
        let product = |cols: std::ops::Range<usize>, dst: &SharedOut| {
            // SAFETY: x is m × k, w is k × n and out m × n, contiguous row-major
            // (checked above); cols lies inside 0..n and no other band overlaps it.
            unsafe {
                product(
                    (cols.len(), m, k),
                    (dst.0.add(cols.start), 1, n),
                    true,
                    (w.as_ptr().add(cols.start), 1, n),
                    (x.as_ptr(), 1, k),
                );
            }
        };
        let dst = SharedOut(out.as_mut_ptr());
        let band = n.div_ceil(self.threads.max(1)).next_multiple_of(64);
        if band >= n {
            product(0..n, &dst);
        } else {
            rayon::scope(|sc| {
                for start in (0..n).step_by(band) {
                    let (product, dst) = (&product, &dst);
                    sc.spawn(move |_| product(start..n.min(start + band), dst));
                }
            });
        }
        Ok((CpuStorage::F32(out), Shape::from((m, n))))
    }
}

/// Multi-head self-attention of packed texts, read straight out of the fused
/// query-key-value matrix (t × 3h, queries pre-scaled) and written straight into
/// the context matrix (t × h): gemm takes the per-head slices by stride, so no
/// head is ever copied out, transposed or concatenated. Each text attends to its
/// own tokens only (`lens`, in order), which is why no padding mask is needed.
/// With `threads` > 1 the heads are shared out between threads.
pub struct Attention<'a> {
    pub lens: &'a [usize],
    pub heads: usize,
    pub threads: usize,
}

impl CustomOp1 for Attention<'_> {
    fn name(&self) -> &'static str {
        "attention"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = slice(s, l, self.name())?;
        let (t, h3) = l.shape().dims2()?;
        let h = h3 / 3;
        if h3 != 3 * h || h % self.heads != 0 || self.lens.iter().sum::<usize>() != t {
            bail!(
                "attention: {t} x {h3} does not hold {} heads of {:?} tokens",
                self.heads,
                self.lens
            );
        }
        let shape = HeadShape {
            width: h,
            head: h / self.heads,
        };
        let mut out = vec![0f32; t * h];
        let dst = SharedOut(out.as_mut_ptr());
        let longest = self.lens.iter().copied().max().unwrap_or(0);
        let run = |heads: std::ops::Range<usize>| {
            let mut scores = vec![0f32; longest * longest];
            let mut start = 0;
            for &n in self.lens {
                for head in heads.clone() {
                    // SAFETY: lens sum to t (checked), so every text's rows are inside
                    // qkv and out; each (text, head) block of out is written once.
                    unsafe { shape.attend(qkv, start, n, head, &dst, &mut scores) };
                }
                start += n;
            }
        };
        let groups = self.threads.clamp(1, self.heads);
        if groups == 1 {
            run(0..self.heads);
        } else {
            let per = self.heads.div_ceil(groups);
            rayon::scope(|sc| {
                for g in 0..groups {
                    let run = &run;
                    sc.spawn(move |_| run(g * per..self.heads.min((g + 1) * per)));
                }
            });
        }
        Ok((CpuStorage::F32(out), Shape::from((t, h))))
    }
}

/// An output buffer written by several threads at once, in disjoint blocks.
struct SharedOut(*mut f32);
// SAFETY: threads write disjoint (text, head) blocks only; see Attention::cpu_fwd.
unsafe impl Sync for SharedOut {}

struct HeadShape {
    /// model width h (qkv rows are 3h wide)
    width: usize,
    /// head size d
    head: usize,
}

impl HeadShape {
    /// Attention of one head over one text of `n` tokens starting at row `start`.
    ///
    /// # Safety
    /// Rows `start..start + n` must exist in qkv (3h wide) and in `out` (h wide),
    /// and no other thread may write this head's columns of those rows.
    unsafe fn attend(
        &self,
        qkv: &[f32],
        start: usize,
        n: usize,
        head: usize,
        out: &SharedOut,
        scores: &mut [f32],
    ) {
        let (h, d) = (self.width, self.head);
        let h3 = 3 * h;
        let row = start * h3 + head * d;
        let (q, k, v) = (&qkv[row..], &qkv[row + h..], &qkv[row + 2 * h..]);
        let p = &mut scores[..n * n];
        // p = q · kᵀ  (n × d · d × n): k's rows are read as columns.
        product(
            (n, n, d),
            (p.as_mut_ptr(), n, 1),
            false,
            (q.as_ptr(), h3, 1),
            (k.as_ptr(), 1, h3),
        );
        softmax_rows(p, n);
        // this head's columns of the context rows = p · v  (n × n · n × d)
        product(
            (n, d, n),
            (out.0.add(start * h + head * d), h, 1),
            false,
            (p.as_ptr(), n, 1),
            (v.as_ptr(), h3, 1),
        );
    }
}

#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
fn softmax_rows(p: &mut [f32], width: usize) {
    for row in p.chunks_exact_mut(width) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = exp_nonpositive(*v - max);
            sum += *v;
        }
        let inv = 1.0 / sum;
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

/// `x = gelu(x)`, the exact (erf) GELU that BERT was trained with.
pub struct Gelu;

impl InplaceOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> Result<()> {
        gelu(slice_mut(s, l, self.name())?);
        Ok(())
    }
}

#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
fn gelu(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// `x = layer_norm(x + residual)`; the third tensor holds two rows, the norm's
/// weight and bias.
pub struct AddResidualNorm {
    pub eps: f32,
}

impl InplaceOp3 for AddResidualNorm {
    fn name(&self) -> &'static str {
        "add-residual-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<()> {
        let residual = slice(s2, l2, self.name())?;
        let params = slice(s3, l3, self.name())?;
        let x = slice_mut(s1, l1, self.name())?;
        let width = params.len() / 2;
        if width == 0
            || params.len() != 2 * width
            || x.len() != residual.len()
            || x.len() % width != 0
        {
            bail!(
                "add-residual-norm: {} values, {} residual values and {} parameters do not match",
                x.len(),
                residual.len(),
                params.len()
            );
        }
        add_residual_norm(x, residual, params, self.eps);
        Ok(())
    }
}

#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
fn add_residual_norm(x: &mut [f32], residual: &[f32], params: &[f32], eps: f32) {
    let (gamma, beta) = params.split_at(params.len() / 2);
    let width = gamma.len();
    for (row, res) in x.chunks_exact_mut(width).zip(residual.chunks_exact(width)) {
        let mut sum = 0.0f32;
        for (v, r) in row.iter_mut().zip(res) {
            *v += r;
            sum += *v;
        }
        let mean = sum / width as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / width as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// e^x for x <= 0 (softmax after subtracting the row maximum), written so loops
/// over it vectorise: x = n·ln2 + r with |r| <= ln2/2, e^r by its Taylor series to
/// degree 6 (relative error below 1e-6), 2^n put straight into the exponent bits.
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E).round();
    // ln 2 in two parts (Cody-Waite) so n·ln2 stays exact for large n.
    let r = (x - n * 0.693_359_4) + n * 2.121_944_4e-4;
    let mut p = 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Error function for f32 as a rational function of x² on [-4, 4] (erf is ±1 to
/// f32 precision beyond): only multiplies, adds and one division, so loops over it
/// vectorise, unlike libm's branchy `erff`. Coefficients: the minimax fit used by
/// Eigen and XLA for float erf; absolute error below 1e-6 (unit-tested against libm).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_6e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329e-3;
    q = q * x2 - 1.426_474e-2;
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| rng.f32() - 0.5).collect()
    }

    #[test]
    fn linear_matches_the_textbook_product() {
        let (m, k, n) = (3, 5, 130); // two threads: bands of 128 and 2 columns
        let (x, w, b) = (values(m * k, 1), values(k * n, 2), values(n, 3));
        let t = |v: &[f32], shape: &[usize]| Tensor::from_slice(v, shape, &Device::Cpu).unwrap();
        for threads in [1, 2] {
            let got = t(&x, &[m, k])
                .apply_op3_no_bwd(&t(&w, &[k, n]), &t(&b, &[n]), &Linear { threads })
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            for (r, row) in got.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    let want = b[c] + (0..k).map(|i| x[r * k + i] * w[i * n + c]).sum::<f32>();
                    assert!((v - want).abs() < 1e-5, "({r},{c}): {v} vs {want}");
                }
            }
        }
    }

    #[test]
    fn attention_keeps_each_text_to_its_own_tokens() {
        let (heads, d, lens) = (2, 3, [2usize, 3]);
        let (h, t) = (heads * d, 5);
        let qkv = values(t * 3 * h, 4);
        for threads in [1, 2] {
            let got = Tensor::from_slice(&qkv, (t, 3 * h), &Device::Cpu)
                .unwrap()
                .apply_op1_no_bwd(&Attention {
                    lens: &lens,
                    heads,
                    threads,
                })
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            let at = |row: usize, part: usize, head: usize, i: usize| {
                qkv[row * 3 * h + part * h + head * d + i]
            };
            let mut start = 0;
            for n in lens {
                for head in 0..heads {
                    for (r, got_row) in got.iter().enumerate().skip(start).take(n) {
                        let scores: Vec<f32> = (start..start + n)
                            .map(|c| (0..d).map(|i| at(r, 0, head, i) * at(c, 1, head, i)).sum())
                            .collect();
                        let max = scores.iter().copied().fold(f32::MIN, f32::max);
                        let e: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                        let sum: f32 = e.iter().sum();
                        for i in 0..d {
                            let want: f32 = (start..start + n)
                                .map(|c| e[c - start] / sum * at(c, 2, head, i))
                                .sum();
                            let v = got_row[head * d + i];
                            assert!(
                                (v - want).abs() < 1e-5,
                                "row {r} head {head}: {v} vs {want}"
                            );
                        }
                    }
                }
                start += n;
            }
        }
    }

    #[test]
    fn erf_matches_libm_everywhere_it_matters() {
        let mut worst = 0f32;
        for i in -8000..=8000 {
            let x = i as f32 / 1000.0;
            worst = worst.max((erf(x) - libm::erff(x)).abs());
        }
        assert!(worst < 1e-6, "largest error {worst}");
    }

    #[test]
    fn exp_matches_std_on_the_softmax_range() {
        let mut worst = 0f32;
        for i in 0..=87_000 {
            let x = -(i as f32) / 1000.0;
            let (got, want) = (exp_nonpositive(x), x.exp());
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 1e-6, "largest relative error {worst}");
    }

    #[test]
    fn residual_norm_gives_zero_mean_unit_variance_then_scales() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        let residual = vec![1.0; 4];
        // gamma 2, beta 1
        let params = [vec![2.0; 4], vec![1.0; 4]].concat();
        add_residual_norm(&mut x, &residual, &params, 0.0);
        let mean: f32 = x.iter().sum::<f32>() / 4.0;
        assert!((mean - 1.0).abs() < 1e-6, "{x:?}");
        let var: f32 = x.iter().map(|v| (v - 1.0).powi(2)).sum::<f32>() / 4.0;
        assert!((var - 4.0).abs() < 1e-5, "{x:?}");
    }

    #[test]
    fn gelu_of_known_points() {
        let mut x = vec![-1.0, 0.0, 1.0, 3.0];
        gelu(&mut x);
        let want = [-0.158_655_26, 0.0, 0.841_344_7, 2.995_950_3];
        for (got, want) in x.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{x:?}");
        }
    }
}
