"""The database's failures, where both the I/O (``storage``, ``_rtdb``) and the code that answers for them
(``failures``, the bot, the tick) can import them without loading a database client."""

from __future__ import annotations


class DatabaseError(Exception):
    """A database request failed: refused, unreachable, or a transaction that kept conflicting. Raised for
    firebase-admin's ``FirebaseError`` (its cause); the REST client's ``RequestError`` is one."""


class Busy(Exception):
    """Another live run holds the lease of the work."""


class AlreadyDone(Exception):
    """The work was completed by an earlier run."""


# What a failed database call raises, whichever client failed. Nothing else: a ValueError (a value a client
# refused, a bug in a text) is no database outage, and is logged and answered as the unexpected error it is.
DATABASE_ERRORS = (DatabaseError,)
