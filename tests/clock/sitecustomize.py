"""Moves a test process's wall clock when CORONABOT_TEST_CLOCK names a moment (ISO 8601 with its offset).

Put this folder on the process's PYTHONPATH: Python imports ``sitecustomize`` at start-up, before the
function's code. time-machine moves ``time.time()`` and ``datetime.now()`` and lets the clock tick from
there; monotonic time and sleeps stay real, so timeouts and waits behave (libfaketime hangs them).
"""

import os

if os.environ.get("CORONABOT_TEST_CLOCK"):
    import time_machine

    time_machine.travel(os.environ["CORONABOT_TEST_CLOCK"], tick=True).start()
