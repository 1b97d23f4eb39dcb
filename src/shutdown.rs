//! The daemon's one shutdown tree: every task it spawns is tracked in a stage,
//! the stages stop one after the other in a fixed order, and one deadline bounds
//! the whole stop.
//!
//! The order is the data contract. Sources stop first (acknowledging only what
//! committed); the pipeline drains what they handed over; sinks take the last
//! alerts; knowledge closes; the writer commits and exits; the API goes last, so
//! `/healthz` can answer "stopping" until the end. A stage's token is cancelled
//! only once every task of the stages before it has ended.

use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One stop stage, in stop order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Sources, and the systemd watchdog and status line (they stop with intake).
    Sources,
    /// The pipeline: ends by itself once every source dropped its sender.
    Pipeline,
    /// Sinks: stop after the last alerts were queued; unsent items stay queued.
    Sinks,
    /// Embeddings, search and questions.
    Knowledge,
    /// The store writer: commits what it holds and exits.
    Writer,
    /// The HTTP API and every task its requests started.
    Api,
}

impl Stage {
    /// The stop order.
    pub const ORDER: [Stage; 6] = [
        Stage::Sources,
        Stage::Pipeline,
        Stage::Sinks,
        Stage::Knowledge,
        Stage::Writer,
        Stage::Api,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Sources => "sources",
            Stage::Pipeline => "pipeline",
            Stage::Sinks => "sinks",
            Stage::Knowledge => "knowledge",
            Stage::Writer => "store writer",
            Stage::Api => "api",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The tasks of one stage and the token that tells them to stop. Cheap to
/// clone; a task may spawn further tasks into its own stage.
#[derive(Debug, Clone)]
pub struct Tasks {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Tasks {
    /// Cancelled when this stage is told to stop (or at the deadline).
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Resolves when this stage is told to stop.
    pub async fn stopping(&self) {
        self.token.cancelled().await;
    }

    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// Spawns work that is dropped when this stage is told to stop, for tasks
    /// with nothing to finish (a stream to a client that the stop cuts anyway).
    pub fn spawn_until_stop<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let token = self.token.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = task => {}
            }
        });
    }

    /// Runs blocking `work` (a thread's stop or join) once this stage is told
    /// to stop; the handle gives its result, `None` if it panicked.
    pub fn on_stop_blocking<F, T>(&self, work: F) -> JoinHandle<Option<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let stage = self.clone();
        self.tracker.spawn(async move {
            stage.stopping().await;
            stage.tracker.spawn_blocking(work).await.ok()
        })
    }
}

/// Which stage was still running when the deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("could not stop within {deadline:?}: the {} was still running", stage.name())]
pub struct Overran {
    pub stage: Stage,
    pub deadline: Duration,
}

/// The root of the tree: a token per stage, each a child of one that is
/// cancelled when the deadline passes.
#[derive(Debug)]
pub struct Tree {
    deadline_passed: CancellationToken,
    stages: Vec<Tasks>,
}

impl Default for Tree {
    fn default() -> Self {
        let deadline_passed = CancellationToken::new();
        let stages = Stage::ORDER
            .iter()
            .map(|_| Tasks {
                token: deadline_passed.child_token(),
                tracker: TaskTracker::new(),
            })
            .collect();
        Tree {
            deadline_passed,
            stages,
        }
    }
}

impl Tree {
    pub fn tasks(&self, stage: Stage) -> Tasks {
        self.stages[stage.index()].clone()
    }

    /// Stops stage by stage within `deadline`. A stage that is still running
    /// when it passes is named in the error, and every token still uncancelled
    /// is cancelled, so what can still end, ends.
    pub async fn stop(&self, deadline: Duration) -> Result<(), Overran> {
        let until = Instant::now() + deadline;
        for stage in Stage::ORDER {
            let tasks = &self.stages[stage.index()];
            tasks.token.cancel();
            tasks.tracker.close();
            if tokio::time::timeout_at(until, tasks.tracker.wait())
                .await
                .is_err()
            {
                self.deadline_passed.cancel();
                return Err(Overran { stage, deadline });
            }
            tracing::debug!(stage = stage.name(), "stage stopped");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Log = Arc<Mutex<Vec<&'static str>>>;

    /// A task that ends `after` its stage is told to stop, logging its name.
    fn stopper(tree: &Tree, stage: Stage, after: Duration, log: &Log) {
        let tasks = tree.tasks(stage);
        let log = log.clone();
        let own = tasks.clone();
        tasks.spawn(async move {
            own.stopping().await;
            tokio::time::sleep(after).await;
            log.lock().unwrap().push(stage.name());
        });
    }

    #[tokio::test(start_paused = true)]
    async fn stages_stop_in_order_each_after_the_one_before_ended() {
        let tree = Tree::default();
        let log = Log::default();
        // Registered backwards, and the earlier stages are the slower ones.
        for (i, stage) in Stage::ORDER.iter().rev().enumerate() {
            stopper(&tree, *stage, Duration::from_millis(10 * i as u64), &log);
        }
        tree.stop(Duration::from_secs(15)).await.unwrap();
        let names: Vec<_> = Stage::ORDER.iter().map(|s| s.name()).collect();
        assert_eq!(*log.lock().unwrap(), names);
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_stage_is_not_told_to_stop_while_an_earlier_one_runs() {
        let tree = Tree::default();
        let sinks = tree.tasks(Stage::Sinks).token();
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        tree.tasks(Stage::Sources).spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            *s.lock().unwrap() = Some(sinks.is_cancelled());
        });
        tree.stop(Duration::from_secs(15)).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), Some(false));
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_spawned_by_a_task_are_waited_for() {
        let tree = Tree::default();
        let log = Log::default();
        let api = tree.tasks(Stage::Api);
        let (inner_log, inner_api) = (log.clone(), api.clone());
        api.spawn(async move {
            inner_api.spawn(async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                inner_log.lock().unwrap().push("connection");
            });
        });
        tree.stop(Duration::from_secs(15)).await.unwrap();
        assert_eq!(*log.lock().unwrap(), ["connection"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_stage_is_named_at_the_deadline_and_the_rest_is_cancelled() {
        let tree = Tree::default();
        tree.tasks(Stage::Writer)
            .spawn(std::future::pending::<()>());
        let api = tree.tasks(Stage::Api).token();
        let started = Instant::now();
        let err = tree.stop(Duration::from_secs(15)).await.unwrap_err();
        assert_eq!(err.stage, Stage::Writer);
        assert_eq!(started.elapsed(), Duration::from_secs(15));
        assert!(
            api.is_cancelled(),
            "the api is told to stop at the deadline"
        );
        assert_eq!(
            err.to_string(),
            "could not stop within 15s: the store writer was still running"
        );
    }
}
