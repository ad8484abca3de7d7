"""Cloud Function `scrape`: Cloud Scheduler calls it to check the source and alert subscribers."""

import functions_framework

from coronabot.scrape import handle_request


@functions_framework.http
def scrape(request):
    status, body = handle_request(request.method)
    return body, status
