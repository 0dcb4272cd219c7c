//! Which table team A sat at.
//!
//! The rule of the original plan: three or more of team A's players matched on one side decide
//! it. Team B's rows are evidence too (B on red is A on blue), so a team A with guests can still
//! be placed. Contradicting rows lower the confidence; when the evidence does not decide, the
//! answer is `None` — never a guess.

use proto::Side;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    pub count_a_blue: u8,
    pub count_a_red: u8,
    pub count_b_blue: u8,
    pub count_b_red: u8,
}

/// The side of team A and a confidence in 0..=1.
///
/// Confidence is `1 − 0.5^(for − against)`: every further agreeing row halves the remaining
/// doubt (3 rows → 0.88, 5 → 0.97, all 10 → 0.999), and every contradicting row undoes one.
pub fn decide(evidence: Evidence) -> (Option<Side>, f64) {
    let for_blue = u32::from(evidence.count_a_blue + evidence.count_b_red);
    let for_red = u32::from(evidence.count_a_red + evidence.count_b_blue);
    let side = if evidence.count_a_blue >= 3 && for_blue > for_red {
        Some(Side::Blue)
    } else if evidence.count_a_red >= 3 && for_red > for_blue {
        Some(Side::Red)
    } else if for_blue >= 3 && for_red == 0 {
        Some(Side::Blue)
    } else if for_red >= 3 && for_blue == 0 {
        Some(Side::Red)
    } else {
        None
    };
    let margin = match side {
        Some(Side::Blue) => for_blue - for_red,
        Some(Side::Red) => for_red - for_blue,
        None => return (None, 0.0),
    };
    (side, 1.0 - 0.5f64.powi(margin as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(a_blue: u8, a_red: u8, b_blue: u8, b_red: u8) -> Evidence {
        Evidence { count_a_blue: a_blue, count_a_red: a_red, count_b_blue: b_blue, count_b_red: b_red }
    }

    #[test]
    fn three_of_team_a_decide() {
        assert_eq!(decide(evidence(3, 0, 0, 0)).0, Some(Side::Blue));
        assert_eq!(decide(evidence(0, 3, 0, 0)).0, Some(Side::Red));
    }

    #[test]
    fn team_b_places_a_team_a_full_of_guests() {
        assert_eq!(decide(evidence(1, 0, 0, 4)).0, Some(Side::Blue));
        assert_eq!(decide(evidence(0, 2, 3, 0)).0, Some(Side::Red));
    }

    #[test]
    fn confidence_grows_with_agreement_and_falls_with_contradiction() {
        let (_, three) = decide(evidence(3, 0, 0, 0));
        let (_, all) = decide(evidence(5, 0, 0, 5));
        let (_, contradicted) = decide(evidence(3, 1, 0, 0));
        assert!((three - 0.875).abs() < 1e-9);
        assert!(all > 0.99);
        assert!(contradicted < three && contradicted > 0.5, "{contradicted}");
    }

    #[test]
    fn too_little_or_split_evidence_is_no_answer() {
        assert_eq!(decide(evidence(2, 0, 0, 0)), (None, 0.0));
        assert_eq!(decide(evidence(2, 2, 1, 1)), (None, 0.0));
        assert_eq!(decide(evidence(0, 0, 0, 0)), (None, 0.0));
        // Three A rows on blue but the rest of the board says red: undecided, not blue.
        assert_eq!(decide(evidence(3, 2, 3, 0)).0, None);
    }
}
