"""Importers that turn public meter data sets into Gridlight datasets."""

from generator.importers.uci import import_uci, read_uci

__all__ = ["import_uci", "read_uci"]
