//! The application database: a pool, and the embedded migrations from `migrations/`.
//!
//! sqlx's migrator holds a Postgres advisory lock while it migrates, so replicas that start
//! together apply each migration once and the others wait, then find nothing to do.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use crate::config::DatabaseConfig;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// Connect (failing fast if the database is not there) and apply pending migrations.
pub async fn connect_and_migrate(config: &DatabaseConfig) -> Result<PgPool, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&config.database_url)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}
