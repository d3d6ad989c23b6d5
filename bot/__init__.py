"""hoctap: a chat bot for Vietnam's learning-society titles (GĐHT, CDHT)."""
