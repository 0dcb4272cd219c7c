//! A labelled capture's job input with the match's recorded teams altered the ways a game night
//! gets them wrong: what [`seating`](crate::seating) must then say. Used by the tests and the
//! confidence bench, never by the pipeline (it reads the labels' answers).

use proto::{FriendEntry, MatchTeams, OcrJobInput, Side, Team};
use serde_json::Value;
use uuid::Uuid;

/// How the recorded teams differ from the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    /// As labelled.
    Unaltered,
    /// One player of team A recorded in team B instead, and one of team B left out of the match:
    /// one player sits at the other team's table.
    OneMoved,
    /// One player of A and one of B exchanged (match 2's teams for match 1's screenshot).
    OneSwap,
    /// Two and two exchanged.
    TwoSwaps,
    /// Ten friends who are not on the board (another night's match).
    Strangers,
}

impl Variant {
    pub const ALL: [Variant; 5] =
        [Variant::Unaltered, Variant::OneMoved, Variant::OneSwap, Variant::TwoSwaps, Variant::Strangers];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Unaltered => "unaltered",
            Variant::OneMoved => "one moved",
            Variant::OneSwap => "one swap",
            Variant::TwoSwaps => "two swaps",
            Variant::Strangers => "strangers",
        }
    }

    /// Whether an honest answer may place team A: only where the recorded teams still agree
    /// with the board, or one player contradicts them.
    pub fn side_may_stand(self) -> bool {
        matches!(self, Variant::Unaltered | Variant::OneMoved)
    }
}

/// The altered input and what a right answer to it is.
#[derive(Debug, Clone)]
pub struct Altered {
    pub variant: Variant,
    pub input: OcrJobInput,
    /// Team A's table in a right answer: the label's where the side may stand, else none.
    pub side: Option<Side>,
    /// The players now recorded in the other team than the one they sat with.
    pub moved: Vec<Uuid>,
}

/// Every match player of every label: the friends a [`Variant::Strangers`] match is drawn from.
pub fn stranger_pool(labels: &[Value]) -> Vec<FriendEntry> {
    let mut pool: Vec<FriendEntry> = Vec::new();
    for label in labels {
        let Ok(input) = serde_json::from_value::<OcrJobInput>(label["input"].clone()) else { continue };
        let players: Vec<Uuid> =
            input.teams.team_a.friend_ids().iter().chain(input.teams.team_b.friend_ids()).copied().collect();
        for entry in input.friend_dictionary {
            if players.contains(&entry.friend_id) && !pool.iter().any(|p| p.friend_id == entry.friend_id) {
                pool.push(entry);
            }
        }
    }
    pool
}

/// `label`'s input altered by `variant`; the players exchanged are picked from the job id, so
/// each capture exchanges different rows but every run the same ones.
pub fn alter(label: &Value, variant: Variant, pool: &[FriendEntry]) -> Altered {
    let mut input: OcrJobInput = serde_json::from_value(label["input"].clone()).expect("a labelled input");
    let labelled_side = match label["expected"]["teamASide"].as_str() {
        Some("blue") => Some(Side::Blue),
        Some("red") => Some(Side::Red),
        _ => None,
    };
    let seed = input.job_id.as_bytes()[0] as usize;
    let mut a = input.teams.team_a.friend_ids().to_vec();
    let mut b = input.teams.team_b.friend_ids().to_vec();
    let mut moved = Vec::new();
    let (i, j) = (seed % a.len().max(1), (seed / 5) % b.len().max(1));
    match variant {
        Variant::Unaltered => {}
        Variant::OneMoved if !a.is_empty() => {
            let player = a.remove(i);
            if b.len() == Team::MAX_PLAYERS {
                b.remove(j);
            }
            b.push(player);
            moved.push(player);
        }
        Variant::OneMoved => {}
        Variant::OneSwap | Variant::TwoSwaps => {
            let swaps = if variant == Variant::OneSwap { 1 } else { 2 };
            for k in 0..swaps.min(a.len()).min(b.len()) {
                let (x, y) = ((i + k) % a.len(), (j + k) % b.len());
                std::mem::swap(&mut a[x], &mut b[y]);
                moved.extend([a[x], b[y]]);
            }
        }
        Variant::Strangers => {
            let known: Vec<Uuid> = input.friend_dictionary.iter().map(|e| e.friend_id).collect();
            let strangers: Vec<FriendEntry> = pool
                .iter()
                .cycle()
                .skip(seed % pool.len().max(1))
                .take(pool.len())
                .filter(|entry| !known.contains(&entry.friend_id))
                .take(2 * Team::MAX_PLAYERS)
                .cloned()
                .collect();
            let ids: Vec<Uuid> = strangers.iter().map(|e| e.friend_id).collect();
            let half = ids.len().div_ceil(2);
            (a, b) = (ids[..half].to_vec(), ids[half..].to_vec());
            input.friend_dictionary.extend(strangers);
        }
    }
    input.teams = MatchTeams {
        team_a: a.try_into().expect("at most five, distinct"),
        team_b: b.try_into().expect("at most five, distinct"),
    };
    let side = if variant.side_may_stand() { labelled_side } else { None };
    Altered { variant, input, side, moved }
}
