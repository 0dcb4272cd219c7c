//! `seed-endscreen`: record a match the way the app would, from a labelled capture's job input
//! (its friends, teams A and B, and the screenshot's attachment at `--s3-key`), for `make demo`
//! and for trying `extract` by hand. Prints `<attachmentId> <matchId>`; with `--match-only`, the
//! match without the attachment (the upload is then the caller's, as in `make demo`), printed
//! as `<sessionId> <matchId>`.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "seed-endscreen", about = "Seed a match and its scoreboard attachment from a capture's job input")]
struct Cli {
    /// A labelled capture's JSON (its `input` is used, never its expected answers).
    #[arg(long)]
    fixture: std::path::PathBuf,
    /// Where the screenshot is (or will be) in the bucket.
    #[arg(long, required_unless_present = "match_only")]
    s3_key: Option<String>,
    /// Record the match only; the caller inserts the attachment.
    #[arg(long, conflicts_with = "s3_key")]
    match_only: bool,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
}

#[tokio::main]
async fn main() -> Result<(), sqlx::Error> {
    let cli = Cli::parse();
    let pool = sqlx::PgPool::connect(&cli.database_url).await?;
    let input = testkit::endscreen::fixture_input(&cli.fixture);
    match cli.s3_key {
        Some(s3_key) => {
            let seeded = testkit::endscreen::seed(&pool, &input, &s3_key).await?;
            println!("{} {}", seeded.attachment_id, seeded.match_id);
        }
        None => {
            let recorded = testkit::endscreen::seed_match(&pool, &input).await?;
            println!("{} {}", recorded.session_id, recorded.match_id);
        }
    }
    Ok(())
}
