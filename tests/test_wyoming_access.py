"""Who may use the Wyoming port. Wyoming has no authentication, so like the HTTP API it listens on
loopback by default; beyond loopback it needs ``wyoming.allow`` (addresses or networks), and a
connection from anywhere else is closed before a word is read."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from wyoming.event import read_event, write_event
from wyoming.info import Describe

from assistant.config import load_config
from assistant.core import Assistant
from assistant.wyoming_server import WyomingError, WyomingServer
from assistant.wyoming_settings import WyomingSettings


def test_default_is_loopback_and_open_binds_need_an_allow_list():
    assert WyomingSettings().host == "127.0.0.1"
    WyomingSettings().check_bind()
    with pytest.raises(ValueError) as exc:
        WyomingSettings(host="0.0.0.0").check_bind()
    assert "refusing to serve the Wyoming port on 0.0.0.0:10600" in str(exc.value)
    assert "wyoming.allow" in str(exc.value) and "wyoming.host: 127.0.0.1" in str(exc.value)
    WyomingSettings(host="0.0.0.0", allow=["192.168.1.0/24"]).check_bind()
    with pytest.raises(ValueError, match="'kitchen' is not an address or network"):
        WyomingSettings(allow=["kitchen"])


def test_allow_list_matches_addresses_and_networks():
    s = WyomingSettings(host="0.0.0.0", allow=["192.168.1.0/24", "10.0.0.7", "fd00::/8"])
    assert s.allows("127.0.0.1") and s.allows("::1") and s.allows("127.0.0.2")  # this machine
    assert s.allows("192.168.1.31") and s.allows("::ffff:192.168.1.31") and s.allows("10.0.0.7")
    assert s.allows("fd00::1")
    assert not s.allows("192.168.2.31") and not s.allows("10.0.0.8") and not s.allows("8.8.8.8")
    assert not s.allows("") and not s.allows("not-an-address")


class _OnlyListed(WyomingSettings):
    """Treats this machine as a stranger too, so that a real loopback socket can play one."""

    def allows(self, address: str) -> bool:
        return address in self.allow


def _describe(port: int) -> object:
    """The answer to ``describe``, or None when the server closed the connection (EOF or reset)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rwb")
        try:
            write_event(Describe().event(), f)
            f.flush()
            return read_event(f)
        except ConnectionResetError:  # closed with our describe unread
            return None


def test_a_connection_from_an_unlisted_address_is_closed_unread(tmp_path, caplog):
    cfg = load_config(env={"ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_TZ": "UTC"})
    assistant = Assistant(cfg)
    servers = []
    try:
        for allow in ([], ["127.0.0.1"]):
            wy = WyomingServer(assistant, _OnlyListed(host="127.0.0.1", port=0, allow=allow))
            servers.append(wy)
            port = wy.start(warm_up=False)
            answer = _describe(port)
            if allow:
                assert answer is not None and answer.type == "info"
            else:
                assert answer is None  # closed: nothing was answered
                assert _describe(port) is None
        refused = [r.getMessage() for r in caplog.records if "refused a connection" in r.getMessage()]
        assert refused == [
            "Wyoming: refused a connection from 127.0.0.1 (not in wyoming.allow; further ones are not logged)"
        ]
    finally:
        for wy in servers:
            wy.stop()
        assistant.close()


def test_server_and_serve_refuse_an_open_port_without_allow_list(tmp_path):
    cfg = load_config(env={"ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_TZ": "UTC"})
    assistant = Assistant(cfg)
    try:
        with pytest.raises(WyomingError, match="refusing to serve the Wyoming port on 0.0.0.0"):
            WyomingServer(assistant, WyomingSettings(host="0.0.0.0", port=0)).start(warm_up=False)
    finally:
        assistant.close()
    (tmp_path / "c.yaml").write_text(
        f"data_dir: {tmp_path / 'data'}\ntimezone: UTC\nwyoming: {{host: 0.0.0.0, port: 0}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_CONFIG"] = str(tmp_path / "c.yaml")
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "serve"], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 2, out
    assert out.stderr.startswith("assistant: refusing to serve the Wyoming port on 0.0.0.0:0"), out.stderr
