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
    batches-given-up = {
      description = "Batches were given up on and their metadata sent to the failure queue ${module.failures.name}: those records are not in S3."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = module.failures.name }
    }
    failure-destination-errors = {
      description = "Lambda could not send a given-up batch to the failure queue."
      namespace   = "AWS/Lambda"
      metric      = "DestinationDeliveryFailures"
    }
    corrupt-aggregates = {
      description = "Corrupt KPL aggregates (bad MD5 or protobuf) were parked under ${var.dead_letter_prefix}: check the producer."
      namespace   = "logpipes"
      metric      = "CorruptAggregates"
    }
  }
}
