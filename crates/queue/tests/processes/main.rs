//! Real-process tests (filled in below).
fn main() {}
