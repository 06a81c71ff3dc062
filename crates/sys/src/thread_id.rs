//! Thread ids and thread liveness, for locks whose word names the thread
//! that holds them.

use std::cell::Cell;
use std::io;

/// The calling thread's kernel thread id (`gettid`): unique among the
/// live threads of the whole system (of one pid namespace), equal to the
/// pid for a process's main thread.
///
/// # Examples
///
/// ```
/// let main = mproc_sys::gettid();
/// assert!(main > 0);
/// let other = std::thread::spawn(mproc_sys::gettid).join().unwrap();
/// assert_ne!(main, other);
/// ```
pub fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::gettid() }
}

thread_local! {
    /// This thread's id and the fork epoch it was found in; tid 0 until
    /// first asked for.
    static CACHED_TID: Cell<(i32, u64)> = const { Cell::new((0, 0)) };
}

/// [`gettid`] without a system call after the first: the id is cached per
/// thread with its [`fork_epoch`](crate::fork_epoch), so that a forked
/// child (whose one thread is a copy of its parent's forking thread, with
/// its cache) asks again.
///
/// # Examples
///
/// ```
/// use mproc_sys::{fork, gettid, gettid_cached, waitpid, exit_immediately, ExitStatus, ForkResult};
///
/// assert_eq!(gettid_cached(), gettid());
/// // SAFETY: the child only compares ids and calls `_exit`.
/// match unsafe { fork() }.unwrap() {
///     ForkResult::Child => exit_immediately(if gettid_cached() == gettid() { 0 } else { 1 }),
///     ForkResult::Parent { child } => {
///         assert_eq!(waitpid(child, false).unwrap(), Some(ExitStatus::Exited(0)));
///     }
/// }
/// ```
#[inline]
pub fn gettid_cached() -> i32 {
    let epoch = crate::fork_epoch();
    let (cached, at) = CACHED_TID.with(Cell::get);
    if cached != 0 && at == epoch {
        return cached;
    }
    fill_cached_tid(epoch)
}

#[cold]
fn fill_cached_tid(epoch: u64) -> i32 {
    let tid = gettid();
    CACHED_TID.with(|c| c.set((tid, epoch)));
    tid
}

/// A thread's start time in clock ticks after boot (field 22 of
/// `/proc/<tid>/stat`, which exists for every thread id, listed or not).
///
/// # Errors
///
/// `NotFound` if no thread has this id, `InvalidData` if its stat line
/// cannot be parsed.
///
/// # Examples
///
/// ```
/// let t = mproc_sys::thread_start_time(mproc_sys::gettid()).unwrap();
/// assert!(t > 0 || t == 0);
/// assert!(mproc_sys::thread_start_time(-1).is_err());
/// ```
pub fn thread_start_time(tid: i32) -> io::Result<u64> {
    Ok(read_thread_stat(tid)?.1)
}

/// Whether thread `tid` is running: it exists, is not a zombie or dead, and
/// (when `start_time` is given) started at that time, so that a reused id
/// does not pass for the thread that held it.
///
/// # Examples
///
/// ```
/// use mproc_sys::{gettid, thread_is_alive, thread_start_time};
/// let me = gettid();
/// let start = thread_start_time(me).unwrap();
/// assert!(thread_is_alive(me, Some(start)));
/// assert!(thread_is_alive(me, None));
/// assert!(!thread_is_alive(me, Some(start + 1)));
/// assert!(!thread_is_alive(0, None));
/// ```
pub fn thread_is_alive(tid: i32, start_time: Option<u64>) -> bool {
    match read_thread_stat(tid) {
        Ok((state, start)) => {
            !matches!(state, b'Z' | b'X' | b'x') && start_time.is_none_or(|s| s == start)
        }
        // A /proc we cannot read says nothing: only a missing entry is death.
        Err(e) => e.kind() != io::ErrorKind::NotFound && e.kind() != io::ErrorKind::InvalidInput,
    }
}

fn read_thread_stat(tid: i32) -> io::Result<(u8, u64)> {
    let stat = crate::proc_stat::read(tid)?;
    Ok((stat.state, stat.start_time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_threads_are_visible_and_die() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(gettid()).unwrap();
            done_rx.recv().unwrap();
        });
        let tid = rx.recv().unwrap();
        let start = thread_start_time(tid).unwrap();
        assert!(thread_is_alive(tid, Some(start)));
        done_tx.send(()).unwrap();
        t.join().unwrap();
        // `join` returns once the kernel clears the thread id; the task
        // can show in /proc a little longer, until it is released.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while thread_is_alive(tid, Some(start)) {
            assert!(std::time::Instant::now() < deadline, "still alive");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}
