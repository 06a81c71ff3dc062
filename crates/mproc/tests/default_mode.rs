//! `set_default_mode` reaches every kind of named object that has no mode
//! of its own, and an explicit mode still wins. One test in its own
//! binary: the default is process-wide.

use std::os::unix::fs::PermissionsExt;

use mproc::{
    Dict, DictOptions, Event, Lock, Manager, Queue, QueueOptions, Segment, Value, set_default_mode,
};

fn mode_of(name: &str) -> u32 {
    let path = format!("/dev/shm/mproc.{name}");
    std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_default_mode_reaches_every_named_object() {
    let tag = format!("t-default-mode-{}", std::process::id());
    let name = |what: &str| format!("{tag}-{what}");
    let before = set_default_mode(0o660);
    assert_eq!(before, 0o600);

    let seg = Segment::create(&name("seg"), 8).unwrap();
    let lock = Lock::create(&name("lock")).unwrap();
    let event = Event::create(&name("event")).unwrap();
    let value = Value::create(&name("value"), 7u64).unwrap();
    let queue = Queue::create(&name("queue"), QueueOptions::new()).unwrap();
    let dict = Dict::create(&name("dict"), DictOptions::new().capacity(4)).unwrap();
    for i in 0u32..200 {
        dict.insert(&i.to_le_bytes(), b"grow").unwrap();
    }
    assert!(dict.stats().unwrap().generation > 0);
    let manager = Manager::create(&name("mgr")).unwrap();
    let _mlock = manager.lock("l").unwrap();
    // An explicit mode wins over the default.
    let own = Queue::create(&name("own"), QueueOptions::new().mode(0o600)).unwrap();

    let ours: Vec<String> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("mproc.").map(str::to_owned))
        .filter(|n| n.starts_with(&tag))
        .collect();
    // Segment, lock, event, value, queue, the dict's root and its table,
    // the manager's registry and its lock, the explicit queue.
    assert!(ours.len() >= 10, "{ours:?}");
    for n in &ours {
        let want = if n == &name("own") { 0o600 } else { 0o660 };
        assert_eq!(mode_of(n), want, "{n}");
    }

    // Mode 0 too is recorded as asked: a handle that only opened the dict
    // grows it with the creator's mode, not the default of roots that
    // record none.
    let closed = Dict::create(&name("zero"), DictOptions::new().capacity(4).mode(0)).unwrap();
    let opened = Dict::open(&name("zero")).unwrap();
    for i in 0u32..200 {
        opened.insert(&i.to_le_bytes(), b"grow").unwrap();
    }
    assert!(opened.stats().unwrap().generation > 0);
    let zero: Vec<String> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("mproc.").map(str::to_owned))
        .filter(|n| n.starts_with(&name("zero")))
        .collect();
    assert!(zero.len() >= 2, "{zero:?}");
    for n in &zero {
        assert_eq!(mode_of(n), 0, "{n}");
    }
    drop((opened, closed));

    // Back to the default: new objects are private again.
    assert_eq!(set_default_mode(before), 0o660);
    let private = Lock::create(&name("private")).unwrap();
    assert_eq!(mode_of(&name("private")), 0o600);

    drop((
        seg, lock, event, value, queue, dict, _mlock, manager, own, private,
    ));
    let left: Vec<String> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(&tag))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
