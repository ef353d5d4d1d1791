"""The console's use cases (issue #14): who may sign in and how, and what its pages read.

  admins.py       local administrators (`flask scrm admin ...`): create, set a password, list,
                  check a password
  throttle.py     failed password sign-ins counted per username and per address (Redis windows)
  sessions.py     server-side sessions: start, resolve on every request (expiry, a departed
                  staff member), end
  wecom_login.py  WeCom web login (PROTOCOL.md §4.5): the single-use state, the code exchange,
                  the userid mapped to a member who may sign in
  dashboard.py    the 工作台 figures and the adds-per-day series (set-based counts)

Adapters (console/, scrm/cli_admin.py) parse, call one function and render; these own the
transactions.
"""
