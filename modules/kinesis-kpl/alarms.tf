locals {
  alarms = !var.create_alarms ? {} : {
    iterator-age = {
      description = "The consumer reads records older than ${var.iterator_age_threshold_seconds}s: it is falling behind, or a batch is being retried."
      namespace   = "AWS/Lambda"
      metric      = "IteratorAge"
      statistic   = "Maximum"
      threshold   = var.iterator_age_threshold_seconds * 1000
      dimensions  = { FunctionName = local.lambda_name }
    }
    errors = {
      description = "The consumer failed a whole batch (Lambda retries it, bisecting, up to maximum_retry_attempts)."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { FunctionName = local.lambda_name }
    }
    failed-records = {
      description = "Records failed and were reported for retry (partial batch failures do not count as Lambda errors)."
      namespace   = "logpipes"
      metric      = "FailedRecords"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { service = "kinesis-kpl" }
    }
    batches-given-up = {
      description = "Batches were given up on and their metadata sent to the failure queue ${aws_sqs_queue.failures.name}: those records are not in S3."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      threshold   = 0
      dimensions  = { QueueName = aws_sqs_queue.failures.name }
    }
    failure-destination-errors = {
      description = "Lambda could not send a given-up batch to the failure queue."
      namespace   = "AWS/Lambda"
      metric      = "DestinationDeliveryFailures"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { FunctionName = local.lambda_name }
    }
    corrupt-aggregates = {
      description = "Corrupt KPL aggregates (bad MD5 or protobuf) were parked under ${var.dead_letter_prefix}: check the producer."
      namespace   = "logpipes"
      metric      = "CorruptAggregates"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { service = "kinesis-kpl" }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
