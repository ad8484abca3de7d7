#!/usr/bin/env bash
# Cloud Build step: create or update the broadcast queue, deploy the three functions, let Cloud Tasks invoke
# `deliver` and the scheduler invoke `scrape`, create or update the scheduler jobs.
# Run from the repository root after `make vendor` (build/functions/NAME: each function as deployed). DRY_RUN=1 prints the commands instead.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/common.sh

# The webhook checks Telegram's secret header; the scrape function never sees that secret.
webhook_secrets="TELEGRAM_TOKEN=${TOKEN_SECRET}:latest,TELEGRAM_WEBHOOK_SECRET=${WEBHOOK_SECRET_NAME}:latest"  # pragma: allowlist secret
scrape_secrets="TELEGRAM_TOKEN=${TOKEN_SECRET}:latest"  # pragma: allowlist secret
# Each function's --set-env-vars come from the one declaration of every setting (lib/coronabot/config.py:
# `python3 -m coronabot.config deploy-env NAME` prints those the function gets, ^|^-separated so values may
# hold commas and @). The deploy's own names are given the settings' names here.
export FIREBASE_DATABASE_URL="$DATABASE_URL" ADMIN_CHAT_IDS TELEGRAM_BOT_USERNAME SOURCE QUIET_HOURS \
  BROADCAST_RATE BROADCAST_CONCURRENCY POLLING LATE_NOTICE_HOURS LOG_LEVEL
env_vars() { PYTHONPATH="build/functions/$1" python3 -m coronabot.config deploy-env "$1"; }

deploy_webhook() {
  run gcloud functions deploy webhook --gen2 --project="$PROJECT_ID" --region="$REGION" --runtime="$RUNTIME" \
    --source=build/functions/webhook --entry-point=webhook --trigger-http --allow-unauthenticated \
    --service-account="$WEBHOOK_SA" --build-service-account="projects/${PROJECT_ID}/serviceAccounts/${BUILD_SA}" \
    --set-secrets="$webhook_secrets" --set-env-vars="$(env_vars webhook)" \
    --memory=256Mi --cpu=1 --timeout=60s --concurrency=20 --max-instances=10
}
# The webhook is public (Telegram presents no Google credentials). An organisation policy of domain-restricted
# sharing refuses allUsers: then Telegram can never reach it, which must stop the deploy loudly, not later.
if [ "${DRY_RUN:-0}" = 1 ]; then
  deploy_webhook
else
  said=$(mktemp)
  status=0
  deploy_webhook 2>"$said" || status=$?
  cat "$said" >&2
  if grep -qiE "permitted customer|allowedPolicyMemberDomains|domain restricted sharing" "$said"; then
    echo "error: an organisation policy (domain-restricted sharing, iam.allowedPolicyMemberDomains) refuses" \
      "allUsers on the webhook, so Telegram cannot reach it. Ask your organisation's admin for an exception" \
      "for this project, or deploy in a project outside the organisation (docs/troubleshooting.md)." >&2
    exit 3
  fi
  [ "$status" = 0 ] || exit "$status"
fi

# The broadcast queue: how many deliver invocations at once, and how a failed chunk is retried. Cloud Tasks
# stops retrying only when BOTH max-attempts and max-retry-duration are met: 19 attempts with this back-off
# (5 s doubling to 60 s) reach 915 s, so a chunk failing at once is given up after about 15 minutes and a
# tick then gives it a new task (fanout.REQUEUE_SECONDS, 16 minutes; deliver refuses the older generation).
# The values are lib/coronabot/tasks.py's; tests/test_deploy.py holds them alike.
queue_flags=(--location="$REGION" --project="$PROJECT_ID" --max-concurrent-dispatches="$BROADCAST_CONCURRENCY"
  --max-dispatches-per-second=5 --max-attempts=19 --max-retry-duration=900s --min-backoff=5s --max-backoff=60s
  --max-doublings=4)
queue_verb=create
if [ "${DRY_RUN:-0}" = 1 ]; then
  echo "# queue '$QUEUE_NAME': 'create' the first time, 'update' with the same flags when it exists"
elif gcloud tasks queues describe "$QUEUE_NAME" --location="$REGION" --project="$PROJECT_ID" >/dev/null 2>&1; then
  queue_verb=update
fi
run gcloud tasks queues "$queue_verb" "$QUEUE_NAME" "${queue_flags[@]}"
run gcloud tasks queues add-iam-policy-binding "$QUEUE_NAME" --location="$REGION" --project="$PROJECT_ID" \
  --member="serviceAccount:${SCRAPE_SA}" --role=roles/cloudtasks.enqueuer

# deliver: private, one chunk per instance at a time, called by Cloud Tasks only.
run gcloud functions deploy deliver --gen2 --project="$PROJECT_ID" --region="$REGION" --runtime="$RUNTIME" \
  --source=build/functions/deliver --entry-point=deliver --trigger-http --no-allow-unauthenticated \
  --service-account="$DELIVER_SA" --build-service-account="projects/${PROJECT_ID}/serviceAccounts/${BUILD_SA}" \
  --set-secrets="$scrape_secrets" \
  --set-env-vars="$(env_vars deliver)" \
  --memory=256Mi --cpu=1 --timeout=540s --concurrency=1 --max-instances=$((BROADCAST_CONCURRENCY + 2))

run gcloud functions add-invoker-policy-binding deliver --project="$PROJECT_ID" --region="$REGION" \
  --member="serviceAccount:${TASKS_SA}"

describe_url() {
  gcloud functions describe "$1" --gen2 --project="$PROJECT_ID" --region="$REGION" --format='value(serviceConfig.uri)'
}
if [ "${DRY_RUN:-0}" = 1 ]; then
  echo "DELIVER_URL=\$(gcloud functions describe deliver --gen2 --project=$PROJECT_ID --region=$REGION --format='value(serviceConfig.uri)')"
  deliver_url='$DELIVER_URL'
else
  deliver_url=$(describe_url deliver)
fi
export BROADCAST_QUEUE="projects/${PROJECT_ID}/locations/${REGION}/queues/${QUEUE_NAME}" \
  DELIVER_URL="$deliver_url" TASKS_SERVICE_ACCOUNT="$TASKS_SA"

run gcloud functions deploy scrape --gen2 --project="$PROJECT_ID" --region="$REGION" --runtime="$RUNTIME" \
  --source=build/functions/scrape --entry-point=scrape --trigger-http --no-allow-unauthenticated \
  --service-account="$SCRAPE_SA" --build-service-account="projects/${PROJECT_ID}/serviceAccounts/${BUILD_SA}" \
  --set-secrets="$scrape_secrets" \
  --set-env-vars="$(env_vars scrape)" \
  --memory=256Mi --cpu=1 --timeout=540s --concurrency=1 --max-instances=2

run gcloud functions add-invoker-policy-binding scrape --project="$PROJECT_ID" --region="$REGION" \
  --member="serviceAccount:${SCHEDULER_SA}"

if [ "${DRY_RUN:-0}" = 1 ]; then
  echo "SCRAPE_URL=\$(gcloud functions describe scrape --gen2 --project=$PROJECT_ID --region=$REGION --format='value(serviceConfig.uri)')"
  echo "gcloud functions describe webhook --gen2 --project=$PROJECT_ID --region=$REGION --format='value(serviceConfig.uri)' > $WORKSPACE/webhook_url"
  scrape_url='$SCRAPE_URL'
else
  scrape_url=$(describe_url scrape)
  describe_url webhook > "$WORKSPACE/webhook_url"
fi

exists() {
  gcloud scheduler jobs describe "$1" --project="$PROJECT_ID" --location="$REGION" >/dev/null 2>&1
}

job() {
  local name=$1 schedule=$2 retries=$3 verb=create
  if [ "${DRY_RUN:-0}" != 1 ] && exists "$name"; then
    verb=update
  fi
  [ "${DRY_RUN:-0}" = 1 ] && echo "# '$name': 'create' the first time, 'update' with the same flags when it exists"
  run gcloud scheduler jobs "$verb" http "$name" --project="$PROJECT_ID" --location="$REGION" \
    --schedule="$schedule" --time-zone="$TIME_ZONE" --uri="$scrape_url" --http-method=POST \
    --oidc-service-account-email="$SCHEDULER_SA" --oidc-token-audience="$scrape_url" \
    --attempt-deadline=540s --max-retry-attempts="$retries" --min-backoff=60s --max-backoff=300s \
    --description="coronabot: check KDCA figures and alert subscribers"
}

# A job the other polling mode created would keep calling: remove it.
remove() {
  if [ "${DRY_RUN:-0}" = 1 ]; then
    echo "# '$1' is deleted if it exists (left by the other polling mode)"
    run gcloud scheduler jobs delete "$1" --project="$PROJECT_ID" --location="$REGION" --quiet
  elif exists "$1"; then
    gcloud scheduler jobs delete "$1" --project="$PROJECT_ID" --location="$REGION" --quiet
  fi
}

if [ "$POLLING" = adaptive ]; then
  # Every minute; no retries: the next minute's call is the retry, and it resumes an unfinished broadcast.
  job coronabot-scrape "$SCHEDULE_EVERY_MINUTE" 0
  remove coronabot-scrape-morning
  remove coronabot-scrape-afternoon
else
  job coronabot-scrape-morning "$SCHEDULE_MORNING" 2
  job coronabot-scrape-afternoon "$SCHEDULE_AFTERNOON" 2
  remove coronabot-scrape
fi
