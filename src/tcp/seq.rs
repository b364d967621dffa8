//! seq
