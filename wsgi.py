"""The only module that builds an app at import: `gunicorn wsgi:app`."""
from scrm.app import create_app

app = create_app()
