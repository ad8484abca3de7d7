"""Cloud Function `scrape`: Cloud Scheduler calls it to check the source and alert subscribers."""

import functions_framework

from coronabot.adapters.storage import load_admin_sdk
from coronabot.entry.http import json_response, limit_request_size
from coronabot.entry.scrape import handle_request

load_admin_sdk()  # every call needs the database
limit_request_size()


@functions_framework.http
def scrape(request):
    status, body = handle_request(request.method)
    return json_response(status, body)
