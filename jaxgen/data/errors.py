"""Errors in a user's data (a file that is not what it claims to be), reported in one line."""


class DataError(ValueError):
    """A data file or dataset that cannot be used: checksum mismatch, bad header, wrong contents."""
