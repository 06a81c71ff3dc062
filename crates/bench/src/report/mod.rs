//! What a run produces: rows of figures, and their table, JSON and SVG forms.

pub(crate) mod chart;
pub(crate) mod format;
pub(crate) mod json;
pub(crate) mod machine;
pub(crate) mod model;
pub(crate) mod table;
#[cfg(test)]
mod tests;
