"""Live monitoring (`supplyline watch`): sources -> durable spool -> micro-batches into the store ->
incremental detect + monitor -> each alert delivered once. See docs/watch.md."""

__all__: list[str] = []
