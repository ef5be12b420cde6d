module "function" {
  source = "../lambda-function"
  # Invoked by the event source mapping, whose on-failure destination is where given-up batches
  # go; it only calls the Kinesis and S3 public endpoints (no VPC).

  name                           = local.lambda_name
  description                    = "logpipes: KPL records from Kinesis stream ${var.name} -> JSON lines in s3://${local.bucket_name}/${var.prefix}"
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

  environment = {
    SINK_BUCKET        = local.bucket_name
    SINK_PREFIX        = var.prefix
    DEAD_LETTER_PREFIX = var.dead_letter_prefix
    GZIP_LEVEL         = tostring(var.gzip_level)
  }

  create_alarms     = var.create_alarms
  alarm_actions     = var.alarm_actions
  alarm_name_prefix = var.name
  alarms            = local.alarms
  tags              = var.tags
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = aws_kinesis_stream.this.arn
  function_name                      = module.function.function_arn
  starting_position                  = var.starting_position
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor
  bisect_batch_on_function_error     = var.bisect_batch_on_function_error
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
  # The handler reports the first failed record; Lambda checkpoints there instead of retrying all.
  function_response_types = ["ReportBatchItemFailures"]

  # A given-up batch goes to the bucket (Lambda writes the whole invocation record, data included)
  # or, with failed_batches_destination = "sqs", to the queue (metadata only).
  destination_config {
    on_failure {
      destination_arn = var.failed_batches_destination == "s3" ? local.bucket_arn : module.failures.arn
    }
  }

  # Opt in to the mapping's event counts: OnFailureDestinationDeliveredEventCount, the records
  # sent to the on-failure destination of either kind, is what the batches-given-up alarm watches.
  metrics_config {
    metrics = ["EventCount"]
  }
}
