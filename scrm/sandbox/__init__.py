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

This module only holds the sandbox corp's constants, so configuration code can import them
without pulling in Flask or the simulator.
"""
from __future__ import annotations

SANDBOX_CORP_ID = "wwsandbox0000001"
SANDBOX_AGENT_ID = 1000002
# Not secrets: the sandbox corp exists only inside the simulator. They are deliberately long and
# random-looking so code paths that handle real values (hashing, redaction) see realistic input.
SANDBOX_SECRET = "sandbox-secret-7Jq2rX9mLw4Tz8Vb3Nc6Yh1Kd5Fs0Gp"
SANDBOX_TOKEN = "sandboxTokenQ4m8Zr2Lx7Vw"
# A valid EncodingAESKey: 43 chars of [a-zA-Z0-9] that base64-decode (with "=") to 32 bytes.
SANDBOX_AES_KEY = "mhOSDd70oen2iBrSxhVSw5Wew0OVzmIVp9Qxs4tIREI"

__all__ = ["SANDBOX_AES_KEY", "SANDBOX_AGENT_ID", "SANDBOX_CORP_ID", "SANDBOX_SECRET", "SANDBOX_TOKEN"]
