//! The matcher on the cases the real screen produces: Hangul, look-alikes, spaces, aliases,
//! guests, decoys one edit away, and half-size misreads.

use ocr::matching::{Reading, Row, RowMatch, match_rows};
use ocr::seating::{self, Evidence, Seating};
use proto::{FriendEntry, MatchMethod, MatchTeams, OcrOptions, RecordedTeam, RiotId, Side, WarningCode};
use uuid::Uuid;

struct Friend {
    id: Uuid,
    entry: FriendEntry,
}

fn friend(riot_id: &str, aliases: &[&str]) -> Friend {
    let id = Uuid::new_v4();
    let entry = FriendEntry {
        friend_id: id,
        primary: vec![RiotId::try_from(riot_id.to_owned()).expect("valid Riot ID")],
        secondary: aliases.iter().map(|a| a.to_string()).collect(),
    };
    Friend { id, entry }
}

fn rows(side: Side, texts: &[&str]) -> Vec<Row> {
    texts
        .iter()
        .enumerate()
        .map(|(n, text)| Row {
            side,
            row: n as u8,
            readings: vec![Reading { text: text.to_string(), confidence: 0.9 }],
        })
        .collect()
}

fn run(rows: &[Row], dictionary: &[&Friend], team_a: &[&Friend], team_b: &[&Friend]) -> Vec<RowMatch> {
    let teams = MatchTeams {
        team_a: team_a.iter().map(|f| f.id).collect::<Vec<_>>().try_into().unwrap(),
        team_b: team_b.iter().map(|f| f.id).collect::<Vec<_>>().try_into().unwrap(),
    };
    let entries: Vec<FriendEntry> = dictionary.iter().map(|f| f.entry.clone()).collect();
    match_rows(rows, &entries, &teams, &OcrOptions::default())
}

#[test]
fn exact_hangul_spaced_and_look_alike_names_match_their_friends() {
    let hangul = friend("사랑해#한국", &[]);
    let spaced = friend("Riot Eav#NA1", &[]);
    let confusable = friend("KiIngst#0001", &[]);
    let zero = friend("G0dMango#KR1", &[]);
    let plain = friend("Yultafyzdo#LOL", &[]);
    let all = [&hangul, &spaced, &confusable, &zero, &plain];
    let screen = rows(Side::Blue, &["사랑해", "Riot  Eav", "Ki1ngst", "GodMango", "Yultafyzdo"]);
    let matches = run(&screen, &all, &all, &[]);
    let ids: Vec<_> = matches.iter().map(|m| m.friend_id).collect();
    assert_eq!(ids, all.iter().map(|f| Some(f.id)).collect::<Vec<_>>(), "{matches:#?}");
    assert!(matches.iter().all(|m| m.method == Some(MatchMethod::NameOnly)));
}

#[test]
fn an_old_name_matches_through_the_alias() {
    let renamed = friend("NewShinyName#KR1", &["OldName"]);
    let matches = run(&rows(Side::Red, &["OldName"]), &[&renamed], &[], &[&renamed]);
    assert_eq!(matches[0].friend_id, Some(renamed.id));
    assert_eq!(matches[0].method, Some(MatchMethod::Alias));
    assert_eq!(matches[0].team, Some(RecordedTeam::B));
}

#[test]
fn a_visible_tag_gives_a_full_match() {
    let faker = friend("Faker#KR1", &[]);
    let matches = run(&rows(Side::Blue, &["Faker#KR1"]), &[&faker], &[&faker], &[]);
    assert_eq!((matches[0].friend_id, matches[0].method), (Some(faker.id), Some(MatchMethod::Full)));
}

#[test]
fn guests_stay_unmatched_even_next_to_a_one_edit_decoy() {
    // The guest "Faker" is not in the dictionary; the decoy "Faker2" is a friend who did not play.
    let decoy = friend("Faker2#KR1", &[]);
    let matches = run(&rows(Side::Red, &["Faker", "TotallyUnknown"]), &[&decoy], &[], &[]);
    assert_eq!(matches[0].friend_id, None, "{:?}", matches[0]);
    assert_eq!(matches[1].friend_id, None);
    assert_eq!(matches[0].candidates[0].0, decoy.id, "the decoy is still reported as a candidate");
}

#[test]
fn a_player_wins_over_a_decoy_one_edit_away() {
    let player = friend("Faker#KR1", &[]);
    let decoy = friend("Faker2#KR1", &[]);
    let matches = run(&rows(Side::Blue, &["Faker"]), &[&decoy, &player], &[&player], &[]);
    assert_eq!(matches[0].friend_id, Some(player.id));
}

#[test]
fn near_identical_players_are_paired_row_by_row() {
    let one = friend("Alpha1#KR1", &[]);
    let two = friend("Alpha2#KR1", &[]);
    let matches = run(&rows(Side::Blue, &["Alpha2", "Alpha1"]), &[&one, &two], &[&one, &two], &[]);
    assert_eq!(matches[0].friend_id, Some(two.id));
    assert_eq!(matches[1].friend_id, Some(one.id));
}

#[test]
fn half_size_misreads_match_players_but_not_outsiders() {
    let player = friend("GodMangoLips1999#KR1", &[]);
    let outsider = friend("SilverFoxTamer#KR1", &[]);
    // Misread beyond what look-alike folding repairs: below the 92 cut-off, far above any other
    // candidate of the row.
    let screen = rows(Side::Blue, &["GodMargoLips19", "SlvrFoxTamr"]);
    let matches = run(&screen, &[&player, &outsider], &[&player], &[]);
    assert!(matches[0].score < 92.0, "{}", matches[0].score);
    assert_eq!(matches[0].friend_id, Some(player.id), "{:?}", matches[0]);
    assert_eq!(matches[1].friend_id, None, "an outsider needs the full cut-off: {:?}", matches[1]);
}

#[test]
fn a_friend_outside_the_match_needs_an_exact_reading() {
    // From real failures: the guests "CCyweja" and "hex earth" played; the friends "CCyweja3" and
    // "hex eearth" did not. Their names score 93–95, above the name-only cut-off of 92.
    let near = [friend("CCyweja3#KR3", &[]), friend("hex eearth#Q2N", &[])];
    let exact = friend("Cupovddybej#KR3", &[]);
    let screen = rows(Side::Red, &["CCyweja", "hex earth", "Cupovddybej"]);
    let matches = run(&screen, &[&near[0], &near[1], &exact], &[], &[]);
    assert!(matches[0].score >= 92.0 && matches[1].score >= 92.0, "{matches:?}");
    assert_eq!((matches[0].friend_id, matches[1].friend_id), (None, None), "{matches:?}");
    assert_eq!(matches[2].friend_id, Some(exact.id), "an exact reading of an outsider still counts");
}

#[test]
fn an_outsider_read_exactly_by_one_second_look_alone_stays_unmatched() {
    // The guest "WaffWilll" played; the friend "WaffWill" did not. The first look reads the
    // guest; of the second looks one drops an `l`, another reads it right.
    let outsider = friend("WaffWill#7777", &[]);
    let looks = |texts: &[&str]| Row {
        side: Side::Red,
        row: 0,
        readings: texts.iter().map(|t| Reading { text: t.to_string(), confidence: 0.9 }).collect(),
    };
    let guest = run(&[looks(&["WaffWilll", "WaffWill", "WaffWilll"])], &[&outsider], &[], &[]);
    assert_eq!(guest[0].friend_id, None, "one search result is no evidence: {guest:?}");
    let misread_first = run(&[looks(&["WaffWi", "WaffWill", "WaffWill"])], &[&outsider], &[], &[]);
    assert_eq!(misread_first[0].friend_id, Some(outsider.id), "two looks agreeing still count: {misread_first:?}");
}

#[test]
fn a_short_name_is_not_taken_on_a_misread_letter_but_is_on_a_lost_one() {
    // `wana` scores 75 against `Hana` (70 is the relaxed floor): three letters agree and one
    // contradicts, which a misread row of someone else gives by chance. `tee` for `teea1` lost
    // letters and got none wrong; `Kaisa Mian` is long enough for one swap to be a misread.
    let hana = friend("Hana#GG", &[]);
    let teea = friend("teea1#1CJ", &[]);
    let kaisa = friend("Kaisa Main#KR1", &[]);
    let all = [&hana, &teea, &kaisa];
    let matches = run(&rows(Side::Blue, &["wana", "tee", "Kaisa Mian"]), &all, &all, &[]);
    let ids: Vec<_> = matches.iter().map(|m| m.friend_id).collect();
    assert_eq!(ids, [None, Some(teea.id), Some(kaisa.id)], "{matches:#?}");
    let exact = run(&rows(Side::Blue, &["Hana"]), &[&hana], &[&hana], &[]);
    assert_eq!(exact[0].friend_id, Some(hana.id), "an exact short name still matches");
}

#[test]
fn rows_decide_team_a_side() {
    let a: Vec<Friend> = (0..5).map(|n| friend(&format!("Ateam{n}x#KR1"), &[])).collect();
    let b: Vec<Friend> = (0..5).map(|n| friend(&format!("Bteam{n}y#KR1"), &[])).collect();
    let mut screen = rows(Side::Blue, &["Bteam0y", "Bteam1y", "Bteam2y", "Bteam3y", "Bteam4y"]);
    screen.extend(rows(Side::Red, &["Ateam0x", "Ateam1x", "Guest", "Ateam3x", "Ateam4x"]));
    let all: Vec<&Friend> = a.iter().chain(&b).collect();
    let matches = run(&screen, &all, &a.iter().collect::<Vec<_>>(), &b.iter().collect::<Vec<_>>());
    let evidence = Evidence::of(&matches);
    assert_eq!((evidence.count_a_red, evidence.count_b_blue, evidence.count_a_blue), (4, 5, 0));
    let (side, confidence) = seating::decide(evidence);
    assert_eq!(side, Some(Side::Red));
    assert!(confidence > 0.99);
}

/// Two full teams with distinct names, team A on the upper (blue) table, and the board's rows as
/// `blue` and `red` read them; returns the matches after the last-seat rule.
fn board_with_last_seats(
    blue: &[&str],
    red: &[&str],
    team_a_listed: usize,
) -> (Vec<RowMatch>, Vec<Friend>, Vec<Friend>) {
    let a: Vec<Friend> = ["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "SupportMe"]
        .iter()
        .map(|name| friend(&format!("{name}#KR1"), &[]))
        .collect();
    let b: Vec<Friend> = ["Dragonfly", "Nightowl", "Sunflower", "Waterfall", "Moonlight"]
        .iter()
        .map(|name| friend(&format!("{name}#KR1"), &[]))
        .collect();
    let mut screen = rows(Side::Blue, blue);
    screen.extend(rows(Side::Red, red));
    let all: Vec<&Friend> = a.iter().chain(&b).collect();
    let teams = MatchTeams {
        team_a: a.iter().take(team_a_listed).map(|f| f.id).collect::<Vec<_>>().try_into().unwrap(),
        team_b: b.iter().map(|f| f.id).collect::<Vec<_>>().try_into().unwrap(),
    };
    let entries: Vec<FriendEntry> = all.iter().map(|f| f.entry.clone()).collect();
    let mut matches = match_rows(&screen, &entries, &teams, &OcrOptions::default());
    let seating = seating::seat(&screen, &mut matches, &entries, &teams);
    assert_eq!(seating.team_a_side, Some(Side::Blue));
    (matches, a, b)
}

#[test]
fn the_last_row_of_a_full_team_takes_its_last_player_when_the_text_agrees() {
    // "SxpxoxtMx" scores 56 against "SupportMe", far under every cut-off, but four of team A are
    // seated and the fifth row still resembles the fifth player.
    let (matches, a, _) = board_with_last_seats(
        &["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "SxpxoxtMx"],
        &["Dragonfly", "Nightowl", "Sunflower", "Waterfall", "Moonlight"],
        5,
    );
    assert_eq!(matches[4].friend_id, Some(a[4].id), "{:?}", matches[4]);
    assert_eq!(matches[4].team, Some(RecordedTeam::A));
    assert!(matches[4].score >= seating::LAST_SEAT_FLOOR && matches[4].score < 70.0, "{:?}", matches[4]);
}

#[test]
fn two_empty_seats_are_paired_only_where_the_text_tells_them_apart() {
    let (matches, _, b) = board_with_last_seats(
        &["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "SupportMe"],
        &["Dragonfly", "Nightowl", "Sxnxlxwxr", "Wxtxrxxll", "Moonlight"],
        5,
    );
    // Each scores 56 against its own name and 22 against the other one.
    assert_eq!((matches[7].friend_id, matches[8].friend_id), (Some(b[2].id), Some(b[3].id)), "{matches:#?}");
}

#[test]
fn no_last_seat_without_a_full_roster_or_a_resembling_reading() {
    // Team A lists four friends (not SupportMe): the fifth seat may be a guest's.
    let (matches, _, _) = board_with_last_seats(
        &["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "SxpxoxtMx"],
        &["Dragonfly", "Nightowl", "Sunflower", "Waterfall", "Moonlight"],
        4,
    );
    assert_eq!(matches[4].friend_id, None, "{:?}", matches[4]);
    // A full roster, but the last row reads nothing like the last player.
    let (matches, _, _) = board_with_last_seats(
        &["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "@@@"],
        &["Dragonfly", "Nightowl", "Sunflower", "Waterfall", "Moonlight"],
        5,
    );
    assert_eq!(matches[4].friend_id, None, "{:?}", matches[4]);
}

/// The ten friends of `board_with_last_seats` (0–4 "team A", 5–9 "team B" as the board shows
/// them), a match recording `team_a` and `team_b` (indices), and the board's rows.
fn seat_board(blue: &[&str], red: &[&str], team_a: &[usize], team_b: &[usize]) -> (Seating, Vec<RowMatch>, Vec<Uuid>) {
    let names = [
        "Kaisa Main",
        "TopGapper",
        "JungleDiff",
        "MidOrFeed",
        "SupportMe",
        "Dragonfly",
        "Nightowl",
        "Sunflower",
        "Waterfall",
        "Moonlight",
    ];
    let friends: Vec<Friend> = names.iter().map(|name| friend(&format!("{name}#KR1"), &[])).collect();
    let ids: Vec<Uuid> = friends.iter().map(|f| f.id).collect();
    let teams = MatchTeams {
        team_a: team_a.iter().map(|&i| ids[i]).collect::<Vec<_>>().try_into().unwrap(),
        team_b: team_b.iter().map(|&i| ids[i]).collect::<Vec<_>>().try_into().unwrap(),
    };
    let mut screen = rows(Side::Blue, blue);
    screen.extend(rows(Side::Red, red));
    let entries: Vec<FriendEntry> = friends.iter().map(|f| f.entry.clone()).collect();
    let mut matches = match_rows(&screen, &entries, &teams, &OcrOptions::default());
    let seating = seating::seat(&screen, &mut matches, &entries, &teams);
    (seating, matches, ids)
}

const BLUE_AS_READ: [&str; 5] = ["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "SupportMe"];
const RED_AS_READ: [&str; 5] = ["Dragonfly", "Nightowl", "Sunflower", "Waterfall", "Moonlight"];

fn codes(seating: &Seating) -> Vec<WarningCode> {
    seating.warnings.iter().map(|w| w.code).collect()
}

#[test]
fn a_board_that_agrees_with_the_teams_has_no_conflict_and_no_warning() {
    let (seating, _, _) = seat_board(&BLUE_AS_READ, &RED_AS_READ, &[5, 6, 7, 8, 9], &[0, 1, 2, 3, 4]);
    assert_eq!(seating.team_a_side, Some(Side::Red));
    assert!(seating.confidence > 0.99, "{}", seating.confidence);
    assert_eq!((seating.conflicts.len(), seating.warnings.len()), (0, 0), "{seating:?}");
}

#[test]
fn one_exchanged_pair_is_two_conflicts_and_no_side() {
    // The match recorded SupportMe (blue, row 4) in team B and Dragonfly (red, row 0) in team A.
    let (seating, _, ids) = seat_board(&BLUE_AS_READ, &RED_AS_READ, &[0, 1, 2, 3, 5], &[4, 6, 7, 8, 9]);
    assert_eq!(seating.team_a_side, None);
    assert_eq!(seating.confidence, 0.0);
    let conflicts: Vec<_> = seating.conflicts.iter().map(|c| (c.friend_id, c.recorded, c.seen, c.row)).collect();
    assert_eq!(
        conflicts,
        vec![(ids[4], RecordedTeam::B, Side::Blue, 4), (ids[5], RecordedTeam::A, Side::Red, 0)],
        "{seating:?}"
    );
    assert_eq!(codes(&seating), vec![WarningCode::BoardContradictsTeams]);
}

#[test]
fn one_misplaced_player_leaves_the_side_below_the_conflict_ceiling() {
    // SupportMe sits with team A but was recorded in team B; Moonlight was left out of the match.
    let (seating, _, ids) = seat_board(&BLUE_AS_READ, &RED_AS_READ, &[0, 1, 2, 3], &[4, 5, 6, 7, 8]);
    assert_eq!(seating.team_a_side, Some(Side::Blue));
    assert!(seating.confidence <= seating::CONFLICT_CEILING && seating.confidence > 0.5, "{}", seating.confidence);
    assert_eq!(seating.conflicts.len(), 1, "{seating:?}");
    assert_eq!((seating.conflicts[0].friend_id, seating.conflicts[0].recorded), (ids[4], RecordedTeam::B));
    assert_eq!(codes(&seating), vec![WarningCode::RosterConflict]);
}

#[test]
fn a_board_without_the_match_players_places_nobody() {
    // The match's players are other friends: the board's names are friends outside this match
    // (read exactly, so matched, yet no evidence for either table).
    let (seating, matches, _) = seat_board(&BLUE_AS_READ[..3], &[], &[], &[]);
    assert!(matches.iter().all(|m| m.friend_id.is_some() && m.team.is_none()), "{matches:?}");
    assert_eq!(seating.team_a_side, None);
    assert_eq!(codes(&seating), vec![WarningCode::NoMatchPlayers]);
}

#[test]
fn two_players_read_are_too_few_and_said_so() {
    let (seating, _, _) = seat_board(&BLUE_AS_READ, &RED_AS_READ[..2], &[2, 3], &[]);
    assert_eq!(seating.team_a_side, None);
    assert_eq!(codes(&seating), vec![WarningCode::FewPlayersRead]);
}

#[test]
fn an_even_split_lists_every_player_and_places_nobody() {
    // Two of team A on blue, two of team B on blue too: no table is implied.
    let (seating, _, _) = seat_board(&BLUE_AS_READ[..4], &[], &[0, 1], &[2, 3]);
    assert_eq!(seating.team_a_side, None);
    assert_eq!(seating.conflicts.len(), 4, "{seating:?}");
    assert_eq!(codes(&seating), vec![WarningCode::BoardContradictsTeams]);
}

#[test]
fn last_seats_never_raise_the_confidence() {
    let blue = ["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "SxpxoxtMx"];
    let (seating, matches, ids) = seat_board(&blue, &RED_AS_READ, &[0, 1, 2, 3, 4], &[5, 6, 7, 8, 9]);
    assert_eq!(matches[4].friend_id, Some(ids[4]), "the last seat is filled: {:?}", matches[4]);
    assert_eq!(seating.evidence.count_a_blue, 4, "the seated row is not evidence");
    assert_eq!(
        seating.confidence,
        seating::decide(Evidence { count_a_blue: 4, count_b_red: 5, ..Evidence::default() }).1
    );
}

#[test]
fn no_last_seat_is_filled_when_a_player_conflicts() {
    // As above, but Dragonfly (red, row 0) was recorded in team A in place of SupportMe.
    let blue = ["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "SxpxoxtMx"];
    let (seating, matches, _) = seat_board(&blue, &RED_AS_READ, &[0, 1, 2, 3, 5], &[4, 6, 7, 8, 9]);
    assert_eq!(seating.conflicts.len(), 1, "{seating:?}");
    assert_eq!(matches[4].friend_id, None, "{:?}", matches[4]);
}

#[test]
fn an_exchanged_player_whose_row_was_not_read_still_withholds_the_side() {
    // As one exchanged pair, but SupportMe's row (blue, row 4) reads as nothing: only Dragonfly
    // is seen at the wrong table, yet team B's table is full and SupportMe has no seat there.
    let blue = ["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "@@@"];
    let (seating, matches, ids) = seat_board(&blue, &RED_AS_READ, &[0, 1, 2, 3, 5], &[4, 6, 7, 8, 9]);
    assert_eq!(seating.team_a_side, None, "{seating:?}");
    assert_eq!(seating.conflicts.iter().map(|c| c.friend_id).collect::<Vec<_>>(), vec![ids[5]]);
    assert_eq!(codes(&seating), vec![WarningCode::BoardContradictsTeams]);
    assert_eq!(matches[4].friend_id, None, "no last seat either");
}

#[test]
fn one_conflict_with_another_player_unread_withholds_the_side() {
    // One exchange again, SupportMe unread, and team B with a guest: its table is not full, so
    // nothing proves SupportMe is elsewhere — but nothing proves the rest agrees either.
    let blue = ["Kaisa Main", "TopGapper", "JungleDiff", "MidOrFeed", "@@@"];
    let red = ["Dragonfly", "Nightowl", "Sunflower", "Waterfall", "Some Guest"];
    let (seating, _, ids) = seat_board(&blue, &red, &[0, 1, 2, 3, 5], &[4, 6, 7, 8]);
    assert_eq!(seating.team_a_side, None, "{seating:?}");
    assert_eq!(seating.conflicts.iter().map(|c| c.friend_id).collect::<Vec<_>>(), vec![ids[5]]);
    assert_eq!(codes(&seating), vec![WarningCode::RosterConflict]);
}
