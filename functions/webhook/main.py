"""Cloud Function `webhook`: Telegram calls it with every update."""

import gc

# A cold start only loads modules, whose objects live as long as the instance: collecting garbage while
# they load is wasted time (a full collection cost about 24 ms here), so it waits until they are loaded
# and then leaves them out of every later collection.
gc.disable()

import functions_framework  # noqa: E402  (after gc.disable)

from coronabot.entry.http import json_response, limit_request_size  # noqa: E402
from coronabot.entry.webhook import MAX_UPDATE_BYTES, handle_request, warm_up  # noqa: E402

limit_request_size(MAX_UPDATE_BYTES)
gc.freeze()
gc.enable()
warm_up()  # the database's token and connections, on a background thread: the first update finds them ready


@functions_framework.http
def webhook(request):
    status, body = handle_request(request.method, request.headers, lambda: request.stream, request.content_length)
    return json_response(status, body)
