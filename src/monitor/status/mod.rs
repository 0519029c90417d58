//! The public face of monitor mode: the status page, its stylesheet, badges and the incident
//! feed, declared with poem-openapi like every other route.
//!
//! - [`page`]: `GET /status`, server-rendered HTML (maud).
//! - [`target`]: `GET /status/{name}`, one target's page.
//! - [`badge`]: shields.io-style SVG badges.
//! - [`feed`]: `GET /incidents.atom`.
//! - [`cache`]: each of them made at most once a second and served from that copy.

pub mod badge;
pub mod cache;
pub mod feed;
pub mod page;
pub mod target;

use std::marker::PhantomData;
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use poem::http::{HeaderMap, header};
use poem::{IntoResponse, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Html, Json, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Enum, OpenApi};

use super::api::{BadRequest, ErrorMessage, Monitoring, bad_request, error, failure};
use super::store::{self, History, State, Store, StoreError};
use crate::api::ApiTags;
use crate::api::cached::{Cached, Representation};
use cache::{Cache, Variant};

/// Only the page's own stylesheet; no script, frame, form or anything from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// Badges may be a minute old: READMEs embed them, and image proxies cache by this.
const BADGE_CACHE: &str = "max-age=60";
/// The stylesheet changes only with the binary.
const CSS_CACHE: &str = "max-age=3600";
/// The page and feed may be kept a few seconds by Fly's edge and by browsers: during an outage
/// a crowd reloading them is then served before it reaches the monitor.
const PAGE_CACHE: &str = "public, max-age=5";
/// The stylesheet, compressed once on first use.
static STYLESHEET: LazyLock<Representation> =
    LazyLock::new(|| Representation::new(include_str!("status.css"), CssMedia::CONTENT_TYPE));

/// A media type for [`Text`].
pub trait Media: Send {
    /// The `Content-Type`.
    const CONTENT_TYPE: &'static str;
}

/// `image/svg+xml`.
pub struct SvgMedia;
impl Media for SvgMedia {
    const CONTENT_TYPE: &'static str = "image/svg+xml";
}

/// `application/atom+xml`.
pub struct AtomMedia;
impl Media for AtomMedia {
    const CONTENT_TYPE: &'static str = "application/atom+xml; charset=utf-8";
}

/// `text/css`.
pub struct CssMedia;
impl Media for CssMedia {
    const CONTENT_TYPE: &'static str = "text/css; charset=utf-8";
}

/// `text/javascript`.
pub struct JavaScriptMedia;
impl Media for JavaScriptMedia {
    const CONTENT_TYPE: &'static str = "text/javascript; charset=utf-8";
}

/// A text body of media type `M`, documented in the spec as a string of that type.
pub struct Text<M>(pub String, PhantomData<M>);

impl<M> Text<M> {
    /// `body` as `M`.
    #[must_use]
    pub fn new(body: String) -> Self {
        Self(body, PhantomData)
    }
}

impl<M: Media> Payload for Text<M> {
    const CONTENT_TYPE: &'static str = M::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }

    fn register(registry: &mut Registry) {
        String::register(registry);
    }
}

impl<M: Media> IntoResponse for Text<M> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(M::CONTENT_TYPE)
            .body(self.0)
    }
}

/// Outcome of `GET /status`.
#[derive(ApiResponse)]
pub enum PageResponse {
    /// The status page.
    #[oai(status = 200)]
    Page(
        Html<String>,
        /// Only the page's own stylesheet may load: nothing third-party.
        #[oai(header = "Content-Security-Policy")]
        String,
        /// `public, max-age=5`: the page is at most a second old when served, and may be kept
        /// five more.
        #[oai(header = "Cache-Control")]
        String,
    ),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(Json<ErrorMessage>),
}

/// Outcome of `GET /status/{name}`.
#[derive(ApiResponse)]
pub enum TargetPageResponse {
    /// The target's page.
    #[oai(status = 200)]
    Page(
        Html<String>,
        /// Only the page's own stylesheet and badges may load: nothing third-party.
        #[oai(header = "Content-Security-Policy")]
        String,
        /// `public, max-age=5`, as the status page.
        #[oai(header = "Cache-Control")]
        String,
    ),
    /// No target has that name: a page in the status page's look that says so.
    #[oai(status = 404)]
    NotFound(
        Html<String>,
        /// As the page's.
        #[oai(header = "Content-Security-Policy")]
        String,
    ),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(Json<ErrorMessage>),
}

/// Outcome of `GET /status.css`.
#[derive(ApiResponse)]
pub enum CssResponse {
    /// The stylesheet, light and dark.
    #[oai(status = 200)]
    Css(
        Text<CssMedia>,
        /// `max-age=3600`.
        #[oai(header = "Cache-Control")]
        String,
    ),
}

/// Outcome of a badge request.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_request")]
pub enum BadgeResponse {
    /// The badge.
    #[oai(status = 200)]
    Badge(
        Text<SvgMedia>,
        /// `max-age=60`.
        #[oai(header = "Cache-Control")]
        String,
    ),
    /// `window` is not one of `24h`, `7d`, `30d`, `90d`.
    #[oai(status = 400)]
    BadRequest(Json<ErrorMessage>),
    /// No target has that name.
    #[oai(status = 404)]
    NotFound(Json<ErrorMessage>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(Json<ErrorMessage>),
}

/// Outcome of `GET /incidents.atom`.
#[derive(ApiResponse)]
pub enum FeedResponse {
    /// The feed.
    #[oai(status = 200)]
    Feed(Text<AtomMedia>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(Json<ErrorMessage>),
}

impl BadRequest for BadgeResponse {
    fn bad_request(body: Json<ErrorMessage>) -> Self {
        Self::BadRequest(body)
    }
}

/// The uptime window of a badge.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// The last 24 hours.
    #[oai(rename = "24h")]
    Day,
    /// The last 7 days.
    #[oai(rename = "7d")]
    Week,
    /// The last 30 days.
    #[oai(rename = "30d")]
    Month,
    /// The last 90 days.
    #[oai(rename = "90d")]
    Quarter,
}

impl Window {
    fn label(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
            Self::Quarter => "90d",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The status page, badges and feed.
#[derive(Clone)]
pub struct StatusApi {
    /// Config and store.
    pub monitoring: Monitoring,
    /// The copies readers are served from.
    pub cache: Arc<Cache>,
}

#[OpenApi(tag = "ApiTags::Monitor")]
impl StatusApi {
    /// Status page
    ///
    /// Every target by group with its state, uptime over 24 hours to 90 days, a bar per day for
    /// 90 days and the last day's response times, then the last 30 days' incidents. Plain HTML
    /// and `/status.css`: works without JavaScript and reloads itself every minute. While the
    /// monitor cannot write its store, a banner says since when its data is stale.
    #[oai(path = "/status", method = "get", operation_id = "getStatusPage")]
    async fn page(&self, headers: &HeaderMap) -> Cached<PageResponse> {
        let monitoring = self.monitoring.clone();
        let made = self.cache.get(Variant::Page, headers, async move || {
            let reader = monitoring.clone();
            let page = match store::blocking(move || page::Page::read(&reader, SystemTime::now()))
                .await
            {
                Ok(page) => page,
                // While the store is being re-opened it cannot be read: the page still says
                // why.
                Err(err) => match monitoring.health.stale() {
                    Some(stale) => page::Page::unreadable(&monitoring, SystemTime::now(), stale),
                    None => return Err(err),
                },
            };
            let html = store::blocking(move || Ok(page.render())).await?;
            Ok(Representation::new(html, Html::<String>::CONTENT_TYPE))
        });
        match made.await {
            Ok(copy) => {
                let csp = [(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)];
                Cached::Copy(copy.respond(headers, PAGE_CACHE, &csp).await)
            }
            Err(err) => Cached::Other(PageResponse::Failed(failure(&err))),
        }
    }

    /// One target's page
    ///
    /// Its state per location, a bar per day for 90 days, response times over 24 hours and 30
    /// days, its last 100 results with their reasons, every incident of it, and its badges with
    /// Markdown to copy. Plain HTML and `/status.css`, like `/status`; 404 (an HTML page) for a
    /// name that is no target.
    #[oai(path = "/status/:name", method = "get", operation_id = "getTargetPage")]
    async fn target_page(
        &self,
        /// The target's name.
        name: Path<String>,
        headers: &HeaderMap,
    ) -> Cached<TargetPageResponse> {
        let Path(name) = name;
        let config = self.monitoring.config.clone();
        let Some(index) = config.targets.iter().position(|t| t.name == name) else {
            let html = target::not_found(&config.title, &name);
            let csp = CONTENT_SECURITY_POLICY.to_owned();
            return Cached::Other(TargetPageResponse::NotFound(Html(html), csp));
        };
        let base = self.base(headers);
        let monitoring = self.monitoring.clone();
        let variant = Variant::Target(name, base.clone());
        let made = self.cache.get(variant, headers, async move || {
            store::blocking(move || {
                let target = &monitoring.config.targets[index];
                let page = target::TargetPage::read(&monitoring, target, base, SystemTime::now())?;
                Ok(Representation::new(
                    page.render(),
                    Html::<String>::CONTENT_TYPE,
                ))
            })
            .await
        });
        match made.await {
            Ok(copy) => {
                let csp = [(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)];
                Cached::Copy(copy.respond(headers, PAGE_CACHE, &csp).await)
            }
            Err(err) => Cached::Other(TargetPageResponse::Failed(failure(&err))),
        }
    }

    /// Status page stylesheet
    #[oai(path = "/status.css", method = "get", operation_id = "getStatusCss")]
    async fn css(&self, headers: &HeaderMap) -> Cached<CssResponse> {
        Cached::Copy(STYLESHEET.respond(headers, CSS_CACHE, &[]).await)
    }

    /// Status badge
    ///
    /// `up`, `down` or `unknown`, shields.io's flat style.
    #[oai(
        path = "/badges/:name/status.svg",
        method = "get",
        operation_id = "getStatusBadge"
    )]
    async fn status_badge(
        &self,
        /// The target's name.
        name: Path<String>,
        headers: &HeaderMap,
    ) -> Cached<BadgeResponse> {
        let variant = Variant::StatusBadge(name.0.clone());
        self.badge(headers, variant, name.0, Store::state, |name, state| {
            let (message, color) = match state.map(|s| s.state) {
                Some(State::Up) => ("up", badge::GREEN),
                Some(State::Down) => ("down", badge::RED),
                Some(State::Unknown) | None => ("unknown", badge::GREY),
            };
            badge::render(name, message, color)
        })
        .await
    }

    /// Uptime badge
    ///
    /// The share of successful probes over `window` (default 30 days), as a percentage.
    #[oai(
        path = "/badges/:name/uptime.svg",
        method = "get",
        operation_id = "getUptimeBadge"
    )]
    async fn uptime_badge(
        &self,
        /// The target's name.
        name: Path<String>,
        /// `24h`, `7d`, `30d` or `90d`.
        #[oai(default = "default_window")]
        window: Query<Window>,
        headers: &HeaderMap,
    ) -> Cached<BadgeResponse> {
        let window = window.0;
        let variant = Variant::UptimeBadge(name.0.clone(), window);
        self.badge(headers, variant, name.0, history, move |_, history| {
            let uptime = history.windows()[window.index()].uptime();
            let message = percent(uptime).unwrap_or("no data".to_owned());
            let label = format!("uptime {}", window.label());
            badge::render(&label, &message, badge::uptime_color(uptime))
        })
        .await
    }

    /// Response time badge
    ///
    /// The mean response time over the last 24 hours, in ms.
    #[oai(
        path = "/badges/:name/response-time.svg",
        method = "get",
        operation_id = "getResponseTimeBadge"
    )]
    async fn response_time_badge(
        &self,
        /// The target's name.
        name: Path<String>,
        headers: &HeaderMap,
    ) -> Cached<BadgeResponse> {
        let variant = Variant::ResponseTimeBadge(name.0.clone());
        self.badge(headers, variant, name.0, history, |_, history| {
            let mean = history.windows()[0].mean_response_time_ms();
            let color = match mean {
                None => badge::GREY,
                Some(ms) if ms < 300 => badge::GREEN,
                Some(ms) if ms < 1000 => badge::YELLOW_GREEN,
                Some(ms) if ms < 3000 => badge::ORANGE,
                Some(_) => badge::RED,
            };
            let message = mean.map_or("no data".to_owned(), |ms| format!("{ms} ms"));
            badge::render("response time", &message, color)
        })
        .await
    }

    /// Incident feed (Atom)
    ///
    /// One entry per incident, updated when it resolves: subscribe in any feed reader.
    #[oai(
        path = "/incidents.atom",
        method = "get",
        operation_id = "getIncidentFeed"
    )]
    async fn feed(&self, headers: &HeaderMap) -> Cached<FeedResponse> {
        let base = self.base(headers);
        let store = self.monitoring.store.clone();
        let title = self.monitoring.config.title.clone();
        let made = self
            .cache
            .get(Variant::Feed(base.clone()), headers, async move || {
                store::blocking(move || {
                    let incidents = store.incidents(100)?;
                    let now = store::millis(SystemTime::now());
                    let feed = feed::render(&title, &base, &incidents, now);
                    Ok(Representation::new(feed, AtomMedia::CONTENT_TYPE))
                })
                .await
            });
        match made.await {
            Ok(copy) => Cached::Copy(copy.respond(headers, PAGE_CACHE, &[]).await),
            Err(err) => Cached::Other(FeedResponse::Failed(failure(&err))),
        }
    }
}

impl StatusApi {
    /// The badge of target `name` (kept as `variant`): `load` reads what it shows from the
    /// store (off the async workers), `draw` turns the target's name and that into the SVG.
    async fn badge<T: Send + 'static>(
        &self,
        headers: &HeaderMap,
        variant: Variant,
        name: String,
        load: impl FnOnce(&Store, &str) -> Result<T, StoreError> + Send + 'static,
        draw: impl FnOnce(&str, T) -> String + Send + 'static,
    ) -> Cached<BadgeResponse> {
        if !self
            .monitoring
            .config
            .targets
            .iter()
            .any(|t| t.name == name)
        {
            return Cached::Other(BadgeResponse::NotFound(error(
                404,
                format!("no target named {name:?}; the targets are listed at /api/v1/status"),
            )));
        }
        let store = self.monitoring.store.clone();
        let made = self.cache.get(variant, headers, async move || {
            store::blocking(move || {
                let found = load(&store, &name)?;
                Ok(Representation::new(
                    draw(&name, found),
                    SvgMedia::CONTENT_TYPE,
                ))
            })
            .await
        });
        match made.await {
            Ok(copy) => Cached::Copy(copy.respond(headers, BADGE_CACHE, &[]).await),
            Err(err) => Cached::Other(BadgeResponse::Failed(failure(&err))),
        }
    }

    /// Where the monitor is reached: `public_url`, else the request's `Host`.
    fn base(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.monitoring.config.public_url {
            return url.as_str().trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(poem::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            // `str::is_empty`: on the `&&str` here, `h.is_empty()` would be poem-openapi's
            // `Type::is_empty` (imported above), which is false for every string.
            .filter(|h| !str::is_empty(h) && h.chars().all(|c| c.is_ascii_graphic()))
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}

/// `99.95%` (two decimals, never rounding a failure up to 100%), `100%`, or `None` without data.
#[must_use]
pub fn percent(uptime: Option<f64>) -> Option<String> {
    uptime.map(|u| {
        if u < 1.0 {
            format!("{:.2}%", (u * 10_000.0).floor() / 100.0)
        } else {
            "100%".to_owned()
        }
    })
}

/// A target's history now, for the badges that show uptime or response time.
fn history(store: &Store, target: &str) -> Result<History, StoreError> {
    store.history(target, SystemTime::now())
}

fn default_window() -> Window {
    Window::Month
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percentages_never_round_a_failure_up_to_100() {
        assert_eq!(percent(Some(1.0)).as_deref(), Some("100%"));
        assert_eq!(percent(Some(0.99999)).as_deref(), Some("99.99%"));
        assert_eq!(percent(Some(0.5)).as_deref(), Some("50.00%"));
        assert_eq!(percent(None), None);
    }

    /// The handlers, called over a store the test fills.
    mod handlers {
        use super::super::*;
        use crate::monitor::store::{Batch, ResultRecord, TargetState};

        /// `api` (up: a failure 3 days ago, a success in 42 ms an hour ago), `db` (down),
        /// `new` (no result yet), and `slow`, `slower`, `slowest` (one success each in the last
        /// day, 300, 1000 and 3000 ms).
        fn fixture(public_url: Option<&str>) -> (StatusApi, tempfile::TempDir) {
            let dir = tempfile::tempdir().unwrap();
            let public =
                public_url.map_or(String::new(), |url| format!("public_url = \"{url}\"\n"));
            let names = ["api", "db", "new", "slow", "slower", "slowest"];
            let targets: String = names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    format!(
                        "[[target]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{}/\"\n",
                        i + 1
                    )
                })
                .collect();
            let config = crate::monitor::config::parse(
                &format!("[monitor]\ntitle = \"Status of things\"\n{public}{targets}"),
                |_| None,
            )
            .unwrap();
            let now = store::millis(SystemTime::now());
            let result = |ago_ms: u64, ok: bool, ms: u64| ResultRecord {
                at_ms: now - ago_ms,
                ok,
                status_code: Some(if ok { 200 } else { 503 }),
                response_time_ms: ms,
                error: (!ok).then(|| "[STATUS] (503) == 200".to_owned()),
                votes: Vec::new(),
            };
            let state = |state| TargetState {
                state,
                ..TargetState::default()
            };
            let store = Store::open(dir.path()).unwrap();
            store
                .commit(&Batch {
                    results: vec![
                        ("api".to_owned(), result(3 * 86_400_000, false, 10)),
                        ("api".to_owned(), result(3_600_000, true, 42)),
                        ("db".to_owned(), result(3_600_000, false, 5)),
                        ("slow".to_owned(), result(3_600_000, true, 300)),
                        ("slower".to_owned(), result(3_600_000, true, 1000)),
                        ("slowest".to_owned(), result(3_600_000, true, 3000)),
                    ],
                    states: [
                        ("api".to_owned(), state(State::Up)),
                        ("db".to_owned(), state(State::Down)),
                    ]
                    .into(),
                    ..Batch::default()
                })
                .unwrap();
            let monitoring = Monitoring::with(config, store);
            let api = StatusApi {
                monitoring,
                cache: Arc::default(),
            };
            (api, dir)
        }

        /// The status and body of `answer`.
        async fn read<T: IntoResponse>(answer: Cached<T>) -> (u16, String) {
            let response = answer.into_response();
            let status = response.status().as_u16();
            (status, response.into_body().into_string().await.unwrap())
        }

        fn name(text: &str) -> Path<String> {
            Path(text.to_owned())
        }

        #[tokio::test]
        async fn the_status_badge_says_up_down_or_unknown_and_an_unknown_target_is_404() {
            let (api, _dir) = fixture(None);
            let headers = HeaderMap::new();
            for (target, message, color) in [
                ("api", "up", badge::GREEN),
                ("db", "down", badge::RED),
                ("new", "unknown", badge::GREY),
            ] {
                let answer = api.status_badge(name(target), &headers).await;
                assert_eq!(
                    read(answer).await,
                    (200, badge::render(target, message, color)),
                    "{target}"
                );
            }
            let Cached::Other(BadgeResponse::NotFound(body)) =
                api.status_badge(name("web"), &headers).await
            else {
                panic!("an unknown target has a badge");
            };
            assert_eq!(
                body.0.message,
                "no target named \"web\"; the targets are listed at /api/v1/status"
            );
        }

        #[tokio::test]
        async fn the_uptime_badge_shows_its_windows_share() {
            let (api, _dir) = fixture(None);
            let headers = HeaderMap::new();
            let half = Some(0.5);
            for (window, label, message, uptime) in [
                (Window::Day, "uptime 24h", "100%", Some(1.0)),
                (Window::Week, "uptime 7d", "50.00%", half),
                (Window::Month, "uptime 30d", "50.00%", half),
                (Window::Quarter, "uptime 90d", "50.00%", half),
            ] {
                let answer = api.uptime_badge(name("api"), Query(window), &headers).await;
                let expected = badge::render(label, message, badge::uptime_color(uptime));
                assert_eq!(read(answer).await, (200, expected), "{label}");
            }
            let answer = api
                .uptime_badge(name("new"), Query(Window::Week), &headers)
                .await;
            let expected = badge::render("uptime 7d", "no data", badge::uptime_color(None));
            assert_eq!(read(answer).await, (200, expected));
            assert_eq!(default_window(), Window::Month);
        }

        #[tokio::test]
        async fn the_response_time_badge_is_coloured_by_the_days_mean() {
            let (api, _dir) = fixture(None);
            let headers = HeaderMap::new();
            for (target, message, color) in [
                ("api", "42 ms", badge::GREEN),
                ("slow", "300 ms", badge::YELLOW_GREEN),
                ("slower", "1000 ms", badge::ORANGE),
                ("slowest", "3000 ms", badge::RED),
                ("new", "no data", badge::GREY),
            ] {
                let answer = api.response_time_badge(name(target), &headers).await;
                let expected = badge::render("response time", message, color);
                assert_eq!(read(answer).await, (200, expected), "{target}");
            }
        }

        #[test]
        fn links_lead_to_the_public_url_else_to_the_requests_host() {
            let (api, _dir) = fixture(None);
            let host = |value: &str| {
                let mut headers = HeaderMap::new();
                headers.insert(header::HOST, value.parse().unwrap());
                headers
            };
            assert_eq!(
                api.base(&host("status.example.org:8080")),
                "http://status.example.org:8080"
            );
            assert_eq!(api.base(&host("")), "http://localhost");
            assert_eq!(api.base(&host("a b")), "http://localhost");
            assert_eq!(api.base(&HeaderMap::new()), "http://localhost");
            let (public, _dir) = fixture(Some("https://status.example.org/"));
            assert_eq!(public.base(&host("x")), "https://status.example.org");
        }

        #[tokio::test]
        async fn a_target_page_of_an_unknown_name_is_a_404_page_naming_it() {
            let (api, _dir) = fixture(None);
            let headers = HeaderMap::new();
            let (status, body) = read(api.target_page(name("api"), &headers).await).await;
            assert_eq!(status, 200);
            assert!(body.contains("<title>api"), "{body}");
            let (status, body) = read(api.target_page(name("web"), &headers).await).await;
            assert_eq!(status, 404);
            assert_eq!(body, target::not_found("Status of things", "web"));
        }

        #[tokio::test]
        async fn a_text_body_is_served_as_its_media_type() {
            let response = Text::<AtomMedia>::new("<feed/>".to_owned()).into_response();
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE).unwrap(),
                "application/atom+xml; charset=utf-8"
            );
            assert_eq!(response.into_body().into_string().await.unwrap(), "<feed/>");
        }
    }
}
