//! A small element tree over quick-xml: StationXML files are small (kilobytes to a few
//! megabytes) and read once each, so a tree keeps the StationXML mapping readable.
//! Namespaces are dropped (local names only), which also accepts files without a default
//! namespace.

use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, Default, Clone)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Trimmed text of a child element, if present and non-empty.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|s| !s.is_empty())
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rfind(':') {
        Some(i) => s[i + 1..].to_string(),
        None => s.into_owned(),
    }
}

/// Parses a whole document; returns the root element.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        match reader.read_event() {
            Err(e) => {
                return Err(format!(
                    "XML error at byte {}: {e}",
                    reader.buffer_position()
                ))
            }
            Ok(Event::Eof) => break,
            Ok(Event::Start(s)) => {
                // The tree is built without recursion, but dropping it recurses once per
                // level: a hostile file of 40,000 nested elements overflowed the stack (and
                // no StationXML is more than a dozen levels deep).
                if stack.len() > crate::limits::XML_MAX_DEPTH {
                    return Err(format!(
                        "XML nested more than {} elements deep at byte {}; refused",
                        crate::limits::XML_MAX_DEPTH,
                        reader.buffer_position()
                    ));
                }
                stack.push(element(&s)?);
            }
            Ok(Event::Empty(s)) => {
                let e = element(&s)?;
                if let Some(top) = stack.last_mut() {
                    top.children.push(e);
                }
            }
            Ok(Event::End(_)) => {
                if stack.len() < 2 {
                    return Err("unbalanced end tag".into());
                }
                let done = stack.pop().unwrap_or_default();
                if let Some(top) = stack.last_mut() {
                    top.children.push(done);
                }
            }
            Ok(Event::Text(t)) => {
                let s = t.unescape().map_err(|e| format!("XML text error: {e}"))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(_) => {}
        }
    }
    if stack.len() != 1 {
        return Err("truncated XML: unclosed elements at end of file".into());
    }
    let doc = stack.pop().unwrap_or_default();
    doc.children
        .into_iter()
        .next()
        .ok_or_else(|| "empty XML document".to_string())
}

fn element(s: &quick_xml::events::BytesStart) -> Result<Element, String> {
    let mut e = Element {
        name: local(s.name().as_ref()),
        ..Default::default()
    };
    for a in s.attributes() {
        let a = a.map_err(|e| format!("XML attribute error: {e}"))?;
        let v = a
            .unescape_value()
            .map_err(|e| format!("XML attribute error: {e}"))?;
        e.attrs.push((local(a.key.as_ref()), v.into_owned()));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    /// 40,000 nested elements (a 326 KB file) aborted the run with a stack overflow.
    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let depth = 40_000;
        let doc = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let e = super::parse(&doc).unwrap_err();
        assert!(e.contains("nested more than"), "{e}");
        let ok = format!("{}{}", "<a>".repeat(60), "</a>".repeat(60));
        assert!(super::parse(&ok).is_ok());
    }
}
