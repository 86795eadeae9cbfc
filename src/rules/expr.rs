//! The condition language of alarm rules: `temperature > 90 && !offline()`.
//!
//! A condition is compiled once per device when the config is loaded ([`compile`]), so a
//! misspelt tag, a function the device cannot answer or a type mistake is reported with its
//! byte span in the condition, and evaluating ([`Expr::eval`]) cannot fail.
//!
//! Grammar, lowest precedence first:
//!
//! ```text
//! or      := and (("||" | "or") and)*
//! and     := not (("&&" | "and") not)*
//! not     := ("!" | "not") not | compare
//! compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum | "in" sum ".." sum)?
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/") unary)*
//! unary   := "-" unary | primary
//! primary := number | string | "true" | "false" | tag | name "(" args ")" | "(" or ")"
//! ```
//!
//! Numbers are decimal (`90`, `0.5`, `1e3`) or hex (`0x39C4`). Strings are in `"..."` or
//! `'...'` (the latter reads better inside a TOML basic string), with `\"`, `\'` and `\\`.
//! A tag is written by name (`temperature`) or, for names that are not identifiers, as
//! `tag("Motor 1 temp")`. Comparisons do not chain; `x in lo..hi` includes both ends.
//!
//! Types are checked at compile time: numbers, true/false, and text. Tags are numbers; where
//! true/false is expected, a number is true when it is not zero (so a coil tag reads as a
//! condition). `==`/`!=` compare like with like (a number with true/false by that rule) and
//! text case-insensitively; `<` and friends compare numbers only. A whole condition is
//! true/false or a number, never text.
//!
//! Evaluation is three-valued ([`Truth`]): a tag without a good current value, or a device
//! fact not known (see `facts`), is unknown; `false && unknown` is false, `true || unknown`
//! is true, and otherwise unknown propagates. So do a division by zero and any result that is
//! not a finite number.
//!
//! Functions (argument counts, literal arguments and names are checked at compile time):
//!
//! - `tag("name")`, `rate(tag)` (change per second between the last two good readings, while
//!   the latest is good), `bad(tag)`, `stale(tag)`; `abs(x)`, `min(a, b)`, `max(a, b)`.
//! - `health()` (`online`, `offline`, `demoted`, `unknown`), `online()`, `offline()` (offline
//!   or demoted), `demoted()`; the last three are unknown before the first poll.
//! - s7 and melsec: `cpu_mode()`, the text the adapter publishes (`RUN`, `STOP`,
//!   `STOP (update)`, `STEP-RUN` ...); comparing it with a text no adapter publishes is an error.
//! - Devices with diagnostic events (s7 with `diagnostics`, melsec): `event(id)`,
//!   `event(lo, hi)`, `event_class(c)` are true only for the observation that brought a
//!   matching entering (or undirected) event; `event_active(id)`, `event_active(lo, hi)`,
//!   `event_active_class(c)` from an entering event until its leaving one. S7 IDs are compared
//!   with bit 8 (entering/leaving) cleared. MELSEC IDs are matched in every class: class 1 is
//!   a CPU error (ID = error code), class 2 a CC-Link station (ID = station number).
//! - melsec: `cpu_error()` (current error code, 0 for none), `cpu_error(code)`.
//! - melsec with CC-Link: `station_down(n)` (on any network), `station_down("network", n)`,
//!   `station_down("station name")`, `stations_down()`, `stations_down("network")`,
//!   `link_scan_ms()` (the longest current one), `link_scan_ms("network")`.
//!
//! Deadband: each `>`, `>=`, `<`, `<=` and `in` keeps its last outcome in a [`Memo`]; while that
//! was true, its limit is relaxed by the rule's deadband (`x > L` stays true until
//! `x <= L - db`, `x < L` until `x >= L + db`, `x in lo..hi` until x leaves
//! `lo - db..hi + db`). `==` and `!=` have none.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::ops::Range;

use plcdiag_melsec::RunState;
use plcdiag_s7::CpuMode;
use serde::Serialize;
use serde_json::Value as Json;

use super::facts::{DeviceFacts, EventFact, Family};
use crate::config::{DeviceConfig, DeviceKind};
use crate::model::{HealthState, Quality};

/// Deepest nesting of a condition, so parsing, checking and evaluating cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// What a condition is compiled against: the device whose tags, kind and networks it names.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The device (tags, kind, CC-Link masters).
    pub device: &'a DeviceConfig,
}

/// A mistake in a condition, with where it is, so the config error can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// Byte range in the condition's source.
    pub span: Range<usize>,
    /// What is wrong; for an unknown name, the closest known one.
    pub message: String,
}

fn fail<T>(span: Range<usize>, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError {
        span,
        message: message.into(),
    })
}

/// The outcome of a condition: the caller keeps its previous state on `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Something it needs is not known (bad or missing value, device offline ...).
    Unknown,
}

impl Truth {
    /// `Some(bool)` when known.
    pub fn known(self) -> Option<bool> {
        match self {
            Self::True => Some(true),
            Self::False => Some(false),
            Self::Unknown => None,
        }
    }
}

/// The memory of one evaluation site (rule x device): last outcome of each deadband node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memo {
    last: Vec<Option<bool>>,
}

impl Memo {
    /// Memory for an alarm that was active before a restart: every limit counts as having
    /// been true, so the deadband holds the alarm until the values are past it rather than
    /// clearing it at the first evaluation (conservative: never clears early).
    pub fn assume_active(&mut self) {
        for s in &mut self.last {
            *s = Some(true);
        }
    }

    fn get(&self, slot: usize) -> bool {
        self.last.get(slot).copied().flatten() == Some(true)
    }

    fn set(&mut self, slot: usize, outcome: bool) {
        if self.last.len() <= slot {
            self.last.resize(slot + 1, None);
        }
        if let Some(s) = self.last.get_mut(slot) {
            *s = Some(outcome);
        }
    }
}

/// A leaf of a condition with its current value, for messages and for telling which operand
/// made a condition fail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operand {
    /// The leaf's source text, e.g. `temperature` or `station_down(4)`.
    pub name: String,
    /// Its current value: number, true/false, text, or null when unknown.
    pub value: Json,
    /// A human detail: the event's text, the station and its cause, why a value is unknown.
    pub text: Option<String>,
}

/// A compiled condition: checked against one device, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    root: Node,
    slots: usize,
    tags: Vec<usize>,
    uses_health: bool,
    uses_pulses: bool,
}

impl Expr {
    /// Fresh memory for one evaluation site: no deadband node has been true yet.
    pub fn memo(&self) -> Memo {
        Memo {
            last: vec![None; self.slots],
        }
    }

    /// Evaluates the condition over `facts`; `deadband` relaxes the limits of comparisons that
    /// were true last time (a negative or non-finite deadband counts as 0).
    pub fn eval(&self, facts: &DeviceFacts, memo: &mut Memo, deadband: f64) -> Truth {
        let db = if deadband.is_finite() && deadband > 0.0 {
            deadband
        } else {
            0.0
        };
        match truth(eval(&self.root, facts, memo, db)) {
            Some(true) => Truth::True,
            Some(false) => Truth::False,
            None => Truth::Unknown,
        }
    }

    /// The leaf operands with their current values, in source order, each name once.
    pub fn explain(&self, facts: &DeviceFacts) -> Vec<Operand> {
        let mut leaves = Vec::new();
        collect_leaves(&self.root, &mut leaves);
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (fact, span) in leaves {
            let name = self.source.get(span.clone()).unwrap_or_default().to_owned();
            if seen.insert(name.clone()) {
                out.push(operand(name, fact, facts));
            }
        }
        out
    }

    /// The condition as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Indexes of the tags it reads, in the device's tag list, ascending.
    pub fn tags(&self) -> &[usize] {
        &self.tags
    }

    /// Whether `health()`, `online()`, `offline()` or `demoted()` appear: such a rule must not
    /// be suppressed while its device is offline.
    pub fn uses_health(&self) -> bool {
        self.uses_health
    }

    /// Whether `event()` or `event_class()` appear: the condition is true only for an instant.
    pub fn uses_pulses(&self) -> bool {
        self.uses_pulses
    }
}

/// Compiles `source` for the device in `scope`, checking names, arities and types.
pub fn compile(source: &str, scope: &Scope<'_>) -> Result<Expr, ExprError> {
    let tokens = lex(source)?;
    let ast = Parser::new(source, tokens).parse()?;
    let mut ck = Checker {
        device: scope.device,
        family: Family::of(scope.device),
        slots: 0,
        tags: Vec::new(),
        uses_health: false,
        uses_pulses: false,
    };
    let (root, ty) = ck.check(&ast)?;
    if ty == Ty::Text {
        return fail(
            ast.span.clone(),
            format!(
                "a condition must be true/false or a number, but `{}` is text; compare it with `==` or `!=`",
                slice(source, &ast.span)
            ),
        );
    }
    ck.tags.sort_unstable();
    ck.tags.dedup();
    Ok(Expr {
        source: source.to_owned(),
        root,
        slots: ck.slots,
        tags: ck.tags,
        uses_health: ck.uses_health,
        uses_pulses: ck.uses_pulses,
    })
}

fn slice<'s>(src: &'s str, span: &Range<usize>) -> &'s str {
    src.get(span.clone()).unwrap_or_default()
}

/// The candidate closest to `name` (case-insensitive edit distance), if close enough to be a
/// likely misspelling.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let name_l = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&name_l, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = i;
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let up = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            let cost = diag + usize::from(ca != *cb);
            diag = up;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = cost.min(up.saturating_add(1)).min(left.saturating_add(1));
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident,
    LParen,
    RParen,
    Comma,
    OrOr,
    AndAnd,
    Bang,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    Plus,
    Minus,
    Star,
    Slash,
    DotDot,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Range<usize>,
}

fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = src.get(i..).and_then(|r| r.chars().next()) {
        let rest = src.get(i..).unwrap_or_default();
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let (tok, len) = if c.is_ascii_digit() {
            number(rest, i)?
        } else if c == '"' || c == '\'' {
            string(rest, i, c)?
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (Tok::Ident, len)
        } else {
            let two = rest.get(..2).unwrap_or_default();
            match two {
                "||" => (Tok::OrOr, 2),
                "&&" => (Tok::AndAnd, 2),
                "!=" => (Tok::Ne, 2),
                "<=" => (Tok::Le, 2),
                ">=" => (Tok::Ge, 2),
                "==" => (Tok::EqEq, 2),
                ".." => (Tok::DotDot, 2),
                _ => match c {
                    '(' => (Tok::LParen, 1),
                    ')' => (Tok::RParen, 1),
                    ',' => (Tok::Comma, 1),
                    '!' => (Tok::Bang, 1),
                    '<' => (Tok::Lt, 1),
                    '>' => (Tok::Gt, 1),
                    '+' => (Tok::Plus, 1),
                    '-' => (Tok::Minus, 1),
                    '*' => (Tok::Star, 1),
                    '/' => (Tok::Slash, 1),
                    '=' => return fail(i..i + 1, "`=` is not a comparison: write `==`"),
                    '&' => return fail(i..i + 1, "write `&&` (or `and`) for \"and\""),
                    '|' => return fail(i..i + 1, "write `||` (or `or`) for \"or\""),
                    '.' => {
                        return fail(
                            i..i + 1,
                            "unexpected `.`: write decimals with a leading digit (`0.5`) and ranges as `lo..hi`",
                        );
                    }
                    _ => {
                        return fail(i..i + c.len_utf8(), format!("unexpected character `{c}`"));
                    }
                },
            }
        };
        out.push(Token {
            tok,
            span: i..i + len,
        });
        i += len;
    }
    Ok(out)
}

/// A number at the start of `rest` (which starts with a digit), at byte `at` of the source.
fn number(rest: &str, at: usize) -> Result<(Tok, usize), ExprError> {
    let digits = |s: &str, hex: bool| {
        s.find(|c: char| !(c.is_ascii_digit() || (hex && c.is_ascii_hexdigit())))
            .unwrap_or(s.len())
    };
    if let Some(hex) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
        let n = digits(hex, true);
        let text = hex.get(..n).unwrap_or_default();
        if text.is_empty() {
            return fail(at..at + 2, "`0x` needs hex digits after it, e.g. `0x39C4`");
        }
        return match u64::from_str_radix(text, 16) {
            Ok(v) => Ok((Tok::Num(v as f64), 2 + n)),
            Err(_) => fail(at..at + 2 + n, "number too large"),
        };
    }
    let mut len = digits(rest, false);
    let after = |len: usize| rest.get(len..).unwrap_or_default();
    if let Some(frac) = after(len).strip_prefix('.')
        && frac.starts_with(|c: char| c.is_ascii_digit())
    {
        len += 1 + digits(frac, false);
    }
    if let Some(exp) = after(len)
        .strip_prefix('e')
        .or_else(|| after(len).strip_prefix('E'))
    {
        let sign = usize::from(exp.starts_with(['+', '-']));
        let exp_digits = digits(exp.get(sign..).unwrap_or_default(), false);
        if exp_digits > 0 {
            len += 1 + sign + exp_digits;
        }
    }
    let text = rest.get(..len).unwrap_or_default();
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((Tok::Num(v), len)),
        _ => fail(at..at + len, "number too large"),
    }
}

/// A string at the start of `rest` (which starts with `quote`), at byte `at` of the source.
fn string(rest: &str, at: usize, quote: char) -> Result<(Tok, usize), ExprError> {
    let mut value = String::new();
    let mut chars = rest.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((Tok::Str(value), i + 1));
        }
        if c == '\\' {
            match chars.next() {
                Some((_, e @ ('"' | '\'' | '\\'))) => value.push(e),
                Some((j, e)) => {
                    return fail(
                        at + i..at + j + e.len_utf8(),
                        format!("unknown escape `\\{e}`: only \\\", \\' and \\\\ are escapes"),
                    );
                }
                None => break,
            }
        } else {
            value.push(c);
        }
    }
    fail(
        at..at + rest.len(),
        format!("unterminated string: add the closing `{quote}`"),
    )
}

// ---------------------------------------------------------------------------------------------
// Parser

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Or,
    And,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            Self::Or => "||",
            Self::And => "&&",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
        }
    }
}

#[derive(Debug)]
struct Ast {
    kind: AstKind,
    span: Range<usize>,
    depth: usize,
}

#[derive(Debug)]
enum AstKind {
    Num(f64),
    Str(String),
    Bool(bool),
    Ident(String),
    Call {
        name: String,
        name_span: Range<usize>,
        args: Vec<Ast>,
    },
    Not(Box<Ast>),
    Neg(Box<Ast>),
    Bin(BinOp, Box<Ast>, Box<Ast>),
    In(Box<Ast>, Box<Ast>, Box<Ast>),
}

fn node(kind: AstKind, span: Range<usize>, children: &[&Ast]) -> Result<Ast, ExprError> {
    let depth = 1 + children.iter().map(|c| c.depth).max().unwrap_or(0);
    if depth > MAX_DEPTH {
        return fail(
            span,
            format!("the condition is nested more than {MAX_DEPTH} levels deep; split it up"),
        );
    }
    Ok(Ast { kind, span, depth })
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    pos: usize,
    eof: Token,
    nesting: usize,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str, tokens: Vec<Token>) -> Self {
        let end = src.len();
        Self {
            src,
            tokens,
            pos: 0,
            eof: Token {
                tok: Tok::Eof,
                span: end..end,
            },
            nesting: 0,
        }
    }

    fn parse(mut self) -> Result<Ast, ExprError> {
        if self.tokens.is_empty() {
            return fail(0..self.src.len(), "the condition is empty");
        }
        let ast = self.or()?;
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            let end = self.src.trim_end().len().max(t.span.end);
            return fail(
                t.span.start..end,
                format!(
                    "unexpected `{}` after a complete condition; join conditions with `&&` or `||`",
                    slice(self.src, &(t.span.start..end))
                ),
            );
        }
        Ok(ast)
    }

    fn peek(&self) -> &Token {
        self.tokens.get(self.pos).unwrap_or(&self.eof)
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn text(&self, t: &Token) -> &'s str {
        slice(self.src, &t.span)
    }

    fn is_word(&self, word: &str) -> bool {
        let t = self.peek();
        t.tok == Tok::Ident && self.text(t) == word
    }

    /// Counts one level of recursion in the parser itself.
    fn enter(&mut self, span: Range<usize>) -> Result<(), ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return fail(
                span,
                format!("the condition is nested more than {MAX_DEPTH} levels deep; split it up"),
            );
        }
        Ok(())
    }

    fn binary(op: BinOp, l: Ast, r: Ast) -> Result<Ast, ExprError> {
        let span = l.span.start..r.span.end;
        let children = [&l, &r];
        let depth = node(AstKind::Num(0.0), span.clone(), &children)?.depth;
        Ok(Ast {
            kind: AstKind::Bin(op, Box::new(l), Box::new(r)),
            span,
            depth,
        })
    }

    fn or(&mut self) -> Result<Ast, ExprError> {
        let mut l = self.and()?;
        while self.peek().tok == Tok::OrOr || self.is_word("or") {
            self.bump();
            let r = self.and()?;
            l = Self::binary(BinOp::Or, l, r)?;
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Ast, ExprError> {
        let mut l = self.not()?;
        while self.peek().tok == Tok::AndAnd || self.is_word("and") {
            self.bump();
            let r = self.not()?;
            l = Self::binary(BinOp::And, l, r)?;
        }
        Ok(l)
    }

    fn not(&mut self) -> Result<Ast, ExprError> {
        if self.peek().tok == Tok::Bang || self.is_word("not") {
            let t = self.bump();
            self.enter(t.span.clone())?;
            let inner = self.not()?;
            self.nesting -= 1;
            let span = t.span.start..inner.span.end;
            let n = node(AstKind::Num(0.0), span.clone(), &[&inner])?;
            return Ok(Ast {
                kind: AstKind::Not(Box::new(inner)),
                span,
                depth: n.depth,
            });
        }
        self.compare()
    }

    fn compare_op(&self) -> Option<BinOp> {
        Some(match self.peek().tok {
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            Tok::EqEq => BinOp::Eq,
            Tok::Ne => BinOp::Ne,
            _ => return None,
        })
    }

    fn compare(&mut self) -> Result<Ast, ExprError> {
        let l = self.sum()?;
        let ast = if let Some(op) = self.compare_op() {
            self.bump();
            let r = self.sum()?;
            Self::binary(op, l, r)?
        } else if self.is_word("in") {
            self.bump();
            let lo = self.sum()?;
            let t = self.peek().clone();
            if t.tok != Tok::DotDot {
                return fail(
                    t.span,
                    "expected `..` in the range, e.g. `x in 10..20` (both ends included)",
                );
            }
            self.bump();
            let hi = self.sum()?;
            let span = l.span.start..hi.span.end;
            let depth = node(AstKind::Num(0.0), span.clone(), &[&l, &lo, &hi])?.depth;
            Ast {
                kind: AstKind::In(Box::new(l), Box::new(lo), Box::new(hi)),
                span,
                depth,
            }
        } else {
            return Ok(l);
        };
        if self.compare_op().is_some() || self.is_word("in") {
            return fail(
                self.peek().span.clone(),
                "comparisons do not chain: write `a < b && b < c`, or `b in a..c`",
            );
        }
        Ok(ast)
    }

    fn sum(&mut self) -> Result<Ast, ExprError> {
        let mut l = self.product()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(l),
            };
            self.bump();
            let r = self.product()?;
            l = Self::binary(op, l, r)?;
        }
    }

    fn product(&mut self) -> Result<Ast, ExprError> {
        let mut l = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                _ => return Ok(l),
            };
            self.bump();
            let r = self.unary()?;
            l = Self::binary(op, l, r)?;
        }
    }

    fn unary(&mut self) -> Result<Ast, ExprError> {
        if self.peek().tok == Tok::Minus {
            let t = self.bump();
            self.enter(t.span.clone())?;
            let inner = self.unary()?;
            self.nesting -= 1;
            let span = t.span.start..inner.span.end;
            let depth = node(AstKind::Num(0.0), span.clone(), &[&inner])?.depth;
            return Ok(Ast {
                kind: AstKind::Neg(Box::new(inner)),
                span,
                depth,
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Ast, ExprError> {
        let t = self.bump();
        let leaf = |kind| {
            Ok(Ast {
                kind,
                span: t.span.clone(),
                depth: 1,
            })
        };
        match t.tok {
            Tok::Num(v) => leaf(AstKind::Num(v)),
            Tok::Str(ref s) => leaf(AstKind::Str(s.clone())),
            Tok::Ident => {
                let word = self.text(&t);
                match word {
                    "true" => return leaf(AstKind::Bool(true)),
                    "false" => return leaf(AstKind::Bool(false)),
                    "and" | "or" | "not" | "in" => {
                        return fail(t.span, format!("expected a value, found `{word}`"));
                    }
                    _ => {}
                }
                if self.peek().tok != Tok::LParen {
                    return leaf(AstKind::Ident(word.to_owned()));
                }
                self.bump();
                self.enter(t.span.clone())?;
                let mut args = Vec::new();
                if self.peek().tok != Tok::RParen {
                    loop {
                        args.push(self.or()?);
                        if self.peek().tok != Tok::Comma {
                            break;
                        }
                        self.bump();
                    }
                }
                let close = self.bump();
                if close.tok != Tok::RParen {
                    return fail(
                        close.span,
                        format!("expected `,` or `)` in the arguments of `{word}`"),
                    );
                }
                self.nesting -= 1;
                let span = t.span.start..close.span.end;
                let children: Vec<&Ast> = args.iter().collect();
                let depth = node(AstKind::Num(0.0), span.clone(), &children)?.depth;
                Ok(Ast {
                    kind: AstKind::Call {
                        name: word.to_owned(),
                        name_span: t.span,
                        args,
                    },
                    span,
                    depth,
                })
            }
            Tok::LParen => {
                self.enter(t.span.clone())?;
                let inner = self.or()?;
                let close = self.bump();
                if close.tok != Tok::RParen {
                    return fail(
                        close.span,
                        format!("expected `)` to close the `(` at byte {}", t.span.start),
                    );
                }
                self.nesting -= 1;
                Ok(Ast {
                    span: t.span.start..close.span.end,
                    ..inner
                })
            }
            Tok::Eof => fail(t.span, "expected a value, found the end of the condition"),
            _ => {
                let what = self.text(&t);
                fail(t.span, format!("expected a value, found `{what}`"))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Type checker

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Num,
    Bool,
    Text,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Self::Num => "a number",
            Self::Bool => "true/false",
            Self::Text => "text",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Lt,
    Le,
    Gt,
    Ge,
}

/// A value read from the device's facts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fact {
    Tag(usize),
    Rate(usize),
    Bad(usize),
    Stale(usize),
    Health,
    Online,
    Offline,
    Demoted,
    CpuMode,
    Event { lo: u16, hi: u16 },
    EventClass(u8),
    EventActive { lo: u16, hi: u16 },
    EventActiveClass(u8),
    CpuError,
    CpuErrorIs(u16),
    StationDown { net: Option<usize>, number: u16 },
    StationsDown(Option<usize>),
    LinkScan(Option<usize>),
}

#[derive(Debug, Clone)]
enum Node {
    Num(f64),
    Bool(bool),
    Text(String),
    Leaf {
        fact: Fact,
        span: Range<usize>,
    },
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Arith(Arith, Box<Node>, Box<Node>),
    Order {
        op: Order,
        l: Box<Node>,
        r: Box<Node>,
        slot: usize,
    },
    Equal {
        ne: bool,
        l: Box<Node>,
        r: Box<Node>,
    },
    In {
        x: Box<Node>,
        lo: Box<Node>,
        hi: Box<Node>,
        slot: usize,
    },
    Abs(Box<Node>),
    Min(Box<Node>, Box<Node>),
    Max(Box<Node>, Box<Node>),
}

/// Every function, with how it is called (for arity errors and suggestions).
const FUNCTIONS: &[(&str, &str)] = &[
    ("tag", "tag(\"name\")"),
    ("rate", "rate(tag)"),
    ("bad", "bad(tag)"),
    ("stale", "stale(tag)"),
    ("abs", "abs(x)"),
    ("min", "min(a, b)"),
    ("max", "max(a, b)"),
    ("health", "health()"),
    ("online", "online()"),
    ("offline", "offline()"),
    ("demoted", "demoted()"),
    ("cpu_mode", "cpu_mode()"),
    ("event", "event(id) or event(lo, hi)"),
    ("event_class", "event_class(class)"),
    ("event_active", "event_active(id) or event_active(lo, hi)"),
    ("event_active_class", "event_active_class(class)"),
    ("cpu_error", "cpu_error() or cpu_error(code)"),
    (
        "station_down",
        "station_down(n), station_down(\"network\", n) or station_down(\"station name\")",
    ),
    (
        "stations_down",
        "stations_down() or stations_down(\"network\")",
    ),
    (
        "link_scan_ms",
        "link_scan_ms() or link_scan_ms(\"network\")",
    ),
];

fn usage(name: &str) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, u)| u)
}

/// Every mode string a device family's adapter publishes, from the drivers' own `Display`
/// (S7: SZL 0x0424 mode nibble; MELSEC: SD203 b3-b0).
fn cpu_modes(family: Family) -> Vec<String> {
    match family {
        Family::S7 => (0u8..16)
            .map(CpuMode::from_code)
            .filter(|m| !matches!(m, CpuMode::Unknown(_)))
            .map(|m| m.to_string())
            .collect(),
        Family::Melsec => (0u16..4)
            .map(|v| RunState::from_sd203(v).to_string())
            .collect(),
        Family::Modbus => Vec::new(),
    }
}

struct Checker<'a> {
    device: &'a DeviceConfig,
    family: Family,
    slots: usize,
    tags: Vec<usize>,
    uses_health: bool,
    uses_pulses: bool,
}

fn boxed(n: Node) -> Box<Node> {
    Box::new(n)
}

impl Checker<'_> {
    fn slot(&mut self) -> usize {
        self.slots += 1;
        self.slots - 1
    }

    fn kind_name(&self) -> &'static str {
        self.device.kind_name()
    }

    fn check(&mut self, a: &Ast) -> Result<(Node, Ty), ExprError> {
        match &a.kind {
            AstKind::Num(v) => Ok((Node::Num(*v), Ty::Num)),
            AstKind::Bool(b) => Ok((Node::Bool(*b), Ty::Bool)),
            AstKind::Str(s) => Ok((Node::Text(s.clone()), Ty::Text)),
            AstKind::Ident(name) => {
                let tag = self.tag(name, &a.span)?;
                Ok((leaf(Fact::Tag(tag), a), Ty::Num))
            }
            AstKind::Call {
                name,
                name_span,
                args,
            } => self.call(name, name_span, args, a),
            AstKind::Not(inner) => {
                let n = self.truthy(inner, "`!`")?;
                Ok((Node::Not(boxed(n)), Ty::Bool))
            }
            AstKind::Neg(inner) => {
                let n = self.number(inner, "`-`")?;
                Ok((Node::Neg(boxed(n)), Ty::Num))
            }
            AstKind::In(x, lo, hi) => {
                let x = self.number(x, "`in`")?;
                let lo = self.number(lo, "a range")?;
                let hi = self.number(hi, "a range")?;
                let slot = self.slot();
                Ok((
                    Node::In {
                        x: boxed(x),
                        lo: boxed(lo),
                        hi: boxed(hi),
                        slot,
                    },
                    Ty::Bool,
                ))
            }
            AstKind::Bin(op, l, r) => self.binary(*op, l, r),
        }
    }

    fn binary(&mut self, op: BinOp, l: &Ast, r: &Ast) -> Result<(Node, Ty), ExprError> {
        let what = format!("`{}`", op.symbol());
        match op {
            BinOp::Or | BinOp::And => {
                let (ln, rn) = (self.truthy(l, &what)?, self.truthy(r, &what)?);
                let n = if op == BinOp::Or {
                    Node::Or(boxed(ln), boxed(rn))
                } else {
                    Node::And(boxed(ln), boxed(rn))
                };
                Ok((n, Ty::Bool))
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let (ln, rn) = (self.number(l, &what)?, self.number(r, &what)?);
                let a = match op {
                    BinOp::Add => Arith::Add,
                    BinOp::Sub => Arith::Sub,
                    BinOp::Mul => Arith::Mul,
                    _ => Arith::Div,
                };
                Ok((Node::Arith(a, boxed(ln), boxed(rn)), Ty::Num))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (ln, rn) = (self.number(l, &what)?, self.number(r, &what)?);
                let op = match op {
                    BinOp::Lt => Order::Lt,
                    BinOp::Le => Order::Le,
                    BinOp::Gt => Order::Gt,
                    _ => Order::Ge,
                };
                let slot = self.slot();
                Ok((
                    Node::Order {
                        op,
                        l: boxed(ln),
                        r: boxed(rn),
                        slot,
                    },
                    Ty::Bool,
                ))
            }
            BinOp::Eq | BinOp::Ne => {
                let (ln, lt) = self.check(l)?;
                let (rn, rt) = self.check(r)?;
                if (lt == Ty::Text) != (rt == Ty::Text) {
                    let other = if lt == Ty::Text { rt } else { lt };
                    return fail(
                        l.span.start..r.span.end,
                        format!(
                            "{what} compares like with like, but one side is text and the other is {}",
                            other.name()
                        ),
                    );
                }
                self.known_text(&ln, r, &rn)?;
                self.known_text(&rn, l, &ln)?;
                Ok((
                    Node::Equal {
                        ne: op == BinOp::Ne,
                        l: boxed(ln),
                        r: boxed(rn),
                    },
                    Ty::Bool,
                ))
            }
        }
    }

    /// `cpu_mode() == "RUNNING"` can never be true: say so at compile time.
    fn known_text(&self, fact_side: &Node, lit_ast: &Ast, lit: &Node) -> Result<(), ExprError> {
        let Node::Text(lit) = lit else {
            return Ok(());
        };
        let (what, allowed) = match fact_side {
            Node::Leaf {
                fact: Fact::CpuMode,
                ..
            } => ("`cpu_mode()`", cpu_modes(self.family)),
            Node::Leaf {
                fact: Fact::Health, ..
            } => (
                "`health()`",
                [
                    HealthState::Online,
                    HealthState::Offline,
                    HealthState::Demoted,
                    HealthState::Unknown,
                ]
                .iter()
                .map(|h| h.as_str().to_owned())
                .collect(),
            ),
            _ => return Ok(()),
        };
        let low = lit.to_lowercase();
        if allowed.iter().any(|a| a.to_lowercase() == low) || low.starts_with("unknown") {
            return Ok(());
        }
        fail(
            lit_ast.span.clone(),
            format!(
                "{what} on {} devices is one of {}, so {:?} never matches",
                self.kind_name(),
                allowed.join(", "),
                lit
            ),
        )
    }

    /// Checks a node that must be a number.
    fn number(&mut self, a: &Ast, what: &str) -> Result<Node, ExprError> {
        let (n, ty) = self.check(a)?;
        if ty == Ty::Num {
            return Ok(n);
        }
        let hint = if ty == Ty::Text {
            " (text compares only with `==` and `!=`)"
        } else {
            ""
        };
        fail(
            a.span.clone(),
            format!("{what} needs a number, but this is {}{hint}", ty.name()),
        )
    }

    /// Checks a node in a true/false position: true/false or a number (true when not zero).
    fn truthy(&mut self, a: &Ast, what: &str) -> Result<Node, ExprError> {
        let (n, ty) = self.check(a)?;
        if ty != Ty::Text {
            return Ok(n);
        }
        fail(
            a.span.clone(),
            format!(
                "{what} needs true/false or a number, but this is text; compare it, e.g. `cpu_mode() == \"RUN\"`"
            ),
        )
    }

    fn tag(&mut self, name: &str, span: &Range<usize>) -> Result<usize, ExprError> {
        if let Some(i) = self.device.tags.iter().position(|t| t.name == name) {
            self.tags.push(i);
            return Ok(i);
        }
        if FUNCTIONS.iter().any(|(f, _)| *f == name) {
            return fail(
                span.clone(),
                format!("`{name}` is a function: write `{}`", usage(name)),
            );
        }
        let device = &self.device.name;
        let names = self.device.tags.iter().map(|t| t.name.as_str());
        let message = match closest(name, names) {
            Some(best) if is_ident(best) => {
                format!("unknown tag `{name}` on device `{device}`; did you mean `{best}`?")
            }
            Some(best) => {
                format!("unknown tag `{name}` on device `{device}`; did you mean `tag({best:?})`?")
            }
            None if self.device.tags.is_empty() => {
                format!("unknown tag `{name}`: device `{device}` has no tags")
            }
            None => {
                let list: Vec<&str> = self
                    .device
                    .tags
                    .iter()
                    .take(8)
                    .map(|t| t.name.as_str())
                    .collect();
                format!(
                    "unknown tag `{name}` on device `{device}`; its tags are {}{}",
                    list.join(", "),
                    if self.device.tags.len() > 8 {
                        ", ..."
                    } else {
                        ""
                    }
                )
            }
        };
        fail(span.clone(), message)
    }

    /// A tag argument: a name, or `tag("name")`.
    fn tag_arg(&mut self, fname: &str, a: &Ast) -> Result<usize, ExprError> {
        match &a.kind {
            AstKind::Ident(name) => self.tag(name, &a.span),
            AstKind::Call { name, args, .. } if name == "tag" => match args.as_slice() {
                [
                    Ast {
                        kind: AstKind::Str(s),
                        span,
                        ..
                    },
                ] => self.tag(s, span),
                _ => fail(a.span.clone(), format!("write `{}`", usage("tag"))),
            },
            _ => fail(
                a.span.clone(),
                format!(
                    "`{fname}` takes a tag, e.g. `{fname}(temperature)` or `{fname}(tag(\"Motor 1 temp\"))`"
                ),
            ),
        }
    }

    fn int_arg(&self, a: &Ast, max: u32, what: &str) -> Result<u32, ExprError> {
        match a.kind {
            AstKind::Num(v) if v.fract() == 0.0 && (0.0..=f64::from(max)).contains(&v) => {
                Ok(v as u32)
            }
            _ => fail(
                a.span.clone(),
                format!("{what} must be a whole number from 0 to {max} (0x{max:X}) written out"),
            ),
        }
    }

    fn text_arg<'b>(&self, a: &'b Ast, what: &str) -> Result<&'b str, ExprError> {
        match &a.kind {
            AstKind::Str(s) => Ok(s),
            _ => fail(a.span.clone(), format!("{what} must be a string in quotes")),
        }
    }

    fn arity(
        &self,
        name: &str,
        args: &[Ast],
        allowed: &[usize],
        span: &Range<usize>,
    ) -> Result<(), ExprError> {
        if allowed.contains(&args.len()) {
            return Ok(());
        }
        let counts = match allowed {
            [0] => "no arguments".to_owned(),
            [1] => "1 argument".to_owned(),
            [n] => format!("{n} arguments"),
            [a, b] => format!("{a} or {b} arguments"),
            _ => "1 or 2 arguments".to_owned(),
        };
        fail(
            span.clone(),
            format!(
                "`{name}` takes {counts}, not {}: {}",
                args.len(),
                usage(name)
            ),
        )
    }

    fn needs_cpu(&self, name: &str, span: &Range<usize>) -> Result<(), ExprError> {
        if self.family == Family::Modbus {
            return fail(
                span.clone(),
                format!(
                    "`{name}()` is only available on s7 and melsec devices; `{}` is a modbus device",
                    self.device.name
                ),
            );
        }
        Ok(())
    }

    fn needs_events(&self, name: &str, span: &Range<usize>) -> Result<(), ExprError> {
        match &self.device.kind {
            DeviceKind::Modbus(_) => fail(
                span.clone(),
                format!(
                    "`{name}` needs diagnostic events, which only s7 and melsec devices report; `{}` is a modbus device",
                    self.device.name
                ),
            ),
            DeviceKind::S7(s) if !s.diagnostics => fail(
                span.clone(),
                format!(
                    "`{name}` needs diagnostic events, but device `{}` has diagnostics = false",
                    self.device.name
                ),
            ),
            _ => Ok(()),
        }
    }

    fn masters(&self) -> &[plcdiag_melsec::CcLinkMaster] {
        match &self.device.kind {
            DeviceKind::Melsec(m) => &m.masters,
            _ => &[],
        }
    }

    fn needs_cclink(&self, name: &str, span: &Range<usize>) -> Result<(), ExprError> {
        if self.family != Family::Melsec {
            return fail(
                span.clone(),
                format!(
                    "`{name}` is only available on melsec devices with CC-Link networks; `{}` is a {} device",
                    self.device.name,
                    self.kind_name()
                ),
            );
        }
        if self.masters().is_empty() {
            return fail(
                span.clone(),
                format!(
                    "`{name}` needs a CC-Link network, but device `{}` has none ([[devices.cclink]])",
                    self.device.name
                ),
            );
        }
        Ok(())
    }

    fn network_arg(&self, a: &Ast) -> Result<usize, ExprError> {
        let name = self.text_arg(a, "a network name")?;
        let masters = self.masters();
        if let Some(i) = masters.iter().position(|m| m.name == name) {
            return Ok(i);
        }
        let names = masters.iter().map(|m| m.name.as_str());
        let message = match closest(name, names.clone()) {
            Some(best) => format!(
                "device `{}` has no CC-Link network {name:?}; did you mean {best:?}?",
                self.device.name
            ),
            None => format!(
                "device `{}` has no CC-Link network {name:?}; its networks are {}",
                self.device.name,
                names
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        fail(a.span.clone(), message)
    }

    /// Why station `n` cannot be on `master`, if it cannot.
    fn station_problem(master: &plcdiag_melsec::CcLinkMaster, n: u32) -> Option<String> {
        let max = u32::from(master.map.max_stations);
        if n == 0 || n > max {
            return Some(format!(
                "station numbers on CC-Link {:?} are 1 to {max}",
                master.name
            ));
        }
        if master.stations.is_empty() {
            return None;
        }
        let covered = master.stations.iter().any(|s| {
            let r = s.range();
            u32::from(*r.start()) <= n && n <= u32::from(*r.end())
        });
        (!covered).then(|| {
            let list: Vec<String> = master
                .stations
                .iter()
                .map(|s| {
                    let r = s.range();
                    if r.start() == r.end() {
                        r.start().to_string()
                    } else {
                        format!("{}..{}", r.start(), r.end())
                    }
                })
                .collect();
            format!(
                "CC-Link {:?} has no station {n}; its stations are {}",
                master.name,
                list.join(", ")
            )
        })
    }

    fn station_down(&self, args: &[Ast], span: &Range<usize>) -> Result<Fact, ExprError> {
        self.arity("station_down", args, &[1, 2], span)?;
        match args {
            [net, n] => {
                let i = self.network_arg(net)?;
                let number = self.int_arg(n, 255, "a station number")?;
                if let Some(m) = self.masters().get(i)
                    && let Some(why) = Self::station_problem(m, number)
                {
                    return fail(n.span.clone(), why);
                }
                Ok(Fact::StationDown {
                    net: Some(i),
                    number: number as u16,
                })
            }
            [
                a @ Ast {
                    kind: AstKind::Str(name),
                    ..
                },
            ] => self.station_by_name(name, a),
            [n] => {
                let number = self.int_arg(n, 255, "a station number")?;
                let problems: Vec<String> = self
                    .masters()
                    .iter()
                    .filter_map(|m| Self::station_problem(m, number))
                    .collect();
                if problems.len() == self.masters().len() {
                    return fail(n.span.clone(), problems.join("; "));
                }
                Ok(Fact::StationDown {
                    net: None,
                    number: number as u16,
                })
            }
            _ => fail(span.clone(), usage("station_down")),
        }
    }

    fn station_by_name(&self, name: &str, a: &Ast) -> Result<Fact, ExprError> {
        let masters = self.masters();
        let found: Vec<(usize, u8)> = masters
            .iter()
            .enumerate()
            .flat_map(|(i, m)| {
                m.stations
                    .iter()
                    .filter(|s| s.name == name)
                    .map(move |s| (i, s.number))
            })
            .collect();
        match found.as_slice() {
            [(net, number)] => Ok(Fact::StationDown {
                net: Some(*net),
                number: u16::from(*number),
            }),
            [] => {
                if masters.iter().any(|m| m.name == name) {
                    return fail(
                        a.span.clone(),
                        format!(
                            "{name:?} is a network: write `station_down({name:?}, n)` or `stations_down({name:?})`"
                        ),
                    );
                }
                let names = masters
                    .iter()
                    .flat_map(|m| m.stations.iter().map(|s| s.name.as_str()));
                let hint = match closest(name, names) {
                    Some(best) => format!("; did you mean {best:?}?"),
                    None => " (name stations in [[devices.cclink.stations]], or write `station_down(n)`)".to_owned(),
                };
                fail(
                    a.span.clone(),
                    format!(
                        "no CC-Link station of device `{}` is named {name:?}{hint}",
                        self.device.name
                    ),
                )
            }
            many => {
                let nets: Vec<String> = many
                    .iter()
                    .filter_map(|(i, n)| {
                        masters
                            .get(*i)
                            .map(|m| format!("station_down({:?}, {n})", m.name))
                    })
                    .collect();
                fail(
                    a.span.clone(),
                    format!(
                        "{name:?} names stations on more than one network; write {}",
                        nets.join(" or ")
                    ),
                )
            }
        }
    }

    fn call(
        &mut self,
        name: &str,
        name_span: &Range<usize>,
        args: &[Ast],
        a: &Ast,
    ) -> Result<(Node, Ty), ExprError> {
        let span = &a.span;
        let one_fact = |fact, ty| Ok((leaf(fact, a), ty));
        match name {
            "tag" => {
                self.arity(name, args, &[1], span)?;
                let Some(arg) = args.first() else {
                    return fail(span.clone(), usage(name));
                };
                let s = self.text_arg(arg, "a tag name")?;
                let i = self.tag(s, &arg.span)?;
                one_fact(Fact::Tag(i), Ty::Num)
            }
            "rate" | "bad" | "stale" => {
                self.arity(name, args, &[1], span)?;
                let Some(arg) = args.first() else {
                    return fail(span.clone(), usage(name));
                };
                let i = self.tag_arg(name, arg)?;
                match name {
                    "rate" => one_fact(Fact::Rate(i), Ty::Num),
                    "bad" => one_fact(Fact::Bad(i), Ty::Bool),
                    _ => one_fact(Fact::Stale(i), Ty::Bool),
                }
            }
            "abs" => {
                self.arity(name, args, &[1], span)?;
                match args {
                    [x] => Ok((Node::Abs(boxed(self.number(x, "`abs`")?)), Ty::Num)),
                    _ => fail(span.clone(), usage(name)),
                }
            }
            "min" | "max" => {
                self.arity(name, args, &[2], span)?;
                let what = format!("`{name}`");
                match args {
                    [x, y] => {
                        let (x, y) = (boxed(self.number(x, &what)?), boxed(self.number(y, &what)?));
                        let n = if name == "min" {
                            Node::Min(x, y)
                        } else {
                            Node::Max(x, y)
                        };
                        Ok((n, Ty::Num))
                    }
                    _ => fail(span.clone(), usage(name)),
                }
            }
            "health" | "online" | "offline" | "demoted" => {
                self.arity(name, args, &[0], span)?;
                self.uses_health = true;
                match name {
                    "health" => one_fact(Fact::Health, Ty::Text),
                    "online" => one_fact(Fact::Online, Ty::Bool),
                    "offline" => one_fact(Fact::Offline, Ty::Bool),
                    _ => one_fact(Fact::Demoted, Ty::Bool),
                }
            }
            "cpu_mode" => {
                self.needs_cpu(name, span)?;
                self.arity(name, args, &[0], span)?;
                one_fact(Fact::CpuMode, Ty::Text)
            }
            "event" | "event_active" => {
                self.needs_events(name, span)?;
                self.arity(name, args, &[1, 2], span)?;
                let (lo, hi) = match args {
                    [id] => {
                        let id = self.int_arg(id, 0xFFFF, "an event ID")?;
                        (id, id)
                    }
                    [lo_a, hi_a] => {
                        let lo = self.int_arg(lo_a, 0xFFFF, "an event ID")?;
                        let hi = self.int_arg(hi_a, 0xFFFF, "an event ID")?;
                        if lo > hi {
                            return fail(
                                lo_a.span.start..hi_a.span.end,
                                format!(
                                    "the range 0x{lo:X}..0x{hi:X} is empty: write the lower ID first"
                                ),
                            );
                        }
                        (lo, hi)
                    }
                    _ => return fail(span.clone(), usage(name)),
                };
                let (lo, hi) = (lo as u16, hi as u16);
                if name == "event" {
                    self.uses_pulses = true;
                    one_fact(Fact::Event { lo, hi }, Ty::Bool)
                } else {
                    one_fact(Fact::EventActive { lo, hi }, Ty::Bool)
                }
            }
            "event_class" | "event_active_class" => {
                self.needs_events(name, span)?;
                self.arity(name, args, &[1], span)?;
                let Some(arg) = args.first() else {
                    return fail(span.clone(), usage(name));
                };
                let class = self.int_arg(arg, 0xFF, "an event class")? as u8;
                if name == "event_class" {
                    self.uses_pulses = true;
                    one_fact(Fact::EventClass(class), Ty::Bool)
                } else {
                    one_fact(Fact::EventActiveClass(class), Ty::Bool)
                }
            }
            "cpu_error" => {
                if self.family != Family::Melsec {
                    return fail(
                        span.clone(),
                        format!(
                            "`cpu_error` is only available on melsec devices; `{}` is a {} device (on s7, use `event_active(id)`)",
                            self.device.name,
                            self.kind_name()
                        ),
                    );
                }
                self.arity(name, args, &[0, 1], span)?;
                match args {
                    [] => one_fact(Fact::CpuError, Ty::Num),
                    [code] => {
                        let code = self.int_arg(code, 0xFFFF, "an error code")? as u16;
                        one_fact(Fact::CpuErrorIs(code), Ty::Bool)
                    }
                    _ => fail(span.clone(), usage(name)),
                }
            }
            "station_down" => {
                self.needs_cclink(name, span)?;
                let fact = self.station_down(args, span)?;
                one_fact(fact, Ty::Bool)
            }
            "stations_down" | "link_scan_ms" => {
                self.needs_cclink(name, span)?;
                self.arity(name, args, &[0, 1], span)?;
                let net = match args.first() {
                    Some(n) => Some(self.network_arg(n)?),
                    None => None,
                };
                if name == "stations_down" {
                    one_fact(Fact::StationsDown(net), Ty::Num)
                } else {
                    one_fact(Fact::LinkScan(net), Ty::Num)
                }
            }
            _ => {
                let hint = match closest(name, FUNCTIONS.iter().map(|(n, _)| *n)) {
                    Some(best) => format!("did you mean `{}`?", usage(best)),
                    None => format!(
                        "the functions are {}",
                        FUNCTIONS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                fail(
                    name_span.clone(),
                    format!("unknown function `{name}`; {hint}"),
                )
            }
        }
    }
}

fn leaf(fact: Fact, a: &Ast) -> Node {
    Node::Leaf {
        fact,
        span: a.span.clone(),
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(s, "true" | "false" | "and" | "or" | "not" | "in")
}

// ---------------------------------------------------------------------------------------------
// Evaluation

#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Num(f64),
    Bool(bool),
    Text(&'a str),
    Unknown,
}

fn num(v: Val<'_>) -> Option<f64> {
    match v {
        Val::Num(n) if n.is_finite() => Some(n),
        _ => None,
    }
}

fn truth(v: Val<'_>) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(b),
        Val::Num(n) if n.is_finite() => Some(n != 0.0),
        _ => None,
    }
}

fn finite(n: f64) -> Val<'static> {
    if n.is_finite() {
        Val::Num(n)
    } else {
        Val::Unknown
    }
}

fn from_bool(b: Option<bool>) -> Val<'static> {
    b.map_or(Val::Unknown, Val::Bool)
}

fn eq_text(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

fn eval<'a>(n: &'a Node, facts: &'a DeviceFacts, memo: &mut Memo, db: f64) -> Val<'a> {
    match n {
        Node::Num(v) => finite(*v),
        Node::Bool(b) => Val::Bool(*b),
        Node::Text(s) => Val::Text(s),
        Node::Leaf { fact, .. } => fact_value(*fact, facts),
        Node::Not(x) => from_bool(truth(eval(x, facts, memo, db)).map(|b| !b)),
        Node::Neg(x) => num(eval(x, facts, memo, db)).map_or(Val::Unknown, |v| finite(-v)),
        // Both sides are always evaluated, so every deadband node keeps its memory current.
        Node::And(l, r) => {
            let (l, r) = (
                truth(eval(l, facts, memo, db)),
                truth(eval(r, facts, memo, db)),
            );
            match (l, r) {
                (Some(false), _) | (_, Some(false)) => Val::Bool(false),
                (Some(true), Some(true)) => Val::Bool(true),
                _ => Val::Unknown,
            }
        }
        Node::Or(l, r) => {
            let (l, r) = (
                truth(eval(l, facts, memo, db)),
                truth(eval(r, facts, memo, db)),
            );
            match (l, r) {
                (Some(true), _) | (_, Some(true)) => Val::Bool(true),
                (Some(false), Some(false)) => Val::Bool(false),
                _ => Val::Unknown,
            }
        }
        Node::Arith(op, l, r) => {
            let (Some(x), Some(y)) = (num(eval(l, facts, memo, db)), num(eval(r, facts, memo, db)))
            else {
                return Val::Unknown;
            };
            match op {
                Arith::Add => finite(x + y),
                Arith::Sub => finite(x - y),
                Arith::Mul => finite(x * y),
                Arith::Div if y == 0.0 => Val::Unknown,
                Arith::Div => finite(x / y),
            }
        }
        Node::Order { op, l, r, slot } => {
            let (Some(x), Some(y)) = (num(eval(l, facts, memo, db)), num(eval(r, facts, memo, db)))
            else {
                return Val::Unknown;
            };
            let d = if memo.get(*slot) { db } else { 0.0 };
            let out = match op {
                Order::Gt => x > y - d,
                Order::Ge => x >= y - d,
                Order::Lt => x < y + d,
                Order::Le => x <= y + d,
            };
            memo.set(*slot, out);
            Val::Bool(out)
        }
        Node::In { x, lo, hi, slot } => {
            let (Some(x), Some(lo), Some(hi)) = (
                num(eval(x, facts, memo, db)),
                num(eval(lo, facts, memo, db)),
                num(eval(hi, facts, memo, db)),
            ) else {
                return Val::Unknown;
            };
            let d = if memo.get(*slot) { db } else { 0.0 };
            let out = lo - d <= x && x <= hi + d;
            memo.set(*slot, out);
            Val::Bool(out)
        }
        Node::Equal { ne, l, r } => {
            let eq = match (eval(l, facts, memo, db), eval(r, facts, memo, db)) {
                (Val::Text(a), Val::Text(b)) => Some(eq_text(a, b)),
                (Val::Num(a), Val::Num(b)) if a.is_finite() && b.is_finite() => Some(a == b),
                (a @ (Val::Bool(_) | Val::Num(_)), b @ (Val::Bool(_) | Val::Num(_))) => {
                    truth(a).zip(truth(b)).map(|(a, b)| a == b)
                }
                _ => None,
            };
            from_bool(eq.map(|e| e != *ne))
        }
        Node::Abs(x) => num(eval(x, facts, memo, db)).map_or(Val::Unknown, |v| finite(v.abs())),
        Node::Min(a, b) | Node::Max(a, b) => {
            let (Some(x), Some(y)) = (num(eval(a, facts, memo, db)), num(eval(b, facts, memo, db)))
            else {
                return Val::Unknown;
            };
            finite(if matches!(n, Node::Min(..)) {
                x.min(y)
            } else {
                x.max(y)
            })
        }
    }
}

fn health_is(facts: &DeviceFacts, f: impl Fn(HealthState) -> bool) -> Val<'static> {
    match facts.health() {
        HealthState::Unknown => Val::Unknown,
        h => Val::Bool(f(h)),
    }
}

/// Three-valued OR of a fact over every network: true if any is, false if all are known not.
fn any_network(facts: &DeviceFacts, f: impl Fn(usize) -> Option<bool>) -> Option<bool> {
    let mut unknown = false;
    for i in 0..facts.network_names().len() {
        match f(i) {
            Some(true) => return Some(true),
            Some(false) => {}
            None => unknown = true,
        }
    }
    (!unknown).then_some(false)
}

fn fact_value(fact: Fact, facts: &DeviceFacts) -> Val<'_> {
    let family = facts.family();
    let open_any =
        |pred: &dyn Fn(&EventFact) -> bool| from_bool(facts.open_events().map(|mut o| o.any(pred)));
    match fact {
        Fact::Tag(i) => facts.tag_value(i).map_or(Val::Unknown, Val::Num),
        Fact::Rate(i) => facts.tag_rate(i).map_or(Val::Unknown, finite),
        Fact::Bad(i) => from_bool(facts.tag_quality(i).map(|q| matches!(q, Quality::Bad(_)))),
        Fact::Stale(i) => from_bool(facts.tag_quality(i).map(|q| *q == Quality::Stale)),
        Fact::Health => Val::Text(facts.health().as_str()),
        Fact::Online => health_is(facts, |h| h == HealthState::Online),
        Fact::Offline => health_is(facts, |h| {
            matches!(h, HealthState::Offline | HealthState::Demoted)
        }),
        Fact::Demoted => health_is(facts, |h| h == HealthState::Demoted),
        Fact::CpuMode => facts.cpu_mode().map_or(Val::Unknown, Val::Text),
        Fact::Event { lo, hi } => Val::Bool(
            facts
                .pulses()
                .iter()
                .any(|e| family.id_in(e.event_id, lo, hi)),
        ),
        Fact::EventClass(c) => Val::Bool(facts.pulses().iter().any(|e| e.class == c)),
        Fact::EventActive { lo, hi } => open_any(&|e| family.id_in(e.event_id, lo, hi)),
        Fact::EventActiveClass(c) => open_any(&|e| e.class == c),
        Fact::CpuError => facts.cpu_error().map_or(Val::Unknown, |e| {
            Val::Num(e.map_or(0.0, |e| f64::from(e.event_id)))
        }),
        Fact::CpuErrorIs(code) => from_bool(
            facts
                .cpu_error()
                .map(|e| e.map_or(0, |e| e.event_id) == code),
        ),
        Fact::StationDown {
            net: Some(i),
            number,
        } => from_bool(facts.network(i).map(|n| n.station_down(number))),
        Fact::StationDown { net: None, number } => from_bool(any_network(facts, |i| {
            facts.network(i).map(|n| n.station_down(number))
        })),
        Fact::StationsDown(Some(i)) => facts
            .network(i)
            .map_or(Val::Unknown, |n| Val::Num(n.down().count() as f64)),
        Fact::StationsDown(None) => {
            let mut total = 0usize;
            for i in 0..facts.network_names().len() {
                match facts.network(i) {
                    Some(n) => total += n.down().count(),
                    None => return Val::Unknown,
                }
            }
            Val::Num(total as f64)
        }
        Fact::LinkScan(Some(i)) => facts
            .network(i)
            .and_then(|n| n.link_scan_ms)
            .map_or(Val::Unknown, finite),
        Fact::LinkScan(None) => link_scan_max(facts).map_or(Val::Unknown, finite),
    }
}

/// The longest current link scan over every network; unknown if any network is.
pub(crate) fn link_scan_max(facts: &DeviceFacts) -> Option<f64> {
    let mut max: Option<f64> = None;
    for i in 0..facts.network_names().len() {
        if let Some(ms) = facts.network(i)?.link_scan_ms {
            max = Some(max.map_or(ms, |m| m.max(ms)));
        }
    }
    max
}

fn collect_leaves(n: &Node, out: &mut Vec<(Fact, Range<usize>)>) {
    match n {
        Node::Num(_) | Node::Bool(_) | Node::Text(_) => {}
        Node::Leaf { fact, span } => out.push((*fact, span.clone())),
        Node::Not(x) | Node::Neg(x) | Node::Abs(x) => collect_leaves(x, out),
        Node::And(l, r)
        | Node::Or(l, r)
        | Node::Arith(_, l, r)
        | Node::Order { l, r, .. }
        | Node::Equal { l, r, .. }
        | Node::Min(l, r)
        | Node::Max(l, r) => {
            collect_leaves(l, out);
            collect_leaves(r, out);
        }
        Node::In { x, lo, hi, .. } => {
            collect_leaves(x, out);
            collect_leaves(lo, out);
            collect_leaves(hi, out);
        }
    }
}

fn json(v: Val<'_>) -> Json {
    match v {
        // Whole numbers as integers, so a count or an error code reads as one in a notice.
        Val::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Json::from(n as i64),
        Val::Num(n) => serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number),
        Val::Bool(b) => Json::Bool(b),
        Val::Text(s) => Json::String(s.to_owned()),
        Val::Unknown => Json::Null,
    }
}

/// `0x3300 text` for a CPU error event.
pub(crate) fn describe_error(e: &EventFact) -> String {
    // The adapter's text already carries the code in the series' own notation (Q/L decimal,
    // iQ-R hexadecimal with an H), as the CPU's manuals print it.
    if e.text.contains(&e.event_id.to_string()) || e.text.contains(&format!("{:04X}H", e.event_id))
    {
        e.text.clone()
    } else {
        format!("error {}: {}", e.event_id, e.text)
    }
}

/// The down stations of one network or all, `; `-separated (network-prefixed when several).
pub(crate) fn describe_down(facts: &DeviceFacts, net: Option<usize>) -> Option<String> {
    let names = facts.network_names();
    let indexes: Vec<usize> = match net {
        Some(i) => vec![i],
        None => (0..names.len()).collect(),
    };
    let prefix = net.is_none() && names.len() > 1;
    let mut parts = Vec::new();
    for i in indexes {
        let Some(n) = facts.network(i) else { continue };
        for s in n.down() {
            let name = names.get(i).map_or("", String::as_str);
            parts.push(if prefix {
                format!("{name}: {}", s.describe())
            } else {
                s.describe()
            });
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn operand(name: String, fact: Fact, facts: &DeviceFacts) -> Operand {
    let value = json(fact_value(fact, facts));
    let family = facts.family();
    let not_online = || {
        (facts.health() != HealthState::Online)
            .then(|| facts.last_error().map(str::to_owned))
            .flatten()
    };
    let text = match fact {
        Fact::Tag(i) => match facts.tag_quality(i) {
            None => Some("never read".to_owned()),
            Some(Quality::Good) => None,
            Some(Quality::Stale) => Some(match facts.tag_last_value(i) {
                Some(v) => format!("stale, last {}", with_unit(v, facts.tag_unit(i))),
                None => "stale".to_owned(),
            }),
            Some(Quality::Bad(why)) => Some(format!("bad: {why}")),
        },
        Fact::Bad(i) => match facts.tag_quality(i) {
            Some(Quality::Bad(why)) => Some(why.clone()),
            _ => None,
        },
        Fact::Rate(_) | Fact::Stale(_) | Fact::CpuMode | Fact::LinkScan(_) => None,
        Fact::Health | Fact::Online | Fact::Offline | Fact::Demoted => not_online(),
        Fact::Event { lo, hi } => facts
            .pulses()
            .iter()
            .find(|e| family.id_in(e.event_id, lo, hi))
            .map(|e| e.text.clone()),
        Fact::EventClass(c) => facts
            .pulses()
            .iter()
            .find(|e| e.class == c)
            .map(|e| e.text.clone()),
        Fact::EventActive { lo, hi } => facts.open_events().and_then(|mut o| {
            o.find(|e| family.id_in(e.event_id, lo, hi))
                .map(|e| e.text.clone())
        }),
        Fact::EventActiveClass(c) => facts
            .open_events()
            .and_then(|mut o| o.find(|e| e.class == c).map(|e| e.text.clone())),
        Fact::CpuError | Fact::CpuErrorIs(_) => facts.cpu_error().flatten().map(describe_error),
        Fact::StationDown { net, number } => {
            let nets: Vec<usize> = match net {
                Some(i) => vec![i],
                None => (0..facts.network_names().len()).collect(),
            };
            let stations: Vec<_> = nets
                .iter()
                .filter_map(|i| facts.network(*i)?.station(number))
                .collect();
            stations
                .iter()
                .find(|s| s.down)
                .or(stations.first())
                .map(|s| s.describe())
        }
        Fact::StationsDown(net) => describe_down(facts, net),
    };
    Operand { name, value, text }
}

/// A number with 4 significant digits (whole numbers are never rounded), trailing zeros cut.
pub(crate) fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let mag = x.abs().log10().floor();
    if !(-6.0..15.0).contains(&mag) {
        return format!("{x:.3e}");
    }
    let decimals = (3.0 - mag).max(0.0) as usize;
    let mut s = format!("{x:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_owned();
    }
    s
}

/// A number with its unit, e.g. `95.25 °C`.
pub(crate) fn with_unit(x: f64, unit: Option<&str>) -> String {
    let mut s = format_number(x);
    if let Some(u) = unit.filter(|u| !u.is_empty()) {
        let _ = write!(s, " {u}");
    }
    s
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use chrono::{DateTime, TimeZone, Utc};
    use plcdiag_melsec::{FindingKind, NetworkKind, StationState};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::model::{CpuModeView, DiagEvent, Health, Observation, StatusUpdate, TagReading};
    use crate::rules::facts::{MELSEC_CCLINK_STATION, MELSEC_CPU_ERROR};

    const CONFIG: &str = r#"
[[devices]]
name = "boiler"
kind = "modbus"
address = "tcp://10.0.0.5"

[[devices.tags]]
name = "temperature"
address = "hr:100"
unit = "°C"

[[devices.tags]]
name = "pressure"
address = "hr:101"

[[devices.tags]]
name = "pump_running"
address = "coil:7"

[[devices.tags]]
name = "Motor 1 temp"
address = "hr:102"

[[devices]]
name = "cpu"
kind = "s7"
address = "10.0.0.6"

[[devices.tags]]
name = "speed"
address = "DB1.DBD0:REAL"

[[devices]]
name = "quiet"
kind = "s7"
address = "10.0.0.7"
diagnostics = false

[[devices]]
name = "plc"
kind = "melsec"
address = "10.0.0.8:5007"

[[devices.cclink]]
name = "line 3"

[[devices.cclink.stations]]
number = 1
model = "AJ65SBTB1-32T"

[[devices.cclink.stations]]
number = 4
name = "valve terminal V3"
model = "AJ65SBTB1-16D"

[[devices.cclink.stations]]
number = 5
occupies = 2
name = "inverter"

[[devices.cclink]]
name = "line 4"

[[devices.tags]]
name = "count"
address = "D100:INT"

[[devices]]
name = "plc2"
kind = "melsec"
address = "10.0.0.9:5007"
"#;

    fn device(name: &str) -> Arc<DeviceConfig> {
        let cfg = crate::config::parse(CONFIG, Path::new(".")).unwrap_or_else(|p| panic!("{p:?}"));
        cfg.devices
            .into_iter()
            .find(|d| &*d.name == name)
            .unwrap_or_else(|| panic!("no device {name}"))
    }

    fn ok(dev: &str, src: &str) -> Expr {
        let d = device(dev);
        compile(src, &Scope { device: &d }).unwrap_or_else(|e| panic!("{src}: {e:?}"))
    }

    fn err(dev: &str, src: &str) -> ExprError {
        let d = device(dev);
        match compile(src, &Scope { device: &d }) {
            Ok(e) => panic!("{src} compiled: {e:?}"),
            Err(e) => e,
        }
    }

    /// The error's span and whether its message contains `part`.
    fn err_at(dev: &str, src: &str, part: &str) -> Range<usize> {
        let e = err(dev, src);
        assert!(e.message.contains(part), "{src}: {:?}", e.message);
        e.span
    }

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    /// Facts about `dev`, online, after one poll with these good values.
    fn facts(dev: &str, tags: &[(usize, f64)]) -> DeviceFacts {
        let mut f = DeviceFacts::new(&device(dev));
        f.apply(&values(dev, tags, 0));
        f.apply(&health(dev, HealthState::Online));
        f
    }

    fn values(dev: &str, tags: &[(usize, f64)], s: i64) -> Observation {
        Observation::Values {
            device: dev.into(),
            at: at(s),
            rtt: Duration::from_millis(3),
            readings: tags
                .iter()
                .map(|&(tag, v)| TagReading {
                    tag,
                    value: Some(v),
                    quality: Quality::Good,
                })
                .collect::<Vec<_>>()
                .into(),
        }
    }

    fn health(dev: &str, state: HealthState) -> Observation {
        Observation::Health {
            device: dev.into(),
            health: Health {
                state,
                since: at(0),
                last_error: (state != HealthState::Online).then(|| "timeout".to_owned()),
                rtt: None,
                consecutive_failures: 0,
            },
        }
    }

    fn events(dev: &str, events: Vec<DiagEvent>) -> Observation {
        Observation::Diagnostics {
            device: dev.into(),
            events: events.into(),
            backlog: false,
        }
    }

    /// An S7 diagnostic-buffer event as `devices::s7::diag_event` builds it.
    fn s7_event(id: u16) -> DiagEvent {
        let e = plcdiag_s7::EventId(id);
        DiagEvent {
            device_time: None,
            gateway_time: at(0),
            event_id: id,
            class: e.class(),
            entering: Some(e.entering()),
            text: plcdiag_s7::catalog::describe(id, plcdiag_s7::catalog::Lang::En)
                .text
                .into_owned(),
            details: json!({}),
            raw: id.to_be_bytes().to_vec(),
        }
    }

    /// A MELSEC event as `devices::melsec::event` builds it.
    fn mc_event(class: u8, id: u16, entering: bool, text: &str) -> DiagEvent {
        DiagEvent {
            device_time: None,
            gateway_time: at(0),
            event_id: id,
            class,
            entering: Some(entering),
            text: text.to_owned(),
            details: json!({}),
            raw: [class, u8::from(entering)]
                .into_iter()
                .chain(id.to_be_bytes())
                .chain(at(0).timestamp_millis().to_be_bytes())
                .collect(),
        }
    }

    fn mode(dev: &str, mode: &str) -> Observation {
        Observation::Status {
            device: dev.into(),
            at: at(0),
            update: StatusUpdate::CpuMode(CpuModeView {
                mode: mode.into(),
                previous: None,
                changed_at: None,
            }),
        }
    }

    /// One station as `devices::melsec::network` writes it.
    fn station(number: u8, occupies: u8, name: &str, model: Option<&str>, down: bool) -> Json {
        let state = if down {
            StationState::Faulty
        } else {
            StationState::Ok
        };
        json!({
            "number": number, "occupies": occupies, "name": name, "model": model,
            "state": format!("{state:?}").to_lowercase(), "down": down,
            "data_link_error": down, "watchdog_error": false, "fuse_blown": false,
            "switch_changed": false, "number_overlap": false,
            "parameter_mismatch": false,
        })
    }

    /// A network status shaped exactly like the one `devices::melsec::network` publishes.
    fn network(name: &str, stations: Vec<Json>, down: &[u8], scan_ms: Option<u16>) -> Observation {
        let findings: Vec<Json> = down
            .iter()
            .map(|n| {
                json!({
                    "kind": format!("{:?}", FindingKind::StationDown), "stations": [n], "confirmed": true,
                    "text": { "en": format!("station {n} is down alone"), "zh": "" },
                    "remedy": { "en": "check its power and cable", "zh": "" },
                })
            })
            .collect();
        let link_scan = scan_ms.map_or(
            Json::Null,
            |ms| json!({ "current_ms": ms, "min_ms": ms / 2, "max_ms": ms * 2 }),
        );
        Observation::Status {
            device: "plc".into(),
            at: at(0),
            update: StatusUpdate::Network {
                name: name.into(),
                status: json!({
                    "kind": NetworkKind::CcLink.to_string(), "line_ok": down.is_empty(),
                    "stations": stations, "findings": findings,
                    "link_scan": link_scan, "retries": [[0, 3]],
                }),
            },
        }
    }

    fn eval_once(e: &Expr, f: &DeviceFacts) -> Truth {
        e.eval(f, &mut e.memo(), 0.0)
    }

    // --- parsing and precedence ---------------------------------------------------------

    #[test]
    fn arithmetic_binds_tighter_than_comparison_and_products_tighter_than_sums() {
        let f = facts("boiler", &[]);
        for src in [
            "1 + 2 * 3 == 7",
            "(1 + 2) * 3 == 9",
            "10 - 4 - 3 == 3",
            "12 / 3 / 2 == 2",
            "-2 * 3 == -6",
            "--2 == 2",
            "0x10 == 16",
            "1.5e1 == 15",
        ] {
            assert_eq!(eval_once(&ok("boiler", src), &f), Truth::True, "{src}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_applies_to_a_whole_comparison() {
        let f = facts("boiler", &[(0, 95.0)]);
        for (src, want) in [
            ("true || false && false", Truth::True),
            ("(true || false) && false", Truth::False),
            ("!temperature > 90", Truth::False),
            ("not temperature < 90", Truth::True),
            ("false or true and true", Truth::True),
            ("!!true", Truth::True),
            (
                "temperature in 90..100 && !(temperature in 96..99)",
                Truth::True,
            ),
        ] {
            assert_eq!(eval_once(&ok("boiler", src), &f), want, "{src}");
        }
    }

    #[test]
    fn a_number_in_a_true_false_position_is_true_when_not_zero() {
        let f = facts("boiler", &[(2, 1.0), (1, 0.0)]);
        assert_eq!(eval_once(&ok("boiler", "pump_running"), &f), Truth::True);
        assert_eq!(eval_once(&ok("boiler", "pressure"), &f), Truth::False);
        assert_eq!(
            eval_once(&ok("boiler", "pump_running && !pressure"), &f),
            Truth::True
        );
        assert_eq!(
            eval_once(&ok("boiler", "pump_running == true"), &f),
            Truth::True
        );
        assert_eq!(
            eval_once(&ok("boiler", "pressure != false"), &f),
            Truth::False
        );
    }

    #[test]
    fn tags_that_are_not_identifiers_are_read_with_tag() {
        let e = ok(
            "boiler",
            "tag(\"Motor 1 temp\") > 80 && tag('temperature') < 100",
        );
        assert_eq!(e.tags(), &[0, 3]);
        let f = facts("boiler", &[(0, 20.0), (3, 81.0)]);
        assert_eq!(eval_once(&e, &f), Truth::True);
    }

    #[test]
    fn every_function_compiles_on_a_device_that_can_answer_it() {
        let cases = [
            ("boiler", "rate(temperature) > 1"),
            ("boiler", "rate(tag(\"Motor 1 temp\")) > 1"),
            ("boiler", "bad(temperature) || stale(pressure)"),
            ("boiler", "abs(temperature) > max(1, min(2, 3))"),
            (
                "boiler",
                "health() == \"offline\" || online() || offline() || demoted()",
            ),
            ("cpu", "cpu_mode() != 'run'"),
            ("plc", "cpu_mode() == \"STEP-RUN\""),
            (
                "cpu",
                "event(0x39C4) || event(0x3900, 0x39FF) || event_class(4)",
            ),
            (
                "cpu",
                "event_active(0x39C4) || event_active(0x3900, 0x39FF)",
            ),
            ("cpu", "event_active_class(3)"),
            ("plc", "cpu_error() != 0 || cpu_error(0x3300)"),
            ("plc", "station_down(4) || station_down(\"line 3\", 5)"),
            (
                "plc",
                "station_down(\"valve terminal V3\") || station_down(6)",
            ),
            (
                "plc",
                "stations_down() > 0 || stations_down(\"line 4\") > 1",
            ),
            (
                "plc",
                "link_scan_ms() > 20 || link_scan_ms(\"line 3\") > 30",
            ),
        ];
        for (dev, src) in cases {
            ok(dev, src);
        }
    }

    #[test]
    fn a_rule_records_the_tags_it_reads_and_whether_it_uses_health_or_pulses() {
        let e = ok(
            "boiler",
            "pressure > 1 && rate(temperature) > 2 && pressure < 9",
        );
        assert_eq!(e.tags(), &[0, 1]);
        assert!(!e.uses_health() && !e.uses_pulses());
        assert!(ok("boiler", "offline()").uses_health());
        assert!(ok("cpu", "event_class(4)").uses_pulses());
        assert!(!ok("cpu", "event_active(0x39C4)").uses_pulses());
        assert_eq!(ok("cpu", "speed > 1").source(), "speed > 1");
    }

    // --- errors, each at its span -------------------------------------------------------

    #[test]
    fn an_unknown_tag_is_reported_at_its_name_with_the_closest_tag() {
        assert_eq!(
            err_at("boiler", "temprature > 90", "did you mean `temperature`?"),
            0..10
        );
        assert_eq!(
            err_at(
                "boiler",
                "pump_running && motor_1_temp",
                "did you mean `tag(\"Motor 1 temp\")`?"
            ),
            16..28
        );
        assert_eq!(err_at("boiler", "rate(xyz)", "its tags are"), 5..8);
        assert_eq!(
            err_at("boiler", "tag(\"nope\") > 1", "unknown tag `nope`"),
            4..10
        );
        assert_eq!(err_at("boiler", "offline", "write `offline()`"), 0..7);
    }

    #[test]
    fn a_call_with_the_wrong_number_of_arguments_is_reported_at_the_call() {
        assert_eq!(
            err_at("boiler", "1 < abs(1, 2)", "`abs` takes 1 argument, not 2"),
            4..13
        );
        assert_eq!(err_at("boiler", "online(1)", "takes no arguments"), 0..9);
        assert_eq!(err_at("cpu", "event(1, 2, 3)", "1 or 2 arguments"), 0..14);
        assert_eq!(err_at("boiler", "min(1) > 0", "2 arguments"), 0..6);
    }

    #[test]
    fn ordering_text_is_reported_at_the_text_operand() {
        assert_eq!(
            err_at(
                "cpu",
                "cpu_mode() > 1",
                "`>` needs a number, but this is text"
            ),
            0..10
        );
        assert_eq!(err_at("cpu", "speed >= \"RUN\"", "only with `==`"), 9..14);
        assert_eq!(err_at("cpu", "cpu_mode() == 1", "like with like"), 0..15);
        assert_eq!(err_at("cpu", "!cpu_mode()", "needs true/false"), 1..11);
        assert_eq!(
            err_at("cpu", "cpu_mode()", "must be true/false or a number"),
            0..10
        );
    }

    #[test]
    fn cpu_facts_are_refused_on_a_modbus_device() {
        assert_eq!(
            err_at(
                "boiler",
                "pump_running && cpu_mode() == \"RUN\"",
                "only available on s7 and melsec"
            ),
            16..26
        );
        assert_eq!(err_at("boiler", "event(1)", "modbus device"), 0..8);
        assert_eq!(
            err_at("quiet", "event_active_class(3)", "diagnostics = false"),
            0..21
        );
        assert_eq!(
            err_at("cpu", "cpu_error() > 0", "only available on melsec"),
            0..11
        );
    }

    #[test]
    fn a_mode_the_adapter_never_publishes_is_refused() {
        assert_eq!(
            err_at("cpu", "cpu_mode() == \"RUNNING\"", "never matches"),
            14..23
        );
        assert_eq!(err_at("plc", "'halt' != cpu_mode()", "STEP-RUN"), 0..6);
        assert_eq!(
            err_at("boiler", "health() == \"up\"", "online, offline"),
            12..16
        );
    }

    #[test]
    fn station_functions_need_a_melsec_device_with_cclink() {
        assert_eq!(
            err_at("plc2", "station_down(4)", "has none ([[devices.cclink]])"),
            0..15
        );
        assert_eq!(
            err_at("cpu", "stations_down() > 0", "only available on melsec"),
            0..15
        );
    }

    #[test]
    fn network_and_station_names_are_checked_against_the_config() {
        assert_eq!(
            err_at(
                "plc",
                "stations_down(\"line 9\") > 0",
                "did you mean \"line 3\"?"
            ),
            14..22
        );
        assert_eq!(
            err_at(
                "plc",
                "station_down(\"line 3\", 9)",
                "has no station 9; its stations are 1, 4, 5..6"
            ),
            23..24
        );
        assert_eq!(
            err_at("plc", "station_down(\"line 3\", 0)", "1 to 64"),
            23..24
        );
        assert_eq!(err_at("plc", "station_down(65)", "1 to 64"), 13..15);
        assert_eq!(
            err_at("plc", "station_down(\"valve V3\")", "no CC-Link station"),
            13..23
        );
        assert_eq!(
            err_at("plc", "station_down(\"line 4\")", "is a network"),
            13..21
        );
    }

    #[test]
    fn syntax_errors_point_at_the_offending_text() {
        assert_eq!(
            err_at(
                "boiler",
                "temperature > 90 foo",
                "after a complete condition"
            ),
            17..20
        );
        assert_eq!(
            err_at("boiler", "temperature > 90 )  ", "unexpected `)`"),
            17..18
        );
        assert_eq!(
            err_at("cpu", "cpu_mode() == \"RUN", "unterminated string"),
            14..18
        );
        assert_eq!(err_at("boiler", "temperature = 90", "write `==`"), 12..13);
        assert_eq!(err_at("boiler", "1 < 2 < 3", "do not chain"), 6..7);
        assert_eq!(err_at("boiler", "   ", "empty"), 0..3);
        assert_eq!(err_at("boiler", "(1 > 0", "expected `)`"), 6..6);
        assert_eq!(err_at("boiler", "1 >", "end of the condition"), 3..3);
        assert_eq!(
            err_at("boiler", "temperature in 1 2", "expected `..`"),
            17..18
        );
        assert_eq!(err_at("boiler", "0x > 1", "hex digits"), 0..2);
        assert_eq!(err_at("boiler", "1 > 0 & 1", "write `&&`"), 6..7);
        assert_eq!(err_at("boiler", "1 > ° ", "unexpected character `°`"), 4..6);
        assert_eq!(
            err_at("cpu", "cpu_mode() == \"a\\n\"", "unknown escape"),
            16..18
        );
        assert_eq!(
            err_at("boiler", "abss(1) > 0", "did you mean `abs(x)`?"),
            0..4
        );
        assert_eq!(err_at("cpu", "event(0x10000)", "0 to 65535"), 6..13);
        assert_eq!(err_at("cpu", "event(0x3A00, 0x3900)", "is empty"), 6..20);
    }

    #[test]
    fn deep_nesting_is_refused_instead_of_overflowing_the_stack() {
        let deep = format!("{}1{} > 0", "(".repeat(200), ")".repeat(200));
        assert!(err("boiler", &deep).message.contains("nested more than"));
        let long = format!("1{} > 0", " + 1".repeat(500));
        assert!(err("boiler", &long).message.contains("nested more than"));
        let nots = format!("{}true", "!".repeat(500));
        assert!(err("boiler", &nots).message.contains("nested more than"));
    }

    // --- evaluation ---------------------------------------------------------------------

    #[test]
    fn comparisons_and_inclusive_ranges_evaluate_over_tag_values() {
        let f = facts("boiler", &[(0, 90.0), (1, 2.5)]);
        for (src, want) in [
            ("temperature > 90", Truth::False),
            ("temperature >= 90", Truth::True),
            ("temperature < 90.5", Truth::True),
            ("temperature <= 89.9", Truth::False),
            ("temperature == 90", Truth::True),
            ("temperature != 90", Truth::False),
            ("temperature in 80..90", Truth::True),
            ("temperature in 90..100", Truth::True),
            ("temperature in 90.1..100", Truth::False),
            ("pressure * 4 == 10", Truth::True),
            ("abs(pressure - 5) == 2.5", Truth::True),
            (
                "max(temperature, pressure) - min(temperature, pressure) == 87.5",
                Truth::True,
            ),
        ] {
            assert_eq!(eval_once(&ok("boiler", src), &f), want, "{src}");
        }
    }

    #[test]
    fn unknown_values_follow_three_valued_logic() {
        // pressure was never read; temperature is good.
        let f = facts("boiler", &[(0, 95.0)]);
        for (src, want) in [
            ("pressure > 1", Truth::Unknown),
            ("false && pressure > 1", Truth::False),
            ("pressure > 1 && false", Truth::False),
            ("true || pressure > 1", Truth::True),
            ("pressure > 1 || temperature > 90", Truth::True),
            ("true && pressure > 1", Truth::Unknown),
            ("false || pressure > 1", Truth::Unknown),
            ("!(pressure > 1)", Truth::Unknown),
            ("pressure == pressure", Truth::Unknown),
            ("temperature / 0 > 1", Truth::Unknown),
            ("rate(temperature) > 0", Truth::Unknown),
        ] {
            assert_eq!(eval_once(&ok("boiler", src), &f), want, "{src}");
        }
    }

    #[test]
    fn a_bad_or_stale_reading_is_unknown_and_says_so() {
        let mut f = facts("boiler", &[(0, 95.0)]);
        let bad = Observation::Values {
            device: "boiler".into(),
            at: at(1),
            rtt: Duration::ZERO,
            readings: vec![TagReading {
                tag: 0,
                value: None,
                quality: Quality::Bad("exception 2".into()),
            }]
            .into(),
        };
        f.apply(&bad);
        assert_eq!(
            eval_once(&ok("boiler", "temperature > 90"), &f),
            Truth::Unknown
        );
        assert_eq!(
            eval_once(&ok("boiler", "bad(temperature)"), &f),
            Truth::True
        );
        assert_eq!(
            eval_once(&ok("boiler", "bad(pressure)"), &f),
            Truth::Unknown
        );
        f.apply(&values("boiler", &[(0, 95.0)], 2));
        f.apply(&health("boiler", HealthState::Offline));
        assert_eq!(
            eval_once(&ok("boiler", "stale(temperature)"), &f),
            Truth::True
        );
        assert_eq!(
            eval_once(&ok("boiler", "temperature > 90"), &f),
            Truth::Unknown
        );
        assert_eq!(
            eval_once(&ok("boiler", "offline() && !online()"), &f),
            Truth::True
        );
        assert_eq!(
            eval_once(&ok("boiler", "health() == 'OFFLINE'"), &f),
            Truth::True
        );
    }

    #[test]
    fn health_functions_are_unknown_before_the_first_poll_and_demoted_counts_as_offline() {
        let mut f = DeviceFacts::new(&device("boiler"));
        assert_eq!(eval_once(&ok("boiler", "online()"), &f), Truth::Unknown);
        assert_eq!(
            eval_once(&ok("boiler", "health() == \"unknown\""), &f),
            Truth::True
        );
        f.apply(&health("boiler", HealthState::Demoted));
        assert_eq!(
            eval_once(&ok("boiler", "offline() && demoted()"), &f),
            Truth::True
        );
    }

    #[test]
    fn a_true_comparison_holds_until_the_value_passes_the_limit_by_the_deadband() {
        let e = ok("boiler", "temperature > 90");
        let mut memo = e.memo();
        let mut f = facts("boiler", &[]);
        let mut step = |v: f64| {
            f.apply(&values("boiler", &[(0, v)], 0));
            e.eval(&f, &mut memo, 2.0)
        };
        assert_eq!(step(89.0), Truth::False);
        assert_eq!(step(90.5), Truth::True);
        assert_eq!(step(88.5), Truth::True);
        assert_eq!(step(88.0), Truth::False);
        assert_eq!(step(89.5), Truth::False);
        assert_eq!(step(90.1), Truth::True);
    }

    #[test]
    fn a_true_lower_limit_holds_until_the_value_rises_past_it_by_the_deadband() {
        let e = ok("boiler", "temperature < 10");
        let mut memo = e.memo();
        let mut f = facts("boiler", &[]);
        let mut step = |v: f64| {
            f.apply(&values("boiler", &[(0, v)], 0));
            e.eval(&f, &mut memo, 2.0)
        };
        assert_eq!(step(9.0), Truth::True);
        assert_eq!(step(11.5), Truth::True);
        assert_eq!(step(12.0), Truth::False);
        assert_eq!(step(10.5), Truth::False);
    }

    #[test]
    fn a_range_widens_by_the_deadband_while_inside_and_equality_has_none() {
        let e = ok("boiler", "temperature in 10..20");
        let mut memo = e.memo();
        let mut f = facts("boiler", &[]);
        let mut step = |v: f64| {
            f.apply(&values("boiler", &[(0, v)], 0));
            e.eval(&f, &mut memo, 1.0)
        };
        assert_eq!(step(21.0), Truth::False);
        assert_eq!(step(15.0), Truth::True);
        assert_eq!(step(21.0), Truth::True);
        assert_eq!(step(9.0), Truth::True);
        assert_eq!(step(8.9), Truth::False);
        assert_eq!(step(20.5), Truth::False);

        let eq = ok("boiler", "temperature == 5");
        let mut memo = eq.memo();
        let f5 = facts("boiler", &[(0, 5.0)]);
        let f6 = facts("boiler", &[(0, 5.5)]);
        assert_eq!(eq.eval(&f5, &mut memo, 1.0), Truth::True);
        assert_eq!(eq.eval(&f6, &mut memo, 1.0), Truth::False);
    }

    #[test]
    fn an_unknown_value_leaves_the_deadband_memory_as_it_was() {
        let e = ok("boiler", "temperature > 90 || pressure > 0");
        let mut memo = Memo::default();
        let mut f = facts("boiler", &[(0, 95.0)]);
        assert_eq!(e.eval(&f, &mut memo, 5.0), Truth::True);
        let bad = Observation::Values {
            device: "boiler".into(),
            at: at(1),
            rtt: Duration::ZERO,
            readings: vec![TagReading {
                tag: 0,
                value: None,
                quality: Quality::Bad("timeout".into()),
            }]
            .into(),
        };
        f.apply(&bad);
        assert_eq!(e.eval(&f, &mut memo, 5.0), Truth::Unknown);
        f.apply(&values("boiler", &[(0, 86.0)], 2));
        assert_eq!(e.eval(&f, &mut memo, 5.0), Truth::True);
    }

    #[test]
    fn rate_is_the_change_per_second_between_the_last_two_good_readings() {
        let e = ok("boiler", "rate(temperature)");
        let mut f = DeviceFacts::new(&device("boiler"));
        let rate = |f: &DeviceFacts| e.explain(f).first().map(|o| o.value.clone());
        f.apply(&values("boiler", &[(0, 10.0)], 0));
        assert_eq!(rate(&f), Some(Json::Null));
        f.apply(&values("boiler", &[(0, 20.0)], 5));
        assert_eq!(rate(&f), Some(json!(2)));
        f.apply(&values("boiler", &[(0, 14.5)], 8));
        assert_eq!(rate(&f), Some(json!(-1.8333333333333333)));
        assert_eq!(
            eval_once(&ok("boiler", "rate(temperature) < -1"), &f),
            Truth::True
        );
    }

    #[test]
    fn an_event_pulse_lasts_until_end_pulses_and_ignores_the_entering_bit() {
        let mut f = facts("cpu", &[]);
        let on = ok("cpu", "event(0x39C4)");
        let same = ok("cpu", "event(0x38C4)");
        let class = ok("cpu", "event_class(3)");
        assert!(f.apply(&events("cpu", vec![s7_event(0x39C4)])));
        assert_eq!(eval_once(&on, &f), Truth::True);
        assert_eq!(eval_once(&same, &f), Truth::True);
        assert_eq!(eval_once(&class, &f), Truth::True);
        assert!(f.end_pulses());
        assert!(!f.end_pulses());
        assert_eq!(eval_once(&on, &f), Truth::False);
        f.apply(&events("cpu", vec![s7_event(0x38C4)]));
        assert_eq!(
            eval_once(&on, &f),
            Truth::False,
            "a leaving event never pulses"
        );
        assert_eq!(eval_once(&class, &f), Truth::False);
    }

    #[test]
    fn an_s7_entering_event_opens_a_level_that_its_leaving_event_closes() {
        let mut f = DeviceFacts::new(&device("cpu"));
        let active = ok("cpu", "event_active(0x39C4)");
        let by_leaving_id = ok("cpu", "event_active(0x38C4)");
        let range = ok("cpu", "event_active(0x3900, 0x39FF)");
        assert_eq!(
            eval_once(&active, &f),
            Truth::Unknown,
            "before the first poll"
        );
        f.apply(&values("cpu", &[], 0));
        assert_eq!(eval_once(&active, &f), Truth::False);
        f.apply(&events("cpu", vec![s7_event(0x39C4)]));
        for e in [&active, &by_leaving_id, &range] {
            assert_eq!(eval_once(e, &f), Truth::True, "{}", e.source());
        }
        f.apply(&events("cpu", vec![s7_event(0x3942)]));
        f.apply(&events("cpu", vec![s7_event(0x38C4)]));
        assert_eq!(eval_once(&active, &f), Truth::False);
        assert_eq!(
            eval_once(&ok("cpu", "event_active_class(3)"), &f),
            Truth::True
        );
        f.apply(&health("cpu", HealthState::Offline));
        assert_eq!(
            eval_once(&ok("cpu", "event_active_class(3)"), &f),
            Truth::Unknown
        );
    }

    #[test]
    fn an_s7_level_shared_by_two_stations_stays_open_until_both_have_returned() {
        // 0x39C4 is reported once per failed DP station; the raw records differ.
        let entry = |id: u16, station: u8| DiagEvent {
            raw: vec![(id >> 8) as u8, id as u8, station],
            ..s7_event(id)
        };
        let mut f = facts("cpu", &[]);
        let active = ok("cpu", "event_active(0x39C4)");
        f.apply(&events("cpu", vec![entry(0x39C4, 3), entry(0x39C4, 7)]));
        assert!(
            !f.apply(&events("cpu", vec![entry(0x39C4, 7)])),
            "a re-report changes nothing"
        );
        f.apply(&events("cpu", vec![entry(0x38C4, 3)]));
        assert_eq!(
            eval_once(&active, &f),
            Truth::True,
            "station 7 is still out"
        );
        f.apply(&events("cpu", vec![entry(0x38C4, 7)]));
        assert_eq!(eval_once(&active, &f), Truth::False);
    }

    #[test]
    fn a_melsec_event_reported_again_after_a_poller_restart_needs_one_leaving_event() {
        let mut f = facts("plc", &[]);
        let down = |entering, ms: u8| DiagEvent {
            raw: vec![2, u8::from(entering), 0, 4, ms],
            ..mc_event(MELSEC_CCLINK_STATION, 4, entering, "station 4")
        };
        f.apply(&events("plc", vec![down(true, 1)]));
        f.apply(&events("plc", vec![down(true, 2)]));
        f.apply(&events("plc", vec![down(false, 3)]));
        assert_eq!(eval_once(&ok("plc", "event_active(4)"), &f), Truth::False);
    }

    #[test]
    fn a_melsec_cpu_error_is_current_from_its_entering_to_its_leaving_event() {
        let mut f = facts("plc", &[]);
        let code = ok("plc", "cpu_error() == 0x3300");
        let is = ok("plc", "cpu_error(0x3300)");
        let none = ok("plc", "cpu_error() == 0");
        assert_eq!(eval_once(&none, &f), Truth::True);
        f.apply(&events(
            "plc",
            vec![mc_event(MELSEC_CPU_ERROR, 0x3300, true, "OPERATION ERROR")],
        ));
        assert_eq!(eval_once(&code, &f), Truth::True);
        assert_eq!(eval_once(&is, &f), Truth::True);
        assert_eq!(eval_once(&ok("plc", "event(0x3300)"), &f), Truth::True);
        f.end_pulses();
        f.apply(&events(
            "plc",
            vec![
                mc_event(MELSEC_CPU_ERROR, 0x3300, false, "cleared: OPERATION ERROR"),
                mc_event(MELSEC_CPU_ERROR, 0x2220, true, "PARAMETER ERROR"),
            ],
        ));
        assert_eq!(eval_once(&is, &f), Truth::False);
        assert_eq!(
            eval_once(&ok("plc", "cpu_error() == 0x2220"), &f),
            Truth::True
        );
        f.apply(&events(
            "plc",
            vec![mc_event(MELSEC_CPU_ERROR, 0x2220, false, "cleared")],
        ));
        assert_eq!(eval_once(&none, &f), Truth::True);
    }

    #[test]
    fn the_cpu_mode_compares_case_insensitively_and_is_unknown_until_published() {
        let mut f = facts("cpu", &[]);
        let stop = ok("cpu", "cpu_mode() == \"stop\"");
        assert_eq!(eval_once(&stop, &f), Truth::Unknown);
        f.apply(&mode("cpu", "STOP"));
        assert_eq!(eval_once(&stop, &f), Truth::True);
        f.apply(&mode("cpu", "RUN"));
        assert_eq!(eval_once(&stop, &f), Truth::False);
    }

    #[test]
    fn stations_come_from_the_network_status_the_melsec_adapter_publishes() {
        let mut f = facts("plc", &[]);
        let down4 = ok("plc", "station_down(4)");
        assert_eq!(eval_once(&down4, &f), Truth::Unknown);
        f.apply(&network(
            "line 3",
            vec![
                station(1, 1, "station 1", Some("AJ65SBTB1-32T"), false),
                station(4, 1, "valve terminal V3", Some("AJ65SBTB1-16D"), true),
                station(5, 2, "inverter", None, true),
            ],
            &[4],
            Some(12),
        ));
        assert_eq!(
            eval_once(&down4, &f),
            Truth::True,
            "down on line 3 is enough"
        );
        let down1 = ok("plc", "station_down(1)");
        assert_eq!(
            eval_once(&down1, &f),
            Truth::Unknown,
            "line 4 not reported yet"
        );
        assert_eq!(
            eval_once(&ok("plc", "station_down(\"line 3\", 4)"), &f),
            Truth::True
        );
        assert_eq!(
            eval_once(&ok("plc", "station_down(\"valve terminal V3\")"), &f),
            Truth::True
        );
        assert_eq!(
            eval_once(&ok("plc", "station_down(\"line 3\", 6)"), &f),
            Truth::True,
            "occupied by 5"
        );
        assert_eq!(
            eval_once(&ok("plc", "station_down(\"line 3\", 1)"), &f),
            Truth::False
        );
        assert_eq!(
            eval_once(&ok("plc", "stations_down(\"line 3\") == 2"), &f),
            Truth::True
        );
        assert_eq!(
            eval_once(&ok("plc", "stations_down() > 0"), &f),
            Truth::Unknown
        );
        assert_eq!(
            eval_once(&ok("plc", "link_scan_ms(\"line 3\") == 12"), &f),
            Truth::True
        );

        // line 4 has no station list: only stations a bitmap reports are listed.
        f.apply(&network(
            "line 4",
            vec![station(9, 1, "station 9", None, true)],
            &[9],
            Some(30),
        ));
        assert_eq!(eval_once(&down1, &f), Truth::False);
        assert_eq!(eval_once(&ok("plc", "station_down(9)"), &f), Truth::True);
        assert_eq!(
            eval_once(&ok("plc", "stations_down() == 3"), &f),
            Truth::True
        );
        assert_eq!(
            eval_once(&ok("plc", "link_scan_ms() == 30"), &f),
            Truth::True
        );

        f.apply(&network("line 4", vec![], &[], Some(30)));
        assert_eq!(
            eval_once(&ok("plc", "station_down(9)"), &f),
            Truth::False,
            "unlisted is back"
        );
        f.apply(&health("plc", HealthState::Offline));
        assert_eq!(
            eval_once(&ok("plc", "station_down(\"line 3\", 4)"), &f),
            Truth::Unknown
        );
    }

    #[test]
    fn a_refused_network_read_makes_its_stations_unknown() {
        let mut f = facts("plc", &[]);
        f.apply(&Observation::Status {
            device: "plc".into(),
            at: at(0),
            update: StatusUpdate::Network {
                name: "line 3".into(),
                status: json!({ "error": "the PLC refused the SB/SW read: C059" }),
            },
        });
        assert_eq!(
            eval_once(&ok("plc", "stations_down(\"line 3\") > 0"), &f),
            Truth::Unknown
        );
    }

    #[test]
    fn station_events_from_the_adapter_pulse_and_hold_by_station_number() {
        let mut f = facts("plc", &[]);
        f.apply(&events(
            "plc",
            vec![mc_event(
                MELSEC_CCLINK_STATION,
                4,
                true,
                "CC-Link line 3: station 4: data link error",
            )],
        ));
        assert_eq!(eval_once(&ok("plc", "event_class(2)"), &f), Truth::True);
        assert_eq!(eval_once(&ok("plc", "event_active(4)"), &f), Truth::True);
        f.apply(&events(
            "plc",
            vec![mc_event(MELSEC_CCLINK_STATION, 4, false, "back")],
        ));
        assert_eq!(eval_once(&ok("plc", "event_active(4)"), &f), Truth::False);
    }

    // --- explain ------------------------------------------------------------------------

    #[test]
    fn explain_names_each_operand_once_with_its_value_and_detail() {
        let mut f = facts("plc", &[(0, 7.0)]);
        f.apply(&mode("plc", "STOP"));
        f.apply(&network(
            "line 3",
            vec![station(
                4,
                1,
                "valve terminal V3",
                Some("AJ65SBTB1-16D"),
                true,
            )],
            &[],
            Some(12),
        ));
        f.apply(&events(
            "plc",
            vec![mc_event(MELSEC_CPU_ERROR, 0x3300, true, "OPERATION ERROR")],
        ));
        let e = ok(
            "plc",
            "count > 5 && station_down(\"line 3\", 4) && cpu_mode() == \"STOP\" && event(0x3300) && count < 9 && offline()",
        );
        let ops = e.explain(&f);
        let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "count",
                "station_down(\"line 3\", 4)",
                "cpu_mode()",
                "event(0x3300)",
                "offline()"
            ]
        );
        assert_eq!(ops[0].value, json!(7));
        assert_eq!(ops[1].value, json!(true));
        assert_eq!(
            ops[1].text.as_deref(),
            Some("station 4 valve terminal V3 (AJ65SBTB1-16D): data link error")
        );
        assert_eq!(ops[2].value, json!("STOP"));
        assert_eq!(ops[3].text.as_deref(), Some("OPERATION ERROR"));
        assert_eq!(ops[4].value, json!(false));
        let unknown = ok("plc", "cpu_error() > 0 && stations_down(\"line 4\") > 0");
        let ops = unknown.explain(&f);
        assert_eq!(ops[0].value, json!(0x3300));
        assert_eq!(ops[0].text.as_deref(), Some("error 13056: OPERATION ERROR"));
        assert_eq!(ops[1].value, Json::Null);
    }

    #[test]
    fn numbers_show_four_significant_digits_without_rounding_whole_numbers() {
        assert_eq!(format_number(95.2549), "95.25");
        assert_eq!(format_number(0.012345), "0.01235");
        assert_eq!(format_number(12345.6), "12346");
        assert_eq!(format_number(90.0), "90");
        assert_eq!(format_number(-0.00001), "-0.00001");
        assert_eq!(format_number(0.0), "0");
        assert_eq!(with_unit(1.5, Some("bar")), "1.5 bar");
    }

    // --- robustness ---------------------------------------------------------------------

    proptest! {
        #[test]
        fn any_text_compiles_or_fails_without_panicking(src in "\\PC{0,80}") {
            let d = device("plc");
            let _ = compile(&src, &Scope { device: &d });
        }

        #[test]
        fn any_sequence_of_tokens_compiles_or_fails_and_a_compiled_one_evaluates(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "(", ")", ",", "!", "-", "+", "*", "/", "&&", "||", "<", ">=", "==", "!=",
                    "in", "..", "not", "and", "0", "1.5", "0x39C4", "\"line 3\"", "'RUN'", "true",
                    "count", "cpu_mode()", "station_down(", "event(", "cpu_error(", "rate(",
                    "link_scan_ms(", "abs(", "offline()", "tag(", "\"count\"", "4", "\"",
                ]),
                0..24,
            )
        ) {
            let src = parts.join(" ");
            let d = device("plc");
            if let Ok(e) = compile(&src, &Scope { device: &d }) {
                let f = facts("plc", &[(0, 1.0)]);
                let mut memo = Memo::default();
                let _ = e.eval(&f, &mut memo, 1.0);
                let _ = e.explain(&f);
            }
        }
    }
}
