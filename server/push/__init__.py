"""Push transport: the FCM HTTP v1 client (:mod:`server.push.fcm`) and the store of
registered devices' push tokens (:mod:`server.push.devices`). What to push and when is the
feature packages' policy (widget pushes, alerts in :mod:`server.alerts`)."""
