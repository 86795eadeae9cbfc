//! Request signatures: the webhook body HMAC and the DingTalk and Feishu robot signatures.
//!
//! All three are HMAC-SHA256; they differ in what is keyed with what and where the result goes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Header carrying the webhook body signature, `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Plcdiag-Signature";
/// Header carrying the Unix time (seconds) the webhook request was signed at.
pub const TIMESTAMP_HEADER: &str = "X-Plcdiag-Timestamp";

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (RFC 2104 §2), so `new_from_slice` cannot fail for it; the
    // fallback keeps this function total all the same.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The value of [`SIGNATURE_HEADER`] for a webhook request: `sha256=` and the lowercase hex
/// HMAC-SHA256, keyed with the secret, of the [`TIMESTAMP_HEADER`] value, a `.`, and the body
/// bytes (as Stripe signs `t.payload`). Signing the time too lets a receiver refuse replays of
/// an old request: check the signature, then that the timestamp is recent.
pub fn webhook_signature(secret: &str, timestamp_s: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp_s}.").into_bytes();
    message.extend_from_slice(body);
    format!("sha256={}", hex(&hmac_sha256(secret.as_bytes(), &message)))
}

/// DingTalk's `sign` parameter before URL encoding: Base64 of HMAC-SHA256 keyed with the secret
/// over `timestamp + "\n" + secret`, the timestamp in milliseconds (reference §7.2).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let message = format!("{timestamp_ms}\n{secret}");
    BASE64.encode(hmac_sha256(secret.as_bytes(), message.as_bytes()))
}

/// Feishu's `sign` body field: Base64 of HMAC-SHA256 keyed with `timestamp + "\n" + secret`
/// over an empty message, the timestamp in seconds (reference §7.4).
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    BASE64.encode(hmac_sha256(key.as_bytes(), b""))
}

/// Appends DingTalk's `timestamp` and `sign` query parameters to the robot URL (the sign
/// URL-encoded, as DingTalk requires).
pub fn dingtalk_url(url: &mut reqwest::Url, secret: &str, timestamp_ms: i64) {
    let sign = dingtalk_sign(secret, timestamp_ms);
    url.query_pairs_mut()
        .append_pair("timestamp", &timestamp_ms.to_string())
        .append_pair("sign", &sign);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dingtalk_signature_matches_an_independent_computation() {
        // Expected values computed once with Python's standard library:
        //   ts = "1700000000000"; secret = "SECtest0123456789abcdef"
        //   s = base64.b64encode(hmac.new(secret.encode(), (ts + "\n" + secret).encode(),
        //                                 hashlib.sha256).digest()).decode()
        //   urllib.parse.quote_plus(s)
        let secret = "SECtest0123456789abcdef";
        assert_eq!(
            dingtalk_sign(secret, 1_700_000_000_000),
            "/lfnxUUu80FwVTsIlv2F1cMGBb+PxEKAwYh/bsRxXcc="
        );
        let mut url = reqwest::Url::parse("https://oapi.dingtalk.com/robot/send?access_token=T")
            .unwrap_or_else(|e| panic!("{e}"));
        dingtalk_url(&mut url, secret, 1_700_000_000_000);
        assert_eq!(
            url.query(),
            Some(
                "access_token=T&timestamp=1700000000000\
                 &sign=%2FlfnxUUu80FwVTsIlv2F1cMGBb%2BPxEKAwYh%2FbsRxXcc%3D"
            )
        );
    }

    #[test]
    fn the_feishu_signature_matches_an_independent_computation() {
        // Computed once with Python's standard library:
        //   ts = "1700000000"; secret = "feishu-secret"
        //   base64.b64encode(hmac.new((ts + "\n" + secret).encode(), b"",
        //                             hashlib.sha256).digest()).decode()
        assert_eq!(
            feishu_sign("feishu-secret", 1_700_000_000),
            "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU="
        );
    }

    #[test]
    fn the_webhook_signature_is_the_hex_hmac_of_the_timestamp_and_the_body() {
        // Computed once with Python's standard library:
        //   "sha256=" + hmac.new(b"hook-secret", b'1700000000.{"version":"4"}',
        //                        hashlib.sha256).hexdigest()
        assert_eq!(
            webhook_signature("hook-secret", 1_700_000_000, br#"{"version":"4"}"#),
            "sha256=882b1ee1006dddc83fa97ada14e8efc6235265a9eab74431f2a8e2cb0c63e1c4"
        );
    }
}
