"""nginx in front of the app: configured from the scenario, loopback only, logs kept, nothing left."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
from pathlib import Path

import psutil
import pytest

from lab.drive import proxy as nginx
from lab.drive.checks import get
from lab.drive.processes import core_layout, free_port, port_in_use
from lab.drive.proxy import Proxy
from lab.drive.servers import Server
from lab.errors import LabError
from lab.paths import ROOT
from lab.scenario import loading
from lab.scenario.models import ProxySettings, ServerSettings
from tests.test_scenario import write_scenario

HAVE_NGINX = any(shutil.which(name) for name in nginx.CANDIDATES)
needs_nginx = pytest.mark.skipif(not HAVE_NGINX, reason="nginx is not installed (make nginx installs Debian's)")


def test_proxy_settings_are_validated_and_a_variant_may_have_its_own(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, extra='[variant_proxy.ghost]\nclient_max_body_size = "1m"\n')
    with pytest.raises(LabError, match=r"variant_proxy\.ghost: unknown variant 'ghost'"):
        loading.load(str(path))
    path = write_scenario(tmp_path, extra='[proxy]\nclient_max_body_size = "a lot"\n')
    with pytest.raises(LabError, match=r"proxy\.client_max_body_size") as err:
        loading.load(str(path))
    assert "\n" not in str(err.value)
    loaded = loading.load(str(write_scenario(tmp_path, extra="[proxy]\nkeepalive_timeout_s = 75\n")))
    assert all(loaded.proxied(v) == ProxySettings(keepalive_timeout_s=75) for v in loaded.variants)


@needs_nginx
def test_the_generated_configuration_is_what_nginx_accepts_and_listens_on_loopback_only(tmp_path: Path) -> None:
    settings = ProxySettings(keepalive=8, keepalive_timeout_s=0.5, client_max_body_size="2m")  # nginx refuses "0.5s"
    text = nginx.config(settings, 18080, 18000, tmp_path)
    assert "listen 127.0.0.1:18080" in text and "server 127.0.0.1:18000" in text
    assert "keepalive 8;" in text and "keepalive_timeout 500ms;" in text and "client_max_body_size 2m;" in text
    for kind in nginx.TEMP_PATHS:
        (tmp_path / f"nginx-{kind}").mkdir()
    (tmp_path / "nginx.conf").write_text(text)
    checked = subprocess.run(
        [nginx.binary(), "-t", "-p", str(tmp_path), "-e", str(tmp_path / "t.log"), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.e2e
@needs_nginx
def test_nginx_passes_requests_to_the_app_refuses_an_oversized_body_itself_and_leaves_nothing(tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    cores = core_layout().server
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = Server(
        "apps.loop_blocking.fix_await:app",
        ServerSettings(env={"BLOCK_MS": "1"}, access_log=True),
        port,
        cores=cores,
        env=env,
        log=tmp_path / "server.log",
        cwd=ROOT,
        what="the app",
    )
    settings = ProxySettings(client_max_body_size="1k", error_log_level="error")
    with server, Proxy(settings, port, cores=cores, env=env, folder=tmp_path, health="/health") as front:
        assert get("127.0.0.1", front.port, "/work")[0] == 200
        conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=5)
        conn.request("POST", "/work", body=b"x" * 4096)
        status = conn.getresponse().status
        conn.close()
        pids = [front.pid, *(p.pid for p in psutil.Process(front.pid).children(recursive=True))]
        proxy_port = front.port
    assert status == 413  # nginx's own answer: the app never saw the body
    assert front.errors()["proxy_body_too_large"] == 1 and front.errors()["proxy_upstream_errors"] == 0
    [line] = front.excerpt()  # the record's evidence: nginx's own line, without when and which process
    assert line.startswith("client intended to send too large body: 4096 bytes"), line
    served = (tmp_path / "server.log").read_text()
    assert "GET /work" in served and "POST /work" not in served  # the app's own access log
    assert (tmp_path / "nginx.conf").is_file() and (tmp_path / "nginx-error.log").is_file()
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert not port_in_use("127.0.0.1", proxy_port)


def test_a_missing_nginx_is_one_line_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nginx, "CANDIDATES", ("no-such-nginx-here",))
    with pytest.raises(LabError, match=r"nginx is not installed; `apt-get install nginx`"):
        nginx.binary()


def test_a_proxy_s_502_is_counted_by_its_own_status_and_claimable() -> None:
    """nginx's 502 (a lost upstream connection) and 413 (a body over its limit) are shares of their
    own: a claim on the 502 share is not an error rate that any other failure would also raise."""
    import pandas as pd

    from lab.analysis.traffic import traffic
    from lab.record.models import CellSummary

    statuses = [200] * 90 + [502] * 6 + [500] * 4
    requests = pd.DataFrame(
        {
            "t": [i / 10 for i in range(100)],
            "name": "/orders",
            "response_ms": 2.0,
            "latency_ms": 2.0,
            "ok": [int(s == 200) for s in statuses],
            "status": statuses,
        }
    )
    part = traffic(requests, 10.0)
    summary = CellSummary(**part.model_dump(), window_s=10.0, by_request={}, segments={})
    assert summary.value("status_502_share") == 0.06 and summary.value("status_413_share") == 0.0
    assert summary.value("error_rate") == 0.1
