//! Device name patterns used by rules and receivers: `*` matches any run of characters
//! (`press-*`, `*-cpu`, `*`); everything else matches itself.

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return pattern == name;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*` at all: the whole name must be the pattern.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = rest.get(i + part.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether `name` matches any of `patterns`; an empty list matches every name.
pub fn any(patterns: &[String], name: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| matches(p, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_a_shell_would() {
        assert!(matches("press-cpu", "press-cpu"));
        assert!(!matches("press-cpu", "press-cpu2"));
        assert!(matches("press-*", "press-cpu"));
        assert!(matches("press-*", "press-"));
        assert!(!matches("press-*", "oven-cpu"));
        assert!(matches("*-cpu", "oven-cpu"));
        assert!(matches("*", "anything"));
        assert!(matches("a*b*c", "aXbYc"));
        assert!(matches("a*b*c", "abc"));
        assert!(!matches("a*b*c", "acb"));
        assert!(!matches("ab*ba", "aba"));
        assert!(any(&[], "x"));
        assert!(any(&["y".into(), "x*".into()], "xz"));
    }
}
