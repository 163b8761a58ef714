//! Commands that write files clean up when interrupted: on SIGINT, SIGTERM or SIGHUP a thread
//! removes the temporary files tdgen has written and not yet renamed into place (waiting for a
//! commit under way to finish, so a directory is the old render or the new one), then lets the
//! signal end the process as it would have without the handler.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set as soon as a signal arrives, before the clean-up.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Install the handler; call it just before writing (other commands keep the default
/// handlers and start no thread). If signals cannot be caught, the next render removes what an
/// interrupted one left.
pub(crate) fn clean_up_on_interrupt() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            INTERRUPTED.store(true, Ordering::SeqCst);
            tdgen::remove_unfinished_files();
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    });
}

/// A command that failed because a signal interrupted it ("not written: the render was
/// interrupted") must not exit 2 before the handler ends the process by that signal: wait for
/// it instead, so the exit status is always the signal's.
pub(crate) fn wait_if_interrupted() {
    if INTERRUPTED.load(Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
}
