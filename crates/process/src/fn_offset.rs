//! Function pointers that survive a re-exec of the same binary.
//!
//! ASLR loads the executable at a different base address in every process,
//! but the distance between two functions of one image never changes. A
//! function is therefore named by its offset from a fixed symbol of this
//! crate ([`anchor`]); the spawned child adds the offset to its own address
//! of that symbol. The parent checks that the function lies in the same
//! image as the anchor; the child checks that it runs the very executable
//! file its parent ran.

use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{ProcessError, Result};

/// The fixed symbol offsets are measured from. Never inlined, so that it
/// has an address.
#[inline(never)]
fn anchor() {}

fn anchor_addr() -> usize {
    anchor as fn() as usize
}

/// A function's position in the executable image, as a distance from a
/// fixed symbol: it means the same function in every process running the
/// same executable file, whatever the load address. This is how spawned
/// children (and pool workers) are told which function to run.
///
/// # Examples
///
/// ```
/// use mproc_process::FnOffset;
///
/// fn double(x: u32) -> u32 { x * 2 }
///
/// let off = FnOffset::of(double as fn(u32) -> u32).unwrap();
/// // In this process, or (after serializing `off`) in a spawned copy of it:
/// // SAFETY: `off` was made from a `fn(u32) -> u32` of this very executable.
/// let f = unsafe { off.to_fn::<u32, u32>() };
/// assert_eq!(f(21), 42);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FnOffset(i64);

impl FnOffset {
    /// The offset of the function `f`.
    ///
    /// # Errors
    ///
    /// [`ProcessError::NotInImage`] if `f` is not in the same executable
    /// image as this crate (a function of a dynamically loaded library);
    /// [`ProcessError::Image`] if `/proc/self/maps` cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// fn id(x: i8) -> i8 { x }
    /// assert!(mproc_process::FnOffset::of(id as fn(i8) -> i8).is_ok());
    /// ```
    pub fn of<A, R>(f: fn(A) -> R) -> Result<FnOffset> {
        FnOffset::of_addr(f as usize)
    }

    /// The offset of the code at `addr` in this process.
    ///
    /// # Errors
    ///
    /// As [`of`](Self::of).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_process::{FnOffset, ProcessError};
    /// let on_heap = Box::new(0u8);
    /// let addr = &*on_heap as *const u8 as usize;
    /// assert!(matches!(FnOffset::of_addr(addr), Err(ProcessError::NotInImage { .. })));
    /// ```
    pub fn of_addr(addr: usize) -> Result<FnOffset> {
        let ranges = image_ranges()?;
        if !ranges.iter().any(|r| r.contains(&addr)) {
            return Err(ProcessError::NotInImage { addr });
        }
        Ok(FnOffset((addr as i64).wrapping_sub(anchor_addr() as i64)))
    }

    /// The address this offset names in the calling process.
    ///
    /// # Examples
    ///
    /// ```
    /// fn f(_: ()) {}
    /// let off = mproc_process::FnOffset::of(f as fn(())).unwrap();
    /// assert_eq!(off.addr(), f as fn(()) as usize);
    /// ```
    pub fn addr(self) -> usize {
        (anchor_addr() as i64).wrapping_add(self.0) as usize
    }

    /// The function this offset names, as a typed pointer.
    ///
    /// # Safety
    ///
    /// `self` must have been made by [`FnOffset::of`] from a `fn(A) -> R`
    /// with these very `A` and `R`, in a process running the same
    /// executable file as the caller (the same file, not merely the same
    /// path: see [`ExecutableId`]). Anything else calls arbitrary code.
    ///
    /// # Examples
    ///
    /// ```
    /// fn neg(x: i64) -> i64 { -x }
    /// let off = mproc_process::FnOffset::of(neg as fn(i64) -> i64).unwrap();
    /// // SAFETY: made from a fn(i64) -> i64 in this process.
    /// assert_eq!(unsafe { off.to_fn::<i64, i64>() }(5), -5);
    /// ```
    pub unsafe fn to_fn<A, R>(self) -> fn(A) -> R {
        let addr = self.addr();
        // SAFETY: by the caller's contract, `addr` is the entry point of a
        // `fn(A) -> R` in this image; fn pointers and usize have one size.
        unsafe { std::mem::transmute::<usize, fn(A) -> R>(addr) }
    }
}

/// The identity of an executable file (device and inode): two processes
/// with equal ids run the same file, even if its path was replaced.
///
/// # Examples
///
/// ```
/// let me = mproc_process::ExecutableId::current().unwrap();
/// assert_eq!(me, mproc_process::ExecutableId::current().unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExecutableId {
    /// The device of the file.
    pub dev: u64,
    /// The inode of the file.
    pub ino: u64,
}

impl ExecutableId {
    /// The executable file of the calling process (`/proc/self/exe`).
    ///
    /// # Errors
    ///
    /// [`ProcessError::Image`] if `/proc/self/exe` cannot be examined.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mproc_process::ExecutableId::current().unwrap().ino > 0);
    /// ```
    pub fn current() -> Result<ExecutableId> {
        let meta = std::fs::metadata(EXE_LINK).map_err(|source| ProcessError::Image { source })?;
        Ok(ExecutableId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

/// The running executable, whatever its path has become.
pub(crate) const EXE_LINK: &str = "/proc/self/exe";

/// The executable mappings of the image holding [`anchor`].
fn image_ranges() -> Result<&'static [Range<usize>]> {
    static RANGES: OnceLock<Vec<Range<usize>>> = OnceLock::new();
    if let Some(r) = RANGES.get() {
        return Ok(r);
    }
    let maps = std::fs::read_to_string("/proc/self/maps")
        .map_err(|source| ProcessError::Image { source })?;
    let ranges = ranges_of_image(&maps, anchor_addr());
    Ok(RANGES.get_or_init(|| ranges))
}

/// From a `/proc/<pid>/maps` text, the executable ranges backed by the same
/// file (device and inode) as the mapping that contains `addr`.
fn ranges_of_image(maps: &str, addr: usize) -> Vec<Range<usize>> {
    let lines: Vec<MapLine<'_>> = maps.lines().filter_map(MapLine::parse).collect();
    let Some(home) = lines.iter().find(|l| l.range.contains(&addr)) else {
        return Vec::new();
    };
    let file = (home.dev, home.inode);
    if home.inode == "0" {
        return vec![home.range.clone()];
    }
    lines
        .iter()
        .filter(|l| l.executable && (l.dev, l.inode) == file)
        .map(|l| l.range.clone())
        .collect()
}

struct MapLine<'a> {
    range: Range<usize>,
    executable: bool,
    dev: &'a str,
    inode: &'a str,
}

impl<'a> MapLine<'a> {
    /// `start-end perms offset dev inode [path]`.
    fn parse(line: &'a str) -> Option<MapLine<'a>> {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let perms = fields.next()?;
        let _offset = fields.next()?;
        let dev = fields.next()?;
        let inode = fields.next()?;
        Some(MapLine {
            range: usize::from_str_radix(start, 16).ok()?..usize::from_str_radix(end, 16).ok()?,
            executable: perms.as_bytes().get(2) == Some(&b'x'),
            dev,
            inode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0a0000000-55d0a0001000 r--p 00000000 fd:01 1234 /bin/prog
55d0a0001000-55d0a0005000 r-xp 00001000 fd:01 1234 /bin/prog
55d0a0005000-55d0a0006000 rw-p 00005000 fd:01 1234 /bin/prog
7f0000000000-7f0000010000 r-xp 00000000 fd:01 9999 /lib/libc.so.6
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
garbage line
";

    #[test]
    fn finds_the_executable_ranges_of_the_anchor_image() {
        let r = ranges_of_image(MAPS, 0x55d0a0002000);
        assert_eq!(r, vec![0x55d0a0001000..0x55d0a0005000]);
    }

    #[test]
    fn unknown_address_gives_no_ranges() {
        assert!(ranges_of_image(MAPS, 0x10).is_empty());
    }

    #[test]
    fn library_functions_are_outside_the_image() {
        let r = ranges_of_image(MAPS, 0x55d0a0002000);
        assert!(!r.iter().any(|r| r.contains(&0x7f0000000100)));
    }

    #[test]
    fn offsets_round_trip_in_process() {
        fn f(x: u8) -> u8 {
            x + 1
        }
        let off = FnOffset::of(f as fn(u8) -> u8).unwrap();
        assert_eq!(off.addr(), f as fn(u8) -> u8 as usize);
        let bytes = postcard::to_stdvec(&off).unwrap();
        let back: FnOffset = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, off);
    }
}
