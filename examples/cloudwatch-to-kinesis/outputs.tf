output "log_group_name" {
  description = "Put log events here; they arrive in the stream as gzipped CloudWatch Logs payloads."
  value       = aws_cloudwatch_log_group.app.name
}

output "stream_name" {
  description = "The Kinesis data stream."
  value       = aws_kinesis_stream.logs.name
}

output "stream_arn" {
  description = "ARN of the Kinesis data stream."
  value       = aws_kinesis_stream.logs.arn
}

output "role_arn" {
  description = "The role CloudWatch Logs assumes to put records into the stream."
  value       = module.subscription.role_arn
}

output "subscription_filters" {
  description = "The subscription filters, keyed \"<log group>#<index>\"."
  value       = module.subscription.subscription_filters
}
