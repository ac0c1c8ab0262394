//! [`LockLeader`]: the leader's side of the lock table (DESIGN.md §6):
//! it stamps lock changes with the log's time, batches the changes that
//! arrive together into one log entry (one fsync for all of them), and
//! answers reads after a read index. Every member has one; only the
//! leader's is used.

use std::sync::Arc;

use openraft::Raft;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::time::Instant;

use crate::locks::{Op, Outcome, Read, Ticket, MAX_BATCH};
use crate::state_machine::StateMachine;
use crate::types::{Request, Response, TypeConfig};

/// Batches being written at once: while they are, new changes queue and
/// go together in the next.
const IN_FLIGHT: usize = 2;
/// Most key and value bytes one batch carries, so that a follower that
/// is behind can still be sent a full AppendEntries (openraft's 300
/// entries) within the bus's frame limit.
const MAX_BATCH_BYTES: usize = 32 << 10;
/// Changes that may wait for a batch; a caller beyond waits its turn.
const QUEUE: usize = 1 << 16;

/// Where the log's time stood when this node took the lead in `term`.
struct LockTime {
    term: u64,
    since: Instant,
    base: u64,
}

/// What the batcher and the callers share.
struct Shared {
    raft: Raft<TypeConfig>,
    state: StateMachine,
    time: Mutex<Option<LockTime>>,
}

/// A change waiting for its batch.
struct Pending {
    op: Op,
    ticket: Option<Ticket>,
    answer: oneshot::Sender<Result<Outcome, String>>,
}

/// Serves lock changes and reads while its node leads.
pub struct LockLeader {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Pending>,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Key and value bytes `op` carries.
fn size(op: &Op) -> usize {
    match op {
        Op::Set {
            key,
            value,
            condition,
            ..
        } => {
            let compared = match condition {
                crate::locks::Condition::IfEq(v) => v.len(),
                _ => 0,
            };
            key.len() + value.len() + compared
        }
        Op::Del { keys } => keys.iter().map(Vec::len).sum(),
        Op::DelIfEq { key, value } => key.len() + value.len(),
        Op::Expire { key, .. } | Op::Persist { key } => key.len(),
        Op::Read(Read::Exists(keys)) => keys.iter().map(Vec::len).sum(),
        Op::Read(Read::Get(key) | Read::Pttl(key) | Read::Token(key)) => key.len(),
    }
}

impl LockLeader {
    /// Starts the batcher (a task on the current tokio runtime, ending
    /// when the LockLeader is dropped).
    pub fn new(raft: Raft<TypeConfig>, state: StateMachine) -> LockLeader {
        let shared = Arc::new(Shared {
            raft,
            state,
            time: Mutex::new(None),
        });
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(batcher(shared.clone(), rx));
        LockLeader { shared, queue }
    }

    /// Appends `op`, stamped, to the log (in a batch with whatever other
    /// changes are waiting) and answers what applying it did.
    pub async fn write(&self, op: Op, ticket: Option<Ticket>) -> Result<Response, String> {
        let (answer, rx) = oneshot::channel();
        let pending = Pending { op, ticket, answer };
        self.queue
            .send(pending)
            .await
            .map_err(|_| "the lock batcher has stopped".to_string())?;
        let outcome = rx
            .await
            .map_err(|_| "the lock batch was dropped".to_string())??;
        Ok(self.shared.response(outcome))
    }

    /// Answers `read` once this node has confirmed it still leads and has
    /// applied everything committed before (a read index). The answer is
    /// the table's at the log's time; when that differs from its answer
    /// at the last time written to the log (a lease ended since, or any
    /// PTTL of a lease), the read goes through the log as a change of its
    /// own: the time it tells of must be in the log first, or a next
    /// leader, whose time starts from the last stamp in the log, could
    /// show the lease running again.
    pub async fn read(&self, read: Read) -> Result<Response, String> {
        let shared = &self.shared;
        shared.raft.ensure_linearizable().await.map_err(text)?;
        let now = shared.log_time().await?;
        let (then, now) = shared
            .state
            .with_locks(|l| (l.read(&read, l.clock()), l.read(&read, now)));
        if then != now {
            return self.write(Op::Read(read), None).await;
        }
        Ok(shared.response(now))
    }
}

impl Shared {
    fn response(&self, outcome: Outcome) -> Response {
        Response {
            epoch: self.state.map().epoch,
            changed: false,
            lock: Some(outcome),
            locks: Vec::new(),
        }
    }

    /// The time, in ms, the leader stamps on a lock entry: the largest
    /// stamp applied when it took the lead (after applying all the log
    /// committed before, so no earlier stamp is missed), plus the time its
    /// own monotonic clock has measured since. Wall clocks never enter: a
    /// new leader whose clock runs ahead cannot end a lease early, and the
    /// time between the last entry of one leader and the first of the next
    /// does not count, so a lease can only run longer, never shorter, than
    /// its holder was told (assuming clocks that run at the same rate to
    /// within the leases' margins). The clock is tokio's, so a simulation
    /// on a paused clock sees the same rule.
    async fn log_time(&self) -> Result<u64, String> {
        let term = self.raft.metrics().borrow().current_term;
        let fresh = self.time.lock().as_ref().is_none_or(|t| t.term != term);
        if fresh {
            self.raft.ensure_linearizable().await.map_err(text)?;
            let base = self.state.with_locks(|l| l.clock());
            *self.time.lock() = Some(LockTime {
                term,
                since: Instant::now(),
                base,
            });
        }
        let time = self.time.lock();
        let time = time.as_ref().ok_or("no lock time")?;
        Ok(time.base + time.since.elapsed().as_millis() as u64)
    }

    /// Writes `batch` as one entry and hands each change its answer.
    async fn submit(&self, batch: Vec<Pending>) {
        let (ops, answers): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|p| ((p.op, p.ticket), p.answer))
            .unzip();
        let written = match self.log_time().await {
            Ok(stamp) => self
                .raft
                .client_write(Request::Locks { ops, stamp })
                .await
                .map_err(text),
            Err(e) => Err(e),
        };
        match written {
            Ok(r) if r.data.locks.len() == answers.len() => {
                for (answer, outcome) in answers.into_iter().zip(r.data.locks) {
                    let _ = answer.send(Ok(outcome));
                }
            }
            Ok(r) => {
                let e = format!(
                    "a batch of {} lock changes answered {}",
                    answers.len(),
                    r.data.locks.len()
                );
                for answer in answers {
                    let _ = answer.send(Err(e.clone()));
                }
            }
            Err(e) => {
                for answer in answers {
                    let _ = answer.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Takes changes off the queue in batches: at most [`IN_FLIGHT`] batches
/// are written at once, and a batch takes everything queued (up to
/// [`MAX_BATCH`] changes and [`MAX_BATCH_BYTES`]) when a slot frees.
async fn batcher(shared: Arc<Shared>, mut rx: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut next: Option<Pending> = None;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = match next.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut bytes = size(&first.op);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            let Ok(p) = rx.try_recv() else {
                break;
            };
            bytes += size(&p.op);
            if bytes > MAX_BATCH_BYTES {
                next = Some(p);
                break;
            }
            batch.push(p);
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            shared.submit(batch).await;
            drop(slot);
        });
    }
}
