"""Account recovery contacts: the ``alternate-contacts`` filter and ``set-alternate-contact`` action.

Both exist on ``aws.account`` (the account the policy runs in) and on ``aws.org-account`` (every
account of the organization, read from the management account or a delegated administrator with
trusted access for ``account.amazonaws.com``). For a member the calls pass ``AccountId``; for the
caller's own account they must not: botocore's model for Get/PutAlternateContact and
GetContactInformation says "The management account can't specify its own AccountId; it must call the
operation in standalone context by not including the AccountId parameter."
"""
import logging

from botocore.exceptions import BotoCoreError, ClientError
from c7n.exceptions import PolicyValidationError
from c7n.resources.account import Account
from c7n.resources.org import OrgAccount
from c7n.utils import type_schema

from rootguard_filters.plumbing.base import RootguardFilter, inactive_status
from rootguard_filters.decide.contacts import (
    CONTACT_TYPES, DEFAULT_REQUIRED, ContactsEvidence, decide_alternate_contacts, types_to_read)
from rootguard_filters.plumbing.evidence import RUN_CACHE, AccountEvidence, describe_error, guarded, retry
from rootguard_filters.verdict import not_applicable
from rootguard_filters.plumbing.addresses import UNEXPANDED, placeholder_email
from rootguard_filters.plumbing.writes import RecordedAction, WriteFailed

log = logging.getLogger("custodian.rootguard")

NOT_FOUND = "ResourceNotFoundException"

# ---- evidence ------------------------------------------------------------------------------------


def _call_label(operation, target_account, *params):
    shown = [*params, *([f"AccountId={target_account}"] if target_account else [])]
    return f"account:{operation}({', '.join(shown)})" if shown else f"account:{operation}"


def _not_found_is_none(call):
    """Run ``call``; ``ResourceNotFoundException`` means "not set" and reads as None."""
    def run():
        try:
            return call()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == NOT_FOUND:
                return None
            raise
    return run


def _account_params(target_account):
    return {"AccountId": target_account} if target_account else {}


def alternate_contact(evidence, contact_type, target_account=None):
    """Evidence whose value is the ``AlternateContact`` structure, or None when that type is unset."""
    def fetch():
        client = evidence.client("account")
        params = {"AlternateContactType": contact_type, **_account_params(target_account)}
        return guarded(
            _call_label("GetAlternateContact", target_account, contact_type),
            _not_found_is_none(lambda: retry(client.get_alternate_contact, **params)["AlternateContact"]))
    key = (evidence.account_id, "account", "GetAlternateContact", contact_type, target_account)
    return RUN_CACHE.get(key, fetch)


def contact_information(evidence, target_account=None):
    """Evidence whose value is the ``GetContactInformation`` response, or None when there is none."""
    def fetch():
        client = evidence.client("account")
        params = _account_params(target_account)
        return guarded(
            _call_label("GetContactInformation", target_account),
            # ContactInformation is a required member: a response without it is unreadable, not "missing"
            _not_found_is_none(lambda: {"ContactInformation":
                                        retry(client.get_contact_information, **params)["ContactInformation"]}))
    key = (evidence.account_id, "account", "GetContactInformation", target_account)
    return RUN_CACHE.get(key, fetch)


def own_or_member(account_id, evidence):
    """``AccountId`` to pass for ``account_id``: None for the caller's own account."""
    return None if account_id == evidence.account_id else account_id


def read_contacts(evidence, contact_types, with_contact_information, target_account=None):
    """The :class:`ContactsEvidence` the options need, each call at most once per run."""
    contacts, errors = {}, {}
    for contact_type in contact_types:
        outcome = alternate_contact(evidence, contact_type, target_account)
        if outcome.ok:
            contacts[contact_type] = outcome.value
        else:
            errors[contact_type] = outcome.error
    info = info_error = None
    if with_contact_information:
        outcome = contact_information(evidence, target_account)
        info, info_error = outcome.value, outcome.error
    return ContactsEvidence(contacts, errors, info, info_error)


# ---- filter --------------------------------------------------------------------------------------

REQUIRED_OPTION = {
    "type": "array", "uniqueItems": True, "items": {"enum": list(CONTACT_TYPES)},
    "description": "Alternate contact types that must be set (default SECURITY, OPERATIONS)."}
FILTER_SCHEMA = type_schema(
    "alternate-contacts",
    **{
        "distinct-emails": {
            "type": "boolean",
            "description": "Flag the account when two set alternate contacts share an email address "
                           "(case-insensitive); reads all three types."},
        "contact-information": {
            "type": "boolean",
            "description": "Flag the account when its primary contact information is missing."},
    },
)
# Added after the fact: type_schema's own ``required`` parameter (the schema's required keys)
# would swallow an option of that name.
FILTER_SCHEMA["properties"]["required"] = REQUIRED_OPTION


class AlternateContactsBase(RootguardFilter):
    """Shared logic; subclasses say which account a resource is (None: the caller's own)."""

    schema = FILTER_SCHEMA
    schema_alias = False
    permissions = ("account:GetAlternateContact",)

    def get_permissions(self):
        if self.data.get("contact-information"):
            return [*self.permissions, "account:GetContactInformation"]
        return list(self.permissions)

    def target_account(self, resource, evidence):
        raise NotImplementedError

    def verdict(self, resource):
        evidence = AccountEvidence(self.manager)
        target = self.target_account(resource, evidence)
        required = self.data.get("required", list(DEFAULT_REQUIRED))
        distinct = self.data.get("distinct-emails", False)
        with_info = self.data.get("contact-information", False)
        contacts = read_contacts(evidence, types_to_read(required, distinct), with_info, target)
        return decide_alternate_contacts(contacts, required, distinct, with_info,
                                         account_id=target or evidence.account_id)


@Account.filter_registry.register("alternate-contacts")
class AccountAlternateContacts(AlternateContactsBase):
    """Flags the account when a required alternate contact is unset, two contacts share a mailbox,
    or (``contact-information: true``) its primary contact information is missing.

    ``required`` lists the types that must be set (SECURITY, OPERATIONS, BILLING; default SECURITY
    and OPERATIONS). ``GetAlternateContact`` answering ``ResourceNotFoundException`` means unset;
    any other error (AccessDenied, throttling that persists) flags the account as
    could-not-evaluate naming the call, never compliant. The annotation
    ``c7n:rootguard.alternate-contacts`` lists the set contacts (type -> email), the missing ones and
    duplicated emails.

    :example:

    .. code-block:: yaml

        policies:
          - name: alternate-contacts-missing
            resource: aws.account
            filters:
              - type: alternate-contacts
                required: [SECURITY, OPERATIONS]
                distinct-emails: true
                contact-information: true
    """

    def target_account(self, resource, evidence):
        return None


@OrgAccount.filter_registry.register("alternate-contacts")
class OrgAccountAlternateContacts(AlternateContactsBase):
    """Flags each organization account whose required alternate contacts are unset, share a mailbox,
    or (``contact-information: true``) whose primary contact information is missing.

    Run from the management account (or a delegated administrator) with trusted access for
    ``account.amazonaws.com``: member accounts are read with ``AccountId``, the caller's own account
    without it (AWS rejects a management account naming itself). Options and annotation as for the
    ``aws.account`` filter of the same name.

    :example:

    .. code-block:: yaml

        policies:
          - name: org-alternate-contacts-missing
            resource: aws.org-account
            filters:
              - type: alternate-contacts
                required: [SECURITY, OPERATIONS, BILLING]
    """

    def target_account(self, resource, evidence):
        return own_or_member(resource["Id"], evidence)

    def verdict(self, resource):
        status = inactive_status(resource)
        if status:
            return not_applicable(f"account {resource['Id']} is {status}, not active")
        return super().verdict(resource)


# ---- action --------------------------------------------------------------------------------------

# Shapes from botocore's account model (PutAlternateContactRequest); anchored, without the
# surrounding whitespace the model tolerates.
CONTACT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "title", "email", "phone"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
        "title": {"type": "string", "minLength": 1, "maxLength": 50},
        "email": {"type": "string", "maxLength": 254,
                  "pattern": r"^([\w+=.#|!&-]+@[\w.-]+\.\w+|\{[A-Za-z_][A-Za-z0-9_]*\})$"},
        "phone": {"type": "string", "maxLength": 25,
                  "pattern": r"^([\s0-9()+-]+|\{[A-Za-z_][A-Za-z0-9_]*\})$"},
    },
}
API_FIELDS = {"name": "Name", "title": "Title", "email": "EmailAddress", "phone": "PhoneNumber"}


def desired_contact(values):
    """The policy's contact as the API spells it."""
    return {API_FIELDS[k]: v for k, v in values.items()}


def contact_differs(current, desired):
    """True when the account's contact (None: unset) is not already the desired one."""
    if not current:
        return True
    return any(
        (current.get(f) or "").strip().casefold() != v.strip().casefold() if f == "EmailAddress"
        else current.get(f) != v
        for f, v in desired.items())


class SetAlternateContactBase(RecordedAction):
    """Shared logic; subclasses say which account a resource is (None: the caller's own)."""

    schema = type_schema(
        "set-alternate-contact",
        required=["contacts"],
        contacts={
            "type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {t: CONTACT_SCHEMA for t in CONTACT_TYPES},
        },
    )
    schema_alias = False
    permissions = ("account:GetAlternateContact", "account:PutAlternateContact")

    def validate(self):
        for contact_type, values in self.data.get("contacts", {}).items():
            email = values.get("email", "")
            if placeholder_email(email):
                raise PolicyValidationError(
                    f"{self.type}: contacts.{contact_type}.email {email!r} is a placeholder "
                    f"(reserved example domain): set the real {contact_type} contact")
        return self

    def target_account(self, resource, evidence):
        raise NotImplementedError

    def skip_reason(self, resource):
        return None

    def process(self, resources):
        evidence = AccountEvidence(self.manager)
        journal = self.write_log(evidence.account_id)
        unset = sorted(f"contacts.{t}.{k}" for t, values in self.data["contacts"].items()
                       for k, v in values.items() if UNEXPANDED.match(str(v)))
        for resource in resources:
            target = self.target_account(resource, evidence)
            account = target or evidence.account_id
            if unset:
                journal.note([resource], account, "skipped",
                             f"{', '.join(unset)} not set: pass the policy variables (--vars-file)")
                continue
            reason = self.skip_reason(resource)
            if reason:
                journal.note([resource], account, "skipped", reason)
                continue
            try:
                self.set_contacts(evidence, target, [resource], journal)
            except (ClientError, BotoCoreError) as error:   # one account never stops the others
                message, _ = describe_error(_call_label("PutAlternateContact", target), error)
                journal.note([resource], account, "failed", message)
        return journal.records

    def set_contacts(self, evidence, target, resources, journal):
        """Write each configured contact type that is unset or differs from the policy's values."""
        account = target or evidence.account_id
        client = None
        for contact_type in CONTACT_TYPES:
            if contact_type not in self.data["contacts"]:
                continue
            desired = desired_contact(self.data["contacts"][contact_type])
            # Compare first: never write what is already there (and never write blind).
            current = alternate_contact(evidence, contact_type, target)
            if not current.ok:
                journal.note(resources, account, "failed",
                             f"{contact_type} not compared, so not written: {current.error}",
                             target=contact_type)
                continue
            if not contact_differs(current.value, desired):
                journal.note(resources, account, "unchanged", f"{contact_type} already as configured",
                             target=contact_type)
                continue
            client = client or evidence.client("account")
            was = (current.value or {}).get("EmailAddress")
            try:
                journal.write(resources, account, _call_label("PutAlternateContact", target, contact_type),
                              contact_type,
                              f"set {contact_type} to {desired['EmailAddress']} (was {was or 'unset'})",
                              client.put_alternate_contact, AlternateContactType=contact_type,
                              **desired, **_account_params(target))
            except WriteFailed:
                continue   # recorded; the other contact types are independent writes


@Account.action_registry.register("set-alternate-contact")
class AccountSetAlternateContact(SetAlternateContactBase):
    """Sets the account's alternate contacts to the values in the policy, writing only the types
    that are unset or differ from them (a second run writes nothing; types not listed are never
    touched).

    Each type under ``contacts`` (SECURITY, OPERATIONS, BILLING) needs ``name``, ``title``,
    ``email`` and ``phone``; values may be policy variables (``"{security_email}"``, given with
    ``--vars-file``), and an address at a reserved example domain (example.com, ``*.invalid``...)
    fails validation. Every write and decision is a record under ``c7n:rootguard-actions`` and in
    the ``action-*`` file; ``--dryrun`` records the writes it would make. A read or write error is
    recorded for that account and contact type; the others go on.

    :example:

    .. code-block:: yaml

        policies:
          - name: set-alternate-contacts
            resource: aws.account
            filters:
              - type: alternate-contacts
            actions:
              - type: set-alternate-contact
                contacts:
                  SECURITY: {name: Security Team, title: CISO, email: "{security_email}",
                             phone: "+1 555 0100"}
                  OPERATIONS: {name: Ops Team, title: SRE lead, email: "{ops_email}",
                               phone: "+1 555 0101"}
    """

    def target_account(self, resource, evidence):
        return None


@OrgAccount.action_registry.register("set-alternate-contact")
class OrgAccountSetAlternateContact(SetAlternateContactBase):
    """Sets each organization account's alternate contacts to the values in the policy from the
    management account (``AccountId`` for members), writing only those that are unset or differ.
    Suspended and closing accounts are skipped, as the filter does.

    Options and records as for the ``aws.account`` action of the same name.

    :example:

    .. code-block:: yaml

        policies:
          - name: org-set-alternate-contacts
            resource: aws.org-account
            filters:
              - type: alternate-contacts
            actions:
              - type: set-alternate-contact
                contacts:
                  SECURITY: {name: Security Team, title: CISO, email: "{security_email}",
                             phone: "+1 555 0100"}
    """

    def target_account(self, resource, evidence):
        return own_or_member(resource["Id"], evidence)

    def skip_reason(self, resource):
        status = inactive_status(resource)
        return f"account {resource['Id']} is {status}, not active: not written" if status else None
