//! PC/SC side: readers, card presence, the status snapshot with its revision, the long poll, and
//! the signature in one transaction. Blocking (the `pcsc` crate): called from `spawn_blocking`.

use std::ffi::{CStr, CString};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};
use serde::Serialize;

use crate::apdu::Pin;
use crate::card::{self, Signed, Transport};
use crate::certificate::{self, Holder};
use crate::error::AgentError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaderInfo {
    pub name: String,
    pub card_present: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardInfo {
    pub reader: String,
    #[serde(flatten)]
    pub holder: Holder,
    pub pin_tries_left: u8,
    pub pin_blocked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Changes whenever readers, cards or what the status says about the card change.
    pub revision: u64,
    pub readers: Vec<ReaderInfo>,
    pub card: Option<CardInfo>,
}

/// The holder read from the certificate of the card now in `reader`: read once per insertion.
struct CachedHolder {
    reader: String,
    event_count: u32,
    holder: Holder,
}

struct Observed {
    revision: u64,
    last: Option<(Vec<ReaderInfo>, Option<CardInfo>)>,
    holder: Option<CachedHolder>,
}

pub struct Pcsc {
    /// The configured reader, else the first reader with a card.
    reader: Option<String>,
    /// One card operation at a time in this agent (status reads and signatures).
    card_lock: Mutex<()>,
    observed: Mutex<Observed>,
    waiters: Mutex<Waiters>,
}

/// The long polls blocked in SCardGetStatusChange. PC/SC reports card and reader events only: when
/// this agent itself changes what the status shows (the PIN tries, by a signature), it wakes them
/// with SCardCancel. `generation` covers a wake that comes before the call blocks.
#[derive(Default)]
struct Waiters {
    next_id: u64,
    generation: u64,
    contexts: Vec<(u64, Context)>,
    /// Polls whose HTTP client went away (tab closed, request aborted): they stop at once
    /// instead of holding a thread and a PC/SC context until their deadline.
    abandoned: Vec<u64>,
}

/// Identifies one status request, so that it can be abandoned (`Pcsc::abandon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollId(u64);

/// Removes a status request from `Waiters` when it ends, however it ends.
struct Waiting<'a> {
    pcsc: &'a Pcsc,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut waiters = lock(&self.pcsc.waiters);
        waiters.contexts.retain(|(id, _)| *id != self.id);
        waiters.abandoned.retain(|id| *id != self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct PcscTransport<'a>(&'a pcsc::Card);

impl Transport for PcscTransport<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, AgentError> {
        let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let answer = self
            .0
            .transmit(apdu, &mut buffer)
            .map_err(AgentError::from_pcsc)?;
        Ok(answer.to_vec())
    }
}

impl Pcsc {
    pub fn new(reader: Option<String>) -> Self {
        // Starting from the clock: a page polling with the revision of a previous agent run
        // does not mistake the new state for the old one.
        let revision = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64);
        Self {
            reader,
            card_lock: Mutex::new(()),
            observed: Mutex::new(Observed {
                revision,
                last: None,
                holder: None,
            }),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    fn generation(&self) -> u64 {
        lock(&self.waiters).generation
    }

    pub fn new_poll(&self) -> PollId {
        let mut waiters = lock(&self.waiters);
        waiters.next_id += 1;
        PollId(waiters.next_id)
    }

    /// The client of `poll` went away: stop waiting for it.
    pub fn abandon(&self, poll: PollId) {
        let mut waiters = lock(&self.waiters);
        waiters.abandoned.push(poll.0);
        for (_, ctx) in waiters.contexts.iter().filter(|(id, _)| *id == poll.0) {
            if let Err(e) = ctx.cancel() {
                tracing::debug!("stopping an abandoned long poll: {e}");
            }
        }
    }

    fn is_abandoned(&self, poll: PollId) -> bool {
        lock(&self.waiters).abandoned.contains(&poll.0)
    }

    fn wake_long_polls(&self) {
        let mut waiters = lock(&self.waiters);
        waiters.generation += 1;
        for (_, ctx) in &waiters.contexts {
            if let Err(e) = ctx.cancel() {
                tracing::debug!("waking a long poll: {e}");
            }
        }
    }

    /// The current status; with `after`, waits (up to `max_wait`) until the revision differs.
    pub fn status(
        &self,
        after: Option<u64>,
        max_wait: Duration,
        poll: PollId,
    ) -> Result<Status, AgentError> {
        let deadline = Instant::now() + max_wait;
        let ctx = Context::establish(Scope::User).map_err(AgentError::from_pcsc)?;
        lock(&self.waiters).contexts.push((poll.0, ctx.clone()));
        let _waiting = Waiting {
            pcsc: self,
            id: poll.0,
        };
        loop {
            let generation = self.generation();
            let mut states = reader_states(&ctx)?;
            let status = self.snapshot(&ctx, &states)?;
            if after != Some(status.revision) || Instant::now() >= deadline {
                return Ok(status);
            }
            let woken = || self.generation() != generation || self.is_abandoned(poll);
            wait_for_change(&ctx, &mut states, deadline, woken)?;
            if self.is_abandoned(poll) {
                tracing::debug!("long poll abandoned by its client");
                return Ok(status);
            }
        }
    }

    /// Presents the PIN and signs `message` with the card, in one exclusive transaction.
    pub fn sign(&self, pin: Pin, message: &[u8]) -> Result<Signed, AgentError> {
        let _card = lock(&self.card_lock);
        let ctx = Context::establish(Scope::User).map_err(AgentError::from_pcsc)?;
        let states = reader_states(&ctx)?;
        let reader = pick_reader(&states, self.reader.as_deref())?;
        let mut card = ctx
            .connect(&reader, ShareMode::Shared, Protocols::ANY)
            .map_err(AgentError::from_pcsc)?;
        let result = match card.transaction() {
            Ok(tx) => card::sign(&mut PcscTransport(&tx), pin, message),
            Err(e) => Err(AgentError::from_pcsc(e)),
        };
        // Reset: the PIN verification must not outlive this signature, for us or another program.
        if let Err((_, e)) = card.disconnect(Disposition::ResetCard) {
            tracing::debug!("disconnect after signing: {e}");
        }
        self.wake_long_polls();
        match result {
            Err(AgentError::Card(detail) | AgentError::Communication(detail))
                if card_gone(&ctx, &reader) =>
            {
                tracing::info!("card removed during the signature ({detail})");
                Err(AgentError::CardRemoved)
            }
            other => other,
        }
    }

    fn snapshot(&self, ctx: &Context, states: &[ReaderState]) -> Result<Status, AgentError> {
        let readers: Vec<ReaderInfo> = states
            .iter()
            .filter(|s| !is_pnp(s))
            .map(|s| ReaderInfo {
                name: s.name().to_string_lossy().into_owned(),
                card_present: s.event_state().contains(State::PRESENT),
            })
            .collect();
        let card = match pick_reader(states, self.reader.as_deref()) {
            Ok(reader) => {
                let event_count = states
                    .iter()
                    .find(|s| s.name() == reader.as_c_str())
                    .map_or(0, ReaderState::event_count);
                // Right after an insertion the reader may still be powering the card (PC/SC
                // answers "not transacted" for a few hundred ms): retry for a moment, otherwise a
                // long poll would sit on "unreadable card" with no further reader event to wake it.
                let mut attempt = 0;
                loop {
                    match self.card_info(ctx, &reader, event_count) {
                        Ok(info) => break Some(info),
                        Err(AgentError::NoService) => return Err(AgentError::NoService),
                        Err(AgentError::Communication(e)) if attempt < 10 => {
                            tracing::debug!(reader = ?reader, "card not readable yet: {e}");
                            attempt += 1;
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        Err(e) => {
                            tracing::warn!(reader = ?reader, "card not readable: {e}");
                            break None;
                        }
                    }
                }
            }
            Err(_) => None,
        };
        let mut observed = lock(&self.observed);
        let now = (readers, card);
        if observed.last.as_ref() != Some(&now) {
            observed.revision += 1;
            observed.last = Some(now.clone());
        }
        let (readers, card) = now;
        Ok(Status {
            revision: observed.revision,
            readers,
            card,
        })
    }

    fn card_info(
        &self,
        ctx: &Context,
        reader: &CStr,
        event_count: u32,
    ) -> Result<CardInfo, AgentError> {
        let name = reader.to_string_lossy().into_owned();
        let cached = {
            let observed = lock(&self.observed);
            observed
                .holder
                .as_ref()
                .filter(|c| c.reader == name && c.event_count == event_count)
                .map(|c| c.holder.clone())
        };
        let _card = lock(&self.card_lock);
        let mut card = ctx
            .connect(reader, ShareMode::Shared, Protocols::ANY)
            .map_err(AgentError::from_pcsc)?;
        let read = match card.transaction() {
            Ok(tx) => {
                let mut t = PcscTransport(&tx);
                match &cached {
                    Some(holder) => card::read_pin_status(&mut t).map(|pin| (holder.clone(), pin)),
                    None => card::read_status(&mut t)
                        .and_then(|(cert, pin)| Ok((certificate::holder(&cert)?, pin))),
                }
            }
            Err(e) => Err(AgentError::from_pcsc(e)),
        };
        let _ = card.disconnect(Disposition::LeaveCard);
        let (holder, pin) = read?;
        if cached.is_none() {
            lock(&self.observed).holder = Some(CachedHolder {
                reader: name.clone(),
                event_count,
                holder: holder.clone(),
            });
        }
        Ok(CardInfo {
            reader: name,
            holder,
            pin_tries_left: pin.tries_left,
            pin_blocked: pin.blocked,
        })
    }
}

fn is_pnp(state: &ReaderState) -> bool {
    state.name() == pcsc::PNP_NOTIFICATION()
}

/// Every reader and the plug-and-play pseudo reader, with their present state.
fn reader_states(ctx: &Context) -> Result<Vec<ReaderState>, AgentError> {
    let names = match ctx.list_readers_owned() {
        Ok(names) => names,
        Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
        Err(e) => return Err(AgentError::from_pcsc(e)),
    };
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|name| ReaderState::new(name, State::UNAWARE))
        .collect();
    states.push(ReaderState::new(pcsc::PNP_NOTIFICATION(), State::UNAWARE));
    match ctx.get_status_change(Duration::ZERO, &mut states) {
        Ok(()) | Err(pcsc::Error::Timeout) => Ok(states),
        Err(e) => Err(AgentError::from_pcsc(e)),
    }
}

fn pick_reader(states: &[ReaderState], wanted: Option<&str>) -> Result<CString, AgentError> {
    let mut readers = states.iter().filter(|s| !is_pnp(s));
    let reader = match wanted {
        Some(wanted) => readers
            .find(|s| s.name().to_string_lossy() == wanted)
            .ok_or(AgentError::NoReader)?,
        None => {
            let all: Vec<&ReaderState> = readers.collect();
            if all.is_empty() {
                return Err(AgentError::NoReader);
            }
            all.into_iter()
                .find(|s| s.event_state().contains(State::PRESENT))
                .ok_or(AgentError::NoCard)?
        }
    };
    if reader.event_state().contains(State::PRESENT) {
        Ok(reader.name().to_owned())
    } else {
        Err(AgentError::NoCard)
    }
}

/// What the status depends on: presence and the insertion counter (not "in use", which changes
/// each time this agent itself connects).
fn presence(state: &ReaderState) -> (bool, bool, u32) {
    let event = state.event_state();
    (
        event.contains(State::PRESENT),
        event.contains(State::UNAVAILABLE),
        state.event_count(),
    )
}

/// Blocks until a card is inserted or removed, a reader comes or goes, `woken` (checked
/// before blocking, and after an SCardCancel), or `deadline` passes.
fn wait_for_change(
    ctx: &Context,
    states: &mut [ReaderState],
    deadline: Instant,
    woken: impl Fn() -> bool,
) -> Result<(), AgentError> {
    let before: Vec<_> = states.iter().map(presence).collect();
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() || woken() {
            return Ok(());
        }
        for state in states.iter_mut() {
            state.sync_current_state();
        }
        match ctx.get_status_change(remaining, states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout | pcsc::Error::Cancelled) => return Ok(()),
            Err(e) => return Err(AgentError::from_pcsc(e)),
        }
        let pnp_changed = states
            .iter()
            .any(|s| is_pnp(s) && s.event_state().contains(State::CHANGED));
        if pnp_changed || states.iter().map(presence).ne(before.iter().copied()) {
            return Ok(());
        }
    }
}

/// Whether the card left `reader` (now or within a second: the driver notices a pulled card at
/// its next poll).
fn card_gone(ctx: &Context, reader: &CStr) -> bool {
    let mut states = [ReaderState::new(reader.to_owned(), State::UNAWARE)];
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match ctx.get_status_change(
            deadline.saturating_duration_since(Instant::now()),
            &mut states,
        ) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => return false,
            Err(_) => return true,
        }
        let event = states[0].event_state();
        if event.contains(State::EMPTY) || event.contains(State::UNAVAILABLE) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        states[0].sync_current_state();
    }
}
