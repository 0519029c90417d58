//! Swagger UI in a real browser: headless Chromium driven over WebDriver.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::helpers::{PATIENCE, client, spawn_app};

/// A chromedriver on a free loopback port, killed when dropped.
struct ChromeDriver {
    _process: Child,
    url: String,
    /// A fresh Chromium profile per run, removed when dropped.
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver runs (Debian: chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        while client().get(format!("{url}/status")).send().await.is_err() {
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not start within PATIENCE"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            _process: process,
            url,
            profile: tempfile::tempdir().unwrap(),
        }
    }

    /// A headless Chromium session that reaches nothing beyond loopback.
    async fn session(&self) -> Client {
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1280,2000".to_owned(),
            format!("--user-data-dir={}", self.profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".to_owned(), json!({ "args": args }));
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

/// The text of the first element matching `css`, once it has some.
async fn text_of(browser: &Client, css: &str) -> String {
    let element = browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap();
    element.text().await.unwrap()
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (Debian: chromium, chromium-driver): run by .ci/run"]
async fn swagger_ui_lists_the_health_operations_and_executes_get_health() {
    let app = spawn_app(&["--nrp", "browser-test"]).await;
    let driver = ChromeDriver::start().await;
    let browser = driver.session().await;
    browser.goto(&app.url("/docs")).await.unwrap();

    // The operations, under their tag, with the method and path Swagger UI shows.
    let get = browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#operations-Health-getHealth"))
        .await
        .expect("GET /health is listed");
    assert!(get.text().await.unwrap().contains("/health"));
    let head = text_of(&browser, "#operations-Health-headHealth").await;
    assert!(head.contains("HEAD") && head.contains("/health"), "{head}");
    for probe in [
        "#operations-Probes-getLivez",
        "#operations-Probes-getReadyz",
    ] {
        browser
            .find(Locator::Css(probe))
            .await
            .unwrap_or_else(|_| panic!("{probe} is listed"));
    }
    // The response schema is shown among the models.
    let schemas = text_of(&browser, "section.models").await;
    assert!(schemas.contains("Health"), "{schemas}");

    // Try it out → Execute on GET /health.
    get.find(Locator::Css(".opblock-summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let try_it = browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#operations-Health-getHealth .try-out__btn"))
        .await
        .unwrap();
    try_it.click().await.unwrap();
    let execute = browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#operations-Health-getHealth .execute"))
        .await
        .unwrap();
    execute.click().await.unwrap();

    let status = text_of(
        &browser,
        "#operations-Health-getHealth .live-responses-table tr.response .response-col_status",
    )
    .await;
    assert_eq!(status.trim(), "200");
    let body = text_of(&browser, "#operations-Health-getHealth .live-responses-table tr.response .response-col_description pre").await;
    let body: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(body["status"], "UP");
    assert_eq!(body["nrp"], "browser-test");

    let screenshot = browser.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/swagger-ui.png");
    std::fs::write(&path, screenshot).unwrap();
    println!("screenshot: {}", path.display());
    browser.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (Debian: chromium, chromium-driver): run by .ci/run"]
async fn the_status_page_renders_with_its_stylesheet_on_desktop_and_phone() {
    use crate::monitor::{Behaviour, TargetServer, TestMonitor, fill_history, target};

    // 90 days of history: t0 always up; t1 down for an hour a day in its last week and down
    // now; t2 had one bad day a month ago.
    let data = fill_history(3, 90, |target, minute| {
        let day = minute / 1440;
        match target {
            1 => !(day >= 83 && minute % 1440 < 60),
            2 => day != 60 || minute % 1440 >= 300,
            _ => true,
        }
    });
    let up = TargetServer::start(Behaviour::healthy()).await;
    let down = TargetServer::start(Behaviour::failing()).await;
    let toml = format!(
        "[monitor]\ntitle = \"Status of health-service\"\n{}{}{}",
        target("t0", &up.url("/health"), "group = \"production\""),
        target(
            "t1",
            &down.url("/health"),
            "group = \"production\"\nfailure_threshold = 1"
        ),
        target("t2", &up.url("/livez"), "group = \"staging\""),
    );
    let monitor = TestMonitor::start_in(&toml, data).await;
    monitor.wait_for_states(&["up", "down", "up"]).await;

    let driver = ChromeDriver::start().await;
    let browser = driver.session().await;
    // A desktop window just tall enough for the page, for the README's screenshot.
    browser.set_window_size(1280, 1050).await.unwrap();
    browser.goto(&monitor.url("/status")).await.unwrap();
    assert_eq!(text_of(&browser, ".banner").await, "Partial outage");
    // The stylesheet loaded under the page's CSP: the banner has its colour, not the default.
    let background = browser
        .execute(
            "return getComputedStyle(document.querySelector('.banner')).backgroundColor",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(background, json!("rgb(154, 103, 0)"));
    let bars = browser
        .find_all(Locator::Css("section.target svg.bars rect"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 3 * 90);
    let t1 = text_of(&browser, "section[aria-label=t1]").await;
    assert!(t1.contains("Down"), "{t1}");
    let incidents = text_of(&browser, "table tbody").await;
    assert!(
        incidents.contains("t1") && incidents.contains("ongoing"),
        "{incidents}"
    );

    let screenshot = browser.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/status-page.png");
    std::fs::write(&path, screenshot).unwrap();
    println!("screenshot: {}", path.display());

    // A phone: nothing wider than the screen.
    browser.set_window_size(390, 844).await.unwrap();
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(0), "horizontal scrolling on a phone");
    let screenshot = browser.screenshot().await.unwrap();
    std::fs::write(path.with_file_name("status-page-phone.png"), screenshot).unwrap();

    // A target's name leads to its page: the 90 days larger, its results, still no overflow.
    browser.set_window_size(1280, 1050).await.unwrap();
    browser
        .find(Locator::Css("section[aria-label=t1] a.name"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/status/t1");
    assert_eq!(text_of(&browser, "h1").await, "t1");
    let bars = browser
        .find_all(Locator::Css(".detail svg.bars rect"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 90);
    let height = browser
        .execute(
            "return document.querySelector('.detail svg.bars').getBoundingClientRect().height",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(height, json!(80), "5rem, larger than /status's bars");
    let screenshot = browser.screenshot().await.unwrap();
    std::fs::write(path.with_file_name("target-page.png"), screenshot).unwrap();
    browser.set_window_size(390, 844).await.unwrap();
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        json!(0),
        "horizontal scrolling on a phone (target page)"
    );
    browser.close().await.unwrap();
    monitor.stop().await;
}
