module "function" {
  source = "../lambda-function"
  # An SQS event source mapping invokes the loader: failed notifications go to the queue's own
  # dead-letter queue, and concurrency is limited on the mapping (maximum_concurrency). It
  # reaches Redshift through the Data API and S3 through its public endpoints: no VPC, no ingress
  # into the cluster is the point.

  name                           = local.lambda_name
  description                    = "logpipes: S3 access logs in s3://${var.log_bucket_name}/${var.log_prefix} -> Redshift ${var.target_schema}.${var.target_table}"
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

  # The Redshift target and credentials: only the ones that are set (settings.py reads them).
  environment = merge(
    {
      for key, value in {
        REDSHIFT_CLUSTER_IDENTIFIER = var.redshift_cluster_identifier
        REDSHIFT_WORKGROUP_NAME     = local.workgroup_name
        REDSHIFT_SECRET_ARN         = var.redshift_secret_arn
        REDSHIFT_DB_USER            = var.redshift_db_user
      } : key => value if value != null
    },
    {
      STAGING_BUCKET         = local.staging_bucket_name
      STAGING_PREFIX         = var.staging_prefix
      REJECTS_PREFIX         = var.rejects_prefix
      GZIP_LEVEL             = tostring(var.gzip_level)
      TARGET_SCHEMA          = var.target_schema
      TARGET_TABLE           = var.target_table
      LEDGER_TABLE           = local.ledger_table
      LOADER_BACKEND         = "redshift-data"
      REDSHIFT_DATABASE      = var.redshift_database
      REDSHIFT_COPY_ROLE_ARN = local.copy_role_arn
    },
  )

  create_alarms     = var.create_alarms
  alarm_actions     = var.alarm_actions
  alarm_name_prefix = var.name
  alarms            = local.alarms
  tags              = var.tags
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = module.queue.arn
  function_name                      = module.function.function_arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  # The handler reports the messages whose objects were not loaded; the others are deleted.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }
}
