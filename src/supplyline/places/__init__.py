"""Places: the shipped gazetteer and user places as PLACES tables (:mod:`.gazetteer`), a spatial index that
answers point -> place questions (:mod:`.index`), and fuzzy name search (:mod:`.search`)."""

from supplyline.places.gazetteer import (
    SOURCES,
    assemble_places,
    conform_places,
    load_gazetteer,
    places_from_geojson,
    places_from_records,
)
from supplyline.places.index import PlaceIndex
from supplyline.places.search import normalise_name

__all__ = [
    "SOURCES",
    "PlaceIndex",
    "assemble_places",
    "conform_places",
    "load_gazetteer",
    "normalise_name",
    "places_from_geojson",
    "places_from_records",
]
