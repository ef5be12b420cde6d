module "function" {
  source = "../lambda-function"
  count  = local.use_lambda ? 1 : 0
  # Firehose invokes the transform synchronously and retries, then writes the records under the
  # error prefix; it only calls the Firehose or Kinesis public endpoints (no VPC).

  name                           = local.lambda_name
  description                    = "logpipes: CloudWatch Logs records -> ${var.output_format} lines for Firehose ${var.name}"
  image_uri                      = var.image_uri
  architecture                   = var.architecture
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  log_retention_in_days          = var.log_retention_in_days
  log_level                      = var.log_level
  tracing_mode                   = var.tracing_mode
  create_role                    = var.create_function_role
  role_arn                       = var.function_role_arn
  role_path                      = var.role_path
  permissions_boundary           = var.permissions_boundary
  policy_documents               = [data.aws_iam_policy_document.function.json]

  environment = local.function_environment

  create_alarms = var.create_alarms
  alarm_actions = var.alarm_actions
  alarms = {
    failed-records = {
      description = "Records were written, with their data, under the error prefix (ProcessingFailed): not CloudWatch Logs payloads (or inflating past the decompression bound), holding a log event too big for any response, or not re-ingested after reingest_max_attempts (ReingestFailures, counted in RecordsFailed)."
      namespace   = "logpipes"
      metric      = "RecordsFailed"
    }
  }
  tags = var.tags
}

locals {
  # The handler reads these at cold start; each only where it applies (Lambda allows 4 KB in all).
  function_environment = merge(
    {
      OUTPUT_FORMAT         = var.output_format
      REINGEST_MAX_ATTEMPTS = tostring(var.reingest_max_attempts)
    },
    length(var.columns) > 0 ? { COLUMNS = jsonencode(var.columns) } : {},
    contains(["columns", "csv"], var.output_format) ? { ON_UNPARSED = var.on_unparsed } : {},
    var.message_regex == null ? {} : { MESSAGE_REGEX = var.message_regex },
    var.transform_function == null ? {} : { TRANSFORM_FUNCTION = var.transform_function },
  )
}
