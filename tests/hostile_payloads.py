"""Hostile requests for every route of the gateway (issue 20): sizes, encodings, nesting, chunking, compression
bombs, pathological regex input, numeric extremes, malformed images and clips, unicode edge cases, header abuse.
Each is a :class:`Payload`; the suites send every one and require no answer of 500 or more. ``expect`` narrows the
answer where one status is right (413 for a body over the limit)."""

from __future__ import annotations

import base64
import gzip
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

MIB = 1024 * 1024


@dataclass(frozen=True)
class Payload:
    name: str
    method: str
    path: str
    json: object = None
    content: bytes | None = None
    chunked: bool = False  # send ``content`` without a Content-Length, in 64 KiB chunks
    headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None
    expect: tuple[int, ...] = ()  # empty: any status below 500

    def chunks(self) -> Iterator[bytes]:
        body = self.content or b""
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]


def _png(width: int, height: int) -> bytes:
    """A real PNG of zeros: tiny on the wire, width × height × 3 bytes once decoded."""
    raw = b"".join(b"\x00" + bytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG header claiming a huge image, with no pixel data: a decompression bomb's first bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = b"IHDR" + header
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _text_payloads() -> Iterator[Payload]:
    classify, triage = "/v1/events/classify", "/v1/events/triage"
    texts = {
        "email-bomb": "a" * 4990 + "@",
        "dots": "a." * 2495,
        "spaces-no-newline": " " * 4999,
        "newlines": "\n" * 4999,
        "digits": "1" * 4999,
        "mixed-pii": ("13812345678 " * 400)[:4999],
        "lone-surrogate": "路灯\ud800坏了",
        "nul": "路灯\x00坏了",
        "zero-width": "\u200b" * 4000 + "路灯",
        "rtl": "\u202e路灯坏了\u202c",
        "combining": "e" + "\u0301" * 4998,
        "emoji": "🚦" * 2000,
        "fullwidth-digits": "电话１３８１２３４５６７８",
        "traditional": "東閣街道路燈不亮！！" * 100,
        "only-punctuation": "！？。，" * 1000,
    }
    for name, text in texts.items():
        yield Payload(f"classify {name}", "POST", classify, json={"text": text})
        yield Payload(f"triage {name}", "POST", triage, json={"report": {"text": text}})
        yield Payload(f"mask {name}", "POST", "/v1/components/privacy.mask", json={"record": {"text": text}})
    yield Payload("classify text over the limit", "POST", classify, json={"text": "路" * 5001}, expect=(400,))
    yield Payload("mask 80k characters", "POST", "/v1/components/privacy.mask", json={"record": {"text": "a" * 80_000}})
    yield Payload("classify 256 long texts", "POST", classify, json={"texts": ["路灯" * 2000] * 256}, expect=(413,))
    yield Payload("classify top_k huge", "POST", classify, json={"text": "路灯", "top_k": 10**20})
    yield Payload("classify version negative", "POST", classify, json={"text": "路灯", "version": -1})
    yield Payload("classify model path", "POST", classify, json={"text": "路灯", "model": "../../etc/passwd"})
    yield Payload(
        "classify request key 10 KB", "POST", classify, json={"text": "路灯"}, headers={"x-request-key": "k" * 10_000}
    )
    for when in ("0001-01-01T00:00:00", "9999-12-31T23:59:59", "2026-13-45T99:00:00", "1e308", ""):
        yield Payload(f"triage time {when!r}", "POST", triage, json={"report": {"text": "路灯不亮", "time": when}})
    yield Payload("triage 256 reports", "POST", triage, json={"reports": [{"text": "南村镇路灯不亮"}] * 256})
    yield Payload(
        "triage reporter id long", "POST", triage, json={"report": {"text": "路灯", "reporter": {"id": "r" * 5000}}}
    )


def _body_payloads() -> Iterator[Payload]:
    classify = "/v1/events/classify"
    big = b'{"text": "' + b"a" * (3 * MIB) + b'"}'
    yield Payload("body 3 MiB with a length", "POST", classify, content=big, expect=(413,))
    yield Payload("body 3 MiB chunked", "POST", classify, content=big, chunked=True, expect=(413,))
    yield Payload("body 50 MiB chunked", "POST", classify, content=b"[" * (50 * MIB), chunked=True, expect=(413,))
    yield Payload(
        "content-length lies",
        "POST",
        classify,
        content=b'{"text": "x"}',
        headers={"content-length": "999999999999"},
        expect=(413,),
    )
    yield Payload(
        "content-length not a number", "POST", classify, content=b'{"text": "x"}', headers={"content-length": "-1"}
    )
    nested = b"[" * 200_000 + b"]" * 200_000
    yield Payload("nesting 200k arrays", "POST", classify, content=nested, headers={"content-type": "application/json"})
    deep = json.dumps({"record": {"text": "x", "extra": json.loads("[" * 500 + "]" * 500)}}).encode()
    yield Payload(
        "component record nested 500",
        "POST",
        "/v1/components/text.normalize",
        content=deep,
        headers={"content-type": "application/json"},
    )
    yield Payload(
        "invalid utf-8",
        "POST",
        classify,
        content=b'{"text": "\xff\xfe\xfa"}',
        headers={"content-type": "application/json"},
    )
    yield Payload(
        "utf-16 body",
        "POST",
        classify,
        content='{"text": "路灯"}'.encode("utf-16"),
        headers={"content-type": "application/json"},
    )
    yield Payload(
        "bom body",
        "POST",
        classify,
        content=b"\xef\xbb\xbf" + '{"text": "路灯"}'.encode(),
        headers={"content-type": "application/json"},
    )
    yield Payload(
        "gzip body",
        "POST",
        classify,
        content=gzip.compress(b'{"text": "' + b"a" * MIB + b'"}'),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    yield Payload("text/plain body", "POST", classify, content=b"hello", headers={"content-type": "text/plain"})
    yield Payload(
        "NaN and Infinity",
        "POST",
        "/v1/forecast",
        content=b'{"history": [NaN, Infinity, -Infinity], "end": "2026-01-01T00:00:00"}',
        headers={"content-type": "application/json"},
    )
    yield Payload(
        "integer 400 digits",
        "POST",
        classify,
        content=b'{"text": "x", "top_k": ' + b"9" * 400 + b"}",
        headers={"content-type": "application/json"},
    )
    yield Payload(
        "duplicate keys",
        "POST",
        classify,
        content=b'{"text": "a", "text": "b", "texts": ["c"]}',
        headers={"content-type": "application/json"},
    )
    yield Payload("empty body", "POST", classify, content=b"", headers={"content-type": "application/json"})


def _numeric_payloads() -> Iterator[Payload]:
    week = [50.0] * 168
    for name, history in {
        "1e308": [1e308] * 168,
        "-1e308": [-1e308] * 168,
        "tiny": [5e-324] * 168,
        "all null": [None] * 168,
        "5000 values": [1.0] * 5000,
        "5001 values": [1.0] * 5001,
    }.items():
        yield Payload(
            f"forecast history {name}", "POST", "/v1/forecast", json={"history": history, "end": "2026-01-01T00:00:00"}
        )
    for end in ("0001-01-01T00:00:00", "9999-12-31T23:00:00", "2026-01-01T00:30:00"):
        yield Payload(f"forecast end {end}", "POST", "/v1/forecast", json={"history": week, "end": end})
    yield Payload(
        "forecast exog extreme",
        "POST",
        "/v1/forecast",
        json={"history": week, "end": "2026-01-01T00:00:00", "exog": {"temperature": 1e308}},
    )
    indicators = "/v1/indicators/evaluate"
    for name, points in {
        "9e9 s apart": [{"t": 0, "value": 1}, {"t": 9e9, "value": 2}],
        "epoch 1e20": [{"t": 1e20, "value": 1}, {"t": 1e20 + 3600, "value": 2}],
        "year 9999": [{"t": "9999-12-31T22:00:00", "value": 1}, {"t": "9999-12-31T23:00:00", "value": 2}],
        "year 1": [{"t": "0001-01-01T00:00:00", "value": 1}, {"t": "0001-01-01T01:00:00", "value": 2}],
        "values 1e308": [{"t": 1_700_000_000 + 3600 * i, "value": 1e308} for i in range(200)],
        "bad times": [{"t": "yesterday", "value": 1}, {"t": "today", "value": 2}],
    }.items():
        yield Payload(
            f"indicators {name}", "POST", indicators, json={"series": [{"indicator": "pm25", "points": points}]}
        )
    series = [{"t": 0, "value": 1}, {"t": 9e9, "value": 2}]
    yield Payload("resample 9e9 s apart", "POST", "/v1/components/series.resample", json={"record": {"series": series}})
    yield Payload(
        "resample 60k points",
        "POST",
        "/v1/components/series.resample",
        json={"record": {"series": [{"t": i, "value": 1} for i in range(60_000)]}},
    )


def _image_payloads() -> Iterator[Payload]:
    decode = "/v1/components/image.decode"
    small_big = _b64(_png(4096, 4096))
    yield Payload("image 64 × 4096² PNGs", "POST", decode, json={"records": [{"image": small_big}] * 64})
    yield Payload(
        "image header claims 100k²",
        "POST",
        decode,
        json={"record": {"image": _b64(_png_header_only(100_000, 100_000))}},
    )
    yield Payload("image truncated PNG", "POST", decode, json={"record": {"image": _b64(_png(64, 64)[:60])}})
    yield Payload(
        "image truncated JPEG", "POST", decode, json={"record": {"image": _b64(b"\xff\xd8\xff\xe0" + bytes(100))}}
    )
    yield Payload("image not base64", "POST", decode, json={"record": {"image": "%%%not base64%%%"}})
    yield Payload("image empty", "POST", decode, json={"record": {"image": ""}})
    yield Payload("image random bytes", "POST", decode, json={"record": {"image": _b64(bytes(range(256)) * 40)}})
    yield Payload(
        "image data-uri svg", "POST", decode, json={"record": {"image": "data:image/svg+xml;base64," + _b64(b"<svg/>")}}
    )
    analyze = "/v1/video/analyze"
    for name, frames in {
        "truncated": [_b64(_png(64, 64)[:60])],
        "header 100k²": [_b64(_png_header_only(100_000, 100_000))],
        "65 frames": [_b64(_png(16, 16))] * 65,
        "not base64": ["***"],
    }.items():
        yield Payload(f"video {name}", "POST", analyze, json={"camera": "overpass", "frames": frames})
    yield Payload("video unknown camera", "POST", analyze, json={"camera": "../../x", "frames": [_b64(_png(16, 16))]})
    yield Payload(
        "video timestamps backwards",
        "POST",
        analyze,
        json={"camera": "overpass", "frames": [_b64(_png(16, 16))] * 2, "timestamps": [10, 1]},
    )
    yield Payload(
        "video clip not a video",
        "POST",
        analyze,
        files={"clip": ("clip.mp4", b"\x00" * 5000, "video/mp4")},
        data={"camera": "overpass"},
    )
    yield Payload("video multipart no camera", "POST", analyze, files={"frames": ("f.png", _png(16, 16), "image/png")})
    yield Payload(
        "video events bad area",
        "POST",
        "/v1/video/events?area=" + "x" * 2000,
        json={"camera": "overpass", "frames": [_b64(_png(16, 16))]},
    )


def _oip_payloads() -> Iterator[Payload]:
    infer = "/v2/models/event-classifier/infer"
    for name, tensor in {
        "shape 1e9": {"name": "text", "shape": [1_000_000_000], "datatype": "BYTES", "data": ["x"]},
        "negative dim": {"name": "text", "shape": [-1, 1], "datatype": "BYTES", "data": ["x"]},
        "wrong datatype": {"name": "text", "shape": [1, 1], "datatype": "FP32", "data": [1.0]},
        "bytes not strings": {"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": [1]},
        "unknown datatype": {"name": "text", "shape": [1, 1], "datatype": "COMPLEX", "data": ["x"]},
        "nested data": {"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": [[[["x"]]]]},
        "text 6000 chars": {"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": ["路" * 6000]},
        "9 dims": {"name": "text", "shape": [1] * 9, "datatype": "BYTES", "data": ["x"]},
    }.items():
        yield Payload(f"oip {name}", "POST", infer, json={"inputs": [tensor]})
    yield Payload(
        "oip binary header lies",
        "POST",
        infer,
        content=b'{"inputs": []}',
        headers={"inference-header-content-length": "99999"},
    )
    yield Payload(
        "oip binary size lies",
        "POST",
        infer,
        content=json.dumps(
            {
                "inputs": [
                    {"name": "text", "shape": [1, 1], "datatype": "BYTES", "parameters": {"binary_data_size": 10**9}}
                ]
            }
        ).encode(),
        headers={"inference-header-content-length": "120"},
    )
    yield Payload("oip unknown model", "POST", "/v2/models/" + "x" * 300 + "/infer", json={"inputs": []})
    yield Payload(
        "oip version not a number", "POST", "/v2/models/event-classifier/versions/1e99/infer", json={"inputs": []}
    )
    yield Payload("oip metadata traversal", "GET", "/v2/models/..%2F..%2Fetc/ready")


def _other_payloads() -> Iterator[Payload]:
    yield Payload("registry unknown kind", "GET", "/v1/registry/" + "k" * 500)
    yield Payload("registry name traversal", "GET", "/v1/registry/model/..%2F..%2Fetc")
    yield Payload("pipeline unknown", "POST", "/v1/pipelines/nope", json={"record": {"text": "x"}})
    yield Payload("component unknown", "POST", "/v1/components/" + "c" * 300, json={"record": {"text": "x"}})
    yield Payload("refresh", "POST", "/v1/models/refresh")
    yield Payload("health", "GET", "/v1/health")
    yield Payload("metrics", "GET", "/metrics")
    yield Payload("open311", "GET", "/open311/v2/services.json")
    yield Payload(
        "authorization garbage",
        "POST",
        "/v1/events/classify",
        json={"text": "x"},
        headers={"authorization": "Bearer " + "\u00ff" * 3000},
    )
    yield Payload("method not allowed", "DELETE", "/v1/events/classify")


def payloads() -> list[Payload]:
    return [
        *_text_payloads(),
        *_body_payloads(),
        *_numeric_payloads(),
        *_image_payloads(),
        *_oip_payloads(),
        *_other_payloads(),
    ]
