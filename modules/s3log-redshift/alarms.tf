locals {
  alarms = !var.create_alarms ? {} : {
    dead-letters = {
      description = "Notifications of log objects that could not be loaded after ${var.max_receive_count} attempts are in ${aws_sqs_queue.dead_letter.name}: their rows are not in Redshift."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      threshold   = 0
      dimensions  = { QueueName = aws_sqs_queue.dead_letter.name }
    }
    oldest-notification = {
      description = "The oldest waiting notification is older than ${var.oldest_message_age_threshold_seconds}s: loads are failing or falling behind."
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      statistic   = "Maximum"
      threshold   = var.oldest_message_age_threshold_seconds
      dimensions  = { QueueName = aws_sqs_queue.notifications.name }
    }
    errors = {
      description = "The loader failed a whole invocation (configuration or code error): every notification of the batch is retried."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { FunctionName = local.lambda_name }
    }
    failed-loads = {
      description = "A load transaction failed (its Redshift error is in the loader's log): the batch is retried."
      namespace   = "logpipes"
      metric      = "LoadFailures"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { service = local.service_name }
    }
    rejected-lines = {
      description = "Log lines did not parse and were written under ${var.rejects_prefix} in the staging bucket: check the format."
      namespace   = "logpipes"
      metric      = "LinesRejected"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { service = local.service_name }
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
