resource "aws_cloudwatch_log_group" "lambda" {
  # checkov:skip=CKV_AWS_158:Encrypted with kms_key_arn when given; CloudWatch Logs' own encryption otherwise.
  # checkov:skip=CKV_AWS_338:The loader's logs are operational (the data lands in Redshift); log_retention_days sets how long they are kept.
  name              = "/aws/lambda/${local.lambda_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "loader" {
  # checkov:skip=CKV_AWS_116:Invoked by an SQS event source mapping: failed notifications go to the queue's own dead-letter queue; a function DLQ applies to asynchronous invocations only.
  # checkov:skip=CKV_AWS_117:The loader reaches Redshift through the Data API and S3 through its public endpoints; no VPC, no ingress into the cluster is the point.
  # checkov:skip=CKV_AWS_272:Code signing does not apply to container images (images are pinned by digest instead).
  # checkov:skip=CKV_AWS_173:The environment holds configuration only, no secrets (credentials come from Secrets Manager or IAM); it is encrypted with kms_key_arn when given.
  # checkov:skip=CKV_AWS_115:Concurrency is limited where it matters, on the event source mapping (maximum_concurrency), without reserving account concurrency.
  function_name = local.lambda_name
  description   = "logpipes: S3 access logs in s3://${var.log_bucket_name}/${var.log_prefix} -> Redshift ${var.target_schema}.${var.target_table}"
  role          = aws_iam_role.lambda.arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = [var.lambda_architecture]
  memory_size   = var.lambda_memory_size
  timeout       = var.lambda_timeout
  kms_key_arn   = var.kms_key_arn
  tags          = var.tags

  environment {
    # The Redshift target and credentials: only the ones that are set (settings.py reads them).
    variables = merge(
      {
        for key, value in {
          REDSHIFT_CLUSTER_IDENTIFIER = var.redshift_cluster_identifier
          REDSHIFT_WORKGROUP_NAME     = var.redshift_workgroup_name
          REDSHIFT_SECRET_ARN         = var.redshift_secret_arn
          REDSHIFT_DB_USER            = var.redshift_db_user
        } : key => value if value != null
      },
      {
        STAGING_BUCKET               = local.staging_bucket_name
        STAGING_PREFIX               = var.staging_prefix
        REJECTS_PREFIX               = var.rejects_prefix
        GZIP_LEVEL                   = tostring(var.gzip_level)
        TARGET_SCHEMA                = var.target_schema
        TARGET_TABLE                 = var.target_table
        LEDGER_TABLE                 = local.ledger_table
        LOADER_BACKEND               = "redshift-data"
        REDSHIFT_DATABASE            = var.redshift_database
        REDSHIFT_COPY_ROLE_ARN       = local.copy_role_arn
        POWERTOOLS_SERVICE_NAME      = local.service_name
        POWERTOOLS_METRICS_NAMESPACE = "logpipes"
        POWERTOOLS_LOG_LEVEL         = var.log_level
      },
    )
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.lambda]
}

resource "aws_lambda_event_source_mapping" "notifications" {
  event_source_arn                   = aws_sqs_queue.notifications.arn
  function_name                      = aws_lambda_function.loader.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  # The handler reports the messages whose objects were not loaded; the others are deleted.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  depends_on = [aws_iam_role_policy.lambda]
}
