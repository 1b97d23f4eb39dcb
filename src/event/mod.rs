//! Shared value types: readings, alert lifecycle events, commit acknowledgements,
//! rejections and simulator faults. Every part speaks them; this module imports
//! nothing else of the crate, so it can sit below all of them.

mod alert;
mod ingest;
mod reading;

pub use alert::*;
pub use ingest::*;
pub use reading::*;
