"""The Telegram channel: python-telegram-bot v22 as the Bot API client (its ``ExtBot`` with the
stock ``HTTPXRequest`` and ``AIORateLimiter``), updates read into ``Incoming`` (``updates``),
answers shown with keyboards and in-place edits (``render``, ``html``). The inbox, the order per
chat and the retries are the runner's (``bot/runtime``)."""
