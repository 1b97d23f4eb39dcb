//! Models learned on the gateway from its own history: frames of an asset's
//! sensors ([`frames`]), the fitting methods ([`pca`], [`similarity`]) and how a
//! fitted one scores a frame ([`score`]), learning from a stream of past readings
//! ([`fit`]) and the file a model is kept in ([`model`]). Pure: the
//! journal, the API and the detector that runs a model live elsewhere.

pub mod fit;
pub mod frames;
pub mod model;
pub mod pca;
pub mod score;
pub mod similarity;

pub use fit::{LearnError, LearnSpec, Learner, Span};
pub use model::{AssetModel, LearnedModel, Method};
