output "queue_arn" {
  description = "ARN of the notification queue (add it to the log bucket's notifications yourself when create_bucket_notification = false)."
  value       = aws_sqs_queue.notifications.arn
}

output "queue_url" {
  description = "URL of the notification queue."
  value       = aws_sqs_queue.notifications.id
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue (notifications whose objects could not be loaded)."
  value       = aws_sqs_queue.dead_letter.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue (redrive it to the notification queue after a fix)."
  value       = aws_sqs_queue.dead_letter.id
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

output "lambda_function_name" {
  description = "Name of the loader Lambda."
  value       = aws_lambda_function.loader.function_name
}

output "lambda_function_arn" {
  description = "ARN of the loader Lambda."
  value       = aws_lambda_function.loader.arn
}

output "lambda_role_arn" {
  description = "Execution role of the loader (grant it on the database: see the README)."
  value       = aws_iam_role.lambda.arn
}

output "lambda_role_name" {
  description = "Name of the loader's execution role; with IAM authentication the database user is IAMR:<this name>."
  value       = aws_iam_role.lambda.name
}

output "lambda_log_group_name" {
  description = "Log group of the loader."
  value       = aws_cloudwatch_log_group.lambda.name
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
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }
}
