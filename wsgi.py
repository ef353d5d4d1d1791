"""The only module that builds an app at import: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
import sys

from scrm.app import create_app
from scrm.config import ConfigError

# Exit status for a bad setting: gunicorn's APP_LOAD_ERROR, on which its master stops ("App failed
# to load.") instead of booting new workers that fail the same way, forever.
CONFIG_ERROR_EXIT = 4

try:
    app = create_app()
except ConfigError as exc:  # one line naming the variable, not a traceback
    print(f"Configuration error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(CONFIG_ERROR_EXIT) from None
