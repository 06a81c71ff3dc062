//! README's quickstart is `examples/quickstart.rs` (without its doc
//! comment), so that what a newcomer reads is what `cargo run --example
//! quickstart` runs.

#[test]
fn readme_quickstart_is_the_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/examples/quickstart.rs")).unwrap();
    let code: String = example
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let start = readme
        .find("```rust,no_run\nuse mproc::prelude::*;")
        .expect("README shows the quickstart")
        + "```rust,no_run\n".len();
    let end = start + readme[start..].find("```").unwrap();
    assert_eq!(&readme[start..end], code);
}
