output "td_agent_conf" {
  description = "td-agent configuration for the web servers (/etc/td-agent/td-agent.conf): tail the access log, apache2 parser, kinesis_streams_aggregated into the stream."
  value       = local.td_agent_conf
}

output "instance_profile_name" {
  description = "Instance profile for the web servers: the stream's producer policy, nothing else."
  value       = aws_iam_instance_profile.producer.name
}

output "producer_role_arn" {
  description = "Role of the instance profile."
  value       = aws_iam_role.producer.arn
}

output "producer_policy_json" {
  description = "The producer's permissions."
  value       = module.kinesis_kpl.producer_policy_json
}

output "stream_name" {
  description = "The Kinesis stream td-agent writes to."
  value       = module.kinesis_kpl.stream_name
}

output "stream_arn" {
  description = "ARN of the Kinesis stream."
  value       = module.kinesis_kpl.stream_arn
}

output "lambda_function_name" {
  description = "The consumer Lambda."
  value       = module.kinesis_kpl.function_name
}

output "event_source_mapping_uuid" {
  description = "The stream -> Lambda event source mapping."
  value       = module.kinesis_kpl.event_source_mapping_uuid
}

output "failure_queue_url" {
  description = "Where given-up batches are parked."
  value       = module.kinesis_kpl.failure_queue_url
}

output "bucket_name" {
  description = "Where the JSON lines land."
  value       = module.kinesis_kpl.bucket_name
}

output "prefix" {
  description = "Data objects: s3://<bucket_name>/<prefix>dt=YYYY-MM-DD/hour=HH/."
  value       = module.kinesis_kpl.prefix
}

output "dead_letter_prefix" {
  description = "Corrupt aggregates: s3://<bucket_name>/<dead_letter_prefix>."
  value       = module.kinesis_kpl.dead_letter_prefix
}
