#!/usr/bin/env bash
# Developer helper: regenerate the initial migration from the models (only while nothing
# has been released). Usage: bash migrations/regen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/*_initial_schema.py
SECRET_KEY=regen-secret-key-0123456789abcdef0123 REDIS_URL=redis://127.0.0.1:6379/15 DATABASE_URL="sqlite:///$tmp/m.db" \
WECOM_CORP_ID=ww0 WECOM_AGENT_ID=1 WECOM_SECRET=x WECOM_TOKEN=x \
WECOM_AES_KEY=6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt \
  ${PYTHON:-python} -m flask --app wsgi db migrate -m "initial schema" --rev-id 0001 >/dev/null
rm -rf "$tmp"
