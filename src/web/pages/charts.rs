//! Server-side SVG charts for the pages: pure functions from data to markup.
