//! Renderers that consume [`crate::model::Report`]s. Steps never format their own checks.

pub mod text;
