//! Number rewrite rules as in Yeti-switch: a regular expression and a
//! replacement in which `\1`..`\9` stand for capture groups (`\0` for the
//! whole match). Like PostgreSQL's `regexp_replace`, the first match is
//! replaced and a number the rule does not match passes unchanged.

use regex::Regex;

/// Upper bound on a rule's compiled size: rules come from customers too.
const SIZE_LIMIT: usize = 1 << 16;

/// A rule that is known to compile.
#[derive(Debug, Clone)]
pub struct RewriteRule {
    re: Regex,
    result: String,
}

impl RewriteRule {
    /// Compiles `rule`; `result` is checked for group references the rule
    /// does not have.
    pub fn parse(rule: &str, result: &str) -> Result<Self, String> {
        let re = compile(rule)?;
        let groups = re.captures_len() - 1;
        if let Some(n) = refs(result).find(|&n| n > groups) {
            return Err(format!("refers to group \\{n} but the rule has {groups} group(s)"));
        }
        Ok(RewriteRule { re, result: result.to_owned() })
    }

    /// Applies the rule to a number.
    pub fn apply(&self, number: &str) -> String {
        let Some(caps) = self.re.captures(number) else {
            return number.to_owned();
        };
        let whole = caps.get(0).expect("group 0 always exists");
        let mut out = String::with_capacity(number.len() + self.result.len());
        out.push_str(&number[..whole.start()]);
        expand(&self.result, |n| caps.get(n).map_or("", |m| m.as_str()), &mut out);
        out.push_str(&number[whole.end()..]);
        out
    }
}

/// Checks that a rule compiles, with a message fit for an operator.
pub fn compile(rule: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(rule).size_limit(SIZE_LIMIT).dfa_size_limit(SIZE_LIMIT * 4).build().map_err(|e| match e {
        regex::Error::Syntax(s) => format!("is not a valid regular expression: {}", s.lines().last().unwrap_or("syntax error").trim()),
        regex::Error::CompiledTooBig(_) => "is too complex".to_owned(),
        _ => "is not a valid regular expression".to_owned(),
    })
}

fn refs(result: &str) -> impl Iterator<Item = usize> {
    let mut found = Vec::new();
    expand(
        result,
        |n| {
            found.push(n);
            ""
        },
        &mut String::new(),
    );
    found.into_iter()
}

/// Walks a replacement: literal text goes to `out`, each `\N` is handed to
/// `group`. `\\` is a literal backslash; a lone one stays as is.
fn expand<'a>(result: &str, mut group: impl FnMut(usize) -> &'a str, out: &mut String) {
    let mut chars = result.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().and_then(|d| d.to_digit(10)) {
            Some(n) => {
                chars.next();
                out.push_str(group(n as usize));
            }
            None => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                out.push('\\');
            }
        }
    }
}

/// Applies an optional rule (None or empty rule: no change).
pub fn apply_opt(rule: Option<&RewriteRule>, number: &str) -> String {
    rule.map_or_else(|| number.to_owned(), |r| r.apply(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yeti_style_rewrites() {
        let r = RewriteRule::parse("^00(\\d+)$", "\\1").unwrap();
        assert_eq!(r.apply("004412345"), "4412345");
        assert_eq!(r.apply("4412345"), "4412345");
        let r = RewriteRule::parse("^0(\\d{9})$", "44\\1").unwrap();
        assert_eq!(r.apply("0123456789"), "44123456789");
        let r = RewriteRule::parse("^(\\d)(\\d)", "\\2\\1x").unwrap();
        assert_eq!(r.apply("1234"), "21x34");
    }

    #[test]
    fn refuses_bad_rules() {
        assert!(RewriteRule::parse("^(", "").is_err());
        assert!(RewriteRule::parse("^(\\d+)$", "\\2").is_err());
        assert!(compile("a{100000}{100000}").is_err());
    }

    #[test]
    fn never_panics_on_odd_results() {
        let r = RewriteRule::parse("(1)", "\\\\\\1\\").unwrap();
        assert_eq!(r.apply("1"), "\\1\\");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn identity_rule_changes_nothing(n in "[0-9]{0,20}") {
                let r = RewriteRule::parse("^(.*)$", "\\1").unwrap();
                prop_assert_eq!(r.apply(&n), n);
            }

            #[test]
            fn a_rule_that_does_not_match_changes_nothing(n in "[0-9]{0,20}", result in "[0-9a-z\\\\]{0,8}") {
                let r = RewriteRule::parse("^x(\\d*)$", &result.replace(|c: char| c.is_ascii_digit(), "")).unwrap();
                prop_assert_eq!(r.apply(&n), n);
            }

            #[test]
            fn prefix_strip_removes_exactly_the_prefix(rest in "[0-9]{0,20}") {
                let r = RewriteRule::parse("^00(\\d*)$", "\\1").unwrap();
                prop_assert_eq!(r.apply(&format!("00{rest}")), rest.clone());
                // Without the prefix the number passes unchanged.
                let n = format!("1{rest}");
                prop_assert_eq!(r.apply(&n), n);
            }

            #[test]
            fn prefix_add_prepends(n in "[1-9][0-9]{0,15}", cc in "[1-9][0-9]{0,2}") {
                let r = RewriteRule::parse("^0?(\\d+)$", &format!("{cc}\\1")).unwrap();
                prop_assert_eq!(r.apply(&format!("0{n}")), format!("{cc}{n}"));
            }

            #[test]
            fn unanchored_rules_replace_only_the_first_match(a in "[0-9]{0,6}", b in "[0-9]{0,6}") {
                let r = RewriteRule::parse("x", "y").unwrap();
                prop_assert_eq!(r.apply(&format!("{a}x{b}x")), format!("{a}y{b}x"));
            }

            #[test]
            fn apply_never_panics(rule in "[\\^$()0-9d\\\\.*+?|\\[\\]{},-]{0,12}", result in "[0-9a-z\\\\+]{0,12}", n in "\\PC{0,24}") {
                // Whatever parse accepts, apply must take any number.
                if let Ok(r) = RewriteRule::parse(&rule, &result) {
                    let _ = r.apply(&n);
                }
            }

            #[test]
            fn results_without_references_are_literal(n in "[0-9]{1,20}", lit in "[0-9a-z+*#]{0,10}") {
                let r = RewriteRule::parse("^.*$", &lit).unwrap();
                prop_assert_eq!(r.apply(&n), lit);
            }
        }
    }
}
