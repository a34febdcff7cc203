"""The MQTT topic contract (SPEC 7): ``cls/v1/<district>/<school>/<room>/<node>/<leaf>``.

Leaves: ``state`` (retained, Last Will), ``meta`` (retained), ``agg/<kind>``, ``health``
(retained, expiring), ``cam/<id>/status`` (retained), ``cmd/<verb>`` (hub -> edge),
``receipt`` (hub -> edge: what the hub committed) and ``reply/<verb>`` (edge -> hub, used
when a command carries no MQTT 5 Response Topic).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge.config import NodeConfig

__all__ = [
    "AGG_KINDS",
    "ROOT",
    "NodeTopics",
    "ParsedTopic",
    "parse_topic",
    "receipt_topic",
    "subscription",
]

ROOT = "cls/v1"
AGG_KINDS = ("classroom", "pe", "lesson", "audio", "env", "st", "alert")
_LEVEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class NodeTopics:
    """Every topic of one node; build with :meth:`for_node`."""

    prefix: str  # ends with "/"
    node_id: str

    @classmethod
    def for_node(cls, node: NodeConfig) -> NodeTopics:
        """Topics of the node described by the config's ``node`` section."""
        return cls(f"{ROOT}/{node.district}/{node.school}/{node.room}/{node.id}/", node.id)

    @property
    def state(self) -> str:
        return self.prefix + "state"

    @property
    def meta(self) -> str:
        return self.prefix + "meta"

    @property
    def health(self) -> str:
        return self.prefix + "health"

    @property
    def receipt(self) -> str:
        return self.prefix + "receipt"

    @property
    def commands(self) -> str:
        """Subscription filter for every command addressed to this node."""
        return self.prefix + "cmd/+"

    def agg(self, kind: str) -> str:
        return f"{self.prefix}agg/{kind}"

    def cam_status(self, camera_id: str) -> str:
        return f"{self.prefix}cam/{camera_id}/status"

    def reply(self, verb: str) -> str:
        return f"{self.prefix}reply/{verb}"


@dataclass(frozen=True)
class ParsedTopic:
    """A topic split into its node key (``district/school/room/node``) and leaf levels."""

    node_key: str
    node_id: str
    leaf: tuple[str, ...]


def parse_topic(topic: str) -> ParsedTopic | None:
    """Split a ``cls/v1/...`` topic; None when it does not follow the contract."""
    parts = topic.split("/")
    if len(parts) < 7 or "/".join(parts[:2]) != ROOT:
        return None
    ids = parts[2:6]
    if not all(_LEVEL.match(p) for p in ids):
        return None
    return ParsedTopic("/".join(ids), ids[3], tuple(parts[6:]))


def receipt_topic(node_key: str) -> str:
    """The ``receipt`` topic of the node ``district/school/room/node``."""
    return f"{ROOT}/{node_key}/receipt"


def subscription(shared_group: str | None = None) -> str:
    """The hub's filter: everything under the root, optionally as an MQTT 5 shared subscription."""
    base = f"{ROOT}/#"
    return f"$share/{shared_group}/{base}" if shared_group else base
