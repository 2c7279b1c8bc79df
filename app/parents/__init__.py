"""Parents."""
