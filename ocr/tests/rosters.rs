//! The whole pipeline on the real captures in `../shared/endscreens/real` with the match's
//! recorded teams altered ([`ocr::roster_variants`]): what the answer must say when the board
//! contradicts them. Each capture gets one variant in turn (the confidence bench runs all of
//! them on every capture), so every variant is pinned on captures of every source.

use std::path::Path;

use ocr::pipeline::Pipeline;
use ocr::roster_variants::{self, Variant};
use ocr::scoring::LabelledCapture;
use ocr::seating::CONFLICT_CEILING;
use proto::{OcrJobOutput, OcrReading, WarningCode};
use uuid::Uuid;

const ALTERED: [Variant; 4] = [Variant::OneSwap, Variant::OneMoved, Variant::TwoSwaps, Variant::Strangers];

fn real_captures() -> Vec<LabelledCapture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/endscreens/real");
    let paths = ocr::scoring::label_files(&dir).unwrap_or_else(|e| {
        panic!("{}: {e} (the real captures sit in ../shared beside the repository)", dir.display())
    });
    assert!(paths.len() >= 30, "the real set lost captures: {}", paths.len());
    paths.iter().map(|path| LabelledCapture::open(path).unwrap()).collect()
}

fn codes(reading: &OcrReading) -> Vec<WarningCode> {
    reading.warnings.iter().map(|w| w.code).collect()
}

/// What is wrong with `reading` as the answer to `variant`, if anything.
fn check(variant: Variant, reading: &OcrReading, altered: &roster_variants::Altered) -> Option<String> {
    let listed: Vec<Uuid> = reading.roster_conflicts.iter().map(|c| c.friend_id).collect();
    let summary = || {
        format!(
            "team A {:?} at {:.2}, conflicts {listed:?} (moved {:?}), warnings {:?}",
            reading.team_a_side,
            reading.confidence.team_a_side.get(),
            altered.moved,
            codes(reading)
        )
    };
    if let Some(stray) = listed.iter().find(|id| !altered.moved.contains(id)) {
        return Some(format!("{stray} listed as a conflict but not moved: {}", summary()));
    }
    let fine = match variant {
        Variant::OneMoved => {
            listed == altered.moved
                && codes(reading).contains(&WarningCode::RosterConflict)
                && reading.confidence.team_a_side.get() <= CONFLICT_CEILING
                && (reading.team_a_side.is_none() || reading.team_a_side == altered.side)
        }
        Variant::OneSwap | Variant::TwoSwaps => {
            // An exchanged player whose own row was read only as a last seat is not listed
            // (it is no evidence), but still withholds the side.
            reading.team_a_side.is_none()
                && !listed.is_empty()
                && codes(reading).contains(&WarningCode::BoardContradictsTeams)
        }
        Variant::Strangers => {
            let players: Vec<Uuid> = altered
                .input
                .teams
                .team_a
                .friend_ids()
                .iter()
                .chain(altered.input.teams.team_b.friend_ids())
                .copied()
                .collect();
            reading.team_a_side.is_none()
                && codes(reading).contains(&WarningCode::NoMatchPlayers)
                && !reading.matching.iter().any(|m| m.friend_id.is_some_and(|id| players.contains(&id)))
        }
        Variant::Unaltered => unreachable!("not among the altered"),
    };
    (!fine).then(summary)
}

#[test]
fn real_captures_with_altered_teams_report_the_conflict_and_withhold_the_side() {
    let captures = real_captures();
    let values: Vec<serde_json::Value> = captures.iter().map(|capture| capture.label.clone()).collect();
    let pool = roster_variants::stranger_pool(&values);
    let mut pipeline =
        Pipeline::standard(ocr::ppocr::PpOcrConfig::default().load().expect("the PP-OCR models")).expect("tesseract");
    let mut wrong = Vec::new();
    for (n, capture) in captures.iter().enumerate() {
        let variant = ALTERED[n % ALTERED.len()];
        let altered = roster_variants::alter(&capture.label, variant, &pool);
        let name = capture.image_path.file_name().unwrap().to_string_lossy();
        match pipeline.run(&altered.input, &capture.image_bytes().unwrap()) {
            OcrJobOutput::Done(reading) => {
                if let Some(why) = check(variant, &reading, &altered) {
                    wrong.push(format!("{name} ({}): {why}", variant.name()));
                }
            }
            OcrJobOutput::Failed(failure) => wrong.push(format!("{name}: {:?}", failure.error)),
        }
    }
    assert!(wrong.is_empty(), "{} altered captures answered wrong:\n{}", wrong.len(), wrong.join("\n"));
}
