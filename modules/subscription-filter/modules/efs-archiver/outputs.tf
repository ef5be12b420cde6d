output "function_arn" {
  description = "ARN of the archiver function: the destination_arn of the parent module (destination_type = \"lambda\")."
  value       = module.function.function_arn
}

output "function_name" {
  description = "Name of the archiver function."
  value       = module.function.function_name
}

output "role_arn" {
  description = "The function's execution role (created, or function_role_arn)."
  value       = module.function.role_arn
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
  value       = module.failures.arn
}

output "failure_queue_url" {
  description = "URL of the failure queue (to inspect and redrive parked payloads)."
  value       = module.failures.url
}

output "log_group_name" {
  description = "The function's own log group."
  value       = module.function.log_group_name
}

output "alarm_arns" {
  description = "ARNs of the alarms by key: errors, throttles, parked-payloads, dropped-events, failure-destination-errors (empty with create_alarms = false)."
  value       = module.function.alarm_arns
}

output "service_name" {
  description = "Powertools service name of the archiver: the service dimension of its metrics."
  value       = module.function.service_name
}

output "seal_schedule_rule_arn" {
  description = "The EventBridge rule that triggers the sealing sweep (null when disabled)."
  value       = one(aws_cloudwatch_event_rule.seal[*].arn)
}
