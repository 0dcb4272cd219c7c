//! `seed-endscreen`: record a match the way the app would, from a labelled capture's job input
//! (its friends, teams A and B, and the screenshot's attachment at `--s3-key`), for `make demo`
//! and for trying `extract` by hand. Prints `<attachmentId> <matchId>`.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "seed-endscreen", about = "Seed a match and its scoreboard attachment from a capture's job input")]
struct Cli {
    /// A labelled capture's JSON (its `input` is used, never its expected answers).
    #[arg(long)]
    fixture: std::path::PathBuf,
    /// Where the screenshot is (or will be) in the bucket.
    #[arg(long)]
    s3_key: String,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
}

#[tokio::main]
async fn main() -> Result<(), sqlx::Error> {
    let cli = Cli::parse();
    let pool = sqlx::PgPool::connect(&cli.database_url).await?;
    let input = testkit::endscreen::fixture_input(&cli.fixture);
    let seeded = testkit::endscreen::seed(&pool, &input, &cli.s3_key).await?;
    println!("{} {}", seeded.attachment_id, seeded.match_id);
    Ok(())
}
