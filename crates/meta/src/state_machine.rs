//! [`StateMachine`]: the shard map and the lock table as the applied log
//! leaves them, with snapshots.
//!
//! State lives in memory; a snapshot is written to `dir/snapshot`
//! atomically (temporary file, fsync, rename) when openraft builds or
//! installs one, and is where a restarted node's state machine starts: the
//! log after it is applied again by openraft.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    AnyError, BasicNode, EntryPayload, RaftSnapshotBuilder, StorageIOError, StoredMembership,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use shoal_cluster::map::ShardMap;
use tokio::sync::watch;

use crate::locks::Locks;
use crate::log_file::write_atomic;
use crate::types::{Entry, LogId, NodeId, Request, Response, StorageError, TypeConfig};
use crate::Error;

/// Everything a snapshot holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct State {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership<NodeId, BasicNode>,
    pub map: ShardMap,
    /// Absent from snapshots written before locks existed: empty then.
    #[serde(default)]
    pub locks: Locks,
}

/// A snapshot as kept on disk: its metadata and the state it holds.
#[derive(Serialize, Deserialize)]
struct Stored {
    meta: SnapshotMeta<NodeId, BasicNode>,
    state: State,
}

struct Inner {
    path: PathBuf,
    state: State,
    current: Option<(SnapshotMeta<NodeId, BasicNode>, Vec<u8>)>,
    built: u64,
}

/// The applied state. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct StateMachine {
    inner: Arc<Mutex<Inner>>,
    /// The map as of the last change, for readers on every command.
    published: Arc<watch::Sender<Arc<ShardMap>>>,
}

fn snapshot_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_snapshot(None, AnyError::new(&e)).into()
}

impl StateMachine {
    /// The state machine of `dir`: empty, or the last snapshot saved there.
    pub fn open(dir: &Path) -> Result<StateMachine, Error> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("snapshot");
        let (state, current) = match std::fs::read(&path) {
            Ok(bytes) => {
                let stored: Stored = serde_json::from_slice(&bytes).map_err(Error::Decode)?;
                let data = serde_json::to_vec(&stored.state).map_err(Error::Encode)?;
                (stored.state, Some((stored.meta, data)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (State::default(), None),
            Err(e) => return Err(e.into()),
        };
        let (published, _) = watch::channel(Arc::new(state.map.clone()));
        Ok(StateMachine {
            inner: Arc::new(Mutex::new(Inner {
                path,
                state,
                current,
                built: 0,
            })),
            published: Arc::new(published),
        })
    }

    /// The shard map as applied so far.
    pub fn map(&self) -> Arc<ShardMap> {
        self.published.borrow().clone()
    }

    /// Reads the lock table as applied so far.
    pub fn with_locks<R>(&self, read: impl FnOnce(&Locks) -> R) -> R {
        read(&self.inner.lock().state.locks)
    }

    /// Sees every new map as it is applied.
    pub fn watch(&self) -> watch::Receiver<Arc<ShardMap>> {
        self.published.subscribe()
    }

    fn publish(&self, map: &ShardMap) {
        self.published.send_replace(Arc::new(map.clone()));
    }
}

impl Inner {
    /// Saves `state` under `meta` as the current snapshot, on disk first.
    fn keep(
        &mut self,
        meta: SnapshotMeta<NodeId, BasicNode>,
        state: &State,
    ) -> Result<Vec<u8>, Error> {
        let stored = Stored {
            meta: meta.clone(),
            state: state.clone(),
        };
        let bytes = serde_json::to_vec(&stored).map_err(Error::Encode)?;
        write_atomic(&self.path, &bytes)?;
        let data = serde_json::to_vec(state).map_err(Error::Encode)?;
        self.current = Some((meta, data.clone()));
        Ok(data)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let mut inner = self.inner.lock();
        inner.built += 1;
        let state = inner.state.clone();
        let snapshot_id = format!(
            "{}-{}",
            state.last_applied.map_or(0, |l| l.index),
            inner.built
        );
        let meta = SnapshotMeta {
            last_log_id: state.last_applied,
            last_membership: state.membership.clone(),
            snapshot_id,
        };
        let data = inner.keep(meta.clone(), &state).map_err(snapshot_err)?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership<NodeId, BasicNode>), StorageError> {
        let inner = self.inner.lock();
        Ok((inner.state.last_applied, inner.state.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut inner = self.inner.lock();
        let state = &mut inner.state;
        let mut replies = Vec::new();
        let mut any = false;
        for entry in entries {
            state.last_applied = Some(entry.log_id);
            let mut lock = None;
            let mut batch = Vec::new();
            let changed = match entry.payload {
                EntryPayload::Blank => false,
                EntryPayload::Normal(Request::Map(change)) => state.map.apply(&change),
                EntryPayload::Normal(Request::Lock { op, stamp, ticket }) => {
                    let token = crate::locks::token(entry.log_id.index, 0);
                    lock = Some(state.locks.apply_once(ticket, op, token, stamp));
                    false
                }
                EntryPayload::Normal(Request::Locks { ops, stamp }) => {
                    let index = entry.log_id.index;
                    batch = ops
                        .into_iter()
                        .enumerate()
                        .map(|(i, (op, ticket))| {
                            let token = crate::locks::token(index, i);
                            state.locks.apply_once(ticket, op, token, stamp)
                        })
                        .collect();
                    false
                }
                EntryPayload::Membership(m) => {
                    state.membership = StoredMembership::new(Some(entry.log_id), m);
                    false
                }
            };
            any |= changed;
            replies.push(Response {
                epoch: state.map.epoch,
                changed,
                lock,
                locks: batch,
            });
        }
        if any {
            self.publish(&inner.state.map);
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let state: State = serde_json::from_slice(snapshot.get_ref()).map_err(|e| {
            StorageError::from(StorageIOError::read_snapshot(
                Some(meta.signature()),
                AnyError::new(&e),
            ))
        })?;
        let mut inner = self.inner.lock();
        inner.keep(meta.clone(), &state).map_err(snapshot_err)?;
        self.publish(&state.map);
        inner.state = state;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let inner = self.inner.lock();
        Ok(inner.current.as_ref().map(|(meta, data)| Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(Cursor::new(data.clone())),
        }))
    }
}

#[cfg(test)]
mod tests {
    use openraft::testing::{StoreBuilder, Suite};

    use super::*;
    use crate::log_store::LogStore;

    /// A fresh directory per store, removed when the suite drops it.
    struct TempDir(PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    struct OnDisk;

    impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for OnDisk {
        async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError> {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("shoal-meta-suite-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let log = LogStore::open(&dir).map_err(snapshot_err)?;
            let sm = StateMachine::open(&dir).map_err(snapshot_err)?;
            Ok((TempDir(dir), log, sm))
        }
    }

    #[tokio::test]
    async fn a_snapshot_brings_the_map_back_after_a_restart() {
        use openraft::{CommittedLeaderId, Entry as RaftEntry};
        use shoal_cluster::map::{Change, Node};
        let dir = std::env::temp_dir().join(format!("shoal-meta-snap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let guard = TempDir(dir.clone());
        let mut sm = StateMachine::open(&dir).expect("open");
        let join = |index: u64, i: u16| RaftEntry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(Request::Map(Change::Join(Node::loopback(i)))),
        };
        let acquire = |index: u64| RaftEntry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(Request::Lock {
                op: crate::locks::Op::Set {
                    key: b"lock:a".to_vec(),
                    value: b"me".to_vec(),
                    condition: crate::locks::Condition::Nx,
                    expiry: crate::locks::Expiry::After(60_000),
                    get: false,
                },
                stamp: 1_000,
                ticket: None,
            }),
        };
        // A batch: taken, released and taken by another in one entry;
        // each change answers, and the last grant's token is the entry's
        // index and its place in it.
        use crate::locks::{Op, Outcome};
        let set = |holder: &[u8]| Op::Set {
            key: b"lock:b".to_vec(),
            value: holder.to_vec(),
            condition: crate::locks::Condition::Nx,
            expiry: crate::locks::Expiry::Never,
            get: false,
        };
        let release = Op::DelIfEq {
            key: b"lock:b".to_vec(),
            value: b"x".to_vec(),
        };
        let batch = RaftEntry::<TypeConfig> {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), 6),
            payload: EntryPayload::Normal(Request::Locks {
                ops: vec![(set(b"x"), None), (release, None), (set(b"y"), None)],
                stamp: 1_000,
            }),
        };
        let replies = sm
            .apply([
                join(1, 1),
                join(2, 2),
                join(3, 2),
                acquire(4),
                acquire(5),
                batch,
            ])
            .await
            .expect("apply");
        let batched = replies.last().map(|r| r.locks.clone());
        assert_eq!(
            batched,
            Some(vec![Outcome::Ok, Outcome::Int(1), Outcome::Ok])
        );
        assert_eq!(
            sm.with_locks(|l| l.get(b"lock:b", 0).map(|l| l.token)),
            Some(6002)
        );
        let changed: Vec<(u64, bool)> = replies.iter().map(|r| (r.epoch, r.changed)).collect();
        assert_eq!(
            changed,
            [
                (1, true),
                (2, true),
                (2, false),
                (2, false),
                (2, false),
                (2, false)
            ]
        );
        let locked: Vec<_> = replies.iter().map(|r| r.lock.clone()).collect();
        assert_eq!(
            locked,
            [
                None,
                None,
                None,
                Some(Outcome::Ok),
                Some(Outcome::Nil),
                None
            ]
        );
        let snap = sm.build_snapshot().await.expect("build");
        assert_eq!(snap.meta.last_log_id.map(|l| l.index), Some(6));
        let before = sm.map();
        drop(sm);
        let mut again = StateMachine::open(&dir).expect("reopen");
        assert_eq!(*again.map(), *before);
        assert!(again.map().covered());
        let (applied, _) = again.applied_state().await.expect("state");
        assert_eq!(applied.map(|l| l.index), Some(6));
        // The lock and its token came back with the snapshot.
        let held = again.with_locks(|l| l.get(b"lock:a", 0).map(|l| (l.value.clone(), l.token)));
        assert_eq!(held, Some((b"me".to_vec(), 4000)));
        let current = again.get_current_snapshot().await.expect("current");
        assert_eq!(
            current.map(|s| s.meta.snapshot_id),
            Some(snap.meta.snapshot_id)
        );
        drop(guard);
    }

    #[test]
    fn openraft_storage_suite_passes() {
        if let Err(e) = Suite::test_all(OnDisk) {
            panic!("{e}");
        }
    }
}
