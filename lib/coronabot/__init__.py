"""coronabot: a Korean COVID-19 Telegram bot on Cloud Functions and Firebase Realtime Database.

The package is shared by the two Cloud Functions (``webhook`` and ``scrape``),
the operator command line (``python -m coronabot``) and the local runner.
Modules import only what they need, so the webhook stays quick to import.
"""

__version__ = "1.0.0"
