resource "aws_cloudwatch_log_group" "lambda" {
  # checkov:skip=CKV_AWS_158:Encrypted with kms_key_arn when given; CloudWatch Logs' own encryption otherwise.
  # checkov:skip=CKV_AWS_338:The function's own logs are operational (the data lands in S3); log_retention_days sets how long they are kept.
  name              = "/aws/lambda/${local.lambda_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "consumer" {
  # checkov:skip=CKV_AWS_116:Invoked by an event source mapping, whose on-failure destination (the failure queue) is where failed batches go; a function DLQ applies to asynchronous invocations only.
  # checkov:skip=CKV_AWS_117:The function only calls the Kinesis and S3 public endpoints; VPC placement is unnecessary.
  # checkov:skip=CKV_AWS_272:Code signing does not apply to container images (images are pinned by digest instead).
  # checkov:skip=CKV_AWS_173:The environment holds configuration only, no secrets; it is encrypted with kms_key_arn when given.
  function_name                  = local.lambda_name
  description                    = "logpipes: KPL records from Kinesis stream ${var.name} -> JSON lines in s3://${local.bucket_name}/${var.prefix}"
  role                           = aws_iam_role.lambda.arn
  package_type                   = "Image"
  image_uri                      = var.image_uri
  architectures                  = [var.lambda_architecture]
  memory_size                    = var.lambda_memory_size
  timeout                        = var.lambda_timeout
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  environment {
    variables = {
      SINK_BUCKET                  = local.bucket_name
      SINK_PREFIX                  = var.prefix
      DEAD_LETTER_PREFIX           = var.dead_letter_prefix
      GZIP_LEVEL                   = tostring(var.gzip_level)
      POWERTOOLS_SERVICE_NAME      = "kinesis-kpl"
      POWERTOOLS_METRICS_NAMESPACE = "logpipes"
      POWERTOOLS_LOG_LEVEL         = var.log_level
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.lambda]
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = aws_kinesis_stream.this.arn
  function_name                      = aws_lambda_function.consumer.arn
  starting_position                  = var.starting_position
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor
  bisect_batch_on_function_error     = var.bisect_batch_on_function_error
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
  # The handler reports the first failed record; Lambda checkpoints there instead of retrying all.
  function_response_types = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.failures.arn
    }
  }

  depends_on = [aws_iam_role_policy.lambda]
}
