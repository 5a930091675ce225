//! The client's `attempt`/`status` span fields stay on its own spans.
//!
//! When an application filters `saby.*` spans out, `Span::current()` inside the client is
//! the application's nearest enabled span. The client must not write its fields there.
//! (In its own file: tracing caches per call site whether anyone listens.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use crate::common::*;
use tracing::Instrument as _;
use tracing::field::{Field, Visit};
use tracing::span::{Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// Every `(span name, field name)` recorded after the span was created.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<(String, String)>>>);

impl<S> Layer<S> for Recorded
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        struct Names(Vec<String>);
        impl Visit for Names {
            fn record_debug(&mut self, field: &Field, _: &dyn Debug) {
                self.0.push(field.name().to_owned());
            }
        }
        let span = ctx
            .span(id)
            .map(|s| s.name().to_owned())
            .unwrap_or_default();
        let mut names = Names(Vec::new());
        values.record(&mut names);
        let mut seen = self.0.lock().unwrap();
        seen.extend(names.0.into_iter().map(|f| (span.clone(), f)));
    }
}

#[tokio::test]
async fn filtered_out_client_spans_do_not_write_into_the_callers_span() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply(fx(include_str!("../fixtures/document_incoming.json"))),
        Some(1),
    )
    .await;
    let client = client(&server);

    // The binary's global TRACE subscriber keeps every call site enabled, so the
    // scoped subscriber below sees them all (see `hr_docs_testkit::logs`).
    hr_docs_testkit::logs::install();
    let recorded = Recorded::default();
    let only_app_spans = tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.is_span() && meta.name().starts_with("saby."))
    });
    let subscriber =
        tracing_subscriber::registry().with(recorded.clone().with_filter(only_app_spans));
    let _guard = tracing::subscriber::set_default(subscriber);

    let app_span = tracing::info_span!(
        "app.step",
        attempt = tracing::field::Empty,
        status = tracing::field::Empty
    );
    client
        .read_document("in-doc-7")
        .instrument(app_span.clone())
        .await
        .unwrap();
    app_span.record("attempt", 7u64);

    let seen = recorded.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![("app.step".to_owned(), "attempt".to_owned())],
        "only the application's own record reached its span"
    );
}
