//! Tests of the report's arithmetic and formatting.

use crate::report::format::{figure, ratio, size_label};
use crate::report::model::{Cell, Role, Row, Runs, Unit, median};
use crate::report::table::render;

fn row(unit: Unit, cells: Vec<Cell>) -> Row {
    Row {
        scenario: "s".into(),
        case: "c".into(),
        size: None,
        unit,
        spread: false,
        cells,
    }
}

#[test]
fn median_of_odd_even_and_empty() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(median(&[]), None);
    assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
}

#[test]
fn sizes_and_figures_read_naturally() {
    assert_eq!(size_label(8), "8 B");
    assert_eq!(size_label(1024), "1 KiB");
    assert_eq!(size_label(64 << 10), "64 KiB");
    assert_eq!(size_label(1 << 20), "1 MiB");
    assert_eq!(figure(182.4, Unit::Nanos), "182 ns");
    assert_eq!(figure(4210.0, Unit::Nanos), "4.21 µs");
    assert_eq!(figure(12_345_678.0, Unit::PerSecond), "12.3 M/s");
    assert_eq!(
        figure(3.0 * 1024.0 * 1024.0 * 1024.0, Unit::BytesPerSecond),
        "3.00 GiB/s"
    );
    assert_eq!(ratio(2.0), "2.00×");
}

#[test]
fn speedup_compares_best_mproc_with_best_peer_ignoring_floors() {
    let r = row(
        Unit::Nanos,
        vec![
            Cell::measured("m1", Role::Mproc, Runs(vec![200.0])),
            Cell::measured("m2", Role::Mproc, Runs(vec![100.0])),
            Cell::measured("p1", Role::Peer, Runs(vec![400.0])),
            Cell::measured("p2", Role::Peer, Runs(vec![300.0])),
            Cell::measured("floor", Role::Floor, Runs(vec![10.0])),
            Cell::missing("p3", Role::Peer, "did not build"),
        ],
    );
    assert_eq!(r.speedup(), Some(("m2", "p2", 3.0)));
    let t = row(
        Unit::PerSecond,
        vec![
            Cell::measured("m", Role::Mproc, Runs(vec![50.0])),
            Cell::measured("p", Role::Peer, Runs(vec![100.0])),
        ],
    );
    assert_eq!(t.speedup(), Some(("m", "p", 0.5)));
}

#[test]
fn missing_figures_show_their_reason_under_the_table() {
    let r = row(
        Unit::Nanos,
        vec![
            Cell::measured("m", Role::Mproc, Runs(vec![1.0, 2.0, 3.0])),
            Cell::missing("peer", Role::Peer, "python3 not found"),
        ],
    );
    let text = render(&[r]);
    assert!(text.contains("| c | 2.00 ns | — [1] | — |"), "{text}");
    assert!(text.contains("[1] peer: python3 not found"), "{text}");
}

#[test]
fn spread_rows_show_the_range_and_count_of_repeats() {
    let mut r = row(
        Unit::Nanos,
        vec![
            Cell::measured("m", Role::Mproc, Runs(vec![500.0, 4000.0, 480.0])),
            Cell::measured("p", Role::Peer, Runs(vec![700.0])),
        ],
    );
    r.spread = true;
    let text = render(&[r]);
    assert!(
        text.contains("| c | 500 ns (480 ns–4.00 µs, n=3) | 700 ns (n=1) |"),
        "{text}"
    );
}

#[test]
fn throughput_axes_label_powers_of_ten_in_decimal_units() {
    use crate::report::chart::axis_label;
    assert_eq!(axis_label(1e7, Unit::BytesPerSecond), "10.0 MB/s");
    assert_eq!(axis_label(1e9, Unit::BytesPerSecond), "1.00 GB/s");
    assert_eq!(axis_label(500.0, Unit::BytesPerSecond), "500 B/s");
    assert_eq!(axis_label(1e6, Unit::PerSecond), "1.00 M/s");
}
