"""Cloud Function `webhook`: Telegram calls it with every update."""

import functions_framework

from coronabot.webhook import handle_request


@functions_framework.http
def webhook(request):
    status, body = handle_request(request.method, request.headers, request.stream, request.content_length)
    return body, status
