"""Gridlight insights: demand forecasts, tariffs and cost, carbon, and saving recommendations.

Pure (no Flask, no Redis): functions take a household's frame (one column per channel, UTC
index, average power [kW]) and return plain values or JSON-ready dicts, for the HTTP layer and
the command line alike.
"""
