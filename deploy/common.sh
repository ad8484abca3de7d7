# Shared by the deploy scripts: settings with their defaults, and `run`, which prints instead of running under DRY_RUN=1.
# Every setting can be overridden from the environment (see the README's deploy guide).

if [ -z "${PROJECT_ID:-}" ] && [ "${DRY_RUN:-0}" != 1 ] && command -v gcloud >/dev/null 2>&1; then
  PROJECT_ID=$(gcloud config get-value project 2>/dev/null || true)
fi
: "${PROJECT_ID:?set PROJECT_ID to your Google Cloud project id (or run gcloud config set project ID)}"
REGION=${REGION:-asia-northeast3}
RUNTIME=${RUNTIME:-python312}
# adaptive (default): one Scheduler job calls scrape every minute and the function decides when to fetch,
# from when the source published before. always: every call fetches, on the original bot's two schedules.
POLLING=${POLLING:-adaptive}
case "$POLLING" in adaptive|always) ;; *) echo "POLLING must be adaptive or always, got '$POLLING'" >&2; exit 2 ;; esac
SCHEDULE_EVERY_MINUTE="* * * * *"
if [ "$POLLING" = always ]; then
  SCHEDULE_MORNING=${SCHEDULE_MORNING:-"*/6 8-13 * * *"}
  SCHEDULE_AFTERNOON=${SCHEDULE_AFTERNOON:-"0 14-16,18,22 * * *"}
else
  SCHEDULE_MORNING=${SCHEDULE_MORNING:-}
  SCHEDULE_AFTERNOON=${SCHEDULE_AFTERNOON:-}
fi
LATE_NOTICE_HOURS=${LATE_NOTICE_HOURS:-3}
TIME_ZONE=Asia/Seoul
DATABASE_URL=${DATABASE_URL:-"https://${PROJECT_ID}-default-rtdb.asia-southeast1.firebasedatabase.app"}
# Each function runs as its own account with only what it needs (see the README's table of accounts).
WEBHOOK_SA=${WEBHOOK_SA:-"coronabot-webhook@${PROJECT_ID}.iam.gserviceaccount.com"}
SCRAPE_SA=${SCRAPE_SA:-"coronabot-scrape@${PROJECT_ID}.iam.gserviceaccount.com"}
SCHEDULER_SA=${SCHEDULER_SA:-"coronabot-scheduler@${PROJECT_ID}.iam.gserviceaccount.com"}
# The deliver function's runtime account, and the identity Cloud Tasks presents to it (OIDC).
DELIVER_SA=${DELIVER_SA:-"coronabot-deliver@${PROJECT_ID}.iam.gserviceaccount.com"}
TASKS_SA=${TASKS_SA:-"coronabot-tasks@${PROJECT_ID}.iam.gserviceaccount.com"}
DEPLOYER_SA=${DEPLOYER_SA:-"coronabot-deployer@${PROJECT_ID}.iam.gserviceaccount.com"}
# Builds the functions' containers (gcloud functions deploy --build-service-account): in new projects the
# default build account often lacks the builder role.
BUILD_SA=${BUILD_SA:-"coronabot-builder@${PROJECT_ID}.iam.gserviceaccount.com"}
TOKEN_SECRET=${TOKEN_SECRET:-telegram-token}
WEBHOOK_SECRET_NAME=${WEBHOOK_SECRET_NAME:-telegram-webhook-secret}
SOURCE=${SOURCE:-kdca-sentinel}
BROADCAST_RATE=${BROADCAST_RATE:-25}
# A broadcast fans out on this Cloud Tasks queue: BROADCAST_CONCURRENCY deliver invocations at once (the
# queue's max-concurrent-dispatches), each sending at BROADCAST_RATE / BROADCAST_CONCURRENCY.
QUEUE_NAME=${QUEUE_NAME:-coronabot-broadcast}
BROADCAST_CONCURRENCY=${BROADCAST_CONCURRENCY:-4}
ADMIN_CHAT_IDS=${ADMIN_CHAT_IDS:-}
# Both functions read it: the scrape to send silently or hold until its end, the webhook to show it in /settings.
QUIET_HOURS=${QUIET_HOURS:-22-8}
TELEGRAM_BOT_USERNAME=${TELEGRAM_BOT_USERNAME:-}
# Every function's logging (DEBUG shows each request to the sources and the database).
LOG_LEVEL=${LOG_LEVEL:-INFO}
WORKSPACE=${WORKSPACE:-/workspace}

run() {
  if [ "${DRY_RUN:-0}" = 1 ]; then
    local word out=""
    for word in "$@"; do
      case "$word" in
        *'$'*) out+="\"$word\" " ;;
        *[!A-Za-z0-9_./:=@,+-]*|"") out+="'${word//\'/\'\\\'\'}' " ;;
        *) out+="$word " ;;
      esac
    done
    printf '%s\n' "${out% }"
  else
    "$@"
  fi
}
