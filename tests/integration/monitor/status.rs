//! `/status`, `/status.css`, the badges and `/incidents.atom`: contents, types, 404s, and
//! well-formed XML read by a real parser.

use super::{Behaviour, TargetServer, TestMonitor, target};
use crate::compression::{BROWSER, assert_negotiated, fetch, get as raw};
use crate::helpers::client;

const SVG: &str = "http://www.w3.org/2000/svg";
const ATOM: &str = "http://www.w3.org/2005/Atom";

/// A monitor of one healthy target (group production) and one failing one (no group).
async fn monitor() -> (TestMonitor, TargetServer, TargetServer) {
    let up = TargetServer::start(Behaviour::healthy()).await;
    let down = TargetServer::start(Behaviour::failing()).await;
    let toml = format!(
        "[monitor]\ntitle = \"Status of <things> & co\"\n{}{}",
        target("api", &up.url("/health"), "group = \"production\""),
        target("db", &down.url("/"), "failure_threshold = 1"),
    );
    let monitor = TestMonitor::start(&toml).await;
    monitor.wait_for_states(&["up", "down"]).await;
    (monitor, up, down)
}

async fn get(monitor: &TestMonitor, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client().get(monitor.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn the_status_page_shows_targets_by_group_states_and_incidents() {
    let (monitor, _up, _down) = monitor().await;
    let (status, headers, html) = get(&monitor, "/status").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    // The title is escaped, in <title> and <h1>.
    assert!(
        html.contains("<title>Status of &lt;things&gt; &amp; co</title>"),
        "{html}"
    );
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"60\">"));
    assert!(html.contains("<p class=\"banner degraded\" role=\"status\">Partial outage</p>"));
    // Ungrouped first, then the group's heading and its target.
    let db = html.find("aria-label=\"db\"").unwrap();
    let heading = html.find("<h2>production</h2>").unwrap();
    let api = html.find("aria-label=\"api\"").unwrap();
    assert!(db < heading && heading < api);
    assert!(html.contains("<span class=\"state down\">Down</span>"));
    assert!(html.contains("<span class=\"state up\">Up</span>"));
    // 90 day bars per target, each with its date and figure.
    assert_eq!(html.matches("<rect ").count(), 2 * 90);
    assert!(html.contains(": 100% up, 0 of "), "{html}");
    assert!(html.contains(": 0.00% up, "), "{html}");
    // The incident, ongoing, with its cause and an anchor for the feed.
    assert!(html.contains("<tr id=\"incident-1\">"), "{html}");
    assert!(html.contains("<span class=\"ongoing\">ongoing</span>"));
    assert!(html.contains("status 503 is not 200..399"));
    // Nothing third-party: no script, and every link and stylesheet is on this host.
    assert!(!html.contains("<script"));
    for attribute in ["href=\"", "src=\""] {
        for value in html.split(attribute).skip(1) {
            assert!(
                value.starts_with('/') || value.starts_with('#'),
                "{attribute}{value:.60}"
            );
        }
    }
    monitor.stop().await;
}

#[tokio::test]
async fn the_stylesheet_and_the_front_door_are_served() {
    let (monitor, _up, _down) = monitor().await;
    let (status, headers, css) = get(&monitor, "/status.css").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/css; charset=utf-8");
    assert_eq!(headers["cache-control"], "max-age=3600");
    assert!(css.contains("prefers-color-scheme: dark"));
    let response = client().get(monitor.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], "/status");
    monitor.stop().await;
}

/// The badge at `path`: its parsed SVG's accessible label.
async fn badge(monitor: &TestMonitor, path: &str) -> String {
    let (status, headers, body) = get(monitor, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(headers["content-type"], "image/svg+xml", "{path}");
    assert_eq!(headers["cache-control"], "max-age=60", "{path}");
    let svg = roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    let root = svg.root_element();
    assert_eq!(root.tag_name().namespace(), Some(SVG), "{path}");
    assert_eq!(root.tag_name().name(), "svg", "{path}");
    let title = root
        .children()
        .find(|n| n.has_tag_name((SVG, "title")))
        .unwrap();
    assert_eq!(
        Some(title.text().unwrap()),
        root.attribute("aria-label"),
        "{path}"
    );
    title.text().unwrap().to_owned()
}

#[tokio::test]
async fn badges_are_well_formed_svg_with_the_figures() {
    let (monitor, _up, _down) = monitor().await;
    assert_eq!(badge(&monitor, "/badges/api/status.svg").await, "api: up");
    assert_eq!(badge(&monitor, "/badges/db/status.svg").await, "db: down");
    assert_eq!(
        badge(&monitor, "/badges/api/uptime.svg").await,
        "uptime 30d: 100%"
    );
    for window in ["24h", "7d", "30d", "90d"] {
        let label = badge(&monitor, &format!("/badges/db/uptime.svg?window={window}")).await;
        assert_eq!(label, format!("uptime {window}: 0.00%"));
    }
    let response_time = badge(&monitor, "/badges/api/response-time.svg").await;
    assert!(
        response_time.starts_with("response time: ") && response_time.ends_with(" ms"),
        "{response_time}"
    );

    for path in [
        "/badges/nope/status.svg",
        "/badges/nope/uptime.svg",
        "/badges/nope/response-time.svg",
    ] {
        let (status, headers, body) = get(&monitor, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            headers["content-type"], "application/json; charset=utf-8",
            "{path}"
        );
        assert!(
            body.contains("no target named \\\"nope\\\""),
            "{path}: {body}"
        );
    }
    let (status, _, _) = get(&monitor, "/badges/api/uptime.svg?window=1y").await;
    assert_eq!(status, 400);
    monitor.stop().await;
}

/// The feed's entries as (id, title, updated).
fn entries(feed: &str) -> Vec<(String, String, String)> {
    let doc = roxmltree::Document::parse(feed).unwrap_or_else(|e| panic!("{e}: {feed}"));
    let root = doc.root_element();
    assert!(root.has_tag_name((ATOM, "feed")), "{feed}");
    let text = |node: roxmltree::Node, name: &str| {
        node.children()
            .find(|n| n.has_tag_name((ATOM, name)))
            .and_then(|n| n.text())
            .unwrap_or_else(|| panic!("no {name}: {feed}"))
            .to_owned()
    };
    for required in ["id", "title", "updated"] {
        text(root, required);
    }
    assert!(
        root.children().any(|n| n.has_tag_name((ATOM, "author"))),
        "RFC 4287 4.1.1: {feed}"
    );
    root.children()
        .filter(|n| n.has_tag_name((ATOM, "entry")))
        .map(|entry| {
            (
                text(entry, "id"),
                text(entry, "title"),
                text(entry, "updated"),
            )
        })
        .collect()
}

/// The feed's entries once `done` holds for them, read every 50 ms for at most 5 s.
async fn feed_until(
    monitor: &TestMonitor,
    done: impl Fn(&[(String, String, String)]) -> bool,
) -> Vec<(String, String, String)> {
    for _ in 0..100 {
        let found = entries(&get(monitor, "/incidents.atom").await.2);
        if done(&found) {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the feed did not change within 5 s");
}

#[tokio::test]
async fn the_feed_has_an_entry_per_incident_updated_when_it_resolves() {
    let server = TargetServer::start(Behaviour::failing()).await;
    let toml = format!(
        "[monitor]\npublic_url = \"https://status.example.org/\"\n{}",
        target(
            "api",
            &server.url("/"),
            "failure_threshold = 1\nsuccess_threshold = 1"
        ),
    );
    let monitor = TestMonitor::start(&toml).await;
    let (status, headers, empty) = get(&monitor, "/incidents.atom").await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    assert!(
        empty.contains("<id>https://status.example.org/incidents.atom</id>"),
        "{empty}"
    );

    // The feed is served from a copy at most a second old: read until the incident is in it.
    let open = feed_until(&monitor, |entries| !entries.is_empty()).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].0, "https://status.example.org/status#incident-1");
    assert_eq!(open[0].1, "api is down");

    server.set(Behaviour::healthy());
    super::eventually("the resolution", || async {
        monitor.get("/api/v1/incidents").await["incidents"][0]["resolved_at"].is_string()
    })
    .await;
    let incidents = monitor.get("/api/v1/incidents").await;
    let resolved = feed_until(&monitor, |entries| entries.first() != open.first()).await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].0, open[0].0, "the same entry");
    assert!(
        resolved[0].1.starts_with("api was down for "),
        "{resolved:?}"
    );
    assert_ne!(resolved[0].2, open[0].2, "updated moves on resolution");
    let resolved_at = incidents["incidents"][0]["resolved_at"].as_str().unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&resolved[0].2).unwrap(),
        chrono::DateTime::parse_from_rfc3339(resolved_at).unwrap()
    );
    monitor.stop().await;
}

#[tokio::test]
async fn the_pages_are_in_the_openapi_document() {
    let (monitor, _up, _down) = monitor().await;
    let spec = monitor.get("/openapi.json").await;
    let expected = [
        ("/status", "text/html; charset=utf-8"),
        ("/status.css", "text/css; charset=utf-8"),
        ("/badges/{name}/status.svg", "image/svg+xml"),
        ("/badges/{name}/uptime.svg", "image/svg+xml"),
        ("/badges/{name}/response-time.svg", "image/svg+xml"),
        ("/incidents.atom", "application/atom+xml; charset=utf-8"),
    ];
    for (path, media) in expected {
        let ok = &spec["paths"][path]["get"]["responses"]["200"]["content"][media];
        assert!(
            ok.is_object(),
            "{path} documents {media}: {}",
            spec["paths"][path]
        );
    }
    let window = &spec["paths"]["/badges/{name}/uptime.svg"]["get"]["parameters"];
    assert!(window.to_string().contains("\"30d\""), "{window}");
    monitor.stop().await;
}

#[tokio::test]
async fn the_pages_are_compressed_for_those_who_accept_it_and_kept_a_few_seconds() {
    let (monitor, _up, _down) = monitor().await;
    for path in [
        "/status",
        "/status.css",
        "/incidents.atom",
        "/badges/api/uptime.svg?window=24h",
    ] {
        let page = raw(&monitor.url(path), Some(BROWSER)).await;
        if page.decoded().len() < 1024 {
            // A badge may be under 1 KB: then it is sent as it is, to everyone.
            assert_eq!(page.coding(), "", "{path}");
            continue;
        }
        assert_negotiated(&monitor.url(path), "gzip").await;
    }
    let page = raw(&monitor.url("/status"), Some(BROWSER)).await;
    assert_eq!(page.header("cache-control"), "public, max-age=5");
    assert!(
        page.header("content-security-policy")
            .starts_with("default-src 'none'")
    );
    let head = fetch(
        reqwest::Method::HEAD,
        &monitor.url("/status"),
        &[("accept-encoding", BROWSER)],
    )
    .await;
    assert!(head.body.is_empty());
    for name in [
        "content-encoding",
        "vary",
        "content-type",
        "content-security-policy",
    ] {
        assert_eq!(head.header(name), page.header(name), "{name}");
    }
    monitor.stop().await;
}

#[tokio::test]
async fn readers_within_a_second_share_one_copy_of_the_page_and_a_reload_gets_304() {
    let (monitor, _up, _down) = monitor().await;
    let url = monitor.url("/status");
    // Reads in a row come from one copy unless the second it is kept for ends between them;
    // one try in 30 is within one copy even on a loaded machine, where a request can take a
    // good part of that second. The reload comes right after the first read: most likely the
    // same copy.
    let mut revalidated = false;
    for _ in 0..30 {
        let first = raw(&url, Some(BROWSER)).await;
        let etag = first.header("etag");
        let (reload, second) = (
            fetch(
                reqwest::Method::GET,
                &url,
                &[("accept-encoding", BROWSER), ("if-none-match", etag)],
            )
            .await,
            raw(&url, Some(BROWSER)).await,
        );
        if second.header("etag") == etag {
            assert_eq!(second.body, first.body, "one tag, one body");
        }
        if reload.status == 304 {
            assert!(reload.body.is_empty());
            assert_eq!(reload.header("etag"), etag);
            revalidated = true;
            break;
        }
        // Not 304: the page changed, so the tag must have.
        assert_ne!(reload.header("etag"), etag);
    }
    assert!(revalidated, "no reload was answered 304");
    monitor.stop().await;
}

#[tokio::test]
async fn a_target_page_shows_its_locations_history_results_incidents_and_badges() {
    let (monitor, _up, _down) = monitor().await;
    monitor.wait_for_results("db", 2).await;
    let (status, headers, html) = get(&monitor, "/status/db").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<title>db \u{b7} Status of &lt;things&gt; &amp; co</title>"),
        "{html}"
    );
    assert!(html.contains("<h1>db</h1>"), "{html}");
    assert!(html.contains("<span class=\"state down\">Down</span>"));
    // The 90 days, once, in the larger chart.
    assert!(html.contains("<div class=\"detail\">"), "{html}");
    assert_eq!(html.matches("<rect ").count(), 90);
    // The location's last vote, with its reason.
    assert!(
        html.contains(
            "<td data-label=\"Location\">local</td><td data-label=\"State\"><span class=\"state down\">Down</span></td><td data-label=\"Status\">503</td>"
        ),
        "{html}"
    );
    // Response times over 24 hours and 30 days.
    assert!(html.contains("24 h response time, mean "), "{html}");
    assert!(html.contains("30 d response time, mean "), "{html}");
    assert!(
        html.contains("aria-label=\"Response time over 30 days: mean "),
        "{html}"
    );
    // The results, each with its reason; at most 100.
    let rows = html
        .matches("<td data-label=\"Reason\" class=\"cause\">status 503 is not 200..399</td>")
        .count();
    assert!((2..=101).contains(&rows), "{rows}: {html}");
    assert!(html.contains("<h2>Last 100 results</h2>"));
    // Its incident.
    assert!(html.contains("<tr id=\"incident-1\">"), "{html}");
    // Badges, shown from this host and with Markdown naming where the monitor is reached.
    let base = format!("http://{}", monitor.addr);
    assert!(
        html.contains("<img alt=\"db status\" src=\"/badges/db/status.svg\">"),
        "{html}"
    );
    for markdown in [
        format!("<code>![db status]({base}/badges/db/status.svg)</code>"),
        format!("<code>![db uptime]({base}/badges/db/uptime.svg?window=30d)</code>"),
        format!("<code>![db response time]({base}/badges/db/response-time.svg)</code>"),
    ] {
        assert!(html.contains(&markdown), "{markdown}: {html}");
    }
    assert!(!html.contains("<script"));
    for attribute in ["href=\"", "src=\""] {
        for value in html.split(attribute).skip(1) {
            assert!(
                value.starts_with('/') || value.starts_with('#'),
                "{attribute}{value:.60}"
            );
        }
    }
    // The other target has no incident.
    let (_, _, api) = get(&monitor, "/status/api").await;
    assert!(api.contains("<h1>api</h1>"));
    assert!(api.contains("<p class=\"none\">No incidents.</p>"), "{api}");
    // /status links each target to its page.
    let (_, _, page) = get(&monitor, "/status").await;
    assert!(
        page.contains("<a class=\"name\" href=\"/status/db\">db</a>"),
        "{page}"
    );
    assert!(
        page.contains("<a class=\"name\" href=\"/status/api\">api</a>"),
        "{page}"
    );
    monitor.stop().await;
}

#[tokio::test]
async fn an_unknown_target_page_is_a_404_in_the_pages_look() {
    let (monitor, _up, _down) = monitor().await;
    let (status, headers, html) = get(&monitor, "/status/nope").await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/status.css\">"));
    assert!(html.contains("<h1>No such target</h1>"), "{html}");
    assert!(
        html.contains("No target is named \u{201c}nope\u{201d}. The status page lists every one."),
        "{html}"
    );
    monitor.stop().await;
}
