resource "aws_cloudwatch_log_group" "lambda" {
  count = local.use_lambda ? 1 : 0

  name              = "/aws/lambda/${local.lambda_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "transform" {
  count = local.use_lambda ? 1 : 0

  # checkov:skip=CKV_AWS_116:Firehose invokes the function synchronously and retries, then writes the records to the error prefix: a DLQ would never receive anything.
  # checkov:skip=CKV_AWS_117:The function only calls Firehose/Kinesis public endpoints; VPC placement is unnecessary.
  # checkov:skip=CKV_AWS_272:Code signing does not apply to container images (images are pinned by digest instead).
  # checkov:skip=CKV_AWS_173:The environment holds configuration only, no secrets.
  function_name                  = local.lambda_name
  description                    = "logpipes: CloudWatch Logs records -> ${var.output_format} lines for Firehose ${var.name}"
  role                           = aws_iam_role.lambda[0].arn
  package_type                   = "Image"
  image_uri                      = var.image_uri
  architectures                  = [var.lambda_architecture]
  memory_size                    = var.lambda_memory_size
  timeout                        = var.lambda_timeout
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  tags                           = var.tags

  environment {
    variables = {
      OUTPUT_FORMAT                = var.output_format
      REINGEST_MAX_ATTEMPTS        = tostring(var.reingest_max_attempts)
      POWERTOOLS_SERVICE_NAME      = "firehose-transform"
      POWERTOOLS_METRICS_NAMESPACE = "logpipes"
      POWERTOOLS_LOG_LEVEL         = var.log_level
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.lambda]
}
