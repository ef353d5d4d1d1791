"""gunicorn settings of the `web` role: `gunicorn --config deploy/gunicorn.conf.py wsgi:app`
(the Procfile's `web` line, the container image's default command). docs/deployment.md explains
the sizing.

Bind address and process count are left to gunicorn's own environment variables, so this file
reads none: without a --bind, gunicorn listens on 0.0.0.0:$PORT when PORT is set (the image
sets PORT=8000; honcho sets it per process) and on 127.0.0.1:8000 otherwise; it runs
$WEB_CONCURRENCY worker processes (default 1: set it to the host's cores). A --bind or
--workers on the command line, or in GUNICORN_CMD_ARGS, wins over both.
"""

# One gthread worker process per core with 4 threads each: measured on PostgreSQL with
# bench/callbacks.py (sync workers needed 5-6 processes per 2 cores for the same rate, with a
# worse p99 and twice the memory; 8 threads lost to GIL contention). Each thread holds at most
# one connection of the app's pool and one of the inbox insert's, so a web process opens at
# most 2 x threads PostgreSQL connections.
worker_class = "gthread"
threads = 4

# The app is built once in the master and forked ready; each worker gets its own listening
# socket, so the kernel spreads keep-alive connections over the workers. A code upgrade needs a
# restart of the master (SIGTERM, then start), not a SIGHUP reload.
preload_app = True
reuse_port = True
keepalive = 30  # seconds: WeCom and a reverse proxy reuse their connections
backlog = 512

# Stopping (SIGTERM): the workers stop accepting, finish the requests in flight and exit; one
# still busy after graceful_timeout is killed. A callback is answered within about a second
# (the inbox insert gives up after SCRM_INBOX_INSERT_TIMEOUT and spools), well inside WeCom's
# 5 s, so draining a restarting web process takes seconds; an Open API media upload may take
# longer, hence 30 s. Process supervisors must wait longer than this before SIGKILL
# (deploy/procs.py, compose.yaml's stop_grace_period).
graceful_timeout = 30
timeout = 30  # a worker silent for this long is restarted

# Access log on stdout next to the app's JSON lines; no query strings (OAuth codes, signatures).
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
proc_name = "scrm-web"
