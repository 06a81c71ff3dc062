//! `docs/layout.md` is true: its Python script, using only the standard
//! library, reads an `Array<f64>` and a `Value<u64>` in place and writes
//! into them, and the Rust side sees the writes. Skipped, with a message,
//! where `python3` is missing.

mod common;

use std::process::Command;

use common::{exists, unique};
use mproc_dict::{Array, Value};

const LAYOUT: &str = include_str!("../../../docs/layout.md");

/// The Python block of the section on reading from Python.
fn script() -> &'static str {
    let section = LAYOUT
        .split_once("### Reading an `Array<f64>`")
        .expect("the Python section of docs/layout.md")
        .1;
    let code = section.split_once("```python\n").expect("a python block").1;
    code.split_once("```").expect("the end of the block").0
}

#[test]
fn python_reads_and_writes_an_array_and_a_value_in_place() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 not found: skipping the Python layout test");
        return;
    }
    let array_name = unique("pyarray");
    let value_name = unique("pyvalue");
    let array = Array::<f64>::create(&array_name, &[1.5, 2.5, 3.0]).unwrap();
    let value = Value::<u64>::create(&value_name, 41).unwrap();

    let out = Command::new("python3")
        .args(["-c", script(), &array_name, &value_name])
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed:\n{stdout}\n{stderr}");
    assert_eq!(stdout, "array [1.5, 2.5, 3.0]\nvalue 41\n", "{stderr}");
    // Python's resource tracker must not have unlinked our segments.
    assert!(stderr.is_empty(), "{stderr}");
    assert!(exists(&array_name) && exists(&value_name));

    assert_eq!(array.get_range(0..3).unwrap(), [7.0, 2.5, 3.0]);
    assert_eq!(value.get().unwrap(), 42);
}
