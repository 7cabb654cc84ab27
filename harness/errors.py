"""One exception type for user-facing problems, so the CLI can print one clear line and exit."""


class HarnessError(Exception):
    """A problem the user can fix: the message names the file/line/field and what to do."""
