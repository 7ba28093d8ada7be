//! Online backups: a consistent copy of a live database while a server keeps writing to it.
//!
//! The copy is made with SQLite's online backup API in a single step, which holds one read
//! transaction for the whole copy: in WAL mode that never blocks the server's writer, and
//! the copy is exactly the database as of the moment the step began (every write committed
//! before then, none after). The copy is written to a temporary file beside the target,
//! switched to a self-contained rollback journal, checked, fsync'd and only then renamed
//! into place, so a crash or a failure never leaves a half-written backup under the name.

use opencalls_store::StoreError;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a locked source is retried before the backup gives up.
const BUSY_LIMIT: Duration = Duration::from_secs(30);

/// What a finished backup holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupSummary {
    /// Database pages copied.
    pub pages: u64,
    /// Size of the backup file in bytes.
    pub bytes: u64,
}

/// Copies the database at `source` into a new file `target` (which must not exist).
pub fn backup(source: &Path, target: &Path) -> Result<BackupSummary, StoreError> {
    if !source.exists() {
        return Err(fail(format!(
            "there is no database at {}",
            source.display()
        )));
    }
    if target.exists() {
        return Err(fail(format!(
            "{} exists already; choose a new file",
            target.display()
        )));
    }
    let partial = target.with_extension("partial");
    let result = copy_to(source, &partial).and_then(|pages| {
        std::fs::rename(&partial, target)
            .map_err(|e| fail(format!("renaming into {}: {e}", target.display())))?;
        let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
        Ok(BackupSummary { pages, bytes })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn copy_to(source: &Path, partial: &Path) -> Result<u64, StoreError> {
    let _ = std::fs::remove_file(partial);
    let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite("opening the database"))?;
    src.busy_timeout(BUSY_LIMIT)
        .map_err(sqlite("opening the database"))?;
    let mut dst = Connection::open(partial).map_err(sqlite("creating the backup file"))?;
    let pages = {
        let backup = Backup::new(&src, &mut dst).map_err(sqlite("starting the backup"))?;
        copy_all(&backup)?;
        u64::try_from(backup.progress().pagecount).unwrap_or(0)
    };
    // A backup is one self-contained file: no WAL beside it.
    dst.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sqlite("finishing the backup"))?;
    let check: String = dst
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(sqlite("checking the backup"))?;
    if check != "ok" {
        return Err(fail(format!("the backup failed its check: {check}")));
    }
    drop(dst);
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| fail(format!("syncing the backup: {e}")))?;
    Ok(pages)
}

/// One step of all pages: one read transaction, so one consistent snapshot. A source that
/// is momentarily locked (a checkpoint) is retried for up to [`BUSY_LIMIT`].
fn copy_all(backup: &Backup<'_, '_>) -> Result<(), StoreError> {
    let started = Instant::now();
    loop {
        match backup.step(-1).map_err(sqlite("copying the database"))? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked if started.elapsed() < BUSY_LIMIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            StepResult::Busy | StepResult::Locked => {
                return Err(fail("the database stayed locked; try again".into()));
            }
            // `StepResult` is non-exhaustive; nothing else is documented.
            _ => return Err(fail("the backup step answered unexpectedly".into())),
        }
    }
}

fn sqlite(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| fail(format!("{what}: {e}"))
}

fn fail(message: String) -> StoreError {
    StoreError::Backend(message)
}
