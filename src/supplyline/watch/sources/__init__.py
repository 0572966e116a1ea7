"""Sources of a watch, from their ``--source`` spelling:

* ``udp://HOST:PORT``: NMEA datagrams received on HOST:PORT;
* ``tcp://HOST:PORT``: NMEA read from a dispatcher or receiver (reconnects with back-off);
* ``tcp-listen://HOST:PORT`` (``?ack=1`` to acknowledge spooled bytes): NMEA from whoever connects;
* ``wss://stream.aisstream.io/v0/stream`` (or any ``ws(s)://``): AISStream JSON, key from ``$AISSTREAM_API_KEY``
  (``?key_env=NAME`` for another variable), boxes around the case's places;
* ``folder:PATH``: files dropped in PATH (NOAA, DMA, NMEA, ...), each ingested once when complete.

``#name=NAME`` names the source (its spool folder and its manifest rows ``watch:NAME:...``).
"""

from supplyline.watch.sources.base import Source, SourceStats
from supplyline.watch.sources.spec import parse_source

__all__ = ["Source", "SourceStats", "parse_source"]
