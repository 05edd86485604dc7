"""Reading the IAM credential report as AWS writes it (pure: no boto3, no c7n).

The report is CSV with one row per IAM user and a first row for the root user, ``<root_account>``.
Values are strings: ISO-8601 dates, ``true``/``false``, ``N/A`` (does not apply), ``no_information``
(never used since tracking began) and, on the root row, ``not_supported``.
"""
import csv
import io
from datetime import datetime

ROOT_USER = "<root_account>"

REQUIRED_COLUMNS = (
    "user", "arn", "password_last_used", "mfa_active",
    "access_key_1_active", "access_key_1_last_used_date", "access_key_1_last_rotated",
    "access_key_2_active", "access_key_2_last_used_date", "access_key_2_last_rotated",
    "cert_1_active", "cert_2_active",
)

# Values that carry no date / no fact.
EMPTY_VALUES = frozenset({"", "n/a", "no_information", "not_supported"})


class CredentialReportError(ValueError):
    """The report cannot be read (not CSV, missing columns, malformed row)."""


def parse_credential_report(content):
    """Return ``{user: row}`` for a report's raw Content (bytes or str)."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CredentialReportError(f"not UTF-8 text: {error}") from None
    if not content or not content.strip():
        raise CredentialReportError("the report is empty")
    try:
        reader = csv.reader(io.StringIO(content))
        header = next(reader)
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise CredentialReportError(f"header lacks columns {', '.join(missing)}")
        rows = {}
        for number, line in enumerate(reader, start=2):
            if not line:
                continue
            if len(line) != len(header):
                raise CredentialReportError(
                    f"row {number} has {len(line)} fields, the header has {len(header)}")
            row = dict(zip(header, line))
            rows[row["user"]] = row
    except csv.Error as error:
        raise CredentialReportError(f"malformed CSV: {error}") from None
    return rows


def parse_flag(value):
    """``true``/``false`` (any case) → bool; anything else (``N/A``, ``not_supported``) → None."""
    lowered = (value or "").strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def parse_date(value):
    """An ISO-8601 report date → aware datetime; the report's placeholders → None.

    Raises CredentialReportError for a value that is neither a date nor a known placeholder.
    """
    text = (value or "").strip()
    if text.lower() in EMPTY_VALUES:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CredentialReportError(f"not a date: {value!r}") from None
    if parsed.tzinfo is None:
        raise CredentialReportError(f"date without a time zone: {value!r}")
    return parsed


# What IAM writes in the date fields a verdict reads, besides an ISO-8601 date: N/A (no such
# credential, or never used) and no_information (not used since IAM began tracking).
DATE_PLACEHOLDERS = frozenset({"n/a", "no_information"})


class FieldError(CredentialReportError):
    """One field of the root row holds a value IAM does not write there (blank, garbled)."""

    def __init__(self, field, value, expected):
        self.field, self.value = field, value
        shown = "blank" if not (value or "").strip() else f"{value!r}"
        super().__init__(f"credential report field {field} is {shown}, not {expected}")


def report_flag(row, field):
    """A ``*_active`` / ``mfa_active`` field: ``true``/``false`` (any case), else FieldError.

    Blank or unknown never reads as inactive: the caller decides what an unknown flag means.
    """
    value = row.get(field)
    lowered = (value or "").strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise FieldError(field, value, "true or false")


def report_date(row, field):
    """A date field: aware datetime, ``None`` for N/A / no_information, else FieldError.

    A blank value is not "never used": IAM always writes one of the placeholders.
    """
    value = row.get(field)
    text = (value or "").strip()
    if text.lower() in DATE_PLACEHOLDERS:
        return None
    try:
        return parse_date(text) if text.lower() not in EMPTY_VALUES else _raise()
    except CredentialReportError:
        raise FieldError(field, value, "an ISO-8601 date, N/A or no_information") from None


def _raise():
    raise CredentialReportError("placeholder where a date belongs")


def root_row(rows):
    """The root user's row, or CredentialReportError when the report has none."""
    try:
        return rows[ROOT_USER]
    except KeyError:
        raise CredentialReportError(f"the report has no {ROOT_USER} row") from None
