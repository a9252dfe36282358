"""The load the platform's services put on the gateway: report classification (most calls), triage, and the
privacy-masking component. Used by tests/e2e/test_load.py (``locust --headless``)."""

from __future__ import annotations

import random

from locust import FastHttpUser, task

REPORTS = [
    "南村镇小区门口垃圾堆放很久没人清理",
    "东阁街道夜里施工噪音扰民，电话13812345678",
    "李园街道3号楼电梯困人",
    "古岘镇有人焚烧秸秆，烟很大",
    "凤台街道路灯不亮已经一周",
]


class PlatformService(FastHttpUser):
    """No think time: each user sends its next request as soon as the last one answers (saturation)."""

    @task(6)
    def classify(self) -> None:
        self.client.post("/v1/events/classify", json={"text": random.choice(REPORTS)})

    @task(2)
    def triage(self) -> None:
        self.client.post("/v1/events/triage", json={"report": {"text": random.choice(REPORTS)}})

    @task(1)
    def mask(self) -> None:
        self.client.post("/v1/components/privacy.mask", json={"record": {"text": random.choice(REPORTS)}})
