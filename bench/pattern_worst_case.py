"""Time the root-usage pattern decision (judge_root_usage_pattern) on the worst inputs built so far.

    .venv/bin/python bench/pattern_worst_case.py [--random N] [--json bench/pattern_worst_case.json]

Families, each grown up to CloudWatch's 1,024-character limit: the issue's OR of distinct fields
(2-3x per clause before the per-field memo), AND of ORs over distinct fields, same-field choices
(the tableau cannot cut them per field), many exclusions, nested alternations, and N random
patterns of up to 1,024 characters from the grammar. Pure decision time, one process, the memo of
judgements cleared before each; the deadline (5 s by default) would make any longer case undecided.
"""
import argparse
import json
import random
import time

from rootguard_filters.logic import root_usage
from rootguard_filters.logic.root_usage import DEFAULT_DEADLINE_SECONDS, judge_root_usage_pattern

CIS = ('$.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
       '&& $.eventType != "AwsServiceEvent"')


def grow(build, limit=1024):
    """The largest pattern of the family under ``limit`` characters (by clause count)."""
    n, best = 1, build(1)
    while n < 1000 and len(build(n + 1)) <= limit:
        n += 1
        best = build(n)
    return n, best


FAMILIES = {
    "or-of-distinct-fields (issue)": lambda n: "{ " + " || ".join(f"$.f{i} = {i}" for i in range(n))
    + ' || $.userIdentity.type = "Ro*" }',
    "and-of-ors, distinct fields": lambda n: "{ (" + CIS + ") || (" + " && ".join(
        f"($.a{i} = {i} || $.b{i} != {i})" for i in range(n)) + ") }",
    "same-field choices": lambda n: "{ (" + CIS + ") || (" + " && ".join(
        f'($.eventName = "*a{i}*" || $.eventName = "*b{i}*")' for i in range(n)) + ") }",
    "same-field choices, not covering": lambda n: "{ " + CIS + " && (" + " && ".join(
        f'($.eventName = "*a{i}*" || $.eventName = "*b{i}*")' for i in range(n)) + ") }",
    "many exclusions": lambda n: "{ " + CIS + " && (" + " || ".join(
        f'$.eventName != "E{i}"' for i in range(n)) + ") }",
    "fillers and exclusions": lambda n: "{ " + CIS + " && (" + " || ".join(
        f'$.awsRegion != "*{c}{i}*"' for i in range(n) for c in "~^`!|") + ") }",
    "nested alternation (48 deep at most)": lambda n: "{ " + CIS + " && " + "(" * n + "$.eventName = *" + "".join(
        f" || $.x{i} = 1)" for i in range(n)) + " }" if n <= 48 else "x" * 2000,
    "numbers: intervals and holes": lambda n: "{ (" + CIS + ") && (" + " || ".join(
        f"($.n > {i} && $.n < {i + 1} && $.n != {i}.5)" for i in range(n)) + " || $.n NOT EXISTS) }",
}

PATHS = ("$.eventName", "$.eventType", "$.awsRegion", "$.userIdentity.type", "$.userIdentity.invokedBy",
         "$.recipientAccountId", "$.a", "$.a.b", "$.a[0]", "$.a[1]", "$.n", "$.userIdentity.arn")
VALUES = ('"Root"', '"*~*"', '"*^*"', '"x*"', '"*x"', '"*"', "1", "5", '"AwsApiCall"', '"us-*"', '""', "-2.5")


def random_pattern(rng, limit=1024):
    def atom():
        path = rng.choice(PATHS)
        roll = rng.random()
        if roll < 0.15:
            return f"{path} {rng.choice(('IS NULL', 'NOT EXISTS', 'IS TRUE', 'IS FALSE'))}"
        if roll < 0.3:
            return f"{path} {rng.choice(('<', '>', '<=', '>='))} {rng.choice(('0', '1', '5'))}"
        return f"{path} {rng.choice(('=', '!=', '!='))} {rng.choice(VALUES)}"

    def node(depth):
        if depth == 0 or rng.random() < 0.3:
            return atom()
        joiner = rng.choice((" && ", " || "))
        return "(" + joiner.join(node(depth - 1) for _ in range(rng.randint(2, 4))) + ")"
    while True:
        body = node(4)
        if rng.random() < 0.5:
            body = f"{CIS} && {body}" if rng.random() < 0.5 else f"({CIS}) || {body}"
        pattern = "{ " + body + " }"
        if len(pattern) <= limit:
            return pattern


def timed(pattern):
    root_usage._judge.cache_clear()
    started = time.perf_counter()
    judgement = judge_root_usage_pattern(pattern)
    return time.perf_counter() - started, judgement.status


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--random", type=int, default=300)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    for name, build in FAMILIES.items():
        n, pattern = grow(build)
        seconds, status = timed(pattern)
        rows.append({"family": name, "clauses": n, "chars": len(pattern), "seconds": round(seconds, 4),
                     "verdict": status})
        print(f"{name:40} {n:4} clauses {len(pattern):5} chars {seconds:8.4f} s  {status}")
    rng = random.Random(21)
    times = []
    for _ in range(args.random):
        pattern = random_pattern(rng)
        seconds, status = timed(pattern)
        times.append((seconds, len(pattern), status))
    times.sort()
    if times:
        worst = times[-1]
        median = times[len(times) // 2][0]
        print(f"random x{len(times):<5} median {median:.4f} s, worst {worst[0]:.4f} s ({worst[1]} chars, {worst[2]})")
        rows.append({"family": f"random grammar patterns x{len(times)} (seed 21)", "median_seconds": round(median, 4),
                     "worst_seconds": round(worst[0], 4), "worst_chars": worst[1], "worst_verdict": worst[2]})
    worst_all = max([r.get("seconds", r.get("worst_seconds")) for r in rows])
    print(f"worst measured: {worst_all:.4f} s (deadline {DEFAULT_DEADLINE_SECONDS:g} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"deadline_seconds": DEFAULT_DEADLINE_SECONDS, "worst_seconds": worst_all, "rows": rows},
                      out, indent=1)
            out.write("\n")


if __name__ == "__main__":
    main()
