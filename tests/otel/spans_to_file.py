"""rotel-agent trace processor for the trace tests: append every span the collector receives to
the JSON-lines file named by SPANS_FILE (one object per span: service, name, ids, kind, status,
attributes). Loaded with `rotel-agent start --otlp-with-trace-processor`.
"""
import json
import os


def plain(value):
    """An OTLP AnyValue as a JSON value."""
    inner = getattr(value, "value", value)
    # Typed values arrive as one of the SDK's enum variants (`StringValue(...)`, `IntValue(...)`).
    inner = getattr(inner, "_0", inner)
    if inner is None or isinstance(inner, (str, int, float, bool)):
        return inner
    return str(inner)


def attributes(key_values):
    return {kv.key: plain(kv.value) for kv in key_values}


def process_spans(resource_spans):
    resource = attributes(resource_spans.resource.attributes) if resource_spans.resource else {}
    with open(os.environ["SPANS_FILE"], "a", encoding="utf-8") as out:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                status = span.status
                record = {
                    "service": resource.get("service.name"),
                    "name": span.name,
                    "trace_id": bytes(span.trace_id).hex(),
                    "span_id": bytes(span.span_id).hex(),
                    "parent_span_id": bytes(span.parent_span_id).hex(),
                    "kind": int(span.kind),
                    "status": int(getattr(status, "code", 0)) if status is not None else 0,
                    "status_message": getattr(status, "message", "") if status is not None else "",
                    "attributes": attributes(span.attributes),
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
