//! A llama-architecture transformer for decoding on the CPU, written for one
//! token at a time: int8 weights ([`Q8Matrix`], query/key/value and gate/up fused
//! so each layer makes four products), preallocated buffers and a key/value cache,
//! no tensor library in the loop. candle reads the GGUF file and dequantises its
//! tensors once at load; candle's own quantized llama spent a third of each token
//! in per-operation overhead and f16 scale conversions (benches/README.md).
//!
//! The maths follows llama.cpp's llama graph: RMS norm, rotary embeddings on
//! interleaved pairs (GGUF stores Q and K permuted for that), grouped-query
//! attention, SiLU-gated MLP, logits of the last position only.

use super::q8::{Q8Matrix, Q8Rows, BLOCK};
use candle_core::quantized::gguf_file;
use candle_core::Device;
use rayon::prelude::*;
use std::io::{Read, Seek};

#[derive(Debug, Clone)]
pub struct Config {
    pub dim: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub ffn: usize,
    pub eps: f32,
    pub rope_base: f32,
    pub context: usize,
}

impl Config {
    /// Shapes the forward pass relies on; a file breaking one is refused at load
    /// with the reason instead of panicking (or reading out of bounds) later.
    fn check(&self) -> Result<(), String> {
        let Config {
            dim,
            layers,
            heads,
            kv_heads,
            ffn,
            ..
        } = *self;
        if dim == 0 || layers == 0 || heads == 0 || kv_heads == 0 || ffn == 0 {
            return Err(format!(
                "embedding_length {dim}, block_count {layers}, head_count {heads}, head_count_kv {kv_heads} and feed_forward_length {ffn} must all be above zero"
            ));
        }
        if !dim.is_multiple_of(heads) || !(dim / heads).is_multiple_of(2) {
            return Err(format!(
                "embedding_length {dim} is not an even head width times head_count {heads}"
            ));
        }
        if !heads.is_multiple_of(kv_heads) {
            return Err(format!(
                "head_count {heads} is not a multiple of head_count_kv {kv_heads}"
            ));
        }
        if !dim.is_multiple_of(BLOCK) || !ffn.is_multiple_of(BLOCK) {
            return Err(format!(
                "embedding_length {dim} and feed_forward_length {ffn} must be multiples of {BLOCK} (the int8 block)"
            ));
        }
        if !self.eps.is_finite() || self.eps < 0.0 {
            return Err(format!(
                "layer_norm_rms_epsilon {} is not a small positive number",
                self.eps
            ));
        }
        Ok(())
    }

    fn head_dim(&self) -> usize {
        self.dim / self.heads
    }
    fn kv_dim(&self) -> usize {
        self.kv_heads * self.head_dim()
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    /// Query, key and value rows stacked: dim + 2 · kv_dim outputs.
    qkv: Q8Matrix,
    out: Q8Matrix,
    ffn_norm: Vec<f32>,
    /// Gate and up rows stacked: 2 · ffn outputs.
    gate_up: Q8Matrix,
    down: Q8Matrix,
    /// Keys then values of every position so far, kv_dim each.
    keys: Vec<f32>,
    values: Vec<f32>,
}

pub struct Llama {
    pub config: Config,
    embedding: Q8Matrix,
    layers: Vec<Layer>,
    out_norm: Vec<f32>,
    /// The output projection; None when tied to the embedding.
    lm_head: Option<Q8Matrix>,
    /// Inverse frequencies of the rotary embedding, head_dim / 2 of them.
    inv_freq: Vec<f32>,
    /// Positions already in the key/value cache.
    cached: usize,
}

impl Llama {
    /// Reads a llama-architecture GGUF: every weight matrix dequantised and
    /// quantised again to int8 (any GGUF quant type in, one fast kernel out).
    pub fn from_gguf<R: Read + Seek>(
        content: &gguf_file::Content,
        file: &mut R,
    ) -> candle_core::Result<Llama> {
        let meta = |key: &str| {
            content
                .metadata
                .get(&format!("llama.{key}"))
                .ok_or_else(|| candle_core::Error::Msg(format!("no llama.{key} in the GGUF")))
        };
        let usize_of =
            |key: &str| -> candle_core::Result<usize> { Ok(meta(key)?.to_u32()? as usize) };
        let dim = usize_of("embedding_length")?;
        let heads = usize_of("attention.head_count")?;
        let config = Config {
            dim,
            layers: usize_of("block_count")?,
            heads,
            kv_heads: usize_of("attention.head_count_kv").unwrap_or(heads),
            ffn: usize_of("feed_forward_length")?,
            eps: meta("attention.layer_norm_rms_epsilon")?.to_f32()?,
            rope_base: meta("rope.freq_base")
                .and_then(|v| v.to_f32())
                .unwrap_or(10_000.0),
            context: usize_of("context_length").unwrap_or(2048),
        };
        config.check().map_err(candle_core::Error::Msg)?;
        let tensor = |file: &mut R, name: &str| -> candle_core::Result<(Vec<f32>, Vec<usize>)> {
            let t = content.tensor(file, name, &Device::Cpu)?;
            let dims = t.shape().dims().to_vec();
            let data = t
                .dequantize(&Device::Cpu)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            Ok((data, dims))
        };
        let matrix = |file: &mut R,
                      names: &[&str],
                      want_rows: Option<usize>,
                      want_cols: usize|
         -> candle_core::Result<Q8Matrix> {
            let mut data = Vec::new();
            let mut rows = 0;
            for name in names {
                let (d, dims) = tensor(file, name)?;
                let [r, c] = dims[..] else {
                    return Err(candle_core::Error::Msg(format!("{name}: not a matrix")));
                };
                if c != want_cols || d.len() != r * c {
                    return Err(candle_core::Error::Msg(format!(
                        "{name}: {r} x {c}, but the model's metadata needs {want_cols} columns"
                    )));
                }
                rows += r;
                data.extend_from_slice(&d);
            }
            if want_rows.is_some_and(|w| w != rows) {
                return Err(candle_core::Error::Msg(format!(
                    "{}: {rows} rows, but the model's metadata needs {}",
                    names.join(" + "),
                    want_rows.unwrap_or_default()
                )));
            }
            Ok(Q8Matrix::quantize(&data, rows, want_cols))
        };
        let vector = |file: &mut R, name: &str| -> candle_core::Result<Vec<f32>> {
            let (d, _) = tensor(file, name)?;
            if d.len() != config.dim {
                return Err(candle_core::Error::Msg(format!(
                    "{name}: {} values, but embedding_length is {}",
                    d.len(),
                    config.dim
                )));
            }
            Ok(d)
        };
        let (dim, ffn, kv_dim) = (config.dim, config.ffn, config.kv_dim());
        let embedding = matrix(file, &["token_embd.weight"], None, dim)?;
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let n = |s: &str| format!("blk.{i}.{s}.weight");
            layers.push(Layer {
                attn_norm: vector(file, &n("attn_norm"))?,
                qkv: matrix(
                    file,
                    &[&n("attn_q"), &n("attn_k"), &n("attn_v")],
                    Some(dim + 2 * kv_dim),
                    dim,
                )?,
                out: matrix(file, &[&n("attn_output")], Some(dim), dim)?,
                ffn_norm: vector(file, &n("ffn_norm"))?,
                gate_up: matrix(file, &[&n("ffn_gate"), &n("ffn_up")], Some(2 * ffn), dim)?,
                down: matrix(file, &[&n("ffn_down")], Some(dim), ffn)?,
                keys: Vec::new(),
                values: Vec::new(),
            });
        }
        let lm_head = if content.tensor_infos.contains_key("output.weight") {
            Some(matrix(file, &["output.weight"], Some(embedding.rows), dim)?)
        } else {
            None
        };
        let hd = config.head_dim();
        let inv_freq = (0..hd / 2)
            .map(|i| 1.0 / config.rope_base.powf(2.0 * i as f32 / hd as f32))
            .collect();
        Ok(Llama {
            out_norm: vector(file, "output_norm.weight")?,
            config,
            embedding,
            layers,
            lm_head,
            inv_freq,
            cached: 0,
        })
    }

    /// Forgets every cached position (a new conversation).
    pub fn clear(&mut self) {
        self.cached = 0;
        for l in &mut self.layers {
            l.keys.clear();
            l.values.clear();
        }
    }

    /// Runs `tokens` after the cached positions and returns the logits of the last.
    /// Runs on a rayon worker, so the ~150 parallel products of a token start and
    /// end without waking a thread each time (a token is ~15 ms; a wake-up ~10 µs).
    pub fn forward(&mut self, tokens: &[u32]) -> Vec<f32> {
        rayon::scope(|_| self.forward_here(tokens))
    }

    fn forward_here(&mut self, tokens: &[u32]) -> Vec<f32> {
        let c = self.config.clone();
        let (n, dim, kv_dim, hd) = (tokens.len(), c.dim, c.kv_dim(), c.head_dim());
        let start = self.cached;
        let mut x = vec![0f32; n * dim];
        for (row, &t) in x.chunks_exact_mut(dim).zip(tokens) {
            self.embedding.row_f32(t as usize, row);
        }
        // cos and sin per position and frequency, shared by every head and layer.
        let half = hd / 2;
        let mut rope = vec![(0f32, 0f32); n * half];
        for (p, r) in rope.chunks_exact_mut(half).enumerate() {
            for (slot, f) in r.iter_mut().zip(&self.inv_freq) {
                let (s, co) = (((start + p) as f32) * f).sin_cos();
                *slot = (co, s);
            }
        }
        let mut q8 = Q8Rows::default();
        let mut normed = vec![0f32; n * dim];
        let qkv_width = dim + 2 * kv_dim;
        let mut qkv = vec![0f32; n * qkv_width];
        let mut attended = vec![0f32; n * dim];
        let mut projected = vec![0f32; n * dim];
        let mut gate_up = vec![0f32; n * 2 * c.ffn];
        let mut hidden = vec![0f32; n * c.ffn];
        for layer in &mut self.layers {
            rms_norm(&x, &layer.attn_norm, c.eps, &mut normed);
            q8.quantize(&normed, dim);
            layer.qkv.product(&q8, &mut qkv);
            for (p, row) in qkv.chunks_exact_mut(qkv_width).enumerate() {
                let r = &rope[p * half..(p + 1) * half];
                for head in row[..dim + kv_dim].chunks_exact_mut(hd) {
                    rotate(head, r);
                }
                layer.keys.extend_from_slice(&row[dim..dim + kv_dim]);
                layer.values.extend_from_slice(&row[dim + kv_dim..]);
            }
            attention(&c, &qkv, &layer.keys, &layer.values, start, &mut attended);
            q8.quantize(&attended, dim);
            layer.out.product(&q8, &mut projected);
            add(&mut x, &projected);

            rms_norm(&x, &layer.ffn_norm, c.eps, &mut normed);
            q8.quantize(&normed, dim);
            layer.gate_up.product(&q8, &mut gate_up);
            for (h, gu) in hidden
                .chunks_exact_mut(c.ffn)
                .zip(gate_up.chunks_exact(2 * c.ffn))
            {
                let (g, u) = gu.split_at(c.ffn);
                for ((hv, gv), uv) in h.iter_mut().zip(g).zip(u) {
                    *hv = gv / (1.0 + (-gv).exp()) * uv;
                }
            }
            q8.quantize(&hidden, c.ffn);
            layer.down.product(&q8, &mut projected);
            add(&mut x, &projected);
        }
        self.cached += n;
        let last = &x[(n - 1) * dim..];
        let mut normed_last = vec![0f32; dim];
        rms_norm(last, &self.out_norm, c.eps, &mut normed_last);
        q8.quantize(&normed_last, dim);
        let head = self.lm_head.as_ref().unwrap_or(&self.embedding);
        let mut logits = vec![0f32; head.rows];
        head.product(&q8, &mut logits);
        logits
    }
}

/// x / rms(x) · weight, row by row.
fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let dim = weight.len();
    for (xr, or) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let mean_sq = xr.iter().map(|v| v * v).sum::<f32>() / dim as f32;
        let inv = 1.0 / (mean_sq + eps).sqrt();
        for ((o, v), w) in or.iter_mut().zip(xr).zip(weight) {
            *o = v * inv * w;
        }
    }
}

/// Rotary embedding of one head on interleaved pairs (x[2i], x[2i+1]).
fn rotate(head: &mut [f32], cos_sin: &[(f32, f32)]) {
    for (pair, (c, s)) in head.chunks_exact_mut(2).zip(cos_sin) {
        let (a, b) = (pair[0], pair[1]);
        pair[0] = a * c - b * s;
        pair[1] = a * s + b * c;
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Sum of products with eight partial sums, so the loop vectorises.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Causal grouped-query attention of the new positions (queries in `qkv`) over
/// every cached position; (position, head) pairs are shared across threads.
fn attention(c: &Config, qkv: &[f32], keys: &[f32], values: &[f32], start: usize, out: &mut [f32]) {
    let (dim, kv_dim, hd) = (c.dim, c.kv_dim(), c.head_dim());
    let group = c.heads / c.kv_heads;
    let qkv_width = dim + 2 * kv_dim;
    let scale = 1.0 / (hd as f32).sqrt();
    let one = |(i, o): (usize, &mut [f32])| {
        let (p, h) = (i / c.heads, i % c.heads);
        let q = &qkv[p * qkv_width + h * hd..p * qkv_width + (h + 1) * hd];
        let kv = (h / group) * hd;
        let seen = start + p + 1;
        let mut scores: Vec<f32> = (0..seen)
            .map(|t| dot(q, &keys[t * kv_dim + kv..t * kv_dim + kv + hd]) * scale)
            .collect();
        let max = scores.iter().fold(f32::NEG_INFINITY, |m, s| m.max(*s));
        let mut total = 0.0;
        for s in &mut scores {
            *s = (*s - max).exp();
            total += *s;
        }
        o.fill(0.0);
        for (t, s) in scores.iter().enumerate() {
            let w = s / total;
            let v = &values[t * kv_dim + kv..t * kv_dim + kv + hd];
            for (ov, vv) in o.iter_mut().zip(v) {
                *ov += w * vv;
            }
        }
    };
    // One new position (decoding) is too little work to share out.
    if out.len() == dim {
        out.chunks_mut(hd).enumerate().for_each(one);
    } else {
        out.par_chunks_mut(hd).enumerate().for_each(one);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            dim: 64,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            ffn: 128,
            eps: 1e-5,
            rope_base: 10_000.0,
            context: 2048,
        }
    }

    #[test]
    fn shapes_the_forward_pass_cannot_run_are_load_errors() {
        assert_eq!(config().check(), Ok(()));
        let bad = [
            (
                Config {
                    heads: 0,
                    ..config()
                },
                "above zero",
            ),
            (
                Config {
                    kv_heads: 3,
                    ..config()
                },
                "multiple of head_count_kv",
            ),
            (
                Config {
                    dim: 96,
                    heads: 32,
                    kv_heads: 32,
                    ..config()
                },
                "even head width",
            ),
            (
                Config {
                    dim: 48,
                    heads: 4,
                    kv_heads: 2,
                    ..config()
                },
                "multiples of 32",
            ),
            (
                Config {
                    ffn: 100,
                    ..config()
                },
                "multiples of 32",
            ),
            (
                Config {
                    eps: f32::NAN,
                    ..config()
                },
                "epsilon",
            ),
        ];
        for (c, why) in bad {
            let e = c.check().unwrap_err();
            assert!(e.contains(why), "{c:?}: {e}");
        }
    }
}
