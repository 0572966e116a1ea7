"""Alert delivery: each alert in the store's ``alerts`` table sent once to every sink, across restarts.

Sinks (``--deliver SPEC``, repeatable): ``-`` (stdout), ``file:PATH`` (JSON lines), ``http(s)://...``
(webhook POST, HMAC-SHA256 signed), ``smtp://host:port?from=...&to=...`` (e-mail over STARTTLS). Append
``#digest=MINUTES`` for one message per that many minutes, and ``#name=NAME`` to name the sink in the ledger.
"""

from supplyline.watch.deliver.base import DeliveryError, Retry, Sink
from supplyline.watch.deliver.dispatch import Deliverer, parse_sink

__all__ = ["Deliverer", "DeliveryError", "Retry", "Sink", "parse_sink"]
