output "function_arn" {
  description = "ARN of the archiver function: the destination_arn of the parent module (destination_type = \"lambda\")."
  value       = aws_lambda_function.this.arn
}

output "function_name" {
  description = "Name of the archiver function."
  value       = aws_lambda_function.this.function_name
}

output "role_arn" {
  description = "The function's execution role."
  value       = aws_iam_role.this.arn
}

output "lambda_security_group_id" {
  description = "Security group of the function (NFS egress to the file system only)."
  value       = aws_security_group.lambda.id
}

output "efs_security_group_id" {
  description = "Security group of the mount targets (NFS ingress from the function only)."
  value       = local.efs_security_group_id
}

output "file_system_id" {
  description = "The EFS file system holding the archive."
  value       = local.file_system_id
}

output "file_system_arn" {
  description = "ARN of the EFS file system."
  value       = local.file_system_arn
}

output "access_point_arn" {
  description = "The access point the function mounts (root directory root_directory, as posix_user)."
  value       = aws_efs_access_point.this.arn
}

output "mount_path" {
  description = "Where the function sees the archive root."
  value       = var.mount_path
}

output "failure_queue_arn" {
  description = "ARN of the queue where payloads that failed every attempt are parked."
  value       = aws_sqs_queue.failures.arn
}

output "failure_queue_url" {
  description = "URL of the failure queue (to inspect and redrive parked payloads)."
  value       = aws_sqs_queue.failures.url
}

output "log_group_name" {
  description = "The function's own log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "alarm_arns" {
  description = "The alarms: errors, parked_payloads, dropped_events."
  value = {
    errors          = aws_cloudwatch_metric_alarm.errors.arn
    parked_payloads = aws_cloudwatch_metric_alarm.parked_payloads.arn
    dropped_events  = aws_cloudwatch_metric_alarm.dropped_events.arn
  }
}

output "seal_schedule_rule_arn" {
  description = "The EventBridge rule that triggers the sealing sweep (null when disabled)."
  value       = try(aws_cloudwatch_event_rule.seal[0].arn, null)
}
