output "log_group_names" {
  description = "Put log events here; the archiver appends them to <root>/<log group>/<YYYY-MM-DD>.log on EFS."
  value       = [aws_cloudwatch_log_group.app.name, aws_cloudwatch_log_group.audit.name]
}

output "function_name" {
  description = "The archiver Lambda function."
  value       = module.archiver.function_name
}

output "file_system_id" {
  description = "The EFS file system holding the archive (mount it through access_point_arn to read the day files)."
  value       = module.archiver.file_system_id
}

output "access_point_arn" {
  description = "The access point whose root directory is the archive root."
  value       = module.archiver.access_point_arn
}

output "failure_queue_url" {
  description = "Payloads the archiver could not write after its retries wait here."
  value       = module.archiver.failure_queue_url
}

output "subscription_filters" {
  description = "The subscription filters, keyed \"<log group>#<index>\"."
  value       = module.subscriptions.subscription_filters
}

output "alarm_arns" {
  description = "The archiver's alarms."
  value       = module.archiver.alarm_arns
}
