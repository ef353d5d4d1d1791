"""Production process recipes: the gunicorn settings of the `web` role, the Procfile runner
(`python -m deploy.procs`), the container entrypoint and `make prod-check` (deploy.prodcheck).
Nothing under scrm/ imports this package."""
