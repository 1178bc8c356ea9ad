"""Households: the catalogue of datasets' and live households, and their cached statistics.

:mod:`server.households.catalogue` lists every household (replayed from a dataset directory or
registered live) with its channels and time zone; :mod:`server.households.quickstats` serves the
statistics that classify its readings, computed off request greenlets and cached on disk.
"""
