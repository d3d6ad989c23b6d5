"""The conversation engine and the criteria sets as data.

Pure: must not import the bot, the database or any platform library.
"""
