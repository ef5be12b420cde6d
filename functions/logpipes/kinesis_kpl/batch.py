"""Collect the records of one invocation per shard, and render the objects they are written as.

A Kinesis record becomes JSON lines grouped by event-time partition, or, when it is a corrupt KPL
aggregate (or its data is not base64), a dead letter. Records are committed whole: Lambda
checkpoints per Kinesis record, so a record whose user records do not all decode contributes
nothing and is redelivered.

A data object's key is its partition, the shard and the position of the first user record of that
partition in the batch, and its bytes depend only on the records (gzip without a timestamp). The
key names no end on purpose: Lambda retries a failed batch whole, from a checkpoint, or bisected
(the first half first); each retry holds a sub-range of the failed batch, so the user record an
object is named after is again the first of its partition in the retry that holds it, and that
retry overwrites the object instead of writing its records again under another key. A retry that
holds fewer of the partition's records rewrites it with fewer; the rest are written, once, by the
retry that holds them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from isal import igzip

from logpipes.kinesis_kpl.aggregation import CorruptAggregateError, is_aggregated, user_records
from logpipes.kinesis_kpl.records import KINDS, decode, partition_of


class Position(NamedTuple):
    """Where a user record sits in its shard. Records that were not aggregated have sub-sequence 0."""

    sequence_number: str
    sub_sequence_number: int


@dataclass(frozen=True)
class KinesisRecord:
    """The fields of a Kinesis event record this function uses."""

    shard_id: str
    sequence_number: str
    arrival_timestamp: float  # epoch seconds (approximateArrivalTimestamp)
    data: bytes


# Kinds of dead letters, by the suffix of their key: a corrupt KPL aggregate (its decoded bytes), or
# a record whose data field is not base64 (the field as it came).
CORRUPT_AGGREGATE = "kpl"
INVALID_BASE64 = "b64"


@dataclass(frozen=True)
class DeadLetter:
    """A record that cannot be data: its raw bytes and where it came from, parked instead of parsed."""

    record: KinesisRecord
    reason: str
    kind: str = CORRUPT_AGGREGATE


@dataclass
class DecodedRecord:
    """The JSON lines of one Kinesis record, by partition, and what they were."""

    lines: dict[str, list[str]]
    firsts: dict[str, Position]  # by partition: the position of its first user record
    kinds: Counter[str]
    aggregated: bool


@dataclass(frozen=True)
class OutputObject:
    """One S3 object to write."""

    key: str
    body: bytes
    metadata: dict[str, str]
    content_type: str


def arrival_time(record: KinesisRecord) -> datetime:
    """The record's approximate arrival time, in UTC."""
    return datetime.fromtimestamp(record.arrival_timestamp, UTC)


def iso_utc(moment: datetime) -> str:
    """``2018-12-17T22:10:50.987Z``"""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _metadata_members(record: KinesisRecord, arrival: datetime) -> str:
    # Shard ids and sequence numbers are ASCII letters, digits and '-' only: no escaping needed.
    return (
        f',"kinesis_shard_id":"{record.shard_id}","kinesis_sequence_number":"{record.sequence_number}",'
        f'"kinesis_arrival_time":"{iso_utc(arrival)}","kinesis_sub_sequence_number":'
    )


def decode_record(record: KinesisRecord) -> DecodedRecord:
    """A Kinesis record -> its JSON lines (one per user record). Raises CorruptAggregateError."""
    aggregated = is_aggregated(record.data)
    payloads = user_records(record.data) if aggregated else [record.data]
    arrival = arrival_time(record)
    arrival_partition = partition_of(arrival)
    metadata = _metadata_members(record, arrival)
    lines: dict[str, list[str]] = {}
    firsts: dict[str, Position] = {}
    kinds = dict.fromkeys(KINDS, 0)
    # Sub-sequence numbers of an aggregate's user records; null for a record that was not aggregated.
    subs: Iterable[int | str] = range(len(payloads)) if aggregated else ("null",)
    for sub, payload in zip(subs, payloads, strict=True):
        members, partition, kind = decode(payload)
        kinds[kind] += 1
        # An empty JSON object has no members: the metadata then opens the object, without a comma.
        line = f"{{{members}{metadata}{sub}}}\n" if members else f"{{{metadata[1:]}{sub}}}\n"
        partition = partition or arrival_partition
        bucket = lines.get(partition)
        if bucket is None:
            lines[partition] = [line]
            firsts[partition] = Position(record.sequence_number, sub if aggregated else 0)
        else:
            bucket.append(line)
    return DecodedRecord(lines=lines, firsts=firsts, kinds=Counter(kinds), aggregated=aggregated)


@dataclass
class ShardBatch:
    """What one invocation writes for one shard: committed records' lines, and dead letters."""

    shard_id: str
    # By partition: the JSON lines, encoded as each record is committed. One buffer holds them in
    # a third of the memory of their str objects, and gzip reads it without a joined copy (a 6 MB
    # batch of tiny user records is ~670,000 lines).
    lines: dict[str, bytearray] = field(default_factory=dict)
    firsts: dict[str, Position] = field(default_factory=dict)  # by partition, as in DecodedRecord
    kinds: Counter[str] = field(default_factory=Counter)
    aggregated_records: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def add(self, record: KinesisRecord) -> None:
        """Decode one Kinesis record and commit it; on an exception nothing of it is kept."""
        try:
            decoded = decode_record(record)
        except CorruptAggregateError as error:
            self.dead_letters.append(DeadLetter(record, str(error)))
            return
        for partition, lines in decoded.lines.items():
            encoded = "".join(lines).encode()  # ASCII: records.py escapes everything else
            buffer = self.lines.get(partition)
            if buffer is None:
                self.lines[partition] = bytearray(encoded)
                self.firsts[partition] = decoded.firsts[partition]
            else:
                buffer += encoded
        self.kinds.update(decoded.kinds)
        self.aggregated_records += decoded.aggregated

    def park(self, record: KinesisRecord, reason: str, kind: str) -> None:
        """Keep a record that cannot be data as a dead letter of the given kind."""
        self.dead_letters.append(DeadLetter(record, reason, kind))

    def objects(self, prefix: str, dead_letter_prefix: str, gzip_level: int) -> Iterator[OutputObject]:
        """The S3 objects of this batch: one gzip JSON-lines object per partition, one per dead letter.

        Rendered one at a time, as they are written: no more than one gzip body is held at once,
        and none is compressed after a write has failed."""
        for letter in self.dead_letters:
            yield self._dead_letter_object(dead_letter_prefix, letter)
        for partition in sorted(self.lines):
            first = self.firsts[partition]
            name = f"{self.shard_id}_{first.sequence_number}-{first.sub_sequence_number}.json.gz"
            key = f"{prefix}{partition}/{name}"
            body = igzip.compress(self.lines[partition], gzip_level, mtime=0)
            yield OutputObject(key, body, {}, "application/gzip")

    @staticmethod
    def _dead_letter_object(dead_letter_prefix: str, letter: DeadLetter) -> OutputObject:
        record = letter.record
        arrival = arrival_time(record)
        name = f"{record.shard_id}_{record.sequence_number}.{letter.kind}"
        key = f"{dead_letter_prefix}dt={arrival:%Y-%m-%d}/{name}"
        metadata = {
            "shard-id": record.shard_id,
            "sequence-number": record.sequence_number,
            "arrival-time": iso_utc(arrival),
            # S3 user metadata is ASCII: keep the reason readable whatever the parser said.
            "reason": letter.reason.encode("ascii", "backslashreplace").decode(),
        }
        return OutputObject(key, record.data, metadata, "application/octet-stream")
