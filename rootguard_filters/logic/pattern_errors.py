"""The one error of the filter-pattern language, below every module that parses it."""


class FilterPatternError(ValueError):
    """A filter pattern CloudWatch Logs would reject; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int):
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position
