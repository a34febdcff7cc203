"""MQTT over TLS with a client certificate (SPEC 7): a real mosquitto with its own test PKI.

The broker requires a certificate signed by the test CA. `edge sync drain` with the right CA,
client certificate and key delivers every row (each marked sent only on its PUBACK); without a
client certificate, or trusting another CA, nothing is delivered and every row stays unsent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mqtt_broker import Broker
from tests.sync_fixtures import make_store, outbox_seqs

ROOT = Path(__file__).resolve().parents[1]


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=directory)


def make_cert(directory: Path, name: str, ca: str, san: str | None = None) -> None:
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory)
    extra = []
    if san:
        (directory / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        extra = ["-extfile", f"{name}.ext"]
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", *extra, cwd=directory)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """A test CA, a broker certificate for 127.0.0.1, a node certificate, and a rogue CA."""
    directory = tmp_path_factory.mktemp("pki")
    make_ca(directory, "ca")
    make_ca(directory, "rogue")
    make_cert(directory, "broker", "ca", san="IP:127.0.0.1,DNS:localhost")
    make_cert(directory, "node", "ca")
    return directory


@pytest.fixture
def tls_broker(tmp_path, pki):
    directory = tmp_path / "broker"
    directory.mkdir()
    broker = Broker(directory, extra_conf=(
        f"cafile {pki / 'ca.crt'}\ncertfile {pki / 'broker.crt'}\nkeyfile {pki / 'broker.key'}\n"
        "require_certificate true\n"
    )).start()
    yield broker
    broker.stop()


def drain(tmp_path: Path, broker: Broker, tls: str, timeout: float) -> subprocess.CompletedProcess:
    config = tmp_path / "edge.toml"
    # delivery = "broker": these tests are about the TLS link, with no hub to send receipts.
    config.write_text('[node]\ndistrict = "d1"\nschool = "s1"\nroom = "r101"\nid = "n1"\n'
                      f'[mqtt]\ndelivery = "broker"\n[mqtt.tls]\n{tls}')
    return subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "sync", "drain", "--config", str(config),
         "--db", str(tmp_path / "edge.db"), "--broker", f"mqtts://127.0.0.1:{broker.port}",
         "--timeout", str(timeout)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )


def test_drain_over_tls_with_a_client_certificate(tmp_path, pki, tls_broker):
    db = make_store(tmp_path / "edge.db", rows=12)
    done = drain(tmp_path, tls_broker, f'ca = "{pki / "ca.crt"}"\ncert = "{pki / "node.crt"}"\n'
                                       f'key = "{pki / "node.key"}"\n', timeout=20)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["acked"] >= 12
    assert outbox_seqs(db, unsent_only=True) == []


@pytest.mark.parametrize("tls", [
    pytest.param(lambda pki: f'ca = "{pki / "ca.crt"}"\n', id="no-client-certificate"),
    pytest.param(lambda pki: f'ca = "{pki / "rogue.crt"}"\ncert = "{pki / "node.crt"}"\n'
                             f'key = "{pki / "node.key"}"\n', id="broker-not-trusted"),
])
def test_refused_tls_delivers_nothing_and_keeps_every_row(tmp_path, pki, tls_broker, tls):
    db = make_store(tmp_path / "edge.db", rows=5)
    done = drain(tmp_path, tls_broker, tls(pki), timeout=3)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert outbox_seqs(db, unsent_only=True) == outbox_seqs(db)  # nothing marked sent
