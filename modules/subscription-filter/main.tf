# CloudWatch Logs subscription filters of a map of log groups to one destination: a Lambda
# function (with its invoke permission per log group), a Kinesis data stream or a Firehose
# delivery stream (with the role CloudWatch Logs assumes), or another account's destination.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # CloudWatch Logs needs a role for stream destinations; a Lambda function needs a permission.
  create_role = contains(["kinesis", "firehose"], var.destination_type) && var.create_role
  role_arn    = local.create_role ? aws_iam_role.logs[0].arn : var.role_arn

  log_group_arns = {
    for name in keys(var.log_groups) : name => "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${name}:*"
  }

  # One entry per filter: "<log group>#<index>"; the second filter of a log group is "<name>-2".
  filters = merge({}, [
    for log_group, group in var.log_groups : {
      for index, pattern in coalesce(group.filter_patterns, [group.filter_pattern]) : "${log_group}#${index}" => {
        log_group_name = log_group
        name           = index == 0 ? var.name : "${var.name}-${index + 1}"
        filter_pattern = pattern
        distribution   = group.distribution
      }
    }
  ]...)
}

resource "aws_lambda_permission" "logs" {
  for_each = var.destination_type == "lambda" ? var.log_groups : {}

  # One statement per log group: the function accepts invocations from these log groups only.
  statement_id   = "${var.name}-${substr(sha256(each.key), 0, 16)}"
  action         = "lambda:InvokeFunction"
  function_name  = var.destination_arn
  principal      = "logs.amazonaws.com"
  source_arn     = local.log_group_arns[each.key]
  source_account = local.account_id
}

resource "aws_cloudwatch_log_subscription_filter" "this" {
  for_each = local.filters

  name            = each.value.name
  log_group_name  = each.value.log_group_name
  filter_pattern  = each.value.filter_pattern
  destination_arn = var.destination_arn
  role_arn        = local.role_arn
  distribution    = each.value.distribution

  lifecycle {
    precondition {
      condition     = split(":", var.destination_arn)[3] == local.region
      error_message = "CloudWatch Logs delivers only to a destination in the log group's region (${local.region}); destination_arn is in ${split(":", var.destination_arn)[3]}."
    }
  }

  # CloudWatch Logs tests the destination when the filter is created: grant access first.
  depends_on = [aws_lambda_permission.logs, aws_iam_role_policy.logs]
}
