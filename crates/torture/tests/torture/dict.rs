//! Dict: writers killed mid-insert, mid-remove, mid-update, mid-growth.
//!
//! Values describe themselves: `[key | nonce | pattern of both]`, so that a
//! torn or misplaced value shows. After the kill the survivors finish their
//! work (every op must succeed, none may take a second), then the parent
//! checks the consistency invariants on the creator's handle and on a
//! fresh one: every key absent or holding a complete value it was given,
//! `len()` = the keys present = `stats().entries`, arena bytes add up, and
//! every operation (growth included) still works.

use std::time::{Duration, Instant};

use mproc_dict::{Dict, DictError, DictOptions};
use mproc_torture::children::{KILLED, sigkill, spin_for, wait_exit};
use mproc_torture::{Board, Rng, Tally};

use crate::common::{Ctx, END, STALL, round_rng};

const MAX_W: usize = 4;

// Board layout: per writer its op count, phase, errors; stalls.
const OPS: usize = 0;
const PHASE: usize = OPS + MAX_W;
const ERR: usize = PHASE + MAX_W;
const SLOWEST_US: usize = ERR + MAX_W;
/// Set by the parent once every writer is forked: they start together.
const GO: usize = SLOWEST_US + 1;
const WORDS: usize = GO + 1;

const IDLE: u64 = 0;
const INSERT: u64 = 1;
const REMOVE: u64 = 2;
const UPDATE: u64 = 3;
const SETDEFAULT: u64 = 4;
const EXTEND: u64 = 5;
const READ: u64 = 6;

fn phase_name(p: u64) -> &'static str {
    match p {
        INSERT => "mid-insert",
        REMOVE => "mid-remove",
        UPDATE => "mid-update",
        SETDEFAULT => "mid-get_or_insert_with",
        EXTEND => "mid-extend",
        READ => "mid-read",
        _ => "between ops",
    }
}

const E_TORN: u64 = 1;
const E_OP: u64 = 2;
const E_STALL: u64 = 4;

fn describe_errors(bits: u64) -> String {
    let mut v = Vec::new();
    if bits & E_TORN != 0 {
        v.push("read a torn or misplaced value");
    }
    if bits & E_OP != 0 {
        v.push("an operation failed");
    }
    if bits & E_STALL != 0 {
        v.push("an operation took longer than the stall bound");
    }
    v.join(", ")
}

fn key_bytes(k: u64) -> [u8; 8] {
    k.to_le_bytes()
}

fn pattern(key: u64, nonce: u64, i: usize) -> u8 {
    (key.wrapping_mul(131) ^ nonce.wrapping_mul(17) ^ (i as u64).wrapping_mul(7)) as u8
}

/// A value for `key`: `[key | nonce | pattern]`, `len` bytes (at least 16).
fn value(key: u64, nonce: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len.max(16)];
    v[..8].copy_from_slice(&key.to_le_bytes());
    v[8..16].copy_from_slice(&nonce.to_le_bytes());
    for (i, b) in v[16..].iter_mut().enumerate() {
        *b = pattern(key, nonce, i);
    }
    v
}

/// Whether `v` is a complete value some writer gave `key`.
fn value_ok(key: u64, v: &[u8]) -> bool {
    if v.len() < 16 || v[..8] != key.to_le_bytes() {
        return false;
    }
    let nonce = u64::from_le_bytes(v[8..16].try_into().unwrap_or([0; 8]));
    v[16..]
        .iter()
        .enumerate()
        .all(|(i, &b)| b == pattern(key, nonce, i))
}

fn key_of(k: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(k.try_into().ok()?))
}

struct Plan {
    w: usize,
    keys: u64,
    ops: u64,
    max_len: u64,
}

/// A writer child: `ops` random operations over `keys` keys.
fn write(d: &Dict, b: &Board, plan: &Plan, mut rng: Rng) -> i32 {
    let w = plan.w;
    if !b.wait_until(GO, |v| v == 1, END) {
        return 2;
    }
    for _ in 0..plan.ops {
        if rng.below(1000) < 5 {
            std::thread::sleep(Duration::from_micros(rng.below(200)));
        }
        let key = rng.below(plan.keys);
        let k = key_bytes(key);
        let nonce = rng.next_u64();
        let len = rng.range(16, plan.max_len) as usize;
        let op = match rng.below(10) {
            0..=3 => INSERT,
            4 | 5 => REMOVE,
            6 => UPDATE,
            7 => SETDEFAULT,
            8 => EXTEND,
            _ => READ,
        };
        // Values are made before the phase is published, so that a kill
        // "mid-insert" lands in the dict's code, not in the suite's.
        let v = value(key, nonce, len);
        let pairs: Vec<([u8; 8], Vec<u8>)> = if op == EXTEND {
            (0..rng.range(2, 5))
                .map(|j| {
                    let kk = (key + j) % plan.keys;
                    (key_bytes(kk), value(kk, nonce ^ j, len))
                })
                .collect()
        } else {
            Vec::new()
        };
        b.set(PHASE + w, op);
        let start = Instant::now();
        let r: Result<Option<Vec<u8>>, DictError> = match op {
            INSERT => d.insert(&k, &v).map(|_| None),
            REMOVE => d.remove(&k),
            UPDATE => {
                let mut torn = false;
                let r = d.update(&k, |cur| {
                    torn |= cur.is_some_and(|c| !value_ok(key, c));
                    if nonce.is_multiple_of(4) {
                        None
                    } else {
                        Some(v.clone())
                    }
                });
                if torn {
                    b.fetch_or(ERR + w, E_TORN);
                }
                r.map(|()| None)
            }
            SETDEFAULT => d.get_or_insert_with(&k, || v.clone()).map(Some),
            EXTEND => d.extend(pairs).map(|()| None),
            _ => d.get(&k),
        };
        let took = start.elapsed();
        b.set(PHASE + w, IDLE);
        b.max(SLOWEST_US, took.as_micros() as u64);
        if took > STALL {
            eprintln!("dict: writer {w}: an op took {took:?}");
            b.fetch_or(ERR + w, E_STALL);
        }
        match r {
            Ok(Some(v)) if !value_ok(key, &v) => {
                b.fetch_or(ERR + w, E_TORN);
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("dict: writer {w}: {e}");
                b.fetch_or(ERR + w, E_OP);
                return 1;
            }
        }
        b.add(OPS + w, 1);
    }
    0
}

/// Runs `rounds` rounds.
pub(crate) fn run(ctx: &Ctx, rng: &mut Rng, rounds: u64, tally: &mut Tally) {
    let mut slowest = 0;
    for round in 0..rounds {
        let (mut r, seed) = round_rng(rng);
        tally.round(round, seed);
        slowest = slowest.max(one_round(ctx, &mut r, round, tally));
        ctx.end_round(tally);
    }
    tally.note("slowest op in us", slowest);
}

/// One round; returns its slowest op in microseconds.
fn one_round(ctx: &Ctx, r: &mut Rng, round: u64, tally: &mut Tally) -> u64 {
    let name = ctx.name("dict", round);
    let capacity = 1 << r.below(5);
    let mut opts = DictOptions::new().capacity(capacity);
    if r.percent(50) {
        opts = opts.shards(1 << r.below(4));
    }
    let writers = r.range(2, MAX_W as u64) as usize;
    let keys = r.range(16, 200);
    let ops = r.range(2000, if ctx.soak { 20_000 } else { 6000 });
    let max_len = r.range(16, 300);
    tally.context(&format!(
        "{writers} writers, {keys} keys, {ops} ops each, values up to {max_len} bytes, \
         first capacity {capacity}"
    ));
    let d = Dict::create(&name, opts).unwrap_or_else(|e| tally.fail(&format!("create: {e}")));
    let b = Board::new(WORDS).unwrap_or_else(|e| tally.fail(&format!("board: {e}")));
    let pids: Vec<i32> = (0..writers)
        .map(|w| {
            let plan = Plan {
                w,
                keys,
                ops,
                max_len,
            };
            let (rng, reopen) = (r.fork(), r.percent(50));
            let (d, b, name) = (&d, &b, &name);
            ctx.fork(move || {
                if reopen {
                    match Dict::open(name) {
                        Ok(d) => write(&d, b, &plan, rng),
                        Err(e) => {
                            eprintln!("dict: writer {w}: open: {e}");
                            b.fetch_or(ERR + w, E_OP);
                            1
                        }
                    }
                } else {
                    write(d, b, &plan, rng)
                }
            })
        })
        .collect();

    b.set(GO, 1);
    // The victim, killed after a random number of its ops (often early,
    // while the small table still grows), at a random op or a chosen one.
    let victim = r.below(writers as u64) as usize;
    let threshold = if r.percent(40) {
        r.below(20)
    } else {
        r.below(ops / 2)
    };
    b.spin_until(OPS + victim, |v| v >= threshold, END);
    let target = [INSERT, REMOVE, UPDATE, EXTEND][r.below(4) as usize];
    let gen_file = |g: u64| {
        let table = d.generation_segment(g).unwrap_or_default();
        format!("{}/mproc.{table}", mproc_sys::SHM_DIR)
    };
    if r.percent(50) {
        let until = Instant::now() + Duration::from_millis(1);
        while b.get(PHASE + victim) != target && Instant::now() < until {
            std::hint::spin_loop();
        }
    } else {
        spin_for(Duration::from_micros(r.below(200)));
    }
    let phase = b.get(PHASE + victim);
    sigkill(pids[victim]);
    tally.context(&format!(
        "victim writer {victim} killed {} after {threshold} ops",
        phase_name(phase)
    ));
    let code = wait_exit(pids[victim], END).unwrap_or_else(|h| tally.fail(&h.to_string()));
    if code == KILLED {
        // A generation past the newest one a fresh handle sees is a
        // growth the victim did not finish.
        // (Reading every shard's statistics takes every shard lock: a
        // victim killed holding one is recovered here.)
        let s = Dict::open(&name)
            .and_then(|d| d.stats())
            .unwrap_or_else(|e| tally.fail(&format!("open after the kill: {e}")));
        let generation = s.generation;
        tally.note("shard recoveries right after the kill", s.recoveries);
        tally.kill(
            if std::path::Path::new(&gen_file(generation + 1)).exists() {
                "mid-growth"
            } else {
                phase_name(phase)
            },
        );
    } else {
        tally.check(code == 0, || {
            format!("victim failed on its own: exit {code}")
        });
        tally.note("victims that finished before the kill", 1);
    }
    for (w, &pid) in pids.iter().enumerate() {
        if w == victim {
            continue;
        }
        let code = wait_exit(pid, END).unwrap_or_else(|h| tally.fail(&format!("writer {w}: {h}")));
        let e = b.get(ERR + w);
        tally.check(code == 0 && e == 0, || {
            format!("surviving writer {w}: exit {code}: {}", describe_errors(e))
        });
    }
    let e = b.get(ERR + victim);
    tally.check(e & (E_TORN | E_STALL) == 0, || {
        format!("victim before its death: {}", describe_errors(e))
    });
    check_consistent(&d, keys, tally, "creator's handle");
    let fresh = Dict::open(&name).unwrap_or_else(|e| tally.fail(&format!("open: {e}")));
    check_consistent(&fresh, keys, tally, "fresh handle");
    check_works(&fresh, keys, tally);
    check_consistent(&d, keys, tally, "creator's handle after more work");
    b.get(SLOWEST_US)
}

/// Every key absent or complete, and the counts agree.
fn check_consistent(d: &Dict, keys: u64, tally: &mut Tally, which: &str) {
    let items = d
        .items()
        .unwrap_or_else(|e| tally.fail(&format!("{which}: items: {e}")));
    for (k, v) in &items {
        let ok = key_of(k).is_some_and(|key| key < keys && value_ok(key, v));
        tally.check(ok, || {
            format!("{which}: key {k:?} holds an incomplete or foreign value")
        });
    }
    let len = d
        .len()
        .unwrap_or_else(|e| tally.fail(&format!("{which}: len: {e}")));
    tally.check(len == items.len(), || {
        format!("{which}: len() {len}, items() {}", items.len())
    });
    let mut present = 0;
    for key in 0..keys {
        match d.get(&key_bytes(key)) {
            Ok(Some(v)) => {
                present += 1;
                tally.check(value_ok(key, &v), || {
                    format!("{which}: get({key}) gave an incomplete value")
                });
            }
            Ok(None) => {}
            Err(e) => tally.fail(&format!("{which}: get({key}): {e}")),
        }
    }
    tally.check(present == len, || {
        format!("{which}: {present} keys present by get(), len() {len}")
    });
    let s = d
        .stats()
        .unwrap_or_else(|e| tally.fail(&format!("{which}: stats: {e}")));
    tally.check(s.entries as usize == len, || {
        format!("{which}: stats().entries {}, len() {len}", s.entries)
    });
    tally.check(
        s.live_bytes + s.free_bytes + s.unused_bytes == s.arena_bytes,
        || format!("{which}: arena bytes do not add up: {s:?}"),
    );
}

/// Every operation still works, growth included.
fn check_works(d: &Dict, keys: u64, tally: &mut Tally) {
    let before = d.len().unwrap_or_else(|e| tally.fail(&format!("len: {e}")));
    let extra = 64u64;
    for i in 0..extra {
        let key = keys + i;
        let new = d
            .insert(&key_bytes(key), &value(key, i, 40))
            .unwrap_or_else(|e| tally.fail(&format!("insert after the kill: {e}")));
        tally.check(new, || format!("key {key} was new"));
    }
    d.update(&key_bytes(keys), |cur| cur.map(|_| value(keys, 99, 20)))
        .unwrap_or_else(|e| tally.fail(&format!("update after the kill: {e}")));
    let got = d
        .get(&key_bytes(keys))
        .unwrap_or_else(|e| tally.fail(&format!("get after the kill: {e}")));
    tally.check(got == Some(value(keys, 99, 20)), || "update took".into());
    for i in 0..extra {
        let gone = d
            .remove(&key_bytes(keys + i))
            .unwrap_or_else(|e| tally.fail(&format!("remove after the kill: {e}")));
        tally.check(gone.is_some(), || format!("key {} removed", keys + i));
    }
    let after = d.len().unwrap_or_else(|e| tally.fail(&format!("len: {e}")));
    tally.check(after == before, || {
        format!("len {after} after, {before} before")
    });
}
