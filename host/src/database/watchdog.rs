//! The plugin's deadline on its connection, and the watchdog thread that
//! backs up the progress handler: SQLite calls the progress handler only
//! between VM steps, and some work never gets there (FTS5 parsing a query,
//! for one). Once a plugin's deadline has passed, the watchdog calls
//! `sqlite3_interrupt` on the connection.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, InterruptHandle};

/// How often the watchdog interrupts again while a passed deadline stays
/// set. SQLite forgets an interrupt when a statement starts and no other
/// statement of the connection is running (`sqlite3_step` and
/// `sqlite3RunParser` clear `db->u1.isInterrupted` when
/// `db->nVdbeActive == 0`: search `isInterrupted, 0` in the bundled
/// sqlite3.c, 3.54), so an interrupt that landed between two statements
/// must come again for the next one.
const REPEAT: Duration = Duration::from_millis(10);

/// The plugin's deadline, shared by the connection's progress handler, the
/// watchdog and the host. `None` between calls and while the host runs its
/// own statements on the connection ([`Deadline::take`]).
#[derive(Default)]
pub struct Deadline {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    at: Option<Instant>,
    /// When the watchdog wakes on its own; `None` while it waits to be told.
    wakes_at: Option<Instant>,
    closing: bool,
}

impl Deadline {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set(&self, at: Option<Instant>) {
        let mut state = self.lock();
        state.at = at;
        // Woken only when it would otherwise sleep past the new deadline:
        // the host sets the deadline around every one of its statements.
        if at.is_some_and(|at| state.wakes_at.is_none_or(|w| at < w)) {
            self.changed.notify_all();
        }
    }

    /// Suspend the deadline: once this returns, the watchdog cannot
    /// interrupt until it is set again (it interrupts only while holding
    /// the same lock and seeing a deadline).
    pub fn take(&self) -> Option<Instant> {
        self.lock().at.take()
    }

    pub fn passed(&self) -> bool {
        self.lock().at.is_some_and(|at| Instant::now() >= at)
    }
}

/// The thread watching one connection's deadline; stopped and joined when
/// dropped.
pub struct Watchdog {
    deadline: Arc<Deadline>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    pub fn start(conn: &Connection, deadline: Arc<Deadline>) -> std::io::Result<Watchdog> {
        let handle = conn.get_interrupt_handle();
        let watched = Arc::clone(&deadline);
        let thread = std::thread::Builder::new()
            .name("wasmdesk-sql-dl".into())
            .spawn(move || watch(&watched, &handle))?;
        Ok(Watchdog {
            deadline,
            thread: Some(thread),
        })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.deadline.lock().closing = true;
        self.deadline.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(deadline: &Deadline, handle: &InterruptHandle) {
    let mut state = deadline.lock();
    while !state.closing {
        let wait = state.at.map(|at| {
            let now = Instant::now();
            if now < at {
                return at - now;
            }
            // Under the lock the host takes to suspend the deadline: a host
            // statement is never interrupted. An interrupt that landed
            // before the host took it is forgotten when the host's
            // statement starts (see REPEAT).
            handle.interrupt();
            REPEAT
        });
        state.wakes_at = wait.map(|w| Instant::now() + w);
        state = match wait {
            Some(wait) => {
                deadline
                    .changed
                    .wait_timeout(state, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => deadline
                .changed
                .wait(state)
                .unwrap_or_else(|p| p.into_inner()),
        };
    }
}
