//! Filters over events: the sysdig/Falco filter language compiled against the sinsp fields.
//!
//! Grammar (precedence from loosest to tightest: `or`, `and`, `not`):
//!
//! ```text
//! expr       := and_expr ("or" and_expr)*
//! and_expr   := unary ("and" unary)*
//! unary      := "not" unary | "(" expr ")" | comparison
//! comparison := FIELD "exists"
//!             | FIELD ("in" | "intersects" | "pmatch") "(" value ("," value)* ")"
//!             | FIELD OP value          OP: = == != < <= > >= contains icontains startswith endswith glob
//! ```
//!
//! A value is a quoted string (`"..."` or `'...'`, backslash escapes) or a bare word running to the next
//! blank or parenthesis, so `fd.name=/etc/passwd` and `evt.dir=<` need no quotes. Literals are parsed once,
//! against the field's type. A field without a value for the event (`<NA>` in output) makes every
//! comparison false, `!=` included, as in libsinsp; `exists` asks exactly that.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use crate::fields::{EventContext, Field, FieldType, FieldValue};

/// A filter error, pointing at the offending column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub column: usize,
    pub message: String,
    pub text: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "filter error at column {}: {}",
            self.column, self.message
        )?;
        writeln!(f, "  {}", self.text)?;
        write!(f, "  {}^", " ".repeat(self.column.saturating_sub(1)))
    }
}

impl std::error::Error for FilterError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    StartsWith,
    EndsWith,
    Glob,
}

/// A literal parsed for its field's type.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Int(i128),
    Str(String),
    Bool(bool),
    Ip(IpAddr),
}

#[derive(Debug, Clone)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Exists(Field),
    Compare {
        field: Field,
        op: Op,
        value: Literal,
    },
    In {
        field: Field,
        values: Vec<Literal>,
    },
    PMatch {
        field: Field,
        prefixes: Vec<String>,
    },
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub struct EventFilter {
    root: Node,
}

struct Parser<'t> {
    text: &'t str,
    chars: Vec<(usize, char)>,
    i: usize,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && c != '(' && c != ')' && c != ','
}

impl<'t> Parser<'t> {
    fn column(&self) -> usize {
        match self.chars.get(self.i) {
            Some(&(byte, _)) => self.text[..byte].chars().count() + 1,
            None => self.text.chars().count() + 1,
        }
    }

    fn error<T>(&self, column: usize, message: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError {
            column,
            message: message.into(),
            text: self.text.to_owned(),
        })
    }

    fn skip_blank(&mut self) {
        while self
            .chars
            .get(self.i)
            .is_some_and(|(_, c)| c.is_whitespace())
        {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_blank();
        self.chars.get(self.i).map(|&(_, c)| c)
    }

    /// The next bare word, without consuming it.
    fn peek_word(&mut self) -> Option<String> {
        self.skip_blank();
        let mut j = self.i;
        let mut word = String::new();
        while let Some(&(_, c)) = self.chars.get(j) {
            if !is_word_char(c) {
                break;
            }
            word.push(c);
            j += 1;
        }
        (!word.is_empty()).then_some(word)
    }

    fn take_word(&mut self) -> Option<String> {
        let word = self.peek_word()?;
        self.i += word.chars().count();
        Some(word)
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(kw)) {
            self.i += kw.chars().count();
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Node, FilterError> {
        let mut items = vec![self.and_expr()?];
        while self.keyword("or") {
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Node, FilterError> {
        let mut items = vec![self.unary()?];
        while self.keyword("and") {
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::And(items)
        })
    }

    fn unary(&mut self) -> Result<Node, FilterError> {
        if self.keyword("not") {
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        match self.peek() {
            Some('(') => {
                let open = self.column();
                self.i += 1;
                let inner = self.expr()?;
                if self.peek() != Some(')') {
                    let col = self.column();
                    return match self.peek() {
                        None => self.error(open, "this '(' is never closed"),
                        Some(_) => self.error(col, "expected 'and', 'or' or ')'"),
                    };
                }
                self.i += 1;
                Ok(inner)
            }
            Some(')') => self.error(self.column(), "unexpected ')'"),
            None => self.error(
                self.column(),
                "expected a condition, found the end of the filter",
            ),
            Some(_) => self.comparison(),
        }
    }

    /// A field name: a dotted word, optionally with `[arg]`; stops before an operator character.
    fn field(&mut self) -> Result<(Field, usize), FilterError> {
        self.skip_blank();
        let column = self.column();
        let mut name = String::new();
        while let Some(&(_, c)) = self.chars.get(self.i) {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                name.push(c);
                self.i += 1;
            } else if c == '[' {
                while let Some(&(_, c)) = self.chars.get(self.i) {
                    name.push(c);
                    self.i += 1;
                    if c == ']' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
        if name.is_empty() {
            return self.error(column, "expected a field name, e.g. proc.name");
        }
        match Field::resolve(&name, None) {
            Ok(f) => Ok((f, column)),
            Err(e) => self.error(column, e.0),
        }
    }

    fn operator(&mut self) -> Option<&'static str> {
        self.skip_blank();
        for sym in ["==", "!=", "<=", ">=", "=", "<", ">"] {
            let matches = sym
                .chars()
                .enumerate()
                .all(|(k, c)| self.chars.get(self.i + k).map(|&(_, x)| x) == Some(c));
            if matches {
                self.i += sym.len();
                return Some(sym);
            }
        }
        let word = self.peek_word()?;
        const WORDS: [&str; 10] = [
            "contains",
            "icontains",
            "startswith",
            "endswith",
            "glob",
            "in",
            "exists",
            "pmatch",
            "intersects",
            "bcontains",
        ];
        let found = WORDS.iter().find(|w| w.eq_ignore_ascii_case(&word))?;
        self.i += word.chars().count();
        Some(found)
    }

    /// A value: quoted, or a bare word. Returns its text and column.
    fn value(&mut self, after: &str) -> Result<(String, usize), FilterError> {
        self.skip_blank();
        let column = self.column();
        match self.chars.get(self.i).map(|&(_, c)| c) {
            Some(q @ ('"' | '\'')) => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    match self.chars.get(self.i).map(|&(_, c)| c) {
                        None => return self.error(column, "this string is never closed"),
                        Some(c) if c == q => {
                            self.i += 1;
                            return Ok((out, column));
                        }
                        Some('\\') => {
                            let escaped = self.chars.get(self.i + 1).map(|&(_, c)| c);
                            out.push(match escaped {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some(c) => c,
                                None => return self.error(column, "this string is never closed"),
                            });
                            self.i += 2;
                        }
                        Some(c) => {
                            out.push(c);
                            self.i += 1;
                        }
                    }
                }
            }
            _ => match self.take_word() {
                Some(w) => Ok((w, column)),
                None => self.error(column, format!("expected a value after '{after}'")),
            },
        }
    }

    fn literal(&self, field: &Field, text: &str, column: usize) -> Result<Literal, FilterError> {
        let bad = |what: &str| {
            self.error(
                column,
                format!("'{text}' is not {what}, which {} needs", field.name()),
            )
        };
        match field.field_type() {
            FieldType::Unsigned | FieldType::Signed => match text.parse::<i128>() {
                Ok(v) => Ok(Literal::Int(v)),
                Err(_) => bad("a number"),
            },
            FieldType::Bool => match text {
                "true" => Ok(Literal::Bool(true)),
                "false" => Ok(Literal::Bool(false)),
                _ => bad("true or false"),
            },
            FieldType::Ip => match text.parse::<IpAddr>() {
                Ok(ip) => Ok(Literal::Ip(ip)),
                Err(_) => bad("an IP address"),
            },
            FieldType::String => Ok(Literal::Str(text.to_owned())),
        }
    }

    fn list(&mut self, op: &str) -> Result<Vec<(String, usize)>, FilterError> {
        if self.peek() != Some('(') {
            return self.error(
                self.column(),
                format!("expected '(' and a list of values after '{op}'"),
            );
        }
        self.i += 1;
        let mut values = Vec::new();
        loop {
            if self.peek() == Some(')') {
                if values.is_empty() {
                    return self.error(self.column(), format!("the list after '{op}' is empty"));
                }
                self.i += 1;
                return Ok(values);
            }
            if !values.is_empty() {
                if self.peek() != Some(',') {
                    return self.error(self.column(), "expected ',' or ')' in the list");
                }
                self.i += 1;
            }
            values.push(self.value(op)?);
        }
    }

    fn comparison(&mut self) -> Result<Node, FilterError> {
        let (field, _) = self.field()?;
        let op_column = {
            self.skip_blank();
            self.column()
        };
        let Some(op) = self.operator() else {
            return match self.peek_word() {
                Some(w) => self.error(op_column, format!("'{w}' is not an operator (= != < <= > >= contains icontains startswith endswith glob in pmatch exists)")),
                None if self.peek().is_some() => self.error(op_column, "expected an operator"),
                None => self.error(op_column, format!("expected an operator after '{}'", field.name())),
            };
        };
        let ftype = field.field_type();
        let string_only = |p: &Self, what: &str| -> Result<(), FilterError> {
            if ftype == FieldType::String {
                Ok(())
            } else {
                p.error(
                    op_column,
                    format!(
                        "'{what}' compares text, but {} is not a text field",
                        field.name()
                    ),
                )
            }
        };
        let node = match op {
            "exists" => Node::Exists(field),
            "in" | "intersects" => {
                let values = self.list(op)?;
                let values = values
                    .iter()
                    .map(|(text, col)| self.literal(&field, text, *col))
                    .collect::<Result<Vec<_>, _>>()?;
                Node::In { field, values }
            }
            "pmatch" => {
                string_only(self, op)?;
                let prefixes = self.list(op)?.into_iter().map(|(t, _)| t).collect();
                Node::PMatch { field, prefixes }
            }
            _ => {
                let (text, column) = self.value(op)?;
                let op = match op {
                    "=" | "==" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    "contains" | "bcontains" => Op::Contains,
                    "icontains" => Op::IContains,
                    "startswith" => Op::StartsWith,
                    "endswith" => Op::EndsWith,
                    _ => Op::Glob,
                };
                if matches!(
                    op,
                    Op::Contains | Op::IContains | Op::StartsWith | Op::EndsWith | Op::Glob
                ) {
                    string_only(self, &format!("{op:?}").to_lowercase())?;
                }
                let value = match (op, self.literal(&field, &text, column)?) {
                    (Op::IContains, Literal::Str(s)) => Literal::Str(s.to_lowercase()),
                    (_, v) => v,
                };
                Node::Compare { field, op, value }
            }
        };
        Ok(node)
    }
}

/// Shell glob: `*` any run, `?` one character, `[...]` a class (with `!` or `^` to negate, and ranges).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`; returns (matched, index after `]`).
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() && (p[i] != ']' || first) {
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    (i < p.len()).then_some((matched != negate, i + 1))
}

fn compare_str(op: Op, value: &str, lit: &str) -> bool {
    match op {
        Op::Eq => value == lit,
        Op::Ne => value != lit,
        Op::Lt => value < lit,
        Op::Le => value <= lit,
        Op::Gt => value > lit,
        Op::Ge => value >= lit,
        Op::Contains => value.contains(lit),
        Op::IContains => value.to_lowercase().contains(lit),
        Op::StartsWith => value.starts_with(lit),
        Op::EndsWith => value.ends_with(lit),
        Op::Glob => glob_match(lit, value),
    }
}

fn compare_ord<T: PartialOrd>(op: Op, a: T, b: T) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        _ => false,
    }
}

fn matches_literal(value: &FieldValue<'_>, op: Op, lit: &Literal) -> bool {
    match (value, lit) {
        (FieldValue::Unsigned(v), Literal::Int(l)) => compare_ord(op, i128::from(*v), *l),
        (FieldValue::Signed(v), Literal::Int(l)) => compare_ord(op, i128::from(*v), *l),
        (FieldValue::Bool(v), Literal::Bool(l)) => compare_ord(op, v, l),
        (FieldValue::Ip(v), Literal::Ip(l)) => compare_ord(op, v, l),
        (FieldValue::Str(v), Literal::Str(l)) => compare_str(op, v, l),
        (v, Literal::Str(l)) => {
            let mut s = String::new();
            v.push_to(&mut s);
            compare_str(op, &s, l)
        }
        _ => false,
    }
}

impl EventFilter {
    /// Parses and checks a filter; errors point at the column at fault.
    pub fn compile(text: &str) -> Result<EventFilter, FilterError> {
        let mut parser = Parser {
            text,
            chars: text.char_indices().collect(),
            i: 0,
        };
        let root = parser.expr()?;
        if let Some(c) = parser.peek() {
            let column = parser.column();
            return match c {
                ')' => parser.error(column, "this ')' closes nothing"),
                _ => parser.error(column, "expected 'and' or 'or' between conditions"),
            };
        }
        Ok(EventFilter { root })
    }

    pub fn matches(&self, cx: &EventContext<'_, '_>) -> bool {
        eval(&self.root, cx)
    }
}

fn eval(node: &Node, cx: &EventContext<'_, '_>) -> bool {
    match node {
        Node::And(items) => items.iter().all(|n| eval(n, cx)),
        Node::Or(items) => items.iter().any(|n| eval(n, cx)),
        Node::Not(inner) => !eval(inner, cx),
        Node::Exists(field) => field.extract(cx).is_some(),
        Node::Compare { field, op, value } => field
            .extract(cx)
            .is_some_and(|v| matches_literal(&v, *op, value)),
        Node::In { field, values } => field
            .extract(cx)
            .is_some_and(|v| values.iter().any(|lit| matches_literal(&v, Op::Eq, lit))),
        Node::PMatch { field, prefixes } => field.extract(cx).is_some_and(|v| {
            let s: Cow<'_, str> = match &v {
                FieldValue::Str(s) => Cow::Borrowed(s.as_ref()),
                other => {
                    let mut s = String::new();
                    other.push_to(&mut s);
                    Cow::Owned(s)
                }
            };
            prefixes
                .iter()
                .any(|p| s == p.as_str() || s.starts_with(&format!("{}/", p.trim_end_matches('/'))))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> FilterError {
        EventFilter::compile(text).expect_err(text)
    }

    #[test]
    fn parses_the_language() {
        for ok in [
            "evt.type=openat",
            "evt.dir=<",
            "proc.name = cat and not evt.type in (open, openat)",
            "(proc.name=a or proc.name=b) and fd.name contains /etc",
            "fd.name startswith '/etc' or fd.name glob '/tmp/*.log'",
            "evt.num > 100 and evt.num <= 200",
            "proc.aname[2] exists",
            "evt.arg.fd = 3 or evt.arg[0] != 4",
            "fd.sip = 127.0.0.1",
            "evt.failed = true",
            "fd.name pmatch (/etc, /usr/lib)",
            "proc.name icontains CAT",
        ] {
            assert!(
                EventFilter::compile(ok).is_ok(),
                "{ok}: {:?}",
                EventFilter::compile(ok).err()
            );
        }
    }

    #[test]
    fn errors_point_at_the_column() {
        assert_eq!(err("(evt.type=open").column, 1);
        assert_eq!(err("evt.type=open and").column, 18);
        assert_eq!(err("proc.name contains").column, 19);
        assert_eq!(err("proc.nme=cat").column, 1);
        assert!(err("proc.nme=cat")
            .message
            .contains("did you mean proc.name?"));
        assert_eq!(err("proc.name like cat").column, 11);
        assert_eq!(err("evt.num > abc").column, 11);
        assert_eq!(err("proc.name = \"cat").column, 13);
        assert_eq!(err("evt.type in ()").column, 14);
        assert_eq!(err("evt.type=open)").column, 14);
        assert_eq!(err("proc.pid contains 3").column, 10);
        let shown = err("evt.type=open and").to_string();
        assert!(
            shown.ends_with("\n  evt.type=open and\n                   ^"),
            "{shown}"
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("/tmp/*.log", "/tmp/a.log"));
        assert!(!glob_match("/tmp/*.log", "/tmp/a.txt"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[!a-c]x", "bx"));
        assert!(glob_match("*", ""));
    }
}
