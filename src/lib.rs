//! Home of mproc's runnable examples (`examples/`) and criterion
//! micro-benchmarks (`benches/`). The library itself is the `mproc` crate
//! in `crates/mproc`; this package has no code of its own.
