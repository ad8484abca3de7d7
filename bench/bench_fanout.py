"""Fan-out benchmark: a broadcast through Cloud Tasks to several deliver workers, against one process doing it all.

Run with `make bench` (or `.venv/bin/python bench/bench_fanout.py [--subscribers 10000,100000] [--rate 1000]
[--workers 4]`). It starts the local database, the fake Telegram server (30 ms per call), the source stand-in,
the Cloud Tasks emulator (lib/coronabot_dev/tasks_emulator.py) and the deliver function under functions-framework with
``--workers`` gunicorn worker processes of one thread each (Cloud Run's concurrency 1: one chunk per instance),
the queue allowing that many dispatches at once. A scrape tick (its own process) plans the chunks and enqueues
them; the deliver workers send. Measured at the servers: time from the tick's start to the last subscriber's
message, the achieved rate, duplicates, peak RSS of each process (VmHWM), CPU per message by process. The
same audience through the in-process broadcaster (no queue) is measured in the same run for comparison.
Results go to bench/results/fanout.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench_scrape import NAMESPACE, ROOT, Bench, cpu_seconds
from bench_webhook_attack import memory_mib, worker_pids

from coronabot.adapters.tasks import configure_emulated_queue
from coronabot_dev.harness import OWNER, Process, as_deployed, free_port, http, markdown_table

QUEUE = "projects/coronabot-bench/locations/asia-northeast3/queues/coronabot-broadcast"


class FanOutBench(Bench):
    def __init__(self, workdir: Path, workers: int, rate: int):
        super().__init__(workdir)
        self.workers, self.rate = workers, rate
        grpc_port, status_port = free_port(), free_port()
        self.tasks = Process([sys.executable,
                              "-m", "coronabot_dev.tasks_emulator", "--port", str(grpc_port), "--http-port",
                              str(status_port)], status_port, workdir / "tasks.log")
        self.tasks_host = f"127.0.0.1:{grpc_port}"
        subprocess.run(["make", "--no-print-directory", "vendor"], cwd=ROOT, check=True, capture_output=True)
        port = free_port()
        common = dict(BROADCAST_RATE=str(rate), BROADCAST_CONCURRENCY=str(workers), CHARTS="off")
        self.deliver = Process([str(Path(sys.executable).with_name("functions-framework")), "--source",
                                "build/functions/deliver/main.py", "--target", "deliver", "--host", "127.0.0.1",
                                "--port", str(port)], port, workdir / "deliver.log",
                               as_deployed("deliver", dict(self.env, WORKERS=str(workers), THREADS="1", **common)))
        self.fanout_env = dict(common, BROADCAST_QUEUE=QUEUE, DELIVER_URL=self.deliver.url,
                               CLOUD_TASKS_EMULATOR_HOST=self.tasks_host)
        self._configure_queue()

    def _configure_queue(self) -> None:
        """The queue as the deployment makes it, but a second of backoff (the deployment's 5 s would only
        lengthen a retry here)."""
        configure_emulated_queue(self.tasks_host, QUEUE, self.workers, min_backoff=1, max_backoff=10)

    def stop(self) -> None:
        for process in (self.deliver, self.tasks):
            process.stop()
        super().stop()

    def run(self, subscribers: int, fan_out: bool) -> dict:
        self.reset(subscribers)
        http("POST", f"{self.tasks.url}/__reset")
        workers = worker_pids(self.deliver.proc.pid)
        cpu_before = {"fake Telegram": cpu_seconds(self.telegram), "database": cpu_seconds(self.database),
                      "deliver workers": sum(cpu_seconds(p) for p in workers)}
        started = time.time()
        env = self.fanout_env if fan_out else dict(BROADCAST_RATE=str(self.rate), CHARTS="off")
        tick = self.tick(subscribers, **env)
        key = tick["summary"]["broadcast"]
        while fan_out:
            done = http("GET", f"{self.database.url}/broadcasts/{key}/done.json?ns={NAMESPACE}", headers=OWNER)[1]
            if done is True:
                break
            time.sleep(0.5)
        calls = http("GET", f"{self.telegram.url}/__calls", timeout=300)[1]
        accepted = [c for c in calls if c.get("status") == 200 and c["method"] == "sendMessage"]
        times = sorted(c["time"] for c in accepted)
        per_chat = Counter(str(c["params"]["chat_id"]) for c in accepted)
        cpu = {"scrape tick": tick["cpu_seconds"], "fake Telegram": cpu_seconds(self.telegram) -
               cpu_before["fake Telegram"], "database": cpu_seconds(self.database) - cpu_before["database"]}
        if fan_out:
            cpu["deliver workers"] = sum(cpu_seconds(p) for p in workers) - cpu_before["deliver workers"]
            dispatches = http("GET", f"{self.tasks.url}/__dispatches")[1]
        achieved = (len(times) - 1) / (times[-1] - times[0])
        return {
            "mode": f"Cloud Tasks, {self.workers} deliver workers" if fan_out else "in-process",
            "subscribers": subscribers, "rate": self.rate, "delivered": len(per_chat),
            "duplicates": sum(n - 1 for n in per_chat.values()),
            "seconds_to_last_subscriber": round(times[-1] - started, 1),
            "seconds_to_first_message": round(times[0] - started, 2),
            "achieved_per_second": round(achieved, 1), "fraction_of_rate": round(achieved / self.rate, 3),
            "tasks_dispatched": len(dispatches) if fan_out else 0,
            "task_retries": sum(1 for d in dispatches if d["status"] != 200) if fan_out else 0,
            "peak_rss_mib": {"scrape tick": round(tick["maxrss_kb"] / 1024, 1)} | (
                {f"deliver worker {i + 1}": memory_mib(p)["VmHWM"] for i, p in enumerate(workers)} if fan_out else {}),
            "cpu_ms_per_message": {name: round(1000 * seconds / max(len(accepted), 1), 2)
                                   for name, seconds in cpu.items()},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", default="10000,100000")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as workdir:
        bench = FanOutBench(Path(workdir), args.workers, args.rate)
        try:
            for subscribers in map(int, args.subscribers.split(",")):
                for fan_out in (True, False):
                    print(f"bench_fanout: {subscribers} subscribers, {'fan-out' if fan_out else 'in-process'} ...",
                          flush=True)
                    runs.append(bench.run(subscribers, fan_out))
        finally:
            bench.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "fanout.json").write_text(json.dumps(runs, indent=2))
    print(markdown_table(
        ["mode", "subscribers", "to last subscriber (s)", "achieved / configured", "duplicates", "task retries",
         "peak RSS MiB (max of deliver workers / scrape tick)", "CPU ms per message"],
        [[r["mode"], r["subscribers"], r["seconds_to_last_subscriber"], r["fraction_of_rate"], r["duplicates"],
          r["task_retries"], f"{max([v for k, v in r['peak_rss_mib'].items() if k != 'scrape tick'] or [0])} / "
          f"{r['peak_rss_mib']['scrape tick']}",
          ", ".join(f"{k} {v}" for k, v in r["cpu_ms_per_message"].items())] for r in runs]))


if __name__ == "__main__":
    main()
