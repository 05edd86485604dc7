"""Organizations reads shared by the organization controls: one walk of the organization per run.

``OrgReader`` reads from the caller's account (the management account or a delegated
administrator); ``org_snapshot`` builds the run's :class:`OrgSnapshot` once. The controls live in
``root_scp.py``, ``centralized_root.py`` and ``member_root.py``.
"""
import logging
from collections import deque

from rootguard_filters.decide.scp import OrgSnapshot
from rootguard_filters.plumbing.evidence import RUN_CACHE, AccountEvidence, Evidence, guarded, retry

log = logging.getLogger("custodian.rootguard")

ACTIONS_KEY = "c7n:rootguard-actions"
SCP = "SERVICE_CONTROL_POLICY"
ORG_READ_PERMISSIONS = (
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListPolicies",
    "organizations:DescribePolicy",
    "organizations:ListTargetsForPolicy",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
)


class ReadFailed(Exception):
    """An AWS read failed; ``str()`` names the call and the error."""

    def __init__(self, evidence):
        super().__init__(evidence.error)
        self.code = evidence.error_code


def annotate_action(resource, record):
    resource.setdefault(ACTIONS_KEY, []).append(record)


# --------------------------------------------------------------------------- Organizations reads

class OrgReader:
    """Organizations reads from the caller's account.

    ``cached`` reads go through RUN_CACHE (one call per run however many filters ask); actions read
    uncached so they compare against the state as it is when they write.
    """

    def __init__(self, manager, cached=True):
        self.manager = manager
        self.evidence = AccountEvidence(manager)
        self.cached = cached
        self._client = None

    def session(self):
        # aws.org-account may name an org-access-role in its query: use the session it builds.
        org_session = getattr(self.manager, "get_org_session", None)
        return org_session() if org_session else self.evidence.session()

    @property
    def client(self):
        if self._client is None:
            self._client = self.session().client("organizations", region_name=self.evidence.region)
        return self._client

    def read(self, operation, params, call):
        """Value of one read; :class:`ReadFailed` naming the call when it failed."""
        def fetch():
            return guarded(f"organizations:{operation}", lambda: retry(call))
        key = (self.evidence.account_id, "organizations", operation, *params)
        outcome = RUN_CACHE.get(key, fetch) if self.cached else fetch()
        if not outcome.ok:
            raise ReadFailed(outcome)
        return outcome.value

    def pages(self, operation, method, result_key, **params):
        """Every item of a paginated read."""
        def call():
            items = []
            for page in self.client.get_paginator(method).paginate(**params):
                # always in a real answer: a page without it is unreadable, not "none"
                items.extend(page[result_key])
            return items
        return self.read(operation, tuple(sorted(params.items())), call)

    def organization(self):
        return self.read("DescribeOrganization", (),
                         lambda: self.client.describe_organization()["Organization"])

    def root(self):
        roots = self.pages("ListRoots", "list_roots", "Roots")
        if not roots:
            raise ReadFailed(Evidence.failure("organizations:ListRoots returned no root", "NoRoot"))
        return roots[0]

    def snapshot(self):
        """One walk of the organization: policies, their targets and the OU tree, as an OrgSnapshot.

        Costs 3 + 2 × SCPs + (OUs + 1) × pages calls, independent of the accounts' depth.
        """
        organization = self.organization()
        root = self.root()
        policies, targets_of = {}, {}
        for summary in self.pages("ListPolicies", "list_policies", "Policies", Filter=SCP):
            policy_id = summary["Id"]
            described = self.read("DescribePolicy", (policy_id,),
                                  lambda p=policy_id: self.client.describe_policy(PolicyId=p)["Policy"])
            policies[policy_id] = {"Name": summary.get("Name"), "Arn": summary.get("Arn"),
                                   "Content": described.get("Content")}
            targets_of[policy_id] = [t["TargetId"] for t in self.pages(
                "ListTargetsForPolicy", "list_targets_for_policy", "Targets", PolicyId=policy_id)]
        parent_of, accounts, ou_names = {}, {}, {}
        parents = deque([root["Id"]])
        while parents:
            parent = parents.popleft()
            for ou in self.pages("ListOrganizationalUnitsForParent",
                                 "list_organizational_units_for_parent",
                                 "OrganizationalUnits", ParentId=parent):
                parent_of[ou["Id"]] = parent
                ou_names[ou["Id"]] = ou.get("Name")
                parents.append(ou["Id"])
            for account in self.pages("ListAccountsForParent", "list_accounts_for_parent",
                                      "Accounts", ParentId=parent):
                parent_of[account["Id"]] = parent
                accounts[account["Id"]] = {"Status": account.get("Status"),
                                           "Name": account.get("Name")}
        return OrgSnapshot(
            management_account_id=organization.get("MasterAccountId"),
            root_id=root["Id"],
            scp_enabled=OrgSnapshot.scp_enabled_from_root(root),
            parent_of=parent_of, accounts=accounts, policies=policies,
            targets_of=targets_of, ou_names=ou_names, partition=self.evidence.partition,
            organization_id=organization.get("Id"))


def org_snapshot(manager):
    """The run's OrgSnapshot as Evidence (built once per caller account), or the failed read."""
    reader = OrgReader(manager)

    def build():
        try:
            return Evidence(value=reader.snapshot())
        except ReadFailed as failure:
            return Evidence.failure(str(failure), failure.code)
    return RUN_CACHE.get((reader.evidence.account_id, "organizations", "OrgSnapshot"), build)


STALE_FIX = ("re-run with --cache-period 0: c7n reused its cached aws.org-account list "
             "(kept for --cache-period minutes, default 15)")
_stale_logged = set()


def stale_resource_ids(flt, resources):
    """Ids of ``resources`` the organization no longer has, logging a stale resource list once per run.

    c7n caches the aws.org-account list; after the organization changes a re-run within the cache
    period evaluates accounts that left and misses members that joined. Compared with the run's own
    walk of the organization (which the filter needs anyway). Members the list lacks are only reported
    when the filter is the policy's first (an earlier filter may have narrowed the list on purpose).
    """
    snapshot = org_snapshot(flt.manager)
    if not snapshot.ok:
        return set()
    members = set(snapshot.value.accounts)
    listed = {str(r.get("Id")) for r in resources if r.get("Id")}
    gone = listed - members
    first = bool(getattr(flt.manager, "filters", None)) and flt.manager.filters[0] is flt
    lacking = (members - listed) if first else set()
    key = (getattr(flt.manager, "data", {}).get("name"), tuple(sorted(gone)), tuple(sorted(lacking)))
    if (gone or lacking) and key not in _stale_logged:
        _stale_logged.add(key)
        parts = []
        if gone:
            parts.append(f"{len(gone)} account(s) no longer in the organization ({', '.join(sorted(gone))})")
        if lacking:
            parts.append(f"{len(lacking)} member(s) missing from it ({', '.join(sorted(lacking))})")
        log.warning("rootguard: policy %s: STALE aws.org-account resource list: %s; %s",
                    key[0], " and ".join(parts), STALE_FIX)
    return gone

