output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "Execution role of the function (created, or role_arn)."
  value       = local.role_arn
}

output "role_name" {
  description = "Name of the created role (null with create_role = false)."
  value       = one(aws_iam_role.this[*].name)
}

output "log_group_name" {
  description = "The function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "service_name" {
  description = "Powertools service name: the service dimension of the function's custom metrics."
  value       = local.service_name
}

output "environment" {
  description = "The function's environment variables (with the POWERTOOLS_* ones)."
  value       = aws_lambda_function.this.environment[0].variables
}

output "alarms" {
  description = "The alarms by key: {arn, name, namespace, metric_name, dimensions}."
  value = {
    for key, alarm in aws_cloudwatch_metric_alarm.this : key => {
      arn         = alarm.arn
      name        = alarm.alarm_name
      namespace   = alarm.namespace
      metric_name = alarm.metric_name
      dimensions  = alarm.dimensions
    }
  }
}

output "alarm_arns" {
  description = "ARNs of the alarms by key."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }
}

output "vpc_config" {
  description = "Subnets and security groups of the function (null: not in a VPC)."
  value       = var.vpc_config
}
