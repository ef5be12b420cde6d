locals {
  # The function's own alarms, then the caller's: a custom metric (namespace not AWS/...) is
  # watched per service name, an AWS/Lambda metric per function name, unless dimensions are given.
  alarms = !var.create_alarms ? {} : {
    for key, alarm in merge(
      {
        errors = {
          description = "The function ${var.name} failed invocations."
          namespace   = "AWS/Lambda"
          metric      = "Errors"
          statistic   = "Sum"
          threshold   = 0
          comparison  = "GreaterThanThreshold"
          dimensions  = null
        }
        throttles = {
          description = "The function ${var.name} was throttled: raise its reserved concurrency, or the account's limit."
          namespace   = "AWS/Lambda"
          metric      = "Throttles"
          statistic   = "Sum"
          threshold   = 0
          comparison  = "GreaterThanThreshold"
          dimensions  = null
        }
      },
      var.alarms,
      ) : key => merge(alarm, {
        dimensions = coalesce(alarm.dimensions, startswith(alarm.namespace, "AWS/") ? { FunctionName = var.name } : { service = local.service_name })
    })
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = contains(["errors", "throttles"], each.key) ? "${var.name}-${each.key}" : "${local.alarm_name_prefix}-${each.key}"
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
