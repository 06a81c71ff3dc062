//! mproc: Python's `multiprocessing`, done right, in Rust.
//!
//! This facade re-exports the workspace's crates.
#![doc(html_root_url = "https://docs.rs/mproc")]

pub use mproc_sys as sys;
