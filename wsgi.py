"""The only module that builds an app at import: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from scrm.app import create_app
from scrm.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # one line naming the variable, not a traceback
    raise SystemExit(f"Configuration error: {exc}") from None
