"""Eligibility."""
