//! [`LogFile`]: the metadata group's Raft log on disk, one append-only file.
//!
//! Each record is `len: u32 | crc32: u32 | index: u64 | payload`, little
//! endian, the CRC over index and payload. An append is acknowledged only
//! after `fsync`. Opening reads records until the first that is short, fails
//! its CRC or breaks the run of consecutive indexes: that is a write torn by
//! a crash, never acknowledged, so the file is cut there (and synced)
//! instead of being replayed as data.
//!
//! It never interprets payloads (the Raft layer serializes entries) and
//! never keeps more than one copy of the log: [`LogFile::purge`] rewrites
//! the file without the purged prefix through a temporary file and a
//! rename, so a crash leaves either the old file or the new one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::Error;

const HEADER: usize = 16;
/// A record larger than this is corruption, not data (the shard map and
/// lock table entries are small).
pub const MAX_PAYLOAD: usize = 64 << 20;

pub struct LogFile {
    path: PathBuf,
    file: File,
    /// Index of the first record in the file (after purges).
    first: u64,
    /// File offset of each record, in index order, and the end offset.
    offsets: Vec<u64>,
    end: u64,
}

/// What opening found: the records, and how many torn bytes were cut.
pub struct Opened {
    pub log: LogFile,
    pub records: Vec<(u64, Vec<u8>)>,
    pub cut_bytes: u64,
}

fn crc(index: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&index.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn encode(out: &mut Vec<u8>, index: u64, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc(index, payload).to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Replaces `path` with `bytes` so that a crash leaves the old content or
/// the new, whole: write a temporary file, fsync it, rename, fsync the dir.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

impl LogFile {
    /// Opens (or creates) the log at `path`, reading every whole record and
    /// cutting a torn tail.
    pub fn open(path: &Path) -> Result<Opened, Error> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut records = Vec::new();
        let mut offsets = Vec::new();
        let mut at = 0usize;
        while let Some(header) = bytes.get(at..at + HEADER) {
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let sum = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let mut ix = [0u8; 8];
            ix.copy_from_slice(&header[8..16]);
            let index = u64::from_le_bytes(ix);
            if len > MAX_PAYLOAD {
                break;
            }
            let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
                break;
            };
            let follows = records
                .last()
                .is_none_or(|(prev, _): &(u64, Vec<u8>)| *prev + 1 == index);
            if crc(index, payload) != sum || !follows {
                break;
            }
            offsets.push(at as u64);
            records.push((index, payload.to_vec()));
            at += HEADER + len;
        }
        let cut_bytes = (bytes.len() - at) as u64;
        if cut_bytes > 0 {
            file.set_len(at as u64)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::Start(at as u64))?;
        let first = records.first().map_or(0, |r| r.0);
        Ok(Opened {
            log: LogFile {
                path: path.to_path_buf(),
                file,
                first,
                offsets,
                end: at as u64,
            },
            records,
            cut_bytes,
        })
    }

    /// Index the next append must carry, if the log holds any record.
    pub fn next_index(&self) -> Option<u64> {
        (!self.offsets.is_empty()).then(|| self.first + self.offsets.len() as u64)
    }

    /// Appends records (consecutive indexes, following the last one) and
    /// syncs them to disk before returning.
    pub fn append<'a>(
        &mut self,
        records: impl IntoIterator<Item = (u64, &'a [u8])>,
    ) -> Result<(), Error> {
        self.write(records)?;
        self.file.sync_data()?;
        Ok(())
    }

    /// A second handle on the file, to sync it without holding the log
    /// (see [`LogFile::write`]).
    pub fn handle(&self) -> Result<File, Error> {
        Ok(self.file.try_clone()?)
    }

    /// Appends records like [`LogFile::append`], but leaves them to be
    /// synced by whoever calls `sync_data` on a [`LogFile::handle`] next.
    pub fn write<'a>(
        &mut self,
        records: impl IntoIterator<Item = (u64, &'a [u8])>,
    ) -> Result<(), Error> {
        let mut buf = Vec::new();
        let mut offsets = Vec::new();
        let mut expect = self.next_index();
        for (index, payload) in records {
            if payload.len() > MAX_PAYLOAD {
                return Err(Error::TooLarge(payload.len()));
            }
            if expect.is_some_and(|e| e != index) {
                return Err(Error::Gap {
                    expected: expect.unwrap_or(index),
                    got: index,
                });
            }
            if self.offsets.is_empty() && offsets.is_empty() {
                self.first = index;
            }
            offsets.push(self.end + buf.len() as u64);
            encode(&mut buf, index, payload);
            expect = Some(index + 1);
        }
        if buf.is_empty() {
            return Ok(());
        }
        self.file.seek(SeekFrom::Start(self.end))?;
        self.file.write_all(&buf)?;
        self.end += buf.len() as u64;
        self.offsets.extend(offsets);
        Ok(())
    }

    /// Removes every record from `index` on (a conflicting suffix), durably.
    pub fn truncate(&mut self, index: u64) -> Result<(), Error> {
        let keep = index.saturating_sub(self.first) as usize;
        if keep >= self.offsets.len() {
            return Ok(());
        }
        self.end = self.offsets[keep];
        self.offsets.truncate(keep);
        self.file.set_len(self.end)?;
        self.file.sync_data()?;
        Ok(())
    }

    /// Removes every record up to and including `index` (covered by a
    /// snapshot): the rest is rewritten to a new file that replaces this one.
    pub fn purge(&mut self, index: u64) -> Result<(), Error> {
        let drop = (index + 1).saturating_sub(self.first) as usize;
        if drop == 0 || self.offsets.is_empty() {
            return Ok(());
        }
        let drop = drop.min(self.offsets.len());
        let from = self.offsets.get(drop).copied().unwrap_or(self.end);
        let mut rest = vec![0u8; (self.end - from) as usize];
        self.file.seek(SeekFrom::Start(from))?;
        self.file.read_exact(&mut rest)?;
        write_atomic(&self.path, &rest)?;
        self.file = OpenOptions::new().read(true).write(true).open(&self.path)?;
        self.offsets = self.offsets[drop..].iter().map(|o| o - from).collect();
        self.first += drop as u64;
        self.end -= from;
        Ok(())
    }

    /// Records held, from the first to the last index.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Index of the first record held (meaningless when empty).
    pub fn first_index(&self) -> u64 {
        self.first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("shoal-meta-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    fn payloads(o: &Opened) -> Vec<(u64, String)> {
        o.records
            .iter()
            .map(|(i, p)| (*i, String::from_utf8_lossy(p).into_owned()))
            .collect()
    }

    #[test]
    fn appended_records_come_back_after_reopening() {
        let path = dir("reopen").join("log");
        let mut o = LogFile::open(&path).expect("open");
        assert!(o.records.is_empty() && o.log.next_index().is_none());
        o.log
            .append([(1, b"one".as_slice()), (2, b"two".as_slice())])
            .expect("append");
        o.log.append([(3, b"three".as_slice())]).expect("append");
        assert!(matches!(
            o.log.append([(5, b"gap".as_slice())]),
            Err(Error::Gap {
                expected: 4,
                got: 5
            })
        ));
        drop(o);
        let o = LogFile::open(&path).expect("reopen");
        assert_eq!(o.cut_bytes, 0);
        assert_eq!(
            payloads(&o),
            [(1, "one".into()), (2, "two".into()), (3, "three".into())]
        );
        assert_eq!(o.log.next_index(), Some(4));
    }

    #[test]
    fn a_torn_tail_is_cut_not_replayed() {
        let path = dir("torn").join("log");
        let mut o = LogFile::open(&path).expect("open");
        o.log
            .append([(7, b"kept".as_slice()), (8, b"torn".as_slice())])
            .expect("append");
        drop(o);
        let full = std::fs::metadata(&path).expect("meta").len();
        // Every way the last record can be torn: cut anywhere inside it, or
        // a byte of it flipped.
        let whole = std::fs::read(&path).expect("read");
        let second = HEADER + 4;
        for cut in second as u64 + 1..full {
            std::fs::write(&path, &whole[..cut as usize]).expect("write");
            let o = LogFile::open(&path).expect("open torn");
            assert_eq!(payloads(&o), [(7, "kept".into())], "cut at {cut}");
            assert_eq!(o.cut_bytes, cut - second as u64);
            assert_eq!(std::fs::metadata(&path).expect("meta").len(), second as u64);
        }
        for flip in second..whole.len() {
            let mut bad = whole.clone();
            bad[flip] ^= 0x40;
            std::fs::write(&path, &bad).expect("write");
            let o = LogFile::open(&path).expect("open flipped");
            assert_eq!(payloads(&o), [(7, "kept".into())], "flip at {flip}");
        }
        // After the cut the log goes on from the last good record.
        let mut o = LogFile::open(&path).expect("open");
        o.log.append([(8, b"again".as_slice())]).expect("append");
        drop(o);
        let o = LogFile::open(&path).expect("reopen");
        assert_eq!(payloads(&o), [(7, "kept".into()), (8, "again".into())]);
    }

    #[test]
    fn truncate_and_purge_survive_reopening() {
        let path = dir("trim").join("log");
        let mut o = LogFile::open(&path).expect("open");
        let items: Vec<(u64, Vec<u8>)> = (10..20)
            .map(|i| (i, format!("e{i}").into_bytes()))
            .collect();
        o.log
            .append(items.iter().map(|(i, p)| (*i, p.as_slice())))
            .expect("append");
        o.log.truncate(17).expect("truncate");
        o.log.purge(12).expect("purge");
        assert_eq!((o.log.first_index(), o.log.len()), (13, 4));
        o.log.append([(17, b"new".as_slice())]).expect("append");
        drop(o);
        let o = LogFile::open(&path).expect("reopen");
        assert_eq!(
            payloads(&o),
            [
                (13, "e13".into()),
                (14, "e14".into()),
                (15, "e15".into()),
                (16, "e16".into()),
                (17, "new".into())
            ]
        );
        // Purging everything leaves an empty log that starts wherever the
        // next append says.
        let mut log = o.log;
        log.purge(17).expect("purge all");
        assert!(log.is_empty());
        log.append([(18, b"after".as_slice())]).expect("append");
        drop(log);
        let o = LogFile::open(&path).expect("reopen");
        assert_eq!(payloads(&o), [(18, "after".into())]);
    }
}
