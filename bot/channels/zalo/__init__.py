"""The Zalo channel: the same conversations as Telegram over the Zalo Bot API, with numbered
options typed as text (Zalo bots have no buttons). See ``docs/zalo.md``."""
