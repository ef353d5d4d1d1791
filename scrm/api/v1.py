"""Open API v1 resources. Filled in by the Open API work."""
from flask_smorest import Api


def register(api: Api) -> None:
    pass
