//! `x-kubernetes-validations` rules, evaluated with the `cel` crate after the structural
//! pass, as apiextensions-apiserver's `schema/cel` validator does: each rule with `self`
//! bound to the value at its node (and `oldSelf` to the previous value for transition
//! rules, which only run on an update where that value exists).
//!
//! The Kubernetes CEL libraries the vendored rules call and the crate lacks are added
//! here (`isIP`, `isURL`, `url(..).getScheme()`, string `split` and `substring`); a rule
//! calling anything else is reported by [`unsupported_functions`] and pinned by a test.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

use cel::common::ast::{operators, Expr};
use cel::extractors::This;
use cel::objects::{Key, Map as CelMap};
use cel::IdedExpr;
use cel::{Context, ExecutionError, FunctionContext, Program};
use serde_json::{json, Value};

use super::errors::FieldError;
use super::walk::{child, resolve};

/// Functions and macros a rule may call: the crate's (`Context::default`, its macros)
/// and the ones [`context`] adds.
const SUPPORTED: &[&str] = &[
    "has",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "string",
    "bytes",
    "double",
    "int",
    "uint",
    "max",
    "min",
    "duration",
    "timestamp",
    "isIP",
    "isURL",
    "url",
    "getScheme",
    "split",
    "substring",
];

/// A compiled rule, and whether it is a transition rule (reads `oldSelf`).
struct Compiled {
    program: Program,
    transition: bool,
}

thread_local! {
    /// Compiled rules (the `Program` is not shareable across threads, so per thread).
    static PROGRAMS: RefCell<HashMap<String, Option<Rc<Compiled>>>> = RefCell::new(HashMap::new());
    /// The functions every rule may call; each evaluation binds its variables in a child
    /// scope instead of building the function table again.
    static FUNCTIONS: Context<'static> = context();
}

fn program(rule: &str) -> Option<Rc<Compiled>> {
    PROGRAMS.with(|p| {
        if let Some(c) = p.borrow().get(rule) {
            return c.clone();
        }
        let compiled = Program::compile(rule).ok().map(|program| {
            let transition = program.references().has_variable("oldSelf");
            Rc::new(Compiled { program, transition })
        });
        p.borrow_mut().insert(rule.to_string(), compiled.clone());
        compiled
    })
}

/// Functions a rule calls that nothing here implements ("" if it does not even parse).
pub fn unsupported_functions(rule: &str) -> Vec<String> {
    let Some(p) = program(rule) else {
        return vec![String::new()];
    };
    let refs = p.program.references();
    let mut out: Vec<String> = refs
        .functions()
        .into_iter()
        .filter(|f| f.starts_with(|c: char| c.is_ascii_alphabetic()) && !SUPPORTED.contains(f))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Converts a JSON value for CEL (objects become maps with string keys).
pub fn to_cel(v: &Value) -> cel::Value {
    match v {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => cel::Value::Int(i),
            (None, Some(u)) => cel::Value::UInt(u),
            _ => cel::Value::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(a) => cel::Value::List(Arc::new(a.iter().map(to_cel).collect())),
        Value::Object(m) => cel::Value::Map(CelMap {
            map: Arc::new(
                m.iter()
                    .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                    .collect(),
            ),
        }),
    }
}

/// k8s.io/apiserver/pkg/cel/library `isIP`: an IPv4 or IPv6 address, no zone.
fn is_ip(This(s): This<Arc<String>>) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// The scheme of a URL as Go's `url.ParseRequestURI` reads it: an absolute URL (scheme
/// then `:`), or an absolute path (no scheme). None if it does not parse.
fn parse_url(s: &str) -> Option<String> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    if s.starts_with('/') {
        return Some(String::new());
    }
    let (scheme, _) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    (first_ok && rest_ok).then(|| scheme.to_ascii_lowercase())
}

fn is_url(This(s): This<Arc<String>>) -> bool {
    parse_url(&s).is_some()
}

/// `url(s)`: a map standing for the URL value, read by `getScheme`.
fn url(ftx: &FunctionContext, This(s): This<Arc<String>>) -> Result<cel::Value, ExecutionError> {
    let scheme = parse_url(&s)
        .ok_or_else(|| ftx.error(format!("URL parse error during conversion from string: {s}")))?;
    Ok(to_cel(&json!({"__url": s.as_str(), "scheme": scheme})))
}

fn get_scheme(ftx: &FunctionContext, This(u): This<cel::Value>) -> Result<cel::Value, ExecutionError> {
    match u {
        cel::Value::Map(m) => Ok(m
            .get(&Key::String(Arc::new("scheme".into())))
            .cloned()
            .unwrap_or(cel::Value::Null)),
        _ => Err(ftx.error("getScheme needs a URL")),
    }
}

/// cel-go's strings extension `split(sep)`.
fn split(This(s): This<Arc<String>>, sep: Arc<String>) -> Result<cel::Value, ExecutionError> {
    let parts: Vec<cel::Value> = s
        .split(sep.as_str())
        .map(|p| cel::Value::String(Arc::new(p.to_string())))
        .collect();
    Ok(cel::Value::List(Arc::new(parts)))
}

/// cel-go's strings extension `substring(start[, end])`, in code points.
fn substring(
    ftx: &FunctionContext,
    This(s): This<Arc<String>>,
    cel::extractors::Arguments(args): cel::extractors::Arguments,
) -> Result<cel::Value, ExecutionError> {
    let chars: Vec<char> = s.chars().collect();
    let index = |v: Option<&cel::Value>, default: usize| match v {
        None => Some(default),
        Some(cel::Value::Int(n)) => usize::try_from(*n).ok(),
        Some(_) => None,
    };
    let start = index(args.first(), 0);
    let end = index(args.get(1), chars.len());
    match (start, end) {
        (Some(a), Some(b)) if a <= b && b <= chars.len() => {
            Ok(cel::Value::String(Arc::new(chars[a..b].iter().collect())))
        }
        _ => Err(ftx.error("substring: index out of range")),
    }
}

fn context() -> Context<'static> {
    let mut ctx = Context::default();
    ctx.add_function("isIP", is_ip);
    ctx.add_function("isURL", is_url);
    ctx.add_function("url", url);
    ctx.add_function("getScheme", get_scheme);
    ctx.add_function("split", split);
    ctx.add_function("substring", substring);
    ctx
}

enum Outcome {
    Pass,
    Fail,
    Error(String),
}

/// A value a rule binds as `self` or `oldSelf`, converted for CEL once however many
/// rules its node has.
struct Bound<'v> {
    json: &'v Value,
    cel: OnceCell<cel::Value>,
}

impl<'v> Bound<'v> {
    fn new(json: &'v Value) -> Self {
        Bound {
            json,
            cel: OnceCell::new(),
        }
    }

    fn cel(&self) -> cel::Value {
        self.cel.get_or_init(|| to_cel(self.json)).clone()
    }
}

#[cfg(test)]
fn evaluate(rule: &str, value: &Value, old: Option<&Value>) -> Outcome {
    let Some(p) = program(rule) else {
        return Outcome::Error("compilation failed".into());
    };
    evaluate_compiled(&p, &Bound::new(value), old.map(Bound::new).as_ref())
}

fn evaluate_compiled(p: &Compiled, value: &Bound, old: Option<&Bound>) -> Outcome {
    let null = Bound::new(&Value::Null);
    let Some(old) = old.or(if p.transition { None } else { Some(&null) }) else {
        return Outcome::Pass;
    };
    let result = FUNCTIONS.with(|functions| {
        let mut ctx = functions.new_inner_scope();
        ctx.add_variable_from_value("self", value.cel());
        if p.transition {
            ctx.add_variable_from_value("oldSelf", old.cel());
        }
        eval_logic(p.program.expression(), &ctx)
    });
    match result {
        Ok(cel::Value::Bool(true)) => Outcome::Pass,
        Ok(cel::Value::Bool(false)) => Outcome::Fail,
        Ok(other) => Outcome::Error(format!("rule did not evaluate to a bool: {other:?}")),
        Err(e) => Outcome::Error(e.to_string()),
    }
}

/// Evaluates with CEL's commutative `||` and `&&` at the top of a rule (the crate stops at
/// the first operand's error): `error || true` is true and `error && false` is false, so
/// `size(self.certificateRefs) > 0 || size(self.options) > 0` holds when only `options`
/// is set, as in cel-go. Inside comprehensions the crate's own evaluation applies.
fn eval_logic(e: &IdedExpr, ctx: &Context) -> Result<cel::Value, ExecutionError> {
    let Expr::Call(call) = &e.expr else {
        return cel::Value::resolve(e, ctx);
    };
    match (call.func_name.as_str(), call.args.as_slice()) {
        (operators::LOGICAL_OR | operators::LOGICAL_AND, [a, b]) => {
            let short = call.func_name == operators::LOGICAL_OR;
            let (x, y) = (eval_logic(a, ctx), eval_logic(b, ctx));
            match (&x, &y) {
                (Ok(cel::Value::Bool(v)), _) | (_, Ok(cel::Value::Bool(v))) if *v == short => {
                    Ok(cel::Value::Bool(short))
                }
                (Ok(cel::Value::Bool(_)), Ok(cel::Value::Bool(_))) => Ok(cel::Value::Bool(!short)),
                (Err(_), _) => x,
                _ => y,
            }
        }
        (operators::CONDITIONAL, [c, t, f]) => match eval_logic(c, ctx)? {
            cel::Value::Bool(true) => eval_logic(t, ctx),
            cel::Value::Bool(false) => eval_logic(f, ctx),
            _ => Err(ExecutionError::NoSuchOverload),
        },
        _ => cel::Value::resolve(e, ctx),
    }
}

/// The CEL pass over a (defaulted, pruned, structurally valid) object.
///
/// Validation ratcheting (`CRDValidationRatcheting`, GA and on in 1.33): a rule that does
/// not read `oldSelf` and fails on a value the update left unchanged (correlated with the
/// old object and equal to it) is only a warning, never a rejection
/// (apiextensions-apiserver `schema/cel/validation.go`, `correlation.shouldRatchetError`).
/// Such rules are therefore not evaluated at all here: the answer is the same, and status
/// writes (which leave the spec as it was) do not evaluate every rule of the spec again.
pub struct CelWalk<'a> {
    pub defs: &'a HashMap<String, Value>,
    pub errors: Vec<FieldError>,
}

impl<'a> CelWalk<'a> {
    /// `same`: the value is correlated with `old` and equal to it (so are its children).
    pub fn node(&mut self, schema: &'a Value, v: &Value, old: Option<&Value>, same: bool, path: &str) {
        let s = resolve(self.defs, schema);
        let same = same || old.is_some_and(|o| o == v);
        if let Some(rules) = s["x-kubernetes-validations"].as_array() {
            let (bound, old_bound) = (Bound::new(v), old.map(Bound::new));
            for rule in rules {
                self.rule(s, rule, &bound, old_bound.as_ref(), same, path);
            }
        }
        match v {
            Value::Object(m) => {
                let props = s.get("properties").and_then(Value::as_object);
                let extra = s.get("additionalProperties").filter(|a| a.is_object());
                for (k, child_v) in m {
                    if path.is_empty() && k == "metadata" {
                        continue;
                    }
                    let Some(sub) = props.and_then(|p| p.get(k)).or(extra) else {
                        continue;
                    };
                    let sub_path = match props.and_then(|p| p.get(k)) {
                        Some(_) => child(path, k),
                        None => format!("{path}[{k}]"),
                    };
                    let old_child = old.and_then(|o| o.get(k));
                    self.node(sub, child_v, old_child, same, &sub_path);
                }
            }
            Value::Array(a) => {
                let Some(items) = s.get("items") else { return };
                for (i, item) in a.iter().enumerate() {
                    // An item of a list that does not correlate is never `same`.
                    let old_item = old.and_then(|o| correlate(s, item, o));
                    let same = same && old_item.is_some();
                    self.node(items, item, old_item, same, &format!("{path}[{i}]"));
                }
            }
            _ => {}
        }
    }

    fn rule(&mut self, s: &Value, rule: &Value, v: &Bound, old: Option<&Bound>, same: bool, path: &str) {
        let Some(src) = rule["rule"].as_str() else { return };
        let Some(compiled) = program(src) else {
            // Does not parse: pinned by a test as unchecked, never a false rejection.
            return;
        };
        if same && !compiled.transition {
            return;
        }
        let ty = s["type"].as_str().unwrap_or("object");
        let at = match rule["fieldPath"].as_str() {
            Some(fp) if !fp.is_empty() => format!("{path}{fp}"),
            _ => path.to_string(),
        };
        let detail = match evaluate_compiled(&compiled, v, old) {
            Outcome::Pass => return,
            Outcome::Fail => match rule["message"].as_str().map(str::trim) {
                Some(m) if !m.is_empty() => m.to_string(),
                _ => format!("failed rule: {}", src.trim()),
            },
            Outcome::Error(e) => {
                if !unsupported_functions(src).is_empty() {
                    // Pinned by a test as unchecked: never a false rejection.
                    return;
                }
                // 1.33's wording for an evaluation error: `<error> evaluating rule: <rule
                // message, else the rule>`.
                let shown = rule["message"].as_str().map(str::trim).filter(|m| !m.is_empty());
                format!("{e} evaluating rule: {}", shown.unwrap_or(src.trim()))
            }
        };
        // 1.33's `fieldErrorForReason(path, sts.Type, detail, reason)`.
        let err = match rule["reason"].as_str() {
            Some("FieldValueRequired") => FieldError::required(&at, &detail),
            Some("FieldValueForbidden") => FieldError::forbidden(&at, &detail),
            Some("FieldValueDuplicate") => FieldError::duplicate(&at, &super::errors::quote(ty)),
            _ => FieldError::invalid(&at, &json!(ty), &detail),
        };
        self.errors.push(err);
    }
}

/// The old item an updated list item is compared with: for `x-kubernetes-list-type: map`
/// the old item with the same keys; other lists are atomic and do not correlate.
fn correlate<'o>(s: &Value, item: &Value, old: &'o Value) -> Option<&'o Value> {
    if s["x-kubernetes-list-type"] != "map" {
        return None;
    }
    let keys = s["x-kubernetes-list-map-keys"].as_array()?;
    old.as_array()?.iter().find(|o| {
        keys.iter()
            .filter_map(Value::as_str)
            .all(|k| o.get(k) == item.get(k))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_library_functions() {
        let ok = |rule: &str, v: Value| matches!(evaluate(rule, &v, None), Outcome::Pass);
        assert!(ok("isIP(self)", json!("10.0.0.1")));
        assert!(!ok("isIP(self)", json!("example.com")));
        assert!(ok(
            "url(self).getScheme() in ['http', 'https']",
            json!("https://x")
        ));
        assert!(ok("self.split('/')[0].size() == 3", json!("abc/d")));
        assert!(ok("self.substring(7, 8) == '/'", json!("unix:///x")));
        assert!(ok(
            "self.all(l1, self.exists_one(l2, l1.name == l2.name))",
            json!([{"name": "a"}, {"name": "b"}])
        ));
        assert!(!ok(
            "self.all(l1, self.exists_one(l2, l1.name == l2.name))",
            json!([{"name": "a"}, {"name": "a"}])
        ));
        assert!(ok("duration(self) >= duration('1ms')", json!("5s")));
        assert!(
            ok("self == oldSelf", json!(1)),
            "a transition rule without an old value is skipped"
        );
        assert!(!matches!(
            evaluate("self == oldSelf", &json!(1), Some(&json!(2))),
            Outcome::Pass
        ));
    }
}
