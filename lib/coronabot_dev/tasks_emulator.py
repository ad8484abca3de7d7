"""A local Cloud Tasks emulator for HTTP tasks, which the google-cloud-tasks client talks to over gRPC.

It keeps queues and tasks in memory and dispatches HTTP tasks as Cloud Tasks does, as far as the bot relies
on it: at most ``max_concurrent_dispatches`` at once and ``max_dispatches_per_second`` (a token bucket of
``max_burst_size``), each attempt bounded by the task's ``dispatch_deadline``; a non-2xx answer, a refused
connection or a timeout is retried after the queue's backoff (``min_backoff`` doubling ``max_doublings``
times, then growing linearly, up to ``max_backoff``) until both ``max_attempts`` and ``max_retry_duration``
are met, as Cloud Tasks documents (``max_attempts=-1`` never gives up);
the ``X-CloudTasks-*`` headers; a task name that exists, or ran within the last hour, is refused with
ALREADY_EXISTS. With an ``oidc_token`` the request carries an unsigned JWT-shaped bearer token naming the
account and audience (the real queue signs it and Cloud Run checks it before the function runs).

Both servers bind 127.0.0.1 only: gRPC on ``--port``, and on ``--http-port`` what the tests read:
``GET /__dispatches`` (every attempt: task, attempt, status, start and end), ``GET /__tasks`` (tasks
waiting) and ``POST /__reset``.

``gcloud-tasks-emulator`` 0.6.2 (PyPI) was checked first and not used: it binds ``[::]`` whatever host it is
given, dispatches each queue's tasks one at a time with no timeout, has no rate limits, backoff or duplicate
name rejection, and requires protobuf < 5, which google-cloud-tasks 2.26 and firebase-admin's Firestore
client (protobuf 6 and 7) cannot install beside.
"""

from __future__ import annotations

import argparse
import base64
import heapq
import itertools
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from google.cloud import tasks_v2
from google.protobuf import duration_pb2, empty_pb2, timestamp_pb2

from coronabot_dev.harness import LoopbackHandler, LoopbackServer

SERVICE = "google.cloud.tasks.v2.CloudTasks"
TOMBSTONE_SECONDS = 3600.0  # Cloud Tasks refuses a name for about an hour after its task ran or was deleted
_QUEUE = re.compile(r"projects/[^/]+/locations/[^/]+/queues/[A-Za-z0-9-]{1,100}")
_TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,500}")
DEFAULTS = {"max_dispatches_per_second": 500.0, "max_concurrent_dispatches": 1000, "max_attempts": 100,
            "min_backoff": 0.1, "max_backoff": 3600.0, "max_doublings": 16, "max_retry_duration": 0.0}


def seconds(duration: object) -> float:
    """A Duration field as proto-plus gives it (a timedelta) in seconds; 0 when unset."""
    return duration.total_seconds() if hasattr(duration, "total_seconds") else 0.0


class Failure(Exception):
    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Waiting:
    task: tasks_v2.Task
    first_at: float
    attempts: int = 0  # dispatches made
    responses: int = 0  # answers received from the handler


@dataclass
class QueueState:
    queue: tasks_v2.Queue
    tasks: dict[str, Waiting] = field(default_factory=dict)
    due: list = field(default_factory=list)  # heap of (when, seq, task name)
    in_flight: int = 0
    tokens: float = 0.0
    refilled: float = field(default_factory=time.monotonic)

    def setting(self, name: str) -> float:
        rate, retry = self.queue.rate_limits, self.queue.retry_config
        value = {"max_dispatches_per_second": rate.max_dispatches_per_second,
                 "max_concurrent_dispatches": rate.max_concurrent_dispatches,
                 "max_attempts": retry.max_attempts, "min_backoff": seconds(retry.min_backoff),
                 "max_backoff": seconds(retry.max_backoff), "max_doublings": retry.max_doublings,
                 "max_retry_duration": seconds(retry.max_retry_duration)}[name]
        return value or DEFAULTS[name]

    def gives_up(self, attempts: int, age: float) -> bool:
        """Cloud Tasks' rule (RetryConfig, v2): retrying stops only when both limits are met, ``max_attempts``
        attempts (-1: unlimited, so never) and ``max_retry_duration`` since the first attempt (0: no limit)."""
        max_attempts, retry_for = self.setting("max_attempts"), self.setting("max_retry_duration")
        return max_attempts != -1 and attempts >= max_attempts and (not retry_for or age >= retry_for)

    def backoff(self, retries: int) -> float:
        """The wait before retry number ``retries`` (1 for the first retry)."""
        doublings = int(self.setting("max_doublings"))
        base = self.setting("min_backoff") * 2 ** min(retries - 1, doublings)
        linear = max(0, retries - 1 - doublings)
        return min(self.setting("max_backoff"), base * (1 + linear))

    def take_token(self, now: float) -> bool:
        rate = self.setting("max_dispatches_per_second")
        burst = max(1.0, rate / 5) if not self.queue.rate_limits.max_burst_size else \
            float(self.queue.rate_limits.max_burst_size)
        self.tokens = min(burst, self.tokens + (now - self.refilled) * rate)
        self.refilled = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Emulator:
    """Queues, tasks and the dispatcher; every public method is a gRPC method of the Cloud Tasks API."""

    def __init__(self):
        self.lock = threading.Condition()
        self.queues: dict[str, QueueState] = {}
        self.tombstones: dict[str, float] = {}
        self.dispatches: list[dict] = []
        self.seq = itertools.count()
        self.pool = futures.ThreadPoolExecutor(max_workers=256, thread_name_prefix="dispatch")
        threading.Thread(target=self._dispatch_loop, daemon=True, name="dispatcher").start()

    # -- the API -----------------------------------------------------------------------------
    def _queue(self, name: str) -> QueueState:
        if name not in self.queues:
            raise Failure(grpc.StatusCode.NOT_FOUND, f"Queue does not exist: {name}")
        return self.queues[name]

    def CreateQueue(self, request: tasks_v2.CreateQueueRequest) -> tasks_v2.Queue:
        queue = request.queue
        if not _QUEUE.fullmatch(queue.name) or not queue.name.startswith(request.parent + "/queues/"):
            raise Failure(grpc.StatusCode.INVALID_ARGUMENT, f"bad queue name: {queue.name!r}")
        if queue.name in self.queues:
            raise Failure(grpc.StatusCode.ALREADY_EXISTS, f"Queue already exists: {queue.name}")
        queue.state = tasks_v2.Queue.State.RUNNING  # type: ignore[assignment]  # proto-plus enums are ints to mypy
        self.queues[queue.name] = QueueState(queue)
        return queue

    def UpdateQueue(self, request: tasks_v2.UpdateQueueRequest) -> tasks_v2.Queue:
        """Creates the queue when it does not exist, as Cloud Tasks does; otherwise takes the fields in the
        update mask (all fields without one)."""
        queue = request.queue
        if queue.name not in self.queues:
            parent = queue.name.rsplit("/queues/", 1)[0]
            return self.CreateQueue(tasks_v2.CreateQueueRequest(parent=parent, queue=queue))
        current = self.queues[queue.name].queue
        paths = list(request.update_mask.paths) or ["rate_limits", "retry_config"]
        for path in paths:
            top, _, leaf = path.partition(".")
            if leaf:
                setattr(getattr(current, top), leaf, getattr(getattr(queue, top), leaf))
            else:
                setattr(current, top, getattr(queue, top))
        return current

    def GetQueue(self, request: tasks_v2.GetQueueRequest) -> tasks_v2.Queue:
        return self._queue(request.name).queue

    def ListQueues(self, request: tasks_v2.ListQueuesRequest) -> tasks_v2.ListQueuesResponse:
        return tasks_v2.ListQueuesResponse(queues=[q.queue for name, q in self.queues.items()
                                                   if name.startswith(request.parent + "/")])

    def DeleteQueue(self, request: tasks_v2.DeleteQueueRequest) -> empty_pb2.Empty:
        self._queue(request.name)
        del self.queues[request.name]
        return empty_pb2.Empty()

    def PauseQueue(self, request: tasks_v2.PauseQueueRequest) -> tasks_v2.Queue:
        state = self._queue(request.name)
        state.queue.state = tasks_v2.Queue.State.PAUSED  # type: ignore[assignment]  # proto-plus enums are ints to mypy
        return state.queue

    def ResumeQueue(self, request: tasks_v2.ResumeQueueRequest) -> tasks_v2.Queue:
        state = self._queue(request.name)
        state.queue.state = tasks_v2.Queue.State.RUNNING  # type: ignore[assignment]  # proto-plus enums are ints to mypy
        self.lock.notify_all()
        return state.queue

    def CreateTask(self, request: tasks_v2.CreateTaskRequest) -> tasks_v2.Task:
        state = self._queue(request.parent)
        task = request.task
        if not task.http_request.url:
            raise Failure(grpc.StatusCode.INVALID_ARGUMENT, "this emulator dispatches HTTP tasks only")
        if not task.name:
            task.name = f"{request.parent}/tasks/{int(time.time() * 1e6)}{next(self.seq)}"
        prefix, _, task_id = task.name.rpartition("/tasks/")
        if prefix != request.parent or not _TASK_ID.fullmatch(task_id):
            raise Failure(grpc.StatusCode.INVALID_ARGUMENT, f"bad task name: {task.name!r}")
        now = time.time()
        if task.name in state.tasks or self.tombstones.get(task.name, 0) > now:
            raise Failure(grpc.StatusCode.ALREADY_EXISTS, f"Requested entity already exists: {task.name}")
        if not task.http_request.http_method:
            task.http_request.http_method = tasks_v2.HttpMethod.POST  # type: ignore[assignment]  # proto-plus enums are ints to mypy
        eta = task.schedule_time.timestamp() if task.schedule_time else now
        created = timestamp_pb2.Timestamp()
        created.FromSeconds(int(now))
        task.create_time = created
        if not seconds(task.dispatch_deadline):
            task.dispatch_deadline = duration_pb2.Duration(seconds=600)
        state.tasks[task.name] = Waiting(task, now)
        heapq.heappush(state.due, (time.monotonic() + max(0.0, eta - now), next(self.seq), task.name))
        self.lock.notify_all()
        return task

    def GetTask(self, request: tasks_v2.GetTaskRequest) -> tasks_v2.Task:
        state = self._queue(request.name.rpartition("/tasks/")[0])
        if request.name not in state.tasks:
            raise Failure(grpc.StatusCode.NOT_FOUND, f"Task does not exist: {request.name}")
        return state.tasks[request.name].task

    def ListTasks(self, request: tasks_v2.ListTasksRequest) -> tasks_v2.ListTasksResponse:
        return tasks_v2.ListTasksResponse(tasks=[w.task for w in self._queue(request.parent).tasks.values()])

    def DeleteTask(self, request: tasks_v2.DeleteTaskRequest) -> empty_pb2.Empty:
        state = self._queue(request.name.rpartition("/tasks/")[0])
        if state.tasks.pop(request.name, None) is None:
            raise Failure(grpc.StatusCode.NOT_FOUND, f"Task does not exist: {request.name}")
        self.tombstones[request.name] = time.time() + TOMBSTONE_SECONDS
        return empty_pb2.Empty()

    def handler(self) -> grpc.GenericRpcHandler:
        types = {"CreateQueue": (tasks_v2.CreateQueueRequest, tasks_v2.Queue),
                 "UpdateQueue": (tasks_v2.UpdateQueueRequest, tasks_v2.Queue),
                 "GetQueue": (tasks_v2.GetQueueRequest, tasks_v2.Queue),
                 "ListQueues": (tasks_v2.ListQueuesRequest, tasks_v2.ListQueuesResponse),
                 "DeleteQueue": (tasks_v2.DeleteQueueRequest, empty_pb2.Empty),
                 "PauseQueue": (tasks_v2.PauseQueueRequest, tasks_v2.Queue),
                 "ResumeQueue": (tasks_v2.ResumeQueueRequest, tasks_v2.Queue),
                 "CreateTask": (tasks_v2.CreateTaskRequest, tasks_v2.Task),
                 "GetTask": (tasks_v2.GetTaskRequest, tasks_v2.Task),
                 "ListTasks": (tasks_v2.ListTasksRequest, tasks_v2.ListTasksResponse),
                 "DeleteTask": (tasks_v2.DeleteTaskRequest, empty_pb2.Empty)}

        def method(name: str, request_type, response_type):
            def call(request, context):
                with self.lock:
                    try:
                        return getattr(self, name)(request)
                    except Failure as exc:
                        context.abort(exc.code, str(exc))

            serialize = response_type.SerializeToString if response_type is empty_pb2.Empty \
                else response_type.serialize
            return grpc.unary_unary_rpc_method_handler(call, request_deserializer=request_type.deserialize,
                                                       response_serializer=serialize)

        return grpc.method_handlers_generic_handler(SERVICE, {n: method(n, *t) for n, t in types.items()})

    # -- dispatching -------------------------------------------------------------------------
    def _dispatch_loop(self) -> None:
        with self.lock:
            while True:
                wait = 1.0
                now = time.monotonic()
                for state in self.queues.values():
                    if state.queue.state != tasks_v2.Queue.State.RUNNING:
                        continue
                    while state.due and state.in_flight < state.setting("max_concurrent_dispatches"):
                        when, _, name = state.due[0]
                        if name not in state.tasks:
                            heapq.heappop(state.due)
                            continue
                        if when > now:
                            wait = min(wait, when - now)
                            break
                        if not state.take_token(now):
                            wait = min(wait, 1 / state.setting("max_dispatches_per_second"))
                            break
                        heapq.heappop(state.due)
                        state.in_flight += 1
                        waiting = state.tasks[name]
                        waiting.attempts += 1
                        self.pool.submit(self._attempt, state, waiting)
                self.lock.wait(max(wait, 0.001))

    def _attempt(self, state: QueueState, waiting: Waiting) -> None:
        task = waiting.task
        http = task.http_request
        headers = dict(http.headers)
        queue_id = state.queue.name.rsplit("/", 1)[-1]
        headers.update({"X-CloudTasks-QueueName": queue_id, "X-CloudTasks-TaskName": task.name.rsplit("/", 1)[-1],
                        "X-CloudTasks-TaskRetryCount": str(waiting.attempts - 1),
                        "X-CloudTasks-TaskExecutionCount": str(waiting.responses),
                        "X-CloudTasks-TaskETA": f"{waiting.first_at:.6f}"})
        if http.oidc_token.service_account_email:
            headers["Authorization"] = "Bearer " + unsigned_jwt(http.oidc_token.service_account_email,
                                                                http.oidc_token.audience or http.url)
        request = urllib.request.Request(http.url, data=http.body or None, headers=headers,
                                         method=tasks_v2.HttpMethod(http.http_method).name)
        started = time.time()
        try:
            with urllib.request.urlopen(request, timeout=seconds(task.dispatch_deadline)) as response:
                status = response.status
                response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError as exc:  # refused, reset, timed out: no answer from the handler
            status = 0
            print(json.dumps({"severity": "WARNING", "message": f"dispatch failed: {exc}", "task": task.name}),
                  flush=True)
        with self.lock:
            state.in_flight -= 1
            self.dispatches.append({"task": task.name.rsplit("/", 1)[-1], "attempt": waiting.attempts,
                                    "status": status, "started": started, "ended": time.time()})
            if status:
                waiting.responses += 1
            self._settle(state, waiting, status)
            self.lock.notify_all()

    def _settle(self, state: QueueState, waiting: Waiting, status: int) -> None:
        name = waiting.task.name
        if name not in state.tasks:  # deleted meanwhile
            return
        given_up = state.gives_up(waiting.attempts, time.time() - waiting.first_at)
        if 200 <= status < 300 or given_up:
            del state.tasks[name]
            self.tombstones[name] = time.time() + TOMBSTONE_SECONDS
            if not 200 <= status < 300:
                print(json.dumps({"severity": "WARNING", "message": "task given up", "task": name,
                                  "attempts": waiting.attempts}), flush=True)
            return
        heapq.heappush(state.due, (time.monotonic() + state.backoff(waiting.attempts), next(self.seq), name))

    # -- what the tests read -----------------------------------------------------------------
    def status(self, path: str) -> object:
        with self.lock:
            if path == "/__dispatches":
                return list(self.dispatches)
            if path == "/__tasks":
                return {name: sorted(t.rsplit("/", 1)[-1] for t in state.tasks)
                        for name, state in self.queues.items()}
        return None

    def reset(self) -> None:
        with self.lock:
            for state in self.queues.values():
                state.tasks.clear()
                state.due.clear()
            self.tombstones.clear()
            self.dispatches.clear()


def unsigned_jwt(email: str, audience: str) -> str:
    """A token shaped like the OIDC token Cloud Tasks adds (header.claims.signature), not signed."""
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return ".".join([part({"alg": "none", "typ": "JWT"}), part({
        "iss": "https://accounts.google.com", "aud": audience, "email": email, "iat": now, "exp": now + 3600}), ""])


def make_status_server(emulator: Emulator, port: int) -> LoopbackServer:
    class Handler(LoopbackHandler):
        def route(self, method: str) -> None:
            if method == "POST" and self.path == "/__reset":
                emulator.reset()
                self.send_json(200, {"reset": True})
                return
            body = emulator.status(self.path) if method == "GET" else None
            self.send_json(200 if body is not None else 404, body if body is not None else {"error": "not found"})

    return LoopbackServer(("127.0.0.1", port), Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8123, help="the gRPC port (CLOUD_TASKS_EMULATOR_HOST)")
    parser.add_argument("--http-port", type=int, default=8124, help="the port of /__dispatches and /__reset")
    args = parser.parse_args(argv)
    emulator = Emulator()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((emulator.handler(),))
    server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(json.dumps({"severity": "INFO", "message": f"Cloud Tasks emulator (gRPC) on 127.0.0.1:{args.port}"}),
          flush=True)
    make_status_server(emulator, args.http_port).run("Cloud Tasks emulator status")
    server.stop(grace=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
