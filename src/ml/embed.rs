//! Sentence embeddings in-process with candle: all-MiniLM-L6-v2 (BERT), mean
//! pooling over the attention mask and L2 normalisation, as sentence-transformers
//! computes them, so vectors compare by dot product (= cosine).

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::{Path, PathBuf};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Dimensions of all-MiniLM-L6-v2 vectors.
pub const DIM: usize = 384;
/// sentence-transformers' max_seq_length for this model: longer texts are cut.
const MAX_TOKENS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "embedding model not found in {dir} ({missing}): run scripts/fetch-models.sh, install \
         edgewatch-models, or `edgewatch models import FILE` on an air-gapped box"
    )]
    Missing { dir: PathBuf, missing: String },
    #[error("embedding model in {dir}: {message}")]
    Load { dir: PathBuf, message: String },
    #[error("embedding failed: {0}")]
    Run(String),
}

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Embedder(all-MiniLM-L6-v2)")
    }
}

impl Embedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
        let files = ["config.json", "tokenizer.json", "model.safetensors"];
        let missing: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| !dir.join(f).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(EmbedError::Missing {
                dir: dir.to_owned(),
                missing: missing.join(", "),
            });
        }
        let err = |message: String| EmbedError::Load {
            dir: dir.to_owned(),
            message,
        };
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(dir.join("config.json")).map_err(|e| err(e.to_string()))?,
        )
        .map_err(|e| err(format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| err(format!("tokenizer.json: {e}")))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| err(e.to_string()))?;
        let device = Device::Cpu;
        // SAFETY: the weights file is memory-mapped read-only; edgewatch never writes
        // model files while running (imports write a new file and rename it).
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(
                &[dir.join("model.safetensors")],
                DType::F32,
                &device,
            )
        }
        .map_err(|e| err(format!("model.safetensors: {e}")))?;
        let model =
            BertModel::load(vb, &config).map_err(|e| err(format!("model.safetensors: {e}")))?;
        Ok(Embedder {
            model,
            tokenizer,
            device,
        })
    }

    /// One unit vector of [`DIM`] per text.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let run = |e: String| EmbedError::Run(e);
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| run(e.to_string()))?;
        let n = enc.len();
        let len = enc[0].get_ids().len();
        let mut ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in &enc {
            ids.extend_from_slice(e.get_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let forward = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
            let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
            let types = ids.zeros_like()?;
            let hidden = self.model.forward(&ids, &types, Some(&mask))?;
            // Mean over real tokens only, then unit length.
            let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&m)?.sum(1)?;
            let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
            let mean = summed.broadcast_div(&counts)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        };
        forward().map_err(|e| run(e.to_string()))
    }
}
