//! The sandbox's clock. Without a start time it is the real time; with one (the seed's
//! `clock_start`) it stands still at that time and moves only when a test moves it forward, so
//! billing dates, renewals, processing payments and session expiry are tested without sleeping
//! and a preview and the change after it see the same instant.

use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

#[derive(Debug)]
pub struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Debug, Clone, Copy)]
enum ClockState {
    /// Real time plus an offset.
    Running(Duration),
    /// A fixed time.
    Frozen(OffsetDateTime),
}

impl Clock {
    pub fn new(start: Option<OffsetDateTime>) -> Clock {
        Clock {
            state: Mutex::new(Self::initial(start)),
        }
    }

    fn initial(start: Option<OffsetDateTime>) -> ClockState {
        match start {
            Some(at) => ClockState::Frozen(at),
            None => ClockState::Running(Duration::ZERO),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        match self.state.lock().map(|s| *s) {
            Ok(ClockState::Frozen(at)) => at,
            Ok(ClockState::Running(offset)) => OffsetDateTime::now_utc() + offset,
            Err(_) => OffsetDateTime::now_utc(),
        }
    }

    /// Moves the clock forward (never back: Dodo's time does not run backwards).
    pub fn advance(&self, by: Duration) {
        if !by.is_positive() {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            *state = match *state {
                ClockState::Frozen(at) => ClockState::Frozen(at + by),
                ClockState::Running(offset) => ClockState::Running(offset + by),
            };
        }
    }

    pub fn reset(&self, start: Option<OffsetDateTime>) {
        if let Ok(mut state) = self.state.lock() {
            *state = Self::initial(start);
        }
    }
}
