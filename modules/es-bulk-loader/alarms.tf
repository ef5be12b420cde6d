# The pipeline's alarms besides each function's Errors and Throttles (module.function).
locals {
  state_machine_dimensions = { StateMachineArn = local.state_machine_arn }

  alarms = {
    executions-failed = {
      description = "A load execution failed: a step kept failing, or more chunks failed than tolerated_failure_percentage."
      namespace   = "AWS/States"
      metric      = "ExecutionsFailed"
      dimensions  = local.state_machine_dimensions
    }
    executions-timed-out = {
      description = "A load execution ran longer than execution_timeout_seconds."
      namespace   = "AWS/States"
      metric      = "ExecutionsTimedOut"
      dimensions  = local.state_machine_dimensions
    }
    documents-dead-lettered = {
      description = "OpenSearch did not index some documents; they are under s3://${local.dead_letter_bucket}/${var.dead_letter_prefix} with the error."
      namespace   = var.metrics_namespace
      metric      = "DocumentsDeadLettered"
    }
    chunks-failed = {
      description = "Chunks failed after their retries (listed in the execution's report): their lines are not all indexed."
      namespace   = var.metrics_namespace
      metric      = "ChunksFailed"
    }
  }
}
