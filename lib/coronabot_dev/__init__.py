"""Development tools of the bot: the whole bot on one machine (``make run``, ``make serve``) and the offline
demo (``make demo``). They run the product's own code; they are never vendored into a function."""
