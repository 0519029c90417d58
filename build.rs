//! Compresses Swagger UI's script and stylesheet into `OUT_DIR`, once per build.
//!
//! They are 1.6 MB as text and a fifth of that as brotli: stored compressed, they keep the binary
//! small, and serving them costs no compression per request (`src/api/docs.rs`). Only brotli is
//! stored; a client without it gets them decoded at run time (`src/compression.rs`).
//! poem-openapi keeps them private and only hands them out inlined in its page, so they are cut
//! out of the page it renders for an empty API.

use std::io::Write;
use std::path::Path;

use poem_openapi::OpenApiService;

/// Brotli's best quality and largest standard window: paid once per build, not per request.
const BROTLI_QUALITY: u32 = 11;
const BROTLI_WINDOW: u32 = 22;

fn main() {
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let page = OpenApiService::new((), "", "").swagger_ui_html();
    for (name, open, close) in [
        ("swagger-ui.css", "<style charset=\"UTF-8\">", "</style>"),
        (
            "swagger-ui-bundle.js",
            "<script charset=\"UTF-8\">",
            "</script>",
        ),
    ] {
        let asset = between(&page, open, close)
            .unwrap_or_else(|| panic!("poem-openapi's Swagger UI page has no {open}...{close}"));
        let dir = Path::new(&out);
        std::fs::write(dir.join(format!("{name}.br")), brotli(asset.as_bytes())).unwrap();
    }
    println!("cargo::rerun-if-changed=build.rs");
}

/// The text between the first `open` and the next `close`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer =
            brotli::CompressorWriter::new(&mut out, 64 * 1024, BROTLI_QUALITY, BROTLI_WINDOW);
        writer.write_all(data).unwrap();
    }
    out
}
