"""Cloud Tasks: one HTTP task per chunk of a fanned-out broadcast, dispatched to the ``deliver`` function.

google-cloud-tasks (gRPC) is imported on first use, by a scrape process that fans out only. With
``CLOUD_TASKS_EMULATOR_HOST`` the client talks plain gRPC to the local emulator (``coronabot_dev.tasks_emulator``);
otherwise to Cloud Tasks with the function's own credentials. Task names are deterministic, so a repeated
create is refused as ``AlreadyExists``; the delivery ledger, not the name, is what keeps a chat from getting
a message twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from coronabot.config import Settings

DISPATCH_DEADLINE_SECONDS = 600  # a chunk's attempt; the deliver function's own budget ends before
# The queue's retry settings (deploy/functions.sh creates the queue with them, the emulated one gets them too).
# Cloud Tasks stops retrying only when BOTH limits are met (RetryConfig, v2): a finite max_attempts that the
# back-off (5 s doubling 4 times to 60 s, then 60 s) reaches at 915 s, just past max_retry_duration, stops a
# chunk failing at once after about 15 minutes; one whose attempts are slow stops after 19 of them.
MAX_ATTEMPTS = 19
MAX_RETRY_SECONDS = 900
MIN_BACKOFF_SECONDS = 5
MAX_BACKOFF_SECONDS = 60
MAX_DOUBLINGS = 4


def retry_times(attempts: int = MAX_ATTEMPTS) -> list[float]:
    """When each attempt of a chunk failing at once starts, in seconds after the first (Cloud Tasks' back-off:
    ``min_backoff`` doubling ``max_doublings`` times, then growing linearly, capped at ``max_backoff``)."""
    times, at = [0.0], 0.0
    for retry in range(1, attempts):
        base = MIN_BACKOFF_SECONDS * 2 ** min(retry - 1, MAX_DOUBLINGS)
        at += min(MAX_BACKOFF_SECONDS, base * (1 + max(0, retry - 1 - MAX_DOUBLINGS)))
        times.append(at)
    return times
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


LOCAL_QUEUE = "projects/coronabot-local/locations/asia-northeast3/queues/coronabot-broadcast"


class QueueError(Exception):
    """Cloud Tasks refused or could not be reached; the chunk is enqueued again by a later tick."""


def task_id(key: str, chunk: int, generation: int = 0) -> str:
    """The task's name within the queue: a short hash first (Cloud Tasks spreads names that do not share a
    prefix better), then the broadcast key in the characters a task id allows, the chunk and its generation
    (a chunk enqueued again after its task was given up gets a new name)."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return f"{digest}-{_UNSAFE.sub('_', key)[:400]}-c{chunk}-g{generation}"


def payload(key: str, chunk: int, generation: int = 0) -> bytes:
    """The body a chunk's task carries to ``deliver``: an older generation's task is refused there."""
    return json.dumps({"broadcast": key, "chunk": chunk, "generation": generation}).encode()


class TaskQueue:
    """Creates the chunk tasks of the queue in BROADCAST_QUEUE, aimed at DELIVER_URL."""

    def __init__(self, settings: Settings):
        settings.require_fanout()
        self.settings = settings
        self._client: Any = None

    def _tasks(self) -> Any:
        if self._client is None:
            from google.cloud import tasks_v2
            if self.settings.tasks_emulator_host:
                import grpc
                from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport
                channel = grpc.insecure_channel(self.settings.tasks_emulator_host)
                self._client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
            else:
                self._client = tasks_v2.CloudTasksClient()
        return self._client

    def enqueue(self, key: str, chunk: int, generation: int = 0) -> bool:
        """Create the chunk's task; False when a task of that name exists (or ran within the hour Cloud
        Tasks keeps names). Raises QueueError when the queue cannot be reached or refuses."""
        from google.api_core import exceptions
        from google.cloud import tasks_v2
        from google.protobuf import duration_pb2

        settings = self.settings
        request = tasks_v2.HttpRequest(http_method=tasks_v2.HttpMethod.POST, url=settings.deliver_url,
                                       headers={"Content-Type": "application/json"},
                                       body=payload(key, chunk, generation))
        if settings.tasks_service_account:
            request.oidc_token = tasks_v2.OidcToken(service_account_email=settings.tasks_service_account,
                                                    audience=settings.deliver_url)
        task = tasks_v2.Task(name=f"{settings.broadcast_queue}/tasks/{task_id(key, chunk, generation)}",
                             http_request=request,
                             dispatch_deadline=duration_pb2.Duration(seconds=DISPATCH_DEADLINE_SECONDS))
        try:
            self._tasks().create_task(parent=settings.broadcast_queue, task=task, timeout=15)
        except exceptions.AlreadyExists:
            return False
        except exceptions.GoogleAPICallError as exc:
            raise QueueError(f"Cloud Tasks refused the task: {exc.code} {exc.message}") from None
        except Exception as exc:  # the transport's own errors (a refused connection, a timeout)
            raise QueueError(f"Cloud Tasks could not be reached: {type(exc).__name__}: {exc}") from None
        return True

    def delete(self, key: str, chunk: int, generation: int) -> None:
        """Delete a chunk's task of an older generation, if the queue still has it (best effort: deliver
        refuses an older generation's task anyway)."""
        from google.api_core import exceptions

        name = f"{self.settings.broadcast_queue}/tasks/{task_id(key, chunk, generation)}"
        try:
            self._tasks().delete_task(name=name, timeout=15)
        except exceptions.NotFound:
            pass
        except Exception as exc:  # deliver refuses it: the delete only spares the queue the retries
            raise QueueError(f"Cloud Tasks could not delete {name}: {type(exc).__name__}: {exc}") from None


def configure_emulated_queue(host: str, name: str, concurrency: int, dispatches_per_second: float = 5,
                             min_backoff: float = MIN_BACKOFF_SECONDS, max_backoff: float = MAX_BACKOFF_SECONDS,
                             max_attempts: int = MAX_ATTEMPTS, max_retry_duration: float = MAX_RETRY_SECONDS,
                             max_doublings: int = MAX_DOUBLINGS) -> None:
    """Create or update a queue on the local emulator (``coronabot_dev.tasks_emulator`` at ``host``) with the
    settings the deployment gives the real one (deploy/functions.sh), or the ones given."""
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport
    from google.protobuf import duration_pb2

    def duration(seconds: float) -> duration_pb2.Duration:
        return duration_pb2.Duration(seconds=int(seconds), nanos=int(seconds % 1 * 1e9))

    client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(host)))
    client.update_queue(queue=tasks_v2.Queue(
        name=name, rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=dispatches_per_second,
                                                   max_concurrent_dispatches=concurrency),
        retry_config=tasks_v2.RetryConfig(max_attempts=max_attempts, min_backoff=duration(min_backoff),
                                          max_backoff=duration(max_backoff), max_doublings=max_doublings,
                                          max_retry_duration=duration(max_retry_duration))), timeout=15)
