//! Output formats: sysdig's `-p` format strings, its default line, and `-j` JSON.

use std::fmt::Write as _;

use crate::fields::{EventContext, Field, FieldType, FieldValue, UnknownField};

/// sysdig's default line. The leading `*` prints events even when a field (e.g. `proc.name`) is missing.
pub const DEFAULT_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info";

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Field(Field),
}

/// A parsed `-p` format.
#[derive(Debug, Clone)]
pub struct Format {
    pieces: Vec<Piece>,
    /// Without a leading `*`, sysdig prints only events where every field has a value.
    print_partial: bool,
}

/// Why a format string is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("format error at column {column}: {message}")]
pub struct FormatError {
    pub column: usize,
    pub message: String,
}

fn is_field_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

impl Format {
    /// Parses a format like `%evt.num %proc.name %evt.arg.fd %evt.arg[0]`; `%%` is a literal `%`.
    pub fn parse(text: &str) -> Result<Format, FormatError> {
        let (print_partial, body, offset) = match text.strip_prefix('*') {
            Some(rest) => (true, rest, 1),
            None => (false, text, 0),
        };
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let chars: Vec<(usize, char)> = body.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            if c != '%' {
                literal.push(c);
                i += 1;
                continue;
            }
            if chars.get(i + 1).map(|&(_, c)| c) == Some('%') {
                literal.push('%');
                i += 2;
                continue;
            }
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && is_field_char(chars[end].1) {
                end += 1;
            }
            if end < chars.len() && chars[end].1 == '[' {
                match chars[end..].iter().position(|&(_, c)| c == ']') {
                    Some(close) => end += close + 1,
                    None => {
                        return Err(FormatError {
                            column: offset + at + 1,
                            message: "unclosed '[' in field".into(),
                        })
                    }
                }
            }
            // A field name never ends with a dot: `%proc.name.` is the field and a literal dot.
            while end > start && chars[end - 1].1 == '.' {
                end -= 1;
            }
            let name: String = chars[start..end].iter().map(|&(_, c)| c).collect();
            if name.is_empty() {
                return Err(FormatError {
                    column: offset + at + 1,
                    message: "'%' is not followed by a field name".into(),
                });
            }
            let field =
                Field::resolve(&name, None).map_err(|UnknownField(message)| FormatError {
                    column: offset + at + 2,
                    message,
                })?;
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Field(field));
            i = end;
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Format {
            pieces,
            print_partial,
        })
    }

    pub fn default_format() -> Format {
        match Format::parse(DEFAULT_FORMAT) {
            Ok(f) => f,
            Err(e) => unreachable!("the default format is valid: {e}"),
        }
    }

    /// Appends the event's line (without newline) to `out`. Returns false, leaving `out` as it was, when
    /// the format asks for complete events only and a field is missing.
    pub fn render_text(&self, out: &mut String, cx: &EventContext<'_, '_>) -> bool {
        let mark = out.len();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => {
                    if !f.write_text(out, cx) {
                        if self.print_partial {
                            out.push_str("<NA>");
                        } else {
                            out.truncate(mark);
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    /// Appends the event as one JSON object whose keys are the format's fields, sorted, as `sysdig -j`
    /// prints them (numbers stay numbers, missing values are null, times are nanoseconds).
    pub fn render_json(&self, out: &mut String, cx: &EventContext<'_, '_>) -> bool {
        let mut entries: Vec<(String, serde_json::Value)> = Vec::with_capacity(self.pieces.len());
        for piece in &self.pieces {
            let Piece::Field(f) = piece else { continue };
            let name = f.name();
            let value = if name == "evt.outputtime" || name == "evt.time" || name == "evt.datetime"
            {
                Some(serde_json::Value::from(cx.event.ts()))
            } else {
                f.extract(cx).map(|v| json_value(v, f.field_type()))
            };
            match value {
                Some(v) => entries.push((name, v)),
                None if self.print_partial => entries.push((name, serde_json::Value::Null)),
                None => return false,
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        out.push('{');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}:{}", serde_json::Value::from(k.as_str()), v);
        }
        out.push('}');
        true
    }
}

fn json_value(v: FieldValue<'_>, ftype: FieldType) -> serde_json::Value {
    match v {
        FieldValue::Unsigned(n) => n.into(),
        FieldValue::Signed(n) => n.into(),
        FieldValue::Bool(b) if ftype == FieldType::Bool => b.into(),
        FieldValue::Bool(b) => b.to_string().into(),
        FieldValue::Str(s) => s.into_owned().into(),
        FieldValue::Ip(ip) => ip.to_string().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_literals_and_partial_marker() {
        let f =
            Format::parse("*%evt.num (%thread.tid) %evt.arg.fd %evt.arg[1]%% x").expect("valid");
        assert!(f.print_partial);
        let names: Vec<String> = f
            .pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Field(f) => Some(f.name()),
                Piece::Text(_) => None,
            })
            .collect();
        assert_eq!(names, ["evt.num", "thread.tid", "evt.arg.fd", "evt.arg[1]"]);
        assert_eq!(f.pieces.last(), Some(&Piece::Text("% x".into())));
        let dotted = Format::parse("%proc.name.").expect("valid");
        assert_eq!(dotted.pieces.len(), 2);
    }

    #[test]
    fn errors_point_at_the_field() {
        let e = Format::parse("%evt.num %proc.nme").expect_err("typo");
        assert_eq!(e.column, 11);
        assert!(e.message.contains("did you mean proc.name?"), "{e}");
        let e = Format::parse("x % y").expect_err("lone percent");
        assert_eq!(e.column, 3);
    }
}
