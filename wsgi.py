"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from massline import create_app

app = create_app()
