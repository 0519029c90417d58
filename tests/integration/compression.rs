//! `Content-Encoding` over real TCP: what each `Accept-Encoding` gets, that every coding decodes
//! to the identity body, `Vary`, `ETag` and `304`, `HEAD`, and `/health` left as it was.

use std::io::Read;

use reqwest::header::HeaderMap;

use crate::helpers::{TestApp, client, spawn_app, spawn_binary};

/// A browser's `Accept-Encoding` (Chromium's).
pub const BROWSER: &str = "gzip, deflate, br, zstd";

/// A raw answer: status, headers and the body as sent (the test client decodes nothing).
pub struct Raw {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    /// The `Content-Encoding`, or `""` without one.
    pub fn coding(&self) -> &str {
        self.headers
            .get("content-encoding")
            .map_or("", |v| v.to_str().unwrap())
    }

    /// The body decoded from its `Content-Encoding`.
    pub fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.coding() {
            "" => out.clone_from(&self.body),
            "gzip" => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            "br" => brotli::BrotliDecompress(&mut &self.body[..], &mut out).unwrap(),
            other => panic!("unexpected Content-Encoding {other}"),
        }
        out
    }

    /// The header `name`, or `""`.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }
}

/// `method url` with the given request headers.
pub async fn fetch(method: reqwest::Method, url: &str, headers: &[(&str, &str)]) -> Raw {
    let mut request = client().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    Raw {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

/// `GET url`, with `Accept-Encoding: accept` unless it is `None`.
pub async fn get(url: &str, accept: Option<&str>) -> Raw {
    let headers: Vec<(&str, &str)> = accept.map(|a| ("accept-encoding", a)).into_iter().collect();
    fetch(reqwest::Method::GET, url, &headers).await
}

/// Holds for `url` what every compressible resource must: identity without `Accept-Encoding`,
/// `browser` (`br` if compressed at build time, else `gzip`) for a browser, gzip for a client
/// without brotli, none for `gzip;q=0`; each decoding to the identity body, and
/// `Vary: accept-encoding` on all of them.
///
/// Monitor mode's live pages change when a result lands, which can fall between two requests.
/// The `ETag` names the body whatever its coding, so each answer is held against the identity
/// answer with the same tag, asked again when the page changed in between. Counting whole rounds
/// instead failed on a loaded machine, where every round outlasted one copy of `/status`.
pub async fn assert_negotiated(url: &str, browser: &str) -> Raw {
    let mut identity = identity(url).await;
    for (accept, coding) in [
        (BROWSER, browser),
        ("gzip", "gzip"),
        ("br;q=0.5, gzip;q=0.9", "gzip"),
        ("gzip;q=0", ""),
        ("br;q=0, gzip;q=0", ""),
        ("identity", ""),
    ] {
        let mut tries = 0;
        let answer = loop {
            let answer = get(url, Some(accept)).await;
            assert_eq!(answer.status, 200, "{url} {accept}");
            assert_eq!(answer.coding(), coding, "{url} {accept}");
            assert_eq!(answer.header("vary"), "accept-encoding", "{url} {accept}");
            if copy(&answer) != copy(&identity) {
                identity = self::identity(url).await;
            }
            if copy(&answer) == copy(&identity) {
                break answer;
            }
            tries += 1;
            assert!(
                tries < 20,
                "{url}: changed between every two of 20 requests"
            );
        };
        assert_eq!(
            answer.decoded(),
            identity.decoded(),
            "{url} {accept}: decodes to the identity body of its tag"
        );
        if !coding.is_empty() {
            assert!(answer.body.len() < identity.body.len(), "{url} {accept}");
        }
    }
    identity
}

/// `GET url` without `Accept-Encoding`: no coding, and large enough to be worth compressing.
async fn identity(url: &str) -> Raw {
    let identity = get(url, None).await;
    assert_eq!(identity.status, 200, "{url}");
    assert_eq!(
        identity.coding(),
        "",
        "{url}: no Accept-Encoding, no coding"
    );
    assert!(
        identity.body.len() >= 1024,
        "{url} is large enough to compress"
    );
    identity
}

/// Which copy of the body an answer is, by its `ETag` without the coding's suffix (see
/// `Coding::tag`); `None` for a resource without one, which then never changes.
fn copy(answer: &Raw) -> Option<&str> {
    let tag = answer
        .headers
        .get("etag")?
        .to_str()
        .unwrap()
        .trim_matches('"');
    Some(tag.trim_end_matches("-gzip").trim_end_matches("-br"))
}

#[tokio::test]
async fn every_document_round_trips_in_every_coding_with_vary() {
    let app = spawn_app(&[]).await;
    for (path, browser) in [
        ("/docs", "gzip"),
        ("/docs/swagger-ui-bundle.js", "br"),
        ("/docs/swagger-ui.css", "br"),
        ("/openapi.json", "gzip"),
        ("/openapi.yaml", "gzip"),
    ] {
        assert_negotiated(&app.url(path), browser).await;
    }
}

/// Swagger UI's asset `name` exactly as poem-openapi has it: inlined in the page it renders.
fn poem_openapi_asset(name: &str) -> Vec<u8> {
    let (open, close) = match name {
        "swagger-ui.css" => ("<style charset=\"UTF-8\">", "</style>"),
        "swagger-ui-bundle.js" => ("<script charset=\"UTF-8\">", "</script>"),
        other => panic!("no asset {other}"),
    };
    let page = poem_openapi::OpenApiService::new((), "", "").swagger_ui_html();
    let start = page.find(open).unwrap() + open.len();
    let len = page[start..].find(close).unwrap();
    page.as_bytes()[start..start + len].to_vec()
}

/// The binary stores the assets as brotli only: a client without brotli gets them decoded there,
/// as gzip or as they are, and every client gets poem-openapi's bytes. The real binary
/// (`HEALTH_SERVICE_BIN`: the shipped one in .ci/run), so the decoder runs as shipped.
#[tokio::test]
async fn every_client_gets_poem_openapis_swagger_ui_assets_exactly() {
    let app = spawn_binary(&[]).await;
    for name in ["swagger-ui.css", "swagger-ui-bundle.js"] {
        let asset = poem_openapi_asset(name);
        let url = format!("http://{}/docs/{name}", app.addr);
        // Twice each: decoded and compressed on the first request, kept for the second.
        for accept in [
            Some(BROWSER),
            Some("gzip"),
            None,
            Some("gzip"),
            Some("identity"),
        ] {
            let answer = get(&url, accept).await;
            assert_eq!(answer.status, 200, "{name} {accept:?}");
            let coding = match accept {
                Some(BROWSER) => "br",
                Some("gzip") => "gzip",
                _ => "",
            };
            assert_eq!(answer.coding(), coding, "{name} {accept:?}");
            assert!(
                answer.decoded() == asset,
                "{name} {accept:?}: not the asset"
            );
        }
    }
}

#[tokio::test]
async fn swagger_ui_travels_in_under_450_kb_to_a_browser() {
    let app = spawn_app(&[]).await;
    let mut total = 0;
    for (path, coding) in [
        ("/docs", "gzip"),
        ("/docs/swagger-ui-bundle.js", "br"),
        ("/docs/swagger-ui.css", "br"),
    ] {
        let answer = get(&app.url(path), Some("br, gzip")).await;
        assert_eq!(answer.coding(), coding, "{path}");
        total += answer.body.len();
    }
    assert!(total <= 450 * 1024, "{total} bytes");
}

#[tokio::test]
async fn an_etag_sent_back_gets_304_in_the_same_coding_only() {
    let app = spawn_app(&[]).await;
    let url = app.url("/docs/swagger-ui.css");
    let first = get(&url, Some(BROWSER)).await;
    let etag = first.header("etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with("-br\""), "{etag}");
    let again = fetch(
        reqwest::Method::GET,
        &url,
        &[("accept-encoding", BROWSER), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), etag);
    assert_eq!(again.header("vary"), "accept-encoding");
    // The gzip copy is another representation: the brotli one's tag does not validate it.
    let other = fetch(
        reqwest::Method::GET,
        &url,
        &[("accept-encoding", "gzip"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.coding(), "gzip");
    assert_ne!(other.header("etag"), etag);
}

#[tokio::test]
async fn head_has_the_headers_of_get_without_the_body() {
    let app = spawn_app(&[]).await;
    for (path, accept) in [
        ("/docs", BROWSER),
        ("/openapi.json", "gzip"),
        ("/docs", ""),
        ("/docs/swagger-ui.css", BROWSER),
    ] {
        let headers = [("accept-encoding", accept)];
        let get = fetch(reqwest::Method::GET, &app.url(path), &headers).await;
        let head = fetch(reqwest::Method::HEAD, &app.url(path), &headers).await;
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        for name in [
            "content-type",
            "content-encoding",
            "content-length",
            "vary",
            "etag",
            "cache-control",
        ] {
            assert_eq!(
                head.header(name),
                get.header(name),
                "{path} {accept}: {name}"
            );
        }
        assert_eq!(head.header("content-length"), get.body.len().to_string());
    }
}

/// Everything but the request id and the date, which differ per request.
fn stable_headers(app_answer: &Raw) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = app_answer
        .headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "x-request-id" | "date"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    headers
}

/// The body with the fields that move with the clock taken out.
fn without_clock(body: &[u8]) -> serde_json::Value {
    let mut json: serde_json::Value = serde_json::from_slice(body).unwrap();
    for field in ["timestamp", "uptime", "uptime_seconds"] {
        json.as_object_mut().unwrap().remove(field);
    }
    json
}

async fn health_answers(app: &TestApp, path: &str) -> Vec<Raw> {
    let mut answers = Vec::new();
    for accept in [None, Some(BROWSER), Some("gzip"), Some("*")] {
        answers.push(get(&app.url(path), accept).await);
    }
    answers
}

#[tokio::test]
async fn health_and_the_probes_are_the_same_bytes_and_headers_whatever_the_client_accepts() {
    let app = spawn_app(&[]).await;
    for path in ["/health", "/livez", "/readyz"] {
        let answers = health_answers(&app, path).await;
        let plain = &answers[0];
        assert_eq!(plain.status, 200, "{path}");
        for answer in &answers[1..] {
            assert_eq!(stable_headers(answer), stable_headers(plain), "{path}");
            assert_eq!(answer.coding(), "", "{path}");
            assert_eq!(answer.header("vary"), "", "{path}");
            if path == "/health" {
                assert_eq!(without_clock(&answer.body), without_clock(&plain.body));
            } else {
                assert_eq!(answer.body, plain.body, "{path}");
            }
        }
    }
}

#[tokio::test]
async fn small_answers_are_sent_as_they_are_without_vary() {
    let app = spawn_app(&[]).await;
    // The 404 error body is JSON under 1 KB.
    let answer = get(&app.url("/nope"), Some(BROWSER)).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.coding(), "");
    assert_eq!(answer.header("vary"), "");
    let error: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert!(error.is_object(), "{error}");
}
