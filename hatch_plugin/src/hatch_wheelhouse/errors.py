class WheelhouseError(Exception):
    """A problem the user must fix; its message says what and how."""
