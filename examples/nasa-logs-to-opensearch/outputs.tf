output "bucket_name" {
  description = "Put log files under nasa/ (and start an execution), or under incoming_prefix (an execution starts by itself)."
  value       = aws_s3_bucket.logs.id
}

output "state_machine_arn" {
  description = "The loader's state machine."
  value       = module.loader.state_machine_arn
}

output "start_execution_command" {
  description = "Load every file under nasa/ (AWS CLI)."
  value       = "aws stepfunctions start-execution --state-machine-arn ${module.loader.state_machine_arn} --input '{\"bucket\": \"${aws_s3_bucket.logs.id}\", \"prefix\": \"nasa/\"}'"
}

output "function_names" {
  description = "Lambda function names by step (prepare, plan, load, report)."
  value       = module.loader.function_names
}

output "opensearch_endpoint" {
  description = "Endpoint of the collection or domain the logs are loaded into."
  value       = local.opensearch_endpoint
}

output "opensearch_dashboards_url" {
  description = "OpenSearch Dashboards of the created collection or domain (null with existing_opensearch)."
  value       = local.create_collection ? aws_opensearchserverless_collection.this[0].dashboard_endpoint : (local.create_domain ? "https://${aws_opensearch_domain.this[0].dashboard_endpoint}" : null)
}

output "opensearch_writer_role_arns" {
  description = "Roles that write to OpenSearch (for an existing domain's access policy or FGAC role mapping)."
  value       = module.loader.opensearch_writer_role_arns
}

output "work_bucket_name" {
  description = "Bucket of the loader's working objects."
  value       = module.loader.work_bucket_name
}

output "results_prefix" {
  description = "Where the Distributed Map writes its results."
  value       = module.loader.results_prefix
}

output "dead_letter_location" {
  description = "Where documents OpenSearch did not index are written, with the error."
  value       = module.loader.dead_letter_location
}

output "kms_key_arn" {
  description = "The example's KMS key."
  value       = aws_kms_key.this.arn
}
