//! Sentence embeddings in-process with candle: all-MiniLM-L6-v2 (BERT, encoder in
//! bert.rs), mean pooling over each text's own tokens and L2 normalisation, as
//! sentence-transformers computes them, so vectors compare by dot product (= cosine).

use super::bert::BertEncoder;
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use std::path::{Path, PathBuf};
use tokenizers::{Tokenizer, TruncationParams};

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
    model: BertEncoder,
    tokenizer: Tokenizer,
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
        // No padding: the encoder packs texts of different lengths itself.
        tokenizer.with_padding(None);
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
            BertEncoder::load(vb, &config).map_err(|e| err(format!("model.safetensors: {e}")))?;
        Ok(Embedder { model, tokenizer })
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
        let ids: Vec<Vec<u32>> = enc.iter().map(|e| e.get_ids().to_vec()).collect();
        self.model.embed(&ids).map_err(|e| run(e.to_string()))
    }
}
