"""Development tools, not the product: the WeCom (企业微信) simulator and the dev stack.

The service (``scrm``, ``callbacks``, ``sidebar``, ``jobs``) never imports this package; it may
import the service (the simulator encrypts callbacks with the service's crypto, the dev stack runs
its migrations). The simulator is sandbox mode's stand-in for qyapi.weixin.qq.com (issue #3). It is
WeCom, not us: nothing here imports the service's models or services. Pieces:

* ``world``      the in-memory corp and the rules that depend on state and time (tokens, rate
                 limits, welcome codes, the 84061 window, transfers); ``masssend`` adds mass sends
* ``model``      its records (slotted dataclasses); ``feed`` the bounded event feed; ``errors`` errcodes
* ``seed``       the deterministic generator that fills a world
* ``persistence`` the world as a JSON snapshot, so ``make run`` keeps it across restarts
* ``api`` + ``endpoints/``  the ``/cgi-bin/`` HTTP API with the reply shapes and errcodes of docs/wecom/api.md
* ``callback_xml`` the plaintext callback XML (shared with the tests and benchmarks)
* ``callbacks``  callback events, signed and encrypted delivery with WeCom's retries
* ``actions``    what a person playing WeCom can do (each mutates the world, sends callbacks)
* ``app``        ``create_simulator_app()``: the API plus a small JSON control API; ``web`` the
                 sandbox page and chat window; ``oauth`` the OAuth authorize page
* ``__main__``   ``python -m sandbox`` (loopback only unless ``--allow-remote``)
* ``devstack``   ``make run`` (``python -m sandbox.devstack``): the whole stack in one terminal;
                 ``supervisor`` its processes (own sessions, one banner, ordered stop), ``envfile``
                 its ``.env`` (and the block it writes there for ``flask`` while it runs)
* ``embedded_redis`` a redis-server for machines without one (dev stack, tests, benchmarks)

The sandbox corp's constants live in ``scrm.sandbox_corp`` (the service's configuration reads them
in sandbox mode); the simulator imports them from there.
"""
