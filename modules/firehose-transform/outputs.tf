output "delivery_stream_arn" {
  description = "ARN of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "delivery_stream_name" {
  description = "Name of the Firehose delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "cloudwatch_logs_role_arn" {
  description = "Role for CloudWatch Logs subscription filters to put records into the stream (null with a Kinesis source)."
  value       = one(aws_iam_role.cloudwatch_logs[*].arn)
}

output "cloudwatch_logs_policy_json" {
  description = "The policy of cloudwatch_logs_role_arn: PutRecord/PutRecordBatch on this stream only."
  value       = data.aws_iam_policy_document.cloudwatch_logs.json
}

output "firehose_role_arn" {
  description = "Role Firehose assumes to deliver."
  value       = aws_iam_role.firehose.arn
}

output "bucket_name" {
  description = "Destination bucket."
  value       = local.bucket_name
}

output "bucket_arn" {
  description = "ARN of the destination bucket."
  value       = local.bucket_arn
}

output "prefix" {
  description = "S3 prefix of delivered objects (with its !{timestamp:...} expression)."
  value       = var.prefix
}

output "error_output_prefix" {
  description = "S3 prefix of records that failed processing or delivery."
  value       = var.error_output_prefix
}

output "function_arn" {
  description = "ARN of the transform function (null with processor = \"native\")."
  value       = one(module.function[*].function_arn)
}

output "function_name" {
  description = "Name of the transform function (null with processor = \"native\")."
  value       = one(module.function[*].function_name)
}

output "role_arn" {
  description = "Execution role of the transform function (null with processor = \"native\")."
  value       = one(module.function[*].role_arn)
}

output "log_group_name" {
  description = "Log group of the transform function (null with processor = \"native\")."
  value       = one(module.function[*].log_group_name)
}

output "service_name" {
  description = "Powertools service name of the transform: the service dimension of its metrics and alarms (null with processor = \"native\")."
  value       = one(module.function[*].service_name)
}

output "glue_database_name" {
  description = "Glue database of the Athena table (null when create_glue_table = false)."
  value       = one(aws_glue_catalog_database.this[*].name)
}

output "glue_table_name" {
  description = "Glue table over the delivered objects (null when create_glue_table = false)."
  value       = one(aws_glue_catalog_table.this[*].name)
}

output "athena_example_query" {
  description = "A query to try in Athena right after apply."
  value       = var.create_glue_table ? "SELECT * FROM \"${local.glue_database}\".\"${var.glue_table_name}\" WHERE dt = date_format(current_date, '%Y/%m/%d') LIMIT 10" : null
}

output "alarm_arns" {
  description = "CloudWatch alarms by key."
  value = merge(
    { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn },
    local.use_lambda ? { for key, arn in module.function[0].alarm_arns : "transform-${key}" => arn } : {},
  )
}
