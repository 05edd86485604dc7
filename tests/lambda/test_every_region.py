"""Real-time alerts from every region: events made anywhere reach the home region's rules exactly once.

In moto (its EventBridge matches rule patterns on PutEvents and delivers to SQS and to another region's
bus): every stored event pattern of deploy/ and remediation/ becomes a rule in us-east-1 delivering to
its own SQS queue, as c7n would put it in front of its Lambda; every other region gets the forwarding
rule of deploy/forward-root-events.yml. The CloudTrail samples are put on the default bus of the
region where AWS records them (sign-in, IAM, Organizations: us-east-1; the rest: every region), and each
rule must receive exactly the events its pattern matches, each once; the root-activity rules together
exactly the must-alert samples.
"""
import json
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws
from moto.events.models import EventPattern

from rootguard_filters.deployment import forwarding

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "rootguard_filters" / "data" / "cloudtrail"
HOME = forwarding.HOME_REGION
OTHERS = ["eu-west-1", "ap-southeast-2", "sa-east-1"]
ACCOUNT = "123456789012"
# Recorded (and delivered to EventBridge) in us-east-1 only, wherever the caller is.
GLOBAL_SOURCES = {"signin.amazonaws.com", "iam.amazonaws.com", "organizations.amazonaws.com"}
DETAIL_TYPES = {"AwsApiCall": "AWS API Call via CloudTrail", "AwsConsoleAction": "AWS Console Action via CloudTrail",
                "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
                "AwsServiceEvent": "AWS Service Event via CloudTrail"}


def stored_template():
    return yaml.safe_load((REPO / forwarding.TEMPLATE).read_text())


def envelope(record, region, tag, detail_type=None, source=None):
    """The EventBridge event CloudTrail delivers for ``record`` in ``region`` (eventID made unique)."""
    detail = dict(record, awsRegion=region, eventID=f"{record.get('eventID', 'witness')}/{tag}/{region}")
    return {"Source": source or "aws." + detail["eventSource"].split(".")[0],
            "DetailType": detail_type or DETAIL_TYPES[detail.get("eventType", "AwsApiCall")],
            "Detail": json.dumps(detail), "EventBusName": "default"}


def regions_of(record):
    return [HOME] if record["eventSource"] in GLOBAL_SOURCES else [HOME, *OTHERS]


def samples():
    """(category, file name, record) of every packaged CloudTrail sample."""
    return [(path.parent.name, path.name, json.loads(path.read_text()))
            for path in sorted(SAMPLES.glob("*/*.json"))]


ABSENT = object()


def _pick(values):
    for value in values:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, dict):
            if value.get("exists") is False:
                return ABSENT
            if value.get("exists") is True:
                return "present"
            if "anything-but" in value:
                return "rootguard-witness"
            if "prefix" in value:
                return value["prefix"] + "witness"
    raise AssertionError(f"no witness value for {values}")


def witness(pattern):
    """An event matching ``pattern`` (the first choice of every field)."""
    event = {}
    for key, value in pattern.items():
        if key == "$or":
            event.update(witness(value[0]))
        elif isinstance(value, dict):
            event[key] = witness(value)
        else:
            picked = _pick(value)
            if picked is not ABSENT:
                event[key] = picked
    return event


def witness_event(pattern, region, tag):
    event = witness(pattern)
    detail = event.get("detail", {})
    detail.setdefault("eventSource", "rootguard.amazonaws.com")
    return envelope(detail, region, tag, detail_type=event.get("detail-type"), source=event.get("source"))


def drain(sqs, url):
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def world(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": HOME}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        patterns = forwarding.stored_patterns(REPO)
        sqs = boto3.client("sqs", region_name=HOME)
        home = boto3.client("events", region_name=HOME)
        queues = {}
        for name, pattern in patterns.items():
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            home.put_rule(Name=name, EventPattern=json.dumps(pattern))
            home.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
            queues[name] = url
        rule = stored_template()["Resources"]["ForwardRule"]["Properties"]
        for region in OTHERS:
            events = boto3.client("events", region_name=region)
            events.put_rule(Name=rule["Name"], EventPattern=json.dumps(rule["EventPattern"]))
            bus = f"arn:aws:events:{HOME}:{ACCOUNT}:event-bus/default"
            events.put_targets(Rule=rule["Name"], Targets=[
                {"Id": "home", "Arn": bus, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/rootguard-forward-{region}"}])

        def put(entries):
            by_region = {}
            for region, entry in entries:
                by_region.setdefault(region, []).append(entry)
            for region, batch in by_region.items():
                client = boto3.client("events", region_name=region)
                for start in range(0, len(batch), 10):
                    answer = client.put_events(Entries=batch[start:start + 10])
                    assert answer["FailedEntryCount"] == 0, answer

        def received():
            return {name: [body["detail"]["eventID"] for body in drain(sqs, url)] for name, url in queues.items()}

        yield patterns, put, received


def test_the_stored_forwarding_template_is_current_and_within_eventbridge_limits():
    assert forwarding.main(["--root", str(REPO), "--check"]) == 0
    template = stored_template()
    pattern = template["Resources"]["ForwardRule"]["Properties"]["EventPattern"]
    assert len(json.dumps(pattern, separators=(",", ":"))) <= forwarding.MAX_PATTERN_CHARS
    # nothing is created in the home region: forwarding there would loop or double every event
    assert all(r["Condition"] == "NotHomeRegion" for r in template["Resources"].values())
    assert template["Conditions"]["NotHomeRegion"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "HomeRegion"}]}]}


def test_samples_from_every_region_reach_exactly_their_rules_once(world):
    patterns, put, received = world
    entries, instances = [], {}
    for category, name, record in samples():
        for region in regions_of(record):
            entry = envelope(record, region, name)
            entries.append((region, entry))
            instances[json.loads(entry["Detail"])["eventID"]] = (category, entry, region)
    put(entries)
    got = received()

    for rule, pattern in patterns.items():
        matcher = EventPattern.load(json.dumps(pattern))
        # what the rule would see had every event been made in the home region
        expected = sorted(eid for eid, (_, entry, _) in instances.items() if matcher.matches_event({
            "source": entry["Source"], "detail-type": entry["DetailType"], "detail": json.loads(entry["Detail"]),
            "region": HOME, "account": ACCOUNT}))
        assert sorted(got[rule]) == expected, rule          # each once, from every region

    root_rules = [rule for rule, pattern in patterns.items() if forwarding._requires_root(pattern)]
    alerted = {eid for rule in root_rules for eid in got[rule]}
    must = {eid for eid, (category, _, _) in instances.items() if category == "must_alert"}
    must_not = {eid for eid, (category, _, _) in instances.items() if category == "must_not_alert"}
    assert must <= alerted
    assert not alerted & must_not
    assert alerted - must <= {eid for eid, (c, _, _) in instances.items() if c == "either"}
    # root API calls made outside us-east-1 alert too, once each
    regional = {eid for eid in must if instances[eid][2] != HOME}
    assert regional and regional <= alerted


def test_every_stored_pattern_fires_once_for_its_event_made_in_any_region(world):
    patterns, put, received = world
    entries = [(region, witness_event(pattern, region, rule))
               for rule, pattern in patterns.items() for region in [HOME, *OTHERS]]
    put(entries)
    got = received()
    for rule in patterns:
        mine = sorted(eid for eid in got[rule] if f"/{rule}/" in eid)
        assert mine == sorted(f"witness/{rule}/{region}" for region in [HOME, *OTHERS]), rule


def test_an_event_of_no_rule_is_not_forwarded(world):
    _, put, received = world
    record = {"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "eventType": "AwsApiCall",
              "userIdentity": {"type": "IAMUser"}, "eventID": "unrelated"}
    put([(region, envelope(record, region, "none")) for region in OTHERS])
    assert not any(received().values())
