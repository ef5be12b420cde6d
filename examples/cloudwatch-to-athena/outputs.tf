output "log_group_name" {
  description = "Put log events here; they arrive in S3 and in Athena."
  value       = aws_cloudwatch_log_group.app.name
}

output "delivery_stream_name" {
  description = "The Firehose delivery stream."
  value       = module.firehose.delivery_stream_name
}

output "bucket_name" {
  description = "Where Firehose delivers."
  value       = module.firehose.bucket_name
}

output "lambda_function_name" {
  description = "The transform Lambda."
  value       = module.firehose.function_name
}

output "athena_query" {
  description = "Try this in Athena."
  value       = module.firehose.athena_example_query
}

output "glue_database_name" {
  description = "Glue database of the Athena table."
  value       = module.firehose.glue_database_name
}

output "glue_table_name" {
  description = "Glue table over the delivered objects."
  value       = module.firehose.glue_table_name
}
