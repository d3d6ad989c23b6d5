"""Rendering a report (``bot.reports.model.Report``) as chat text, a spreadsheet and a chart.

Must not import the database, services, channels or any platform library: renderers take the
numbers they are given and only format them.
"""
