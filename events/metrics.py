"""What the event engine counts (served at the gateway's ``GET /metrics``): predictions per model version and
canary arm, shadow agreement, rule firings per rule, records per call."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: the registry every citymind metric of a process is kept in (the gateway adds its request metrics)
METRICS = CollectorRegistry(auto_describe=True)
PREDICTIONS = Counter(
    "citymind_predictions", "Predictions by model, version and arm", ["model", "version", "arm"], registry=METRICS
)
SHADOW = Counter(
    "citymind_shadow",
    "Shadow answers of a challenger: agree, disagree, dropped",
    ["model", "version", "outcome"],
    registry=METRICS,
)
RULE_FIRINGS = Counter(
    "citymind_rule_firings", "Rule firings by rule set version and rule", ["ruleset", "rule"], registry=METRICS
)
BATCH_SIZE = Histogram(
    "citymind_batch_size", "Records per call", ["route"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=METRICS
)
RECORDED = Counter("citymind_events_recorded", "Events recorded, by kind", ["kind"], registry=METRICS)
OUTCOMES = Counter(
    "citymind_event_outcomes", "Outcomes applied to recorded events, by type", ["type"], registry=METRICS
)
ESCALATIONS = Counter(
    "citymind_event_escalations", "Overdue events escalated, by clock (sla, escalate)", ["clock"], registry=METRICS
)
EVALUATION = Gauge(
    "citymind_evaluation",
    "综合评判 of the last 7 days' reports: first_time_right, category_accuracy, sla_compliance, satisfaction, "
    "reopen_rate (NaN: nothing to rate yet)",
    ["measure"],
    registry=METRICS,
)
DRIFT_PSI = Gauge(
    "citymind_model_drift_psi",
    "Population stability index of a model version's recent answers against its training data, by measure",
    ["model", "version", "measure"],
    registry=METRICS,
)
