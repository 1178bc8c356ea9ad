"""Importers that turn public meter data sets and meter exports into Gridlight datasets."""

from generator.importers.csv_meter import import_csv
from generator.importers.uci import import_uci, read_uci
from generator.importers.ukdale import import_ukdale

__all__ = ["import_csv", "import_uci", "import_ukdale", "read_uci"]
