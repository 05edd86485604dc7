"""What every rootguard filter shares: verdict → match, annotation, and the verdict file.

A filter's ``verdict(resource)`` fetches evidence and calls a pure ``decide`` function. The base class
flags the resource when the verdict is non-compliant or could-not-evaluate (an unknown stays visible
in ``resources.json``, never silently compliant), annotates it under ``c7n:rootguard``, logs a warning
for could-not-evaluate, and writes every verdict — flagged or not — to ``rootguard-verdicts.json``
beside the policy's ``resources.json`` so the report can tell compliant from not-applicable. The file
names the policy run that wrote it (c7n's execution id and start time, as in ``metadata.json``): c7n
rewrites ``metadata.json`` on every run but leaves an earlier run's other files in a reused output
directory, so a verdict file whose run is not the latest is stale and the report ignores it.
Options are checked against the class's schema at run time too (``options.py``: c7n-org does not
validate): an invalid option makes every resource could-not-evaluate, naming the option.
"""
import json
import logging

from c7n.filters import Filter

from rootguard_filters.plumbing.options import logged_unknowns, option_problem, report_once
from rootguard_filters.verdict import COULD_NOT_EVALUATE, could_not_evaluate

log = logging.getLogger("custodian.rootguard")

ANNOTATION_KEY = "c7n:rootguard"
VERDICTS_FILE = "rootguard-verdicts.json"


def inactive_status(org_account):
    """An aws.org-account resource's status when it is not ACTIVE (SUSPENDED, PENDING_CLOSURE), else None."""
    status = str(org_account.get("Status") or "ACTIVE").upper()
    return None if status == "ACTIVE" else status


def record_verdict(manager, resource_id, filter_name, verdict, name=None):
    """Keep the verdict (and the resource's Name, e.g. an organization member's) for the verdict file."""
    ctx = getattr(manager, "ctx", None)
    if getattr(ctx, "output", None) is None:
        return
    verdicts = ctx.__dict__.setdefault("_rootguard_verdicts", {})
    verdicts.setdefault(str(resource_id), {})[filter_name] = verdict.as_dict()
    if name:
        ctx.__dict__.setdefault("_rootguard_names", {})[str(resource_id)] = str(name)


def write_verdicts(manager):
    """Write the policy's verdicts so far, through c7n's output handler (once per filter pass)."""
    ctx = getattr(manager, "ctx", None)
    output = getattr(ctx, "output", None)
    verdicts = getattr(ctx, "_rootguard_verdicts", None) if ctx is not None else None
    if output is None or verdicts is None:
        return
    document = {"policy": getattr(ctx.policy, "name", None),
                # the run that wrote the file (metadata.json's execution id / start of the same run)
                "execution_id": getattr(ctx, "execution_id", None),
                "execution_start": getattr(ctx, "start_time", None),
                "verdicts": verdicts}
    names = getattr(ctx, "_rootguard_names", None)
    if names:   # lets the report put a member's row under its c7n-org name when no metadata names its id
        document["names"] = names
    output.write_file(VERDICTS_FILE, json.dumps(document, indent=2, default=str))


class RootguardFilter(Filter):
    """Base class: subclasses implement ``verdict(resource) -> Verdict``."""

    def verdict(self, resource):
        raise NotImplementedError

    def resource_id(self, resource):
        return resource.get(self.manager.resource_type.id) or resource.get("account_id") or resource.get("Id")

    def process(self, resources, event=None):
        flagged = []
        problem = option_problem(self)
        if problem:
            report_once(self, problem, f"{len(resources)} resource(s) could not be evaluated")
        for resource in resources:
            try:
                verdict = could_not_evaluate(f"{self.type}: {problem}") if problem else self.verdict(resource)
            except Exception as error:  # one broken evaluation must not stop the run
                log.exception("rootguard: %s failed", self.type)
                verdict = could_not_evaluate(f"{self.type} failed: {type(error).__name__}: {error}")
            resource.setdefault(ANNOTATION_KEY, {})[self.type] = verdict.as_dict()
            record_verdict(self.manager, self.resource_id(resource), self.type, verdict, resource.get("Name"))
            if verdict.status == COULD_NOT_EVALUATE and not problem:
                cause = (str(self.resource_id(resource)), verdict.reason)
                log.log(logging.DEBUG if cause in logged_unknowns else logging.WARNING,
                        "rootguard: policy %s, %s, %s: could not evaluate: %s",
                        getattr(self.manager.data, "get", lambda k: None)("name"),
                        self.resource_id(resource), self.type, verdict.reason)
                logged_unknowns.add(cause)
            if verdict.flagged:
                flagged.append(resource)
        write_verdicts(self.manager)
        return flagged
