"""The widget-facing blueprint and push notifications."""
