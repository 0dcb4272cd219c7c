//! The application database: a pool, and the embedded migrations from `migrations/`.
//!
//! sqlx's migrator holds a Postgres advisory lock while it migrates, so replicas that start
//! together apply each migration once and the others wait, then find nothing to do.
//!
//! Where services connect as least-privilege roles (`DATABASE_MIGRATE=false`), `jobctl migrate`
//! applies the migrations as the migration role and the services only check the schema.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::DatabaseConfig;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error(transparent)]
    Connect(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database lacks migration {version} ({description}): run `jobctl migrate` as the migration role")]
    SchemaBehind { version: i64, description: String },
}

/// Connect (failing fast if the database is not there), then apply pending migrations or, with
/// `DATABASE_MIGRATE=false`, check that they are all applied.
pub async fn connect_and_migrate(config: &DatabaseConfig) -> Result<PgPool, DatabaseError> {
    connect_and_migrate_with(config, &[]).await
}

/// [`connect_and_migrate`], with these run-time settings on every connection of the pool (e.g.
/// `statement_timeout`), as if the role had them.
pub async fn connect_and_migrate_with(
    config: &DatabaseConfig,
    session_settings: &[(&str, &str)],
) -> Result<PgPool, DatabaseError> {
    let options: PgConnectOptions = config.database_url.parse()?;
    let pool = pool_options(config).connect_with(options.options(session_settings.iter().copied())).await?;
    if config.database_migrate {
        MIGRATOR.run(&pool).await?;
    } else {
        check_schema(&pool).await?;
    }
    Ok(pool)
}

/// A pool on `DATABASE_URL`; fails within 5 s if the database does not answer.
pub async fn connect(config: &DatabaseConfig) -> Result<PgPool, sqlx::Error> {
    pool_options(config).connect(&config.database_url).await
}

fn pool_options(config: &DatabaseConfig) -> PgPoolOptions {
    PgPoolOptions::new().max_connections(config.database_max_connections).acquire_timeout(Duration::from_secs(5))
}

/// Every migration this build embeds has been applied successfully.
pub async fn check_schema(pool: &PgPool) -> Result<(), DatabaseError> {
    const UNDEFINED_TABLE: &str = "42P01";
    let applied: Vec<i64> =
        match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(pool).await {
            Ok(applied) => applied,
            // No migration table: nothing was ever applied.
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(UNDEFINED_TABLE) => Vec::new(),
            Err(error) => return Err(error.into()),
        };
    match MIGRATOR.iter().find(|migration| !applied.contains(&migration.version)) {
        None => Ok(()),
        Some(migration) => Err(DatabaseError::SchemaBehind {
            version: migration.version,
            description: migration.description.to_string(),
        }),
    }
}
