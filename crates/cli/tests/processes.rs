//! `mproc` against segments whose creator was a real process, killed with
//! SIGKILL: `ls` sees it dead, `gc` removes what is stale and keeps what
//! was persisted.
//!
//! Runs sequentially (`harness = false`) under a watchdog, so that no fork
//! happens while another test thread holds a lock, and nothing can hang.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{exists, mproc, unique};
use mproc_dict::{Dict, DictOptions};
use mproc_shm::{Segment, SegmentKind};
use mproc_sys::{
    ExitStatus, ForkResult, Signal, exit_immediately, fork, kill, set_parent_death_signal, waitpid,
};

/// Forks a child that creates `stale` (plain), `kept` (persistent) and
/// the dicts `dicts`, says so through an anonymous segment, and sleeps
/// until killed. Returns its pid once all exist.
fn creator_child(stale: &str, kept: &str, dicts: &[&str]) -> i32 {
    let flag = Segment::anonymous(8).unwrap();
    let ready = flag.payload().get::<AtomicU64>(0).unwrap();
    // SAFETY: this binary runs its tests sequentially; the only other
    // thread is the watchdog, which sleeps and holds no lock. The child
    // never returns: it sleeps until killed, or `_exit`s on failure.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            // Die with the test if it dies first.
            let _ = set_parent_death_signal(Some(Signal::Kill));
            let a = Segment::create(stale, 64);
            let b = Segment::builder(SegmentKind::Raw, 64)
                .persist(true)
                .create(kept);
            let d: Result<Vec<Dict>, _> = dicts
                .iter()
                .map(|n| Dict::create(n, DictOptions::new()))
                .collect();
            if a.is_err() || b.is_err() || d.is_err() {
                exit_immediately(10);
            }
            ready.store(1, Ordering::Release);
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        ForkResult::Parent { child } => {
            let deadline = Instant::now() + Duration::from_secs(10);
            while ready.load(Ordering::Acquire) == 0 {
                if let Some(status) = waitpid(child, true).expect("waitpid") {
                    panic!("creator child ended early: {status:?}");
                }
                assert!(Instant::now() < deadline, "creator child never got ready");
                std::thread::sleep(Duration::from_millis(1));
            }
            child
        }
    }
}

/// The CREATOR, ALIVE and PERSIST columns of an `ls` line (`SIZE` is two
/// words: `192 B`).
fn creator_columns(line: &str) -> Vec<String> {
    line.split_whitespace()
        .skip(4)
        .take(3)
        .map(str::to_owned)
        .collect()
}

/// Unlinks the names on drop, so that a failed assertion leaves nothing
/// behind.
struct Unlink(Vec<String>);

impl Drop for Unlink {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Segment::unlink(name);
        }
    }
}

fn gc_removes_the_segment_of_a_killed_creator() {
    let stale = unique("dead");
    let kept = unique("deadkeep");
    let child = creator_child(&stale, &kept, &[]);

    let _cleanup = Unlink(vec![stale.clone(), kept.clone()]);
    let run = mproc(&["ls"]);
    assert_eq!(
        creator_columns(&run.line_of(&stale)),
        [child.to_string().as_str(), "yes", "no"]
    );
    assert_eq!(
        creator_columns(&run.line_of(&kept)),
        [child.to_string().as_str(), "yes", "yes"]
    );
    // A live creator: nothing to collect.
    assert_eq!(
        mproc(&["gc", "--dry-run", "--prefix", &stale]).ok(),
        "no stale segments\n"
    );

    kill(child, Signal::Kill).unwrap();
    assert_eq!(
        waitpid(child, false).unwrap(),
        Some(ExitStatus::Signaled(9))
    );

    let run = mproc(&["ls"]);
    assert_eq!(
        creator_columns(&run.line_of(&stale)),
        [child.to_string().as_str(), "no", "no"]
    );
    assert_eq!(
        creator_columns(&run.line_of(&kept)),
        [child.to_string().as_str(), "no", "yes"]
    );
    let e: serde_json::Value =
        serde_json::from_str(&mproc(&["inspect", "--json", &stale]).ok()).unwrap();
    assert_eq!(e["creator"]["pid"], child);
    assert_eq!(e["creator"]["alive"], false);

    let dry = mproc(&["gc", "--dry-run", "--prefix", &stale]).ok();
    assert_eq!(
        dry,
        format!(
            "would remove {stale} (creator pid {child} is dead)\n1 stale segment would be removed\n"
        )
    );
    assert!(exists(&stale));

    let done = mproc(&["gc", "--prefix", &stale]).ok();
    assert_eq!(
        done,
        format!("removed {stale} (creator pid {child} is dead)\n1 stale segment removed\n")
    );
    assert!(!exists(&stale));
    let err = mproc(&["inspect", &stale]).failed();
    assert!(err.contains("no segment named"), "{err}");

    // Persisted: gc keeps it, rm removes it.
    assert_eq!(
        mproc(&["gc", "--prefix", &kept]).ok(),
        "no stale segments\n"
    );
    assert!(exists(&kept));
    assert_eq!(mproc(&["rm", &kept]).ok(), format!("removed {kept}\n"));
    assert!(!exists(&kept));
}

fn gc_removes_a_dead_creators_dict_with_its_tables() {
    let whole = unique("deaddict");
    let orphaned = unique("orphan");
    let (plain, kept) = (unique("deadplain"), unique("deadkept"));
    let child = creator_child(&plain, &kept, &[&whole, &orphaned]);
    let tables = [format!("{whole}.g0"), format!("{orphaned}.g0")];
    let _cleanup = Unlink(vec![
        whole.clone(),
        orphaned.clone(),
        tables[0].clone(),
        tables[1].clone(),
        plain.clone(),
        kept.clone(),
    ]);
    assert!(tables.iter().all(|t| exists(t)));
    kill(child, Signal::Kill).unwrap();
    waitpid(child, false).unwrap();

    // The root is stale; its table is persistent but goes with it.
    let dry = mproc(&["gc", "--dry-run", "--prefix", &whole]).ok();
    assert_eq!(
        dry,
        format!(
            "would remove {whole} (creator pid {child} is dead)\n\
             would remove {t} (table of dict {whole})\n\
             2 stale segments would be removed\n",
            t = tables[0]
        )
    );
    mproc(&["gc", "--prefix", &whole]).ok();
    assert!(!exists(&whole) && !exists(&tables[0]));

    // A table whose root is gone is garbage once its creator is dead.
    Segment::unlink(&orphaned).unwrap();
    let out = mproc(&["gc", "--prefix", &orphaned]).ok();
    assert_eq!(
        out,
        format!(
            "removed {t} (table of dict {orphaned}, which is gone; creator pid {child} is dead)\n\
             1 stale segment removed\n",
            t = tables[1]
        )
    );
    assert!(!exists(&tables[1]));
}

fn main() {
    // A watchdog: a hung test fails the run instead of blocking CI.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(120));
        eprintln!("processes: watchdog fired after 120 s");
        std::process::exit(3);
    });
    let tests: [(&str, fn()); 2] = [
        (
            "gc_removes_the_segment_of_a_killed_creator",
            gc_removes_the_segment_of_a_killed_creator,
        ),
        (
            "gc_removes_a_dead_creators_dict_with_its_tables",
            gc_removes_a_dead_creators_dict_with_its_tables,
        ),
    ];
    for (name, test) in tests {
        test();
        println!("test {name} ... ok");
    }
    println!("test result: ok. {} passed", tests.len());
}
