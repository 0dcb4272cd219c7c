//! The TypeScript client (`clients/typescript`) under `node --test`, against a real nats-server
//! with the shipped users and a migrated database: what its tests leave behind is checked here
//! from the other side (the streams, as the admin).

use async_nats::jetstream;
use testkit::{NatsServer, TestDatabase};
use tokio::process::Command;
use worker_runtime::{database::MIGRATOR, provision};

#[tokio::test]
async fn the_typescript_client_enqueues_in_the_callers_transaction_and_publishes_once() {
    let nats = NatsServer::start_with_auth().await;
    let js = jetstream::new(nats.client().await);
    provision::ensure_all_streams(&js, 1).await.expect("provision as admin");
    let db = TestDatabase::migrated(&MIGRATOR).await;

    let client = testkit::repo_root().join("clients/typescript");
    // `pg` reads sqlx's `sslmode=prefer` as "require"; the test cluster speaks no TLS.
    let for_pg = |url: String| url.replace("sslmode=prefer", "sslmode=disable");
    let output = Command::new("node")
        .args(["--test", "test/"])
        .current_dir(&client)
        .envs(nats.env_for("api"))
        .env("API_DATABASE_URL", for_pg(db.login_url("lol_api").await))
        .env("OWNER_DATABASE_URL", for_pg(db.url.clone()))
        .output()
        .await
        .expect("run node (scripts/install-deps.sh installs and builds the client)");
    assert!(
        output.status.success(),
        "node --test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let passed = String::from_utf8_lossy(&output.stdout);
    assert!(passed.contains("# pass 4") && passed.contains("# fail 0"), "{passed}");

    let stored = |stream: &'static str| {
        let js = js.clone();
        async move { js.get_stream(stream).await.unwrap().info().await.unwrap().state.messages }
    };
    assert_eq!(stored("JOBS_EXTRACT").await, 1, "one extract despite the repeated publish and the invalid one");
    assert_eq!(stored("JOBS_CLEANUP").await, 1);
    assert_eq!(nats.permission_violations(), Vec::<String>::new(), "the client needed more than the api user's grants");
}
