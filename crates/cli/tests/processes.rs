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
use mproc_dict::{Dict, DictOptions, Manager};
use mproc_shm::{Segment, SegmentKind};
use mproc_sys::{
    ExitStatus, ForkResult, Signal, exit_immediately, fork, kill, set_parent_death_signal, waitpid,
};

/// What a creator child makes before it is killed.
#[derive(Default)]
struct Made<'a> {
    /// A plain segment.
    stale: Option<&'a str>,
    /// A persistent segment.
    kept: Option<&'a str>,
    /// Dicts.
    dicts: &'a [&'a str],
    /// A manager with a dict `scores`, a lock `l` and a value `v`.
    manager: Option<&'a str>,
}

/// Makes everything of `m`; the handles are returned so that they live.
fn make(m: &Made<'_>) -> Result<Vec<Box<dyn std::any::Any>>, String> {
    let mut kept: Vec<Box<dyn std::any::Any>> = Vec::new();
    let e = |e: &dyn std::fmt::Display| e.to_string();
    if let Some(n) = m.stale {
        kept.push(Box::new(Segment::create(n, 64).map_err(|x| e(&x))?));
    }
    if let Some(n) = m.kept {
        let s = Segment::builder(SegmentKind::Raw, 64)
            .persist(true)
            .create(n);
        kept.push(Box::new(s.map_err(|x| e(&x))?));
    }
    for n in m.dicts {
        kept.push(Box::new(
            Dict::create(n, DictOptions::new()).map_err(|x| e(&x))?,
        ));
    }
    if let Some(prefix) = m.manager {
        let mgr = Manager::create(prefix).map_err(|x| e(&x))?;
        kept.push(Box::new(
            mgr.dict("scores", DictOptions::new()).map_err(|x| e(&x))?,
        ));
        kept.push(Box::new(mgr.lock("l").map_err(|x| e(&x))?));
        kept.push(Box::new(mgr.value("v", 7u64).map_err(|x| e(&x))?));
        kept.push(Box::new(mgr));
    }
    Ok(kept)
}

/// Forks a child that makes what `m` says, tells the parent through an
/// anonymous segment, and sleeps until killed. Returns its pid once all
/// exist.
fn creator_child(m: &Made<'_>) -> i32 {
    let flag = Segment::anonymous(8).unwrap();
    let ready = flag.payload().get::<AtomicU64>(0).unwrap();
    // SAFETY: this binary runs its tests sequentially; the only other
    // thread is the watchdog, which sleeps and holds no lock. The child
    // never returns: it sleeps until killed, or `_exit`s on failure.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            // Die with the test if it dies first.
            let _ = set_parent_death_signal(Some(Signal::Kill));
            let Ok(_handles) = make(m) else {
                exit_immediately(10);
            };
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
    let child = creator_child(&Made {
        stale: Some(&stale),
        kept: Some(&kept),
        ..Made::default()
    });

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

/// The name of generation 0 of dict `name` (tagged per dict).
fn table_of(name: &str) -> String {
    mproc_dict::Dict::open(name)
        .unwrap()
        .generation_segment(0)
        .unwrap()
}

fn gc_removes_a_dead_creators_dict_with_its_tables() {
    let whole = unique("deaddict");
    let orphaned = unique("orphan");
    let child = creator_child(&Made {
        dicts: &[&whole, &orphaned],
        ..Made::default()
    });
    let tables = [table_of(&whole), table_of(&orphaned)];
    let _cleanup = Unlink(vec![
        whole.clone(),
        orphaned.clone(),
        tables[0].clone(),
        tables[1].clone(),
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

/// Grows `d` in a forked child that then exits (2 000 inserts); returns
/// the table generation it reached.
fn grow_in_a_child(d: &Dict) -> u64 {
    // SAFETY: this binary runs its tests sequentially; the only other
    // thread is the watchdog, which sleeps and holds no lock. The child
    // leaves through `_exit`.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let grown = (0u32..2000).all(|i| d.insert(&i.to_le_bytes(), b"v").is_ok());
            exit_immediately(if grown { 0 } else { 10 });
        }
        ForkResult::Parent { child } => child,
    };
    assert_eq!(waitpid(child, false).unwrap(), Some(ExitStatus::Exited(0)));
    d.stats().unwrap().generation
}

/// An anonymous dict grown by a child that has exited: its tables' creator
/// is dead and it has no root name, but the parent still maps its root, so
/// `gc` keeps them (it used to remove them, and the parent's dict then
/// failed with `GenerationRemoved`). Once nobody maps the root, they go.
fn gc_keeps_the_tables_of_a_live_anonymous_dict() {
    // This process's anonymous dicts' tables.
    let ours = || -> Vec<String> {
        let prefix = format!("mproc-dict.{}.", std::process::id());
        std::fs::read_dir("/dev/shm")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_prefix("mproc.").map(str::to_owned))
            .filter(|n| n.starts_with(&prefix))
            .collect()
    };
    let before = ours();
    let d = Dict::new(DictOptions::new().capacity(4)).unwrap();
    let generation = grow_in_a_child(&d);
    assert!(generation > 0, "the child grew the table");
    let table = ours()
        .into_iter()
        .find(|n| !before.contains(n) && n.ends_with(&format!(".g{generation}")))
        .expect("the grown table's segment");
    let base = table.rsplit_once(".g").unwrap().0.to_owned();
    let _cleanup = Unlink(vec![table.clone()]);
    let out = mproc(&["gc", "--prefix", &base]).ok();
    assert_eq!(out, "no stale segments\n");
    assert!(exists(&table));
    assert_eq!(d.get(&7u32.to_le_bytes()).unwrap(), Some(b"v".to_vec()));
    assert_eq!(d.len().unwrap(), 2000);
    // Mapped by nobody, a table the dict's drop left (its grower dead, so
    // its own drop never came) is garbage. Keep one by hand to see it go.
    let kept = Segment::open(&table).unwrap();
    drop(d);
    drop(kept);
    if exists(&table) {
        let out = mproc(&["gc", "--prefix", &base]).ok();
        assert!(out.contains(&format!("removed {table}")), "{out}");
        assert!(!exists(&table));
    }
}

/// A named dict whose name looks like an anonymous dict's base (it starts
/// with `mproc-dict.`), grown by a child that has exited: its root is
/// there, so gc keeps its tables.
fn gc_keeps_a_named_dicts_tables_whatever_its_name() {
    let name = format!("mproc-dict.{}", unique("named"));
    let d = Dict::create(&name, DictOptions::new().capacity(4)).unwrap();
    let generation = grow_in_a_child(&d);
    let table = d.generation_segment(generation).unwrap();
    let _cleanup = Unlink(vec![name.clone(), table.clone()]);
    let out = mproc(&["gc", "--prefix", &name]).ok();
    assert_eq!(out, "no stale segments\n");
    assert!(exists(&table));
    assert_eq!(Dict::open(&name).unwrap().len().unwrap(), 2000);
}

fn gc_removes_a_dead_creators_manager_with_its_objects() {
    let prefix = unique("deadmgr");
    let child = creator_child(&Made {
        manager: Some(&prefix),
        ..Made::default()
    });
    let objects = [
        format!("{prefix}.scores"),
        table_of(&format!("{prefix}.scores")),
        format!("{prefix}.l"),
        format!("{prefix}.v"),
    ];
    let mut all = vec![prefix.clone()];
    all.extend(objects.iter().cloned());
    let _cleanup = Unlink(all.clone());
    assert!(all.iter().all(|n| exists(n)), "{all:?}");
    let line = mproc(&["ls", "--prefix", &prefix]).line_of(&prefix);
    assert!(
        line.ends_with(&format!(
            "3 objects: {p}.scores (dict), {p}.l (lock), {p}.v (value)",
            p = prefix
        )),
        "{line}"
    );
    kill(child, Signal::Kill).unwrap();
    waitpid(child, false).unwrap();

    // The objects are persistent (they belong to the manager), yet go
    // with their dead manager: inspect calls them stale, and gc removes them.
    let lock = format!("{prefix}.l");
    let text = mproc(&["inspect", &lock]).ok();
    assert!(
        text.contains(&format!("stale:       yes (object of manager {prefix})")),
        "{text}"
    );
    let out = mproc(&["gc", "--prefix", &prefix]).ok();
    assert_eq!(
        out,
        format!(
            "removed {prefix} (creator pid {child} is dead)\n\
             removed {o0} (object of manager {prefix})\n\
             removed {o1} (table of dict {o0})\n\
             removed {o2} (object of manager {prefix})\n\
             removed {o3} (object of manager {prefix})\n\
             5 stale segments removed\n",
            o0 = objects[0],
            o1 = objects[1],
            o2 = objects[2],
            o3 = objects[3],
        )
    );
    assert!(all.iter().all(|n| !exists(n)));
}

/// A live process inside an `update` closure holds one of a dict's
/// shards: `inspect` reports the dict busy after its lock timeout instead
/// of hanging, and reads it once the shard is free.
fn inspect_reports_a_dict_with_a_held_shard_as_busy() {
    let name = unique("busy");
    let d = Dict::create(&name, DictOptions::new()).unwrap();
    d.insert(b"k", b"v").unwrap();
    let (held, release) = (&std::sync::Barrier::new(2), &std::sync::Barrier::new(2));
    std::thread::scope(|s| {
        let holder = d.clone();
        s.spawn(move || {
            holder.update(b"k", |v| {
                held.wait();
                release.wait();
                v.map(<[u8]>::to_vec)
            })
        });
        held.wait();
        let run = mproc(&["inspect", &name]);
        release.wait();
        let out = format!("{}{}", run.stdout, run.stderr);
        assert!(
            out.contains("statistics unreadable: a shard lock stayed held for more than 1s"),
            "{out}"
        );
    });
    let out = mproc(&["inspect", &name]).ok();
    assert!(
        out.lines().any(|l| l.split_whitespace().eq(["len:", "1"])),
        "{out}"
    );
}

fn main() {
    // A watchdog: a hung test fails the run instead of blocking CI.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(120));
        eprintln!("processes: watchdog fired after 120 s");
        std::process::exit(3);
    });
    let tests: [(&str, fn()); 6] = [
        (
            "gc_removes_the_segment_of_a_killed_creator",
            gc_removes_the_segment_of_a_killed_creator,
        ),
        (
            "gc_removes_a_dead_creators_dict_with_its_tables",
            gc_removes_a_dead_creators_dict_with_its_tables,
        ),
        (
            "gc_keeps_the_tables_of_a_live_anonymous_dict",
            gc_keeps_the_tables_of_a_live_anonymous_dict,
        ),
        (
            "gc_keeps_a_named_dicts_tables_whatever_its_name",
            gc_keeps_a_named_dicts_tables_whatever_its_name,
        ),
        (
            "gc_removes_a_dead_creators_manager_with_its_objects",
            gc_removes_a_dead_creators_manager_with_its_objects,
        ),
        (
            "inspect_reports_a_dict_with_a_held_shard_as_busy",
            inspect_reports_a_dict_with_a_held_shard_as_busy,
        ),
    ];
    for (name, test) in tests {
        test();
        println!("test {name} ... ok");
    }
    println!("test result: ok. {} passed", tests.len());
}
