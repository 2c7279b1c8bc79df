"""Centres."""
