locals {
  # The delivery stream's alarms.
  alarms = !var.create_alarms ? {} : merge(
    {
      firehose-freshness = {
        description = "Records wait in Firehose longer than ${var.freshness_threshold_seconds}s: delivery to S3 is falling behind or failing."
        namespace   = "AWS/Firehose"
        metric      = "DeliveryToS3.DataFreshness"
        statistic   = "Maximum"
        threshold   = var.freshness_threshold_seconds
        comparison  = "GreaterThanThreshold"
        dimensions  = { DeliveryStreamName = var.name }
      }
    },
    # The transform's Errors, Throttles and failed records: module.function.
    local.use_lambda ? {
      processing-failures = {
        description = "Firehose could not get a transform result for some records (ExecuteProcessing.Success below 1)."
        namespace   = "AWS/Firehose"
        metric      = "ExecuteProcessing.Success"
        statistic   = "Minimum"
        threshold   = 1
        comparison  = "LessThanThreshold"
        dimensions  = { DeliveryStreamName = var.name }
      }
    } : {}
  )
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
  comparison_operator = each.value.comparison
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
