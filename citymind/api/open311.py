"""Open311 GeoReport v2 answers (the standard's field names)."""

from __future__ import annotations

from citymind.api.common import Answer


class Open311Service(Answer):
    service_code: str
    service_name: str
    description: str | None = None
    metadata: bool
    type: str
    keywords: str | None = None
    group: str | None = None


class Open311Receipt(Answer):
    service_request_id: str
    service_notice: str | None = None
    account_id: str | None = None


class Open311Request(Answer):
    service_request_id: str
    status: str
    status_notes: str | None = None
    service_name: str | None = None
    service_code: str | None = None
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    requested_datetime: str | None = None
    updated_datetime: str | None = None
    expected_datetime: str | None = None
    address: str | None = None
