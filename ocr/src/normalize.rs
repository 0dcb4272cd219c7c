//! The forms in which names are compared.
//!
//! [`plain`]: Unicode NFC (Hangul typed and Hangul read can differ in composition), lowercase,
//! no whitespace — spacing is what OCR gets wrong most and players rarely tell apart.
//! [`folded`]: [`plain`] in Unicode NFD (Hangul as jamo), with the look-alikes OCR confuses on
//! this screen's font mapped to one character (`i` (so `I`)/`l`/`1`/`|` → `l`, `O`/`0` → `o`, `rn` → `m`, `5` → `s` is *not* folded: it is
//! a real difference in names like `Faker5`).

use unicode_normalization::UnicodeNormalization;

pub fn plain(text: &str) -> String {
    text.nfc().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

pub fn folded(text: &str) -> String {
    // Hangul syllables split into their jamo (`윰` → `ᄋ` `ᅲ` `ᆷ`): a misread vowel is then one
    // wrong letter of three, not a wrong syllable (`헤 융` for `헤 윰`), as for Latin names.
    let plain: String = plain(text).nfd().collect();
    let mut out = String::with_capacity(plain.len());
    let mut chars = plain.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            'i' | '1' | '|' | 'l' => out.push('l'),
            '0' => out.push('o'),
            'r' if chars.peek() == Some(&'n') => {
                chars.next();
                out.push('m');
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_spaces_and_composition_do_not_matter() {
        assert_eq!(plain("Riot Eav"), "rioteav");
        // 사 as one precomposed syllable and as its two jamo.
        assert_eq!(plain("\u{c0ac}랑해"), plain("\u{1109}\u{1161}랑해"));
    }

    #[test]
    fn look_alikes_fold_together() {
        assert_eq!(folded("KiIngst"), folded("Ki1ngst"));
        assert_eq!(folded("G0dMango"), folded("GodMango"));
        assert_eq!(folded("Ellie"), folded("E11ie"));
        assert_eq!(folded("Warmaster"), folded("Warrnaster"));
        assert_ne!(folded("Faker5"), folded("Fakers"));
    }

    #[test]
    fn hangul_is_compared_letter_by_letter() {
        let ratio = |a: &str, b: &str| rapidfuzz::fuzz::ratio(folded(a).chars(), folded(b).chars()) * 100.0;
        assert!(ratio("헤 융", "헤 윰") >= 80.0, "{}", ratio("헤 융", "헤 윰"));
        assert!(
            ratio("헤 융", "헤 윰") > rapidfuzz::fuzz::ratio(plain("헤 융").chars(), plain("헤 윰").chars()) * 100.0
        );
    }
}
