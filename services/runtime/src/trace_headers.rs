//! W3C trace context (`traceparent`, `tracestate`) in NATS message headers, so a trace runs from
//! the publisher through every delivery attempt; and in HTTP headers, so it goes on from the
//! extract worker into `lol-ocr serve`.

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|value| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

struct HttpInjector<'a>(&'a mut axum::http::HeaderMap);

impl Injector for HttpInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::try_from(key), axum::http::HeaderValue::try_from(value.as_str()))
        {
            self.0.insert(name, value);
        }
    }
}

struct HttpExtractor<'a>(&'a axum::http::HeaderMap);

impl Extractor for HttpExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// Write the current span's context into the headers of an HTTP request.
pub fn inject_current_http(headers: &mut axum::http::HeaderMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HttpInjector(headers));
}

/// Make `span` a child of the caller's span named by an HTTP request's `traceparent` (no-op
/// without one).
pub fn continue_trace_http(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HttpExtractor(headers));
    // As for NATS headers: fails only when the span is disabled.
    let _ = span.set_parent(parent);
}

/// Write the current span's context into `headers`.
pub(crate) fn inject_current(headers: &mut HeaderMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}

/// Make `span` a child of the producer's span found in `headers` (no-op without them).
pub(crate) fn continue_trace(span: &tracing::Span, headers: Option<&HeaderMap>) {
    if let Some(headers) = headers {
        let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        // Fails only when the span is disabled by the subscriber, and then there is nothing to parent.
        let _ = span.set_parent(parent);
    }
}

/// The trace id of `span` as 32 hex digits, for logs and for people looking up a job.
pub fn trace_id(span: &tracing::Span) -> String {
    use opentelemetry::trace::TraceContextExt;
    span.context().span().span_context().trace_id().to_string()
}

/// The span id of `span` as 16 hex digits.
pub(crate) fn span_id(span: &tracing::Span) -> String {
    use opentelemetry::trace::TraceContextExt;
    span.context().span().span_context().span_id().to_string()
}
