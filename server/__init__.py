"""Gridlight's server: the Flask app, streams, statistics, ingest, storage and API."""
