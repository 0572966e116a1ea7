"""The delivery ledger: ``tables/deliveries`` in the store, one row per (alert, sink) delivered.

An alert is sent to a sink only if the ledger has no row for the pair, and the row is written right after
the sink accepted it, so a restart does not send it again. The window between "accepted" and "row written"
is closed per sink where the target allows it: a file sink re-reads its own tail (``JsonLinesSink.recover``);
webhook and e-mail carry the alert id (``X-Supplyline-Alert-Id``, ``Message-ID``) for the receiver to drop a
repeat after a crash inside that window.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from supplyline import schema
from supplyline.store import Store

TABLE = "deliveries"
COMPACT_PARTS = 200  # fold the ledger into one part beyond this many


def delivered(store: Store, sink: str) -> set[str]:
    """Alert ids already delivered to ``sink``."""
    table = store.read_table(TABLE, schema.DELIVERIES)
    if not table.num_rows:
        return set()
    mask = pc.equal(table["sink"], sink)
    return set(table.filter(mask)["alert_id"].to_pylist())


def record(store: Store, sink: str, alert_ids: list[str], attempts: int = 1) -> None:
    """Add ledger rows for ``alert_ids`` delivered to ``sink`` now (one store transaction)."""
    if not alert_ids:
        return
    now = datetime.now(UTC)
    rows = pa.table(
        {
            "alert_id": alert_ids,
            "sink": [sink] * len(alert_ids),
            "delivered_at": [now] * len(alert_ids),
            "attempts": [attempts] * len(alert_ids),
        },
        schema=schema.DELIVERIES,
    )
    with store.lock():
        store.write_table(TABLE, rows, part=f"{now:%Y%m%dT%H%M%S%f}")
        if len(store.parts(TABLE)) > COMPACT_PARTS:
            store.replace_table(TABLE, {"all": store.read_table(TABLE, schema.DELIVERIES)})
