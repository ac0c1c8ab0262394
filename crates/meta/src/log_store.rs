//! [`LogStore`]: openraft's log storage over [`LogFile`], plus the vote
//! and the last purged log id in a small state file, and the committed
//! log id in another.
//!
//! Every entry is on disk (fsynced) before openraft hears it was
//! appended, and a vote is on disk before it is acknowledged. Syncs of
//! appended entries happen on a thread of their own ([`Flusher`]), so
//! the leader writes new entries and replicates while one runs, and one
//! sync covers every entry written meanwhile. The log of
//! the metadata group is small (shard-map changes and locks), so entries
//! are also kept in memory for reads; a purge trims both.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{RaftLogId, RaftLogReader, StorageIOError};
use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};

use crate::log_file::{write_atomic, LogFile};
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};
use crate::Error;

/// Bytes the committed mark's record takes (JSON, padded with spaces):
/// more than any mark needs, so a shorter one overwrites all of a longer.
const COMMITTED_RECORD: usize = 128;

/// The committed mark as written: JSON `[mark, crc32 of the mark's JSON]`,
/// so a record torn by a crash in the middle of an overwrite is noticed.
fn committed_record(mark: Option<LogId>) -> Result<Vec<u8>, serde_json::Error> {
    let json = serde_json::to_vec(&mark)?;
    serde_json::to_vec(&(mark, crc32fast::hash(&json)))
}

/// The mark in a record, if it is whole.
fn read_committed_record(bytes: &[u8]) -> Option<LogId> {
    let (mark, sum): (Option<LogId>, u32) = serde_json::from_slice(bytes).ok()?;
    let json = serde_json::to_vec(&mark).ok()?;
    (crc32fast::hash(&json) == sum).then_some(mark).flatten()
}

/// What survives beside the entries.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Persisted {
    vote: Option<Vote>,
    last_purged: Option<LogId>,
}

struct Inner {
    state_path: PathBuf,
    /// The last committed log id, written without fsync (see
    /// [`LogStore::save_committed`]).
    committed_path: PathBuf,
    committed: Option<LogId>,
    /// Kept open for [`LogStore::save_committed`]'s writes.
    committed_file: Option<std::fs::File>,
    file: LogFile,
    entries: BTreeMap<u64, Entry>,
    state: Persisted,
}

impl Inner {
    fn persist(&self) -> Result<(), Error> {
        let bytes = serde_json::to_vec(&self.state).map_err(Error::Encode)?;
        write_atomic(&self.state_path, &bytes)
    }
}

/// The metadata group's log. Cheap to clone: clones share one log.
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
    /// Syncs appended entries in the background; None: each append syncs
    /// before it returns (for a simulation on a paused clock, where a
    /// thread's work would look like time standing still).
    flusher: Option<Arc<Flusher>>,
}

/// Appends whose entries are written but not yet synced.
#[derive(Default)]
struct Queue {
    waiting: Vec<LogFlushed<TypeConfig>>,
    closed: bool,
}

/// Group commit: a thread that syncs the log file and then tells openraft
/// every append written before the sync is on disk. Appends go on while
/// it syncs (the leader's own sync overlaps its followers'), and one sync
/// covers everything written meanwhile.
struct Flusher {
    queue: Arc<(Mutex<Queue>, Condvar)>,
    /// Held while syncing and answering, so appends are answered in order
    /// and a truncate or purge waits for the answers before it.
    syncing: Arc<Mutex<()>>,
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let (queue, wake) = &*self.queue;
        queue.lock().closed = true;
        wake.notify_all();
    }
}

/// Syncs `inner`'s file and answers `waiting`, in order.
fn flush(inner: &Mutex<Inner>, waiting: Vec<LogFlushed<TypeConfig>>) {
    if waiting.is_empty() {
        return;
    }
    let synced = inner
        .lock()
        .file
        .handle()
        .and_then(|f| Ok(f.sync_data()?))
        .map_err(|e| e.to_string());
    for callback in waiting {
        callback.log_io_completed(synced.clone().map_err(std::io::Error::other));
    }
}

impl Flusher {
    fn start(inner: Arc<Mutex<Inner>>) -> Result<Flusher, Error> {
        let queue: Arc<(Mutex<Queue>, Condvar)> = Arc::default();
        let syncing: Arc<Mutex<()>> = Arc::default();
        let (q, order) = (queue.clone(), syncing.clone());
        std::thread::Builder::new()
            .name("raft-log-sync".into())
            .spawn(move || {
                let (queue, wake) = &*q;
                loop {
                    {
                        let mut queue = queue.lock();
                        while queue.waiting.is_empty() && !queue.closed {
                            wake.wait(&mut queue);
                        }
                        if queue.waiting.is_empty() {
                            return;
                        }
                    }
                    // The order lock first, then the queue (as drain takes
                    // them): a drain cannot answer later appends first.
                    let _order = order.lock();
                    let waiting = std::mem::take(&mut queue.lock().waiting);
                    flush(&inner, waiting);
                }
            })?;
        Ok(Flusher { queue, syncing })
    }

    fn push(&self, callback: LogFlushed<TypeConfig>) {
        let (queue, wake) = &*self.queue;
        queue.lock().waiting.push(callback);
        wake.notify_one();
    }

    /// Syncs and answers every append written so far, before a change
    /// that rewrites the file's end.
    fn drain(&self, inner: &Mutex<Inner>) {
        let _order = self.syncing.lock();
        let waiting = std::mem::take(&mut self.queue.0.lock().waiting);
        flush(inner, waiting);
    }
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_logs(openraft::AnyError::new(&e)).into()
}

impl LogStore {
    /// Opens the log in `dir` (created if missing), cutting a torn tail;
    /// appends are synced by a background thread (group commit).
    pub fn open(dir: &Path) -> Result<LogStore, Error> {
        let mut log = LogStore::open_inline(dir)?;
        log.flusher = Some(Arc::new(Flusher::start(log.inner.clone())?));
        Ok(log)
    }

    /// [`LogStore::open`], but every append syncs before it returns.
    pub fn open_inline(dir: &Path) -> Result<LogStore, Error> {
        std::fs::create_dir_all(dir)?;
        let state_path = dir.join("raft.state");
        let state: Persisted = match std::fs::read(&state_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(Error::Decode)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Persisted::default(),
            Err(e) => return Err(e.into()),
        };
        let committed_path = dir.join("raft.committed");
        // Absent, torn or unreadable: nothing known committed; the leader
        // tells again.
        let committed = std::fs::read(&committed_path)
            .ok()
            .and_then(|b| read_committed_record(&b));
        let opened = LogFile::open(&dir.join("raft.log"))?;
        let mut entries = BTreeMap::new();
        for (index, payload) in &opened.records {
            let entry: Entry = serde_json::from_slice(payload).map_err(Error::Decode)?;
            entries.insert(*index, entry);
        }
        let mut file = opened.log;
        // A crash between recording a purge and rewriting the file leaves
        // purged entries in it: finish the purge.
        if let Some(purged) = state.last_purged {
            entries.retain(|&i, _| i > purged.index);
            file.purge(purged.index)?;
        }
        // The mark counts only if it names an entry this log holds (or one
        // a purge covered): not one of a log since deleted.
        let committed = committed.filter(|c: &LogId| {
            entries.get(&c.index).is_some_and(|e| e.log_id == *c)
                || state.last_purged.is_some_and(|p| p.index >= c.index)
        });
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                state_path,
                committed_path,
                committed,
                committed_file: None,
                file,
                entries,
                state,
            })),
            flusher: None,
        })
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let inner = self.inner.lock();
        Ok(inner.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let inner = self.inner.lock();
        let last_purged_log_id = inner.state.last_purged;
        let last_log_id = inner
            .entries
            .values()
            .next_back()
            .map(|e| *e.get_log_id())
            .or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let mut inner = self.inner.lock();
        inner.state.vote = Some(*vote);
        inner
            .persist()
            .map_err(|e| StorageIOError::write_vote(openraft::AnyError::new(&e)).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.inner.lock().state.vote)
    }

    /// Records how far the log is committed, so a restarted member applies
    /// that far at once instead of waiting for a leader. Written without
    /// fsync (openraft does not need it durable: what is committed is in
    /// the fsynced log either way, and a lost or torn record only means
    /// waiting for the leader), so a commit costs no extra disk sync.
    ///
    /// The record is written over the old one in place, padded with spaces
    /// to a fixed length, never truncating the file (a truncate on every
    /// commit cost more than the write: ext4 discards the freed block).
    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        use std::os::unix::fs::FileExt;
        let mut inner = self.inner.lock();
        inner.committed = committed;
        let mut bytes = committed_record(committed).map_err(write_err)?;
        bytes.resize(bytes.len().max(COMMITTED_RECORD), b' ');
        if inner.committed_file.is_none() {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&inner.committed_path)
                .map_err(write_err)?;
            inner.committed_file = Some(file);
        }
        match &inner.committed_file {
            Some(f) => f.write_all_at(&bytes, 0).map_err(write_err),
            None => Ok(()),
        }
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.inner.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut encoded = Vec::new();
        let mut batch = Vec::new();
        for entry in entries {
            encoded.push((
                entry.get_log_id().index,
                serde_json::to_vec(&entry).map_err(write_err)?,
            ));
            batch.push(entry);
        }
        let records = encoded.iter().map(|(i, p)| (*i, p.as_slice()));
        let mut inner = self.inner.lock();
        let written = match &self.flusher {
            Some(_) => inner.file.write(records),
            None => inner.file.append(records),
        };
        match written {
            Ok(()) => {
                for entry in batch {
                    inner.entries.insert(entry.get_log_id().index, entry);
                }
                drop(inner);
                // On disk when the flusher has synced (or already, inline).
                match &self.flusher {
                    Some(f) => f.push(callback),
                    None => callback.log_io_completed(Ok(())),
                }
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        if let Some(f) = &self.flusher {
            f.drain(&self.inner);
        }
        let mut inner = self.inner.lock();
        inner.file.truncate(log_id.index).map_err(write_err)?;
        inner.entries.split_off(&log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        if let Some(f) = &self.flusher {
            f.drain(&self.inner);
        }
        let mut inner = self.inner.lock();
        inner.state.last_purged = Some(log_id);
        inner.persist().map_err(write_err)?;
        inner.file.purge(log_id.index).map_err(write_err)?;
        inner.entries.retain(|&i, _| i > log_id.index);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use openraft::storage::RaftLogStorageExt;
    use openraft::{CommittedLeaderId, EntryPayload};
    use shoal_cluster::map::Change;

    use super::*;
    use crate::types::Request;

    fn entry(term: u64, index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
            payload: EntryPayload::Normal(Request::Map(Change::Leave {
                id: format!("n{index}"),
            })),
        }
    }

    fn indexes(entries: &[Entry]) -> Vec<u64> {
        entries.iter().map(|e| e.log_id.index).collect()
    }

    #[tokio::test]
    async fn log_vote_and_purge_survive_a_restart_and_a_torn_tail_is_cut() {
        let dir = std::env::temp_dir().join(format!("shoal-meta-restart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let mut log = LogStore::open(&dir).expect("open");
            log.blocking_append((1..=6).map(|i| entry(1, i)))
                .await
                .expect("append");
            log.save_vote(&Vote::new(3, 2)).await.expect("vote");
            log.purge(LogId::new(CommittedLeaderId::new(1, 1), 2))
                .await
                .expect("purge");
            log.truncate(LogId::new(CommittedLeaderId::new(1, 1), 6))
                .await
                .expect("truncate");
        }
        // A crash in the middle of writing entry 6 again: half of it on disk.
        let path = dir.join("raft.log");
        let whole = std::fs::read(&path).expect("read");
        let full = serde_json::to_vec(&entry(2, 6)).expect("encode");
        let mut torn = whole.clone();
        torn.extend_from_slice(&(full.len() as u32).to_le_bytes());
        torn.extend_from_slice(&[0xAB; 9]);
        std::fs::write(&path, &torn).expect("write");

        let mut log = LogStore::open(&dir).expect("reopen");
        assert_eq!(std::fs::read(&path).expect("read"), whole);
        assert_eq!(log.read_vote().await.expect("vote"), Some(Vote::new(3, 2)));
        let state = log.get_log_state().await.expect("state");
        assert_eq!(state.last_purged_log_id.map(|l| l.index), Some(2));
        assert_eq!(state.last_log_id.map(|l| l.index), Some(5));
        let entries = log.try_get_log_entries(0..100).await.expect("read");
        assert_eq!(indexes(&entries), [3, 4, 5]);
        assert_eq!(entries[0], entry(1, 3));
        // And it goes on from there.
        log.blocking_append([entry(2, 6)]).await.expect("append");
        drop(log);
        let mut log = LogStore::open(&dir).expect("reopen");
        let entries = log.try_get_log_entries(0..100).await.expect("read");
        assert_eq!(indexes(&entries), [3, 4, 5, 6]);
        assert_eq!(entries[3], entry(2, 6));
        // The committed mark comes back; a torn one reads as unknown.
        let mark = Some(LogId::new(CommittedLeaderId::new(2, 1), 6));
        log.save_committed(mark).await.expect("commit");
        drop(log);
        let mut log = LogStore::open(&dir).expect("reopen");
        assert_eq!(log.read_committed().await.expect("committed"), mark);
        drop(log);
        std::fs::write(dir.join("raft.committed"), b"[{\"leader_id\":").expect("tear");
        let mut log = LogStore::open(&dir).expect("reopen");
        assert_eq!(log.read_committed().await.expect("committed"), None);
        assert_eq!(log.read_vote().await.expect("vote"), Some(Vote::new(3, 2)));
        // Whole JSON whose checksum does not match (bytes of two writes).
        let mut mixed = committed_record(mark).expect("record");
        let at = mixed.len() - 2;
        mixed[at] = if mixed[at] == b'1' { b'2' } else { b'1' };
        std::fs::write(dir.join("raft.committed"), &mixed).expect("mix");
        drop(log);
        let mut log = LogStore::open(&dir).expect("reopen");
        assert_eq!(log.read_committed().await.expect("committed"), None);
        // A mark naming an entry the log does not hold is not believed.
        let stranger = Some(LogId::new(CommittedLeaderId::new(7, 1), 6));
        log.save_committed(stranger).await.expect("commit");
        drop(log);
        let mut log = LogStore::open(&dir).expect("reopen");
        assert_eq!(log.read_committed().await.expect("committed"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
