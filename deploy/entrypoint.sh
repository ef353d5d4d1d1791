#!/bin/sh
# The container image's entrypoint. One argument naming a Procfile role (web, worker, welcome,
# scheduler) runs that role's command from the Procfile, replacing this shell; anything else
# runs as given, e.g. `docker compose run --rm web flask --app wsgi db upgrade`.
set -eu
if [ "$#" -eq 1 ]; then
    case "$1" in
        "" | *[!A-Za-z0-9_-]*) ;;  # not a role name
        *)
            line=$(grep -E "^$1:" Procfile 2>/dev/null || true)
            if [ -n "$line" ]; then
                exec /bin/sh -c "${line#*:}"  # the line's own `exec` replaces this shell
            fi
            ;;
    esac
fi
exec "$@"
