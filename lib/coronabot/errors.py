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


# What a failed database call raises: DatabaseError, whichever client failed, or ValueError for a refused value.
DATABASE_ERRORS = (DatabaseError, ValueError)
