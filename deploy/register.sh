#!/usr/bin/env bash
# Cloud Build step: register the webhook (with its secret token) and the command menu with Telegram.
# TELEGRAM_TOKEN and TELEGRAM_WEBHOOK_SECRET come from Secret Manager through the build's secretEnv.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/common.sh

if [ "${DRY_RUN:-0}" = 1 ]; then
  webhook_url="\$(cat $WORKSPACE/webhook_url)"
else
  webhook_url=$(cat "$WORKSPACE/webhook_url")
fi
# The token is in this step's environment: install only hash-pinned packages (telepot and urllib3, all the
# registration needs), and run the library from the repository being built, not from an index.
run pip install --quiet --root-user-action=ignore --require-hashes --no-deps -r deploy/register-requirements.txt
export PYTHONPATH=lib
run python -m coronabot set-webhook "$webhook_url"
run python -m coronabot set-commands
