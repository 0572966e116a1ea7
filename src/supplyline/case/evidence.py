"""The case's claims and observations written into the store's evidence ledger."""

from __future__ import annotations

from supplyline.case.model import Case
from supplyline.evidence.ledger import source_part, stage_ledger
from supplyline.store import Store


def store_case_evidence(store: Store, case: Case) -> tuple[int, int]:
    """Write the case's claims and observations into the store ledger, as the same parts that
    ``supplyline claims import FILE`` would write (so importing both ways never duplicates rows)."""
    with store.lock(), store.transaction() as txn:  # both files or neither
        for name, table, path in (
            ("claims", case.claims, case.claims_path),
            ("observations", case.observations, case.observations_path),
        ):
            if path is not None:
                stage_ledger(txn, name, table, source_part(path))
    return case.claims.num_rows, case.observations.num_rows
