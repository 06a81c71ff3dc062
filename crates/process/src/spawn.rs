//! The spawn start method: re-execute this very executable file, which
//! runs [`init`](crate::init) first in `main` and finds its work in the
//! environment.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use mproc_sys::ProcessId;

use crate::body::Body;
use crate::child::{Child, ChildShared};
use crate::error::{ProcessError, Result};
use crate::exit::kill_daemons_at_exit;
use crate::fn_offset::{EXE_LINK, ExecutableId};
use crate::info::ProcessInfo;
use crate::init::refuse_if_uninitialized;
use crate::payload::{ENV_VAR, Payload};
use crate::start_method::StartMethod;
use crate::table;

/// Spawns a child that runs `body`'s recipe. Everything that can fail is
/// checked before the child is created, except the exec itself.
pub(crate) fn start(body: Box<dyn Body + '_>, name: Option<String>, daemon: bool) -> Result<Child> {
    refuse_if_uninitialized()?;
    let recipe = body.recipe()?;
    drop(body);
    let exe = executable_id()?;
    let me = ProcessId::current().map_err(|source| ProcessError::Image { source })?;
    let (identity, default_name, parent) = {
        let mut table = table::lock();
        let (identity, default_name) = table.next_child();
        (identity, default_name, table.me().clone())
    };
    let mut info = ProcessInfo {
        name: name.unwrap_or(default_name),
        pid: 0,
        daemon,
        identity,
    };
    let hand_off = Payload::new(me.start_time, exe, info.clone(), parent, recipe).hand_off()?;
    if daemon {
        kill_daemons_at_exit();
    }

    // `/proc/self/exe` is the running file itself, even if its path has
    // been replaced or deleted since; the child sees the parent's argv.
    let mut cmd = Command::new(EXE_LINK);
    let mut args = std::env::args_os();
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    // As Python's children, and as forked ones: stdin reads end of file.
    cmd.args(args)
        .env(ENV_VAR, &hand_off.env_value)
        .stdin(Stdio::null());
    let spawned = cmd.spawn().map_err(|source| ProcessError::Spawn {
        exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from(EXE_LINK)),
        source,
    })?;
    // The pid is all we keep; dropping std's handle neither waits nor kills.
    info.pid = spawned.id() as i32;
    drop(spawned);

    let shared = Arc::new(ChildShared::new(info));
    if let Some(file) = hand_off.file {
        shared.keep_until_reaped(file);
    }
    table::lock().children.push(Arc::clone(&shared));
    Ok(Child::new(shared, StartMethod::Spawn))
}

/// This program's executable file, looked up once.
fn executable_id() -> Result<ExecutableId> {
    static EXE: OnceLock<ExecutableId> = OnceLock::new();
    if let Some(id) = EXE.get() {
        return Ok(*id);
    }
    let id = ExecutableId::current()?;
    Ok(*EXE.get_or_init(|| id))
}
