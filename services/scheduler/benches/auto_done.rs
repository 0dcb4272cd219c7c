//! Time the auto-done UPDATE: 100,000 due sessions among 1,000,000.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:15432/lol cargo bench -p scheduler --bench auto_done
//!
//! Creates a scratch database on that server (dropped afterwards), fills `session` with
//! 100,000 CONFIRMED sessions older than 3 days, 300,000 recent CONFIRMED ones, 300,000 old
//! SCHEDULED and 300,000 DONE, runs ANALYZE, prints the plan, then times one `process_tick`
//! (the tick row and the UPDATE in one transaction, as in production).

use std::time::Instant;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

const SESSIONS: i64 = 1_000_000;
const DUE: i64 = 100_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server: PgConnectOptions = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:15432/lol".to_owned())
        .parse()?;
    let name = format!("bench_auto_done_{}", std::process::id());
    let mut admin = server.clone().database("postgres").connect().await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let pool = PgPool::connect_with(server.clone().database(&name)).await?;
    let result = run(&pool).await;
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {name}")).execute(&mut admin).await?;
    admin.close().await?;
    result
}

async fn run(pool: &PgPool) -> anyhow::Result<()> {
    worker_runtime::database::MIGRATOR.run(pool).await?;
    let started = Instant::now();
    let recent = (SESSIONS - DUE) / 3;
    sqlx::query(
        "INSERT INTO session (id, status, starts_at)
         SELECT gen_random_uuid(),
                CASE WHEN n <= $1 THEN 'CONFIRMED' WHEN n <= $1 + $2 THEN 'CONFIRMED' WHEN n <= $1 + 2 * $2 THEN 'SCHEDULED' ELSE 'DONE' END,
                CASE WHEN n <= $1 THEN now() - interval '4 days' - (n % 1000) * interval '1 hour'
                     WHEN n <= $1 + $2 THEN now() - (n % 48) * interval '1 hour'
                     ELSE now() - interval '10 days' - (n % 1000) * interval '1 hour' END
         FROM generate_series(1, $3) AS n",
    )
    .bind(DUE)
    .bind(recent)
    .bind(SESSIONS)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE session").execute(pool).await?;
    println!("seeded {SESSIONS} sessions ({DUE} due) in {:.1} s", started.elapsed().as_secs_f64());

    let plan: Vec<String> =
        sqlx::query_scalar(&format!("EXPLAIN {}", scheduler::auto_done::CLOSE_DUE_SESSIONS)).fetch_all(pool).await?;
    println!("plan:\n  {}", plan.join("\n  "));

    let started = Instant::now();
    let outcome = scheduler::auto_done::process_tick(pool, chrono::Utc::now()).await?;
    let elapsed = started.elapsed();
    println!("auto-done tick: {outcome:?} in {:.0} ms", elapsed.as_secs_f64() * 1000.0);
    anyhow::ensure!(
        outcome == scheduler::auto_done::TickOutcome::Transitioned(DUE as u64),
        "expected {DUE} transitions"
    );
    Ok(())
}
