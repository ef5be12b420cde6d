"""devtools.kinesis.EventSourceMapping against the statements of the Lambda developer guide it cites."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.kinesis import EventSourceMapping, FunctionError, MemoryDestination

FIRST = 49590338271490256608559692538361571095921575989136588898


def stream(count: int, data: bytes = b"x") -> list[dict[str, Any]]:
    """GetRecords-shaped records of one shard."""
    arrival = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "SequenceNumber": str(FIRST + i * 10**20),
            "Data": data + str(i).encode(),
            "PartitionKey": "pk",
            "ApproximateArrivalTimestamp": arrival,
        }
        for i in range(count)
    ]


class Script:
    """An invoke callable that records each batch (as indexes) and answers from a list of replies.

    A reply is "ok", "raise", or a list of indexes (into the batch) to report as failed; replies
    run out into "ok".
    """

    def __init__(self, records: list[dict[str, Any]], *replies: Any) -> None:
        self.index = {r["SequenceNumber"]: i for i, r in enumerate(records)}
        self.replies = list(replies)
        self.batches: list[list[int]] = []

    def __call__(self, event: dict[str, Any]) -> Any:
        sequence_numbers = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        self.batches.append([self.index[s] for s in sequence_numbers])
        reply = self.replies.pop(0) if self.replies else "ok"
        if reply == "raise":
            raise FunctionError("simulated")
        if reply == "ok":
            return {"batchItemFailures": []}
        if isinstance(reply, dict | type(None)):
            return reply
        return {"batchItemFailures": [{"itemIdentifier": sequence_numbers[i]} for i in reply]}


def test_success_checkpoints_at_the_end_of_each_batch() -> None:
    records = stream(25)
    script = Script(records)
    delivery = EventSourceMapping(script, "shardId-0", batch_size=10).consume(records)
    assert script.batches == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
    assert (delivery.records, delivery.retries, delivery.given_up) == (25, 0, [])


def test_batches_are_capped_at_6_mb_of_payload() -> None:
    records = stream(6, data=b"x" * 1_700_000)  # 2.3 MB of base64 each: two fit in 6 MiB
    script = Script(records)
    EventSourceMapping(script, "shardId-0", batch_size=100).consume(records)
    assert script.batches == [[0, 1], [2, 3], [4, 5]]


@pytest.mark.parametrize("reply", [{"batchItemFailures": []}, {"batchItemFailures": None}, {}, None])
def test_empty_or_null_responses_are_a_complete_success(reply: Any) -> None:
    records = stream(4)
    script = Script(records, reply)
    delivery = EventSourceMapping(script, "shardId-0", batch_size=4).consume(records)
    assert script.batches == [[0, 1, 2, 3]] and delivery.retries == 0


def test_lowest_reported_sequence_number_is_the_checkpoint_and_bisection_retries_the_rest() -> None:
    # "Lambda uses the record with the lowest sequence number as the checkpoint"; with bisection on,
    # "the batch is bisected at the returned sequence number and Lambda retries only the remaining records".
    records = stream(12)
    script = Script(records, [7, 4])
    delivery = EventSourceMapping(script, "shardId-0", batch_size=8).consume(records)
    assert script.batches == [list(range(8)), [4, 5, 6, 7], [8, 9, 10, 11]]
    assert (delivery.records, delivery.retries) == (12, 1)


def test_without_bisection_a_partial_failure_reads_again_from_the_checkpoint() -> None:
    records = stream(12)
    script = Script(records, [4])
    EventSourceMapping(script, "shardId-0", batch_size=8, bisect_batch_on_function_error=False).consume(
        records
    )
    assert script.batches == [list(range(8)), list(range(4, 12))]


@pytest.mark.parametrize(
    "reply",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifiers": "x"}]},
    ],
    ids=["empty-identifier", "null-identifier", "wrong-key-name"],
)
def test_bad_identifiers_are_a_complete_failure(reply: Any) -> None:
    records = stream(4)
    script = Script(records, reply)
    EventSourceMapping(script, "shardId-0", batch_size=4).consume(records)
    assert script.batches == [[0, 1, 2, 3], [0, 1], [2, 3]]  # a complete failure: bisected


def test_function_error_bisects_without_consuming_retries_then_gives_up_with_the_data() -> None:
    records = stream(4)
    poison = records[2]["SequenceNumber"]

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        script(event)
        if any(r["kinesis"]["sequenceNumber"] == poison for r in event["Records"]):
            raise FunctionError("poison")
        return {"batchItemFailures": []}

    script = Script(records)
    destination = MemoryDestination()
    mapping = EventSourceMapping(
        invoke, "shardId-7", batch_size=4, maximum_retry_attempts=2, destination=destination
    )
    delivery = mapping.consume(records)

    # [0..3] fails: halves [0,1] (ok) and [2,3] (fails): halves [2] (fails: 1 + 2 retries) and [3].
    assert script.batches == [[0, 1, 2, 3], [0, 1], [2, 3], [2], [2], [2], [3]]
    assert (delivery.bisections, delivery.retries, delivery.given_up) == (2, 2, [poison])
    assert delivery.records == 4
    ((key, parked),) = destination.records.items()
    assert re.fullmatch(
        rf"aws/lambda/{mapping.uuid}/shardId-7/\d{{4}}/\d\d/\d\d/\d{{4}}-\d\d-\d\dT\d\d\.\d\d\.\d\d-[0-9a-f-]{{36}}",
        key,
    )
    assert parked["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert parked["KinesisBatchInfo"] | {"streamArn": ""} == {
        "shardId": "shardId-7",
        "startSequenceNumber": poison,
        "endSequenceNumber": poison,
        "approximateArrivalOfFirstRecord": 1767225600.0,
        "approximateArrivalOfLastRecord": 1767225600.0,
        "batchSize": 1,
        "streamArn": "",
    }
    (payload,) = json.loads(parked["payload"])["Records"]
    assert base64.b64decode(payload["kinesis"]["data"]) == records[2]["Data"]


def test_partial_failures_consume_retries_and_only_the_remaining_records_are_given_up() -> None:
    records = stream(6)
    script = Script(records, [3], [1], [0])  # the checkpoint moves to 3, then to 4, then stays
    destination = MemoryDestination()
    delivery = EventSourceMapping(
        script, "shardId-0", batch_size=6, maximum_retry_attempts=2, destination=destination
    ).consume(records)
    assert script.batches == [list(range(6)), [3, 4, 5], [4, 5]]
    (parked,) = destination.records.values()
    assert [r["kinesis"]["sequenceNumber"] for r in json.loads(parked["payload"])["Records"]] == [
        records[4]["SequenceNumber"],
        records[5]["SequenceNumber"],
    ]
    assert delivery.records == 6 and delivery.retries == 2
