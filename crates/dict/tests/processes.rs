//! Real processes: forked children share dicts (and values and arrays)
//! with the parent. Run sequentially from a plain `main` (no test harness
//! threads, so forking is safe); children do their work and leave through
//! `exit_immediately`; every wait is bounded, and a watchdog process kills
//! the whole run if it hangs.
//!
//! `MPROC_TORTURE_ROUNDS` sets the rounds of the crash loop (default 50;
//! the torture size is 200).

mod common;

use std::time::{Duration, Instant};

use common::{BOUND, assert_all_ok, run, shm_names, spawn, wait_all, wait_for, watchdog};
use mproc_dict::{Array, Dict, DictError, DictOptions, Manager, TypedDict, Value};
use mproc_sys::{ExitStatus, ForkResult, Signal, exit_immediately, fork, kill, waitpid};

const WATCHDOG: Duration = Duration::from_secs(150);

fn u64_of(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().unwrap_or([0xff; 8]))
}

fn disjoint_and_overlapping_inserts() {
    let d = Dict::new(DictOptions::new().capacity(64)).unwrap();
    let pids: Vec<i32> = (0u64..4)
        .map(|p| {
            let d = d.clone();
            spawn(move || {
                for j in 0u64..3000 {
                    let k = (p * 1_000_000 + j).to_le_bytes();
                    if d.insert(&k, &(p * 7 + j).to_le_bytes()).is_err() {
                        return 1;
                    }
                    // Overlapping keys: every process writes its id.
                    if d.insert(format!("o{j}").as_bytes(), &p.to_le_bytes())
                        .is_err()
                    {
                        return 2;
                    }
                }
                0
            })
        })
        .collect();
    assert_all_ok(&wait_all(&pids, Duration::from_secs(60)));
    assert_eq!(d.len().unwrap(), 4 * 3000 + 3000);
    for p in 0u64..4 {
        for j in 0u64..3000 {
            let v = d.get(&(p * 1_000_000 + j).to_le_bytes()).unwrap().unwrap();
            assert_eq!(u64_of(&v), p * 7 + j);
        }
    }
    for j in 0u64..3000 {
        let v = d.get(format!("o{j}").as_bytes()).unwrap().unwrap();
        assert!(u64_of(&v) < 4);
    }
}

fn update_counter_exact() {
    const PER: u64 = 100_000;
    let d = Dict::new(DictOptions::new()).unwrap();
    let pids: Vec<i32> = (0..4)
        .map(|p: u64| {
            let d = d.clone();
            spawn(move || {
                for i in 0..PER {
                    // One key everybody hammers, one per process.
                    let r = d.update(b"total", |v| Some((v.map_or(0, u64_of) + 1).to_le_bytes()));
                    let s = d.update(&p.to_le_bytes(), |v| {
                        Some((v.map_or(0, u64_of) + 1).to_le_bytes())
                    });
                    if r.is_err() || s.is_err() {
                        return 1;
                    }
                    if i % 10_000 == 0 && d.get(b"total").ok().flatten().is_none() {
                        return 2;
                    }
                }
                0
            })
        })
        .collect();
    assert_all_ok(&wait_all(&pids, Duration::from_secs(90)));
    assert_eq!(u64_of(&d.get(b"total").unwrap().unwrap()), 4 * PER);
    for p in 0u64..4 {
        assert_eq!(u64_of(&d.get(&p.to_le_bytes()).unwrap().unwrap()), PER);
    }
}

fn growth_while_others_read_and_write() {
    let d = Dict::new(DictOptions::new().capacity(1)).unwrap();
    for k in 0u64..100 {
        d.insert(&k.to_le_bytes(), &(k * 3).to_le_bytes()).unwrap();
    }
    let mut pids = Vec::new();
    for w in 0u64..2 {
        let d = d.clone();
        // Writers: many new keys with growing values: the table grows
        // many times.
        pids.push(spawn(move || {
            for j in 0u64..4000 {
                let k = (1_000 + w * 100_000 + j).to_le_bytes();
                if d.insert(&k, &vec![w as u8; (j % 300) as usize]).is_err() {
                    return 1;
                }
            }
            0
        }));
    }
    for _ in 0..2 {
        let d = d.clone();
        // Readers and updaters of the first keys, all through growth.
        pids.push(spawn(move || {
            for round in 0..300u64 {
                for k in 0u64..100 {
                    match d.get(&k.to_le_bytes()) {
                        Ok(Some(v)) if u64_of(&v).is_multiple_of(3) => {}
                        _ => return 3,
                    }
                }
                if d.update(&(round % 100).to_le_bytes(), |v| {
                    Some((v.map_or(0, u64_of) + 3).to_le_bytes())
                })
                .is_err()
                {
                    return 4;
                }
            }
            0
        }));
    }
    assert_all_ok(&wait_all(&pids, Duration::from_secs(90)));
    assert_eq!(d.len().unwrap(), 100 + 2 * 4000);
    let s = d.stats().unwrap();
    assert!(s.generation >= 5, "{s:?}");
    let bumps: u64 = (0u64..100)
        .map(|k| u64_of(&d.get(&k.to_le_bytes()).unwrap().unwrap()) - k * 3)
        .sum();
    assert_eq!(bumps, 2 * 300 * 3);
}

/// A value the crash loop writes: self-describing, so that a torn or
/// foreign value is caught.
fn crash_value(key: u64, nonce: u64) -> Vec<u8> {
    let len = 16 + (nonce % 700) as usize;
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&key.to_le_bytes());
    v.extend_from_slice(&nonce.to_le_bytes());
    v.extend((16..len).map(|i| (key as usize ^ nonce as usize ^ i) as u8));
    v
}

fn crash_value_ok(key: u64, v: &[u8]) -> bool {
    v.len() >= 16 && u64_of(&v[..8]) == key && crash_value(key, u64_of(&v[8..16])) == v
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn crash_loop() {
    let rounds: u64 = std::env::var("MPROC_TORTURE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Named, so that a half-made generation (a kill during growth) can be
    // seen in /dev/shm.
    // A fresh tiny dict every few rounds, so kills land in growth too
    // (a small table grows fourfold, so it grows only a few times).
    const FRESH_EVERY: u64 = 4;
    let name = |round: u64| {
        format!(
            "test-dict-crash-{}-{}",
            mproc_sys::getpid(),
            round / FRESH_EVERY
        )
    };
    let mut d = Dict::create(&name(0), DictOptions::new().capacity(1)).unwrap();
    let mut recoveries_seen = 0;
    let mut last_recoveries = 0;
    let mut growth_kills = 0;
    for round in 0..rounds {
        if round % FRESH_EVERY == 0 && round > 0 {
            d = Dict::create(&name(round), DictOptions::new().capacity(1)).unwrap();
            last_recoveries = 0;
        }
        let seed = rng.next() | 1;
        let child = {
            let d = d.clone();
            spawn(move || {
                let mut r = Rng(seed);
                loop {
                    let key = r.next() % 300;
                    let k = key.to_le_bytes();
                    let nonce = r.next();
                    let ok = match r.next() % 4 {
                        0 | 1 => d.insert(&k, &crash_value(key, nonce)).is_ok(),
                        2 => d.remove(&k).is_ok(),
                        _ => d
                            .update(&k, |cur| match cur {
                                Some(_) if nonce.is_multiple_of(3) => None,
                                _ => Some(crash_value(key, nonce)),
                            })
                            .is_ok(),
                    };
                    if !ok {
                        return 1;
                    }
                }
            })
        };
        let delay = Duration::from_micros(200 + rng.next() % 3000);
        std::thread::sleep(delay);
        kill(child, Signal::Kill).unwrap();
        let status = waitpid(child, false).unwrap();
        assert_eq!(
            status,
            Some(ExitStatus::Signaled(9)),
            "the writer failed on its own"
        );
        // Generations only grow: a segment past the newest one a fresh
        // handle sees is a growth the writer did not finish.
        let fresh = Dict::open(&name(round)).unwrap();
        let seen = fresh.stats().unwrap().generation;
        let next = format!(
            "/dev/shm/mproc.{}",
            fresh.generation_segment(seen + 1).unwrap()
        );
        if std::path::Path::new(&next).exists() {
            growth_kills += 1;
        }

        // Everything works, every value is complete, len is exact, and no
        // arena byte is lost.
        let items = d.items().unwrap();
        for (k, v) in &items {
            assert!(
                crash_value_ok(u64_of(k), v),
                "round {round}: torn value for {k:?}"
            );
        }
        assert_eq!(d.len().unwrap(), items.len(), "round {round}");
        let mut present = 0;
        for key in 0u64..300 {
            if let Some(v) = d.get(&key.to_le_bytes()).unwrap() {
                assert!(crash_value_ok(key, &v));
                present += 1;
            }
        }
        assert_eq!(present, items.len());
        let s = d.stats().unwrap();
        assert_eq!(s.entries as usize, items.len());
        assert_eq!(
            s.live_bytes + s.free_bytes + s.unused_bytes,
            s.arena_bytes,
            "round {round}: {s:?}"
        );
        if s.recoveries > last_recoveries {
            recoveries_seen += 1;
        }
        last_recoveries = s.recoveries;
        // And the dict still takes writes.
        d.insert(b"after", &round.to_le_bytes()).unwrap();
        assert!(d.remove(b"after").unwrap().is_some());
    }
    drop(d);
    eprint!(
        "({rounds} rounds, recovery ran after {recoveries_seen}, {growth_kills} killed mid-growth) "
    );
}

/// The creator's drop removes a named dict's names; a process that opened
/// it by name and still maps generation 0, which the creator grew past,
/// gets a typed error on its next operation (not `NotFound` after retries),
/// and nothing is left in /dev/shm.
fn a_process_behind_a_growth_gets_a_typed_error_after_the_creator_drops() {
    let name = format!("test-dict-proc-behind-{}", mproc_sys::getpid());
    let step = Value::new(0u8).unwrap();
    let a = Dict::create(&name, DictOptions::new().capacity(4)).unwrap();
    a.insert(b"k", b"v").unwrap();
    let child = {
        let (step, name) = (&step, name.clone());
        spawn(move || {
            let Ok(b) = Dict::open(&name) else { return 1 };
            if step.set(1).is_err() {
                return 2;
            }
            let deadline = Instant::now() + BOUND;
            while step.get().ok() != Some(2) {
                if Instant::now() > deadline {
                    return 3;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            match b.get(b"k") {
                Err(DictError::GenerationRemoved { generation, .. }) if generation > 0 => 0,
                _ => 4,
            }
        })
    };
    wait_for("the child to open the dict", || step.get().unwrap() == 1);
    let mut i = 0u32;
    while a.stats().unwrap().generation == 0 {
        a.insert(&i.to_le_bytes(), b"x").unwrap();
        i += 1;
        assert!(i < 100_000, "never grew");
    }
    drop(a);
    assert!(Dict::open(&name).is_err(), "the name went with the creator");
    step.set(2).unwrap();
    assert_all_ok(&wait_all(&[child], Duration::from_secs(60)));
    let left = shm_names(&name);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Two users share a dict made with `mode(0o666)`: a table grown by the
/// other user gets the dict's mode too, so the creator reads on (with
/// the default `0o600` it could not open it). Needs root, to become two
/// users; skipped otherwise.
fn a_table_grown_by_another_user_keeps_the_dicts_mode() {
    if mproc_sys::getuid() != 0 {
        eprintln!("    skipped: needs root to run children as two users");
        return;
    }
    let name = format!("test-dict-proc-mode-{}", mproc_sys::getpid());
    let step = &Value::new(0u8).unwrap();
    let become_user = |uid: u32| mproc_sys::setgid(uid).and_then(|()| mproc_sys::setuid(uid));
    let wait_step = |want: u8| {
        let deadline = Instant::now() + BOUND;
        while step.get().ok() != Some(want) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    };
    let creator = {
        let name = name.clone();
        spawn(move || {
            if become_user(65534).is_err() {
                return 1;
            }
            let opts = DictOptions::new().capacity(4).mode(0o666);
            let Ok(d) = Dict::create(&name, opts) else {
                return 2;
            };
            if d.insert(b"k", b"v").is_err() || step.set(1).is_err() || !wait_step(2) {
                return 3;
            }
            // The grower's keys, in the table it made.
            for i in 0u32..200 {
                match d.get(&i.to_le_bytes()) {
                    Ok(Some(v)) if v == b"x" => {}
                    Err(DictError::Shm(mproc_shm::ShmError::PermissionDenied { .. })) => return 4,
                    _ => return 5,
                }
            }
            if d.stats().map(|s| s.generation).unwrap_or(0) == 0 {
                return 6;
            }
            0
        })
    };
    wait_for("the creator to make the dict", || step.get().unwrap() == 1);
    let grower = {
        let name = name.clone();
        spawn(move || {
            if become_user(65533).is_err() {
                return 1;
            }
            let Ok(d) = Dict::open(&name) else { return 2 };
            for i in 0u32..200 {
                if d.insert(&i.to_le_bytes(), b"x").is_err() {
                    return 3;
                }
            }
            match d.stats() {
                Ok(s) if s.generation > 0 => {}
                _ => return 4,
            }
            if step.set(2).is_err() { 5 } else { 0 }
        })
    };
    assert_all_ok(&wait_all(&[grower, creator], Duration::from_secs(60)));
    // Neither user may unlink the other's files in the sticky /dev/shm:
    // the tables the creator could not remove are removed here.
    for left in shm_names(&name) {
        let _ = mproc_shm::Segment::unlink(left.trim_start_matches("mproc."));
    }
    let left = shm_names(&name);
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn value_and_array_across_processes() {
    let counter = Value::new(0u64).unwrap();
    let slots = Array::<u64>::new(4).unwrap();
    let named = Value::create("test-dict-proc-value", 1.0f64).unwrap();
    let pids: Vec<i32> = (0..4usize)
        .map(|p| {
            let (counter, slots) = (&counter, &slots);
            spawn(move || {
                let Ok(v) = Value::<f64>::open("test-dict-proc-value") else {
                    return 5;
                };
                for _ in 0..5000 {
                    // Python's `with v.get_lock(): v.value += 1`.
                    let Ok(mut g) = counter.lock() else { return 1 };
                    *g += 1;
                    drop(g);
                    if slots.update(p, |x| x + 2).is_err() {
                        return 2;
                    }
                }
                if v.update(|x| x * 2.0).is_err() {
                    return 3;
                }
                0
            })
        })
        .collect();
    assert_all_ok(&wait_all(&pids, Duration::from_secs(60)));
    assert_eq!(counter.get().unwrap(), 20_000);
    assert_eq!(slots.to_vec().unwrap(), vec![10_000; 4]);
    assert_eq!(named.get().unwrap(), 16.0);
}

fn value_holder_killed() {
    let v = Value::new(7u64).unwrap();
    let ready = Value::new(0u8).unwrap();
    let child = {
        let (v, ready) = (&v, &ready);
        spawn(move || {
            let Ok(mut held) = v.lock() else { return 1 };
            *held = 8;
            if ready.set(1).is_err() {
                return 2;
            }
            std::thread::sleep(Duration::from_secs(30));
            0
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready.get().unwrap() == 0 {
        assert!(Instant::now() < deadline, "the child never took the lock");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Alive, the holder keeps it from a waiter with a timeout.
    assert!(matches!(
        v.lock_timeout(Duration::from_millis(50)),
        Err(mproc_dict::DictError::LockTimeout {
            locked: mproc_dict::Locked::Value,
            ..
        })
    ));
    kill(child, Signal::Kill).unwrap();
    assert_eq!(
        waitpid(child, false).unwrap(),
        Some(ExitStatus::Signaled(9))
    );
    // Dead, it is taken over even by a wait shorter than the first check
    // that the holder lives.
    let g = v.lock_timeout(Duration::from_millis(1)).unwrap();
    assert!(g.owner_died(), "the holder's death was not reported");
    assert_eq!(*g, 8);
    drop(g);
    assert!(!v.lock().unwrap().owner_died());
    assert_eq!(v.update(|x| x + 1).unwrap(), 9);
}

fn typed_dict_across_processes() {
    let d: TypedDict<String, Vec<u32>> = TypedDict::new(DictOptions::new()).unwrap();
    let pids: Vec<i32> = (0..3u32)
        .map(|p| {
            let d = d.clone();
            spawn(move || {
                for i in 0..200u32 {
                    let ok = d.update(&format!("k{}", i % 10), |v| {
                        let mut v = v.cloned().unwrap_or_default();
                        v.push(p);
                        Some(v)
                    });
                    if ok.is_err() {
                        return 1;
                    }
                }
                0
            })
        })
        .collect();
    assert_all_ok(&wait_all(&pids, Duration::from_secs(60)));
    let total: usize = d.values().unwrap().iter().map(Vec::len).sum();
    assert_eq!(total, 600);
    assert_eq!(d.len().unwrap(), 10);
}

fn manager_across_processes() {
    let m = Manager::create("test-dict-proc-manager").unwrap();
    let pids: Vec<i32> = (0..3u64)
        .map(|p| {
            spawn(move || {
                let Ok(m) = Manager::open("test-dict-proc-manager") else {
                    return 1;
                };
                let (Ok(d), Ok(lock), Ok(done)) = (
                    m.dict("squares", DictOptions::new()),
                    m.lock("lock"),
                    m.value("done", 0u32),
                ) else {
                    return 2;
                };
                for k in p * 10..p * 10 + 10 {
                    let Ok(_held) = lock.lock() else { return 3 };
                    if d.insert(&k.to_le_bytes(), &(k * k).to_le_bytes()).is_err() {
                        return 4;
                    }
                }
                if done.update(|n| n + 1).is_err() {
                    return 5;
                }
                0
            })
        })
        .collect();
    assert_all_ok(&wait_all(&pids, Duration::from_secs(60)));
    let d = m.dict("squares", DictOptions::new()).unwrap();
    assert_eq!(d.len().unwrap(), 30);
    assert_eq!(m.value("done", 0u32).unwrap().get().unwrap(), 3);
    let mut names: Vec<String> = m.names().unwrap().into_iter().map(|(n, _)| n).collect();
    names.sort();
    assert_eq!(names, ["done", "lock", "squares"]);
    drop(d);
    drop(m);
    let left: Vec<String> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains("test-dict-proc-manager"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A live process inside an `update` closure holds the key's shard: a
/// handle with a lock timeout gets `LockTimeout` (a whole-dict `len` too),
/// and once the holder is killed it takes the shard over within the same
/// timeout.
fn lock_timeout_against_a_live_then_dead_holder() {
    let d = Dict::new(DictOptions::new()).unwrap();
    d.insert(b"k", b"v").unwrap();
    let ready = Value::new(0u8).unwrap();
    let child = {
        let (d, ready) = (d.clone(), &ready);
        spawn(move || {
            let held = d.update(b"k", |_| {
                let _ = ready.set(1);
                std::thread::sleep(Duration::from_secs(30));
                Some(b"never".to_vec())
            });
            if held.is_err() { 1 } else { 2 }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready.get().unwrap() == 0 {
        assert!(Instant::now() < deadline, "the child never took the shard");
        std::thread::sleep(Duration::from_millis(1));
    }
    let timeout = Duration::from_millis(100);
    let mut impatient = d.clone();
    impatient.set_lock_timeout(Some(timeout));
    for _ in 0..2 {
        match impatient.get(b"k") {
            Err(mproc_dict::DictError::LockTimeout {
                locked: mproc_dict::Locked::Shard(_),
                timeout: t,
            }) => assert_eq!(t, timeout),
            other => panic!("a live holder must time the get out, got {other:?}"),
        }
    }
    assert!(matches!(
        impatient.len(),
        Err(mproc_dict::DictError::LockTimeout { .. })
    ));
    kill(child, Signal::Kill).unwrap();
    assert_eq!(
        waitpid(child, false).unwrap(),
        Some(ExitStatus::Signaled(9))
    );
    // The dead holder is found (its lookup comes a few milliseconds into
    // the wait) and its shard repaired: the update never happened.
    assert_eq!(impatient.get(b"k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(impatient.len().unwrap(), 1);
}

/// Forks a child that runs `f`; the parent drops its copy of `f`, handing
/// what it captured to the child, as `Process::start` does.
fn spawn_handing_over(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: this test binary is single-threaded when it forks; the child
    // runs `f` and leaves through `_exit`.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let _ = mproc_sys::set_parent_death_signal(Some(Signal::Kill));
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
            exit_immediately(code)
        }
        ForkResult::Parent { child } => {
            mproc_sys::while_handing_over_to(child, || drop(f));
            child
        }
    }
}

/// A dict moved into a child's closure is the child's: the parent's copy
/// (dropped as the child starts) removes nothing, so a named dict still
/// opens by name, and the child's copy removes the root and every table,
/// including those it grew, when the child is done (they were unlinked as
/// the child started, or, for tables grown in the child, left behind).
fn a_dict_a_child_captured_is_the_childs() {
    let go = Value::new(0u64).unwrap();
    let before = shm_names("mproc.");
    let name = format!("dict-test-handover-{}", std::process::id());
    for named in [true, false] {
        go.set(0).unwrap();
        let opts = DictOptions::new().capacity(16);
        let d = if named {
            Dict::create(&name, opts).unwrap()
        } else {
            Dict::new(opts).unwrap()
        };
        let go_ref = &go;
        let child = spawn_handing_over(move || {
            let deadline = Instant::now() + BOUND;
            while go_ref.get().unwrap() == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            // Grows the table several times over.
            for k in 0u64..2000 {
                d.insert(&k.to_le_bytes(), &k.to_le_bytes()).unwrap();
            }
            0
        });
        let opened = named.then(|| Dict::open(&name));
        go.set(1).unwrap();
        assert_all_ok(&wait_all(&[child], BOUND));
        // Opened while the child was about to grow it (its tables are gone
        // now that the child is done).
        if let Some(opened) = opened {
            assert!(opened.is_ok(), "{:?}", opened.err());
        }
        let left: Vec<String> = shm_names("mproc.")
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

/// Waits (bounded) until `v` holds at least `at`.
fn wait_for_stage(v: &Value<u64>, at: u64) {
    let deadline = Instant::now() + BOUND;
    while v.get().unwrap() < at && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A dict moved into a child's closure, which the child moves on into a
/// grandchild's: the child's copy, dropped as the grandchild starts,
/// removes nothing (it removed the root and the tables then, so the name
/// no longer opened while the grandchild used the dict), and the
/// grandchild's copy removes everything when done.
fn a_dict_handed_on_to_a_grandchild_is_the_grandchilds() {
    let stage = Value::new(0u64).unwrap();
    let before = shm_names("mproc.");
    let name = format!("dict-test-hand-on-{}", std::process::id());
    let d = Dict::create(&name, DictOptions::new().capacity(16)).unwrap();
    let stage_ref = &stage;
    let child = spawn_handing_over(move || {
        // Once the parent has handed `d` over.
        wait_for_stage(stage_ref, 1);
        let grandchild = spawn_handing_over(move || {
            wait_for_stage(stage_ref, 3);
            for k in 0u64..2000 {
                d.insert(&k.to_le_bytes(), &k.to_le_bytes()).unwrap();
            }
            0
        });
        stage_ref.set(2).unwrap();
        assert_all_ok(&wait_all(&[grandchild], BOUND));
        0
    });
    stage.set(1).unwrap();
    wait_for_stage(&stage, 2);
    let opened = Dict::open(&name);
    stage.set(3).unwrap();
    assert_all_ok(&wait_all(&[child], BOUND));
    let ok = opened.is_ok();
    drop(opened);
    let left: Vec<String> = shm_names("mproc.")
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    for n in &left {
        let _ = std::fs::remove_file(format!("/dev/shm/{n}"));
    }
    assert!(
        ok,
        "the dict could not be opened while the grandchild had it"
    );
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn main() {
    let dog = watchdog(WATCHDOG);
    run(
        "disjoint_and_overlapping_inserts",
        disjoint_and_overlapping_inserts,
    );
    run("update_counter_exact", update_counter_exact);
    run(
        "growth_while_others_read_and_write",
        growth_while_others_read_and_write,
    );
    run(
        "a_process_behind_a_growth_gets_a_typed_error_after_the_creator_drops",
        a_process_behind_a_growth_gets_a_typed_error_after_the_creator_drops,
    );
    run(
        "a_table_grown_by_another_user_keeps_the_dicts_mode",
        a_table_grown_by_another_user_keeps_the_dicts_mode,
    );
    run(
        "value_and_array_across_processes",
        value_and_array_across_processes,
    );
    run("value_holder_killed", value_holder_killed);
    run(
        "lock_timeout_against_a_live_then_dead_holder",
        lock_timeout_against_a_live_then_dead_holder,
    );
    run("typed_dict_across_processes", typed_dict_across_processes);
    run("manager_across_processes", manager_across_processes);
    run(
        "a_dict_a_child_captured_is_the_childs",
        a_dict_a_child_captured_is_the_childs,
    );
    run(
        "a_dict_handed_on_to_a_grandchild_is_the_grandchilds",
        a_dict_handed_on_to_a_grandchild_is_the_grandchilds,
    );
    run("crash_loop", crash_loop);
    let _ = kill(dog, Signal::Kill);
    let _ = waitpid(dog, false);
}
