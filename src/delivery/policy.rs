//! What a capture response means for the message and its events (wire.md §9.1, product.md
//! §4 decisions 3 and 4).

/// The result of posting one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// 202 on a frame that is not the last: send the next frame.
    NextFrame,
    /// A 2xx on the last frame: the events are delivered; remove them from the queue.
    Consume,
    /// 401: the key is wrong. Dead-letter the batch and stop uploading for this client.
    AuthFailed,
    /// Any other 4xx (but 408, 409, 429): dead-letter the batch.
    Reject,
    /// 408, 409, 429, 5xx, 1xx, 3xx, a 2xx out of place, or no usable response: keep the
    /// events, back off, and restart the message from offset 0 next time.
    Retry,
}

/// Classifies the HTTP `status` of the response to a frame (`is_final`: it was the last).
/// Status 0 stands for "no response".
pub const fn classify(status: u16, is_final: bool) -> Action {
    match status {
        202 if !is_final => Action::NextFrame,
        200..=299 if is_final && status != 202 => Action::Consume,
        401 => Action::AuthFailed,
        408 | 409 | 429 => Action::Retry,
        400..=499 => Action::Reject,
        _ => Action::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_response_policy_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/conformance/http/response-policy.json"
        );
        let text = std::fs::read_to_string(path).expect("../shared/conformance/http/response-policy.json");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
        let cases = doc["cases"].as_array().expect("cases");
        assert!(cases.len() >= 13);
        for case in cases {
            let status = case["status"].as_u64().expect("status") as u16;
            let expected = match (case["result"].as_str(), case["queue"].as_str()) {
                (Some("chunk_stored"), Some("preserve")) => Action::NextFrame,
                (Some("accepted"), Some("consume")) => Action::Consume,
                (Some("auth_error"), Some("drop_or_dead_letter")) => Action::AuthFailed,
                (Some("rejected"), Some("drop_or_dead_letter")) => Action::Reject,
                (Some("retry"), Some("preserve")) => Action::Retry,
                other => panic!("unknown case {other:?}"),
            };
            // A 202 answers a non-final frame; every other row is about the final frame.
            let is_final = status != 202;
            assert_eq!(classify(status, is_final), expected, "status {status}");
        }
    }

    #[test]
    fn covers_every_status() {
        assert_eq!(
            classify(202, true),
            Action::Retry,
            "202 on the last frame is a retry"
        );
        assert_eq!(
            classify(204, false),
            Action::Retry,
            "204 before the last frame is a retry"
        );
        assert_eq!(classify(200, true), Action::Consume);
        assert_eq!(classify(408, true), Action::Retry);
        assert_eq!(classify(418, true), Action::Reject);
        assert_eq!(classify(302, true), Action::Retry);
        assert_eq!(classify(100, true), Action::Retry);
        assert_eq!(classify(599, true), Action::Retry);
        assert_eq!(classify(0, true), Action::Retry);
    }
}
