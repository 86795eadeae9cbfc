//! `/static/{file}`: the stylesheet and script, embedded in the binary (the UI works offline).
//!
//! Pages link them as `…/static/plcdiag.css?v=HASH`: a request with the current hash is cached
//! for a year (`immutable`); any other request gets an `ETag` and revalidates, so a new binary
//! is never hidden behind an old cached file.

use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// One embedded file.
pub(crate) struct Asset {
    /// File name under `/static/`.
    pub(crate) name: &'static str,
    /// `Content-Type`.
    pub(crate) content_type: &'static str,
    /// The bytes.
    pub(crate) body: &'static [u8],
}

/// Every file under `web/static/`.
pub(crate) static ASSETS: [Asset; 2] = [
    Asset {
        name: "plcdiag.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../web/static/plcdiag.css"),
    },
    Asset {
        name: "plcdiag.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../web/static/plcdiag.js"),
    },
];

/// A hash of all assets: the `v` of their URLs and their `ETag`.
pub(crate) static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for a in &ASSETS {
        h.update(a.name.as_bytes());
        h.update(a.body);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
});

#[derive(Deserialize)]
pub(super) struct AssetQuery {
    v: Option<String>,
}

/// `GET /static/{file}`.
pub(super) async fn serve(
    Path(file): Path<String>,
    Query(q): Query<AssetQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == file) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response();
    };
    let etag = format!("\"{}\"", &*VERSION);
    let cache = if q.v.as_deref() == Some(VERSION.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    if matches {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            ],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.body,
    )
        .into_response()
}
