//! Reads the League of Legends post-game scoreboard (issue "ocr/").
