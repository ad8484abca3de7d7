"""The floor of a cold start: a functions-framework function that imports nothing and answers 200."""

import functions_framework


@functions_framework.http
def hello(request):
    return "ok"
