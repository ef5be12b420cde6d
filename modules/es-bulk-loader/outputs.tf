output "state_machine_arn" {
  description = "ARN of the state machine: start an execution with {\"bucket\": ..., \"keys\": [...]} or {\"bucket\": ..., \"prefix\": ...}, optionally \"index_pattern\"."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.this.name
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's role."
  value       = aws_iam_role.state_machine.arn
}

output "function_names" {
  description = "Lambda function names by step: prepare, plan, load, report."
  value       = { for step, f in module.function : step => f.function_name }
}

output "function_arns" {
  description = "Lambda function ARNs by step."
  value       = { for step, f in module.function : step => f.function_arn }
}

output "role_arns" {
  description = "IAM role ARNs of the functions by step. With fine-grained access control, map prepare and load to OpenSearch roles; for a Serverless collection, grant them in its data access policy."
  value       = { for step, f in module.function : step => f.role_arn }
}

output "opensearch_writer_role_arns" {
  description = "The roles that call OpenSearch (prepare puts the template, load writes documents)."
  value       = [module.function["prepare"].role_arn, module.function["load"].role_arn]
}

output "log_group_names" {
  description = "CloudWatch log groups: the functions' by step, and the state machine's (\"state_machine\")."
  value       = merge({ for step, f in module.function : step => f.log_group_name }, { state_machine = aws_cloudwatch_log_group.state_machine.name })
}

output "work_bucket_name" {
  description = "Bucket of the working objects (chunk lists, gzip chunks, Map results)."
  value       = local.work_bucket
}

output "work_prefix" {
  description = "Prefix of the working objects: expire it with a lifecycle rule."
  value       = var.work_prefix
}

output "results_prefix" {
  description = "Where the Distributed Map writes its results (ResultWriter), in the work bucket."
  value       = local.results_prefix
}

output "dead_letter_location" {
  description = "s3:// location of the dead letters (documents OpenSearch did not index, with the error)."
  value       = "s3://${local.dead_letter_bucket}/${var.dead_letter_prefix}"
}

output "opensearch_service" {
  description = "SigV4 service the functions sign for: es (domain) or aoss (Serverless collection)."
  value       = local.opensearch_service
}

output "event_rule_arn" {
  description = "ARN of the EventBridge rule that starts executions for new objects (null when s3_trigger is off)."
  value       = one(aws_cloudwatch_event_rule.object_created[*].arn)
}

output "service_name" {
  description = "Powertools service name of the four functions: the service dimension of the Report step's metrics and alarms."
  value       = var.name
}

output "alarm_arns" {
  description = "CloudWatch alarm ARNs by key: <step>-errors and <step>-throttles of each function, and the pipeline's (executions-failed, executions-timed-out, documents-dead-lettered, chunks-failed)."
  value = merge(
    [for step, f in module.function : { for key, arn in f.alarm_arns : (contains(["errors", "throttles"], key) ? "${step}-${key}" : key) => arn }]...
  )
}
