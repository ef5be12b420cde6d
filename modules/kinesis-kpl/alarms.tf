# The pipeline's alarms besides the consumer's Errors and Throttles (module.function adds those;
# its custom metrics are watched under its own service name, <name>-consumer).
locals {
  alarms = {
    iterator-age = {
      description = "The consumer reads records older than ${var.iterator_age_threshold_seconds}s: it is falling behind, or a batch is being retried."
      namespace   = "AWS/Lambda"
      metric      = "IteratorAge"
      statistic   = "Maximum"
      threshold   = var.iterator_age_threshold_seconds * 1000
    }
    failed-records = {
      description = "Records failed and were reported for retry (partial batch failures do not count as Lambda errors)."
      namespace   = "logpipes"
      metric      = "FailedRecords"
    }
    # Lambda counts what it sends to the on-failure destination, whichever it is, in the mapping's
    # OnFailureDestinationDeliveredEventCount (Lambda developer guide, "Event source mapping
    # metrics"; emitted with metrics_config EventCount, lambda.tf). The failure queue's depth would
    # only move with failed_batches_destination = "sqs", and an S3 event notification on aws/lambda/
    # would add a queue and a bucket policy to watch what Lambda already counts.
    batches-given-up = {
      description = "Lambda gave up on batches (retries or record age exhausted) and sent their records to ${var.failed_batches_destination == "s3" ? "s3://${local.bucket_name}/aws/lambda/ (data included): replay them" : "the failure queue ${module.failures.name} (metadata only)"}."
      namespace   = "AWS/Lambda"
      metric      = "OnFailureDestinationDeliveredEventCount"
      dimensions  = { EventSourceMappingUUID = aws_lambda_event_source_mapping.this.uuid }
    }
    failure-destination-errors = {
      description = "Lambda could not send a given-up batch to its on-failure destination (${var.failed_batches_destination == "s3" ? "the bucket's aws/lambda/" : "the failure queue"}): those records are lost."
      namespace   = "AWS/Lambda"
      metric      = "DestinationDeliveryFailures"
    }
    corrupt-aggregates = {
      description = "Corrupt KPL aggregates (bad MD5 or protobuf) were parked under ${var.dead_letter_prefix}: check the producer."
      namespace   = "logpipes"
      metric      = "CorruptAggregates"
    }
    invalid-base64-records = {
      description = "Records whose data is not base64 were parked under ${var.dead_letter_prefix} (.b64): check what writes events for this function."
      namespace   = "logpipes"
      metric      = "InvalidBase64Records"
    }
  }
}
