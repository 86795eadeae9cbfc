//! What a rule checks on one device: a condition, or a process monitor in the style of
//! S7-PDIAG that watches the plant without touching the PLC program.
//!
//! - Condition: the alarm's condition is the expression.
//! - Reaction monitor: when `trigger` becomes true, `expect` must follow within `within`
//!   ("motor M1 started but no running feedback in 5 s"). The condition holds from the
//!   deadline until `expect` arrives or `trigger` drops.
//! - Interlock monitor: while `action` is true, every `require` expression must be true
//!   ("press stroke with the guard open"). The condition holds while one is false.
//!
//! Each monitor names the operands that failed (criteria analysis) for the alarm message.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::expr::{Expr, Memo, Operand, Truth};
use super::facts::DeviceFacts;

/// A compiled check with its evaluation memory.
#[derive(Debug, Clone)]
pub enum Check {
    /// A plain condition.
    Condition {
        /// The condition.
        when: Expr,
        /// Its memory (deadband).
        memo: Memo,
    },
    /// A reaction monitor.
    Reaction {
        /// The event that starts the watch.
        trigger: Expr,
        /// Memory of `trigger`.
        trigger_memo: Memo,
        /// What must follow.
        expect: Expr,
        /// Memory of `expect`.
        expect_memo: Memo,
        /// How long `expect` may take.
        within: Duration,
        /// When the current watch started (the trigger's rising edge).
        armed_at: Option<DateTime<Utc>>,
        /// The current watch ran out without the feedback (its deadline is past).
        expired: bool,
        /// The trigger's last known value, for the edge.
        trigger_was: bool,
    },
    /// An interlock monitor.
    Interlock {
        /// The action that needs its interlocks.
        action: Expr,
        /// Memory of `action`.
        action_memo: Memo,
        /// Every interlock, with its memory.
        require: Vec<(Expr, Memo)>,
    },
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The alarm condition: `None` when unknown (keep the previous).
    pub condition: Option<bool>,
    /// Source text of the operands that failed (monitors), for `{failed}` in messages.
    pub failed: Vec<String>,
}

impl Check {
    /// A plain condition.
    pub fn condition(when: Expr) -> Self {
        let memo = when.memo();
        Self::Condition { when, memo }
    }

    /// A reaction monitor.
    pub fn reaction(trigger: Expr, expect: Expr, within: Duration) -> Self {
        Self::Reaction {
            trigger_memo: trigger.memo(),
            expect_memo: expect.memo(),
            trigger,
            expect,
            within,
            armed_at: None,
            expired: false,
            trigger_was: false,
        }
    }

    /// An interlock monitor.
    pub fn interlock(action: Expr, require: Vec<Expr>) -> Self {
        Self::Interlock {
            action_memo: action.memo(),
            action,
            require: require
                .into_iter()
                .map(|e| {
                    let m = e.memo();
                    (e, m)
                })
                .collect(),
        }
    }

    /// Evaluates the check against `facts` at `now`.
    pub fn evaluate(&mut self, facts: &DeviceFacts, deadband: f64, now: DateTime<Utc>) -> Outcome {
        match self {
            Self::Condition { when, memo } => Outcome {
                condition: known(when.eval(facts, memo, deadband)),
                failed: Vec::new(),
            },
            Self::Reaction {
                trigger,
                trigger_memo,
                expect,
                expect_memo,
                within,
                armed_at,
                expired,
                trigger_was,
            } => {
                let t = trigger.eval(facts, trigger_memo, deadband);
                let e = expect.eval(facts, expect_memo, deadband);
                match t {
                    Truth::True if !*trigger_was => {
                        *trigger_was = true;
                        *armed_at = Some(now);
                        *expired = false;
                    }
                    Truth::True => {}
                    Truth::False => {
                        *trigger_was = false;
                        *armed_at = None;
                        *expired = false;
                    }
                    Truth::Unknown => {}
                }
                if e == Truth::True {
                    // The feedback came: this watch is over until the next rising edge.
                    *armed_at = None;
                    *expired = false;
                    return Outcome {
                        condition: Some(false),
                        failed: Vec::new(),
                    };
                }
                match *armed_at {
                    Some(at) if at + *within <= now => {
                        *expired = true;
                        if e == Truth::Unknown {
                            return Outcome {
                                condition: None,
                                failed: Vec::new(),
                            };
                        }
                        Outcome {
                            condition: Some(true),
                            failed: vec![expect.source().to_owned()],
                        }
                    }
                    Some(_) => Outcome {
                        condition: Some(false),
                        failed: Vec::new(),
                    },
                    None if t == Truth::Unknown => Outcome {
                        condition: None,
                        failed: Vec::new(),
                    },
                    None => Outcome {
                        condition: Some(false),
                        failed: Vec::new(),
                    },
                }
            }
            Self::Interlock {
                action,
                action_memo,
                require,
            } => {
                match action.eval(facts, action_memo, deadband) {
                    Truth::False => {
                        // Keep the interlocks' deadband memory current.
                        for (e, m) in require.iter_mut() {
                            e.eval(facts, m, deadband);
                        }
                        return Outcome {
                            condition: Some(false),
                            failed: Vec::new(),
                        };
                    }
                    Truth::Unknown => {
                        return Outcome {
                            condition: None,
                            failed: Vec::new(),
                        };
                    }
                    Truth::True => {}
                }
                let mut failed = Vec::new();
                let mut unknown = false;
                for (e, m) in require.iter_mut() {
                    match e.eval(facts, m, deadband) {
                        Truth::False => failed.push(e.source().to_owned()),
                        Truth::Unknown => unknown = true,
                        Truth::True => {}
                    }
                }
                let condition = if !failed.is_empty() {
                    Some(true)
                } else if unknown {
                    None
                } else {
                    Some(false)
                };
                Outcome { condition, failed }
            }
        }
    }

    /// Forgets a running watch (the point is suppressed: the watch would judge stale facts).
    pub fn reset(&mut self) {
        if let Self::Reaction {
            armed_at,
            expired,
            trigger_was,
            ..
        } = self
        {
            *armed_at = None;
            *expired = false;
            *trigger_was = false;
        }
    }

    /// Restores the deadband memory of an alarm that was active before a restart.
    pub fn assume_active(&mut self) {
        match self {
            Self::Condition { memo, .. } => memo.assume_active(),
            Self::Reaction {
                trigger_memo,
                expect_memo,
                ..
            } => {
                trigger_memo.assume_active();
                expect_memo.assume_active();
            }
            Self::Interlock {
                action_memo,
                require,
                ..
            } => {
                action_memo.assume_active();
                for (_, m) in require {
                    m.assume_active();
                }
            }
        }
    }

    /// When the check must be evaluated again even without new facts (a reaction's deadline).
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Reaction {
                armed_at: Some(at),
                within,
                expired: false,
                ..
            } => Some(*at + *within),
            _ => None,
        }
    }

    /// The operands with their current values, for the alarm's message and values.
    pub fn explain(&self, facts: &DeviceFacts) -> Vec<Operand> {
        match self {
            Self::Condition { when, .. } => when.explain(facts),
            Self::Reaction {
                trigger, expect, ..
            } => {
                let mut v = trigger.explain(facts);
                v.extend(expect.explain(facts));
                v
            }
            Self::Interlock {
                action, require, ..
            } => {
                let mut v = action.explain(facts);
                for (e, _) in require {
                    v.extend(e.explain(facts));
                }
                v
            }
        }
    }

    fn exprs(&self) -> Vec<&Expr> {
        match self {
            Self::Condition { when, .. } => vec![when],
            Self::Reaction {
                trigger, expect, ..
            } => vec![trigger, expect],
            Self::Interlock {
                action, require, ..
            } => std::iter::once(action)
                .chain(require.iter().map(|(e, _)| e))
                .collect(),
        }
    }

    /// Whether the check looks at the device's health (then it is not suppressed when offline).
    pub fn uses_health(&self) -> bool {
        self.exprs().iter().any(|e| e.uses_health())
    }

    /// Whether the check reacts to diagnostic-event pulses.
    pub fn uses_pulses(&self) -> bool {
        self.exprs().iter().any(|e| e.uses_pulses())
    }
}

fn known(t: Truth) -> Option<bool> {
    match t {
        Truth::True => Some(true),
        Truth::False => Some(false),
        Truth::Unknown => None,
    }
}
