//! A name cell's text as a Riot ID. The scoreboard shows only game names; a `#tag` appears only
//! where a capture shows a hover, but OCR can also produce a stray `#`, so a tag is accepted only
//! when it looks like one.

/// What a name cell says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    pub game_name: String,
    pub tag_line: Option<String>,
}

/// Characters OCR puts at the edges of a crop (borders, icons) that no game name starts or
/// ends with.
const EDGE_JUNK: &[char] =
    &['|', '!', '\'', '"', '`', '.', ',', ':', ';', '-', '_', '~', '(', ')', '[', ']', '{', '}', '«', '»'];

/// Split `raw` into game name and tag. Spaces inside names are kept (`Riot Eav`); runs of
/// whitespace become one space; junk at the edges goes.
pub fn parse(raw: &str) -> ParsedName {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed.trim_matches(|c: char| c.is_whitespace() || EDGE_JUNK.contains(&c));
    if let Some((name, tag)) = trimmed.rsplit_once('#') {
        let name = name.trim();
        let tag = tag.trim();
        let tag_chars = tag.chars().count();
        if !name.is_empty() && (2..=5).contains(&tag_chars) && tag.chars().all(char::is_alphanumeric) {
            return ParsedName { game_name: name.to_owned(), tag_line: Some(tag.to_owned()) };
        }
        // A '#' without a plausible tag after it is OCR noise: keep what came before it.
        if !name.is_empty() {
            return ParsedName { game_name: name.to_owned(), tag_line: None };
        }
    }
    ParsedName { game_name: trimmed.to_owned(), tag_line: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(game_name: &str, tag: Option<&str>) -> ParsedName {
        ParsedName { game_name: game_name.to_owned(), tag_line: tag.map(str::to_owned) }
    }

    #[test]
    fn name_and_tag() {
        assert_eq!(parse("Faker#KR1"), name("Faker", Some("KR1")));
        assert_eq!(parse("사랑해#한국"), name("사랑해", Some("한국")));
        assert_eq!(parse("Hide on bush #KR1"), name("Hide on bush", Some("KR1")));
    }

    #[test]
    fn names_keep_inner_spaces_and_lose_edge_junk() {
        assert_eq!(parse("  Riot   Eav "), name("Riot Eav", None));
        assert_eq!(parse("|The Grand Gamer."), name("The Grand Gamer", None));
        assert_eq!(parse("GoldChovyCarlos"), name("GoldChovyCarlos", None));
    }

    #[test]
    fn implausible_tags_are_dropped() {
        assert_eq!(parse("Faker#"), name("Faker", None));
        assert_eq!(parse("Faker#KOREA1"), name("Faker", None));
        assert_eq!(parse("Faker#K"), name("Faker", None));
        assert_eq!(parse("#KR1"), name("#KR1", None));
    }
}
