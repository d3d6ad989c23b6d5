"""Storage: SQLAlchemy 2 async models, engine and sessions, Alembic migrations, the unit tree.

SQLite (WAL) by default, PostgreSQL by URL, the same schema on both. Must not import services,
channels or conversations, and never formats text for people (errors go through gettext).
"""
