"""End-to-end tests through the real python-telegram-bot stack against a fake Bot API."""
