//! The transformer behind [`super::llm::Llm`]: edgewatch's own int8 llama for the
//! llama family (SmolLM2, Llama, TinyLlama), candle-transformers' quantized models
//! for qwen2, qwen3 and gemma3 GGUF files.

use super::llama::Llama;
use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::{quantized_gemma3, quantized_qwen2, quantized_qwen3};
use std::fs::File;

/// Architectures a GGUF may declare in `general.architecture`.
pub const ARCHITECTURES: &[&str] = &["llama", "qwen2", "qwen3", "gemma3"];

/// The error for an architecture not in [`ARCHITECTURES`], naming those that are.
pub fn unsupported(arch: &str) -> String {
    format!(
        "architecture `{arch}`: edgewatch runs {} GGUF files",
        ARCHITECTURES.join(", ")
    )
}

pub enum Engine {
    Llama(Llama),
    Candle {
        model: CandleModel,
        /// Positions already in the model's key/value cache.
        cached: usize,
        context: usize,
    },
}

pub enum CandleModel {
    Qwen2(quantized_qwen2::ModelWeights),
    Qwen3(quantized_qwen3::ModelWeights),
    Gemma3(quantized_gemma3::ModelWeights),
}

impl Engine {
    pub fn from_gguf(
        arch: &str,
        content: gguf_file::Content,
        file: &mut File,
    ) -> Result<Engine, String> {
        let context = content
            .metadata
            .get(&format!("{arch}.context_length"))
            .and_then(|v| v.to_u32().ok())
            .map_or(4096, |c| c as usize);
        let cpu = &Device::Cpu;
        let model =
            match arch {
                "llama" => {
                    return Llama::from_gguf(&content, file)
                        .map(Engine::Llama)
                        .map_err(|e| e.to_string())
                }
                "qwen2" => quantized_qwen2::ModelWeights::from_gguf(content, file, cpu)
                    .map(CandleModel::Qwen2),
                "qwen3" => quantized_qwen3::ModelWeights::from_gguf(content, file, cpu)
                    .map(CandleModel::Qwen3),
                "gemma3" => quantized_gemma3::ModelWeights::from_gguf(content, file, cpu)
                    .map(CandleModel::Gemma3),
                other => return Err(unsupported(other)),
            }
            .map_err(|e| e.to_string())?;
        let context = match model {
            CandleModel::Gemma3(_) => context.min(quantized_gemma3::MAX_SEQ_LEN),
            _ => context,
        };
        Ok(Engine::Candle {
            model,
            cached: 0,
            context,
        })
    }

    /// Positions the model attends over: prompt and answer together.
    pub fn context(&self) -> usize {
        match self {
            Engine::Llama(m) => m.config.context,
            Engine::Candle { context, .. } => *context,
        }
    }

    /// Forgets the cached positions (a new prompt starts at position 0).
    pub fn clear(&mut self) {
        match self {
            Engine::Llama(m) => m.clear(),
            Engine::Candle { model, cached, .. } => {
                *cached = 0;
                match model {
                    CandleModel::Qwen2(m) => m.clear_kv_cache(),
                    CandleModel::Qwen3(m) => m.clear_kv_cache(),
                    // Gemma 3 restarts its cache at position 0 by itself.
                    CandleModel::Gemma3(_) => {}
                }
            }
        }
    }

    /// Runs `tokens` after the cached positions; the logits of the last one.
    pub fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, String> {
        match self {
            Engine::Llama(m) => Ok(m.forward(tokens)),
            Engine::Candle { model, cached, .. } => {
                let mut run = || -> candle_core::Result<Vec<f32>> {
                    let input = Tensor::new(tokens, &Device::Cpu)?.unsqueeze(0)?;
                    let logits = match model {
                        CandleModel::Qwen2(m) => m.forward(&input, *cached)?,
                        CandleModel::Qwen3(m) => m.forward(&input, *cached)?,
                        CandleModel::Gemma3(m) => m.forward(&input, *cached)?,
                    };
                    logits.squeeze(0)?.to_dtype(DType::F32)?.to_vec1::<f32>()
                };
                let logits = run().map_err(|e| e.to_string())?;
                *cached += tokens.len();
                Ok(logits)
            }
        }
    }
}
