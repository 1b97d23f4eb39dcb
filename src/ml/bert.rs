//! A BERT encoder tuned for embedding short texts on a few CPU cores. Same maths
//! as candle-transformers' `BertModel` (post-norm layers, exact GELU), arranged
//! for speed:
//! - the texts of a batch are packed into one matrix without padding, so the
//!   linear layers never multiply pad tokens; attention runs text by text and
//!   needs no mask;
//! - a batch is cut in one part per core and the parts run side by side, each
//!   single-threaded: the steps between matrix products (attention, norms,
//!   GELU) then use every core too, not only gemm;
//! - query, key and value are one matrix product, with 1/sqrt(head size) folded
//!   into the query weights at load;
//! - weights are stored transposed (k × n), and bias, GELU, residual and layer
//!   norm are fused in-place kernels (bert_ops.rs).

use super::bert_ops::{AddResidualNorm, Attention, Gelu, Linear};
use candle_core::{DType, IndexOp, Result, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use rayon::prelude::*;

struct Layer {
    qkv: Tensor,
    qkv_bias: Tensor,
    attn_out: Tensor,
    attn_out_bias: Tensor,
    /// norm weight and bias, stacked
    attn_norm: Tensor,
    up: Tensor,
    up_bias: Tensor,
    down: Tensor,
    down_bias: Tensor,
    /// norm weight and bias, stacked
    out_norm: Tensor,
}

pub struct BertEncoder {
    words: Tensor,
    positions: Tensor,
    token_type0: Tensor,
    embed_norm: (Tensor, Tensor),
    layers: Vec<Layer>,
    heads: usize,
    eps: f32,
}

/// Hidden states of a part of a batch: one row per token, texts one after another.
struct Packed {
    hidden: Tensor,
    lens: Vec<usize>,
}

/// Weight of a linear layer, transposed to (in, out) and contiguous.
fn linear_t(vb: &VarBuilder, inp: usize, out: usize) -> Result<Tensor> {
    vb.get((out, inp), "weight")?.t()?.contiguous()
}

impl BertEncoder {
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<BertEncoder> {
        if cfg.hidden_act != HiddenAct::Gelu {
            candle_core::bail!("hidden_act {:?} not supported (gelu only)", cfg.hidden_act);
        }
        let (h, heads) = (cfg.hidden_size, cfg.num_attention_heads);
        if h % heads != 0 {
            candle_core::bail!("hidden_size {h} is not a multiple of {heads} heads");
        }
        let scale = 1.0 / ((h / heads) as f64).sqrt();
        let emb = vb.pp("embeddings");
        let norm = |vb: VarBuilder| -> Result<(Tensor, Tensor)> {
            Ok((vb.get(h, "weight")?, vb.get(h, "bias")?))
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let att = l.pp("attention");
            let q = att.pp("self.query");
            let (k, v) = (att.pp("self.key"), att.pp("self.value"));
            let qkv = Tensor::cat(
                &[
                    (linear_t(&q, h, h)? * scale)?,
                    linear_t(&k, h, h)?,
                    linear_t(&v, h, h)?,
                ],
                1,
            )?;
            let qkv_bias = Tensor::cat(
                &[
                    (q.get(h, "bias")? * scale)?,
                    k.get(h, "bias")?,
                    v.get(h, "bias")?,
                ],
                0,
            )?;
            let stacked = |ln: VarBuilder| -> Result<Tensor> {
                let (w, b) = norm(ln)?;
                Tensor::stack(&[w, b], 0)
            };
            let inter = cfg.intermediate_size;
            layers.push(Layer {
                qkv,
                qkv_bias,
                attn_out: linear_t(&att.pp("output.dense"), h, h)?,
                attn_out_bias: att.pp("output.dense").get(h, "bias")?,
                attn_norm: stacked(att.pp("output.LayerNorm"))?,
                up: linear_t(&l.pp("intermediate.dense"), h, inter)?,
                up_bias: l.pp("intermediate.dense").get(inter, "bias")?,
                down: linear_t(&l.pp("output.dense"), inter, h)?,
                down_bias: l.pp("output.dense").get(h, "bias")?,
                out_norm: stacked(l.pp("output.LayerNorm"))?,
            });
        }
        Ok(BertEncoder {
            words: emb.get((cfg.vocab_size, h), "word_embeddings.weight")?,
            positions: emb.get(
                (cfg.max_position_embeddings, h),
                "position_embeddings.weight",
            )?,
            token_type0: emb
                .get((cfg.type_vocab_size, h), "token_type_embeddings.weight")?
                .i(0)?,
            embed_norm: norm(emb.pp("LayerNorm"))?,
            layers,
            heads,
            eps: cfg.layer_norm_eps as f32,
        })
    }

    /// One unit vector per text: the mean of its token states, as
    /// sentence-transformers pools them. `ids[i]` are the token ids of text i,
    /// special tokens included, at most the model's positions long.
    pub fn embed(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let cores = rayon::current_num_threads();
        if ids.len() < 2 || cores < 2 {
            return self.forward(ids, cores)?.mean_pooled_unit();
        }
        let parts: Vec<Result<Vec<Vec<f32>>>> = ids
            .par_chunks(ids.len().div_ceil(cores))
            .map(|part| self.forward(part, 1)?.mean_pooled_unit())
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for part in parts {
            out.extend(part?);
        }
        Ok(out)
    }

    fn forward(&self, ids: &[Vec<u32>], threads: usize) -> Result<Packed> {
        let lens: Vec<usize> = ids.iter().map(Vec::len).collect();
        let flat: Vec<u32> = ids.concat();
        let pos: Vec<u32> = lens.iter().flat_map(|&n| 0..n as u32).collect();
        let dev = self.words.device();
        let tokens = flat.len();
        let flat = Tensor::from_vec(flat, tokens, dev)?;
        let pos = Tensor::from_vec(pos, tokens, dev)?;
        let x = (self.words.index_select(&flat, 0)? + self.positions.index_select(&pos, 0)?)?
            .broadcast_add(&self.token_type0)?;
        let mut x =
            candle_nn::ops::layer_norm(&x, &self.embed_norm.0, &self.embed_norm.1, self.eps)?;
        let linear = Linear { threads };
        for layer in &self.layers {
            x = self.layer(layer, &x, &lens, &linear)?;
        }
        Ok(Packed { hidden: x, lens })
    }

    fn layer(&self, l: &Layer, x: &Tensor, lens: &[usize], linear: &Linear) -> Result<Tensor> {
        let norm = AddResidualNorm { eps: self.eps };
        let qkv = x.apply_op3_no_bwd(&l.qkv, &l.qkv_bias, linear)?;
        let ctx = qkv.apply_op1_no_bwd(&Attention {
            lens,
            heads: self.heads,
            threads: linear.threads,
        })?;
        let a = ctx.apply_op3_no_bwd(&l.attn_out, &l.attn_out_bias, linear)?;
        a.inplace_op3(x, &l.attn_norm, &norm)?;
        let up = a.apply_op3_no_bwd(&l.up, &l.up_bias, linear)?;
        up.inplace_op1(&Gelu)?;
        let out = up.apply_op3_no_bwd(&l.down, &l.down_bias, linear)?;
        out.inplace_op3(&a, &l.out_norm, &norm)?;
        Ok(out)
    }
}

impl Packed {
    /// Mean of each text's token states, scaled to unit length.
    fn mean_pooled_unit(&self) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(self.lens.len());
        let mut start = 0;
        for &n in &self.lens {
            let mean = self.hidden.narrow(0, start, n)?.mean(0)?;
            start += n;
            let norm = mean
                .sqr()?
                .sum_keepdim(D::Minus1)?
                .sqrt()?
                .clamp(1e-12, f64::MAX)?;
            out.push(mean.broadcast_div(&norm)?.to_dtype(DType::F32)?.to_vec1()?);
        }
        Ok(out)
    }
}
