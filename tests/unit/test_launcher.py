"""The gateway's serve loop around its (faked) start and stop: a SIGTERM stops it cleanly whichever handler meets it."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator

import pytest

from serving import launcher


@pytest.fixture
def fake_gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    urls = launcher.GatewayURLs("http://127.0.0.1:1", (), "http://127.0.0.1:101")

    def start_gateway(*args: object, **kwargs: object) -> launcher.GatewayURLs:
        calls.append("start")
        return urls

    monkeypatch.setattr(launcher, "start_gateway", start_gateway)
    monkeypatch.setattr(launcher, "stop_gateway", lambda: calls.append("stop"))
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield calls
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _sigterm_soon() -> None:
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()


def test_sigterm_stops_the_gateway_and_returns(fake_gateway: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _sigterm_soon()
    launcher.serve_forever()
    assert fake_gateway == ["start", "stop"]
    assert capsys.readouterr().out.splitlines()[-2:] == ["stopping the gateway ...", "gateway stopped"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN  # a second SIGTERM cannot cut the shutdown short


def test_rays_own_sigterm_handler_also_means_a_clean_stop(
    fake_gateway: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def rays_handler_left_in_place() -> threading.Event:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))  # what ray.init installs
        return threading.Event()

    monkeypatch.setattr(launcher, "_stop_on_signals", rays_handler_left_in_place)
    _sigterm_soon()
    launcher.serve_forever()  # returns: no SystemExit(15) escapes, so the process exits 0
    assert fake_gateway == ["start", "stop"]


def test_other_exits_still_propagate(fake_gateway: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def exits_with_two() -> threading.Event:
        raise SystemExit(2)

    monkeypatch.setattr(launcher, "_stop_on_signals", exits_with_two)
    with pytest.raises(SystemExit) as exit_:
        launcher.serve_forever()
    assert (exit_.value.code, fake_gateway) == (2, ["start", "stop"])


def test_a_slow_proxy_is_waited_for_as_long_as_serve_start_waits() -> None:
    """Serve's controller kills a proxy not ready within RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S (5 s by default),
    which fails ``serve.start``; on a busy machine the proxy took 26 s. Ray's processes get the wait serve.start
    itself allows."""
    from ray.serve._private.constants import HTTP_PROXY_TIMEOUT

    for direct_ingress in (True, False):
        env = launcher.ray_environment(8000, direct_ingress=direct_ingress)
        assert float(env["RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S"]) >= HTTP_PROXY_TIMEOUT
