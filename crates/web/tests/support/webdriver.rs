//! A small WebDriver client for the browser tests: starts Debian's
//! `chromedriver` on a free port, opens one headless Chromium session, and
//! offers the few commands the tests use. Plain HTTP + JSON over `reqwest`,
//! so no browser-automation crate is needed.

use base64::Engine as _;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
pub const REQUIRE_ENV: &str = "SWITCHBOARD_REQUIRE_TOOLS";

pub struct Browser {
    child: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`
    session: String,
    shots: PathBuf,
}

/// A program on the PATH (Debian puts both in /usr/bin).
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|c| c.exists()))
}

/// Where screenshots go: `target/ui-screenshots/` of the workspace.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("ui-screenshots")
}

impl Browser {
    /// A headless browser, or `None` (with a notice) when chromedriver or
    /// chromium is missing and `SWITCHBOARD_REQUIRE_TOOLS` is not set.
    pub async fn start() -> Option<Browser> {
        let (Some(driver), Some(chromium)) = (which("chromedriver"), which("chromium")) else {
            if std::env::var_os(REQUIRE_ENV).is_some_and(|v| v == "1") {
                panic!("{REQUIRE_ENV}=1 but chromedriver/chromium are missing (apt-get install chromium chromium-driver)");
            }
            eprintln!("note: chromedriver or chromium not found; browser tests skipped (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = match http.get(format!("{base}/status")).send().await {
                Ok(r) => r.json::<Json>().await.ok().is_some_and(|j| j["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("switchboard-chromium-{}-{port}", std::process::id()));
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900",
                         "--no-first-run", "--disable-extensions", format!("--user-data-dir={}", profile.display())]
            }
        } } });
        let resp: Json = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = resp["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("new session failed: {resp}")).to_owned();
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots).unwrap();
        Some(Browser { child, http, session: format!("{base}/session/{id}"), shots })
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Json>) -> Result<Json, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp: Json = req.send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        match resp["value"].get("error") {
            Some(e) => Err(format!("{e}: {}", resp["value"]["message"])),
            None => Ok(resp["value"].clone()),
        }
    }

    async fn post(&self, path: &str, body: Json) -> Json {
        self.cmd(reqwest::Method::POST, path, Some(body)).await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn get(&self, path: &str) -> Json {
        self.cmd(reqwest::Method::GET, path, None).await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap_or_default().to_owned()
    }

    /// The first element matching `css`, waiting up to five seconds for it.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.cmd(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))).await {
                Ok(v) => return v[ELEMENT].as_str().unwrap().to_owned(),
                Err(e) if Instant::now() > deadline => panic!("no element {css} on {}: {e}", self.url().await),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn count(&self, css: &str) -> usize {
        self.post("/elements", json!({ "using": "css selector", "value": css })).await.as_array().map_or(0, Vec::len)
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.post(&format!("/element/{el}/click"), json!({})).await;
    }

    /// Clicks something that loads a new page, and waits for that page
    /// (a click returns before a form's navigation has finished).
    pub async fn click_to_load(&self, css: &str) {
        self.exec("window.__sb_old_page = true", json!([])).await;
        self.click(css).await;
        self.wait_for("the next page", "return !window.__sb_old_page && document.readyState === 'complete'").await;
    }

    /// Replaces an input's text, typing like a user.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.post(&format!("/element/{el}/clear"), json!({})).await;
        self.post(&format!("/element/{el}/value"), json!({ "text": text })).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.get(&format!("/element/{el}/text")).await.as_str().unwrap_or_default().to_owned()
    }

    /// Runs a script in the page; `arguments` are `args`.
    pub async fn exec(&self, script: &str, args: Json) -> Json {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Runs an asynchronous script; it calls the last argument with its result.
    pub async fn exec_async(&self, script: &str, args: Json) -> Json {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    pub async fn windows(&self) -> Vec<String> {
        self.get("/window/handles").await.as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_owned()).collect()
    }

    pub async fn switch_to(&self, handle: &str) {
        self.post("/window", json!({ "handle": handle })).await;
    }

    pub async fn window(&self) -> String {
        self.get("/window").await.as_str().unwrap().to_owned()
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height })).await;
    }

    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.cmd(reqwest::Method::GET, &format!("/cookie/{name}"), None).await.ok().and_then(|c| c["value"].as_str().map(str::to_owned))
    }

    pub async fn delete_cookie(&self, name: &str) {
        let _ = self.cmd(reqwest::Method::DELETE, &format!("/cookie/{name}"), None).await;
    }

    /// Saves a PNG of the viewport as `<dir>/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let b64 = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Waits until `cond` (a script returning a boolean) holds.
    pub async fn wait_for(&self, what: &str, cond: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        // A script may run while the page changes; that counts as "not yet".
        while self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": cond, "args": [] }))).await.ok()
            != Some(Json::Bool(true))
        {
            assert!(Instant::now() < deadline, "timed out waiting for {what} on {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the session and the driver.
    pub async fn quit(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A Chrome DevTools command, e.g. `Emulation.setEmulatedMedia`.
    #[allow(dead_code)] // not every test file emulates media
    pub async fn cdp(&self, cmd: &str, params: Json) -> Json {
        self.post("/goog/cdp/execute", json!({ "cmd": cmd, "params": params })).await
    }

    /// The browser's own time zone, as if the machine were there (CDP).
    #[allow(dead_code)]
    pub async fn emulate_time_zone(&self, zone: &str) {
        self.post("/goog/cdp/execute", json!({ "cmd": "Emulation.setTimezoneOverride", "params": { "timezoneId": zone } })).await;
    }

    /// Types `text` into an element without clearing it first (WebDriver
    /// key codes such as `\u{E015}`, arrow down, work in it).
    #[allow(dead_code)]
    pub async fn keys(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.post(&format!("/element/{el}/value"), json!({ "text": text })).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failed assertion: at least stop the driver (and its browser).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
