locals {
  state_machine_dimensions = { StateMachineArn = local.state_machine_arn }
  report_dimensions        = { service = var.name }

  alarms = !var.create_alarms ? {} : merge(
    {
      executions-failed = {
        description = "A load execution failed: a step kept failing, or more chunks failed than tolerated_failure_percentage."
        namespace   = "AWS/States"
        metric      = "ExecutionsFailed"
        dimensions  = local.state_machine_dimensions
      }
      executions-timed-out = {
        description = "A load execution ran longer than execution_timeout_seconds."
        namespace   = "AWS/States"
        metric      = "ExecutionsTimedOut"
        dimensions  = local.state_machine_dimensions
      }
      documents-dead-lettered = {
        description = "OpenSearch did not index some documents; they are under s3://${local.dead_letter_bucket}/${var.dead_letter_prefix} with the error."
        namespace   = var.metrics_namespace
        metric      = "DocumentsDeadLettered"
        dimensions  = local.report_dimensions
      }
      chunks-failed = {
        description = "Chunks failed after their retries (listed in the execution's report): their lines are not all indexed."
        namespace   = var.metrics_namespace
        metric      = "ChunksFailed"
        dimensions  = local.report_dimensions
      }
    },
    {
      for step in keys(local.functions) : "${step}-errors" => {
        description = "The ${step} function failed (Step Functions retries it)."
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        dimensions  = { FunctionName = "${var.name}-${step}" }
      }
    },
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
