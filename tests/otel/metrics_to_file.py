"""rotel-agent metrics processor for the telemetry tests: append every metric the collector
receives to the JSON-lines file named by METRICS_FILE (service, name, data points with value and
attributes). Loaded with `rotel-agent start --otlp-with-metrics-processor`.
"""
import json
import os

from spans_to_file import attributes, plain


def unwrap(variant):
    """The content of one of the SDK's enum variants (`MetricData.Sum(...)`, `Value.AsInt(...)`)."""
    return getattr(variant, "_0", variant)


def data_points(metric):
    # The data is one of Gauge, Sum, Histogram, …; Gauge and Sum carry `data_points`.
    points = getattr(unwrap(metric.data), "data_points", None) or []
    return [{"value": plain(unwrap(point.value)), "attributes": attributes(point.attributes)} for point in points]


def process_metrics(resource_metrics):
    resource = attributes(resource_metrics.resource.attributes) if resource_metrics.resource else {}
    with open(os.environ["METRICS_FILE"], "a", encoding="utf-8") as out:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                record = {"service": resource.get("service.name"), "name": metric.name, "points": data_points(metric)}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
