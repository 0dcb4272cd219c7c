//! Building the OCR job input of an `extract` job from the database.

use proto::{ExtractJob, FriendEntry, MatchTeams, OcrJobInput, OcrOptions, RiotId, RoiProfile, S3Location};
use sqlx::PgPool;
use uuid::Uuid;
use worker_runtime::{Classify, Failure};

/// Most friends sent to the matcher (the contract's limit).
pub const MAX_DICTIONARY: i64 = 1_000;

/// Why a job's input could not be built. All but `Database` are permanent: the same job will
/// never find what is missing.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("attachment {0} does not exist")]
    AttachmentMissing(Uuid),
    #[error("attachment {attachment} is a {kind}, not a LOL_RESULT_SCREEN")]
    WrongKind { attachment: Uuid, kind: String },
    #[error("attachment {attachment} belongs to match {actual:?}, not to match {expected}")]
    OtherMatch { attachment: Uuid, expected: Uuid, actual: Option<Uuid> },
    #[error("match {0} does not exist")]
    MatchMissing(Uuid),
    #[error("match {match_id}: team {team}: {reason}")]
    BadTeam { match_id: Uuid, team: &'static str, reason: proto::Invalid },
    #[error("friend {friend}: stored Riot ID {riot_id:?} is not gameName#tagLine")]
    BadRiotId { friend: Uuid, riot_id: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Only the database can be in a better state next time; the rest is what the job says.
impl Classify for InputError {
    fn failure(&self) -> Failure {
        match self {
            InputError::Database(_) => Failure::Retryable,
            _ => Failure::Permanent,
        }
    }
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    match_id: Option<Uuid>,
    kind: String,
    s3_key: String,
}

#[derive(sqlx::FromRow)]
struct FriendRow {
    id: Uuid,
    riot_ids: Vec<String>,
    aliases: Vec<String>,
}

/// The `lol-ocr` input for `job`; its `jobId` is the attachment id, so a stored result and a
/// replay with `lol-ocr extract --input` name the same thing.
pub async fn build(pool: &PgPool, job: &ExtractJob, bucket: &str, region: &str) -> Result<OcrJobInput, InputError> {
    let attachment: AttachmentRow = sqlx::query_as("SELECT match_id, kind, s3_key FROM attachment WHERE id = $1")
        .bind(job.attachment_id)
        .fetch_optional(pool)
        .await?
        .ok_or(InputError::AttachmentMissing(job.attachment_id))?;
    if attachment.kind != "LOL_RESULT_SCREEN" {
        return Err(InputError::WrongKind { attachment: job.attachment_id, kind: attachment.kind });
    }
    if attachment.match_id != Some(job.match_id) {
        return Err(InputError::OtherMatch {
            attachment: job.attachment_id,
            expected: job.match_id,
            actual: attachment.match_id,
        });
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM match WHERE id = $1)")
        .bind(job.match_id)
        .fetch_one(pool)
        .await?;
    if !exists {
        return Err(InputError::MatchMissing(job.match_id));
    }

    let members: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT friend_id, team FROM match_team_member WHERE match_id = $1 ORDER BY friend_id")
            .bind(job.match_id)
            .fetch_all(pool)
            .await?;
    let team = |name: &'static str| {
        let ids: Vec<Uuid> = members.iter().filter(|(_, t)| t == name).map(|(id, _)| *id).collect();
        ids.try_into().map_err(|reason| InputError::BadTeam { match_id: job.match_id, team: name, reason })
    };
    let teams = MatchTeams { team_a: team("A")?, team_b: team("B")? };

    // The match's players first, then everyone else, so a cut at the limit drops outsiders.
    let friends: Vec<FriendRow> = sqlx::query_as(
        "SELECT f.id,
                COALESCE(array_agg(DISTINCT r.game_name || '#' || r.tag_line) FILTER (WHERE r.game_name IS NOT NULL), '{}') AS riot_ids,
                COALESCE(array_agg(DISTINCT a.name) FILTER (WHERE a.name IS NOT NULL), '{}') AS aliases
         FROM friend f
         LEFT JOIN friend_riot_id r ON r.friend_id = f.id
         LEFT JOIN friend_alias a ON a.friend_id = f.id
         GROUP BY f.id
         ORDER BY (f.id = ANY($1)) DESC, f.id
         LIMIT $2",
    )
    .bind(members.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind(MAX_DICTIONARY)
    .fetch_all(pool)
    .await?;
    let mut dictionary = Vec::with_capacity(friends.len());
    for friend in friends {
        let primary = friend
            .riot_ids
            .into_iter()
            .map(|text| {
                RiotId::try_from(text.clone()).map_err(|_| InputError::BadRiotId { friend: friend.id, riot_id: text })
            })
            .collect::<Result<Vec<_>, _>>()?;
        dictionary.push(FriendEntry { friend_id: friend.id, primary, secondary: friend.aliases });
    }

    Ok(OcrJobInput {
        job_id: job.attachment_id,
        s3: S3Location { bucket: bucket.to_owned(), key: attachment.s3_key, region: region.to_owned() },
        roi_profile: RoiProfile::LolEndscreenV1,
        teams,
        friend_dictionary: dictionary,
        options: OcrOptions::default(),
    })
}
