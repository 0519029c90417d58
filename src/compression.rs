//! `Content-Encoding`: which coding a client accepts, bodies in each coding, and [`Compress`],
//! which compresses the large answers of the operations it wraps.
//!
//! Bodies made at run time are compressed with gzip (flate2 over miniz_oxide, pure Rust); those
//! compressed at build time (Swagger UI's assets, by build.rs) are kept as brotli only, and decoded
//! for a client that takes no brotli: brotli-decompressor (pure Rust) is 0.19 MB of binary, a gzip
//! copy of the assets was 0.43 MB. brotli's encoder is 1.14 MB of binary (a release build of a
//! program that only compresses, with and without it) and took the status page of 200 targets from
//! 42 KB (gzip, already 57 times smaller than the page) to 10 KB: not worth a tenth of the image's
//! size budget. zstd is left out: its only encoder without C (ruzstd) is young, and every browser
//! that accepts zstd accepts brotli and gzip. poem's own `Compression` middleware is not used: it
//! brings zstd's C library, compresses with a coding the client refused (`gzip;q=0`), sends no
//! `Vary` and compresses bodies of any size.
//!
//! Bodies under [`MIN_SIZE`] are left as they are: compressing them saves less than a packet and
//! costs more than serving them. `/health` and the probes are never wrapped at all
//! ([`crate::api::router`]), so their hot path does not even read `Accept-Encoding`.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use poem::http::header::{self, HeaderMap, HeaderValue};
use poem::http::{Method, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Request, Response, Result};

/// Bodies smaller than this are sent as they are.
pub const MIN_SIZE: usize = 1024;
/// Bodies larger than this are compressed off the async workers.
const BLOCKING_SIZE: usize = 64 * 1024;
/// gzip's level for bodies made at run time: zlib's default. On the status page of 200 targets
/// (2.4 MB) it gives 42 KB in about 8 ms; level 3 gives 53 KB in 5 ms, level 1 128 KB in 4 ms.
const GZIP_LEVEL: u32 = 6;

/// `Vary: Accept-Encoding`, on every answer whose coding depends on the request's.
pub const VARY: HeaderValue = HeaderValue::from_static("accept-encoding");

/// A content coding this service sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// No coding: the body as it is.
    Identity,
    /// `gzip` (RFC 1952).
    Gzip,
    /// `br` (RFC 7932).
    Brotli,
}

/// The codings of a body made at run time.
pub const DYNAMIC: &[Coding] = &[Coding::Gzip];
/// The codings of a body compressed at build time, in order of preference when a client rates
/// them alike: brotli is the smaller.
pub const PRECOMPRESSED: &[Coding] = &[Coding::Brotli, Coding::Gzip];

impl Coding {
    /// The coding of `offered` to answer a request carrying `headers` with.
    ///
    /// By `Accept-Encoding`'s q-values (RFC 9110, 12.5.3): the offered coding the client rates
    /// highest, the earlier one on a tie; `q=0` refuses a coding, `*` rates the codings not
    /// named, and a higher q for `identity` than for every offered coding asks for none.
    /// Without the header, or when every offered coding is refused, identity.
    #[must_use]
    pub fn negotiate(headers: &HeaderMap, offered: &[Coding]) -> Self {
        let mut ratings = Ratings::default();
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for element in value.split(',') {
                ratings.add(element);
            }
        }
        ratings.choose(offered)
    }

    /// The `Content-Encoding` value, or `None` for identity.
    #[must_use]
    pub fn header(self) -> Option<HeaderValue> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some(HeaderValue::from_static("gzip")),
            Self::Brotli => Some(HeaderValue::from_static("br")),
        }
    }

    /// A short name for ETags: the same body in two codings is two representations.
    #[must_use]
    pub fn tag(self) -> &'static str {
        match self {
            Self::Identity => "",
            Self::Gzip => "-gzip",
            Self::Brotli => "-br",
        }
    }
}

/// The q-values an `Accept-Encoding` gives, in thousandths; `None` where it says nothing.
#[derive(Default)]
struct Ratings {
    brotli: Option<u16>,
    gzip: Option<u16>,
    identity: Option<u16>,
    any: Option<u16>,
}

impl Ratings {
    /// Notes one element, `coding [; q=value]`; one that does not parse is ignored, as if absent.
    fn add(&mut self, element: &str) {
        let mut parts = element.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let mut q = Some(1000);
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                q = qvalue(value.trim());
            }
        }
        let Some(q) = q else { return };
        let slot = if coding.eq_ignore_ascii_case("br") {
            &mut self.brotli
        } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut self.gzip
        } else if coding.eq_ignore_ascii_case("identity") {
            &mut self.identity
        } else if coding == "*" {
            &mut self.any
        } else {
            return;
        };
        // Named twice: the higher rating counts.
        *slot = Some(slot.map_or(q, |old| old.max(q)));
    }

    fn choose(&self, offered: &[Coding]) -> Coding {
        let rate = |q: Option<u16>| q.or(self.any).unwrap_or(0);
        let (coding, q) = offered
            .iter()
            .map(|&c| {
                let q = match c {
                    Coding::Brotli => rate(self.brotli),
                    Coding::Gzip => rate(self.gzip),
                    Coding::Identity => 0,
                };
                (c, q)
            })
            // `max_by_key` keeps the last of equals; reversed, the earlier one wins a tie.
            .rev()
            .max_by_key(|&(_, q)| q)
            .unwrap_or((Coding::Identity, 0));
        if q == 0 || self.identity.is_some_and(|identity| identity > q) {
            Coding::Identity
        } else {
            coding
        }
    }
}

/// A q-value (`0`, `0.5`, `1.000`) in thousandths, or `None` when it is not one.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// One body made at run time, as it is and as gzip, made the first time a client asks for it
/// and kept.
#[derive(Debug)]
pub struct Encoded {
    identity: Bytes,
    gzip: OnceLock<Bytes>,
}

impl Encoded {
    /// `identity`, to be compressed on demand.
    #[must_use]
    pub fn new(identity: impl Into<Bytes>) -> Self {
        Self {
            identity: identity.into(),
            gzip: OnceLock::new(),
        }
    }

    /// The body as it is.
    #[must_use]
    pub fn identity(&self) -> &Bytes {
        &self.identity
    }

    /// The body in `coding` (one of [`DYNAMIC`]; any other gives identity), compressed now if
    /// no one asked for it before. A small body is never compressed: every coding then gives it
    /// as it is.
    ///
    /// Compressing blocks the calling thread, and callers asking at the same time wait for the
    /// first one: call it where blocking is allowed (see [`Self::get_blocking`]).
    #[must_use]
    pub fn get(&self, coding: Coding) -> (Coding, Bytes) {
        if self.identity.len() < MIN_SIZE {
            return (Coding::Identity, self.identity.clone());
        }
        match coding {
            Coding::Gzip => {
                let gzip = self.gzip.get_or_init(|| gzip(&self.identity, GZIP_LEVEL));
                (coding, gzip.clone())
            }
            Coding::Identity | Coding::Brotli => (Coding::Identity, self.identity.clone()),
        }
    }

    /// [`Self::get`], on the blocking pool when the body still has to be compressed.
    pub async fn get_blocking(self: &Arc<Self>, coding: Coding) -> (Coding, Bytes) {
        if !self.needs_work(coding) || self.identity.len() < BLOCKING_SIZE {
            return self.get(coding);
        }
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.get(coding)).await {
            Ok(found) => found,
            // The blocking pool is shutting down: identity needs no work.
            Err(_) => (Coding::Identity, self.identity.clone()),
        }
    }

    fn needs_work(&self, coding: Coding) -> bool {
        coding == Coding::Gzip && self.gzip.get().is_none()
    }
}

/// A body compressed at build time, stored as brotli only: a gzip copy beside it cost 0.43 MB of
/// the image (README, "Binary size") for the rare client that takes no brotli. That client gets
/// the body decoded the first time one asks, then kept, as it is and as gzip made on demand.
#[derive(Debug)]
pub struct Precompressed {
    brotli: &'static [u8],
    decoded: OnceLock<Arc<Encoded>>,
}

impl Precompressed {
    /// One body, as brotli.
    #[must_use]
    pub const fn new(brotli: &'static [u8]) -> Self {
        Self {
            brotli,
            decoded: OnceLock::new(),
        }
    }

    /// The body as stored.
    #[must_use]
    pub fn brotli(&self) -> &'static [u8] {
        self.brotli
    }

    /// The body in `coding` (one of [`PRECOMPRESSED`], or identity) and the coding it is in:
    /// `coding`, but identity for a body under [`MIN_SIZE`] (see [`Encoded::get`]). Decoding
    /// and compressing it the first time run on the blocking pool.
    pub async fn get(&'static self, coding: Coding) -> (Coding, Bytes) {
        if coding == Coding::Brotli {
            return (coding, Bytes::from_static(self.brotli));
        }
        let decoded = match self.decoded.get() {
            Some(decoded) => decoded.clone(),
            None => tokio::task::spawn_blocking(move || self.decoded().clone())
                .await
                // The blocking pool is shutting down: decode here.
                .unwrap_or_else(|_| self.decoded().clone()),
        };
        decoded.get_blocking(coding).await
    }

    fn decoded(&self) -> &Arc<Encoded> {
        self.decoded.get_or_init(|| {
            let mut identity = Vec::with_capacity(self.brotli.len() * 5);
            // build.rs wrote it with brotli's own encoder, and the tests decode it to the
            // asset: an error here would be a build's, and what decoded is served.
            let _ = brotli_decompressor::BrotliDecompress(&mut &self.brotli[..], &mut identity);
            // Kept for the life of the process: no spare capacity.
            identity.shrink_to_fit();
            Arc::new(Encoded::new(identity))
        })
    }
}

/// Sets the headers of a body sent in `coding` from a resource that has several:
/// `Content-Encoding` unless identity, and `Vary: Accept-Encoding` always.
pub fn mark(headers: &mut HeaderMap, coding: Coding) {
    if let Some(value) = coding.header() {
        headers.insert(header::CONTENT_ENCODING, value);
    }
    headers.append(header::VARY, VARY);
}

/// `data` as gzip at `level` (0 to 9).
#[must_use]
pub fn gzip(data: &[u8], level: u32) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::new(level),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    Bytes::from(encoder.finish().unwrap_or_default())
}

/// Compresses the answers of `inner` that are large enough and of a textual type, in the coding
/// the request accepts, with `Vary: Accept-Encoding` on each such answer, compressed or not.
///
/// Answers that already carry a `Content-Encoding` (made once and kept, like the status page's)
/// pass as they are.
pub struct Compress<E> {
    /// The operation wrapped.
    pub inner: E,
}

impl<E: Endpoint> Endpoint for Compress<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let coding = Coding::negotiate(req.headers(), DYNAMIC);
        // A HEAD is answered as the GET it stands for, then stripped of its body here, so that
        // its headers are the GET's, `Content-Length` and `Content-Encoding` included (poem
        // would drop the body before this layer could see it).
        let head = req.method() == Method::HEAD;
        if head {
            req.set_method(Method::GET);
        }
        let mut response = self.inner.call(req).await?.into_response();
        let chosen = response.status() == StatusCode::OK
            && !response.headers().contains_key(header::CONTENT_ENCODING)
            && !response.headers().contains_key(header::VARY)
            && compressible(response.headers());
        if !chosen && !head {
            return Ok(response);
        }
        let bytes = response.take_body().into_bytes().await?;
        let bytes = if chosen && bytes.len() >= MIN_SIZE {
            let (coding, bytes) = if coding == Coding::Identity {
                (coding, bytes)
            } else if bytes.len() < BLOCKING_SIZE {
                (coding, gzip(&bytes, GZIP_LEVEL))
            } else {
                Arc::new(Encoded::new(bytes)).get_blocking(coding).await
            };
            mark(response.headers_mut(), coding);
            bytes
        } else {
            bytes
        };
        if head {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        } else {
            response.set_body(Body::from(bytes));
        }
        Ok(response)
    }
}

/// Whether a response's `Content-Type` is text that compresses (not an image or an archive).
fn compressible(headers: &HeaderMap) -> bool {
    let Some(media) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let media = media.split(';').next().unwrap_or_default().trim();
    media.starts_with("text/")
        || matches!(
            media,
            "application/json"
                | "application/yaml"
                | "application/atom+xml"
                | "application/javascript"
                | "image/svg+xml"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(accept: &str) -> Coding {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        Coding::negotiate(&headers, PRECOMPRESSED)
    }

    #[test]
    fn without_accept_encoding_the_body_is_sent_as_it_is() {
        assert_eq!(
            Coding::negotiate(&HeaderMap::new(), PRECOMPRESSED),
            Coding::Identity
        );
        assert_eq!(negotiate(""), Coding::Identity);
        assert_eq!(negotiate("identity"), Coding::Identity);
        assert_eq!(negotiate("deflate, zstd"), Coding::Identity);
    }

    #[test]
    fn only_the_offered_codings_are_chosen() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.5"),
        );
        assert_eq!(Coding::negotiate(&headers, DYNAMIC), Coding::Gzip);
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert_eq!(Coding::negotiate(&headers, DYNAMIC), Coding::Identity);
    }

    #[test]
    fn a_browser_gets_brotli_and_an_older_client_gzip() {
        assert_eq!(negotiate("gzip, deflate, br, zstd"), Coding::Brotli);
        assert_eq!(negotiate("gzip, deflate"), Coding::Gzip);
        assert_eq!(negotiate("x-gzip"), Coding::Gzip);
        assert_eq!(negotiate("BR"), Coding::Brotli);
    }

    #[test]
    fn q_values_rank_the_codings_and_zero_refuses_one() {
        assert_eq!(negotiate("gzip;q=0"), Coding::Identity);
        assert_eq!(negotiate("br;q=0, gzip;q=0"), Coding::Identity);
        assert_eq!(negotiate("br;q=0, gzip"), Coding::Gzip);
        assert_eq!(negotiate("br;q=0.5, gzip;q=0.8"), Coding::Gzip);
        assert_eq!(negotiate("br ; Q=0.9 , gzip; q=0.8"), Coding::Brotli);
        assert_eq!(negotiate("gzip;q=0.000"), Coding::Identity);
        assert_eq!(negotiate("identity;q=1, gzip;q=0.5"), Coding::Identity);
        assert_eq!(
            negotiate("identity;q=0.5, gzip;q=1.0, br;q=0.3"),
            Coding::Gzip
        );
    }

    #[test]
    fn the_wildcard_rates_the_codings_not_named() {
        assert_eq!(negotiate("*"), Coding::Brotli);
        assert_eq!(negotiate("*;q=0"), Coding::Identity);
        assert_eq!(negotiate("br;q=0, *"), Coding::Gzip);
        assert_eq!(negotiate("gzip, *;q=0"), Coding::Gzip);
    }

    #[test]
    fn malformed_q_values_are_ignored_not_guessed() {
        for bad in [
            "gzip;q=2",
            "gzip;q=0.5000",
            "gzip;q=-1",
            "gzip;q=",
            "gzip;q=1.5",
        ] {
            assert_eq!(negotiate(bad), Coding::Identity, "{bad}");
        }
        assert_eq!(negotiate("gzip;q=1.000"), Coding::Gzip);
        assert_eq!(negotiate("gzip;q=0.001"), Coding::Gzip);
    }

    #[test]
    fn every_coding_round_trips_to_the_identity_body() {
        let body: Vec<u8> = (0..20_000).map(|i| b"status page "[i % 12]).collect();
        let encoded = Encoded::new(body.clone());
        let (coding, gz) = encoded.get(Coding::Gzip);
        assert_eq!(coding, Coding::Gzip);
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
        assert!(gz.len() < body.len() / 10);
        // brotli is not made at run time: a body made at run time is then sent as it is.
        assert_eq!(
            encoded.get(Coding::Brotli),
            (Coding::Identity, body.clone().into())
        );
        assert_eq!(encoded.get(Coding::Identity).1, body);
    }

    #[test]
    fn small_bodies_are_never_compressed() {
        let encoded = Encoded::new(vec![b'a'; MIN_SIZE - 1]);
        assert_eq!(encoded.get(Coding::Brotli).0, Coding::Identity);
        assert_eq!(encoded.get(Coding::Gzip).1.len(), MIN_SIZE - 1);
    }

    #[tokio::test]
    async fn precompressed_bodies_are_decoded_once_for_clients_without_brotli() {
        let body = b"swagger ui ".repeat(500);
        let mut br = Vec::new();
        brotli::BrotliCompress(&mut &body[..], &mut br, &Default::default()).unwrap();
        let stored: &'static Precompressed = Box::leak(Box::new(Precompressed::new(br.leak())));
        assert_eq!(
            stored.get(Coding::Brotli).await,
            (Coding::Brotli, Bytes::from_static(stored.brotli()))
        );
        assert!(stored.decoded.get().is_none(), "brotli needs no decoding");
        assert_eq!(
            stored.get(Coding::Identity).await,
            (Coding::Identity, body.clone().into())
        );
        let (coding, gz) = stored.get(Coding::Gzip).await;
        assert_eq!(coding, Coding::Gzip);
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
        // Kept: the same bytes again, not made anew.
        let again = stored.get(Coding::Gzip).await.1;
        assert_eq!(again.as_ptr(), gz.as_ptr());
        let identity = stored.get(Coding::Identity).await.1;
        assert_eq!(
            identity.as_ptr(),
            stored.get(Coding::Identity).await.1.as_ptr()
        );
    }

    async fn through_compress(
        content_type: &'static str,
        size: usize,
        method: Method,
        accept: &str,
    ) -> Response {
        let body = "{\"a\":1}".repeat(size / 7 + 1)[..size].to_owned();
        let inner = poem::endpoint::make_sync(move |_| {
            Response::builder()
                .content_type(content_type)
                .body(body.clone())
        });
        let request = Request::builder()
            .method(method)
            .header(header::ACCEPT_ENCODING, accept)
            .finish();
        Compress { inner }.get_response(request).await
    }

    #[tokio::test]
    async fn large_textual_answers_are_compressed_per_response_with_vary() {
        let response = through_compress("application/json", 5000, Method::GET, "gzip").await;
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(response.headers()[header::VARY], "accept-encoding");
        let gz = response.into_body().into_bytes().await.unwrap();
        let mut decoded = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded.len(), 5000);
        assert!(decoded.starts_with("{\"a\":1}{"));

        // Identity for a client that refuses gzip, but Vary all the same: it depended on that.
        let plain = through_compress("application/json", 5000, Method::GET, "gzip;q=0").await;
        assert!(!plain.headers().contains_key(header::CONTENT_ENCODING));
        assert_eq!(plain.headers()[header::VARY], "accept-encoding");
        assert_eq!(plain.into_body().into_bytes().await.unwrap().len(), 5000);
    }

    #[tokio::test]
    async fn small_or_binary_answers_pass_untouched() {
        for (media, size) in [("application/json", MIN_SIZE - 1), ("image/png", 5000)] {
            let response = through_compress(media, size, Method::GET, "gzip").await;
            assert!(
                !response.headers().contains_key(header::CONTENT_ENCODING),
                "{media}"
            );
            assert!(!response.headers().contains_key(header::VARY), "{media}");
            assert_eq!(response.into_body().into_bytes().await.unwrap().len(), size);
        }
    }

    #[tokio::test]
    async fn head_gets_the_length_and_coding_of_get_and_no_body() {
        let get = through_compress("text/html", 5000, Method::GET, "br, gzip").await;
        let head = through_compress("text/html", 5000, Method::HEAD, "br, gzip").await;
        assert_eq!(head.headers()[header::CONTENT_ENCODING], "gzip");
        let length = get.into_body().into_bytes().await.unwrap().len();
        assert_eq!(
            head.headers()[header::CONTENT_LENGTH],
            length.to_string().as_str()
        );
        assert!(head.into_body().into_bytes().await.unwrap().is_empty());
    }
}
