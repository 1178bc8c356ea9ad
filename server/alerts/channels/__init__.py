"""Delivery channels of alerts: push (FCM), email (SMTP), SMS (Twilio) and webhooks."""

from server.alerts.channels.base import Channel, DeliveryError, Notice, Target, mask
from server.alerts.channels.email import EmailChannel
from server.alerts.channels.push import PushChannel
from server.alerts.channels.sms import SmsChannel
from server.alerts.channels.webhook import WebhookChannel, sign

__all__ = [
    "Channel",
    "DeliveryError",
    "EmailChannel",
    "Notice",
    "PushChannel",
    "SmsChannel",
    "Target",
    "WebhookChannel",
    "mask",
    "sign",
]
