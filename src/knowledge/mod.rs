//! Local knowledge: alerts, documents and summaries of sensors embedded in-process
//! (candle), kept in SQLite beside their rows and in an in-memory index for exact
//! cosine search.

pub mod answer;
pub mod ask;
pub mod check;
pub mod chunk;
pub mod embedder_thread;
pub mod facts;
pub mod index;
pub mod passage;
pub mod pdf;
pub mod question;
pub mod resolve;
pub mod summary;
pub mod timerange;
pub mod vocab;

pub use embedder_thread::{Knowledge, KnowledgeError};
pub use index::{Hit, Kind, VectorIndex};
