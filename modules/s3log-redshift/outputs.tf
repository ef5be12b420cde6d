output "queue_arn" {
  description = "ARN of the notification queue (add it to the log bucket's notifications yourself when create_bucket_notification = false)."
  value       = module.queue.arn
}

output "queue_url" {
  description = "URL of the notification queue."
  value       = module.queue.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue (notifications whose objects could not be loaded)."
  value       = module.queue.dead_letter_queue_arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue (redrive it to the notification queue after a fix)."
  value       = module.queue.dead_letter_queue_url
}

output "staging_bucket_name" {
  description = "Bucket of the staged files (under staging_prefix) and reject records (under rejects_prefix)."
  value       = local.staging_bucket_name
}

output "staging_bucket_arn" {
  description = "ARN of the staging bucket."
  value       = local.staging_bucket_arn
}

output "rejects_prefix" {
  description = "Prefix of the reject records in the staging bucket."
  value       = var.rejects_prefix
}

output "copy_role_arn" {
  description = "The role COPY uses (IAM_ROLE): associate it with the cluster (aws_redshift_cluster_iam_roles) or the Serverless namespace (iam_roles)."
  value       = local.copy_role_arn
}

output "function_name" {
  description = "Name of the loader function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the loader function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "Execution role of the loader (grant it on the database: see the README)."
  value       = module.function.role_arn
}

output "role_name" {
  description = "Name of the loader's execution role (null with create_function_role = false); with IAM authentication the database user is IAMR:<this name>."
  value       = module.function.role_name
}

output "log_group_name" {
  description = "Log group of the loader."
  value       = module.function.log_group_name
}

output "service_name" {
  description = "Powertools service name of the loader: the service dimension of its metrics and alarms."
  value       = module.function.service_name
}

output "target_table" {
  description = "schema.table the rows are loaded into."
  value       = "${var.target_schema}.${var.target_table}"
}

output "ledger_table" {
  description = "schema.table of the load ledger (one row per loaded object)."
  value       = "${var.target_schema}.${local.ledger_table}"
}

output "alarm_arns" {
  description = "Alarm name suffix => alarm ARN."
  value       = module.function.alarm_arns
}
