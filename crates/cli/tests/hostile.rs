//! Hostile bytes: segments with valid-looking headers of every kind over
//! random layout parameters and random payloads. `mproc ls` and `inspect`
//! list each one, with its statistics or the reason they are unreadable,
//! and never crash.

mod common;

use common::{Planted, RawHeader, mproc};
use serde_json::Value as Json;

/// A small deterministic generator (xorshift64*), so that a failure
/// names its seed and replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A value that is often plausible and sometimes wild.
    fn param(&mut self) -> u64 {
        match self.below(6) {
            0 => 0,
            1 => 1 << self.below(12),
            2 => self.below(64),
            3 => u64::MAX - self.below(4),
            _ => self.next(),
        }
    }
}

/// Role tags the kinds' crates put in `params[0]`, to get past the first
/// check more often than chance would.
const ROLES: [u64; 6] = [
    u64::from_le_bytes(*b"mprocQ4\0"),
    0x524f_4f54,
    0x5442_4c31,
    0x5641_4c31,
    0x4152_5231,
    0x4d47_5231,
];

/// Every kind number the header knows.
const KINDS: [u32; 17] = [1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 32, 33, 34, 35, 48, 49];

fn hostile_segment(rng: &mut Rng) -> Vec<u8> {
    let file_len = 128 + 8 * rng.below(2048) as usize;
    let mut h = RawHeader::dead_creator(file_len);
    h.kind = KINDS[rng.below(KINDS.len() as u64) as usize];
    h.pid = std::process::id() as i32; // a live creator: gc leaves them be
    let mut bytes = h.bytes();
    let mut params = [0u64; 8];
    for p in &mut params {
        *p = rng.param();
    }
    if rng.below(4) != 0 {
        params[0] = ROLES[rng.below(ROLES.len() as u64) as usize];
    }
    for (i, p) in params.iter().enumerate() {
        bytes[48 + 8 * i..56 + 8 * i].copy_from_slice(&p.to_le_bytes());
    }
    for b in &mut bytes[128..] {
        *b = match rng.below(3) {
            0 => 0,
            1 => 0xFF,
            _ => rng.next() as u8,
        };
    }
    bytes
}

fn tag(b: &[u8; 4]) -> [u8; 4] {
    *b
}

/// A segment whose header and layout parameters are right for its kind
/// and whose contents (indices, records, lock words, counts) are random
/// but carry the right tags: the readers get past validation into the
/// structure itself.
fn shaped_segment(rng: &mut Rng) -> Vec<u8> {
    let kind = [2u32, 3, 4, 5, 6, 7, 16, 17, 18, 33, 34, 35][rng.below(12) as usize];
    let mut params = [0u64; 8];
    // (payload length, tags to write at payload offsets)
    let (payload, tags): (u64, Vec<(usize, [u8; 4])>) = match kind {
        16..=18 => {
            let spsc = kind == 16;
            let (cap, slot, handles) = (1u64 << rng.below(6), 8 * rng.below(8), 1 + rng.below(4));
            let stride = if spsc {
                (8 + slot).div_ceil(8) * 8
            } else {
                // Whole lines, an even count above one padded to odd.
                let lines = (16 + slot).div_ceil(64);
                (lines + u64::from(lines > 1 && lines.is_multiple_of(2))) * 64
            };
            let area = (512 + 128 * handles + cap * stride).div_ceil(128) * 128;
            params = [
                ROLES[0],
                if spsc { 1 } else { 2 },
                cap,
                slot,
                handles,
                u64::from(kind == 18),
                1,
                0,
            ];
            (area, vec![])
        }
        2 => (64, vec![(4, tag(b"LOCK"))]),
        3 => (64, vec![(4, tag(b"LOCK")), (20, tag(b"RLCK"))]),
        4 => (64, vec![(12, tag(b"SEMA"))]),
        5 => (64, vec![(4, tag(b"LOCK")), (24, tag(b"CND2"))]),
        6 => (64, vec![(8, tag(b"EVNT"))]),
        7 => {
            let parties = 1 + rng.below(4);
            params[0] = parties;
            (16 + 16 * parties, vec![(12, tag(b"BARR"))])
        }
        33 | 34 => {
            let len = if kind == 33 { 1 } else { rng.below(16) };
            params = [ROLES[if kind == 33 { 3 } else { 4 }], 8, 8, len, 0, 0, 0, 0];
            (64 + 8 * len, vec![(4, tag(b"LOCK"))])
        }
        _ => {
            params = [ROLES[5], 256, 0, 0, 0, 0, 0, 0];
            (128 + 256 * 128, vec![(4, tag(b"LOCK"))])
        }
    };
    let file_len = 128 + payload as usize;
    let mut h = RawHeader::dead_creator(file_len);
    h.kind = kind;
    h.pid = std::process::id() as i32;
    let mut bytes = h.bytes();
    for (i, p) in params.iter().enumerate() {
        bytes[48 + 8 * i..56 + 8 * i].copy_from_slice(&p.to_le_bytes());
    }
    for b in &mut bytes[128..] {
        *b = match rng.below(4) {
            0 | 1 => 0,
            2 => 0xFF,
            _ => rng.next() as u8,
        };
    }
    if kind == 7 {
        // The barrier's party count must match its parameter.
        bytes[136..140].copy_from_slice(&(params[0] as u32).to_le_bytes());
    }
    for (off, t) in tags {
        bytes[128 + off..132 + off].copy_from_slice(&t);
    }
    bytes
}

#[test]
fn random_layouts_of_every_kind_never_crash_the_command() {
    // MPROC_HOSTILE_SEED=N replays (or explores) another seed.
    let seed = std::env::var("MPROC_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005E_ED0F_CAFE_u64);
    let mut rng = Rng(seed);
    let planted: Vec<Planted> = (0..48)
        .map(|i| {
            let bytes = if i % 2 == 0 {
                hostile_segment(&mut rng)
            } else {
                shaped_segment(&mut rng)
            };
            Planted::new("hostile", &bytes)
        })
        .collect();
    let run = mproc(&["ls"]);
    for p in &planted {
        run.line_of(&p.name);
    }
    run.ok();
    let out = mproc(&["ls", "--json"]).ok();
    let list: Json = serde_json::from_str(&out).unwrap();
    for p in &planted {
        let e = list
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == p.name.as_str())
            .unwrap_or_else(|| panic!("seed {seed:#x}: {} not listed", p.name));
        assert!(
            e["stats"].is_object() || e["stats"].is_null(),
            "seed {seed:#x}: {e}"
        );
    }
    for p in &planted {
        let r = mproc(&["inspect", &p.name]);
        assert_eq!(r.code, Some(0), "seed {seed:#x}: {}: {r:?}", p.name);
    }
}
