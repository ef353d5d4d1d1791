"""客户群发: the page listing mass messages (data: /console/api/v1/mass-messages)."""
from __future__ import annotations

from console import bp
from console.pages import _shell


@bp.get("/mass-messages")
def mass_messages_page():
    return _shell("console/mass_messages.html", "mass-messages", page="mass-messages")
