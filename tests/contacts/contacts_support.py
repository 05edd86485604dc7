"""Helpers shared by the contacts tests (plain functions; fixtures live in conftest.py)."""

ACCOUNT = "123456789012"          # moto's default account: the caller


def contacts_policy(resource="aws.account", **options):
    return {"name": "contacts", "resource": resource,
            "filters": [{"type": "alternate-contacts", **options}]}


def put_contact(session, contact_type, email, account_id=None):
    """Set an alternate contact in moto (``account_id`` for a member, from the management account)."""
    extra = {"AccountId": account_id} if account_id else {}
    session.client("account").put_alternate_contact(
        AlternateContactType=contact_type, Name=f"{contact_type.title()} Team", Title="Lead",
        EmailAddress=email, PhoneNumber="+1 206 555 0100", **extra)


def verdict_of(resource, name="alternate-contacts"):
    return resource["c7n:rootguard"][name]
