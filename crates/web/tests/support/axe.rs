//! axe-core in the browser tests: finds `axe.min.js` (from npm, installed
//! by `.ci/run` into `~/.cache/switchboard/axe`, or named by
//! `SWITCHBOARD_AXE_JS`), injects it into the page through WebDriver (the
//! page's CSP does not apply to scripts the driver runs) and returns the
//! violations in a form a failing assertion can print.
//! Include it after the WebDriver client:
//! `#[path = "support/webdriver.rs"] mod webdriver;` then
//! `#[path = "support/axe.rs"] mod axe;`.

use crate::webdriver::{Browser, REQUIRE_ENV};
use serde_json::{json, Value as Json};
use std::path::PathBuf;

pub const AXE_ENV: &str = "SWITCHBOARD_AXE_JS";

/// axe-core's source, or `None` (with a notice) when it is not installed and
/// `SWITCHBOARD_REQUIRE_TOOLS` is not set.
pub fn source() -> Option<String> {
    let path = std::env::var_os(AXE_ENV).map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".cache/switchboard/axe/node_modules/axe-core/axe.min.js")
    });
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(e) => {
            let how = "npm install --prefix \"$HOME/.cache/switchboard/axe\" axe-core@4.10.3";
            if std::env::var_os(REQUIRE_ENV).is_some_and(|v| v == "1") {
                panic!("{REQUIRE_ENV}=1 but axe-core is missing at {} ({e}); {how}", path.display());
            }
            eprintln!("note: axe-core not found at {} ({e}); axe checks skipped ({how})", path.display());
            None
        }
    }
}

/// One violation: the rule, its impact, and the elements that break it.
#[derive(Debug)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub targets: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {} at {}", self.id, self.impact, self.help, self.targets.join(" | "))
    }
}

/// Runs axe on the current page (injecting it first where the page lacks
/// it) and returns its violations.
pub async fn violations(b: &Browser, axe_js: &str) -> Vec<Violation> {
    let loaded = b.exec("return typeof window.axe === 'object'", json!([])).await;
    if loaded != Json::Bool(true) {
        // The library as the script's body: no eval, which the CSP would refuse.
        let script = format!("{axe_js}\n;return typeof window.axe === 'object';");
        assert_eq!(b.exec(&script, json!([])).await, Json::Bool(true), "axe-core did not load");
    }
    let out = b
        .exec_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact || '', help: v.help,
                   targets: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').replace(/\\s+/g, ' ')) }))))
               .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), targets: [] }]));",
            json!([]),
        )
        .await;
    out.as_array()
        .map(|a| {
            a.iter()
                .map(|v| Violation {
                    id: v["id"].as_str().unwrap_or_default().to_owned(),
                    impact: v["impact"].as_str().unwrap_or_default().to_owned(),
                    help: v["help"].as_str().unwrap_or_default().to_owned(),
                    targets: v["targets"]
                        .as_array()
                        .map(|t| t.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}
