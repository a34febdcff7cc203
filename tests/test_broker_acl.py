"""A node may only speak for itself (issue 13 section 3): per-node accounts and the documented
ACL (config/mosquitto.acl) on a real mosquitto, plus the hub's own node checks."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from edge.config import NodeConfig
from sync.hub import Hub, HubOptions
from sync.hub_store import open_store
from sync.publisher import OutboxPublisher
from sync.topics import NodeTopics
from tests.mqtt_broker import Broker
from tests.sync_fixtures import NODE, NODE_KEY, expected_ids, make_store, mqtt_config, wait_for

ACL = Path(__file__).resolve().parents[1] / "config" / "mosquitto.acl"
PASSWORDS = {"n1": "pw-node-1", "n2": "pw-node-2", "hub": "pw-hub"}
N1 = NodeTopics.for_node(NODE)
N2 = NodeTopics.for_node(NodeConfig(district="d1", school="s1", room="r102", id="n2"))


@pytest.fixture
def acl_broker(tmp_path: Path):
    """mosquitto with anonymous access off, a password file and the repository's ACL file."""
    directory = tmp_path / "broker"
    directory.mkdir()
    passwd = directory / "passwd"
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    for i, (user, password) in enumerate(PASSWORDS.items()):
        subprocess.run([tool, "-b", *(["-c"] if i == 0 else []), str(passwd), user, password],
                       check=True, capture_output=True)
    instance = Broker(directory, extra_conf=(f"allow_anonymous false\npassword_file {passwd}\n"
                                             f"acl_file {ACL}\n")).start()
    try:
        yield instance
    finally:
        instance.stop()


def _client(port: int, user: str | None) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if user:
        client.username_pw_set(user, PASSWORDS[user])
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _aggregate(node: str, seq: int) -> bytes:
    return json.dumps({"schema": "cls.agg.classroom/v1", "msg_id": f"{node}:{seq}", "seq": seq,
                       "window": {"start": 0.0, "end": 30.0}, "n": 30,
                       "values": {"suppressed": False, "hand_raises": 1},
                       "quality": {"coverage": None, "sources_ok": None},
                       "historical": False}).encode()


def _puback(client: mqtt.Client, topic: str, payload: bytes, **kw) -> int:
    """Publish at QoS 1 and return the broker's PUBACK reason code value."""
    codes: queue.Queue = queue.Queue()
    client.on_publish = lambda c, u, mid, rc, props: codes.put(rc.value)
    client.publish(topic, payload, qos=1, **kw)
    return codes.get(timeout=10)


def test_broker_acl_lets_each_node_speak_only_for_itself(tmp_path, acl_broker):
    store_url = str(tmp_path / "hub.db")
    hub = Hub(open_store(store_url), mqtt_config(acl_broker.url, username="hub",
                                                 password=PASSWORDS["hub"]),
              acl_broker.url, HubOptions(client_id="hub-acl", shared_group="hubs", backoff_first_s=0.1))
    stop = threading.Event()
    hub_thread = threading.Thread(target=hub.run, args=(stop,), daemon=True)
    hub_thread.start()
    wait_for(hub.connected.is_set, 10, "hub connected with its account")
    time.sleep(0.3)  # SUBACK

    # The real publisher of node n1, with its own account, gets everything through the ACL.
    db = make_store(tmp_path / "edge.db", rows=10)
    publisher = OutboxPublisher(db, mqtt_config(acl_broker.url, username="n1",
                                                password=PASSWORDS["n1"]), NODE,
                                backoff_first_s=0.1, backoff_cap_s=0.5)
    assert publisher.drain(20)
    assert publisher.counters["rejected"] == 0
    wait_for(lambda: len(hub.store.aggregate_ids()) == 10, what="n1's rows at the hub")

    # n2 pretending to be n1 (topic and msg_id both n1's): refused by the broker.
    n2 = _client(acl_broker.port, "n2")
    wait_for(n2.is_connected, 10, "n2 connected")
    assert _puback(n2, N1.agg("classroom"), _aggregate("n1", 11)) == 0x87  # not authorized
    assert _puback(n2, N1.state, b'{"schema": "cls.state/v1", "online": false, '
                                 b'"session": 9000000000000000}', retain=True) == 0x87
    assert _puback(n2, N1.prefix + "cmd/resync", b'{"seq": 1}') == 0x87  # commands: hub only
    assert _puback(n2, N2.agg("classroom"), _aggregate("n2", 1)) == 0x00  # its own: fine
    # The hub's account reads but cannot write aggregates, nor is anonymous access open.
    hub_raw = _client(acl_broker.port, "hub")
    wait_for(hub_raw.is_connected, 10, "hub raw client connected")
    assert _puback(hub_raw, N1.agg("classroom"), _aggregate("n1", 12)) == 0x87
    # mosquitto grants any subscription and checks read access per message: n2 listening on
    # n1's commands gets nothing, n1 gets its command.
    seen: dict[str, queue.Queue] = {"n1": queue.Queue(), "n2": queue.Queue()}
    n1 = _client(acl_broker.port, "n1")
    wait_for(n1.is_connected, 10, "n1 connected")
    for name, client in (("n1", n1), ("n2", n2)):
        client.on_message = lambda c, u, m, q=seen[name]: q.put(m.topic)
        client.subscribe(N1.prefix + "cmd/#", qos=1)
    time.sleep(0.3)  # SUBACKs
    assert _puback(hub_raw, N1.prefix + "cmd/ping", b"") == 0x00
    assert seen["n1"].get(timeout=10) == N1.prefix + "cmd/ping"
    time.sleep(0.5)
    assert seen["n2"].empty()
    anonymous = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    refused: queue.Queue = queue.Queue()
    anonymous.on_connect = lambda c, u, f, rc, p: refused.put(rc.is_failure)
    anonymous.connect("127.0.0.1", acl_broker.port)
    anonymous.loop_start()
    assert refused.get(timeout=10) is True

    wait_for(lambda: len(hub.store.aggregate_ids()) == 11, what="n2's own row")
    assert sorted(hub.store.aggregate_ids()) == sorted(
        expected_ids(range(1, 11)) + ["d1/s1/r102/n2:1"])
    assert hub.store.node(NODE_KEY).session == 1  # the forged 9e15 never reached the hub
    for client in (n1, n2, hub_raw, anonymous):
        client.loop_stop()
        client.disconnect()
    stop.set()
    hub_thread.join(10)
    hub.store.close()
    publisher.close()


def test_hub_refuses_a_meta_for_another_node_and_an_absurd_session_cannot_blind_it(tmp_path):
    """Before: meta naming another node was stored under the topic's node; a state with
    session 9e15 made every later real state of the node "older" and ignored."""
    from sync.hub import Rejected

    hub = Hub(open_store(str(tmp_path / "hub.db")), mqtt_config("mqtt://127.0.0.1:1"),
              "mqtt://127.0.0.1:1")
    meta = {"schema": "cls.meta/v1", "version": "1", "schemas": {}, "models": [], "node": "n2"}
    with pytest.raises(Rejected, match="meta of node 'n2' on the topic of node 'n1'"):
        hub.ingest(N1.meta, json.dumps(meta).encode())

    def state(online: bool, session: float) -> None:
        hub.ingest(N1.state, json.dumps({"schema": "cls.state/v1", "online": online,
                                         "session": session}).encode())

    state(False, 9e15)  # forged, e.g. retained before the ACL was in place
    state(True, 7)  # the real node connects
    node = hub.store.node(NODE_KEY)
    assert node.online and node.session == 7
    state(False, 6)  # a late Will of an older session is still ignored
    assert hub.store.node(NODE_KEY).online
    state(False, 7)  # its orderly exit applies
    assert not hub.store.node(NODE_KEY).online
    with pytest.raises(Rejected, match="session"):
        state(True, 1e30)  # beyond a 64-bit counter: refused by the schema
    hub.store.close()
