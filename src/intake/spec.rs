//! What an installed component spec tells Osiris: its `name` (Osiris 0.5.7's
//! `ComponentRegistry` files a spec under the name inside it, not under its folder, so a spec
//! placed at `components/shop.extractor/` that says `name: mysql.extractor` would replace
//! the built-in MySQL extractor) and its `x-runtime.driver` (the class Osiris imports).
//!
//! Install reads both with a bounded scan over the YAML parser's events: nesting deeper than
//! [`MAX_DEPTH`] (the YAML loader's limit, so install and `ocp check` agree on what is too
//! deep) is refused, no tree is built, and nothing recurses, so a hostile spec cannot exhaust
//! the stack or the memory. Values that PyYAML would read differently from a plain
//! reading (aliases, merge keys, tags, a repeated key) are refused where they touch the two
//! fields.

use saphyr_parser::{Event, Parser};

use crate::package::yaml::MAX_DEPTH;

/// The two fields of a spec that install compares with the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpecFacts {
    pub name: Option<String>,
    pub driver: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Root,
    Runtime,
    Other,
}

/// One open mapping or sequence.
struct Frame {
    kind: Kind,
    is_mapping: bool,
    expect_key: bool,
    key: Option<String>,
    seen: Vec<String>,
}

/// What the value being read stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Name,
    Runtime,
    Driver,
    Other,
}

/// Reads `name` and `x-runtime.driver` from a spec's text.
pub fn scan(text: &str) -> Result<SpecFacts, String> {
    let mut facts = SpecFacts::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut documents = 0;
    let mut root_seen = false;
    for event in Parser::new_from_str(text) {
        let (event, _) = event.map_err(|error| format!("is not valid YAML: {error}"))?;
        let role = role(&stack);
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err("holds more than one YAML document".to_owned());
                }
            }
            Event::MappingStart(_, ref tag) | Event::SequenceStart(_, ref tag) => {
                let is_mapping = matches!(event, Event::MappingStart(..));
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("nests deeper than {MAX_DEPTH} levels"));
                }
                let kind = match (stack.is_empty(), role) {
                    (true, _) if root_seen => Kind::Other,
                    (true, _) if is_mapping && tag.is_none() => Kind::Root,
                    (true, _) => return Err("is not a mapping".to_owned()),
                    (false, Role::Runtime) if is_mapping && tag.is_none() => Kind::Runtime,
                    (false, Role::Name | Role::Driver | Role::Runtime) => {
                        return Err(format!(
                            "has a {} that is not a plain string",
                            describe(role)
                        ));
                    }
                    (false, _) => Kind::Other,
                };
                root_seen = true;
                stack.push(Frame {
                    kind,
                    is_mapping,
                    expect_key: true,
                    key: None,
                    seen: Vec::new(),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                advance(&mut stack, None)?;
            }
            Event::Scalar(value, _, _, tag) => {
                if stack.is_empty() {
                    return Err("is not a mapping".to_owned());
                }
                let slot = match role {
                    Role::Name => Some(&mut facts.name),
                    Role::Driver => Some(&mut facts.driver),
                    Role::Runtime | Role::Other => None,
                };
                if let Some(slot) = slot {
                    if tag.is_some() {
                        return Err(format!("has a {} with a YAML tag", describe(role)));
                    }
                    *slot = Some(value.to_string());
                }
                advance(&mut stack, Some(value.as_ref()))?;
            }
            Event::Alias(_) => {
                if role != Role::Other {
                    return Err(format!(
                        "has a {} that is a YAML alias; write the value out",
                        describe(role)
                    ));
                }
                advance(&mut stack, None)?;
            }
            _ => {}
        }
    }
    Ok(facts)
}

fn describe(role: Role) -> &'static str {
    match role {
        Role::Name => "`name`",
        Role::Driver => "`x-runtime.driver`",
        Role::Runtime => "`x-runtime`",
        Role::Other => "value",
    }
}

/// What the next value in the innermost mapping stands for.
fn role(stack: &[Frame]) -> Role {
    let Some(frame) = stack.last() else {
        return Role::Other;
    };
    if !frame.is_mapping || frame.expect_key {
        return Role::Other;
    }
    match (frame.kind, frame.key.as_deref()) {
        (Kind::Root, Some("name")) => Role::Name,
        (Kind::Root, Some("x-runtime")) => Role::Runtime,
        (Kind::Runtime, Some("driver")) => Role::Driver,
        _ => Role::Other,
    }
}

/// A value (or key) was read in the innermost mapping: a key is remembered, a value makes
/// the mapping expect a key again.
fn advance(stack: &mut [Frame], scalar: Option<&str>) -> Result<(), String> {
    let Some(frame) = stack.last_mut() else {
        return Ok(());
    };
    if !frame.is_mapping {
        return Ok(());
    }
    if !frame.expect_key {
        frame.expect_key = true;
        frame.key = None;
        return Ok(());
    }
    frame.expect_key = false;
    frame.key = scalar.map(str::to_owned);
    if frame.kind != Kind::Other
        && let Some(key) = scalar
    {
        if key == "<<" {
            return Err(
                "uses a YAML merge key (`<<`) at the top level or in `x-runtime`".to_owned(),
            );
        }
        let watched = matches!(
            (frame.kind, key),
            (Kind::Root, "name" | "x-runtime") | (Kind::Runtime, "driver")
        );
        if watched {
            if frame.seen.iter().any(|seen| seen == key) {
                return Err(format!("has the key `{key}` twice"));
            }
            frame.seen.push(key.to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_and_driver() {
        let text = "name: shop.extractor\nversion: 1.0.0\nx-runtime:\n  driver: shop_osiris.driver.Driver\n  requirements:\n    imports: [pandas]\nconfigSchema:\n  type: object\n  properties: {name: {type: string}}\n";
        assert_eq!(
            scan(text).expect("scan"),
            SpecFacts {
                name: Some("shop.extractor".into()),
                driver: Some("shop_osiris.driver.Driver".into()),
            }
        );
        let flow = "{name: 'a.b', x-runtime: {driver: \"a_osiris.d.D\"}}";
        assert_eq!(
            scan(flow).expect("scan").driver.as_deref(),
            Some("a_osiris.d.D")
        );
        assert_eq!(scan("name: a.b\n").expect("scan").driver, None);
    }

    #[test]
    fn refuses_what_pyyaml_reads_otherwise() {
        for (text, expected) in [
            ("name: a.b\nname: c.d\n", "twice"),
            ("base: &b x.y\nname: *b\n", "alias"),
            ("x-runtime:\n  <<: {driver: os.system}\n", "merge key"),
            ("name: !!str a.b\n", "tag"),
            ("name: [a]\n", "not a plain string"),
            ("- a\n", "not a mapping"),
            ("name: a.b\n---\nname: c.d\n", "more than one"),
            ("name: 'unclosed\n", "not valid YAML"),
        ] {
            let error = scan(text).expect_err(text);
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn deep_nesting_stops_early() {
        let deep = format!("a: {}{}\n", "[".repeat(20_000), "]".repeat(20_000));
        // The parser's own limit on flow nesting may speak first; either way it stops.
        let error = scan(&deep).expect_err("deep");
        assert!(
            error.contains("deeper than") || error.contains("recursion limit"),
            "{error}"
        );
        let mut block = String::new();
        for level in 0..200 {
            block.push_str(&" ".repeat(level));
            block.push_str("a:\n");
        }
        assert!(scan(&block).expect_err("deep").contains("deeper than"));
        let dashes = format!("a: \n  {}x\n", "- ".repeat(20_000));
        assert!(scan(&dashes).is_err());
    }

    #[test]
    fn install_and_the_yaml_loader_draw_the_line_at_the_same_depth() {
        // The root mapping is the first level; `a:` opens one more below it each time.
        let nested = |levels: usize| {
            let mut text = String::from("name: a.b\n");
            for level in 0..levels - 1 {
                text.push_str(&" ".repeat(level * 2));
                text.push_str("a:\n");
            }
            text.push_str(&" ".repeat((levels - 1) * 2));
            text.push_str("leaf: 1\n");
            text
        };
        let deepest = nested(MAX_DEPTH);
        assert!(scan(&deepest).is_ok());
        assert!(crate::package::yaml::load(&deepest).is_ok());
        let too_deep = nested(MAX_DEPTH + 1);
        assert!(
            scan(&too_deep)
                .expect_err("too deep")
                .contains(&format!("deeper than {MAX_DEPTH}"))
        );
        assert!(matches!(
            crate::package::yaml::load(&too_deep),
            Err(crate::package::yaml::YamlError::TooDeep { .. })
        ));
    }
}
