//! The capture's files: JSON lines appended to `capture.jsonl` in the capture directory, rotated
//! by size to `capture-<seq>.jsonl` (sequence numbers grow, so names sort oldest first), the
//! oldest rotated files deleted so that the directory stays under its total size. Blocking
//! file I/O: used only on the capture's writer thread.

use std::{
    collections::VecDeque,
    fs::{self, File, OpenOptions},
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
};

/// The file being written.
pub const ACTIVE: &str = "capture.jsonl";

/// The capture files of `dir`, oldest first: the rotated ones, then the active one. What
/// `openim-shim replay --capture DIR` reads.
pub fn in_order(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<_> = rotated(dir)?.into_iter().map(|(_, p, _)| p).collect();
    let active = dir.join(ACTIVE);
    if active.exists() {
        files.push(active);
    }
    Ok(files)
}

/// The rotated files of `dir`: (sequence number, path, size), oldest first.
fn rotated(dir: &Path) -> io::Result<Vec<(u64, PathBuf, u64)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let seq = name
            .to_str()
            .and_then(|n| n.strip_prefix("capture-")?.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            found.push((seq, entry.path(), entry.metadata()?.len()));
        }
    }
    found.sort();
    Ok(found)
}

/// Size-rotated, size-bounded capture files.
#[derive(Debug)]
pub(crate) struct CaptureFiles {
    dir: PathBuf,
    max_file: u64,
    max_total: u64,
    out: BufWriter<File>,
    /// Bytes in the active file.
    size: u64,
    /// Rotated files, oldest first, with their sizes.
    rotated: VecDeque<(PathBuf, u64)>,
    next_seq: u64,
}

impl CaptureFiles {
    /// Opens `dir` (created if missing), appending to its active file; files rotate at
    /// `max_file` bytes and the directory keeps at most about `max_total` bytes
    /// (`max_total >= max_file`).
    pub(crate) fn open(dir: &Path, max_file: u64, max_total: u64) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let found = rotated(dir)?;
        let next_seq = found.last().map_or(1, |(seq, _, _)| seq + 1);
        let (out, size) = open_active(dir)?;
        let mut files = Self {
            dir: dir.to_owned(),
            max_file,
            max_total: max_total.max(max_file),
            out,
            size,
            rotated: found.into_iter().map(|(_, p, s)| (p, s)).collect(),
            next_seq,
        };
        files.prune()?;
        Ok(files)
    }

    /// Appends `line` and a newline; rotates first if the active file would grow past its size.
    pub(crate) fn write_line(&mut self, line: &str) -> io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.size > 0 && self.size + len > self.max_file {
            self.rotate()?;
        }
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.size += len;
        Ok(())
    }

    /// Hands what was written to the OS.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.out.flush()?;
        let to = self.dir.join(format!("capture-{:08}.jsonl", self.next_seq));
        fs::rename(self.dir.join(ACTIVE), &to)?;
        self.next_seq += 1;
        self.rotated.push_back((to, self.size));
        (self.out, self.size) = open_active(&self.dir)?;
        self.prune()
    }

    /// Deletes the oldest rotated files until the rotated ones and a full active file fit in
    /// the total.
    fn prune(&mut self) -> io::Result<()> {
        let budget = self.max_total - self.max_file;
        let mut kept: u64 = self.rotated.iter().map(|(_, s)| s).sum();
        while kept > budget {
            let Some((oldest, size)) = self.rotated.pop_front() else {
                break;
            };
            match fs::remove_file(&oldest) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            kept -= size;
        }
        Ok(())
    }
}

fn open_active(dir: &Path) -> io::Result<(BufWriter<File>, u64)> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(ACTIVE))?;
    let size = file.metadata()?.len();
    Ok((BufWriter::new(file), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(dir: &Path) -> Vec<(String, u64)> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.file_name().into_string().unwrap();
                (name, e.metadata().unwrap().len())
            })
            .collect();
        v.sort();
        v
    }

    /// 100-byte lines (99 + newline), files of at most 1,000 bytes, 3,000 bytes in all.
    #[test]
    fn files_rotate_at_their_size_and_the_directory_stays_under_its_total() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = CaptureFiles::open(dir.path(), 1_000, 3_000).unwrap();
        let line = |i: usize| format!("{i:099}");
        for i in 0..95 {
            files.write_line(&line(i)).unwrap();
            files.flush().unwrap();
            let all = sizes(dir.path());
            let total: u64 = all.iter().map(|(_, s)| s).sum();
            assert!(total <= 3_000, "after line {i}: {all:?}");
            assert!(all.iter().all(|(_, s)| *s <= 1_000), "{all:?}");
        }
        // 95 lines: 9 full files rotated (seq 1-9) and 5 lines in the active one; the budget
        // for rotated files is 3,000 - 1,000: the two newest are kept.
        let all = sizes(dir.path());
        let names: Vec<_> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "capture-00000008.jsonl",
                "capture-00000009.jsonl",
                "capture.jsonl"
            ]
        );
        assert_eq!(all[2].1, 500);
        // Oldest first, and nothing but whole lines: the newest 25 lines are all there.
        let files = in_order(dir.path()).unwrap();
        let text: String = files
            .iter()
            .map(|f| fs::read_to_string(f).unwrap())
            .collect();
        let read: Vec<_> = text.lines().map(|l| l.parse::<usize>().unwrap()).collect();
        assert_eq!(read, (70..95).collect::<Vec<_>>());
    }

    #[test]
    fn reopening_appends_and_continues_the_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = CaptureFiles::open(dir.path(), 250, 10_000).unwrap();
        for i in 0..3 {
            files.write_line(&format!("{i:099}")).unwrap();
        }
        files.flush().unwrap();
        drop(files);
        let mut files = CaptureFiles::open(dir.path(), 250, 10_000).unwrap();
        files.write_line(&format!("{:099}", 3)).unwrap();
        files.write_line(&format!("{:099}", 4)).unwrap();
        files.flush().unwrap();
        let names = sizes(dir.path());
        assert_eq!(
            names,
            [
                ("capture-00000001.jsonl".to_owned(), 200),
                ("capture-00000002.jsonl".to_owned(), 200),
                ("capture.jsonl".to_owned(), 100)
            ]
        );
    }
}
