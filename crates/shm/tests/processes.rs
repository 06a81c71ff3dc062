//! Segments shared by real processes: fork, write, read, kill, clean up.
//!
//! Runs sequentially (`harness = false`) under a watchdog, so that no fork
//! happens while another test thread holds a lock, and nothing can hang.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mproc_shm::{Segment, SegmentKind, ShmError};
use mproc_sys::{ExitStatus, ForkResult, Signal, exit_immediately, fork, kill, waitpid};

fn unique(tag: &str) -> String {
    format!("t-shmproc-{tag}-{}", std::process::id())
}

/// Runs `f` in a forked child that `_exit`s with its return value.
fn spawn_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the test binary runs its tests sequentially; the only other
    // thread is the watchdog, which holds no lock. The child leaves through
    // `exit_immediately`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let code = f();
            exit_immediately(code)
        }
        ForkResult::Parent { child } => child,
    }
}

/// Waits for `pid` at most `limit`; kills it if it overstays.
fn wait_child(pid: i32, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = waitpid(pid, true).expect("waitpid") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = kill(pid, Signal::Kill);
            let _ = waitpid(pid, false);
            panic!("child {pid} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn child_writes_parent_reads() {
    let name = unique("rw");
    let seg = Segment::create(&name, 4096).unwrap();
    let child = spawn_child(|| {
        let Ok(s) = Segment::opener(&name).kind(SegmentKind::Raw).open() else {
            return 10;
        };
        if s.payload().write_bytes(0, b"from the child").is_err() {
            return 11;
        }
        0
    });
    assert_eq!(
        wait_child(child, Duration::from_secs(10)),
        ExitStatus::Exited(0)
    );
    let mut buf = [0u8; 14];
    seg.payload().read_bytes(0, &mut buf).unwrap();
    assert_eq!(&buf, b"from the child");
}

fn anonymous_segment_is_shared_across_fork() {
    let seg = Segment::anonymous(64).unwrap();
    let counter = seg.payload().get::<AtomicU64>(0).unwrap();
    let children: Vec<i32> = (0..4)
        .map(|_| {
            spawn_child(|| {
                for _ in 0..10_000 {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                0
            })
        })
        .collect();
    for c in children {
        assert_eq!(
            wait_child(c, Duration::from_secs(10)),
            ExitStatus::Exited(0)
        );
    }
    assert_eq!(counter.load(Ordering::Relaxed), 40_000);
}

fn racing_creators_exactly_one_wins() {
    let name = unique("race");
    let children: Vec<i32> = (0..8)
        .map(|_| {
            spawn_child(|| match Segment::create(&name, 64) {
                // Leave without dropping: the name must outlive the child
                // so the losers cannot win after the winner exits.
                Ok(seg) => {
                    std::mem::forget(seg);
                    0
                }
                Err(ShmError::AlreadyExists { .. }) => 1,
                Err(_) => 2,
            })
        })
        .collect();
    let codes: Vec<ExitStatus> = children
        .into_iter()
        .map(|c| wait_child(c, Duration::from_secs(10)))
        .collect();
    Segment::unlink(&name).unwrap();
    let winners = codes
        .iter()
        .filter(|s| **s == ExitStatus::Exited(0))
        .count();
    let losers = codes
        .iter()
        .filter(|s| **s == ExitStatus::Exited(1))
        .count();
    assert_eq!((winners, losers), (1, 7), "{codes:?}");
}

fn creator_drop_removes_name_persisted_stays() {
    let name = unique("drop");
    drop(Segment::create(&name, 8).unwrap());
    assert!(matches!(
        Segment::open(&name),
        Err(ShmError::NotFound { .. })
    ));

    let seg = Segment::create(&name, 8).unwrap();
    seg.persist();
    drop(seg);
    assert!(Segment::open(&name).is_ok());
    Segment::unlink(&name).unwrap();
}

fn opener_and_forked_copies_never_unlink() {
    let name = unique("copies");
    let seg = Segment::create(&name, 8).unwrap();
    drop(Segment::open(&name).unwrap());
    // A child that inherits the creator's handle and drops it normally.
    let child = spawn_child(|| {
        drop(Segment::open(&name));
        0
    });
    assert_eq!(
        wait_child(child, Duration::from_secs(10)),
        ExitStatus::Exited(0)
    );
    assert!(Segment::open(&name).is_ok());
    drop(seg);
    assert!(Segment::open(&name).is_err());
}

fn killed_creator_is_stale_and_removed() {
    let stale = unique("stale");
    let kept = unique("kept");
    let child = spawn_child(|| {
        let a = Segment::create(&stale, 8);
        let b = Segment::builder(SegmentKind::Raw, 8)
            .persist(true)
            .create(&kept);
        if a.is_err() || b.is_err() {
            return 3;
        }
        std::mem::forget((a, b));
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    // Wait until both exist, then kill the creator without its drop running.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(Segment::open(&stale).is_ok() && Segment::open(&kept).is_ok()) {
        assert!(
            Instant::now() < deadline,
            "child never created its segments"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    kill(child, Signal::Kill).unwrap();
    assert_eq!(
        wait_child(child, Duration::from_secs(5)),
        ExitStatus::Signaled(9)
    );

    let info = mproc_shm::inspect(&stale).unwrap();
    assert_eq!(info.creator.map(|c| c.pid), Some(child));
    assert!(!info.creator_alive);

    let removed = mproc_shm::remove_stale().unwrap().removed;
    assert!(removed.iter().any(|n| n.as_str() == stale), "{removed:?}");
    assert!(!removed.iter().any(|n| n.as_str() == kept));
    assert!(matches!(
        Segment::open(&stale),
        Err(ShmError::NotFound { .. })
    ));
    assert!(mproc_shm::inspect(&kept).unwrap().persistent);
    Segment::unlink(&kept).unwrap();
}

fn creator_dying_mid_init_is_abandoned() {
    let name = unique("midinit");
    let child = spawn_child(|| {
        let _ = Segment::builder(SegmentKind::Raw, 64)
            .init(|_| exit_immediately(0))
            .create(&name);
        1
    });
    assert_eq!(
        wait_child(child, Duration::from_secs(5)),
        ExitStatus::Exited(0)
    );
    let started = Instant::now();
    let err = Segment::open(&name).unwrap_err();
    assert!(
        matches!(err, ShmError::Abandoned { creator_pid, .. } if creator_pid == child),
        "{err:?}"
    );
    // Detected from the dead creator, not by running out the ready timeout.
    assert!(started.elapsed() < mproc_shm::DEFAULT_READY_TIMEOUT);
    assert!(
        mproc_shm::remove_stale()
            .unwrap()
            .removed
            .iter()
            .any(|n| n.as_str() == name)
    );
}

fn open_waits_for_a_live_creator_to_finish() {
    let name = unique("slowinit");
    let flags = Segment::anonymous(8).unwrap();
    let opened = flags.payload().get::<AtomicU32>(0).unwrap();
    let child = spawn_child(|| {
        let seg = Segment::builder(SegmentKind::Raw, 8)
            .init(|p| {
                std::thread::sleep(Duration::from_millis(150));
                p.write_pod(0, &99u64)
            })
            .create(&name);
        let Ok(seg) = seg else { return 1 };
        // Kept (and its name with it) until the parent has opened it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while opened.load(Ordering::Acquire) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(seg);
        0
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let opener = || {
        Segment::opener(&name)
            .ready_timeout(Duration::from_secs(10))
            .open()
    };
    let seg = loop {
        match opener() {
            Ok(s) => break s,
            Err(ShmError::NotFound { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("{e:?}"),
        }
    };
    opened.store(1, Ordering::Release);
    assert_eq!(seg.payload().read_pod::<u64>(0).unwrap(), 99);
    assert_eq!(
        wait_child(child, Duration::from_secs(5)),
        ExitStatus::Exited(0)
    );
}

/// Drops to the unprivileged user `nobody` (65534), keeping group 0 unless
/// `drop_group`. Returns false if the switch failed.
fn become_nobody(drop_group: bool) -> bool {
    (!drop_group || mproc_sys::setgid(65534).is_ok()) && mproc_sys::setuid(65534).is_ok()
}

/// `inspect` (and so `list`, `remove_stale`, `mproc ls`) of a file that a
/// peer shrinks and regrows meanwhile reports what it read, never dies of
/// `SIGBUS` (it reads the header instead of mapping it).
fn inspect_survives_a_file_shrunk_under_it() {
    let name = unique("shrinking");
    let seg = Segment::create(&name, 4096).unwrap();
    let fd = mproc_sys::shm_open_existing(&seg.name().unwrap().os_name(), true).unwrap();
    let toggler = spawn_child(|| {
        let end = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < end {
            let _ = mproc_sys::ftruncate(&fd, 0);
            let _ = mproc_sys::ftruncate(&fd, 4096);
        }
        0
    });
    let inspector = spawn_child(|| {
        let end = Instant::now() + Duration::from_secs(1);
        while Instant::now() < end {
            let _ = mproc_shm::inspect(&name);
            let _ = mproc_shm::list();
        }
        0
    });
    let inspected = wait_child(inspector, Duration::from_secs(10));
    let toggled = wait_child(toggler, Duration::from_secs(10));
    drop(fd);
    drop(seg);
    assert_eq!(toggled, ExitStatus::Exited(0));
    assert_eq!(inspected, ExitStatus::Exited(0), "inspect died");
}

/// An unprivileged creator of a segment it may write but not read (mode
/// `0o200`) still removes the name when its handle drops: the drop's check
/// that the name is still its file needs no read permission.
fn a_write_only_creator_removes_its_name() {
    if mproc_sys::getuid() != 0 {
        println!("(skipped: needs root to switch users)");
        return;
    }
    let name = unique("write-only");
    let path = format!("/dev/shm/mproc.{name}");
    let child = spawn_child(|| {
        if !become_nobody(true) {
            return 9;
        }
        let Ok(seg) = Segment::builder(SegmentKind::Raw, 8)
            .mode(0o200)
            .create(&name)
        else {
            return 8;
        };
        drop(seg);
        i32::from(std::path::Path::new(&path).exists())
    });
    let status = wait_child(child, Duration::from_secs(10));
    let _ = std::fs::remove_file(&path);
    assert_eq!(status, ExitStatus::Exited(0), "the name stayed behind");
}

fn mode_0600_denies_other_users_and_a_group_mode_admits_them() {
    if mproc_sys::getuid() != 0 {
        println!("(skipped: needs root to switch users)");
        return;
    }
    let private = unique("private");
    let shared = unique("group");
    let _p = Segment::create(&private, 8).unwrap();
    let _g = Segment::builder(SegmentKind::Raw, 8)
        .mode(0o660)
        .create(&shared)
        .unwrap();
    assert_eq!(
        mproc_shm::inspect(&private).map(|i| i.len).unwrap(),
        8 + mproc_shm::HEADER_LEN
    );

    // 0600: another user gets PermissionDenied.
    let child = spawn_child(|| {
        if !become_nobody(true) {
            return 9;
        }
        match Segment::open(&private) {
            Err(ShmError::PermissionDenied { .. }) => 0,
            Ok(_) => 1,
            Err(_) => 2,
        }
    });
    assert_eq!(
        wait_child(child, Duration::from_secs(5)),
        ExitStatus::Exited(0)
    );

    // 0660: another user in the owning group may open it; one outside may not.
    let child = spawn_child(|| {
        if !become_nobody(false) {
            return 9;
        }
        match Segment::open(&shared) {
            Ok(s) if s.payload().write_pod(0, &5u64).is_ok() => 0,
            Ok(_) => 1,
            Err(_) => 2,
        }
    });
    assert_eq!(
        wait_child(child, Duration::from_secs(5)),
        ExitStatus::Exited(0)
    );
    assert_eq!(_g.payload().read_pod::<u64>(0).unwrap(), 5);
}

/// A handle opened read-only: every write it offers is refused with a
/// typed error, a store through an atomic it handed out (which nothing can
/// refuse) neither faults nor reaches the segment, and pages it never wrote
/// keep showing the segment's live bytes. The checks run in a child, so
/// that a fault is a failed test rather than a dead test binary.
fn read_only_handle_refuses_writes_and_never_faults() {
    const PAGE_B: u64 = 8192; // a payload page apart from the one written
    let name = unique("readonly");
    let seg = Segment::create(&name, 16384).unwrap();
    seg.payload().write_pod(0, &11u64).unwrap();
    let flag = Segment::anonymous(64).unwrap();
    let ready = flag.payload().get::<AtomicU64>(0).unwrap();
    let child = spawn_child(|| {
        let Ok(ro) = Segment::opener(&name).read_only().open() else {
            return 10;
        };
        let p = ro.payload();
        if !ro.is_read_only() || p.is_writable() || ro.region().is_writable() {
            return 11;
        }
        match ro.try_persist() {
            Err(ShmError::ReadOnly {
                name: n,
                operation: "persist",
            }) if n == name => {}
            _ => return 12,
        }
        ro.persist(); // documented as doing nothing on a read-only handle
        if ro.is_persistent() {
            return 13;
        }
        let refused = |r: mproc_shm::Result<()>| matches!(r, Err(ShmError::ReadOnlyRegion { .. }));
        if !(refused(p.write_bytes(0, b"x"))
            && refused(p.write_pod(0, &1u64))
            && refused(ro.region().write_pod(0, &1u64))
            && refused(p.sub(0, 64).and_then(|s| s.write_pod(0, &1u64))))
        {
            return 14;
        }
        // The one unrefusable path: a store through `&AtomicU64`.
        let Ok(word) = p.get::<AtomicU64>(0) else {
            return 15;
        };
        word.store(99, Ordering::Relaxed); // faulted before: SIGSEGV
        if word.load(Ordering::Relaxed) != 99 {
            return 16;
        }
        // Another page, never written here, still shows the segment live.
        if p.read_pod::<u64>(PAGE_B).ok() != Some(0) {
            return 17;
        }
        ready.store(1, Ordering::Release);
        let deadline = Instant::now() + Duration::from_secs(5);
        while p.read_pod::<u64>(PAGE_B).ok() != Some(42) {
            if Instant::now() > deadline {
                return 18;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        0
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while ready.load(Ordering::Acquire) == 0 && Instant::now() < deadline {
        if let Some(status) = waitpid(child, true).expect("waitpid") {
            panic!("read-only child ended early: {status:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    seg.payload().write_pod(PAGE_B, &42u64).unwrap();
    let status = wait_child(child, Duration::from_secs(10));
    assert_eq!(
        status,
        ExitStatus::Exited(0),
        "read-only handle (11+: which check)"
    );
    // Nothing the read-only handle did reached the segment.
    assert_eq!(seg.payload().read_pod::<u64>(0).unwrap(), 11);
    assert!(!seg.is_persistent());
    drop(seg);
    assert!(matches!(
        Segment::open(&name),
        Err(ShmError::NotFound { .. })
    ));
}

/// `remove_stale` does not stop at a segment it cannot unlink: it reports
/// it and removes the others. Run as `nobody`, which may read a stale
/// segment of root's (mode 0644) but not unlink it (sticky `/dev/shm`),
/// and whose own stale segment sorts after root's.
fn remove_stale_reports_what_it_cannot_unlink_and_removes_the_rest() {
    if mproc_sys::getuid() != 0 {
        println!("(skipped: needs root to switch users)");
        return;
    }
    let roots = unique("sweep-a");
    let nobodys = unique("sweep-b");
    // Two stale segments: their creators exit without unlinking.
    let make = |name: &str, as_nobody: bool| {
        let child = spawn_child(|| {
            if as_nobody && !become_nobody(true) {
                return 9;
            }
            let mode = if as_nobody { 0o600 } else { 0o644 };
            match Segment::builder(SegmentKind::Raw, 8)
                .mode(mode)
                .create(name)
            {
                Ok(seg) => {
                    std::mem::forget(seg);
                    0
                }
                Err(_) => 1,
            }
        });
        wait_child(child, Duration::from_secs(5))
    };
    let made = (make(&roots, false), make(&nobodys, true));
    let sweeper = spawn_child(|| {
        if !become_nobody(true) {
            return 9;
        }
        let Ok(sweep) = mproc_shm::remove_stale() else {
            return 1; // the sweep gave up at root's segment
        };
        if !sweep.removed.iter().any(|n| n.as_str() == nobodys) {
            return 2;
        }
        let reported = sweep.failed.iter().any(|(n, e)| {
            n.as_str() == roots
                && matches!(e, ShmError::PermissionDenied { name } if *name == roots)
        });
        if !reported {
            return 3;
        }
        0
    });
    let swept = wait_child(sweeper, Duration::from_secs(10));
    let nobodys_left = Segment::unlink(&nobodys).is_ok();
    let roots_left = Segment::unlink(&roots).is_ok();
    assert_eq!(made, (ExitStatus::Exited(0), ExitStatus::Exited(0)));
    assert_eq!(
        swept,
        ExitStatus::Exited(0),
        "sweep (1: gave up, 2: not removed, 3: not reported)"
    );
    assert!(!nobodys_left, "nobody's stale segment was left");
    assert!(
        roots_left,
        "root's segment should have survived nobody's sweep"
    );
}

fn main() {
    // Watchdog: a hung test kills the whole binary instead of hanging CI.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(120));
        eprintln!("watchdog: shm process tests exceeded 120 s");
        std::process::exit(101);
    });
    let tests: &[(&str, fn())] = &[
        ("child_writes_parent_reads", child_writes_parent_reads),
        (
            "anonymous_segment_is_shared_across_fork",
            anonymous_segment_is_shared_across_fork,
        ),
        (
            "racing_creators_exactly_one_wins",
            racing_creators_exactly_one_wins,
        ),
        (
            "creator_drop_removes_name_persisted_stays",
            creator_drop_removes_name_persisted_stays,
        ),
        (
            "opener_and_forked_copies_never_unlink",
            opener_and_forked_copies_never_unlink,
        ),
        (
            "killed_creator_is_stale_and_removed",
            killed_creator_is_stale_and_removed,
        ),
        (
            "creator_dying_mid_init_is_abandoned",
            creator_dying_mid_init_is_abandoned,
        ),
        (
            "open_waits_for_a_live_creator_to_finish",
            open_waits_for_a_live_creator_to_finish,
        ),
        (
            "inspect_survives_a_file_shrunk_under_it",
            inspect_survives_a_file_shrunk_under_it,
        ),
        (
            "a_write_only_creator_removes_its_name",
            a_write_only_creator_removes_its_name,
        ),
        (
            "mode_0600_denies_other_users_and_a_group_mode_admits_them",
            mode_0600_denies_other_users_and_a_group_mode_admits_them,
        ),
        (
            "read_only_handle_refuses_writes_and_never_faults",
            read_only_handle_refuses_writes_and_never_faults,
        ),
        (
            "remove_stale_reports_what_it_cannot_unlink_and_removes_the_rest",
            remove_stale_reports_what_it_cannot_unlink_and_removes_the_rest,
        ),
    ];
    let mut failed = 0;
    for (name, test) in tests {
        let ok = std::panic::catch_unwind(test).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        failed += usize::from(!ok);
    }
    println!();
    println!(
        "test result: {}. {} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" },
        tests.len() - failed
    );
    std::process::exit(i32::from(failed > 0));
}
