//! The fork start method.

use std::io::Write;
use std::sync::Arc;

use mproc_sys::ForkResult;

use crate::body::Body;
use crate::child::{Child, ChildShared};
use crate::error::{ProcessError, Result};
use crate::exit::{die_with_parent, finish_forked, kill_daemons_at_exit, mark_forked_child};
use crate::info::ProcessInfo;
use crate::outcome::run_guarded;
use crate::start_method::StartMethod;
use crate::table;

/// Forks a child that runs `body` and `_exit`s.
///
/// stdout, stderr and the process table are locked across the `fork`, so
/// no other thread of the parent holds them at that instant and the child
/// inherits them unlocked; stdout is flushed first, so the child does not
/// print the parent's pending output again.
pub(crate) fn start(body: Box<dyn Body + '_>, name: Option<String>, daemon: bool) -> Result<Child> {
    if daemon {
        kill_daemons_at_exit();
    }
    let mut out = std::io::stdout().lock();
    let _ = out.flush();
    let err = std::io::stderr().lock();
    let mut table = table::lock();
    let (identity, default_name) = table.next_child();
    let parent = table.me().clone();
    let mut info = ProcessInfo {
        name: name.unwrap_or(default_name),
        pid: 0,
        daemon,
        identity,
    };
    // The child waits for the parent to hand it what the body captured
    // (below) before running the body: done first, the child's drop of a
    // queue end or segment would find it still the parent's and leave it,
    // and the parent's hand-over would then make a dead child its owner.
    // Close-on-exec; the parent keeps the read end open until it has
    // written, so the write cannot raise SIGPIPE.
    let handed_over = std::io::pipe().map_err(|source| ProcessError::Fork { source })?;
    // SAFETY: the child touches only what this thread held locked (stdout,
    // stderr, the table) or owns (`body`) before it runs the user's body,
    // and leaves through `_exit`. Locks held by other threads at the fork
    // (the allocator's aside, which glibc resets) are the documented hazard
    // of the fork start method.
    match unsafe { mproc_sys::fork() } {
        Err(source) => Err(ProcessError::Fork { source }),
        Ok(ForkResult::Child) => {
            let parent_pid = parent.pid;
            info.pid = mproc_sys::getpid();
            table.become_child(info, parent);
            mark_forked_child();
            drop(table);
            drop(err);
            drop(out);
            if daemon {
                die_with_parent(parent_pid);
            }
            wait_for_hand_over(handed_over, parent_pid);
            // As Python's children: reading stdin sees end of file. Left as
            // inherited if /dev/null cannot be opened (a bare chroot). Done
            // after the wait: in a parent whose stdin was closed, the pipe
            // waited on is descriptor 0, which this replaces.
            let _ = mproc_sys::stdin_from_null();
            let code = run_guarded(|| body.run());
            finish_forked(code)
        }
        Ok(ForkResult::Parent { child }) => {
            info.pid = child;
            let shared = Arc::new(ChildShared::new(info));
            table.children.push(Arc::clone(&shared));
            drop(table);
            drop(err);
            drop(out);
            // What the body captured is the child's now: handles registered
            // under this process (queue ends) pass their registration to it
            // as this copy drops, instead of unregistering.
            mproc_sys::while_handing_over_to(child, || drop(body));
            let (reader, mut writer) = handed_over;
            let _ = writer.write_all(&[1]);
            drop((reader, writer));
            Ok(Child::new(shared, StartMethod::Fork))
        }
    }
}

/// In a forked child: waits until the parent has dropped its copy of the
/// body (a byte on `handed_over`), or is gone.
fn wait_for_hand_over(handed_over: (std::io::PipeReader, std::io::PipeWriter), parent: i32) {
    use std::io::Read;
    use std::os::fd::AsFd;

    let (mut reader, writer) = handed_over;
    drop(writer);
    loop {
        match mproc_sys::wait_readable(reader.as_fd(), Some(std::time::Duration::from_millis(100)))
        {
            // The byte, or end of file (the parent died and nobody else
            // holds the write end).
            Ok(true) => {
                let _ = reader.read(&mut [0]);
                return;
            }
            Ok(false) if mproc_sys::getppid() == parent => {}
            _ => return,
        }
    }
}
