"""Cloud Function `deliver`: Cloud Tasks calls it with one chunk of a fanned-out broadcast."""

import functions_framework

from coronabot.adapters.storage import load_admin_sdk
from coronabot.entry.deliver import handle_request
from coronabot.entry.http import json_response, limit_request_size

load_admin_sdk()  # every call needs the database
limit_request_size(64 * 1024)


@functions_framework.http
def deliver(request):
    status, body = handle_request(request.method, request.get_data(cache=False), request.headers)
    return json_response(status, body)
