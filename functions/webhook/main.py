"""Cloud Function `webhook`: Telegram calls it with every update."""

import functions_framework

from coronabot.http_entry import json_response, limit_request_size
from coronabot.webhook import MAX_UPDATE_BYTES, handle_request

limit_request_size(MAX_UPDATE_BYTES)


@functions_framework.http
def webhook(request):
    status, body = handle_request(request.method, request.headers, lambda: request.stream, request.content_length)
    return json_response(status, body)
