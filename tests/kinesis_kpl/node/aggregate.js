// Aggregates user records with the npm aws-kinesis-agg package, an implementation of the KPL
// aggregated record format independent of the Python one (used by test_kpl_node_interop.py).
// stdin:  JSON [{"partitionKey": str, "explicitHashKey": str | null, "data": base64}, ...]
// stdout: JSON [{"partitionKey": str, "data": base64}, ...], one item per aggregated record.
'use strict';
const fs = require('fs');
const { aggregate } = require('aws-kinesis-agg');

const records = JSON.parse(fs.readFileSync(0, 'utf8')).map((record) => ({
  partitionKey: record.partitionKey,
  explicitHashKey: record.explicitHashKey || undefined,
  data: Buffer.from(record.data, 'base64'),
}));
const aggregated = [];
aggregate(
  records,
  (encoded, done) => {
    aggregated.push({ partitionKey: encoded.partitionKey, data: encoded.data.toString('base64') });
    done();
  },
  () => process.stdout.write(JSON.stringify(aggregated)),
  (error) => {
    process.stderr.write(`aws-kinesis-agg: ${error}\n`);
    process.exitCode = 1;
  },
);
