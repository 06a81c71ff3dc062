//! The watchdog: a thread that kills every child and fails the run when a
//! scenario exceeds its budget, instead of letting a hang stall CI.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);
static NAME: Mutex<&'static str> = Mutex::new("");
static STARTED: std::sync::Once = std::sync::Once::new();

/// The exit status of a run the watchdog stopped.
pub const HUNG_EXIT: i32 = 3;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Fails the run (kills every child, exits with [`HUNG_EXIT`]) unless
/// [`disarm`] is called within `budget`. The first call starts the thread;
/// it sleeps holding no lock the suite's forked children could need.
///
/// # Examples
///
/// ```
/// mproc_torture::watchdog::arm("doc", std::time::Duration::from_secs(60));
/// mproc_torture::watchdog::disarm();
/// ```
pub fn arm(name: &'static str, budget: Duration) {
    *NAME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = name;
    DEADLINE_MS.store(now_ms() + budget.as_millis() as u64, Ordering::SeqCst);
    STARTED.call_once(|| {
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_millis(100));
                let d = DEADLINE_MS.load(Ordering::SeqCst);
                if d != 0 && now_ms() > d {
                    let name = NAME.lock().map_or("?", |n| *n);
                    eprintln!(
                        "watchdog: scenario {name} exceeded its budget; killing its children"
                    );
                    crate::children::kill_all();
                    mproc_sys::exit_immediately(HUNG_EXIT);
                }
            }
        });
    });
}

/// The current scenario is done in time.
///
/// # Examples
///
/// ```
/// mproc_torture::watchdog::disarm();
/// ```
pub fn disarm() {
    DEADLINE_MS.store(0, Ordering::SeqCst);
}
