"""A WeCom (企业微信) simulator: the sandbox mode's stand-in for qyapi.weixin.qq.com (issue #3).

It is WeCom, not us: nothing here imports the service's models or services. Pieces:

* ``world``      the in-memory corp and the rules that depend on state and time (tokens, rate
                 limits, welcome codes, the 84061 window, transfers); ``masssend`` adds mass sends
* ``model``      its records (slotted dataclasses); ``feed`` the bounded event feed; ``errors`` errcodes
* ``seed``       the deterministic generator that fills a world
* ``api`` + ``endpoints/``  the ``/cgi-bin/`` HTTP API with PROTOCOL.md's reply shapes and errcodes
* ``callbacks``  plaintext event XML, signed and encrypted delivery with WeCom's retries
* ``actions``    what a person playing WeCom can do (each mutates the world, sends callbacks)
* ``app``        ``create_simulator_app()``: the API plus a small JSON control API
* ``__main__``   ``python -m scrm.sandbox``

The sandbox corp's constants live in ``scrm.sandbox_corp`` (the service's configuration reads them
without importing the simulator); they are re-exported here.
"""
from __future__ import annotations

from scrm.sandbox_corp import (  # noqa: F401
    SANDBOX_AES_KEY,
    SANDBOX_AGENT_ID,
    SANDBOX_CORP_ID,
    SANDBOX_SECRET,
    SANDBOX_TOKEN,
)

__all__ = ["SANDBOX_AES_KEY", "SANDBOX_AGENT_ID", "SANDBOX_CORP_ID", "SANDBOX_SECRET", "SANDBOX_TOKEN"]
