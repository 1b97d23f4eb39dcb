//! Int8 matrices for the language model. Weights are quantised per block of 32
//! values with one f32 scale (Q8_0's blocks, scales kept as f32 so no conversion
//! runs in the inner loop); activations are quantised the same way, one row per
//! token, so a dot product is integer multiply-adds scaled once per block.
//!
//! Layout, chosen for AVX-512 VNNI's `vpdpbusd` (unsigned × signed bytes, four
//! products summed into each of 16 i32 lanes):
//! - weights are stored unsigned, w + 128, and the 128 · Σx this adds is taken off
//!   by starting each block's sum at -128 · Σx (computed once per activation row);
//! - two blocks are interleaved by groups of four bytes, so the 16 lanes alternate
//!   between the blocks and their scales are one broadcast pair.
//!
//! The dot product is picked at run time: AVX-512 VNNI, AVX2, or plain Rust.

use rayon::prelude::*;
use std::sync::OnceLock;

/// Values per quantisation block.
pub const BLOCK: usize = 32;
/// Bytes of a pair of interleaved blocks.
const PAIR: usize = 2 * BLOCK;

/// A row-major int8 matrix: `rows` outputs of `cols` inputs.
pub struct Q8Matrix {
    pub rows: usize,
    pub cols: usize,
    /// w + 128, pairs of blocks interleaved.
    quants: Vec<u8>,
    scales: Vec<f32>,
}

/// Activations quantised for [`Q8Matrix`] products: rows of `cols` values.
#[derive(Default)]
pub struct Q8Rows {
    cols: usize,
    /// Pairs of blocks interleaved like the weights.
    quants: Vec<i8>,
    scales: Vec<f32>,
    /// Per pair of blocks, 16 lanes: -128 · Σx of the first block in lane 0, of
    /// the second in lane 1, zero elsewhere: the start of `vpdpbusd`'s sums.
    offsets: Vec<i32>,
}

/// Where byte `i` of a pair of blocks (0..64, natural order) goes when the two
/// blocks are interleaved by groups of four bytes.
fn interleaved(i: usize) -> usize {
    let (block, k) = (i / BLOCK, i % BLOCK);
    (k / 4) * 8 + block * 4 + k % 4
}

/// Quantises one row of `x` (a multiple of [`BLOCK`] long) into `q` (natural
/// order) and `s`: scale amax / 127, so values stay within [-127, 127].
fn quantize_into(x: &[f32], q: &mut [i8], s: &mut [f32]) {
    for ((xb, qb), sb) in x
        .chunks_exact(BLOCK)
        .zip(q.chunks_exact_mut(BLOCK))
        .zip(s.iter_mut())
    {
        let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        for (qv, xv) in qb.iter_mut().zip(xb) {
            // Round half away from zero without a libm call.
            let r = xv * inv;
            *qv = (r + 0.5f32.copysign(r)) as i8;
        }
        *sb = d;
    }
}

/// Interleaves every whole pair of blocks of a row in place.
fn interleave_row<T: Copy + Default>(row: &mut [T]) {
    let mut tmp = [T::default(); PAIR];
    for pair in row.chunks_exact_mut(PAIR) {
        for (i, v) in pair.iter().enumerate() {
            tmp[interleaved(i)] = *v;
        }
        pair.copy_from_slice(&tmp);
    }
}

impl Q8Matrix {
    /// `data` is `rows × cols` row-major; `cols` must be a multiple of [`BLOCK`].
    pub fn quantize(data: &[f32], rows: usize, cols: usize) -> Q8Matrix {
        assert!(cols.is_multiple_of(BLOCK) && data.len() == rows * cols);
        let mut quants = vec![0u8; rows * cols];
        let mut scales = vec![0f32; rows * cols / BLOCK];
        quants
            .par_chunks_mut(cols)
            .zip(scales.par_chunks_mut(cols / BLOCK))
            .zip(data.par_chunks(cols))
            .for_each(|((q, s), x)| {
                let mut signed = vec![0i8; cols];
                quantize_into(x, &mut signed, s);
                interleave_row(&mut signed);
                for (u, v) in q.iter_mut().zip(&signed) {
                    *u = (*v as i16 + 128) as u8;
                }
            });
        Q8Matrix {
            rows,
            cols,
            quants,
            scales,
        }
    }

    /// Row `r` back in f32 (the token embedding lookup).
    pub fn row_f32(&self, r: usize, out: &mut [f32]) {
        let q = &self.quants[r * self.cols..(r + 1) * self.cols];
        let s = &self.scales[r * self.cols / BLOCK..(r + 1) * self.cols / BLOCK];
        let whole = self.cols / PAIR * PAIR;
        for (i, o) in out.iter_mut().enumerate() {
            let at = if i < whole {
                i / PAIR * PAIR + interleaved(i % PAIR)
            } else {
                i
            };
            *o = (q[at] as i16 - 128) as f32 * s[i / BLOCK];
        }
    }

    /// `out[t][r] = Σ self[r][k] · x[t][k]` for every row `t` of `x`: bands of
    /// rows are shared out across rayon's threads, four rows at a time read once
    /// for all of `x`'s rows (one token while decoding, the whole prompt at first).
    pub fn product(&self, x: &Q8Rows, out: &mut [f32]) {
        assert_eq!(x.cols, self.cols);
        let n = x.len();
        assert_eq!(out.len(), n * self.rows);
        let kernel = kernel();
        let bpr = self.cols / BLOCK;
        let threads = rayon::current_num_threads().max(1);
        // Bands of whole quads of rows, a few per thread so uneven cores even out.
        let band = (self.rows.div_ceil(threads * 4).max(16)).div_ceil(4) * 4;
        let out_ptr = SharedOut(out.as_mut_ptr());
        (0..self.rows.div_ceil(band)).into_par_iter().for_each(|b| {
            let out_ptr = &out_ptr;
            let end = ((b + 1) * band).min(self.rows);
            for r0 in (b * band..end).step_by(4) {
                // A short last quad repeats its last row; the copies are dropped.
                let rows: [usize; 4] = std::array::from_fn(|i| (r0 + i).min(end - 1));
                let w = rows.map(|r| &self.quants[r * self.cols..(r + 1) * self.cols]);
                let ws = rows.map(|r| &self.scales[r * bpr..(r + 1) * bpr]);
                for t in 0..n {
                    let xr = x.row(t);
                    // SAFETY: `kernel()` only returns a kernel whose CPU features were
                    // detected when it was chosen.
                    let sums = unsafe { kernel(&w, &ws, &xr) };
                    for (i, v) in sums.iter().enumerate().take(end - r0) {
                        // SAFETY: each (t, r) is written by exactly one band.
                        unsafe { *out_ptr.0.add(t * self.rows + r0 + i) = *v };
                    }
                }
            }
        });
    }
}

/// The output buffer shared by the bands of [`Q8Matrix::product`], which write
/// disjoint elements.
struct SharedOut(*mut f32);
unsafe impl Sync for SharedOut {}

/// One quantised activation row.
pub struct XRow<'a> {
    quants: &'a [i8],
    scales: &'a [f32],
    offsets: &'a [i32],
}

impl Q8Rows {
    /// Quantises `x`, rows of `cols` values, reusing this buffer's memory.
    pub fn quantize(&mut self, x: &[f32], cols: usize) {
        assert!(cols.is_multiple_of(BLOCK) && x.len().is_multiple_of(cols));
        let (rows, pairs) = (x.len() / cols, cols / PAIR);
        self.cols = cols;
        self.quants.resize(x.len(), 0);
        self.scales.resize(x.len() / BLOCK, 0.0);
        self.offsets.clear();
        self.offsets.resize(rows * pairs * 16, 0);
        for (((q, s), o), xr) in self
            .quants
            .chunks_exact_mut(cols)
            .zip(self.scales.chunks_exact_mut(cols / BLOCK))
            .zip(self.offsets.chunks_exact_mut((pairs * 16).max(1)))
            .zip(x.chunks_exact(cols))
        {
            quantize_into(xr, q, s);
            for (p, lanes) in o.chunks_exact_mut(16).enumerate().take(pairs) {
                for (half, lane) in lanes.iter_mut().take(2).enumerate() {
                    let b = 2 * p + half;
                    let sum: i32 = q[b * BLOCK..(b + 1) * BLOCK]
                        .iter()
                        .map(|v| *v as i32)
                        .sum();
                    *lane = -128 * sum;
                }
            }
            interleave_row(q);
        }
    }

    fn row(&self, t: usize) -> XRow<'_> {
        let (cols, pairs) = (self.cols, self.cols / PAIR);
        XRow {
            quants: &self.quants[t * cols..(t + 1) * cols],
            scales: &self.scales[t * cols / BLOCK..(t + 1) * cols / BLOCK],
            offsets: &self.offsets[t * pairs * 16..(t + 1) * pairs * 16],
        }
    }

    pub fn len(&self) -> usize {
        self.quants.len().checked_div(self.cols).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Dot products of four weight rows with one activation row.
///
/// # Safety
/// The CPU must have the kernel's features: guaranteed for what [`kernel`]
/// returns. The SIMD kernels check the lengths themselves.
type Kernel = unsafe fn(&[&[u8]; 4], &[&[f32]; 4], &XRow) -> [f32; 4];

/// The fastest kernel this CPU runs, chosen once by feature detection.
fn kernel() -> Kernel {
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    *KERNEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512f") {
                return x86::dot4_vnni;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return x86::dot4_avx2;
            }
        }
        dot4_portable
    })
}

/// The kernels' contract in plain Rust: whole pairs interleaved, a last odd block
/// in natural order.
pub fn dot4_portable(w: &[&[u8]; 4], ws: &[&[f32]; 4], x: &XRow) -> [f32; 4] {
    std::array::from_fn(|r| dot_from(w[r], ws[r], x, 0))
}

/// One row's dot product from block `first` on (a multiple of two), portably.
fn dot_from(w: &[u8], ws: &[f32], x: &XRow, first: usize) -> f32 {
    let blocks = ws.len();
    let mut sum = 0f32;
    let mut b = first;
    while b + 2 <= blocks {
        let mut s = [0i32; 2];
        for i in b * BLOCK..(b + 2) * BLOCK {
            s[(i / 4) % 2] += (w[i] as i32 - 128) * x.quants[i] as i32;
        }
        sum += s[0] as f32 * ws[b] * x.scales[b] + s[1] as f32 * ws[b + 1] * x.scales[b + 1];
        b += 2;
    }
    if b < blocks {
        let s: i32 = (b * BLOCK..(b + 1) * BLOCK)
            .map(|i| (w[i] as i32 - 128) * x.quants[i] as i32)
            .sum();
        sum += s as f32 * ws[b] * x.scales[b];
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{dot_from, XRow, BLOCK, PAIR};
    use std::arch::x86_64::*;

    /// Two scales side by side, broadcast: [a, b, a, b, ...].
    ///
    /// # Safety
    /// `p` must point at two readable f32s, and the CPU must have AVX-512F.
    #[inline(always)]
    unsafe fn pair512(p: *const f32) -> __m512 {
        _mm512_castpd_ps(_mm512_set1_pd(f64::from_bits(
            (p as *const u64).read_unaligned(),
        )))
    }

    /// What [`super::Kernel`]'s safety contract asks of the lengths, asserted
    /// once per call (four rows) so no caller can read out of bounds.
    fn check_lengths(w: &[&[u8]; 4], ws: &[&[f32]; 4], x: &XRow) {
        assert!(
            w.iter().all(|r| r.len() >= x.quants.len())
                && ws.iter().all(|s| s.len() >= x.scales.len())
                && x.scales.len() * BLOCK >= x.quants.len()
                && x.offsets.len() >= x.quants.len() / PAIR * 16,
            "int8 kernel called with rows shorter than the activation"
        );
    }

    /// # Safety
    /// The CPU must have AVX-512F and AVX-512 VNNI (lengths are checked here).
    pub unsafe fn dot4_vnni(w: &[&[u8]; 4], ws: &[&[f32]; 4], x: &XRow) -> [f32; 4] {
        check_lengths(w, ws, x);
        // SAFETY: features per this function's contract, lengths checked above.
        unsafe { dot4_vnni_impl(w, ws, x) }
    }

    /// Per pair of blocks and row: one `vpdpbusd` started at the activation's
    /// offsets, to f32, times the pair of weight scales times the pair of
    /// activation scales, accumulated; four rows side by side share the loads of x.
    ///
    /// # Safety
    /// As [`dot4_vnni`].
    #[target_feature(enable = "avx512f,avx512vnni")]
    unsafe fn dot4_vnni_impl(w: &[&[u8]; 4], ws: &[&[f32]; 4], x: &XRow) -> [f32; 4] {
        let pairs = x.quants.len() / PAIR;
        let mut acc = [_mm512_setzero_ps(); 4];
        for p in 0..pairs {
            let xv = _mm512_loadu_si512(x.quants.as_ptr().add(p * PAIR) as *const _);
            let start = _mm512_loadu_si512(x.offsets.as_ptr().add(p * 16) as *const _);
            let xs = pair512(x.scales.as_ptr().add(2 * p));
            for r in 0..4 {
                let wv = _mm512_loadu_si512(w[r].as_ptr().add(p * PAIR) as *const _);
                let sums = _mm512_dpbusd_epi32(start, wv, xv);
                let d = _mm512_mul_ps(pair512(ws[r].as_ptr().add(2 * p)), xs);
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), d, acc[r]);
            }
        }
        let mut out = [0f32; 4];
        for r in 0..4 {
            out[r] = _mm512_reduce_add_ps(acc[r]);
            if x.scales.len() % 2 == 1 {
                out[r] += dot_from(w[r], ws[r], x, 2 * pairs);
            }
        }
        out
    }

    /// # Safety
    /// The CPU must have AVX2 and FMA (lengths are checked here).
    pub unsafe fn dot4_avx2(w: &[&[u8]; 4], ws: &[&[f32]; 4], x: &XRow) -> [f32; 4] {
        check_lengths(w, ws, x);
        // SAFETY: features per this function's contract, lengths checked above.
        unsafe { dot4_avx2_impl(w, ws, x) }
    }

    /// Half a pair per step: w back to signed, `vpmaddubsw` on |w| and x with w's
    /// sign (at most 2 · 127 · 127, no saturation), `vpmaddwd` by ones to i32;
    /// lanes alternate between the pair's blocks as in the VNNI kernel.
    ///
    /// # Safety
    /// As [`dot4_avx2`].
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot4_avx2_impl(w: &[&[u8]; 4], ws: &[&[f32]; 4], x: &XRow) -> [f32; 4] {
        let pairs = x.quants.len() / PAIR;
        let ones = _mm256_set1_epi16(1);
        let flip = _mm256_set1_epi8(-128);
        let mut out = [0f32; 4];
        for r in 0..4 {
            let mut acc = _mm256_setzero_ps();
            for p in 0..pairs {
                let d = _mm256_mul_ps(
                    _mm256_castpd_ps(_mm256_set1_pd(f64::from_bits(
                        (ws[r].as_ptr().add(2 * p) as *const u64).read_unaligned(),
                    ))),
                    _mm256_castpd_ps(_mm256_set1_pd(f64::from_bits(
                        (x.scales.as_ptr().add(2 * p) as *const u64).read_unaligned(),
                    ))),
                );
                for half in 0..2 {
                    let at = p * PAIR + half * BLOCK;
                    let wv = _mm256_xor_si256(
                        _mm256_loadu_si256(w[r].as_ptr().add(at) as *const _),
                        flip,
                    );
                    let xv = _mm256_loadu_si256(x.quants.as_ptr().add(at) as *const _);
                    let pairs16 =
                        _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv));
                    let sums = _mm256_madd_epi16(pairs16, ones);
                    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), d, acc);
                }
            }
            let hi = _mm256_extractf128_ps(acc, 1);
            let s = _mm_add_ps(_mm256_castps256_ps128(acc), hi);
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
            out[r] = _mm_cvtss_f32(s);
            if x.scales.len() % 2 == 1 {
                out[r] += dot_from(w[r], ws[r], x, 2 * pairs);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn quantised_products_match_f32_within_quantisation_error() {
        // 7 blocks: an odd count exercises the tail of the two-block kernel.
        let (rows, cols, tokens) = (37, 7 * BLOCK, 3);
        let w = data(rows * cols, 1);
        let x = data(tokens * cols, 2);
        let m = Q8Matrix::quantize(&w, rows, cols);
        let mut q = Q8Rows::default();
        q.quantize(&x, cols);
        let mut out = vec![0f32; tokens * rows];
        m.product(&q, &mut out);
        for t in 0..tokens {
            for r in 0..rows {
                let terms = (0..cols).map(|k| w[r * cols + k] * x[t * cols + k]);
                let exact: f32 = terms.clone().sum();
                let magnitude: f32 = terms.map(f32::abs).sum();
                let got = out[t * rows + r];
                // Two 8-bit roundings per term: errors of ~1/127 per term that
                // mostly cancel, far below the sum of the terms' sizes.
                assert!(
                    (got - exact).abs() < 0.005 * magnitude,
                    "t{t} r{r}: {got} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn every_kernel_this_cpu_has_agrees_with_plain_rust() {
        // 18 blocks (whole pairs) and 7 (an odd block at the end).
        for blocks in [18, 7] {
            let cols = blocks * BLOCK;
            let m = Q8Matrix::quantize(&data(4 * cols, 3), 4, cols);
            let mut q = Q8Rows::default();
            q.quantize(&data(cols, 4), cols);
            let w: [&[u8]; 4] = std::array::from_fn(|r| &m.quants[r * cols..(r + 1) * cols]);
            let ws: [&[f32]; 4] = std::array::from_fn(|r| &m.scales[r * blocks..(r + 1) * blocks]);
            let want = dot4_portable(&w, &ws, &q.row(0));
            let close = |got: [f32; 4]| {
                got.iter()
                    .zip(&want)
                    .all(|(g, e)| (g - e).abs() < 1e-4 * e.abs().max(1.0))
            };
            #[cfg(target_arch = "x86_64")]
            {
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    // SAFETY: features detected just above; rows are whole and equal.
                    let got = unsafe { x86::dot4_avx2(&w, &ws, &q.row(0)) };
                    assert!(close(got), "{got:?} {want:?}");
                } else {
                    eprintln!("skipped: this CPU has no AVX2+FMA, the AVX2 kernel is not tested");
                }
                if is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512f") {
                    // SAFETY: features detected just above; rows are whole and equal.
                    let got = unsafe { x86::dot4_vnni(&w, &ws, &q.row(0)) };
                    assert!(close(got), "{got:?} {want:?}");
                } else {
                    eprintln!(
                        "skipped: this CPU has no AVX-512 VNNI, the VNNI kernel is not tested"
                    );
                }
            }
        }
        // Extreme values: -127 times 127 everywhere (offsets and signs must not overflow).
        let cols = 18 * BLOCK;
        let m = Q8Matrix::quantize(&vec![-1.0; 4 * cols], 4, cols);
        let mut q = Q8Rows::default();
        q.quantize(&vec![1.0; cols], cols);
        let mut out = [0f32; 4];
        m.product(&q, &mut out);
        assert!(
            out.iter().all(|v| (v + cols as f32).abs() < 1e-2),
            "{out:?}"
        );
    }

    #[test]
    fn row_lookup_dequantises() {
        let w = data(4 * BLOCK * 2, 5);
        let m = Q8Matrix::quantize(&w, 4, 2 * BLOCK);
        let mut row = vec![0f32; 2 * BLOCK];
        m.row_f32(2, &mut row);
        for (a, b) in row.iter().zip(&w[2 * 2 * BLOCK..3 * 2 * BLOCK]) {
            assert!((a - b).abs() < 1.0 / 127.0, "{a} {b}");
        }
    }
}
