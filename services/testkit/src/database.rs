use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// An empty database of its own for one test, on the cluster behind `DATABASE_URL`.
/// Migrations are the caller's business (the test may be about them).
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let server_url = crate::required_env("DATABASE_URL");
        let options: PgConnectOptions = server_url.parse().expect("DATABASE_URL is a Postgres URL");
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = options.clone().database("postgres").connect().await.expect("connect to the test cluster");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create the test database");
        admin.close().await.expect("close the admin connection");
        let options = options.database(&name);
        let url = options.to_url_lossy().to_string();
        let pool =
            PgPoolOptions::new().max_connections(10).connect_with(options).await.expect("connect to the test database");
        TestDatabase { name, url, pool }
    }

    /// Let `role` (a service role the migrations created) log in, and return its URL for this
    /// database. Roles are cluster-wide and `ALTER ROLE … LOGIN` is idempotent, so parallel
    /// tests agree.
    pub async fn login_url(&self, role: &str) -> String {
        sqlx::query(&format!("ALTER ROLE {role} LOGIN")).execute(&self.pool).await.expect("let the role log in");
        let options: PgConnectOptions = self.url.parse().expect("a Postgres URL");
        options.username(role).to_url_lossy().to_string()
    }

    /// A new database with `migrator`'s migrations applied (as the migration role).
    pub async fn migrated(migrator: &sqlx::migrate::Migrator) -> TestDatabase {
        let db = TestDatabase::create().await;
        migrator.run(&db.pool).await.expect("apply the migrations");
        db
    }
}
