//! A segment is untrusted input: every malformed file under our prefix
//! gives its exact, typed error, never a panic or a hang.

use std::path::PathBuf;
use std::time::Duration;

use mproc_shm::{HEADER_LEN, LAYOUT_VERSION, MAGIC, Segment, SegmentKind, ShmError};
use proptest::prelude::*;

/// A unique segment name for this test process.
fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "t-shm-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A file under our prefix, removed on drop.
struct Planted {
    name: String,
    path: PathBuf,
}

impl Planted {
    fn new(tag: &str, bytes: &[u8]) -> Planted {
        let name = unique(tag);
        let path = PathBuf::from(format!("/dev/shm/mproc.{name}"));
        std::fs::write(&path, bytes).unwrap();
        Planted { name, path }
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A header as a creator would write it, with chosen fields.
fn header(version: u32, kind: u32, total_len: u64, init: u32, file_len: usize) -> Vec<u8> {
    let mut b = vec![0u8; file_len];
    let mut put = |off: usize, v: &[u8]| {
        if off + v.len() <= b.len() {
            b[off..off + v.len()].copy_from_slice(v);
        }
    };
    put(0, &MAGIC.to_le_bytes());
    put(8, &version.to_le_bytes());
    put(12, &kind.to_le_bytes());
    put(16, &total_len.to_le_bytes());
    put(24, &(std::process::id() as i32).to_le_bytes());
    put(28, &init.to_le_bytes());
    b
}

fn open_fast(name: &str) -> Result<Segment, ShmError> {
    Segment::opener(name)
        .ready_timeout(Duration::from_millis(20))
        .open()
}

const READY: u32 = 2;
const RAW: u32 = 1;

#[test]
fn a_length_that_cannot_be_had_names_the_segment_and_frees_the_name() {
    let name = unique("huge");
    // Past `off_t`, and past what `mmap` grants (2^62 bytes).
    for len in [u64::MAX / 2, 1 << 62] {
        match Segment::create(&name, len) {
            Err(ShmError::CannotAllocate {
                name: Some(n),
                len: l,
                source: _,
            }) => assert_eq!((n.as_str(), l), (name.as_str(), len)),
            other => panic!("{len}: {other:?}"),
        }
        let shown = Segment::create(&name, len).unwrap_err().to_string();
        assert!(
            shown.contains(&name) && shown.contains(&len.to_string()),
            "{shown}"
        );
        assert!(!PathBuf::from(format!("/dev/shm/mproc.{name}")).exists());
    }
    assert!(matches!(
        Segment::builder(SegmentKind::Raw, u64::MAX).create_anonymous(),
        Err(ShmError::CannotAllocate {
            name: None,
            len: u64::MAX,
            ..
        })
    ));
    // The name is free again.
    Segment::create(&name, 8).unwrap();
}

#[test]
fn missing_name_is_not_found() {
    let name = unique("missing");
    match open_fast(&name) {
        Err(ShmError::NotFound { name: n }) => assert_eq!(n, name),
        other => panic!("{other:?}"),
    }
}

#[test]
fn taken_name_is_already_exists() {
    let name = unique("taken");
    let _a = Segment::create(&name, 8).unwrap();
    assert!(matches!(
        Segment::create(&name, 8),
        Err(ShmError::AlreadyExists { name: n }) if n == name
    ));
}

#[test]
fn invalid_names_are_refused_everywhere() {
    let long = "x".repeat(201);
    for bad in ["", "../x", "a/b", "a\0b", long.as_str()] {
        assert!(
            matches!(Segment::create(bad, 8), Err(ShmError::InvalidName { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(Segment::open(bad), Err(ShmError::InvalidName { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(Segment::unlink(bad), Err(ShmError::InvalidName { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn garbage_bytes_are_bad_magic() {
    let p = Planted::new("garbage", &[0xAB; 4096]);
    assert!(matches!(
        open_fast(&p.name),
        Err(ShmError::BadMagic {
            found: 0xABAB_ABAB_ABAB_ABAB
        })
    ));
}

#[test]
fn zero_length_is_truncated() {
    let p = Planted::new("empty", &[]);
    assert!(matches!(
        open_fast(&p.name),
        Err(ShmError::Truncated {
            len: 0,
            needed: HEADER_LEN
        })
    ));
}

#[test]
fn truncated_header_is_truncated() {
    let bytes = header(LAYOUT_VERSION, RAW, 200, READY, 100);
    let p = Planted::new("short", &bytes);
    assert!(matches!(
        open_fast(&p.name),
        Err(ShmError::Truncated {
            len: 100,
            needed: HEADER_LEN
        })
    ));
}

#[test]
fn wrong_magic_is_bad_magic() {
    let mut bytes = header(LAYOUT_VERSION, RAW, 256, READY, 256);
    bytes[0] ^= 0xFF;
    let p = Planted::new("magic", &bytes);
    let expected = MAGIC ^ 0xFF;
    assert!(matches!(open_fast(&p.name), Err(ShmError::BadMagic { found }) if found == expected));
}

#[test]
fn future_version_is_version_mismatch() {
    let p = Planted::new("version", &header(LAYOUT_VERSION + 1, RAW, 256, READY, 256));
    assert!(matches!(
        open_fast(&p.name),
        Err(ShmError::VersionMismatch { found, expected: LAYOUT_VERSION }) if found == LAYOUT_VERSION + 1
    ));
}

#[test]
fn wrong_kind_is_wrong_kind() {
    let p = Planted::new(
        "kind",
        &header(LAYOUT_VERSION, SegmentKind::Dict.as_raw(), 256, READY, 256),
    );
    let err = Segment::opener(&p.name)
        .kind(SegmentKind::Queue)
        .ready_timeout(Duration::ZERO)
        .open()
        .unwrap_err();
    assert!(matches!(
        err,
        ShmError::WrongKind {
            found: SegmentKind::Dict,
            expected: SegmentKind::Queue
        }
    ));
}

#[test]
fn unknown_kind_is_corrupt() {
    let p = Planted::new(
        "unknown-kind",
        &header(LAYOUT_VERSION, 0xBEEF, 256, READY, 256),
    );
    assert!(matches!(
        open_fast(&p.name),
        Err(ShmError::Corrupt {
            field: "kind",
            value: 0xBEEF
        })
    ));
}

#[test]
fn length_field_beyond_file_is_truncated() {
    let p = Planted::new("len", &header(LAYOUT_VERSION, RAW, 1 << 20, READY, 256));
    assert!(matches!(
        open_fast(&p.name),
        Err(ShmError::Truncated {
            len: 256,
            needed: 1_048_576
        })
    ));
}

#[test]
fn length_field_below_header_is_corrupt() {
    let p = Planted::new("len-small", &header(LAYOUT_VERSION, RAW, 8, READY, 256));
    assert!(matches!(
        open_fast(&p.name),
        Err(ShmError::Corrupt {
            field: "total_len",
            value: 8
        })
    ));
}

#[test]
fn impossible_init_word_is_corrupt() {
    let p = Planted::new("init", &header(LAYOUT_VERSION, RAW, 256, 77, 256));
    assert!(matches!(
        open_fast(&p.name),
        Err(ShmError::Corrupt {
            field: "init",
            value: 77
        })
    ));
}

#[test]
fn never_initialized_file_is_abandoned_after_the_wait() {
    let p = Planted::new("zeros", &[0u8; 256]);
    assert!(matches!(
        open_fast(&p.name),
        Err(ShmError::Abandoned { creator_pid: 0, .. })
    ));
}

#[test]
fn a_live_creator_still_initializing_is_not_ready_after_the_wait() {
    const INITIALIZING: u32 = 1;
    let me = mproc_sys::ProcessId::current().unwrap();
    let mut bytes = header(LAYOUT_VERSION, RAW, 256, INITIALIZING, 256);
    bytes[32..40].copy_from_slice(&me.start_time.to_le_bytes());
    let p = Planted::new("initializing", &bytes);
    let err = open_fast(&p.name).unwrap_err();
    assert!(
        matches!(err, ShmError::NotReady { creator_pid, waited_ms, .. }
            if creator_pid == me.pid && waited_ms >= 20),
        "{err:?}"
    );
}

#[test]
fn inspect_reports_unreadable_segments_without_failing() {
    let p = Planted::new("inspect", &[0xCD; 300]);
    let info = mproc_shm::inspect(&p.name).unwrap();
    assert!(
        matches!(info.status, mproc_shm::SegmentStatus::Unreadable(ref why) if why.contains("magic"))
    );
    assert!(info.creator.is_none());
}

#[test]
fn out_of_range_offsets_are_errors() {
    let seg = Segment::anonymous(64).unwrap();
    let p = seg.payload();
    assert!(matches!(
        p.sub(32, 64),
        Err(ShmError::OutOfBounds {
            offset: 32,
            len: 64,
            region_len: 64
        })
    ));
    assert!(matches!(
        p.get::<std::sync::atomic::AtomicU64>(3),
        Err(ShmError::Misaligned {
            offset: 3,
            align: 8
        })
    ));
    assert!(p.read_pod::<u64>(u64::MAX - 2).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random bytes, raw or behind a plausible header prefix, never make
    /// `open` (or `inspect`) panic: they give Ok or a typed error.
    #[test]
    fn random_bytes_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        keep in 0usize..48,
        version in prop_oneof![Just(LAYOUT_VERSION), any::<u32>()],
        kind in prop_oneof![Just(RAW), any::<u32>()],
        init in prop_oneof![Just(READY), 0u32..4],
        total in prop_oneof![Just(None), any::<u64>().prop_map(Some)],
    ) {
        let mut bytes = body.clone();
        if keep > 0 {
            let total = total.unwrap_or(bytes.len() as u64);
            let h = header(version, kind, total, init, bytes.len().max(32));
            let n = keep.min(bytes.len()).min(h.len());
            bytes[..n].copy_from_slice(&h[..n]);
        }
        let p = Planted::new("prop", &bytes);
        let r = Segment::opener(&p.name).ready_timeout(Duration::ZERO).open();
        if let Ok(seg) = &r {
            prop_assert!(seg.payload().len() as u64 + HEADER_LEN <= bytes.len() as u64);
        }
        let _ = mproc_shm::inspect(&p.name);
    }
}

/// A creator's drop unlinks only the file it made: once its name was
/// unlinked and made again by another, the new segment keeps the name.
#[test]
fn a_creators_drop_leaves_a_successor_under_its_name() {
    let name = unique("successor");
    let a = Segment::create(&name, 8).unwrap();
    Segment::unlink(&name).unwrap();
    let b = Segment::create(&name, 8).unwrap();
    b.payload().write_pod(0, &7u64).unwrap();
    drop(a);
    let reopened = Segment::open(&name).expect("the old creator removed the new segment");
    assert_eq!(reopened.payload().read_pod::<u64>(0).unwrap(), 7);
    drop(reopened);
    drop(b);
    assert!(matches!(
        Segment::open(&name),
        Err(ShmError::NotFound { .. })
    ));
}

/// A creator whose file a peer shrank to nothing drops without touching
/// the mapping (which would fault), and still removes its name.
#[test]
fn a_creator_whose_file_was_shrunk_drops_cleanly() {
    let name = unique("shrunk");
    let a = Segment::create(&name, 4096).unwrap();
    let os_name = mproc_shm::SegmentName::new(&name).unwrap().os_name();
    let fd = mproc_sys::shm_open_existing(&os_name, true).unwrap();
    mproc_sys::ftruncate(&fd, 0).unwrap();
    drop(a);
    assert!(matches!(
        Segment::open(&name),
        Err(ShmError::NotFound { .. })
    ));
}

/// A FIFO made under a segment's name (the directory is world-writable) is
/// refused at once by `open`, `inspect` and `list`, never waited on for a
/// writer that never comes.
#[test]
fn a_fifo_under_a_segment_name_is_refused_not_waited_on() {
    let name = unique("fifo");
    let path = format!("/dev/shm/mproc.{name}");
    match std::process::Command::new("mkfifo").arg(&path).status() {
        Ok(s) if s.success() => {}
        _ => {
            println!("(skipped: no mkfifo)");
            return;
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let probe = name.clone();
    std::thread::spawn(move || {
        let open = Segment::opener(&probe)
            .read_only()
            .ready_timeout(Duration::from_millis(100))
            .open()
            .map(drop);
        let inspected = mproc_shm::inspect(&probe).map(drop);
        let listed = mproc_shm::list().map(drop);
        let _ = tx.send((open, inspected, listed));
    });
    let got = rx.recv_timeout(Duration::from_secs(10));
    let _ = std::fs::remove_file(&path);
    let (open, _inspected, listed) = got.expect("blocked on the FIFO");
    assert!(open.is_err(), "{open:?}");
    assert!(listed.is_ok(), "{listed:?}");
}

/// An initializer that panics leaves no name behind: the name can be made
/// again at once (it used to stay, "being created" by a live process, until
/// the process exited).
#[test]
fn a_panicking_initializer_leaves_no_name() {
    let name = unique("init-panic");
    let made = std::panic::catch_unwind(|| {
        Segment::builder(SegmentKind::Raw, 64)
            .init(|_| panic!("initializer fails"))
            .create(&name)
    });
    assert!(made.is_err());
    assert!(matches!(
        Segment::open(&name),
        Err(ShmError::NotFound { .. })
    ));
    assert!(Segment::create(&name, 8).is_ok());
}
