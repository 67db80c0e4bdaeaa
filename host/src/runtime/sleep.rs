//! WASI's timers, capped at the call's deadline. The deadline stops running
//! wasm code, not a plugin waiting on a timer (`subscribe-duration`, then
//! `poll`): a plugin that slept for 30 s held its call, and any write lock it
//! had taken, for 30 s. These two functions replace WASI's: a timer never
//! fires later than the deadline, so the plugin wakes in time to be stopped.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};

use super::state::HostState;

/// The WASI release whose monotonic clock the host links (wasmtime-wasi 48).
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// A timer that fires at `at`.
struct Timer {
    at: tokio::time::Instant,
}

impl Pollable for Timer {
    fn ready<'a, 'b>(&'a mut self) -> Pin<Box<dyn Future<Output = ()> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(tokio::time::sleep_until(self.at))
    }
}

/// A pollable that is ready after `wait`, or at the call's deadline if
/// that comes first.
fn timer(state: &mut HostState, wait: Duration) -> wasmtime::Result<Resource<DynPollable>> {
    let left = state
        .deadline
        .map(|deadline| deadline.saturating_duration_since(Instant::now()));
    let wait = match left {
        Some(left) if left < wait => {
            // Waking at the deadline, the plugin has already failed it.
            state.waited_past_deadline = true;
            left
        }
        _ => wait,
    };
    let at = tokio::time::Instant::now() + wait;
    let table = state.table();
    let timer = table.push(Timer { at })?;
    subscribe(table, timer)
}

/// Replace WASI's `subscribe-duration` and `subscribe-instant` in `linker`
/// (after WASI was added to it).
pub fn cap_timers(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap("subscribe-duration", |mut store, (nanos,): (u64,)| {
        let state = store.data_mut();
        Ok((timer(state, Duration::from_nanos(nanos))?,))
    })?;
    clock.func_wrap("subscribe-instant", |mut store, (when,): (u64,)| {
        let state = store.data_mut();
        let now = u64::try_from(state.clock_base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Ok((timer(
            state,
            Duration::from_nanos(when.saturating_sub(now)),
        )?,))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}
