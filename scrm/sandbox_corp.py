"""The sandbox corp's identity: the credentials the service uses in sandbox mode and the WeCom
simulator (the top-level development tool) serves. They live in the core so configuration never
imports the simulator; the simulator imports them from here.

Not secrets: the sandbox corp exists only inside the simulator. They are deliberately long and
random-looking so code paths that handle real values (hashing, redaction) see realistic input.
"""
from __future__ import annotations

SANDBOX_CORP_ID = "wwsandbox0000001"
SANDBOX_AGENT_ID = 1000002
SANDBOX_SECRET = "sandbox-secret-7Jq2rX9mLw4Tz8Vb3Nc6Yh1Kd5Fs0Gp"
SANDBOX_TOKEN = "sandboxTokenQ4m8Zr2Lx7Vw"
# A valid EncodingAESKey: 43 chars of [a-zA-Z0-9] that base64-decode (with "=") to 32 bytes.
SANDBOX_AES_KEY = "mhOSDd70oen2iBrSxhVSw5Wew0OVzmIVp9Qxs4tIREI"

__all__ = ["SANDBOX_AES_KEY", "SANDBOX_AGENT_ID", "SANDBOX_CORP_ID", "SANDBOX_SECRET", "SANDBOX_TOKEN"]
