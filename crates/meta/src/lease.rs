//! [`LockLeader`]: the leader's side of the lock table (DESIGN.md §6):
//! it stamps lock changes with the log's time and answers reads after a
//! read index. Every member has one; only the leader's is used.

use openraft::Raft;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::locks::{Op, Read, Ticket};
use crate::state_machine::StateMachine;
use crate::types::{Request, Response, TypeConfig};

/// Where the log's time stood when this node took the lead in `term`.
struct LockTime {
    term: u64,
    since: Instant,
    base: u64,
}

/// Serves lock changes and reads while its node leads.
pub struct LockLeader {
    raft: Raft<TypeConfig>,
    state: StateMachine,
    time: Mutex<Option<LockTime>>,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl LockLeader {
    pub fn new(raft: Raft<TypeConfig>, state: StateMachine) -> LockLeader {
        LockLeader {
            raft,
            state,
            time: Mutex::new(None),
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

    /// Appends `op`, stamped, to the log and answers what applying it did.
    pub async fn write(&self, op: Op, ticket: Option<Ticket>) -> Result<Response, String> {
        let stamp = self.log_time().await?;
        self.raft
            .client_write(Request::Lock { op, stamp, ticket })
            .await
            .map(|r| r.data)
            .map_err(text)
    }

    /// Answers `read` once this node has confirmed it still leads and has
    /// applied everything committed before (a read index). The answer is
    /// the table's at the log's time; when that differs from its answer
    /// at the last time written to the log (a lease ended since, or any
    /// PTTL of a lease), the read goes through the log as an entry of its
    /// own: the time it tells of must be in the log first, or a next
    /// leader, whose time starts from the last stamp in the log, could
    /// show the lease running again.
    pub async fn read(&self, read: Read) -> Result<Response, String> {
        self.raft.ensure_linearizable().await.map_err(text)?;
        let now = self.log_time().await?;
        let (then, now) = self
            .state
            .with_locks(|l| (l.read(&read, l.clock()), l.read(&read, now)));
        if then != now {
            return self.write(Op::Read(read), None).await;
        }
        Ok(Response {
            epoch: self.state.map().epoch,
            changed: false,
            lock: Some(now),
        })
    }
}
