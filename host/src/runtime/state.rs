//! Everything one plugin call owns (the wasmtime `Store` data): the plugin's
//! identity, its database connection, its limits, its log, and a WASI
//! context that grants only randomness, clocks and captured stdio
//! (docs/plugin-guide.md, "What WASI gives a plugin").

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::MemoryLimiter;
use super::log::CallLog;
use crate::database::PluginDb;

/// Most bytes a plugin may print to stdout or stderr in one call.
const STDIO_CAP: usize = 256 * 1024;

pub struct HostState {
    /// The plugin's connection, present during calls that may use the store.
    pub db: Option<PluginDb>,
    pub limiter: MemoryLimiter,
    pub log: CallLog,
    /// The site's secret, for the `identity` import's pseudonyms.
    pub site_key: std::sync::Arc<[u8]>,
    /// Actions the plugin emitted, fired after the call commits.
    pub events: ActionQueue,
    /// The last store error the plugin was given: named when the plugin
    /// then crashes because it let the error escape (componentize-py and
    /// componentize-js trap on an error of the wrong type).
    pub last_store_error: Option<String>,
    /// When the call must be over: WASI's timers fire no later
    /// (runtime/sleep.rs).
    pub deadline: Option<std::time::Instant>,
    /// Where the call's monotonic clock starts.
    pub clock_base: std::time::Instant,
    /// The plugin asked to wait past its deadline: the call has failed it.
    pub waited_past_deadline: bool,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    pub fn new(
        db: Option<PluginDb>,
        memory_bytes: usize,
        site_key: std::sync::Arc<[u8]>,
    ) -> HostState {
        let stdout = MemoryOutputPipe::new(STDIO_CAP);
        let stderr = MemoryOutputPipe::new(STDIO_CAP);
        // Nothing is inherited or preopened: no files, no environment, no
        // arguments, no network (the default socket check refuses every
        // address, and name lookup is off). The defaults left in place are
        // the host's clocks and its secure random generator.
        let clock_base = std::time::Instant::now();
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .monotonic_clock(CallClock { base: clock_base })
            .build();
        HostState {
            db,
            limiter: MemoryLimiter::new(memory_bytes),
            log: CallLog::default(),
            site_key,
            events: ActionQueue::default(),
            last_store_error: None,
            deadline: None,
            clock_base,
            waited_past_deadline: false,
            stdout,
            stderr,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Move what the plugin printed into its log.
    pub fn collect_stdio(&mut self) {
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let bytes = pipe.contents();
            for line in String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| !l.is_empty())
            {
                self.log.push_stream(stream, line);
            }
        }
    }
}

/// Most actions one call may emit, and the largest payload.
const MAX_EVENTS: usize = 100;
const MAX_PAYLOAD: usize = 1024 * 1024;

/// An action a plugin emitted: its name (`ticket.created`) and its JSON
/// payload.
#[derive(Debug, Clone)]
pub struct Action {
    pub name: String,
    pub payload: String,
}

/// Actions emitted during one call, in order.
#[derive(Debug, Default)]
pub struct ActionQueue {
    pub actions: Vec<Action>,
}

impl ActionQueue {
    /// Queue an action, or say why it was dropped.
    pub fn push(&mut self, event: String, payload: String) -> Result<(), String> {
        if !crate::contract::valid_hook_name(&event) {
            return Err(format!(
                "dropped action {event:?}: not a valid name (e.g. ticket.created)"
            ));
        }
        if self.actions.len() >= MAX_EVENTS {
            return Err(format!(
                "dropped action {event}: more than {MAX_EVENTS} in one call"
            ));
        }
        if payload.len() > MAX_PAYLOAD
            || serde_json::from_str::<serde_json::Value>(&payload).is_err()
        {
            return Err(format!(
                "dropped action {event}: its payload is not JSON of at most {MAX_PAYLOAD} bytes"
            ));
        }
        self.actions.push(Action {
            name: event,
            payload,
        });
        Ok(())
    }
}

impl HostState {
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The call's monotonic clock: nanoseconds since the call's store was made,
/// so an instant a plugin was given can be turned back into a time.
pub struct CallClock {
    pub base: std::time::Instant,
}

impl wasmtime_wasi::HostMonotonicClock for CallClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}
