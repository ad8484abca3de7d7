#!/usr/bin/env bash
# The one-time setup of a Google Cloud project for coronabot (`make bootstrap`), idempotent: run it again and
# it creates only what is missing. DRY_RUN=1 prints every command and runs none (the tests parse each with the
# real gcloud). docs/deploying.md explains each step; this script is what it shows.
#
#   PROJECT_ID=my-project BILLING_ACCOUNT=0X0X0X-0X0X0X-0X0X0X YOU=you@example.com make bootstrap
#
# BILLING_ACCOUNT: `gcloud billing accounts list` shows yours (ACCOUNT_ID). YOU: the account that will run
# `make deploy`. The token is read from TELEGRAM_TOKEN, or typed in (never written to a file).
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/common.sh
DB_INSTANCE=${DB_INSTANCE:-"${PROJECT_ID}-default-rtdb"}
DB_LOCATION=${DB_LOCATION:-asia-southeast1}
ALL_SA=(webhook scrape deliver tasks scheduler deployer builder)

exists() { [ "${DRY_RUN:-0}" != 1 ] && "$@" >/dev/null 2>&1; }

# A binding made right after its service account was created can fail for a short while ("Service account
# ... does not exist"): retried with a bounded back-off (2, 4, 8, 16, 32 s), then the error stands.
retry() {
  if [ "${DRY_RUN:-0}" = 1 ]; then run "$@"; return; fi
  local delay=2
  until "$@"; do
    if [ "$delay" -gt 32 ]; then return 1; fi
    echo "  (IAM has not seen the new account yet; again in ${delay} s)" >&2
    sleep "$delay"; delay=$((delay * 2))
  done
}

echo "# 1. billing: a new project cannot enable services without it (FAILED_PRECONDITION)"
: "${BILLING_ACCOUNT:?set BILLING_ACCOUNT to your billing account id: gcloud billing accounts list}"
run gcloud billing projects link "$PROJECT_ID" --billing-account="$BILLING_ACCOUNT"

echo "# 2. the APIs every command below and every deploy uses (iam: accounts; cloudresourcemanager: project"
echo "#    bindings; firebase*: the database and its rules; storage: the build's bucket)"
run gcloud services enable --project="$PROJECT_ID" iam.googleapis.com cloudresourcemanager.googleapis.com \
  serviceusage.googleapis.com cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com \
  artifactregistry.googleapis.com cloudscheduler.googleapis.com cloudtasks.googleapis.com \
  secretmanager.googleapis.com logging.googleapis.com storage.googleapis.com firebase.googleapis.com \
  firebasedatabase.googleapis.com

echo "# 3. the Realtime Database (${DB_LOCATION}, the nearest to Seoul), then its deny-all rules at once: a"
echo "#    database left in test mode is open to anyone. firebase needs a login: firebase login (or login:ci)"
if ! exists firebase database:instances:list --project "$PROJECT_ID" --json 2>/dev/null \
    || ! firebase database:instances:list --project "$PROJECT_ID" --json 2>/dev/null | grep -q -- "$DB_INSTANCE"; then
  run firebase projects:addfirebase "$PROJECT_ID" || true
  run firebase database:instances:create "$DB_INSTANCE" --location "$DB_LOCATION" --project "$PROJECT_ID"
fi
run firebase deploy --only database --project "$PROJECT_ID"

echo "# 4. the secrets (typed in, never in a file)"
if ! exists gcloud secrets describe "$TOKEN_SECRET" --project="$PROJECT_ID"; then
  if [ "${DRY_RUN:-0}" = 1 ]; then
    echo "printf %s \"\$TELEGRAM_TOKEN\" | gcloud secrets create $TOKEN_SECRET --project=$PROJECT_ID --data-file=-"
  else
    token=${TELEGRAM_TOKEN:-}
    [ -n "$token" ] || { read -r -s -p "the bot token from @BotFather: " token; echo; }
    printf %s "$token" | gcloud secrets create "$TOKEN_SECRET" --project="$PROJECT_ID" --data-file=-
  fi
fi
if ! exists gcloud secrets describe "$WEBHOOK_SECRET_NAME" --project="$PROJECT_ID"; then
  if [ "${DRY_RUN:-0}" = 1 ]; then
    echo "python3 -c 'import secrets; print(secrets.token_urlsafe(32), end=\"\")' | gcloud secrets create $WEBHOOK_SECRET_NAME --project=$PROJECT_ID --data-file=-"
  else
    python3 -c 'import secrets; print(secrets.token_urlsafe(32), end="")' \
      | gcloud secrets create "$WEBHOOK_SECRET_NAME" --project="$PROJECT_ID" --data-file=-
  fi
fi

echo "# 5. one account per function and caller, each with only what it needs (docs/deploying.md, the table)"
for a in "${ALL_SA[@]}"; do
  if ! exists gcloud iam service-accounts describe "coronabot-$a@${PROJECT_ID}.iam.gserviceaccount.com" \
      --project="$PROJECT_ID"; then
    run gcloud iam service-accounts create "coronabot-$a" --project="$PROJECT_ID"
  fi
done
# The database: Firebase Realtime Database Admin, the narrowest predefined role that writes (the Viewer role
# only reads). A custom role of instances.get and instances.update was not provably allowed in custom roles
# nor sufficient (it lacked firebase.projects.get, which both predefined roles hold).
for a in "$WEBHOOK_SA" "$SCRAPE_SA" "$DELIVER_SA"; do
  retry gcloud projects add-iam-policy-binding "$PROJECT_ID" --member="serviceAccount:$a" \
    --role=roles/firebasedatabase.admin --condition=None
  retry gcloud secrets add-iam-policy-binding "$TOKEN_SECRET" --project="$PROJECT_ID" \
    --member="serviceAccount:$a" --role=roles/secretmanager.secretAccessor
done
for a in "$WEBHOOK_SA" "$DEPLOYER_SA"; do
  retry gcloud secrets add-iam-policy-binding "$WEBHOOK_SECRET_NAME" --project="$PROJECT_ID" \
    --member="serviceAccount:$a" --role=roles/secretmanager.secretAccessor
done
retry gcloud secrets add-iam-policy-binding "$TOKEN_SECRET" --project="$PROJECT_ID" \
  --member="serviceAccount:$DEPLOYER_SA" --role=roles/secretmanager.secretAccessor
for r in cloudfunctions.admin cloudscheduler.admin cloudtasks.queueAdmin logging.logWriter; do
  retry gcloud projects add-iam-policy-binding "$PROJECT_ID" --member="serviceAccount:$DEPLOYER_SA" \
    --role="roles/$r" --condition=None
done
retry gcloud iam service-accounts add-iam-policy-binding "$TASKS_SA" --project="$PROJECT_ID" \
  --member="serviceAccount:$SCRAPE_SA" --role=roles/iam.serviceAccountUser
for a in "$WEBHOOK_SA" "$SCRAPE_SA" "$DELIVER_SA" "$SCHEDULER_SA" "$BUILD_SA"; do
  retry gcloud iam service-accounts add-iam-policy-binding "$a" --project="$PROJECT_ID" \
    --member="serviceAccount:$DEPLOYER_SA" --role=roles/iam.serviceAccountUser
done
retry gcloud projects add-iam-policy-binding "$PROJECT_ID" --member="serviceAccount:$BUILD_SA" \
  --role=roles/cloudbuild.builds.builder --condition=None

echo "# 6. the build's bucket, readable by the deployer; you submit builds as the deployer"
if ! exists gcloud storage buckets describe "gs://${PROJECT_ID}_cloudbuild" --project="$PROJECT_ID"; then
  run gcloud storage buckets create "gs://${PROJECT_ID}_cloudbuild" --project="$PROJECT_ID" --location="$REGION"
fi
retry gcloud storage buckets add-iam-policy-binding "gs://${PROJECT_ID}_cloudbuild" \
  --member="serviceAccount:$DEPLOYER_SA" --role=roles/storage.objectViewer
: "${YOU:?set YOU to the Google account that will run make deploy (you@example.com)}"
retry gcloud iam service-accounts add-iam-policy-binding "$DEPLOYER_SA" --project="$PROJECT_ID" \
  --member="user:$YOU" --role=roles/iam.serviceAccountUser

echo "# done: PROJECT_ID=$PROJECT_ID ADMIN_CHAT_IDS=YOUR_CHAT_ID make deploy"
