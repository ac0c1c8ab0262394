//! Redis's glob patterns (`stringmatchlen`): `*`, `?`, `[abc]`, `[^a-z]`,
//! and `\` to quote. Used by `KEYS`, `SCAN … MATCH`, `CONFIG GET` and
//! pub/sub patterns.
//!
//! Matching is iterative with one backtrack point per `*`, so a hostile
//! pattern such as `*a*a*a*a*b` costs time linear in pattern × key length,
//! never exponential.

/// Whether `text` matches `pattern`, case-sensitively (or not, with `nocase`).
pub fn glob_match(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    // Redis's loop runs only while both have bytes left, so an empty text
    // matches only an empty pattern (`*` does not match ""; KEYS and SCAN
    // special-case a lone `*` themselves).
    if text.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: pattern index after it, text index it covers up to.
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() && pattern[p] == b'*' {
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            resume = Some((p, t));
            continue;
        }
        if t == text.len() {
            // Redis skips trailing stars once the text is used up.
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
        } else if p < pattern.len() {
            if let Some(next) = match_one(pattern, p, text[t], nocase) {
                p = next;
                t += 1;
                continue;
            }
        }
        match resume {
            Some((rp, rt)) if rt < text.len() => {
                resume = Some((rp, rt + 1));
                p = rp;
                t = rt + 1;
            }
            _ => return false,
        }
    }
}

/// Matches one text byte against the pattern element at `p`; returns the
/// index after that element, or `None` on a mismatch.
fn match_one(pattern: &[u8], mut p: usize, c: u8, nocase: bool) -> Option<usize> {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    match pattern[p] {
        b'?' => Some(p + 1),
        b'[' => {
            p += 1;
            let negate = pattern.get(p) == Some(&b'^');
            if negate {
                p += 1;
            }
            let mut matched = false;
            loop {
                match pattern.get(p) {
                    None => {
                        // Unterminated class: Redis ends the pattern here.
                        break;
                    }
                    Some(b']') => {
                        p += 1;
                        break;
                    }
                    Some(b'\\') if p + 1 < pattern.len() => {
                        p += 1;
                        matched |= fold(pattern[p]) == fold(c);
                        p += 1;
                    }
                    Some(&start) if p + 2 < pattern.len() && pattern[p + 1] == b'-' => {
                        // Redis compares these as C `char`s, which are signed here.
                        let (mut lo, mut hi) = (fold(start) as i8, fold(pattern[p + 2]) as i8);
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        let ch = fold(c) as i8;
                        matched |= ch >= lo && ch <= hi;
                        p += 3;
                    }
                    Some(&b) => {
                        matched |= fold(b) == fold(c);
                        p += 1;
                    }
                }
            }
            (matched != negate).then_some(p)
        }
        b'\\' if p + 1 < pattern.len() => (fold(pattern[p + 1]) == fold(c)).then_some(p + 2),
        b => (fold(b) == fold(c)).then_some(p + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn glob_rules_match_redis() {
        let yes: &[(&str, &str)] = &[
            ("*", "anything"),
            ("h?llo", "hello"),
            ("h*llo", "heeeello"),
            ("h[ae]llo", "hallo"),
            ("h[^e]llo", "hallo"),
            ("h[a-b]llo", "hbllo"),
            ("h[b-a]llo", "hallo"),
            ("a\\*b", "a*b"),
            ("user:*:name", "user:42:name"),
            ("a*", "a"),
            ("a**", "a"),
        ];
        for (p, t) in yes {
            assert!(glob_match(p.as_bytes(), t.as_bytes(), false), "{p} ~ {t}");
        }
        let no: &[(&str, &str)] = &[
            ("h[^e]llo", "hello"),
            ("h?llo", "hllo"),
            ("a\\*b", "axb"),
            ("a?", "a"),
            ("", "a"),
            ("*", ""),
            ("**", ""),
            ("abc", "ab"),
        ];
        for (p, t) in no {
            assert!(!glob_match(p.as_bytes(), t.as_bytes(), false), "{p} !~ {t}");
        }
        assert!(glob_match(b"MAXMEM*", b"maxmemory", true));
    }

    #[test]
    fn hostile_pattern_finishes_quickly() {
        let text = vec![b'a'; 5000];
        assert!(!glob_match(b"*a*a*a*a*a*a*a*a*a*a*b", &text, false));
    }
}
