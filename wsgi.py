"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""
import sys

from app import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"groupwork: cannot start: {exc}\n")
    raise SystemExit(2) from None
