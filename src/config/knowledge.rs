//! `[knowledge]`: embeddings, search and questions answered on the box.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KnowledgeConfig {
    /// Off: no embedding model is loaded; search and ask answer 503.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Holds `all-minilm-l6-v2/` and the language model (models/models.toml).
    #[serde(default = "default_models_dir")]
    pub models_dir: PathBuf,
    /// Alerts waiting to be embedded; beyond it they are embedded at the next start.
    #[serde(default = "default_embed_queue")]
    pub embed_queue: usize,
    /// The GGUF language model, relative to `models-dir` or absolute; "" for none
    /// (answers then come from the facts alone).
    #[serde(default = "default_llm")]
    pub llm: PathBuf,
    /// The chat template, when the GGUF's own (`tokenizer.chat_template`) is not
    /// recognised: `chatml`, `gemma` or `llama3`.
    #[serde(default)]
    pub chat_template: Option<crate::ml::chat_template::ChatTemplate>,
    /// A tokenizer.json for the language model, relative to `models-dir` or
    /// absolute; "" builds the tokenizer from the GGUF (byte-level BPE vocabularies;
    /// sentencepiece ones such as Gemma's need the file).
    #[serde(default)]
    pub tokenizer: PathBuf,
    /// Most tokens one answer may generate.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: usize,
    /// Longest one generation may run.
    #[serde(default = "default_generation_timeout", with = "humantime_serde")]
    pub generation_timeout: Duration,
    /// Let the language model rephrase the deterministic answer (used only when
    /// every number, time, sensor and citation checks out). Off by default: on the
    /// test bed SmolLM2-135M's rephrasing passed for 5 % of questions and added ~1 s.
    #[serde(default)]
    pub rephrase: bool,
    /// Questions waiting for the model (one is answered at a time); beyond it: 503.
    #[serde(default = "default_ask_queue")]
    pub ask_queue: usize,
    /// Each sensor's aggregates are summarised and embedded per window of this
    /// length (a multiple of `aggregate.window`), for search.
    #[serde(default = "default_summary_window", with = "humantime_serde")]
    pub summary_window: Duration,
    /// Summaries older than this are pruned (a vector each: 100 sensors hourly
    /// for 30 days are 72,000).
    #[serde(default = "default_summary_retention", with = "humantime_serde")]
    pub summary_retention: Duration,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        KnowledgeConfig {
            enabled: true,
            models_dir: default_models_dir(),
            embed_queue: default_embed_queue(),
            llm: default_llm(),
            chat_template: None,
            tokenizer: PathBuf::new(),
            max_tokens: default_max_tokens(),
            generation_timeout: default_generation_timeout(),
            ask_queue: default_ask_queue(),
            rephrase: false,
            summary_window: default_summary_window(),
            summary_retention: default_summary_retention(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_models_dir() -> PathBuf {
    PathBuf::from("/usr/share/edgewatch/models")
}
fn default_embed_queue() -> usize {
    1024
}
fn default_llm() -> PathBuf {
    PathBuf::from("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}
fn default_max_tokens() -> usize {
    160
}
fn default_generation_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_ask_queue() -> usize {
    4
}
fn default_summary_window() -> Duration {
    Duration::from_secs(3600)
}
fn default_summary_retention() -> Duration {
    Duration::from_secs(30 * 86_400)
}
