"""Enrolment."""
