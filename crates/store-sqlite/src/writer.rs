//! The group-commit writer thread.
//!
//! Invariant: a job's result is delivered only after the transaction containing it has
//! committed; a job that fails is rolled back to its own savepoint and does not affect the
//! other jobs of its group.

use crate::error::Error;
use opencalls_store::StoreError;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

/// Most writes committed together; bounds the latency one group adds to its first write.
const MAX_GROUP: usize = 512;
/// Writes waiting for the writer before submitters are slowed down (back-pressure).
const QUEUE_LIMIT: usize = 4096;

type Finish = Box<dyn FnOnce(Result<(), Error>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Finish + Send>;

pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub(crate) fn start(conn: Connection) -> Result<Self, Error> {
        let (jobs, queue) = mpsc::channel(QUEUE_LIMIT);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, queue))
            .map_err(|e| StoreError::Backend(format!("spawning the writer thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Whether the writer thread is still there to take jobs.
    pub(crate) fn is_running(&self) -> bool {
        !self.jobs.is_closed()
    }

    /// Runs `f` in the next group; `committed` runs on the writer thread once the group's
    /// commit has finished (whatever its outcome), before the caller is answered, even if
    /// the caller stopped waiting.
    pub(crate) async fn submit<T, F, C>(&self, f: F, committed: C) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
        C: FnOnce() + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let finish = run_job(conn, f, reply);
            Box::new(move |outcome| {
                committed();
                finish(outcome);
            })
        });
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }
}

fn run_job<T, F>(conn: &Connection, f: F, reply: oneshot::Sender<Result<T, Error>>) -> Finish
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, Error>,
{
    if let Err(e) = conn.execute_batch("SAVEPOINT job") {
        let err = Error::from(e);
        return Box::new(move |_| drop(reply.send(Err(err))));
    }
    match f(conn) {
        Ok(value) => match conn.execute_batch("RELEASE job") {
            Ok(()) => Box::new(move |committed| drop(reply.send(committed.map(|()| value)))),
            Err(e) => {
                let err = Error::from(e);
                Box::new(move |_| drop(reply.send(Err(err))))
            }
        },
        Err(err) => {
            let rolled_back = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            if let Err(e) = rolled_back {
                tracing::error!(error = %e, "rolling back a failed write");
            }
            Box::new(move |_| drop(reply.send(Err(err))))
        }
    }
}

fn run(conn: Connection, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        commit_group(&conn, group);
    }
}

fn commit_group(conn: &Connection, group: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let msg = e.to_string();
        tracing::error!(error = %msg, "starting a write transaction");
        // Run nothing; every job learns that its write failed.
        drop(group);
        return;
    }
    let finishers: Vec<Finish> = group.into_iter().map(|job| job(conn)).collect();
    let outcome = conn.execute_batch("COMMIT").map_err(|e| {
        tracing::error!(error = %e, "committing a write group");
        let _ = conn.execute_batch("ROLLBACK");
        e.to_string()
    });
    for finish in finishers {
        finish(
            outcome
                .clone()
                .map_err(|msg| StoreError::Backend(msg).into()),
        );
    }
}
