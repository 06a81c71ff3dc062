//! The fork start method with real processes and real signals. Sequential
//! (`harness = false`): see `common`.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{JOIN, assert_no_children, join};
use mproc_process::{
    Process, ProcessError, StartMethod, Target, active_children, cpu_count, current_process,
    parent_process, process_cpu_count,
};

fn main() {
    mproc_process::init();
    if let Some(scenario) = scenario_arg() {
        return run_scenario(&scenario);
    }
    common::run(
        &[
            ("exit_code_zero", exit_code_zero),
            ("exit_code_three", exit_code_three),
            ("panic_exits_one", panic_exits_one),
            ("err_exits_one", err_exits_one),
            ("terminate_reads_minus_15", terminate_reads_minus_15),
            ("kill_reads_minus_9", kill_reads_minus_9),
            ("join_timeout_then_terminate", join_timeout_then_terminate),
            (
                "is_alive_and_exitcode_transitions",
                is_alive_and_exitcode_transitions,
            ),
            (
                "join_twice_returns_the_code_again",
                join_twice_returns_the_code_again,
            ),
            ("no_signal_to_a_reaped_pid", no_signal_to_a_reaped_pid),
            ("names_and_parents", names_and_parents),
            ("target_runs_in_the_child", target_runs_in_the_child),
            ("closure_may_borrow", closure_may_borrow),
            (
                "active_children_lists_the_running",
                active_children_lists_the_running,
            ),
            ("dropped_handles_are_reaped", dropped_handles_are_reaped),
            (
                "two_hundred_cycles_leave_no_zombie",
                two_hundred_cycles_leave_no_zombie,
            ),
            (
                "child_output_and_exit_hygiene",
                child_output_and_exit_hygiene,
            ),
            ("fork_failure_is_an_os_error", fork_failure_is_an_os_error),
            ("threads_holding_stdio_locks", threads_holding_stdio_locks),
            (
                "join_and_terminate_from_two_threads",
                join_and_terminate_from_two_threads,
            ),
            ("cpu_counts", cpu_counts),
            (
                "a_daemon_cannot_have_children",
                a_daemon_cannot_have_children,
            ),
            (
                "a_process_forked_by_other_means_knows_its_pid",
                a_process_forked_by_other_means_knows_its_pid,
            ),
            (
                "a_pool_closes_in_a_process_ignoring_sigchld",
                a_pool_closes_in_a_process_ignoring_sigchld,
            ),
            (
                "children_read_end_of_file_on_stdin",
                children_read_end_of_file_on_stdin,
            ),
            (
                "queue_ends_the_body_captured_are_the_childs",
                queue_ends_the_body_captured_are_the_childs,
            ),
            (
                "a_named_queue_the_body_captured_keeps_its_name",
                a_named_queue_the_body_captured_keeps_its_name,
            ),
            (
                "a_queue_the_child_drops_before_the_hand_over_is_removed",
                a_queue_the_child_drops_before_the_hand_over_is_removed,
            ),
            (
                "a_named_queue_handed_on_to_a_grandchild_keeps_its_name",
                a_named_queue_handed_on_to_a_grandchild_keeps_its_name,
            ),
            (
                "a_child_of_a_parent_without_stdin_waits_for_the_hand_over",
                a_child_of_a_parent_without_stdin_waits_for_the_hand_over,
            ),
        ],
        Duration::from_secs(240),
    );
}

fn sleeper() -> Process<'static> {
    Process::new(|| std::thread::sleep(Duration::from_secs(30)))
}

fn exit_code_zero() {
    let c = Process::new(|| ()).start().unwrap();
    assert_eq!(join(&c), 0);
    let c = Process::new(|| Ok::<_, String>(17)).start().unwrap();
    assert_eq!(join(&c), 0);
}

fn exit_code_three() {
    let c = Process::new(|| std::process::exit(3)).start().unwrap();
    assert_eq!(join(&c), 3);
    assert_eq!(c.exitcode(), Some(3));
}

fn panic_exits_one() {
    // Keep the expected panic's report off the test output.
    let c = Process::new(|| {
        std::panic::set_hook(Box::new(|_| {}));
        panic!("expected")
    })
    .start()
    .unwrap();
    assert_eq!(join(&c), 1);
}

fn err_exits_one() {
    // The message itself is checked in `child_output_and_exit_hygiene`.
    let c = Process::new(|| Err::<(), _>(std::io::Error::other("x")))
        .start()
        .unwrap();
    let code = join(&c);
    assert_eq!(code, 1);
}

fn terminate_reads_minus_15() {
    let c = sleeper().start().unwrap();
    c.terminate().unwrap();
    assert_eq!(join(&c), -15);
    assert_eq!(c.exitcode(), Some(-15));
}

fn kill_reads_minus_9() {
    let c = sleeper().start().unwrap();
    c.kill().unwrap();
    assert_eq!(join(&c), -9);
}

fn join_timeout_then_terminate() {
    let c = sleeper().start().unwrap();
    let t0 = Instant::now();
    assert_eq!(c.join_timeout(Duration::from_millis(200)).unwrap(), None);
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(200),
        "returned early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(2), "overslept: {waited:?}");
    assert_eq!(c.join_timeout(Duration::ZERO).unwrap(), None);
    c.terminate().unwrap();
    assert_eq!(c.join_timeout(JOIN).unwrap(), Some(-15));
}

fn is_alive_and_exitcode_transitions() {
    let c = sleeper().start().unwrap();
    assert!(c.is_alive());
    assert_eq!(c.exitcode(), None);
    c.kill().unwrap();
    // Dead but not yet reaped still reads alive until polled after death.
    let deadline = Instant::now() + JOIN;
    while c.is_alive() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(c.exitcode(), Some(-9));
    // is_alive reaped it; join still reports the code, once.
    assert_eq!(c.join().unwrap(), -9);
    assert!(!c.is_alive());
}

fn join_twice_returns_the_code_again() {
    let c = Process::new(|| std::process::exit(4)).start().unwrap();
    assert_eq!(join(&c), 4);
    // Python's join returns again at once; so do these.
    assert_eq!(c.join().unwrap(), 4);
    assert_eq!(c.join_timeout(Duration::from_millis(1)).unwrap(), Some(4));
    assert_eq!(c.exitcode(), Some(4));
    // From two threads at once, too.
    let d = Process::new(|| std::process::exit(5)).start().unwrap();
    let codes: Vec<i32> = std::thread::scope(|s| {
        let a = s.spawn(|| d.join().unwrap());
        let b = s.spawn(|| d.join().unwrap());
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    assert_eq!(codes, [5, 5]);
}

/// After a child is reaped its pid is free; make a stranger take it (by
/// steering the kernel's next pid when allowed), then terminate and kill
/// the stale handle: the stranger must not notice.
fn no_signal_to_a_reaped_pid() {
    let c = Process::new(|| ()).start().unwrap();
    assert_eq!(join(&c), 0);
    let stale = c.pid();
    let mut stranger = None;
    for _ in 0..50 {
        if std::fs::write("/proc/sys/kernel/ns_last_pid", (stale - 1).to_string()).is_err() {
            break;
        }
        let s = sleeper().start().unwrap();
        if s.pid() == stale {
            stranger = Some(s);
            break;
        }
        s.kill().unwrap();
        join(&s);
    }
    c.terminate().unwrap();
    c.kill().unwrap();
    c.send_signal(mproc_sys::Signal::Usr1).unwrap();
    match stranger {
        Some(s) => {
            std::thread::sleep(Duration::from_millis(100));
            assert!(
                s.is_alive(),
                "a signal reached the process that reused the pid"
            );
            s.kill().unwrap();
            assert_eq!(join(&s), -9);
        }
        None => eprint!("(pid could not be steered; checked no error only) "),
    }
}

fn names_and_parents() {
    assert_eq!(current_process().name(), "MainProcess");
    assert!(parent_process().is_none());
    let main_pid = mproc_sys::getpid();
    // A named child sees its name, its parent, and its daemon flag.
    let c = Process::new(move || {
        let me = current_process();
        let parent = parent_process().ok_or("no parent")?;
        if me.name() != "worker" || !me.daemon() || me.pid() != mproc_sys::getpid() {
            return Err(format!("wrong self: {me:?}"));
        }
        if parent.name() != "MainProcess" || parent.pid() != main_pid {
            return Err(format!("wrong parent: {parent:?}"));
        }
        Ok(())
    })
    .name("worker")
    .daemon(true)
    .start()
    .unwrap();
    assert_eq!(join(&c), 0);

    // Default names follow Python: Process-N, and Process-N:M below it.
    let c = Process::new(|| {
        let me = current_process();
        if !me.name().starts_with("Process-") || me.identity().len() != 1 {
            return Err(format!("wrong default name: {me:?}"));
        }
        let expected = format!("{}:1", me.name());
        let grandchild = Process::new(move || {
            let g = current_process();
            if g.name() == expected && parent_process().is_some_and(|p| p.name() != "MainProcess") {
                Ok(())
            } else {
                Err(format!("grandchild named {}", g.name()))
            }
        })
        .start()
        .map_err(|e| e.to_string())?;
        match grandchild.join_timeout(JOIN).map_err(|e| e.to_string())? {
            Some(0) => Ok(()),
            other => Err(format!("grandchild ended with {other:?}")),
        }
    })
    .start()
    .unwrap();
    assert_eq!(join(&c), 0);
    assert_eq!(c.name(), format!("Process-{}", c.info().identity()[0]));
}

struct Accumulator {
    items: Vec<i32>,
    total: i32,
}

impl Target for Accumulator {
    fn run(&mut self) {
        self.total = self.items.iter().sum();
        if current_process().name() != "acc" {
            std::process::exit(99);
        }
        std::process::exit(self.total);
    }
}

struct Quiet;

impl Target for Quiet {
    fn run(&mut self) {}
}

struct Panicky;

impl Target for Panicky {
    fn run(&mut self) {
        std::panic::set_hook(Box::new(|_| {}));
        panic!("target failed");
    }
}

fn target_runs_in_the_child() {
    let acc = Accumulator {
        items: vec![10, 20, 12],
        total: 0,
    };
    let c = Process::from_target(acc).name("acc").start().unwrap();
    assert_eq!(join(&c), 42);
    assert_eq!(join(&Process::from_target(Quiet).start().unwrap()), 0);
    assert_eq!(join(&Process::from_target(Panicky).start().unwrap()), 1);
}

fn closure_may_borrow() {
    let data: Vec<u8> = std::iter::repeat_n(5, 11).collect();
    let mut local = 0;
    let c = Process::new(|| {
        local += 1; // the child's copy; the parent's stays 0
        std::process::exit(i32::from(data.iter().sum::<u8>()) + local)
    })
    .start()
    .unwrap();
    assert_eq!(join(&c), 56);
    assert_eq!(local, 0);
}

fn active_children_lists_the_running() {
    let a = sleeper().start().unwrap();
    let b = Process::new(|| ()).start().unwrap();
    assert_eq!(join(&b), 0);
    let live = active_children();
    assert!(
        live.iter()
            .any(|p| p.pid() == a.pid() && p.name() == a.name())
    );
    assert!(!live.iter().any(|p| p.pid() == b.pid()));
    a.kill().unwrap();
    join(&a);
    assert!(active_children().is_empty());
}

fn dropped_handles_are_reaped() {
    for code in 0..5 {
        drop(
            Process::new(move || std::process::exit(code))
                .start()
                .unwrap(),
        );
    }
    // Asking reaps the ended: once they have all exited (seconds at most
    // on a loaded machine), none is listed and none is left a zombie.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !active_children().is_empty() {
        assert!(Instant::now() < deadline, "{:?}", active_children());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_no_children("after active_children");
}

fn two_hundred_cycles_leave_no_zombie() {
    for i in 0..200 {
        let c = Process::new(move || std::process::exit(i % 7))
            .start()
            .unwrap();
        assert_eq!(join(&c), i % 7);
    }
    let zombies: Vec<_> = common::children_of(mproc_sys::getpid())
        .into_iter()
        .filter(|(_, s)| *s == 'Z')
        .collect();
    assert!(zombies.is_empty(), "zombies: {zombies:?}");
}

/// Runs this test binary as a separate parent process (so that its stdout,
/// stderr, destructors and exit hooks can be observed).
fn run_self(scenario: &str) -> std::process::Output {
    run_self_with_input(scenario, None)
}

/// [`run_self`] with `input` on the scenario's stdin (a pipe, closed after
/// it), or `/dev/null`.
fn run_self_with_input(scenario: &str, input: Option<&[u8]>) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--scenario", scenario])
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        // Small enough for the pipe's buffer: written before anyone reads.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
    }
    let mut out = Vec::new();
    let mut err = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    let status = child.wait().unwrap();
    std::process::Output {
        status,
        stdout: out,
        stderr: err,
    }
}

fn child_output_and_exit_hygiene() {
    let out = run_self("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scenario failed: {stderr}");
    // The parent's unflushed "P" is printed once, before the child's "C";
    // the child's unterminated "C" is flushed at its exit; the parent's
    // destructor and exit hook run once, in the parent only.
    assert_eq!(stdout, "PC\nDROP\nATEXIT\n", "stderr: {stderr}");
    assert!(
        stderr.contains("Process Process-2: boom-message"),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("panicked") && stderr.contains("panic-message"),
        "stderr: {stderr}"
    );
}

fn fork_failure_is_an_os_error() {
    // In a child: become an unprivileged user, allow it no processes, and
    // try to start one.
    let c = Process::new(|| -> Result<(), String> {
        mproc_sys::setgid(65534).map_err(|e| e.to_string())?;
        mproc_sys::setuid(65534).map_err(|e| e.to_string())?;
        mproc_sys::set_process_limit(0, 0).map_err(|e| e.to_string())?;
        match Process::new(|| ()).start() {
            Err(ProcessError::Fork { source }) if source.raw_os_error() == Some(11) => Ok(()),
            Err(e) => Err(format!("wrong error: {e}")),
            Ok(c) => {
                let _ = c.join();
                Err("fork succeeded beyond the limit".into())
            }
        }
    })
    .start()
    .unwrap();
    assert_eq!(join(&c), 0);
}

/// Threads that keep taking the stdout and stderr locks while children are
/// forked: the children write to both and must not deadlock.
fn threads_holding_stdio_locks() {
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Mutex::new(Vec::<u64>::new()));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let stop = Arc::clone(&stop);
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if i % 2 == 0 {
                        let _out = std::io::stdout().lock();
                        std::thread::sleep(Duration::from_micros(300));
                    } else {
                        let _err = std::io::stderr().lock();
                        shared.lock().unwrap().push(i);
                        std::thread::sleep(Duration::from_micros(300));
                    }
                }
            })
        })
        .collect();
    for _ in 0..40 {
        let c = Process::new(|| {
            let mut out = std::io::stdout().lock();
            out.write_all(b"").unwrap();
            out.flush().unwrap();
            eprint!("");
        })
        .start()
        .unwrap();
        assert_eq!(join(&c), 0);
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
}

fn join_and_terminate_from_two_threads() {
    let c = Arc::new(sleeper().start().unwrap());
    let joiner = {
        let c = Arc::clone(&c);
        std::thread::spawn(move || c.join_timeout(JOIN).unwrap())
    };
    std::thread::sleep(Duration::from_millis(50));
    c.terminate().unwrap();
    assert_eq!(joiner.join().unwrap(), Some(-15));
    assert_eq!(c.exitcode(), Some(-15));
}

fn cpu_counts() {
    let n = cpu_count();
    assert!(n >= 1);
    assert!(process_cpu_count() >= 1);
    assert_eq!(
        n,
        std::fs::read_to_string("/proc/cpuinfo")
            .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
            .unwrap_or(n)
    );
}

fn scenario_arg() -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != "--scenario");
    args.next()?;
    args.next()
}

fn run_scenario(name: &str) {
    match name {
        "output" => scenario_output(),
        "pool_with_sigchld_ignored" => scenario_pool_with_sigchld_ignored(),
        "stdin" => scenario_stdin(),
        "stdin_closed" => scenario_stdin_closed(),
        other => panic!("unknown scenario {other}"),
    }
}

struct PrintOnDrop;

impl Drop for PrintOnDrop {
    fn drop(&mut self) {
        println!("DROP");
    }
}

extern "C" fn print_at_exit() {
    let _ = std::io::stdout().write_all(b"ATEXIT\n");
    let _ = std::io::stdout().flush();
}

fn scenario_output() {
    let _guard = PrintOnDrop;
    mproc_sys::at_exit(print_at_exit).unwrap();
    print!("P");
    let c = Process::new(|| print!("C")).start().unwrap();
    assert_eq!(join(&c), 0);
    let e = Process::new(|| Err::<(), _>("boom-message"))
        .start()
        .unwrap();
    assert_eq!(join(&e), 1);
    let p = Process::new(|| panic!("panic-message")).start().unwrap();
    assert_eq!(join(&p), 1);
    // An exit code returned, and one given by `exit` from deeper down:
    // neither runs the parent's exit hook in the child.
    let r = Process::new(|| 4).start().unwrap();
    assert_eq!(join(&r), 4);
    let x = Process::new(|| mproc_process::exit(5)).start().unwrap();
    assert_eq!(join(&x), 5);
    println!();
}

/// Exit code 0 if stdin is at its end, 7 if a line could be read.
fn reads_end_of_file() -> i32 {
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(0) => 0,
        Ok(_) => 7,
        Err(_) => 8,
    }
}

fn scenario_stdin() {
    let forked = Process::new(reads_end_of_file).start().unwrap();
    let spawned = Process::new(reads_end_of_file)
        .start_method(StartMethod::Spawn)
        .start()
        .unwrap();
    let (forked, spawned) = (join(&forked), join(&spawned));
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    println!("fork {forked} spawn {spawned} parent {}", line.trim());
}

/// As in Python, a child's stdin reads end of file at once (`/dev/null`),
/// whatever the start method, and the parent's input is left to the
/// parent: a child reading a shared stdin would take lines meant for it.
fn children_read_end_of_file_on_stdin() {
    let out = run_self_with_input("stdin", Some(b"secret\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scenario failed: {stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "fork 0 spawn 0 parent secret\n",
        "stderr: {stderr}"
    );
}

/// A process forked by other means than mproc (a daemonizing fork, say)
/// is itself in `current_process()`, not the parent it was copied from.
fn a_process_forked_by_other_means_knows_its_pid() {
    assert_eq!(current_process().pid(), mproc_sys::getpid());
    // SAFETY: the test runs alone (its watchdog holds no lock); the child
    // reads the process table and leaves with `_exit`.
    match unsafe { mproc_sys::fork() }.unwrap() {
        mproc_sys::ForkResult::Child => {
            let ok = current_process().pid() == mproc_sys::getpid();
            mproc_sys::exit_immediately(if ok { 0 } else { 1 })
        }
        mproc_sys::ForkResult::Parent { child } => {
            assert_eq!(
                mproc_sys::waitpid(child, false).unwrap(),
                Some(mproc_sys::ExitStatus::Exited(0))
            );
        }
    }
}

/// As in Python, a daemon may not start children (they would outlive it
/// when it is killed at its parent's exit).
fn a_daemon_cannot_have_children() {
    let c = Process::new(|| match Process::new(|| ()).start() {
        Err(ProcessError::DaemonCannotHaveChildren { name }) if name == "d" => 0,
        _ => 1,
    })
    .name("d")
    .daemon(true)
    .start()
    .unwrap();
    assert_eq!(join(&c), 0);
}

fn triple(x: u32) -> u32 {
    3 * x
}

/// Run with `SIGCHLD` ignored (inherited through exec): the kernel reaps
/// the workers itself, and their exit codes are lost.
fn scenario_pool_with_sigchld_ignored() {
    // SIGCHLD (17) is bit 16 of the ignored-signals mask.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .unwrap();
    assert!(
        ignored & (1 << 16) != 0,
        "SIGCHLD is not ignored: {ignored:#x}"
    );
    let pool = mproc_process::Pool::new(2).unwrap();
    assert_eq!(pool.map(triple, 0..100u32).unwrap()[99], 297);
    // A worker that dies is found dead although nobody can reap it.
    let victim = pool.pids()[0];
    mproc_sys::kill(victim, mproc_sys::Signal::Kill).unwrap();
    assert_eq!(pool.map(triple, 0..100u32).unwrap()[99], 297);
    pool.close();
    pool.join().unwrap();
    // A child the kernel reaped is not signalled (its pid is free for
    // reuse): terminate does nothing, join says its code is lost.
    let c = Process::new(|| ()).start().unwrap();
    let pid = c.pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "child {pid} never went");
        std::thread::sleep(Duration::from_millis(1));
    }
    c.terminate().unwrap();
    assert!(matches!(
        c.join(),
        Err(ProcessError::ReapedElsewhere { .. })
    ));
    println!("closed");
}

/// A program that ignores `SIGCHLD` (a disposition inherited through
/// exec) has its children reaped by the kernel: the pool still notices
/// its workers' ends, so close and join return rather than wait forever.
fn a_pool_closes_in_a_process_ignoring_sigchld() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg("trap '' CHLD; exec \"$0\" --scenario pool_with_sigchld_ignored")
        .arg(exe)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the pool did not close in 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
    assert_eq!(out, "closed\n", "{err}");
}

/// Queue ends moved into a child's closure, as Python passes a queue in
/// `args`: `start` drops the parent's copy of the closure, and the ends
/// stay attached, now for the child. The consumer here waits for the
/// child's messages (it got `Disconnected` at once when the parent's copy
/// unregistered the producer) and learns of the child's end after them.
fn queue_ends_the_body_captured_are_the_childs() {
    use mproc_queue::{Queue, QueueError, QueueOptions};

    let q = Queue::new(QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let mut rx = q.consumer().unwrap();
    let mut tx = q.producer().unwrap();
    let child = Process::new(move || {
        for i in 0..3u8 {
            std::thread::sleep(Duration::from_millis(50));
            tx.send(&[i]).unwrap();
        }
    })
    .start()
    .unwrap();
    for i in 0..3u8 {
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), [i]);
    }
    assert_eq!(join(&child), 0);
    let after = rx.recv_timeout(Duration::from_secs(10));
    assert!(matches!(after, Err(QueueError::Disconnected)), "{after:?}");
}

/// A named queue moved into a child's closure: `start` drops the parent's
/// copy, which made the segment, and the name stays (it was unlinked then,
/// so nobody could open the queue the child was still using); the child's
/// copy removes it when the child is done.
fn a_named_queue_the_body_captured_keeps_its_name() {
    use mproc_queue::{Queue, QueueOptions};

    let name = format!("fork-test-handover-{}", std::process::id());
    let q = Queue::create(&name, QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let go = Queue::new(QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let mut go_rx = go.consumer().unwrap();
    let mut go_tx = go.producer().unwrap();
    let child = Process::new(move || {
        let _q = q;
        let _ = go_rx.recv_timeout(Duration::from_secs(10));
    })
    .start()
    .unwrap();
    let opened = Queue::open(&name);
    go_tx.send(b"go").unwrap();
    assert_eq!(join(&child), 0);
    assert!(opened.is_ok(), "{:?}", opened.err());
    drop(opened);
    assert!(
        Queue::open(&name).is_err(),
        "the child left the name behind"
    );
}

/// A named queue moved into a child's closure that the child drops before
/// the parent has finished dropping its copy of the closure (held back
/// here by a value captured ahead of the queue, which waits for the
/// child's word in the parent). The child's copy is the one that removes
/// the name; done before the hand-over, it found the parent still the
/// creator and left the name, and the parent then named the dead child
/// creator: nobody removed it.
fn a_queue_the_child_drops_before_the_hand_over_is_removed() {
    use mproc_queue::{Consumer, Queue, QueueOptions};

    /// In the parent's copy of the closure only: waits (a bounded while)
    /// for the child's word that it dropped the queue.
    struct HoldsBack<'a>(&'a mut Consumer);
    impl Drop for HoldsBack<'_> {
        fn drop(&mut self) {
            if mproc_sys::is_handing_over() {
                let _ = self.0.recv_timeout(Duration::from_secs(2));
            }
        }
    }

    let name = format!("fork-test-early-drop-{}", std::process::id());
    let q = Queue::create(&name, QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let done = Queue::new(QueueOptions::new().capacity(4).slot_size(8)).unwrap();
    let mut done_rx = done.consumer().unwrap();
    let mut done_tx = done.producer().unwrap();
    let held = (HoldsBack(&mut done_rx), q);
    let child = Process::new(move || {
        let (holds_back, q) = held;
        drop(holds_back);
        drop(q);
        let _ = done_tx.send(b"dropped");
    })
    .start()
    .unwrap();
    assert_eq!(join(&child), 0);
    let left = Queue::open(&name).is_ok();
    let _ = mproc_shm::Segment::unlink(&name);
    assert!(!left, "nobody removed the name");
}

/// A named queue moved into a child's closure, which the child moves on
/// into a grandchild's: the child's copy, dropped by its own `start`,
/// hands the segment on instead of unlinking it (the child unlinked it as
/// the grandchild started: the name could not be opened while the
/// grandchild used the queue), and the grandchild's copy removes it.
fn a_named_queue_handed_on_to_a_grandchild_keeps_its_name() {
    use mproc_queue::{Queue, QueueOptions};

    let name = format!("fork-test-hand-on-{}", std::process::id());
    let opts = QueueOptions::new().capacity(4).slot_size(8);
    let q = Queue::create(&name, opts).unwrap();
    let go = Queue::new(opts).unwrap();
    let mut go_rx = go.consumer().unwrap();
    let mut go_tx = go.producer().unwrap();
    let ready = Queue::new(opts).unwrap();
    let mut ready_rx = ready.consumer().unwrap();
    let mut ready_tx = ready.producer().unwrap();
    let child = Process::new(move || {
        // Once the parent has handed `q` over.
        go_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let grandchild = Process::new(move || {
            let _q = q;
            let _ = go_rx.recv_timeout(Duration::from_secs(10));
        })
        .start()
        .unwrap();
        ready_tx.send(b"ready").unwrap();
        assert_eq!(join(&grandchild), 0);
    })
    .start()
    .unwrap();
    go_tx.send(b"go").unwrap();
    let ready = ready_rx.recv_timeout(Duration::from_secs(10));
    let opened = Queue::open(&name);
    go_tx.send(b"go").unwrap();
    assert_eq!(join(&child), 0);
    assert!(ready.is_ok(), "{:?}", ready.err());
    assert!(opened.is_ok(), "{:?}", opened.err());
    drop(opened);
    let left = Queue::open(&name).is_ok();
    let _ = mproc_shm::Segment::unlink(&name);
    assert!(!left, "the grandchild left the name behind");
}

/// [`a_queue_the_child_drops_before_the_hand_over_is_removed`] in a
/// process whose descriptor 0 is closed.
fn scenario_stdin_closed() {
    // SAFETY: descriptor 0 is this process's stdin, which nothing here
    // uses; closing it leaves 0 free for the next descriptor made.
    drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(0) });
    a_queue_the_child_drops_before_the_hand_over_is_removed();
    println!("ok");
}

/// A parent started with its stdin closed: the pipe on which the child
/// waits for the hand-over was made as descriptor 0, which the child
/// replaced with `/dev/null` before waiting, so it read end of file at
/// once and ran its body before the parent had handed over what the body
/// captured (a named queue the child dropped early was then left behind).
fn a_child_of_a_parent_without_stdin_waits_for_the_hand_over() {
    let out = run_self("stdin_closed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scenario failed: {stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n", "{stderr}");
}
