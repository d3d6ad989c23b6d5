"""The Telegram channel (python-telegram-bot v22): handlers, rendering, the durable inbox."""
