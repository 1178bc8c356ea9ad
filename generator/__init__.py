"""Gridlight's data side: synthetic households, importers of real meter data, replay.

Pure: nothing here imports Flask, Redis or MQTT (the replay driver reaches the broker through
an adapter the server passes in).
"""
