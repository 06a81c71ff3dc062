//! `mproc ls` and `inspect` read each kind's statistics, from segments of
//! every kind this test creates, without joining in (no producer or
//! consumer registered, no lock taken) and without crashing on a hostile
//! peer's garbage.

mod common;

use common::{Planted, RawHeader, mproc, unique};
use mproc_dict::{Array, Dict, DictOptions, Manager, Value};
use mproc_queue::{JoinableQueue, Queue, QueueOptions, SpscQueue, WaitStrategy};
use mproc_shm::Segment;
use mproc_sync::{Barrier, BoundedSemaphore, Event, Lock, RLock, Semaphore};
use serde_json::Value as Json;

/// `mproc inspect --json NAME`'s `stats`.
fn stats_of(name: &str) -> Json {
    let out = mproc(&["inspect", "--json", name]).ok();
    let report: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    report["stats"].clone()
}

/// The DETAILS column of `name`'s `ls` line.
fn details_of(name: &str) -> String {
    let run = mproc(&["ls", "--prefix", name]);
    let line = run.line_of(name);
    let cols: Vec<&str> = line.split_whitespace().collect();
    // NAME KIND SIZE(2 words) CREATOR ALIVE PERSIST DETAILS...
    cols[7..].join(" ")
}

fn opts() -> QueueOptions {
    QueueOptions::new().capacity(8).slot_size(32)
}

#[test]
fn queue_numbers_without_registering() {
    let name = unique("queue");
    let q = Queue::create(&name, opts()).unwrap();
    let mut tx = q.producer().unwrap();
    let mut rx = q.consumer().unwrap();
    for m in [b"a", b"b", b"c"] {
        tx.send(m).unwrap();
    }
    rx.recv().unwrap();
    let s = stats_of(&name);
    assert_eq!(s["type"], "queue");
    for (field, want) in [
        ("capacity", 8),
        ("slot_size", 32),
        ("depth", 2),
        ("producers", 1),
        ("consumers", 1),
        ("sent", 3),
        ("received", 1),
        ("abandoned", 0),
    ] {
        assert_eq!(s[field], want, "{field}: {s}");
    }
    assert_eq!(s["closed"], false);
    assert_eq!(s["unfinished"], Json::Null);
    assert_eq!(
        details_of(&name),
        "depth 2/8, 1 producer, 1 consumer, sent 3, received 1, abandoned 0"
    );
    // Reading joined nothing.
    let after = q.stats();
    assert_eq!((after.producers, after.consumers), (1, 1));
    q.close();
    assert!(details_of(&name).ends_with(", closed"));
}

#[test]
fn a_parked_consumer_shows_as_asleep() {
    let name = unique("asleep");
    let q = Queue::create(&name, opts().wait(WaitStrategy::Park)).unwrap();
    let mut tx = q.producer().unwrap();
    assert_eq!(stats_of(&name)["sleepers"], 0);
    std::thread::scope(|s| {
        let sleeper = s.spawn(|| {
            let mut rx = q.consumer().unwrap();
            rx.recv_timeout(std::time::Duration::from_secs(10))
        });
        // The consumer wakes for its checks every 20 ms, uncounted for a
        // moment: a snapshot may fall there, the next one not.
        let start = std::time::Instant::now();
        let s = loop {
            let s = stats_of(&name);
            if s["sleepers"] != 0 {
                break s;
            }
            assert!(start.elapsed().as_secs() < 10, "the consumer never slept");
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        tx.send(b"wake").unwrap();
        assert_eq!(s["sleepers"], 1, "{s}");
        assert_eq!(sleeper.join().unwrap().unwrap(), b"wake");
    });
    assert_eq!(stats_of(&name)["sleepers"], 0);
}

#[test]
fn spsc_and_joinable_queues() {
    let spsc = unique("spsc");
    let q = SpscQueue::create(&spsc, opts()).unwrap();
    q.producer().unwrap().send(b"x").unwrap();
    let s = stats_of(&spsc);
    assert_eq!(
        (s["depth"].as_u64(), s["producers"].as_u64()),
        (Some(1), Some(0))
    );

    let joinable = unique("joinable");
    let j = JoinableQueue::create(&joinable, opts()).unwrap();
    let mut tx = j.producer().unwrap();
    tx.send(b"task").unwrap();
    tx.send(b"task").unwrap();
    assert_eq!(stats_of(&joinable)["unfinished"], 2);
    assert!(details_of(&joinable).ends_with("unfinished 2"));
}

#[test]
fn lock_held_and_by_whom() {
    let name = unique("lock");
    let lock = Lock::create(&name).unwrap();
    assert_eq!(details_of(&name), "free");
    let guard = lock.lock().unwrap();
    let s = stats_of(&name);
    let me = std::process::id();
    assert_eq!(s["type"], "lock");
    assert_eq!(s["held"], true);
    assert_eq!(s["holder_pid"], me);
    assert_eq!(s["holder_tid"], mproc_sys::gettid());
    assert_eq!(s["holder_alive"], true);
    assert!(details_of(&name).starts_with(&format!("held by pid {me}")));
    drop(guard);
    assert_eq!(stats_of(&name)["held"], false);
}

#[test]
fn rlock_counts_its_holds() {
    let name = unique("rlock");
    let lock = RLock::create(&name).unwrap();
    let _a = lock.lock().unwrap();
    let _b = lock.lock().unwrap();
    let s = stats_of(&name);
    assert_eq!(
        (s["held"].as_bool(), s["count"].as_u64()),
        (Some(true), Some(2))
    );
    assert_eq!(s["holder_pid"], std::process::id());
}

#[test]
fn semaphores_events_and_barriers() {
    let sem = unique("sem");
    let _s = Semaphore::create(&sem, 3).unwrap();
    assert_eq!(details_of(&sem), "value 3");
    let bounded = unique("bsem");
    let b = BoundedSemaphore::create(&bounded, 2).unwrap();
    assert!(b.try_acquire());
    assert_eq!(details_of(&bounded), "value 1 of 2");

    let ev = unique("event");
    let e = Event::create(&ev).unwrap();
    assert_eq!(details_of(&ev), "clear");
    e.set();
    assert_eq!(
        stats_of(&ev),
        serde_json::json!({"type": "event", "set": true})
    );

    let bar = unique("barrier");
    let _b = Barrier::create(&bar, 3).unwrap();
    assert_eq!(details_of(&bar), "0 of 3 parties waiting");
}

/// A named pipe's two rings, each way, read without registering.
#[test]
fn a_pipe_shows_both_directions() {
    let name = unique("pipe");
    let mut creator = mproc_queue::Pipe::create(&name, opts()).unwrap();
    creator.send(b"one").unwrap();
    creator.send(b"two").unwrap();
    let mut opener = mproc_queue::Pipe::open(&name).unwrap();
    opener.send(b"back").unwrap();
    let s = stats_of(&name);
    assert_eq!(s["type"], "pipe");
    assert_eq!(s["to_opener"]["depth"], 2);
    assert_eq!(s["to_opener"]["producers"], 1);
    assert_eq!(s["to_creator"]["depth"], 1);
    assert!(
        details_of(&name).starts_with("to opener: depth 2/"),
        "{}",
        details_of(&name)
    );
    let text = mproc(&["inspect", &name]).ok();
    assert!(text.contains("direction:   opener to creator"), "{text}");
    // Reading registered nothing: the opener's end still receives.
    assert_eq!(opener.recv().unwrap(), b"one");
}

#[test]
fn dict_root_and_its_table() {
    let name = unique("dict");
    let d = Dict::create(&name, DictOptions::new()).unwrap();
    for k in [b"a", b"b", b"c"] {
        d.insert(k, b"value").unwrap();
    }
    let s = stats_of(&name);
    assert_eq!(s["type"], "dict");
    assert_eq!(s["len"], 3);
    assert_eq!(s["generation"], 0);
    assert_eq!(s["bytes_used"], d.stats().unwrap().live_bytes);
    assert!(details_of(&name).starts_with("len 3, generation 0, "));
    let table = d.generation_segment(0).unwrap();
    let t = stats_of(&table);
    assert_eq!(t["type"], "dict_table");
    assert_eq!(t["generation"], 0);
    assert!(details_of(&table).starts_with("table generation 0, "));
    // Long labels keep a space before their value.
    let text = mproc(&["inspect", &name]).ok();
    assert!(text.contains("bytes unused: "), "{text}");
    let text = mproc(&["inspect", &table]).ok();
    assert!(text.contains("buckets/shard: "), "{text}");
}

#[test]
fn values_and_arrays() {
    let v = unique("value");
    let value = Value::<u64>::create(&v, 42).unwrap();
    let s = stats_of(&v);
    assert_eq!(s["type"], "elements");
    assert_eq!(
        (s["len"].as_u64(), s["element_size"].as_u64()),
        (Some(1), Some(8))
    );
    assert_eq!(s["lock"]["held"], false);
    assert_eq!(details_of(&v), "1 element of 8 bytes, lock free");
    let guard = value.lock().unwrap();
    assert_eq!(stats_of(&v)["lock"]["held"], true);
    drop(guard);

    let a = unique("array");
    let _array = Array::<f64>::create(&a, &[1.0, 2.0, 3.0]).unwrap();
    assert_eq!(details_of(&a), "3 elements of 8 bytes, lock free");
}

#[test]
fn garbage_over_a_live_queue_is_reported_not_fatal() {
    let name = unique("hostile");
    let q = Queue::create(&name, opts()).unwrap();
    q.producer().unwrap().send(b"m").unwrap();
    // A hostile peer scribbles over the index lines and handle records.
    let peer = Segment::open(&name).unwrap();
    let junk = vec![0xFF; peer.payload().len().min(4096)];
    peer.payload().write_bytes(0, &junk).unwrap();
    let run = mproc(&["ls", "--prefix", &name]);
    let line = run.line_of(&name);
    assert!(line.contains(" queue "), "{line}");
    let out = mproc(&["inspect", "--json", &name]).ok();
    let report: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(report["status"], "ready");
    // Whatever the queue crate makes of the garbage, a number or an error,
    // the command survives and says which.
    assert!(
        report["stats"].is_object() || report["reason"].is_string(),
        "{report}"
    );
    run.ok();
}

#[test]
fn a_header_of_a_known_kind_with_a_foreign_layout_is_reported() {
    for (kind, tag) in [(17u32, "queue"), (32, "dict"), (2, "lock"), (33, "value")] {
        let mut h = RawHeader::dead_creator(4096);
        h.kind = kind;
        let planted = Planted::new(tag, &h.bytes());
        let out = mproc(&["inspect", "--json", &planted.name]).ok();
        let report: Json = serde_json::from_str(&out).unwrap();
        assert_eq!(report["kind"], tag);
        assert_eq!(report["stats"], Json::Null, "{report}");
        let reason = report["reason"].as_str().unwrap_or_default();
        assert!(reason.starts_with("statistics unreadable: "), "{report}");
        let run = mproc(&["ls", "--prefix", &planted.name]);
        assert!(
            run.line_of(&planted.name)
                .contains("statistics unreadable: ")
        );
    }
}

#[test]
fn watch_shows_queue_rates() {
    let name = unique("watchq");
    let q = Queue::create(&name, opts()).unwrap();
    let _tx = q.producer().unwrap();
    let out = mproc(&["watch", &name, "--interval", "20ms", "--count", "2"]).ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("{name}  depth 0/8  in -  out -  producers 1  consumers 0  abandoned 0")
    );
    assert_eq!(
        lines[1],
        format!("{name}  depth 0/8  in 0/s  out 0/s  producers 1  consumers 0  abandoned 0")
    );
}

#[test]
fn rm_of_a_dict_removes_its_tables() {
    let name = unique("rmdict");
    let d = Dict::create(&name, DictOptions::new()).unwrap();
    let table = d.generation_segment(0).unwrap();
    let note = format!(
        " (its creator, pid {}, is still running)",
        std::process::id()
    );
    let dry = mproc(&["rm", "--dry-run", &name]).ok();
    assert_eq!(
        dry,
        format!("would remove {name}{note}\nwould remove {table} (table of dict {name})\n")
    );
    assert!(common::exists(&table));
    mproc(&["rm", &name]).ok();
    assert!(!common::exists(&name) && !common::exists(&table));
    drop(d);
}

#[test]
fn a_manager_lists_its_objects_and_rm_takes_them_along() {
    let prefix = unique("mgr");
    let m = Manager::create(&prefix).unwrap();
    let d = m.dict("scores", DictOptions::new()).unwrap();
    let table = d.generation_segment(0).unwrap();
    let _q = m.queue("jobs", opts()).unwrap();
    let s = stats_of(&prefix);
    assert_eq!(s["type"], "manager");
    assert_eq!(
        s["objects"],
        serde_json::json!([
            {"name": format!("{prefix}.scores"), "kind": "dict"},
            {"name": format!("{prefix}.jobs"), "kind": "queue"},
        ])
    );
    let note = format!(
        " (its creator, pid {}, is still running)",
        std::process::id()
    );
    let out = mproc(&["rm", &prefix]).ok();
    assert_eq!(
        out,
        format!(
            "removed {prefix}{note}\n\
             removed {prefix}.scores (object of manager {prefix})\n\
             removed {table} (table of dict {prefix}.scores)\n\
             removed {prefix}.jobs (object of manager {prefix})\n"
        )
    );
    for n in ["", ".scores", ".jobs"] {
        assert!(!common::exists(&format!("{prefix}{n}")));
    }
    assert!(!common::exists(&table));
}

#[test]
fn a_dict_missing_its_table_is_listed_with_the_reason() {
    let name = unique("notable");
    let d = Dict::create(&name, DictOptions::new()).unwrap();
    let table = d.generation_segment(0).unwrap();
    Segment::unlink(&table).unwrap();
    let details = details_of(&name);
    assert_eq!(
        details,
        format!("statistics unreadable: dict table generation 0 (segment `{table}`) was removed")
    );
    drop(d);
}

/// A dict root whose recorded base names another dict's tables (a corrupt
/// or hostile root) takes only itself along on `rm`: the other dict keeps
/// its tables.
#[test]
fn rm_of_a_root_naming_another_dicts_tables_leaves_them() {
    let (name, other) = (unique("rmbad"), unique("rmother"));
    let d = Dict::create(&name, DictOptions::new()).unwrap();
    let victim = Dict::create(&other, DictOptions::new()).unwrap();
    victim.insert(b"k", b"v").unwrap();
    let table = victim.generation_segment(0).unwrap();
    let base = table.strip_suffix(".g0").unwrap();
    // The root's payload: the base name's length at 64, its bytes at 72.
    let root = Segment::open(&name).unwrap();
    root.payload().write_pod(64, &(base.len() as u64)).unwrap();
    root.payload().write_bytes(72, base.as_bytes()).unwrap();
    drop(root);
    let run = mproc(&["rm", &name]);
    assert!(common::exists(&table), "{}", run.ok());
    assert_eq!(victim.get(b"k").unwrap(), Some(b"v".to_vec()));
    drop((d, victim));
}
