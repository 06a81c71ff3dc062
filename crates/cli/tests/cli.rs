//! The built `mproc` command against segments this test creates or plants.
//!
//! Every name is unique to this process and every command that could touch
//! other people's segments (`gc`) is limited with `--prefix`.

mod common;

use std::io::{BufRead, BufReader};

use common::{Planted, RawHeader, exists, finish, mproc, spawn, unique};
use mproc_shm::{Segment, SegmentKind};
use serde_json::Value;

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn entry<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list}"))
}

#[test]
fn ls_lists_a_live_segment_with_its_creator() {
    let name = unique("ls");
    let _seg = Segment::create(&name, 100).unwrap();
    let run = mproc(&["ls", "--prefix", &name]);
    let line = run.line_of(&name);
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols[1], "raw", "{line}");
    assert_eq!(cols[2..4], ["228", "B"], "{line}");
    assert_eq!(cols[4], std::process::id().to_string(), "{line}");
    assert_eq!(cols[5..7], ["yes", "no"], "{line}");
    assert!(run.stdout.starts_with("NAME "), "{}", run.stdout);
    run.ok();
}

#[test]
fn ls_without_matches_says_so() {
    let none = unique("none");
    let out = mproc(&["ls", "--prefix", &none]).ok();
    assert_eq!(
        out,
        format!("no mproc segments whose names start with `{none}`\n")
    );
    let json = mproc(&["ls", "--json", "--prefix", &unique("none")]).ok();
    assert_eq!(json_of(&json), Value::Array(vec![]));
}

#[test]
fn ls_json_has_header_creator_and_flags() {
    let name = unique("lsjson");
    let seg = Segment::builder(SegmentKind::Raw, 64)
        .params([3, 1, 4, 1, 5, 9, 2, 6])
        .create(&name)
        .unwrap();
    seg.persist();
    let list = json_of(&mproc(&["ls", "--json", "--prefix", &name]).ok());
    let e = entry(&list, &name);
    assert_eq!(e["kind"], "raw");
    assert_eq!(e["status"], "ready");
    assert_eq!(e["size"], 64 + 128);
    assert_eq!(e["persistent"], true);
    assert_eq!(e["creator"]["pid"], std::process::id());
    assert_eq!(e["creator"]["alive"], true);
    assert_eq!(e["header"]["version"], 1);
    assert_eq!(e["header"]["kind_code"], 1);
    assert_eq!(
        e["header"]["params"],
        serde_json::json!([3, 1, 4, 1, 5, 9, 2, 6])
    );
    assert_eq!(e["reason"], Value::Null);
    drop(seg);
    Segment::unlink(&name).unwrap();
}

/// Every kind of garbage under the prefix, with the reason `ls` gives.
fn garbage() -> Vec<(Planted, &'static str)> {
    let mut h = RawHeader::dead_creator(256);
    let mut with = |f: &dyn Fn(&mut RawHeader)| {
        f(&mut h);
        let b = h.bytes();
        h = RawHeader::dead_creator(256);
        b
    };
    vec![
        (
            Planted::new("junk", &[0xAB; 300]),
            "not an mproc segment: magic 0xabababababababab",
        ),
        (
            Planted::new("short", &[1; 10]),
            "segment is 10 bytes long, 128 are needed",
        ),
        (
            Planted::new("empty", &[]),
            "segment is 0 bytes long, 128 are needed",
        ),
        (
            Planted::new("version", &with(&|h| h.version = 99)),
            "segment layout version 99, this build reads version 1",
        ),
        (
            Planted::new("kind", &with(&|h| h.kind = 0xdead)),
            "segment field `kind` holds an invalid value 0xdead",
        ),
        (
            Planted::new("init", &with(&|h| h.init = 7)),
            "segment field `init` holds an invalid value 0x7",
        ),
        (
            Planted::new("len", &with(&|h| h.total_len = 4096)),
            "segment is 256 bytes long, 4096 are needed",
        ),
    ]
}

#[test]
fn garbage_is_listed_with_its_reason_never_a_crash() {
    let planted = garbage();
    // A prefix shared by all planted names: `t-cli-` plus nothing else
    // would match other tests' segments; filter the lines instead.
    let run = mproc(&["ls"]);
    for (p, reason) in &planted {
        let line = run.line_of(&p.name);
        assert!(line.contains(&format!("unreadable: {reason}")), "{line}");
        assert!(line.contains(" ? "), "{line}");
    }
    let list = json_of(&mproc(&["ls", "--json"]).ok());
    for (p, reason) in &planted {
        let e = entry(&list, &p.name);
        assert_eq!(e["status"], "unreadable");
        assert_eq!(e["reason"], *reason);
        assert_eq!(e["kind"], Value::Null);
        assert_eq!(e["header"], Value::Null);
    }
    for (p, reason) in &planted {
        let out = mproc(&["inspect", &p.name]).ok();
        assert!(out.contains("status:      unreadable"), "{out}");
        assert!(out.contains(&format!("reason:      {reason}")), "{out}");
        let e = json_of(&mproc(&["inspect", "--json", &p.name]).ok());
        assert_eq!(e["reason"], *reason);
    }
    run.ok();
}

#[test]
fn unwritten_and_abandoned_headers_are_named() {
    let unset = Planted::new("unset", &[0; 128]);
    let mut h = RawHeader::dead_creator(256);
    h.init = 1;
    let abandoned = Planted::new("abandoned", &h.bytes());
    let run = mproc(&["ls"]);
    assert!(
        run.line_of(&unset.name).ends_with("header not written"),
        "{}",
        run.stdout
    );
    let line = run.line_of(&abandoned.name);
    assert!(line.ends_with("abandoned while initializing"), "{line}");
    assert!(line.contains(&format!(" {} ", i32::MAX)), "{line}");
    let e = json_of(&mproc(&["inspect", "--json", &unset.name]).ok());
    assert_eq!(e["status"], "unset");
    let e = json_of(&mproc(&["inspect", "--json", &abandoned.name]).ok());
    assert_eq!(e["status"], "initializing");
    assert_eq!(e["creator"]["alive"], false);
}

#[test]
fn inspect_shows_the_header() {
    let name = unique("inspect");
    let _seg = Segment::builder(SegmentKind::Raw, 4096)
        .params([64, 48, 0, 0, 0, 0, 0, 7])
        .create(&name)
        .unwrap();
    let out = mproc(&["inspect", &name]).ok();
    let pid = std::process::id();
    for want in [
        format!("name:        {name}"),
        "kind:        raw".to_owned(),
        "status:      ready".to_owned(),
        "size:        4224 bytes (4.1 KiB)".to_owned(),
        "version:     1".to_owned(),
        "params:      [64, 48, 0, 0, 0, 0, 0, 7]".to_owned(),
        format!("creator:     pid {pid} (running, started at tick"),
        "persistent:  no".to_owned(),
        "stale:       no".to_owned(),
    ] {
        assert!(out.contains(&want), "{want:?} not in:\n{out}");
    }
    // Named as its file in /dev/shm shows it: the same segment, even when
    // the name with its prefix is longer than a name may be.
    let by_file = mproc(&["inspect", &format!("mproc.{name}")]).ok();
    assert!(
        by_file.contains(&format!("name:        {name}")),
        "{by_file}"
    );
    let long = format!(
        "{name}-{}",
        "l".repeat(mproc_shm::MAX_NAME_LEN - name.len() - 1)
    );
    let _long_seg = Segment::create(&long, 8).unwrap();
    let by_file = mproc(&["inspect", &format!("mproc.{long}")]).ok();
    assert!(
        by_file.contains(&format!("name:        {long}")),
        "{by_file}"
    );
    let e = json_of(&mproc(&["inspect", "--json", &name]).ok());
    assert_eq!(e["name"], name.as_str());
    assert_eq!(e["size"], 4224);
    assert_eq!(e["header"]["params"][7], 7);
}

#[test]
fn inspect_of_a_missing_or_invalid_name_fails_cleanly() {
    let name = unique("missing");
    let err = mproc(&["inspect", &name]).failed();
    assert_eq!(err, format!("mproc: no segment named `{name}`\n"));
    let err = mproc(&["inspect", "../etc/passwd"]).failed();
    assert!(err.starts_with("mproc: invalid segment name"), "{err}");
}

#[test]
fn rm_dry_run_keeps_then_rm_removes() {
    let name = unique("rm");
    Segment::builder(SegmentKind::Raw, 8)
        .persist(true)
        .create(&name)
        .unwrap();
    let note = format!(
        " (its creator, pid {}, is still running)",
        std::process::id()
    );
    let out = mproc(&["rm", "--dry-run", &name]).ok();
    assert_eq!(out, format!("would remove {name}{note}\n"));
    assert!(exists(&name));
    // Named as /dev/shm shows it: the segment it is the file of.
    let out = mproc(&["rm", &format!("mproc.{name}")]).ok();
    assert_eq!(out, format!("removed {name}{note}\n"));
    assert!(!exists(&name));
    let err = mproc(&["rm", &name]).failed();
    assert!(err.contains(&format!("no segment named `{name}`")), "{err}");
}

#[test]
fn rm_removes_what_it_can_and_reports_the_rest() {
    let garbage = Planted::new("rmjunk", b"garbage");
    let live = unique("rmlive");
    let seg = Segment::create(&live, 8).unwrap();
    let missing = unique("rmmissing");
    let run = mproc(&["rm", &garbage.name, &missing, &live]);
    assert_eq!(
        run.stdout,
        format!(
            "removed {}\nremoved {live} (its creator, pid {}, is still running)\n",
            garbage.name,
            std::process::id()
        )
    );
    let err = run.failed();
    assert_eq!(
        err,
        format!(
            "mproc: no segment named `{missing}`\nmproc: 1 of 3 segments could not be removed\n"
        )
    );
    assert!(!exists(&garbage.name) && !exists(&live));
    drop(seg); // its name is gone already: nothing to unlink
}

#[test]
fn gc_removes_only_stale_segments() {
    let stale = Planted::new("gcstale", &RawHeader::dead_creator(256).bytes());
    let mut kept = RawHeader::dead_creator(256);
    kept.flags = 1; // persistent
    let persistent = Planted::new("gckeep", &kept.bytes());
    let junk = Planted::new("gcjunk", &[0xCD; 200]);
    let live = unique("gclive");
    let _seg = Segment::create(&live, 8).unwrap();
    for name in [&stale.name, &persistent.name, &junk.name, &live] {
        let out = mproc(&["gc", "--dry-run", "--prefix", name]).ok();
        if *name == stale.name {
            let pid = i32::MAX;
            assert_eq!(
                out,
                format!(
                    "would remove {name} (creator pid {pid} is dead)\n\
                     1 stale segment would be removed\n"
                )
            );
        } else {
            assert_eq!(out, "no stale segments\n", "{name}");
        }
    }
    assert!(exists(&stale.name));
    for name in [&stale.name, &persistent.name, &junk.name, &live] {
        let out = mproc(&["gc", "--prefix", name]).ok();
        if *name == stale.name {
            assert!(out.ends_with("1 stale segment removed\n"), "{out}");
        }
    }
    assert!(!exists(&stale.name));
    assert!(exists(&persistent.name) && exists(&junk.name) && exists(&live));
}

#[test]
fn watch_prints_count_lines_then_stops() {
    let name = unique("watch");
    let _seg = Segment::create(&name, 64).unwrap();
    let out = mproc(&["watch", &name, "--interval", "10ms", "--count", "3"]).ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines.iter().all(|l| *l == format!("{name}  raw")), "{out}");
}

#[test]
fn watch_of_a_missing_segment_fails() {
    let name = unique("watchmissing");
    let err = mproc(&["watch", &name, "--count", "1"]).failed();
    assert_eq!(err, format!("mproc: no segment named `{name}`\n"));
}

#[test]
fn watch_reports_a_segment_that_disappears() {
    let name = unique("watchgone");
    let seg = Segment::create(&name, 64).unwrap();
    let mut child = spawn(&["watch", &name, "--interval", "20ms", "--count", "1000"]);
    let mut first = String::new();
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut first).unwrap();
    assert_eq!(first, format!("{name}  raw\n"));
    drop(seg);
    // Keep draining so the watcher never blocks on a full pipe.
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
    });
    let err = finish(child).failed();
    drain.join().unwrap();
    assert_eq!(err, format!("mproc: segment `{name}` disappeared\n"));
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &["watch", "x", "--count", "0"][..],
        &["watch", "x", "--interval", "soon"],
        &["rm"],
        &["frobnicate"],
    ] {
        let run = mproc(args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
    }
}

#[test]
fn gc_removes_never_written_segments_once_old_enough() {
    let empty = Planted::new("gcempty", &[]);
    let unset = Planted::new("gcunset", &[0; 256]);
    let fresh = Planted::new("gcfresh", &[]);
    let junk = Planted::new("gcshort", &[7; 10]);
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    for p in [&empty, &unset, &junk] {
        let f = std::fs::File::options()
            .write(true)
            .open(common::shm_path(&p.name))
            .unwrap();
        f.set_modified(old).unwrap();
    }
    for p in [&empty, &unset] {
        let out = mproc(&["gc", "--prefix", &p.name]).ok();
        assert!(
            out.starts_with(&format!("removed {} (header never written, 1", p.name)),
            "{out}"
        );
        assert!(!exists(&p.name));
    }
    // Too young for the default of a minute, or not unwritten at all.
    for p in [&fresh, &junk] {
        assert_eq!(
            mproc(&["gc", "--prefix", &p.name]).ok(),
            "no stale segments\n"
        );
        assert!(exists(&p.name));
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = mproc(&["gc", "--unwritten-after", "10ms", "--prefix", &fresh.name]).ok();
    assert!(
        out.starts_with(&format!("removed {} (header never written, ", fresh.name)),
        "{out}"
    );
}
