"""The Zalo Official Account channel: the same conversations over the Zalo OA Open API v3, by
webhook, with buttons where a reply has few choices and numbered text always. See
``docs/zalo.md``."""
