//! Each outcome of a delivery, against a real nats-server: retries with their delays, the
//! give-up path (hook once, dead letter, terminate), poison messages, panics, timeouts,
//! de-duplication, shutdown and a server restart; confirmed acks (recorded before a job counts as
//! done, shared by jobs that finish together); and `testkit::harness::work` settling one attempt
//! by the same table.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream;
use common::{ScriptedTask, Step, consumer_state, job, settings, spawn_worker, stored_jobs};
use futures::StreamExt;
use testkit::{NatsServer, harness, wait_until};
use tracing::Instrument;
use worker_runtime::ack::{self, ConfirmedAcks};
use worker_runtime::dead_letter::{DeadLetters, Reason};
use worker_runtime::metrics::{Metrics, TaskSeries};
use worker_runtime::publish::Publisher;
use worker_runtime::{TaskError, provision};

const WAIT: Duration = Duration::from_secs(30);

async fn setup() -> (NatsServer, async_nats::jetstream::Context, Publisher) {
    common::init_telemetry();
    let nats = NatsServer::start().await;
    let js = async_nats::jetstream::new(nats.client().await);
    provision::ensure_all_streams(&js, 1).await.expect("provision");
    let publisher = Publisher::new(js.clone());
    (nats, js, publisher)
}

/// The extract task's counters, as `/metrics` serves them.
fn extract_series(metrics: &Metrics) -> TaskSeries {
    metrics.series("extract")
}

#[tokio::test]
async fn retryable_failures_are_retried_after_the_backoff_then_succeed() {
    let (_nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::FailRetryable, Step::FailRetryable, Step::Succeed]);
    let worker = spawn_worker(&task, &js, settings(2));
    publisher.publish(&job(), "retry-1").await.unwrap();

    wait_until("the third attempt to succeed", WAIT, || async { task.completed() == 1 }).await;
    let calls = task.calls();
    assert_eq!(calls.iter().map(|c| c.attempt).collect::<Vec<_>>(), [1, 2, 3], "attempt numbers from the metadata");
    // Backoff base 200 ms: the delay after attempt n lies in ceiling(n)/2 ..= ceiling(n) (+ slack).
    let policy = task.policy.retry;
    for (n, pair) in calls.windows(2).enumerate() {
        let waited = pair[1].at - pair[0].at;
        let ceiling = policy.ceiling(n as u32 + 1);
        assert!(waited >= ceiling / 2, "retry {n} came after {waited:?}, before its backoff {:?}", ceiling / 2);
        assert!(waited <= ceiling + Duration::from_secs(1), "retry {n} came only after {waited:?}");
        println!("retry {} after {waited:?} (window {:?}..={ceiling:?})", n + 1, ceiling / 2);
    }
    assert!(task.exhausted().is_empty());
    wait_until("the ack to remove the job", WAIT, || async { stored_jobs(&js).await == 0 }).await;
    // Counted when the worker hears the confirmation, which may come after the removal is seen.
    wait_until("the job to be counted", WAIT, || async { extract_series(&worker.metrics).processed.get() >= 1 }).await;
    assert_eq!(extract_series(&worker.metrics).retried.get(), 2);
    assert_eq!(extract_series(&worker.metrics).processed.get(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn exhausted_job_runs_the_hook_once_and_is_dead_lettered() {
    let (_nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::FailRetryable]);
    let worker = spawn_worker(&task, &js, settings(2));
    let published = job();
    publisher.publish(&published, "exhaust-1").await.unwrap();

    let dead_letters = DeadLetters::new(js.clone());
    wait_until("a dead letter", WAIT, || async { dead_letters.list("extract").await.unwrap().len() == 1 }).await;
    wait_until("the terminate to remove the job", WAIT, || async { stored_jobs(&js).await == 0 }).await;
    assert_eq!(task.calls().len(), 3, "max_attempts is 3");
    let exhausted = task.exhausted();
    assert_eq!(exhausted.len(), 1, "hook runs exactly once");
    assert_eq!(exhausted[0].0, published);
    assert!(exhausted[0].1.contains("database unreachable"), "{}", exhausted[0].1);

    let letter = &dead_letters.list("extract").await.unwrap()[0];
    assert_eq!(
        (letter.reason, letter.attempts, letter.original_subject.as_str()),
        (Some(Reason::Exhausted), 3, "extract")
    );
    assert!(letter.error.contains("database unreachable"));
    assert_eq!(letter.headers.get("Dead-Letter-Msg-Id").map(|v| v.as_str()), Some("exhaust-1"));
    assert!(letter.headers.get("traceparent").is_some(), "trace context kept with the dead letter");
    assert_eq!(proto::decode::<proto::ExtractJob>(&letter.payload).unwrap(), published);
    assert_eq!(extract_series(&worker.metrics).dead_lettered.get(), 1);
    worker.stop().await;
}

/// Under the shipped NATS permissions: the worker's user may note and read back its own
/// deferred give-ups.
#[tokio::test]
async fn a_give_up_whose_hook_failed_records_the_real_error_on_the_next_delivery() {
    common::init_telemetry();
    let nats = NatsServer::start_with_auth().await;
    let admin = async_nats::jetstream::new(nats.client().await);
    provision::ensure_all_streams(&admin, 1).await.expect("provision as admin");
    let publisher = Publisher::new(admin.clone());
    let worker_js =
        async_nats::jetstream::new(nats.client_as("extract-worker").await.expect("connect as extract-worker"));
    let js = admin;
    let task = ScriptedTask::new(vec![Step::FailRetryable]).with_failing_hook(1);
    let worker = spawn_worker(&task, &worker_js, settings(2));
    publisher.publish(&job(), "deferred-1").await.unwrap();

    let dead_letters = DeadLetters::new(js.clone());
    wait_until("a dead letter", WAIT, || async { dead_letters.list("extract").await.unwrap().len() == 1 }).await;
    wait_until("the terminate to remove the job", WAIT, || async { stored_jobs(&js).await == 0 }).await;
    assert_eq!(task.calls().len(), 3, "the redelivery ran no fourth attempt");
    let hooks: Vec<String> = task.exhausted().into_iter().map(|(_, error)| error).collect();
    assert_eq!(hooks.len(), 2, "the failed hook ran again on the redelivery");
    assert!(hooks.iter().all(|e| e.contains("database unreachable")), "both calls got the real error: {hooks:?}");
    let letter = &dead_letters.list("extract").await.unwrap()[0];
    assert_eq!(
        (letter.reason, letter.attempts),
        (Some(Reason::Exhausted), 3),
        "the attempt that failed, not the delivery"
    );
    assert!(letter.error.contains("database unreachable"), "{}", letter.error);
    assert_eq!(extract_series(&worker.metrics).dead_lettered.get(), 1);
    worker.stop().await;
    assert_eq!(nats.permission_violations(), Vec::<String>::new(), "the worker needed more than its grants");
}

#[tokio::test]
async fn a_permanent_give_up_whose_hook_failed_is_not_attempted_again() {
    let (_nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::FailPermanent]).with_failing_hook(1);
    let worker = spawn_worker(&task, &js, settings(2));
    publisher.publish(&job(), "deferred-permanent-1").await.unwrap();

    let dead_letters = DeadLetters::new(js.clone());
    wait_until("a dead letter", WAIT, || async { dead_letters.list("extract").await.unwrap().len() == 1 }).await;
    assert_eq!(task.calls().len(), 1, "the redelivery finished the give-up without running the handler");
    assert_eq!(task.exhausted().len(), 2);
    let letter = &dead_letters.list("extract").await.unwrap()[0];
    assert_eq!((letter.reason, letter.attempts), (Some(Reason::Permanent), 1));
    assert!(letter.error.contains("attachment missing"), "{}", letter.error);
    worker.stop().await;
}

/// The last attempt's worker dies mid-handler; the job's next delivery, to another worker, runs
/// no attempt beyond the limit and gives up, saying the attempt never reported back.
#[tokio::test]
async fn a_delivery_after_a_last_attempt_that_never_reported_back_is_dead_lettered() {
    let (_nats, js, publisher) = setup().await;
    let mut hanging = ScriptedTask::new(vec![Step::Sleep(Duration::from_secs(600))]);
    hanging.policy.max_attempts = 1;
    let crashed = spawn_worker(&hanging, &js, settings(1));
    publisher.publish(&job(), "never-reported-1").await.unwrap();
    wait_until("the only attempt to start", WAIT, || async { hanging.calls().len() == 1 }).await;
    crashed.handle.abort(); // no heartbeat, no ack: as a killed process

    let mut next = ScriptedTask::new(vec![Step::Succeed]);
    next.policy.max_attempts = 1;
    let worker = spawn_worker(&next, &js, settings(1));
    let dead_letters = DeadLetters::new(js.clone());
    wait_until("a dead letter", WAIT, || async { dead_letters.list("extract").await.unwrap().len() == 1 }).await;
    assert!(next.calls().is_empty(), "no attempt beyond the limit");
    let hooks = next.exhausted();
    assert_eq!(hooks.len(), 1);
    assert!(hooks[0].1.contains("never reported back"), "{}", hooks[0].1);
    let letter = &dead_letters.list("extract").await.unwrap()[0];
    assert_eq!((letter.reason, letter.attempts), (Some(Reason::Exhausted), 2));
    assert!(letter.error.contains("never reported back"), "{}", letter.error);
    worker.stop().await;
}

#[tokio::test]
async fn permanent_failure_is_not_retried() {
    let (_nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::FailPermanent]);
    let worker = spawn_worker(&task, &js, settings(2));
    publisher.publish(&job(), "permanent-1").await.unwrap();

    let dead_letters = DeadLetters::new(js.clone());
    wait_until("a dead letter", WAIT, || async { dead_letters.list("extract").await.unwrap().len() == 1 }).await;
    wait_until("the job to leave the stream", WAIT, || async { stored_jobs(&js).await == 0 }).await;
    assert_eq!(task.calls().len(), 1);
    assert_eq!(task.exhausted().len(), 1);
    let letter = &dead_letters.list("extract").await.unwrap()[0];
    assert_eq!((letter.reason, letter.attempts), (Some(Reason::Permanent), 1));
    worker.stop().await;
}

#[tokio::test]
async fn poison_payload_is_dead_lettered_without_calling_the_handler() {
    let (_nats, js, _publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::Succeed]);
    let worker = spawn_worker(&task, &js, settings(2));
    for payload in [
        &b"not json"[..],
        br#"{"attachmentId":"nope","matchId":"x"}"#,
        br#"{"attachmentId":"6f1c2d4e-8a8b-4c53-9f0e-2b7d7d5f6a10"}"#,
    ] {
        js.publish("extract", payload.to_vec().into()).await.unwrap().await.unwrap();
    }
    let dead_letters = DeadLetters::new(js.clone());
    wait_until("three dead letters", WAIT, || async { dead_letters.list("extract").await.unwrap().len() == 3 }).await;
    let letters = dead_letters.list("extract").await.unwrap();
    assert!(letters.iter().all(|l| l.reason == Some(Reason::Undecodable) && l.attempts == 1), "{letters:?}");
    assert!(letters[1].error.contains("attachmentId"), "error names the field: {}", letters[1].error);
    assert!(letters[2].error.contains("matchId"), "error names the field: {}", letters[2].error);
    assert!(task.calls().is_empty(), "the handler never sees a payload that breaks the contract");
    assert!(task.exhausted().is_empty(), "no typed job, so no hook");
    worker.stop().await;
}

#[tokio::test]
async fn panicking_handler_is_retried_and_the_worker_survives() {
    let (_nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::Panic, Step::Succeed]);
    let worker = spawn_worker(&task, &js, settings(2));
    publisher.publish(&job(), "panic-1").await.unwrap();
    wait_until("the retry after the panic to succeed", WAIT, || async { task.completed() == 1 }).await;
    assert_eq!(task.calls().len(), 2);
    // Still consuming: a new job goes through.
    publisher.publish(&job(), "after-panic").await.unwrap();
    wait_until("the next job", WAIT, || async { task.completed() == 2 }).await;
    worker.stop().await;
}

#[tokio::test]
async fn handler_past_its_timeout_is_retried() {
    let (_nats, js, publisher) = setup().await;
    let mut task = ScriptedTask::new(vec![Step::Sleep(Duration::from_secs(5)), Step::Succeed]);
    task.policy.timeout = Duration::from_millis(300);
    let worker = spawn_worker(&task, &js, settings(1));
    publisher.publish(&job(), "slow-1").await.unwrap();
    wait_until("the retry after the timeout", WAIT, || async { task.completed() == 1 }).await;
    assert_eq!(task.calls().iter().map(|c| c.attempt).collect::<Vec<_>>(), [1, 2]);
    worker.stop().await;
}

#[tokio::test]
async fn long_handler_is_not_redelivered_while_it_heartbeats() {
    let (_nats, js, publisher) = setup().await;
    // Runs 3 s with an ack wait of 1 s: only the in-progress heartbeats keep it ours.
    let task = ScriptedTask::new(vec![Step::Sleep(Duration::from_secs(3))]);
    let mut worker_settings = settings(4);
    worker_settings.ack_wait = Duration::from_secs(1);
    let worker = spawn_worker(&task, &js, worker_settings);
    publisher.publish(&job(), "long-1").await.unwrap();
    wait_until("the long job to finish", WAIT, || async { task.completed() == 1 }).await;
    assert_eq!(task.calls().len(), 1, "redelivered while still running");
    wait_until("the ack", WAIT, || async { consumer_state(&js).await == Some((0, 0)) }).await;
    worker.stop().await;
}

#[tokio::test]
async fn same_message_id_twice_runs_one_job() {
    let (_nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::Succeed]);
    let published = job();
    let first = publisher.publish(&published, "dedupe-1").await.unwrap();
    let second = publisher.publish(&published, "dedupe-1").await.unwrap();
    assert!(!first.duplicate && second.duplicate);
    let worker = spawn_worker(&task, &js, settings(2));
    wait_until("the job", WAIT, || async { task.completed() == 1 }).await;
    wait_until("the consumer to be drained", WAIT, || async { consumer_state(&js).await == Some((0, 0)) }).await;
    assert_eq!(task.calls().len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_jobs_finish_and_acknowledges_them() {
    let (_nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::Sleep(Duration::from_millis(800))]);
    let worker = spawn_worker(&task, &js, settings(2));
    for n in 0..6 {
        publisher.publish(&job(), &format!("drain-{n}")).await.unwrap();
    }
    wait_until("two jobs in flight", WAIT, || async { task.calls().len() == 2 }).await;
    worker.stop().await;
    // The two in flight finished during the grace period and were acked; the rest wait.
    assert_eq!(task.completed(), 2);
    assert_eq!(stored_jobs(&js).await, 4, "finished jobs acked, unstarted ones still queued");

    let next = ScriptedTask::new(vec![Step::Succeed]);
    let worker = spawn_worker(&next, &js, settings(2));
    wait_until("the remaining four", WAIT, || async { next.completed() == 4 }).await;
    worker.stop().await;
    assert_eq!(stored_jobs(&js).await, 0);
}

#[tokio::test]
async fn nats_restart_with_jobs_in_flight_loses_nothing() {
    let (mut nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::Sleep(Duration::from_millis(100))]);
    let worker = spawn_worker(&task, &js, settings(4));
    let jobs: Vec<_> = (0..40).map(|_| job()).collect();
    for (n, job) in jobs.iter().enumerate() {
        publisher.publish(job, &format!("restart-{n}")).await.unwrap();
    }
    wait_until("some jobs done", WAIT, || async { task.completed() >= 8 }).await;
    nats.restart().await;
    wait_until("every job done after the restart", Duration::from_secs(60), || async {
        let done = task.completed.lock().unwrap().clone();
        jobs.iter().all(|job| done.contains(job))
    })
    .await;
    let runs = task.completed();
    println!("40 jobs, {runs} completions ({} ran twice because their ack was cut by the restart)", runs - 40);
    wait_until("the stream to be empty", Duration::from_secs(60), || async { stored_jobs(&js).await == 0 }).await;
    worker.stop().await;
}

#[tokio::test]
async fn each_attempt_continues_the_publishers_trace() {
    let (_nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::FailRetryable, Step::Succeed]);
    let worker = spawn_worker(&task, &js, settings(1));
    // The API's request span: the job's trace starts here.
    let request = tracing::info_span!("api request");
    let producer_trace = worker_runtime::trace_id(&request);
    assert_ne!(producer_trace, "00000000000000000000000000000000", "the test subscriber gives real trace ids");
    publisher.publish(&job(), "traced-1").instrument(request).await.unwrap();

    wait_until("the retried job to succeed", WAIT, || async { task.completed() == 1 }).await;
    let traces: Vec<String> = task.calls().into_iter().map(|call| call.trace_id).collect();
    assert_eq!(traces, [producer_trace.clone(), producer_trace], "both attempts belong to the producer's trace");
    worker.stop().await;
}

#[tokio::test]
async fn a_worker_holds_at_most_its_slots_plus_its_prefetch_window() {
    for prefetch in [3, 0] {
        let (_nats, js, publisher) = setup().await;
        let task = ScriptedTask::new(vec![Step::Sleep(Duration::from_secs(3))]);
        let mut worker_settings = settings(2);
        worker_settings.prefetch = prefetch;
        let worker = spawn_worker(&task, &js, worker_settings);
        for n in 0..10 {
            publisher.publish(&job(), &format!("window-{n}")).await.unwrap();
        }
        let held = 2 + prefetch;
        wait_until("the window to fill", WAIT, || async {
            consumer_state(&js).await == Some((10 - held as u64, held)) && task.calls().len() == 2
        })
        .await;
        // What a crash would strand for one ack wait: the running jobs and the window, no more.
        assert_eq!(task.calls().len(), 2, "prefetched jobs wait for a free slot");
        worker.stop().await;
    }
}

#[tokio::test]
async fn the_window_widens_after_short_jobs_up_to_its_ceiling() {
    // Fifty jobs of no work teach the worker its jobs are short; then it holds up to the
    // ceiling, and with the ceiling at the configured window it holds no more than before.
    for (ceiling, held) in [(40, 41), (1, 2)] {
        let (_nats, js, publisher) = setup().await;
        let task = ScriptedTask::new(vec![Step::SleepAfterFirst(50, Duration::from_secs(3))]);
        let mut worker_settings = settings(1);
        (worker_settings.prefetch, worker_settings.prefetch_max) = (1, ceiling);
        let worker = spawn_worker(&task, &js, worker_settings);
        for n in 0..50 {
            publisher.publish(&job(), &format!("short-{n}")).await.unwrap();
        }
        wait_until("the short jobs", WAIT, || async { task.completed() == 50 }).await;
        for n in 0..100 {
            publisher.publish(&job(), &format!("long-{n}")).await.unwrap();
        }
        wait_until("the window to fill", WAIT, || async {
            consumer_state(&js).await == Some((100 - held as u64, held))
        })
        .await;
        assert_eq!(task.calls().len(), 51, "one slot: one long job running, the rest held");
        worker.stop().await;
    }
}

#[tokio::test]
async fn a_prefetched_job_is_kept_alive_until_its_slot_is_free() {
    let (_nats, js, publisher) = setup().await;
    // The second job waits 3 s behind the first with an ack wait of 1 s.
    let task = ScriptedTask::new(vec![Step::Sleep(Duration::from_secs(3))]);
    let mut worker_settings = settings(1);
    worker_settings.ack_wait = Duration::from_secs(1);
    let worker = spawn_worker(&task, &js, worker_settings);
    publisher.publish(&job(), "alive-1").await.unwrap();
    publisher.publish(&job(), "alive-2").await.unwrap();
    wait_until("both jobs to finish", WAIT, || async { task.completed() == 2 }).await;
    let attempts: Vec<u32> = task.calls().iter().map(|call| call.attempt).collect();
    assert_eq!(attempts, [1, 1], "a held job was redelivered while it waited");
    worker.stop().await;
}

#[tokio::test]
async fn shutdown_gives_prefetched_jobs_back_at_once_unstarted() {
    let (_nats, js, publisher) = setup().await;
    let task = ScriptedTask::new(vec![Step::Sleep(Duration::from_millis(800))]);
    let mut worker_settings = settings(1);
    worker_settings.prefetch = 3;
    // Far beyond the test: a job left for the ack wait would not come back in time.
    worker_settings.ack_wait = Duration::from_secs(120);
    let worker = spawn_worker(&task, &js, worker_settings);
    for n in 0..6 {
        publisher.publish(&job(), &format!("give-back-{n}")).await.unwrap();
    }
    wait_until("one running, three held", WAIT, || async {
        consumer_state(&js).await == Some((2, 4)) && task.calls().len() == 1
    })
    .await;
    worker.stop().await;
    assert_eq!(task.calls().len(), 1, "a prefetched job started after the shutdown");
    assert_eq!(task.completed(), 1);
    assert_eq!(stored_jobs(&js).await, 5);

    // Within `WAIT`, far below the ack wait: only the naks can bring the held jobs back this soon.
    let next = ScriptedTask::new(vec![Step::Succeed]);
    let worker = spawn_worker(&next, &js, settings(2));
    wait_until("the other five", WAIT, || async { next.completed() == 5 }).await;
    worker.stop().await;
}

// `testkit::harness::work` settles one attempt by the same table, without a stream: what a
// service test that uses it learns is what the worker would do.

#[tokio::test]
async fn a_retryable_failure_with_attempts_left_is_retried_after_the_policys_backoff() {
    let task = ScriptedTask::new(vec![Step::FailRetryable]);
    match harness::work(&task, job(), 1).await {
        harness::Outcome::Retrying { delay, error: TaskError::Retryable(cause) } => {
            assert!(delay <= Duration::from_secs(2), "within the policy's longest delay: {delay:?}");
            assert!(cause.to_string().contains("database unreachable"), "{cause}");
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    assert!(task.exhausted().is_empty(), "no give-up: the hook did not run");
}

#[tokio::test]
async fn the_last_attempt_is_exhausted_and_a_permanent_failure_is_given_up_at_once() {
    let task = ScriptedTask::new(vec![Step::FailRetryable]);
    let last = harness::work(&task, job(), 3).await;
    assert_eq!(last.dead_letter_reason(), Some(Reason::Exhausted), "{last:?}");

    let task = ScriptedTask::new(vec![Step::FailPermanent]);
    match harness::work(&task, job(), 1).await {
        harness::Outcome::DeadLettered { reason: Reason::Permanent, error } => {
            assert!(error.contains("attachment missing"), "the dead letter's error: {error}");
        }
        other => panic!("expected a permanent dead letter, got {other:?}"),
    }
    assert_eq!(task.exhausted().len(), 1, "the hook ran once");
}

#[tokio::test]
async fn a_panic_and_a_timeout_are_retryable_and_a_failing_hook_defers_the_give_up() {
    let task = ScriptedTask::new(vec![Step::Panic]);
    assert!(matches!(harness::work(&task, job(), 1).await, harness::Outcome::Retrying { .. }));

    let mut slow = ScriptedTask::new(vec![Step::Sleep(Duration::from_secs(5))]);
    slow.policy.timeout = Duration::from_millis(50);
    match harness::work(&slow, job(), 1).await {
        harness::Outcome::Retrying { error, .. } => assert!(error.to_string().contains("timed out"), "{error}"),
        other => panic!("expected a retry after the timeout, got {other:?}"),
    }

    let task = ScriptedTask::new(vec![Step::FailPermanent]).with_failing_hook(1);
    match harness::work(&task, job(), 1).await {
        harness::Outcome::GiveUpDeferred { reason: Reason::Permanent, hook_error, .. } => {
            assert!(hook_error.to_string().contains("results table unreachable"), "{hook_error}");
        }
        other => panic!("expected a deferred give-up, got {other:?}"),
    }
    assert_eq!(harness::work(&ScriptedTask::new(vec![Step::Succeed]), job(), 1).await.dead_letter_reason(), None);
}

/// `jobs` deliveries of the extract consumer, fetched and not yet acknowledged.
async fn delivered(js: &jetstream::Context, publisher: &Publisher, jobs: usize) -> Vec<jetstream::Message> {
    for n in 0..jobs {
        publisher.publish(&job(), &format!("ack-{n}")).await.expect("publish");
    }
    let stream = js.get_stream(provision::job_stream_name("extract")).await.expect("job stream");
    let consumer = provision::ensure_consumer(&stream, provision::consumer_config("extract", Duration::from_secs(30)))
        .await
        .expect("consumer");
    let batch = consumer.fetch().max_messages(jobs).messages().await.expect("fetch");
    let messages: Vec<_> = batch.map(|message| message.expect("a delivery")).collect().await;
    assert_eq!(messages.len(), jobs);
    messages
}

#[tokio::test]
async fn acks_of_jobs_finishing_together_share_a_confirmation_and_every_one_is_recorded() {
    let (_nats, js, publisher) = setup().await;
    let messages = delivered(&js, &publisher, 200).await;
    assert_eq!(consumer_state(&js).await, Some((0, 200)));

    let client = js.client();
    let replies_before = client.statistics().in_messages.load(Ordering::Relaxed);
    let acks = ConfirmedAcks::start(client.clone());
    let outcomes = futures::future::join_all(messages.iter().map(|message| acks.ack(message))).await;
    assert!(outcomes.iter().all(Result::is_ok), "every ack confirmed: {outcomes:?}");

    // Read right after the last confirmation, without waiting: every ack is already applied.
    assert_eq!(consumer_state(&js).await, Some((0, 0)), "no job left unacknowledged");
    let replies = client.statistics().in_messages.load(Ordering::Relaxed) - replies_before;
    println!("200 acks confirmed by {replies} replies");
    assert!(replies <= 20, "acks given together are confirmed together, not one reply each ({replies} replies)");
}

#[tokio::test]
async fn a_lone_ack_is_confirmed_by_its_own_reply() {
    let (_nats, js, publisher) = setup().await;
    let messages = delivered(&js, &publisher, 2).await;
    let acks = ConfirmedAcks::start(js.client());

    acks.ack(&messages[0]).await.expect("confirmed");
    assert_eq!(consumer_state(&js).await, Some((0, 1)), "the first job is recorded, the second still held");
    ack::confirm_one(&js.client(), &messages[1]).await.expect("confirmed");
    assert_eq!(consumer_state(&js).await, Some((0, 0)));
}
