"""Deployment: `DRY_RUN=1 make deploy` output, cloudbuild.yaml, firebase.json and the database rules."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coronabot.adapters import tasks
from coronabot.alerts import fanout
from coronabot.model.schedule import DEFAULT_RETRY_DELAYS, DEFAULT_SCHEDULES
from coronabot_dev.harness import ROOT


def printed_commands(tmp_path_factory, **settings) -> list[list[str]]:
    """The commands `DRY_RUN=1 make deploy` prints, split into words; gcloud and firebase must not run."""
    bin_dir = tmp_path_factory.mktemp("bin")
    marker = bin_dir / "invoked"
    for tool in ("gcloud", "firebase"):
        path = bin_dir / tool
        path.write_text(f"#!/bin/sh\necho {tool} >> {marker}\nexit 1\n")
        path.chmod(0o755)
    env = dict(os.environ, DRY_RUN="1", PROJECT_ID="corona-test-123", ADMIN_CHAT_IDS="1544010213,-1001234567890",
               PATH=f"{bin_dir}:{os.environ['PATH']}", MAKEFLAGS="", **settings)
    result = subprocess.run(["make", "--no-print-directory", "deploy"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), "a dry run must not call gcloud or firebase"
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("#")]
    return [shlex.split(line) for line in lines]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> list[list[str]]:
    return printed_commands(tmp_path_factory)


@pytest.fixture(scope="module")
def fixed_dry_run(tmp_path_factory) -> list[list[str]]:
    """The same with POLLING=always: the original bot's two Scheduler jobs, every call fetching."""
    return printed_commands(tmp_path_factory, POLLING="always")


def command(commands, *prefix) -> list[str]:
    found = [c for c in commands if c[: len(prefix)] == list(prefix)]
    assert len(found) == 1, f"{prefix} not found once in {commands}"
    return found[0]


def flags(words: list[str]) -> dict[str, str]:
    out = {}
    for word in words:
        if word.startswith("--"):
            name, _, value = word[2:].partition("=")
            out[name] = value
    return out


def test_build_submission(dry_run):
    build = flags(command(dry_run, "gcloud", "beta", "builds", "submit"))
    assert build["config"] == "cloudbuild.yaml" and build["project"] == "corona-test-123"
    subs = dict(item.split("=", 1) for item in build["substitutions"].removeprefix("^;^").split(";"))
    assert subs["_REGION"] == "asia-northeast3" and subs["_RUNTIME"] == "python312"
    assert subs["_POLLING"] == "adaptive" and subs["_LATE_NOTICE_HOURS"] == "3"
    assert subs["_ADMIN_CHAT_IDS"] == "1544010213,-1001234567890"
    assert subs["_DEPLOYER_NAME"] == "coronabot-deployer"
    assert subs["_BUILD_SA"] == "coronabot-builder@corona-test-123.iam.gserviceaccount.com"
    assert ["make", "vendor"] in dry_run


@pytest.mark.parametrize("name, public", [("webhook", True), ("scrape", False), ("deliver", False)])
def test_function_deploys(dry_run, name, public):
    words = command(dry_run, "gcloud", "functions", "deploy", name)
    options = flags(words)
    assert "gen2" in options and "trigger-http" in options
    assert options["runtime"] == "python312" and options["region"] == "asia-northeast3"
    assert options["source"] == f"build/functions/{name}" and options["entry-point"] == name
    assert ("allow-unauthenticated" in options) is public
    assert ("no-allow-unauthenticated" in options) is (not public)
    if public:
        assert options["set-secrets"] == ("TELEGRAM_TOKEN=telegram-token:latest,"
                                          "TELEGRAM_WEBHOOK_SECRET=telegram-webhook-secret:latest")
    else:
        only_token = "TELEGRAM_TOKEN=telegram-token:latest"  # pragma: allowlist secret (a secret's name)
        assert options["set-secrets"] == only_token, f"{name} never sees the webhook secret"
    assert options["service-account"] == f"coronabot-{name}@corona-test-123.iam.gserviceaccount.com", \
        "each function runs as its own account"
    assert options["build-service-account"] == \
        "projects/corona-test-123/serviceAccounts/coronabot-builder@corona-test-123.iam.gserviceaccount.com"
    assert "FIREBASE_DATABASE_URL=https://corona-test-123-default-rtdb" in options["set-env-vars"]
    assert "|SOURCE=kdca-sentinel" in options["set-env-vars"], "the webhook's /about names the source too"
    assert "|QUIET_HOURS=22-8" in options["set-env-vars"], "/settings shows the quiet hours the scrape uses"
    assert options["memory"] == "256Mi"


def test_by_default_one_job_calls_scrape_every_minute_and_the_function_decides(dry_run):
    scrape = flags(command(dry_run, "gcloud", "functions", "deploy", "scrape"))
    assert "|POLLING=adaptive|LATE_NOTICE_HOURS=3" in scrape["set-env-vars"]
    options = flags(command(dry_run, "gcloud", "scheduler", "jobs", "create", "http", "coronabot-scrape"))
    assert options["schedule"] == "* * * * *" and options["time-zone"] == "Asia/Seoul"
    assert options["max-retry-attempts"] == "0", "the next minute's call is the retry"
    assert options["oidc-service-account-email"] == "coronabot-scheduler@corona-test-123.iam.gserviceaccount.com"
    for legacy in ("coronabot-scrape-morning", "coronabot-scrape-afternoon"):
        assert "--quiet" in command(dry_run, "gcloud", "scheduler", "jobs", "delete", legacy)


def test_scheduler_can_invoke_scrape_and_jobs_use_oidc_in_seoul(fixed_dry_run):
    dry_run = fixed_dry_run
    assert "|POLLING=always|" in flags(command(dry_run, "gcloud", "functions", "deploy", "scrape"))["set-env-vars"]
    command(dry_run, "gcloud", "scheduler", "jobs", "delete", "coronabot-scrape")
    binding = flags(command(dry_run, "gcloud", "functions", "add-invoker-policy-binding", "scrape"))
    assert binding["member"] == "serviceAccount:coronabot-scheduler@corona-test-123.iam.gserviceaccount.com"
    schedules = []
    for job in ("coronabot-scrape-morning", "coronabot-scrape-afternoon"):
        options = flags(command(dry_run, "gcloud", "scheduler", "jobs", "create", "http", job))
        assert options["time-zone"] == "Asia/Seoul" and options["http-method"] == "POST"
        assert options["oidc-service-account-email"] == binding["member"].removeprefix("serviceAccount:")
        assert options["oidc-token-audience"] == options["uri"] == "$SCRAPE_URL"
        assert int(options["max-retry-attempts"]) == len(DEFAULT_RETRY_DELAYS), "make run retries alike"
        assert options["min-backoff"] == f"{DEFAULT_RETRY_DELAYS[0]:g}s"
        assert options["max-backoff"] == "300s" and DEFAULT_RETRY_DELAYS[1] == 2 * DEFAULT_RETRY_DELAYS[0]
        schedules.append(options["schedule"])
    assert tuple(schedules) == DEFAULT_SCHEDULES


def test_broadcasts_fan_out_on_a_queue_only_the_scrape_fills_and_only_cloud_tasks_empties(dry_run):
    """The queue is created (or updated) with the settings the code relies on, before the functions; the
    scrape account may only enqueue on it; only the tasks account may invoke deliver; the scrape is told
    the queue, deliver's URL and the account whose OIDC token the tasks carry."""
    words = [" ".join(c) for c in dry_run]
    queue_at = next(i for i, w in enumerate(words) if w.startswith("gcloud tasks queues create coronabot-broadcast"))
    deliver_at = next(i for i, w in enumerate(words) if w.startswith("gcloud functions deploy deliver"))
    scrape_at = next(i for i, w in enumerate(words) if w.startswith("gcloud functions deploy scrape"))
    assert queue_at < deliver_at < scrape_at, "scrape is deployed with deliver's URL"
    queue = flags(command(dry_run, "gcloud", "tasks", "queues", "create", "coronabot-broadcast"))
    assert queue["max-concurrent-dispatches"] == "4" and queue["location"] == "asia-northeast3"
    assert int(queue["max-retry-duration"].removesuffix("s")) < fanout.REQUEUE_SECONDS, \
        "a tick gives a chunk a new task only once the queue gave the old one up"
    assert (int(queue["max-attempts"]), queue["max-retry-duration"], queue["min-backoff"], queue["max-backoff"],
            int(queue["max-doublings"])) == (tasks.MAX_ATTEMPTS, f"{tasks.MAX_RETRY_SECONDS}s",
                                             f"{tasks.MIN_BACKOFF_SECONDS}s", f"{tasks.MAX_BACKOFF_SECONDS}s",
                                             tasks.MAX_DOUBLINGS), "finite attempts: the queue gives up"
    enqueuer = flags(command(dry_run, "gcloud", "tasks", "queues", "add-iam-policy-binding", "coronabot-broadcast"))
    assert enqueuer["member"] == "serviceAccount:coronabot-scrape@corona-test-123.iam.gserviceaccount.com"
    assert enqueuer["role"] == "roles/cloudtasks.enqueuer"
    invoker = flags(command(dry_run, "gcloud", "functions", "add-invoker-policy-binding", "deliver"))
    assert invoker["member"] == "serviceAccount:coronabot-tasks@corona-test-123.iam.gserviceaccount.com"
    deliver = flags(command(dry_run, "gcloud", "functions", "deploy", "deliver"))
    assert deliver["concurrency"] == "1" and deliver["timeout"] == "540s"
    assert "|BROADCAST_RATE=25|BROADCAST_CONCURRENCY=4" in deliver["set-env-vars"]
    scrape = flags(command(dry_run, "gcloud", "functions", "deploy", "scrape"))["set-env-vars"]
    assert "|BROADCAST_QUEUE=projects/corona-test-123/locations/asia-northeast3/queues/coronabot-broadcast|" in scrape
    assert "|DELIVER_URL=$DELIVER_URL|" in scrape and "|BROADCAST_CONCURRENCY=4" in scrape
    assert "|TASKS_SERVICE_ACCOUNT=coronabot-tasks@corona-test-123.iam.gserviceaccount.com|" in scrape


def test_webhook_registration_and_rules(dry_run):
    install = command(dry_run, "pip", "install")
    assert "--require-hashes" in install and "--no-deps" in install
    assert install[install.index("-r") + 1] == "deploy/register-requirements.txt"
    assert command(dry_run, "python", "-m", "coronabot", "set-webhook")[-1] == "$(cat /workspace/webhook_url)"
    command(dry_run, "python", "-m", "coronabot", "set-commands")
    rules = command(dry_run, "firebase", "deploy")
    assert rules[2:4] == ["--only", "database"]


def test_cloudbuild_yaml():
    build = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
    subs = build["substitutions"]
    assert subs["_REGION"] == "asia-northeast3" and subs["_RUNTIME"] == "python312"
    assert subs["_POLLING"] == "adaptive" and (subs["_SCHEDULE_MORNING"], subs["_SCHEDULE_AFTERNOON"]) == ("", "")
    steps = {step["id"]: step for step in build["steps"]}
    assert steps["vendor"]["args"] == ["vendor"]
    assert steps["deploy"]["args"] == ["deploy/functions.sh"]
    assert set(steps["register"]["secretEnv"]) == {"TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_SECRET"}
    assert build["serviceAccount"] == \
        "projects/$PROJECT_ID/serviceAccounts/${_DEPLOYER_NAME}@$PROJECT_ID.iam.gserviceaccount.com"
    assert subs["_DEPLOYER_NAME"] == "coronabot-deployer", "submitted by hand, the build still has a valid account"
    used = (ROOT / "cloudbuild.yaml").read_text().split("\nsteps:", 1)[1]
    assert all("${" + key + "}" in used for key in subs), "every substitution is used (Cloud Build refuses others)"
    assert build["options"]["logging"] == "CLOUD_LOGGING_ONLY"
    secrets = {s["env"]: s["versionName"] for s in build["availableSecrets"]["secretManager"]}
    assert secrets["TELEGRAM_TOKEN"].endswith("/secrets/${_TOKEN_SECRET}/versions/latest")
    plain = {entry.split("=")[0] for step in build["steps"] for entry in step.get("env", [])}
    assert not plain & {"TELEGRAM_TOKEN", "TELEGRAM_WEBHOOK_SECRET"}, "secrets come only through secretEnv"


def test_deploy_defaults_match_the_library_schedule():
    common = (ROOT / "deploy" / "common.sh").read_text()
    assert f'SCHEDULE_MORNING:-"{DEFAULT_SCHEDULES[0]}"' in common
    assert f'SCHEDULE_AFTERNOON:-"{DEFAULT_SCHEDULES[1]}"' in common


def test_firebase_json_and_rules_deny_every_client():
    firebase = json.loads((ROOT / "firebase.json").read_text())
    assert firebase["database"]["rules"] == "database.rules.json"
    assert firebase["emulators"]["database"]["port"] == 9000
    rules = json.loads((ROOT / "database.rules.json").read_text())["rules"]
    assert rules[".read"] is False and rules[".write"] is False

    def grants(node: dict) -> list:
        """Every .read/.write below the root: any of them could open a subtree to clients."""
        found = [(key, value) for key, value in node.items() if key in (".read", ".write", ".validate")]
        return found + [g for child in node.values() if isinstance(child, dict) for g in grants(child)]

    assert all(grants(child) == [] for child in rules.values() if isinstance(child, dict))
    assert {path: node[".indexOn"] for path, node in rules.items() if isinstance(node, dict)} == {
        "handled_updates": "at", "unsubscribed": "at", "broadcasts": "finished_at"}


def test_make_vendor_builds_each_function_outside_the_source_tree(tmp_path):
    subprocess.run(["make", "--no-print-directory", "vendor"], cwd=ROOT, check=True, capture_output=True)
    for name in ("webhook", "scrape", "deliver"):
        built = ROOT / "build" / "functions" / name
        assert (built / "coronabot" / "__init__.py").read_text() == (ROOT / "lib/coronabot/__init__.py").read_text()
        assert (built / "main.py").read_text() == (ROOT / "functions" / name / "main.py").read_text()
        compiled = {p.relative_to(built).as_posix() for p in built.rglob("*.pyc")}
        tag = sys.implementation.cache_tag
        assert compiled == {f"{m.parent.relative_to(built).as_posix()}/__pycache__/{m.stem}.{tag}.pyc"
                            for m in (built / "coronabot").rglob("*.py")}, "every module compiled, nothing else"
        for pyc in built.rglob("*.pyc"):
            assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01, "checked by hash, not by the source's time"
        assert {p.name for p in built.iterdir()} == {"main.py", "requirements.txt", ".gcloudignore", "coronabot"}, \
            "neither the development tools nor the embedded database"
        assert not (ROOT / "functions" / name / "coronabot").exists(), "no second copy in the source tree"
    ignored = subprocess.run(["git", "check-ignore", "build/functions/webhook/coronabot/chat/bot.py"], cwd=ROOT,
                             capture_output=True, text=True)
    assert ignored.returncode == 0, "the build is git-ignored"


def test_the_registration_requirements_are_hash_pinned_and_match_the_webhooks():
    text = (ROOT / "deploy" / "register-requirements.txt").read_text()
    entries = [e for e in text.replace("\\\n", " ").splitlines() if e.strip() and not e.startswith("#")]
    webhook = {line.split("==")[0]: line.split("==")[1].strip() for line in
               (ROOT / "functions/webhook/requirements.txt").read_text().splitlines() if "==" in line}
    assert len(entries) == 2
    for entry in entries:
        words = entry.split()
        name, version = words[0].split("==")
        assert webhook[name] == version, f"{name} is pinned as in functions/webhook/requirements.txt"
        hashes = [w for w in words[1:] if w.startswith("--hash=sha256:")]
        assert hashes and all(len(h.removeprefix("--hash=sha256:")) == 64 for h in hashes)
        assert len(hashes) == len(words) - 1


def test_the_registration_commands_run_with_telepot_alone(servers, bot_env):
    """What the build step installs is enough: the CLI's Telegram commands never import the database client."""
    _, telegram, _ = servers
    code = ("import sys; sys.modules['firebase_admin'] = None; sys.modules['requests'] = None; "
            "from coronabot.cli import main; sys.exit(main(sys.argv[1:]))")
    for args in (["set-webhook", "--allow-http", "http://127.0.0.1:1/hook"], ["set-commands"]):
        result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=bot_env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    assert telegram.calls("setWebhook") and telegram.calls("setMyCommands")


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="the Google Cloud CLI is not installed")
@pytest.mark.parametrize("name", ["webhook", "scrape", "deliver"])
def test_only_what_a_function_runs_is_uploaded(name, tmp_path):
    """gcloud's own reading of .gcloudignore, offline: a function's upload holds main.py, requirements.txt
    and the vendored package, never a .env, local data or a virtual environment."""
    subprocess.run(["make", "--no-print-directory", "vendor"], cwd=ROOT, check=True, capture_output=True)
    folder = ROOT / "build" / "functions" / name
    planted = [folder / ".env", folder / ".data" / "rtdb.json", folder / ".venv" / "bin" / "python"]
    try:
        for path in planted:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("TELEGRAM_TOKEN=not-to-be-uploaded\n")
        listed = subprocess.run(["gcloud", "meta", "list-files-for-upload", str(folder)], capture_output=True,
                                text=True, timeout=120, env=dict(os.environ, CLOUDSDK_CONFIG=str(tmp_path)))
        assert listed.returncode == 0, listed.stderr
        files = set(listed.stdout.split())
    finally:
        for path in planted:
            path.unlink()
        for directory in (folder / ".data", folder / ".venv" / "bin", folder / ".venv"):
            directory.rmdir()
    assert {"main.py", "requirements.txt", "coronabot/__init__.py", "coronabot/sources/__init__.py"} <= files
    assert all(f in ("main.py", "requirements.txt") or f.startswith("coronabot/") for f in files), files
    assert {f for f in files if "__pycache__" in f} == {f for f in files if f.endswith(".pyc")}, \
        "only the package's compiled modules"
    assert f"coronabot/chat/__pycache__/bot.{sys.implementation.cache_tag}.pyc" in files


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="the Google Cloud CLI is not installed")
def test_the_build_upload_leaves_local_state_behind(tmp_path):
    debug_log = ROOT / "firebase-debug.log"
    assert not debug_log.exists()
    debug_log.write_text("refresh_token: not-to-be-uploaded\n")
    try:
        listed = subprocess.run(["gcloud", "meta", "list-files-for-upload", str(ROOT)], capture_output=True,
                                text=True, timeout=120, env=dict(os.environ, CLOUDSDK_CONFIG=str(tmp_path)))
    finally:
        debug_log.unlink()
    assert listed.returncode == 0, listed.stderr
    files = listed.stdout.split()
    assert "cloudbuild.yaml" in files and "deploy/functions.sh" in files and "lib/coronabot/chat/bot.py" in files
    assert not [f for f in files if f.startswith((".venv/", ".venv-lint/", ".data/", ".git/")) or f.endswith(".env")]
    assert "firebase-debug.log" not in files


GCLOUD_OFFLINE = {"CLOUDSDK_CORE_DISABLE_PROMPTS": "1", "CLOUDSDK_CORE_CHECK_GCE_METADATA": "false",
                  "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
                  "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true"}


def offline_gcloud(words: list[str], config: Path) -> subprocess.CompletedProcess:
    """gcloud in a network namespace of its own (loopback only), without credentials: it parses and validates
    every argument, then stops at the missing account, and no request can leave this machine."""
    env = dict(os.environ, CLOUDSDK_CONFIG=str(config), **GCLOUD_OFFLINE)
    return subprocess.run(["unshare", "--net", *words], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(shutil.which("gcloud") is None or shutil.which("unshare") is None,
                    reason="the Google Cloud CLI (or unshare, to keep it offline) is not installed")
@pytest.mark.parametrize("mode", ["adaptive", "always"])
def test_every_printed_gcloud_command_parses_with_the_real_cli(dry_run, fixed_dry_run, tmp_path, mode):
    if offline_gcloud(["true"], tmp_path).returncode != 0:
        pytest.skip("unshare --net is not permitted here")
    commands = [c for c in (dry_run if mode == "adaptive" else fixed_dry_run) if c[0] == "gcloud"]
    assert len(commands) >= 8
    for words in commands:
        words = [w.replace("$SCRAPE_URL", "https://scrape-abc123-du.a.run.app") for w in words]
        words = words[:words.index(">")] if ">" in words else words  # the line's shell redirection
        result = offline_gcloud(words, tmp_path)
        out = result.stdout + result.stderr
        assert result.returncode != 0 and "do not currently have an active account" in out, (words[:5], out[-600:])
        assert "unrecognized arguments" not in out and "invalid choice" not in out.lower(), out


def test_local_debug_logs_are_never_committed_or_uploaded():
    for name in ("firebase-debug.log", "firebase-debug.1.log", "database-debug.log"):
        ignored = subprocess.run(["git", "check-ignore", name], cwd=ROOT, capture_output=True, text=True)
        assert ignored.returncode == 0, f"{name} is git-ignored"
        assert name in (ROOT / ".gcloudignore").read_text() or "firebase-debug.*.log" in \
            (ROOT / ".gcloudignore").read_text()


def fake_tools(bin_dir: Path, script: str) -> dict:
    """gcloud and firebase replaced by ``script`` (sh), for the scripts run without DRY_RUN."""
    for tool in ("gcloud", "firebase"):
        path = bin_dir / tool
        path.write_text("#!/bin/sh\n" + script.replace("TOOL", tool))
        path.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", PROJECT_ID="corona-test-123", MAKEFLAGS="",
                BILLING_ACCOUNT="012345-6789AB-CDEF01", YOU="you@example.com", TELEGRAM_TOKEN="0:not-a-token",
                WORKSPACE=str(bin_dir))


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory) -> list[list[str]]:
    """The commands `DRY_RUN=1 make bootstrap` prints (a pipeline's last command), none of them run."""
    bin_dir = tmp_path_factory.mktemp("bin")
    env = dict(fake_tools(bin_dir, f"echo TOOL >> {bin_dir}/invoked\nexit 1\n"), DRY_RUN="1")
    result = subprocess.run(["make", "--no-print-directory", "bootstrap"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not (bin_dir / "invoked").exists(), "a dry run must not call gcloud or firebase"
    lines = [line.rsplit(" | ", 1)[-1] for line in result.stdout.splitlines() if line and not line.startswith("#")]
    return [shlex.split(line) for line in lines]


def test_the_one_time_setup_works_in_a_brand_new_project(bootstrap):
    words = [" ".join(c) for c in bootstrap]
    at = {name: next(i for i, w in enumerate(words) if w.startswith(name)) for name in (
        "gcloud billing projects link", "gcloud services enable", "firebase database:instances:create",
        "firebase deploy --only database", "gcloud iam service-accounts create coronabot-webhook",
        "gcloud projects add-iam-policy-binding")}
    assert list(at.values()) == sorted(at.values()), "billing, APIs, the database and its rules, then accounts"
    enabled = set(command(bootstrap, "gcloud", "services", "enable")[3:]) - {"--project=corona-test-123"}
    assert {"iam.googleapis.com", "cloudresourcemanager.googleapis.com", "firebasedatabase.googleapis.com",
            "cloudtasks.googleapis.com", "secretmanager.googleapis.com", "storage.googleapis.com"} <= enabled
    assert len([w for w in words if w.startswith("gcloud iam service-accounts create")]) == 7
    assert not [w for w in words if "roles create" in w], "no custom role: the predefined database role"
    assert sum("--role=roles/firebasedatabase.admin" in w for w in words) == 3


@pytest.mark.skipif(shutil.which("gcloud") is None or shutil.which("unshare") is None,
                    reason="the Google Cloud CLI (or unshare, to keep it offline) is not installed")
def test_every_bootstrap_gcloud_command_parses_with_the_real_cli(bootstrap, tmp_path):
    if offline_gcloud(["true"], tmp_path).returncode != 0:
        pytest.skip("unshare --net is not permitted here")
    commands = [c for c in bootstrap if c[0] == "gcloud"]
    assert len(commands) >= 30
    for words in commands:
        result = offline_gcloud(words, tmp_path)
        out = result.stdout + result.stderr
        assert result.returncode != 0 and "do not currently have an active account" in out, (words[:5], out[-600:])


def test_a_binding_to_an_account_iam_has_not_seen_yet_is_retried(tmp_path):
    """New accounts can be briefly unknown to IAM bindings: those few commands are retried with back-off."""
    script = f"""echo "$*" >> {tmp_path}/calls
case "$*" in
  *describe*|*instances:list*) exit 1 ;;
  *"secrets create"*) cat > /dev/null; exit 0 ;;
  *add-iam-policy-binding*coronabot-webhook@*firebasedatabase.admin*)
    n=$(grep -c "coronabot-webhook@.*firebasedatabase.admin" {tmp_path}/calls)
    [ "$n" -ge 3 ] && exit 0
    echo "ERROR: Service account coronabot-webhook@corona-test-123.iam.gserviceaccount.com does not exist." >&2
    exit 1 ;;
esac
exit 0
"""
    result = subprocess.run(["bash", "deploy/bootstrap.sh"], cwd=ROOT, env=fake_tools(tmp_path, script),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert sum("coronabot-webhook@" in c and "firebasedatabase.admin" in c for c in calls) == 3
    assert result.stderr.count("IAM has not seen the new account yet") == 2


def test_an_organisation_policy_refusing_all_users_stops_the_deploy_with_what_to_do(tmp_path):
    script = """case "$*" in
  *"functions deploy webhook"*)
    echo "ERROR: (gcloud.functions.deploy) FAILED_PRECONDITION: One or more users named in the policy do not" \\
      "belong to a permitted customer." >&2
    exit 1 ;;
esac
exit 0
"""
    subprocess.run(["make", "--no-print-directory", "vendor"], cwd=ROOT, check=True, capture_output=True)
    result = subprocess.run(["bash", "deploy/functions.sh"], cwd=ROOT, env=fake_tools(tmp_path, script),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    assert "domain-restricted sharing" in result.stderr and "Telegram cannot reach it" in result.stderr


def test_the_one_time_setup_run_again_creates_nothing_that_exists(tmp_path):
    """Idempotent: with the accounts, secrets, bucket and database there, a second run only binds again."""
    script = f"""echo "$*" >> {tmp_path}/calls
case "$*" in
  *instances:list*) echo '[{{"name": "projects/x/instances/corona-test-123-default-rtdb"}}]' ;;
esac
exit 0
"""
    result = subprocess.run(["bash", "deploy/bootstrap.sh"], cwd=ROOT, env=fake_tools(tmp_path, script),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text()
    for created in ("service-accounts create", "secrets create", "buckets create", "instances:create"):
        assert created not in calls, created
    assert "deploy --only database --project corona-test-123" in calls, "the rules are deployed again"
    assert calls.count("add-iam-policy-binding") >= 15, "bindings are set again (setting one twice changes nothing)"
