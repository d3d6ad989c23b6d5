"""Test support: a local fake Telegram Bot API and a conversation client for end-to-end tests.

``fake_telegram`` holds the fake server (no bot imports; it also runs as its own process) and
``chat`` holds the python-telegram-bot side: wiring an ``Application`` to the fake and the
``Chat`` send/click client. Nothing here may import the bot, the services or the database.
"""
