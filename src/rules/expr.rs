//! The condition language of alarm rules.
