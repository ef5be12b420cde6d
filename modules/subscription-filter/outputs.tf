output "subscription_filters" {
  description = "The subscription filters, keyed \"<log group>#<index>\": {name, log_group_name, filter_pattern}."
  value = {
    for key, filter in aws_cloudwatch_log_subscription_filter.this : key => {
      name           = filter.name
      log_group_name = filter.log_group_name
      filter_pattern = filter.filter_pattern
    }
  }
}

output "role_arn" {
  description = "The role CloudWatch Logs assumes to put records into a kinesis or firehose destination (created, or the role_arn given); null for lambda and destination."
  value       = local.role_arn
}

output "role_name" {
  description = "Name of the role the module created (null when it created none)."
  value       = one(aws_iam_role.logs[*].name)
}

output "lambda_permission_statement_ids" {
  description = "For a lambda destination: the statement ID of the invoke permission of each log group."
  value       = { for name, permission in aws_lambda_permission.logs : name => permission.statement_id }
}

output "log_group_arns" {
  description = "ARN (with the \":*\" suffix CloudWatch Logs uses as source ARN) of each subscribed log group."
  value       = local.log_group_arns
}

output "cloudwatch_logs_destination_arn" {
  description = "With cross_account_sender_ids: the CloudWatch Logs destination other accounts subscribe to (destination_type = \"destination\"); else null."
  value       = one(aws_cloudwatch_log_destination.this[*].arn)
}
