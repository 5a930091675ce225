//! The sandbox's HTTP server itself: a loopback port per sandbox, shared by clones, stopped
//! with the last clone; the fallible start.

use std::time::Duration;

use saby_sandbox::{Sandbox, SandboxConfig};

/// Whether a new connection to `uri` gets an answer.
async fn answers(uri: &str) -> bool {
    reqwest::Client::new()
        .get(format!("{uri}/nowhere"))
        .send()
        .await
        .is_ok_and(|r| r.status().as_u16() == 404)
}

#[tokio::test]
async fn clones_share_the_server_which_stops_with_the_last_one() {
    let sb = Sandbox::try_start(SandboxConfig::default()).await.unwrap();
    let other = Sandbox::try_start(SandboxConfig::default()).await.unwrap();
    let uri = sb.uri();
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    assert_ne!(uri, other.uri());

    let clone = sb.clone();
    drop(sb);
    assert!(answers(&uri).await, "a clone keeps the server running");
    assert_eq!(clone.request_count(), 1);

    drop(clone);
    // The server thread notices the drop asynchronously; a new connection is refused soon.
    let mut stopped = false;
    for _ in 0..200 {
        if !answers(&uri).await {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        stopped,
        "the server still answers after the last clone was dropped"
    );
    assert!(answers(&other.uri()).await);
}
