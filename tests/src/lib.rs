//! See `tests/tests/`.
