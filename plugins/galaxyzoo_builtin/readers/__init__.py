"""Readers for real survey data sets (local files only; nothing is downloaded)."""
