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


def root_row(rows):
    """The root user's row, or CredentialReportError when the report has none."""
    try:
        return rows[ROOT_USER]
    except KeyError:
        raise CredentialReportError(f"the report has no {ROOT_USER} row") from None
