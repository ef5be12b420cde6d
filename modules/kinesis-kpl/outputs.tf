output "stream_name" {
  description = "Name of the Kinesis stream: the producer's stream_name."
  value       = aws_kinesis_stream.this.name
}

output "stream_arn" {
  description = "ARN of the Kinesis stream."
  value       = aws_kinesis_stream.this.arn
}

output "stream_kms_key_id" {
  description = "KMS key encrypting the stream (kms_key_arn, or alias/aws/kinesis)."
  value       = local.stream_kms_key_id
}

output "region" {
  description = "Region of the stream: the producer's region."
  value       = local.region
}

output "producer_policy_json" {
  description = "IAM policy for the producer: PutRecord/PutRecords/DescribeStream/ListShards on this stream only, cloudwatch:PutMetricData for the KPL namespace, kms:GenerateDataKey with a customer managed key."
  value       = data.aws_iam_policy_document.producer.json
}

output "producer_policy_arn" {
  description = "Managed policy with producer_policy_json, to attach to the producer's instance role (null when create_producer_policy = false)."
  value       = one(aws_iam_policy.producer[*].arn)
}

output "function_name" {
  description = "Name of the consumer function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the consumer function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "Execution role of the consumer function (created, or function_role_arn)."
  value       = module.function.role_arn
}

output "log_group_name" {
  description = "Log group of the consumer function."
  value       = module.function.log_group_name
}

output "service_name" {
  description = "Powertools service name of the consumer: the service dimension of its metrics and alarms."
  value       = module.function.service_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping (stream -> Lambda)."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "failure_queue_arn" {
  description = "ARN of the failure queue: the on-failure destination with failed_batches_destination = \"sqs\" (metadata only: shard, sequence number range of batches Lambda gave up on)."
  value       = module.failures.arn
}

output "failed_batches_prefix" {
  description = "With failed_batches_destination = \"s3\": where in the sink bucket Lambda writes the batches it gave up on (aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/...), one JSON invocation record each, data included; null with \"sqs\"."
  value       = var.failed_batches_destination == "s3" ? "aws/lambda/${aws_lambda_event_source_mapping.this.uuid}/" : null
}

output "failure_queue_url" {
  description = "URL of the failure queue."
  value       = module.failures.url
}

output "bucket_name" {
  description = "Sink bucket."
  value       = local.bucket_name
}

output "bucket_arn" {
  description = "ARN of the sink bucket."
  value       = local.bucket_arn
}

output "prefix" {
  description = "S3 prefix of the data objects (<prefix>dt=YYYY-MM-DD/hour=HH/...json.gz)."
  value       = var.prefix
}

output "dead_letter_prefix" {
  description = "S3 prefix of parked corrupt aggregates."
  value       = var.dead_letter_prefix
}

output "alarm_arns" {
  description = "CloudWatch alarms by key."
  value       = module.function.alarm_arns
}
