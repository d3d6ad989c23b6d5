"""Alembic migrations of the bot's database (env.py, script template and versions/).

A package so that env.py ships in wheels; nothing here is imported by the bot at run time.
"""
