//! The title word → who won. `VICTORY`/`승리` means TEAM 1 (blue) won, `DEFEAT`/`패배` that
//! TEAM 2 (red) did; the screen's owner is always in TEAM 1.

use proto::Side;

use crate::normalize;

const WORDS: [(&str, Side); 4] =
    [("victory", Side::Blue), ("승리", Side::Blue), ("defeat", Side::Red), ("패배", Side::Red)];
/// Least similarity (0–100) to a title word, and least lead over the other side's best word.
const MIN_SCORE: f64 = 70.0;
const MIN_MARGIN: f64 = 15.0;

/// The winning side, if the reading says it clearly, and a confidence in 0..=1.
pub fn winner(reading: &str, ocr_confidence: f64) -> (Option<Side>, f64) {
    let read = normalize::plain(reading);
    let score = |word: &str| rapidfuzz::fuzz::ratio(read.chars(), word.chars()) * 100.0;
    let best = |side: Side| WORDS.iter().filter(|(_, s)| *s == side).map(|(w, _)| score(w)).fold(0.0, f64::max);
    let (blue, red) = (best(Side::Blue), best(Side::Red));
    let (side, top, other) = if blue >= red { (Side::Blue, blue, red) } else { (Side::Red, red, blue) };
    if top >= MIN_SCORE && top - other >= MIN_MARGIN {
        (Some(side), (top / 100.0 * (0.5 + ocr_confidence / 2.0)).clamp(0.0, 1.0))
    } else {
        (None, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_words_in_both_languages() {
        assert_eq!(winner("VICTORY", 0.9).0, Some(Side::Blue));
        assert_eq!(winner("DEFEAT", 0.9).0, Some(Side::Red));
        assert_eq!(winner("승리", 0.9).0, Some(Side::Blue));
        assert_eq!(winner("패배", 0.9).0, Some(Side::Red));
        assert_eq!(winner("VICT0RY", 0.6).0, Some(Side::Blue), "one misread letter");
    }

    #[test]
    fn garbage_is_no_answer() {
        assert_eq!(winner("", 0.9), (None, 0.0));
        assert_eq!(winner("SCOREBOARD", 0.9), (None, 0.0));
    }
}
