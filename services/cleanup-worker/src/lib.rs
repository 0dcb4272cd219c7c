//! The cleanup worker: deletes the S3 objects named by `cleanup` jobs.
//!
//! - [`key_guard`]: every key must lie under an allowed prefix — one bad key refuses the whole
//!   job, so a buggy or hostile publisher can never delete outside the attachments.
//! - [`batch_delete`]: `DeleteObjects` in batches of 1,000, retrying only the keys that failed.
//! - [`orphans`]: keys that still fail are recorded, and `sweep-orphans` tries them again.
//! - [`task`]: the job handler that ties them together.
//! - [`app`]: the worker's configuration and its [`App`](app::App), run by `main` until SIGTERM
//!   and by tests in-process; the orphan sweep.

pub mod app;
pub mod batch_delete;
pub mod key_guard;
pub mod orphans;
pub mod task;
