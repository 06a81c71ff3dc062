//! A pool of `cpu_count()` worker processes squaring 0..10.
//!
//! Run with `cargo run --release --example pool`; prints
//! `[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]`.

use mproc::Pool;

fn square(x: u64) -> u64 {
    x * x
}

fn main() -> Result<(), mproc::PoolError> {
    // First in main: a spawned worker takes over here.
    mproc::init();
    let pool = Pool::new(mproc::cpu_count())?;
    let squares = pool.map(square, 0..10)?;
    println!("{squares:?}");
    pool.close();
    pool.join()
}
