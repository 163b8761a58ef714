//! The part of kubectl's `-o jsonpath=TEMPLATE` the runbooks use (k8s.io/client-go/util/jsonpath,
//! with kubectl's `AllowMissingKeys(true)`): text with `{…}` expressions; a path of `.key`
//! (a `\.` inside a key is a dot), `[N]`, `[*]` and `[?(@.key=="value")]`; `{range …}…{end}`;
//! `{"text"}` literals. Several results print space-separated; a string prints bare, anything
//! else as JSON; a missing key prints nothing.

use serde_json::Value;

/// Evaluate `template` against `root`.
pub fn render(template: &str, root: &Value) -> Result<String, String> {
    let tokens = tokenize(template)?;
    let mut out = String::new();
    run(&tokens, std::slice::from_ref(root), &mut out)?;
    Ok(out)
}

#[derive(Debug, Clone)]
enum Token {
    Text(String),
    Path(String),
    Range(String),
    End,
}

fn tokenize(template: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            tokens.push(Token::Text(rest[..open].to_owned()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("unclosed action in {template}"))?
            + open;
        let inner = rest[open + 1..close].trim();
        tokens.push(if let Some(path) = inner.strip_prefix("range ") {
            Token::Range(path.trim().to_owned())
        } else if inner == "end" {
            Token::End
        } else if let Some(quoted) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Token::Text(quoted.replace("\\n", "\n").replace("\\t", "\t"))
        } else {
            Token::Path(inner.to_owned())
        });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        tokens.push(Token::Text(rest.to_owned()));
    }
    Ok(tokens)
}

fn run(tokens: &[Token], scope: &[Value], out: &mut String) -> Result<(), String> {
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Text(text) => out.push_str(text),
            Token::Path(path) => {
                let found: Vec<Value> = scope
                    .iter()
                    .map(|v| select(v, path))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .flatten()
                    .collect();
                out.push_str(&found.iter().map(print).collect::<Vec<_>>().join(" "));
            }
            Token::Range(path) => {
                let mut depth = 1;
                let mut end = i + 1;
                while end < tokens.len() {
                    match tokens[end] {
                        Token::Range(_) => depth += 1,
                        Token::End => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    end += 1;
                }
                let body = &tokens[i + 1..end.min(tokens.len())];
                for value in scope {
                    for item in select(value, path)? {
                        run(body, &[item], out)?;
                    }
                }
                i = end;
            }
            Token::End => {}
        }
        i += 1;
    }
    Ok(())
}

fn print(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The values a path selects from `root`.
fn select(root: &Value, path: &str) -> Result<Vec<Value>, String> {
    let mut current = vec![root.clone()];
    let mut rest = path.strip_prefix('@').unwrap_or(path);
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let mut key = String::new();
            let mut chars = after.char_indices();
            let mut consumed = after.len();
            while let Some((at, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, next)) = chars.next() {
                            key.push(next);
                        }
                    }
                    '.' | '[' => {
                        consumed = at;
                        break;
                    }
                    c => key.push(c),
                }
            }
            rest = &after[consumed..];
            if key.is_empty() {
                continue;
            }
            current = current.iter().filter_map(|v| v.get(&key).cloned()).collect();
        } else if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or_else(|| format!("unclosed [ in {path}"))?;
            let inside = &after[..close];
            rest = &after[close + 1..];
            current = if inside == "*" {
                current.iter().flat_map(elements).collect()
            } else if let Some(filter) = inside.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                let (left, right) = filter
                    .split_once("==")
                    .ok_or_else(|| format!("unsupported filter {filter}"))?;
                let wanted = right.trim().trim_matches(|c| c == '"' || c == '\'');
                let mut kept = Vec::new();
                for item in current.iter().flat_map(elements) {
                    if select(&item, left.trim())?.first().map(print).as_deref() == Some(wanted) {
                        kept.push(item);
                    }
                }
                kept
            } else {
                let index: usize = inside.parse().map_err(|_| format!("unsupported index [{inside}]"))?;
                current.iter().filter_map(|v| v.get(index).cloned()).collect()
            };
        } else {
            return Err(format!("unsupported path {path}"));
        }
    }
    Ok(current)
}

fn elements(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Object(map) => map.values().cloned().collect(),
        _ => Vec::new(),
    }
}
