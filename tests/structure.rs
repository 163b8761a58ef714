//! The house's structure, checked by reading `src/` as Rust (syn), never by eye:
//!
//! - the library's modules form levels, declared lowest first in `lib.rs`'s `//!` block, and
//!   every module uses only modules below it — so no module imports one that imports it back;
//! - the files of one directory module use each other without a circle;
//! - no module reaches for an item `lib.rs` defines itself (the facade sits above them all);
//! - only validation seals a `ValidSpec`.
//!
//! References are `crate::…`, `super::…` and `self::…` paths anywhere: `use` trees, code, and
//! the tokens of macro calls (`format!`, `matches!`, …). Comments and doc links are not code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../src");

/// One reference from a file to a module path (absolute, without `crate`).
#[derive(Debug, Clone)]
struct Reference {
    file: String,
    from: Vec<String>,
    to: Vec<String>,
}

#[test]
fn every_module_uses_only_the_levels_below_it() {
    let levels = declared_levels();
    let declared = lib_modules();
    let listed: BTreeSet<String> = levels.iter().cloned().collect();
    assert_eq!(
        listed.len(),
        levels.len(),
        "a module is listed twice in lib.rs's levels: {levels:?}"
    );
    assert_eq!(
        listed, declared,
        "lib.rs's level list must name every module it declares, and only those"
    );
    let rank = |m: &str| levels.iter().position(|l| l == m);
    let roots = root_items();
    let mut violations = Vec::new();
    for r in references() {
        let (from, to) = (&r.from[0], &r.to[0]);
        if from == to {
            continue;
        }
        if let Some(item) = roots.defined.get(to) {
            violations.push(format!(
                "{}: uses crate::{to}, which lib.rs defines ({item}): move it into a level",
                r.file
            ));
            continue;
        }
        let target = roots.reexported.get(to).unwrap_or(to);
        match (rank(from), rank(target)) {
            (Some(a), Some(b)) if b < a => {}
            (Some(_), Some(_)) => violations.push(format!(
                "{}: `{from}` uses `{}`, which is not below it in lib.rs's levels",
                r.file,
                r.to.join("::")
            )),
            _ => violations.push(format!("{}: `{}` names no module of lib.rs", r.file, r.to.join("::"))),
        }
    }
    assert!(
        violations.is_empty(),
        "the module graph must be one-way:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_files_of_one_module_use_each_other_without_a_circle() {
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for r in references() {
        // A child's use of a sibling (`super::sibling`, `crate::top::sibling`); a parent and
        // its children share one namespace, as Rust has it.
        if r.from.len() >= 2 && r.to.len() >= 2 && r.from[0] == r.to[0] && r.from[1] != r.to[1] {
            let siblings = submodules(&r.from[0]);
            if siblings.contains(&r.to[1]) && siblings.contains(&r.from[1]) {
                edges
                    .entry((r.from[0].clone(), r.from[1].clone()))
                    .or_default()
                    .insert(r.to[1].clone());
            }
        }
    }
    for ((top, child), _) in edges.iter() {
        let mut stack = vec![vec![child.clone()]];
        while let Some(path) = stack.pop() {
            let last = path.last().cloned().unwrap_or_default();
            for next in edges.get(&(top.clone(), last)).into_iter().flatten() {
                assert!(next != child, "{top}: {} → {next} is a circle", path.join(" → "));
                if !path.contains(next) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
}

#[test]
fn only_validation_seals_a_valid_spec() {
    let mut sealers = Vec::new();
    for (file, text) in source_files() {
        if text.contains("ValidSpec::sealed(") && !file.starts_with("validate/") {
            sealers.push(file);
        }
    }
    assert!(
        sealers.is_empty(),
        "ValidSpec::sealed is called outside validate/: {sealers:?}"
    );
}

/// The levels, lowest first: the words of the ```text block after "Levels, lowest first" in
/// lib.rs, without the parenthesised notes.
fn declared_levels() -> Vec<String> {
    let lib = read("lib.rs");
    let docs: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect();
    let block = docs
        .split("Levels, lowest first")
        .nth(1)
        .and_then(|rest| rest.split("```text\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("lib.rs's //! says `Layers, lowest first` above a ```text block");
    block
        .lines()
        .map(|line| line.split('(').next().unwrap_or_default())
        .flat_map(|line| line.split(|c: char| c.is_whitespace() || c == '<' || c == ','))
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The modules lib.rs declares (`mod x;` and `pub mod x;`).
fn lib_modules() -> BTreeSet<String> {
    let file = syn::parse_file(&read("lib.rs")).expect("lib.rs parses");
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) if m.content.is_none() => Some(m.ident.to_string()),
            _ => None,
        })
        .collect()
}

/// What lib.rs itself holds: items it defines, and names it re-exports from a module.
struct RootItems {
    defined: BTreeMap<String, String>,
    reexported: BTreeMap<String, String>,
}

fn root_items() -> RootItems {
    let file = syn::parse_file(&read("lib.rs")).expect("lib.rs parses");
    let mut defined = BTreeMap::new();
    let mut reexported = BTreeMap::new();
    for item in &file.items {
        let named = |kind: &str, ident: &syn::Ident| (ident.to_string(), format!("{kind} {ident}"));
        let entry = match item {
            syn::Item::Fn(f) => Some(named("fn", &f.sig.ident)),
            syn::Item::Struct(s) => Some(named("struct", &s.ident)),
            syn::Item::Enum(e) => Some(named("enum", &e.ident)),
            syn::Item::Const(c) => Some(named("const", &c.ident)),
            syn::Item::Static(s) => Some(named("static", &s.ident)),
            syn::Item::Use(u) => {
                let mut names = Vec::new();
                leaf_names(&u.tree, None, &mut names);
                reexported.extend(names);
                None
            }
            _ => None,
        };
        defined.extend(entry);
    }
    RootItems { defined, reexported }
}

/// `pub use module::{A, b::C}` → (A, module), (C, module).
fn leaf_names(tree: &syn::UseTree, module: Option<&str>, out: &mut Vec<(String, String)>) {
    match tree {
        syn::UseTree::Path(p) => {
            let module = module.map(str::to_owned).unwrap_or_else(|| p.ident.to_string());
            leaf_names(&p.tree, Some(&module), out);
        }
        syn::UseTree::Name(n) => out.extend(module.map(|m| (n.ident.to_string(), m.to_owned()))),
        syn::UseTree::Rename(r) => out.extend(module.map(|m| (r.rename.to_string(), m.to_owned()))),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| leaf_names(t, module, out)),
        syn::UseTree::Glob(_) => {}
    }
}

/// Every `crate`/`super`/`self` reference in every module file (lib.rs and main.rs aside).
fn references() -> Vec<Reference> {
    let mut all = Vec::new();
    for (file, text) in source_files() {
        if file == "lib.rs" {
            continue;
        }
        let syntax = syn::parse_file(&text).unwrap_or_else(|e| panic!("src/{file} does not parse: {e}"));
        let mut collector = Collector {
            file: file.clone(),
            module: module_path(&file),
            found: Vec::new(),
        };
        collector.visit_file(&syntax);
        all.extend(collector.found);
    }
    assert!(!all.is_empty(), "no references found: the collector is broken");
    all
}

struct Collector {
    file: String,
    module: Vec<String>,
    found: Vec<Reference>,
}

impl Collector {
    /// Record `segments` (as written) when they start at `crate`, `super` or `self`.
    fn record(&mut self, segments: &[String]) {
        let mut base = match segments.first().map(String::as_str) {
            Some("crate") => Vec::new(),
            Some("super") | Some("self") => self.module.clone(),
            _ => return,
        };
        let mut rest = &segments[usize::from(segments[0] == "crate")..];
        while let Some(word) = rest.first().map(String::as_str) {
            match word {
                "super" => {
                    base.pop();
                }
                "self" => {}
                _ => break,
            }
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        if base.is_empty() || rest.is_empty() {
            return;
        }
        self.found.push(Reference {
            file: format!("src/{}", self.file),
            from: self.module.clone(),
            to: base,
        });
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                full.push(n.ident.to_string());
                self.record(&full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                self.record(&full);
            }
            syn::UseTree::Glob(_) => {
                let full = prefix.clone();
                self.record(&full);
            }
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(item, prefix);
                }
            }
        }
    }

    /// `crate :: a :: b` sequences inside a macro's tokens.
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            if let TokenTree::Group(group) = &trees[i] {
                self.tokens(group.stream());
            }
            if let TokenTree::Ident(ident) = &trees[i]
                && ["crate", "super", "self"].contains(&ident.to_string().as_str())
            {
                let mut segments = vec![ident.to_string()];
                let mut j = i + 1;
                while let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)), Some(TokenTree::Ident(next))) =
                    (trees.get(j), trees.get(j + 1), trees.get(j + 2))
                {
                    if a.as_char() != ':' || b.as_char() != ':' {
                        break;
                    }
                    segments.push(next.to_string());
                    j += 3;
                }
                self.record(&segments);
                i = j;
                continue;
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.module.push(item.ident.to_string());
        syn::visit::visit_item_mod(self, item);
        self.module.pop();
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&item.tree, &mut Vec::new());
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(&segments);
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

/// `validate/deploy.rs` → [validate, deploy]; `validate/mod.rs` → [validate].
fn module_path(file: &str) -> Vec<String> {
    let trimmed = file.trim_end_matches(".rs").trim_end_matches("/mod");
    trimmed.split('/').map(str::to_owned).collect()
}

/// The files of a directory module, by module name.
fn submodules(top: &str) -> BTreeSet<String> {
    source_files()
        .into_keys()
        .filter_map(|f| {
            f.strip_prefix(&format!("{top}/"))
                .map(|rest| rest.trim_end_matches(".rs").to_owned())
        })
        .filter(|name| name != "mod")
        .collect()
}

/// Every `.rs` file under src/, by path relative to it.
fn source_files() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    collect(Path::new(SRC), SRC, &mut files);
    files
}

fn collect(dir: &Path, base: &str, files: &mut BTreeMap<String, String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, base, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path
                .strip_prefix(base)
                .expect("under its base")
                .to_string_lossy()
                .replace('\\', "/");
            files.insert(relative, std::fs::read_to_string(&path).expect("a source file"));
        }
    }
}

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(SRC).join(file)).unwrap_or_else(|e| panic!("src/{file}: {e}"))
}
