#!/usr/bin/env bash
# `make deploy`: deploy the database rules first (a failure is loud and early, before anything else changes;
# firebase needs `firebase login` or `firebase login:ci`), then submit the Cloud Build (broadcast queue,
# functions, scheduler, webhook registration).
# DRY_RUN=1 prints every gcloud/firebase command, with the settings filled in, and runs none.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/common.sh

substitutions="^;^_REGION=${REGION};_RUNTIME=${RUNTIME};_SCHEDULE_MORNING=${SCHEDULE_MORNING}"
substitutions+=";_SCHEDULE_AFTERNOON=${SCHEDULE_AFTERNOON};_DATABASE_URL=${DATABASE_URL};_WEBHOOK_SA=${WEBHOOK_SA}"
substitutions+=";_SCRAPE_SA=${SCRAPE_SA};_DELIVER_SA=${DELIVER_SA};_TASKS_SA=${TASKS_SA}"
substitutions+=";_SCHEDULER_SA=${SCHEDULER_SA};_DEPLOYER_NAME=${DEPLOYER_SA%%@*};_BUILD_SA=${BUILD_SA};_TOKEN_SECRET=${TOKEN_SECRET};_WEBHOOK_SECRET_NAME=${WEBHOOK_SECRET_NAME}"
substitutions+=";_SOURCE=${SOURCE};_BROADCAST_RATE=${BROADCAST_RATE};_ADMIN_CHAT_IDS=${ADMIN_CHAT_IDS}"
substitutions+=";_QUIET_HOURS=${QUIET_HOURS};_BROADCAST_CONCURRENCY=${BROADCAST_CONCURRENCY};_QUEUE_NAME=${QUEUE_NAME}"
substitutions+=";_TELEGRAM_BOT_USERNAME=${TELEGRAM_BOT_USERNAME};_POLLING=${POLLING};_LATE_NOTICE_HOURS=${LATE_NOTICE_HOURS}"
substitutions+=";_LOG_LEVEL=${LOG_LEVEL}"

if [ "$POLLING" = adaptive ]; then
  schedules="'${SCHEDULE_EVERY_MINUTE}', the function deciding when to fetch"
else
  schedules="'${SCHEDULE_MORNING}' and '${SCHEDULE_AFTERNOON}', every call fetching"
fi
run firebase deploy --only database --project="$PROJECT_ID"
echo "# Cloud Build in project ${PROJECT_ID}, functions in ${REGION} (${RUNTIME}), schedule ${schedules} (${TIME_ZONE})"
# beta streams the build's log (kept in Cloud Logging only), so a failed deploy shows why; GA does not.
run gcloud beta builds submit --project="$PROJECT_ID" --region="$REGION" --config=cloudbuild.yaml --substitutions="$substitutions" .
if [ "${DRY_RUN:-0}" = 1 ]; then
  echo "# the build runs these steps:"
  echo "make vendor"
  DRY_RUN=1 bash deploy/functions.sh
  DRY_RUN=1 bash deploy/register.sh
fi
