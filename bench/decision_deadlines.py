"""The worst inputs we could build for the SCP-union and alarm decisions, timed against their deadline.

    .venv/bin/python bench/decision_deadlines.py [--seconds 5] [--json bench/decision_deadlines.json]

Each SCP case is decided by decide_coverage with its default time limit (DECISION_SECONDS, the
root-scp filter's ``decision-seconds``); a case past the limit must come back undecided ("not
decided within ..."), never covered, and the wall time must stay near the limit. The alarm decision
(alarm_fire_problem) is arithmetic over one alarm; its worst case is many dimensions.
"""
import argparse
import json
import string
import time

from rootguard_filters.decide.alarm_chain import FORCED_DIMENSION_VALUES, alarm_fire_problem
from rootguard_filters.decide.scp_coverage import DECISION_SECONDS, decide_coverage, deny_statements
from rootguard_filters.logic.iam_policy import parse_policy

ACCOUNT = "111111111111"
ROOT_ONLY = {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}
LETTERS = string.ascii_lowercase


def deny(**parts):
    return {"Effect": "Deny", "Action": "*", "Resource": "*", **parts}


def scp_cases():
    wild = [f"*{LETTERS[n % 26]}*{LETTERS[(n * 7 + 3) % 26]}*{LETTERS[(n * 11 + 5) % 26]}*" for n in range(40)]
    yield "40 Resource patterns with three wildcards each", [
        deny(Resource=[f"arn:aws:s3:::{w}" for w in wild[i:i + 4]], Condition=ROOT_ONLY) for i in range(0, 40, 4)]
    yield "12 statements x 4 Like region patterns (complements)", [
        deny(Condition={**ROOT_ONLY, op: {"aws:RequestedRegion": [f"*{a}?{b}*" for b in "mnop"]}})
        for a in "abcdef" for op in ("StringLike", "StringNotLike")]
    yield "8 free keys x 6 values (combinations past the limit)", [
        deny(Condition={**ROOT_ONLY, "StringNotEquals": {f"aws:ResourceTag/k{k}": [f"v{v}" for v in range(6)]}})
        for k in range(8)]
    yield "30 NotAction groups of wildcard actions", [
        {"Effect": "Deny", "NotAction": [f"{a}*:*{b}*", f"*{b}:{a}*"], "Resource": "*", "Condition": ROOT_ONLY}
        for a, b in zip(LETTERS[:30], LETTERS[::-1][:30])]
    yield "AWS reference SCP (the common case)", [
        deny(Condition={**ROOT_ONLY, "Null": {"aws:AssumedRoot": "true"}})]


def alarm_case():
    dimensions = {f"D{n}": "$.userIdentity.type" for n in range(30)}
    alarm = {"AlarmName": "root", "ActionsEnabled": True, "MetricName": "m", "Namespace": "n", "Statistic": "Sum",
             "Dimensions": [{"Name": d, "Value": "Root"} for d in dimensions], "Period": 300,
             "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
             "TreatMissingData": "notBreaching"}
    return alarm, {"metricName": "m", "metricNamespace": "n", "metricValue": "1", "defaultValue": 0,
                   "dimensions": dimensions}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=DECISION_SECONDS)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows = []
    for name, statements in scp_cases():
        denies, _ = deny_statements(parse_policy({"Statement": statements}), "p")
        start = time.perf_counter()
        coverage = decide_coverage(denies, ACCOUNT, required=("*",), seconds=args.seconds)
        elapsed = time.perf_counter() - start
        rows.append({"decision": "scp-union", "case": name, "limit_s": args.seconds, "seconds": round(elapsed, 3),
                     "status": coverage.status, "reason": coverage.reason[:120]})
    alarm, transformation = alarm_case()
    start = time.perf_counter()
    for _ in range(1000):
        alarm_fire_problem(alarm, transformation, FORCED_DIMENSION_VALUES)
    rows.append({"decision": "alarm-fires", "case": "30 dimensions, defaultValue, x1000",
                 "seconds_each": round((time.perf_counter() - start) / 1000, 6)})
    for row in rows:
        print(json.dumps(row))
    worst = max(r["seconds"] for r in rows if "seconds" in r)
    print(f"worst SCP decision: {worst:.3f} s against a {args.seconds:g} s limit")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"rows": rows, "worst_scp_seconds": worst}, out, indent=1)


if __name__ == "__main__":
    main()
